"""Glyph coverage: every character the report prints should be in a packaged font.

Every font stack ends with the same fallbacks (fonts.FALLBACKS), and every
character of the main families is also in the fallbacks or the other main
family, so "some packaged font has it" is exactly "the PDF draws it with one
of ours". A character that none has would print as an empty box (or in a
system font), so `check_glyphs` warns about it at its source line.

`families_used` tells the EPUB and the self-contained HTML which fallback
families they need to embed.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterator
from xml.etree import ElementTree as etree

from .config import normalise_newlines
from .diagnostics import Diagnostics
from .fonts import FALLBACKS, MAIN, faces
from .manuscript import line_of
from .model import Location, Manuscript

# Not drawn: soft hyphen, zero-width space/joiners, direction marks, word joiner, BOM,
# variation selectors and emoji tags (the character they modify is checked instead).
_INVISIBLE = re.compile("[\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff"
                        "\ufe00-\ufe0f\U000e0000-\U000e007f\U000e0100-\U000e01ef]")
_CHECKED_FIELDS = ("title", "subtitle")  # report.yaml fields checked (the chapters are)
_PRINTED_FIELDS = ("title", "subtitle", "authors", "publisher", "description", "rights")


@functools.cache
def _cmap(path) -> frozenset[int]:
    from fontTools.ttLib import TTFont

    with TTFont(path, lazy=True) as font:
        return frozenset(font.getBestCmap())


@functools.cache
def coverage() -> dict[str, frozenset[int]]:
    """The code points each packaged family has (in any of its styles)."""
    out: dict[str, frozenset[int]] = {}
    for face in faces():
        out[face.family] = out.get(face.family, frozenset()) | _cmap(face.path)
    return out


@functools.cache
def _covered() -> frozenset[int]:
    return frozenset().union(*coverage().values())


def missing(text: str) -> list[str]:
    """The distinct characters of `text` that no packaged font has, in order of first use."""
    covered = _covered()
    return [char for char in dict.fromkeys(text) if ord(char) not in covered and _printed(char)]


def _printed(char: str) -> bool:
    return not (char.isspace() or unicodedata.category(char) == "Cc" or _INVISIBLE.match(char))


def printed(text: str) -> set[str]:
    """The distinct characters of `text` that are drawn (no spaces, controls or joiners)."""
    return {char for char in set(text) if _printed(char)}


def describe(char: str) -> str:
    """'U+13000 EGYPTIAN HIEROGLYPH A001'."""
    name = unicodedata.name(char, "")
    return f"U+{ord(char):04X}" + (f" {name}" if name else "")


def _texts(body: etree.Element) -> Iterator[tuple[str, int]]:
    """Each piece of text in the body with its source line (the last known line if its block has none)."""
    parents = {child: parent for parent in body.iter() for child in parent}
    last = 0

    def walk(element: etree.Element) -> Iterator[tuple[str, int]]:
        nonlocal last
        last = line_of(element, parents) or last
        if element.text:
            yield element.text, last
        for child in element:
            if child.get("class") != "footnote-backref":  # its arrow is dropped from the print edition
                yield from walk(child)
            if child.tail:
                last = line_of(element, parents) or last
                yield child.tail, last

    yield from walk(body)


def _report_texts(manuscript: Manuscript) -> Iterator[tuple[str, Location]]:
    """The title and subtitle, at their lines in report.yaml."""
    try:
        text = (manuscript.root / "report.yaml").read_text(encoding="utf-8-sig")
        lines = normalise_newlines(text).split("\n")  # as editors count lines
    except OSError:
        lines = []
    for key in _CHECKED_FIELDS:
        value = getattr(manuscript.report, key, "")
        line = next((index for index, text in enumerate(lines, 1) if re.match(rf"{key}\s*:", text)), 1)
        if value:
            yield str(value), Location("report.yaml", line)


def check_glyphs(manuscript: Manuscript, diagnostics: Diagnostics) -> None:
    """Warn once per chapter, at its first line, about each character that no packaged font has."""
    if manuscript.report is None:
        return
    for text, where in _report_texts(manuscript):
        for char in missing(text):
            diagnostics.warning(where, _message(char))
    for chapter in manuscript.chapters:
        if chapter.body is None:
            continue
        if not missing("".join(text for text, _ in _texts(chapter.body))):
            continue  # the usual case: one pass, no lines needed
        first: dict[str, int] = {}
        for text, line in _texts(chapter.body):
            for char in missing(text):
                first.setdefault(char, line)
        for char, line in first.items():
            diagnostics.warning(Location(chapter.path, line), _message(char))


def _message(char: str) -> str:
    return f"no font has a glyph for '{char}' ({describe(char)}); it would print as an empty box"


def characters(manuscript: Manuscript) -> set[str]:
    """Every printed character of the chapters, the report's fields and the places quoted."""
    chars: set[str] = set()
    for chapter in manuscript.chapters:
        chars.update(chapter.title)
        if chapter.body is not None:
            chars.update(*(text for text, _ in _texts(chapter.body)))
    for key in _PRINTED_FIELDS if manuscript.report is not None else ():
        value = getattr(manuscript.report, key)
        chars.update("".join(value) if isinstance(value, list) else str(value))
    for chapter in manuscript.chapters:
        for quote in chapter.quotes:
            chars.update(quote.place.name + quote.place.region + quote.place.programme)
    return printed("".join(chars))


def beyond_main(chars: set[str]) -> set[str]:
    """The characters that only a fallback draws (what an EPUB's fallback fonts are cut down to)."""
    main = frozenset().union(*(coverage()[family] for family in MAIN))
    return {char for char in chars if ord(char) not in main}


def families_used(manuscript: Manuscript, chars: set[str] | None = None) -> set[str]:
    """The families the report needs: the main ones, and each fallback that draws one of its characters."""
    families = set(MAIN)
    covered = frozenset().union(*(coverage()[family] for family in families))
    needed = {ord(char) for char in (characters(manuscript) if chars is None else chars)} - covered
    for family in FALLBACKS:
        if needed & coverage()[family]:
            families.add(family)
            needed -= coverage()[family]
    return families
