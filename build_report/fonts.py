"""The report's fonts, from PyPI font packages (SIL Open Font License).

Source Serif Pro for text, Source Sans Pro for headings, captions and tables,
Source Code Pro for code. Every font stack in tokens.css ends with FALLBACKS
(Noto Sans, Noto Sans Symbols, Source Code Pro, Noto Emoji, Inter), so a character
the main family lacks is still drawn from a packaged font. These are the only
fonts the PDF may use: `font_face_css()` declares every face, SVG figures are
given the same stacks (`svg_with_our_fonts`), and `glyphs.check_glyphs` warns
about any character that none of them has.

Source Code Pro, the Noto fonts and Inter are variable fonts (a `wght` axis). They
are used as they are; nothing is instanced here. WeasyPrint 70 rejects a
weight range (`font-weight: 200 900`) in @font-face, and a fixed weight on a
variable file makes Pango shape every weight with the default instance's
advances (bold glyphs crammed together). So their @font-face rules name no
weight: fontconfig then lists the file's named instances with their own
weights, Pango picks the one asked for, and WeasyPrint instances the embedded
subset at that weight. The EPUB, read by browsers and reading systems, gets
the axis range instead (`weight_ranges=True`).
"""

from __future__ import annotations

import functools
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

TEXT, DISPLAY, MONO = "Source Serif Pro", "Source Sans Pro", "Source Code Pro"
MAIN = (TEXT, DISPLAY, MONO)
FALLBACKS = ("Noto Sans", "Noto Sans Symbols", "Source Code Pro", "Noto Emoji", "Inter")


@dataclass(frozen=True)
class Face:
    family: str
    path: Path
    weight: int | None  # None: a variable font, any weight of its wght axis
    style: str  # "normal" or "italic"

    @property
    def file_name(self) -> str:
        """The file's name without brackets, which URLs in an EPUB may not contain."""
        return re.sub(r"\[([\w,]+)\]", lambda m: "-" + m.group(1).replace(",", "-"), self.path.name)


_STATIC = {  # family: (package, file stem); files in <package>/files
    TEXT: ("font_source_serif_pro", "SourceSerifPro"),
    DISPLAY: ("font_source_sans_pro", "SourceSansPro"),
}
_STYLES = [("Regular", 400, "normal"), ("It", 400, "italic"), ("Semibold", 600, "normal"),
           ("SemiboldIt", 600, "italic"), ("Bold", 700, "normal"), ("BoldIt", 700, "italic")]
_VARIABLE = [  # (family, package, file inside the package, style)
    (MONO, "fontpkg_source_code_pro", "files/SourceCodePro[wght].ttf", "normal"),
    (MONO, "fontpkg_source_code_pro", "files/SourceCodePro-Italic[wght].ttf", "italic"),
    ("Noto Sans", "manimgx_fonts", "NotoSans[wght].ttf", "normal"),
    ("Noto Sans", "manimgx_fonts", "NotoSans-Italic[wght].ttf", "italic"),
    ("Noto Sans Symbols", "manimgx_fonts", "NotoSansSymbols[wght].ttf", "normal"),
    ("Noto Emoji", "manimgx_fonts", "NotoEmoji[wght].ttf", "normal"),
    ("Inter", "fontpkg_inter", "files/Inter[opsz,wght].ttf", "normal"),  # only for symbols: upright is enough
]


def _package(name: str) -> Path:
    return Path(str(resources.files(name)))


@functools.cache
def faces() -> tuple[Face, ...]:
    out = []
    for family, (package, stem) in _STATIC.items():
        for suffix, weight, style in _STYLES:
            out.append(Face(family, _package(package) / "files" / f"{stem}-{suffix}.ttf", weight, style))
    for family, package, file, style in _VARIABLE:
        out.append(Face(family, _package(package) / file, None, style))
    return tuple(out)


def font_dirs() -> list[Path]:
    return sorted({face.path.parent for face in faces()})


@functools.cache
def _weight_range(path: Path) -> str:
    from fontTools.ttLib import TTFont

    with TTFont(path, lazy=True) as font:
        axis = next(axis for axis in font["fvar"].axes if axis.axisTag == "wght")
        return f"{axis.minValue:g} {axis.maxValue:g}"


