"""Source lines: every block element gets a `data-line` attribute.

Python-Markdown does not track where a block came from. This extension marks
the first line of each block in the source with an invisible token (private-use
characters around the line number), placed after the block's own syntax
(`> `, `- `, `## `, `[^note]: `) so that it does not disturb parsing. Right after
the block parser, a treeprocessor moves each token into a `data-line` attribute
on the enclosing block element and deletes it from the text.

Other stages use these lines for diagnostics, source references in drafts and
page positions.
"""

from __future__ import annotations

import re
from xml.etree import ElementTree as etree

from markdown import Extension
from markdown.preprocessors import Preprocessor
from markdown.treeprocessors import Treeprocessor
from markdown.util import AtomicString

OPEN, CLOSE = "\ue000", "\ue001"
TOKEN = re.compile(f"{OPEN}(\\d+){CLOSE}")
# The syntax that opens a block, kept in front of the token.
_PREFIX = re.compile(r"^(\s*(?:>\s?)*\s*(?:[-*+]\s+|\d+[.)]\s+|#{1,6}\s+|\[\^[^\]]+\]:\s*)?)")
_FENCE = re.compile(r"^\s*(```|~~~)")
_STARTS_ITEM = re.compile(r"^\s*(?:>\s?)*\s*(?:[-*+]|\d+[.)])\s+\S")
_NO_TOKEN = re.compile(r"^\s*(!!!|\*\*\*|---|___|\{)")
_TABLE_ROW = re.compile(r"^(\s*\|\s*)(?=[^\s|])")  # a token goes inside the first cell
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$")
_BLANK = re.compile(r"^[\s>]*$")

BLOCKS = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "blockquote", "td", "th", "dt", "dd", "pre"}


def mark(lines: list[str], first_line: int = 1) -> list[str]:
    """Insert a line token at the start of each block; `first_line` numbers lines[0]."""
    out: list[str] = []
    fenced = False
    previous = ""
    for index, line in enumerate(lines):
        if _FENCE.match(line):
            fenced = not fenced
        starts_block = (
            not fenced
            and line.strip()
            and not _NO_TOKEN.match(line)
            and not line.lstrip().startswith("|")
            and (_BLANK.match(previous) or previous.lstrip().startswith(("#", "!!!")) or _STARTS_ITEM.match(line)
                 or (line.startswith("Table:") and previous.lstrip().startswith("|")))
        )
        row = None if fenced or _TABLE_RULE.match(line) else _TABLE_ROW.match(line)
        if row:
            prefix = row.group(1)
            line = f"{prefix}{OPEN}{first_line + index}{CLOSE}{line[len(prefix):]}"
        elif starts_block:
            prefix = _PREFIX.match(line).group(1)
            line = f"{prefix}{OPEN}{first_line + index}{CLOSE}{line[len(prefix):]}"
        out.append(line)
        previous = line
    return out


class LineMarkPreprocessor(Preprocessor):
    def __init__(self, md, first_line: int):
        super().__init__(md)
        self.first_line = first_line

    def run(self, lines: list[str]) -> list[str]:
        return mark(lines, self.first_line)


class LineAttributeTreeprocessor(Treeprocessor):
    """Move each token to `data-line` on its block; strip tokens everywhere else."""

    def run(self, root: etree.Element) -> None:
        for parent in root.iter():
            for element in [parent, *parent]:
                self._take(element, parent)

    def _take(self, element: etree.Element, parent: etree.Element) -> None:
        for attr in ("text", "tail"):
            value = getattr(element, attr)
            if not value or OPEN not in value:
                continue
            match = TOKEN.search(value)
            owner = element if attr == "text" else parent
            if match and owner.tag in BLOCKS and "data-line" not in owner.attrib:
                owner.set("data-line", match.group(1))
            stripped = TOKEN.sub("", value)
            setattr(element, attr, AtomicString(stripped) if isinstance(value, AtomicString) else stripped)
        if element.tag == "table" and "data-line" not in element.attrib:
            first = next((cell.get("data-line") for cell in element.iter("th") if cell.get("data-line")), None)
            if first:
                element.set("data-line", first)


def strip_tokens(text: str) -> str:
    return TOKEN.sub("", text)


class SourceLinesExtension(Extension):
    def __init__(self, **kwargs):
        self.config = {"first_line": [1, "Line number of the first line given to Markdown"]}
        super().__init__(**kwargs)

    def extendMarkdown(self, md):
        # Before anything that adds or removes lines (table captions at 26), after whitespace (30).
        md.preprocessors.register(LineMarkPreprocessor(md, self.getConfig("first_line")), "source_lines", 27)
        # After footnotes are attached (50), before inline patterns (20) and places (40).
        md.treeprocessors.register(LineAttributeTreeprocessor(md), "source_lines", 45)