def font_face_css(url_for: Callable[[Path], str], families: set[str] | None = None,
                  weight_ranges: bool = False) -> str:
    """@font-face rules, one line per face; `url_for(path)` gives the URL of a font file.

    With `families`, the faces of other families are a comment line instead (so that
    the number of lines never changes: `assemble.stylesheet_origin` counts them)."""
    rules = []
    for face in faces():
        if families is not None and face.family not in families:
            rules.append(f"/* {face.family} ({face.style}): not used */")
            continue
        weight = (f"font-weight: {face.weight}; " if face.weight else
                  f"font-weight: {_weight_range(face.path)}; " if weight_ranges else "")
        rules.append(f'@font-face {{ font-family: "{face.family}"; {weight}font-style: {face.style}; '
                     f'src: url("{url_for(face.path)}") format("truetype"); }}')
    return "\n".join(rules)


def subset(path: Path, chars: set[str]) -> bytes:
    """The font with only the glyphs of `chars`: the EPUB's fallback fonts (Noto Emoji is 2 MB).

    Only for the fallbacks (Noto, Inter), whose licences reserve no font name (the
    Source fonts' reserves "Source", so they are embedded whole)."""
    from fontTools import subset as subsetter
    from fontTools.ttLib import TTFont

    options = subsetter.Options(layout_features=["*"], name_IDs=["*"], notdef_outline=True)
    with TTFont(path, recalcTimestamp=False) as font:  # the same bytes every time
        tool = subsetter.Subsetter(options)
        tool.populate(unicodes=[ord(char) for char in chars])
        tool.subset(font)
        out = io.BytesIO()
        font.save(out)
    return out.getvalue()


# -- SVG figures ---------------------------------------------------------------------------
# WeasyPrint draws SVG text with Pango, through the document's font configuration,
# so an @font-face family is found; but the names SVG files ask for (Helvetica,
# Arial, Times, sans-serif...) are not ours, and fontconfig maps them, generics
# included, to system fonts. The URL fetcher therefore rewrites every font-family
# of an SVG to one of our stacks, and gives the root element the sans stack for
# text that names no family.

_SERIF = {"serif", "times", "times new roman", "georgia", "cambria", "garamond", "palatino",
          "palatino linotype", "book antiqua", "liberation serif", "dejavu serif", "noto serif",
          "source serif pro", "ui-serif"}
_MONOSPACE = {"monospace", "courier", "courier new", "consolas", "menlo", "monaco", "lucida console",
              "liberation mono", "dejavu sans mono", "source code pro", "ui-monospace"}
_ITEM = r"""(?:"[^"<]*"|'[^'<]*'|[A-Za-z_-][\w-]*(?:[ \t]+[A-Za-z_-][\w-]*)*)"""
_CSS_FAMILY = re.compile(rf"(font-family\s*:\s*)({_ITEM}(?:\s*,\s*{_ITEM})*)")
_ATTRIBUTE_FAMILY = re.compile(r"""(\sfont-family\s*=\s*)(?:"([^"]*)"|'([^']*)')""")
_FONT_FACE = re.compile(r"(@font-face\s*\{[^}]*\})")
_ROOT = re.compile(r"<svg(?=[\s/>])([^>]*)>")


def stack(families: str) -> str:
    """The stack of ours that stands in for a CSS font-family list, unquoted (safe in any quotes).

    CSS-wide keywords (inherit...) stay as they are."""
    if families.strip().lower() in {"inherit", "initial", "unset", "revert"}:
        return families
    first = {"serif": TEXT, "mono": MONO}.get(_kind(families), DISPLAY)
    return ", ".join(dict.fromkeys([first, *FALLBACKS]))


def _kind(families: str) -> str:
    for name in families.split(","):
        name = name.strip().strip("\"'").lower()
        if name in _SERIF or name.endswith(" serif") and "sans" not in name:
            return "serif"
        if name in _MONOSPACE or name.endswith((" mono", " code")):
            return "mono"
        if name in {"sans-serif", "helvetica", "arial"} or "sans" in name:
            return "sans"
    return "sans"


def svg_with_our_fonts(svg: str) -> str:
    """The SVG with each font-family (attribute, style attribute, <style>) set to one of our stacks."""
    def css(text: str) -> str:
        return _CSS_FAMILY.sub(lambda m: m.group(1) + stack(m.group(2)), text)

    parts = _FONT_FACE.split(svg)  # an SVG's own @font-face rules keep their family names
    svg = "".join(part if index % 2 else css(part) for index, part in enumerate(parts))
    svg = _ATTRIBUTE_FAMILY.sub(lambda m: f'{m.group(1)}"{stack(m.group(2) or m.group(3) or "")}"', svg)
    root = _ROOT.search(svg)
    if root and "font-family" not in root.group(1):
        svg = svg[: root.start() + 4] + f' font-family="{stack("sans-serif")}"' + svg[root.start() + 4:]
    return svg
