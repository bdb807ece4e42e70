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
_PREFIX = re.compile(r"^(\s*(?:>\s?)*\s*(?:[-*+]\s+(?:\[[ xX]\]\s+)?|\d+[.)]\s+|#{1,6}\s+|\[\^[^\]]+\]:\s*|[:~]\s+)?)")
_FENCE = re.compile(r"^(?P<indent>[\s>]*(?:(?:[-*+]|\d+[.)])\s+)?)(?P<fence>`{3,}|~{3,})")
_STARTS_ITEM = re.compile(r"^\s*(?:>\s?)*\s*(?:[-*+]|\d+[.)])\s+\S")
_NO_TOKEN = re.compile(r"^\s*(!!!|\*\*\*|---|___|\{|\*\[|</|<!|<\?|-+8<-+)")
_HTML_TAG = re.compile(r"^(?P<indent> {0,3})<(?P<tag>[A-Za-z][A-Za-z0-9-]*)(?=[\s/>]|$)")
_TABLE_ROW = re.compile(r"^(\s*\|\s*)(?=[^\s|])")  # a token goes inside the first cell
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$")
_BLANK = re.compile(r"^[\s>]*$")
_ADMONITION_TITLE = re.compile(r'^(\s*!!!\s+[\w-]+(?:\s+[\w-]+)*\s+")')

def fence_step(fence: str, line: str) -> tuple[str, bool]:
    """Fenced code, one line at a time: (the fence open after `line`, whether `line` is
    code or a fence line). A fence closes with the same character, at least as long."""
    opening = _FENCE.match(line)
    if fence:
        closes = opening and opening.group("fence")[0] == fence[0] and len(opening.group("fence")) >= len(fence) \
            and not line[opening.end():].strip()
        return ("" if closes else fence), True
    return (opening.group("fence"), True) if opening else ("", False)


BLOCKS = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "blockquote", "td", "th", "dt", "dd", "pre"}


def mark(lines: list[str], first_line: int = 1, block_tags: frozenset[str] = frozenset(),
         numbers: list[int] | None = None, fences: list[int] | None = None) -> list[str]:
    """Insert a line token at the start of each block; `first_line` numbers lines[0].

    `numbers`, when given, is the source line of each of `lines` (included files
    take the line of their include). The opening tag of a raw HTML block (a tag
    in `block_tags`) gets a `data-line` attribute instead of a token, since a
    token would hide it from the HTML block parser. Fenced code is left alone;
    the line of each fence is appended to `fences`."""
    out: list[str] = []
    fence = ""  # the open fence ("```", "~~~~"), or ""
    in_list = in_code = False
    previous = ""
    for index, line in enumerate(lines):
        number = numbers[index] if numbers else first_line + index
        was_open = bool(fence)
        fence, fenced = fence_step(fence, line)
        if fenced:
            if not was_open and fences is not None:
                fences.append(number)
            out.append(line)
            previous = line
            continue
        indented = line.startswith(("    ", "\t")) and line.strip()
        if line.strip() and not indented:
            in_code = False
            in_list = bool(_STARTS_ITEM.match(line)) or (in_list and not _BLANK.match(previous))
        if indented and (in_code or (_BLANK.match(previous) and not in_list)):
            if not in_code and fences is not None:
                fences.append(number)  # an indented code block: no token inside the code
            in_code = True
            out.append(line)
            previous = line
            continue
        at_block_start = _BLANK.match(previous) or previous.lstrip().startswith(("#", "!!!"))
        starts_block = (
            line.strip()
            and not _NO_TOKEN.match(line)
            and not line.lstrip().startswith("|")
            and (at_block_start or _STARTS_ITEM.match(line)
                 or (line.startswith("Table:") and previous.lstrip().startswith("|")))
        )
        tag = _HTML_TAG.match(line) if starts_block else None
        titled = _ADMONITION_TITLE.match(line)
        if titled:  # the token goes inside the title's quotes
            line = f"{titled.group(1)}{OPEN}{number}{CLOSE}{line[titled.end():]}"
        row = None if _TABLE_RULE.match(line) else _TABLE_ROW.match(line)
        if tag and tag.group("tag").lower() in block_tags:
            if at_block_start:
                line = f'{line[:tag.end()]} data-line="{number}"{line[tag.end():]}'
        elif row:
            prefix = row.group(1)
            line = f"{prefix}{OPEN}{number}{CLOSE}{line[len(prefix):]}"
        elif starts_block:
            prefix = _PREFIX.match(line).group(1)
            line = f"{prefix}{OPEN}{number}{CLOSE}{line[len(prefix):]}"
        out.append(line)
        previous = line
    return out


class LineMarkPreprocessor(Preprocessor):
    def __init__(self, md, first_line: int):
        super().__init__(md)
        self.first_line = first_line
        self.fences: list[int] = []

    def run(self, lines: list[str]) -> list[str]:
        self.fences = []
        numbers = getattr(self.md, "source_line_numbers", None)
        block_tags = frozenset(self.md.block_level_elements)
        return mark(lines, self.first_line, block_tags, numbers if numbers and len(numbers) == len(lines) else None,
                    self.fences)


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
            if owner.tag == "code" and owner is element and parent.tag == "pre":
                owner = parent  # an indented code block
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


def finish_lines(root: etree.Element, fences: list[int]) -> None:
    """On the chapter's final tree: take the tokens left in raw HTML, and give each
    fenced code block (which Python-Markdown inserts as raw HTML) its fence's line."""
    LineAttributeTreeprocessor(None).run(root)
    parents = {child: parent for parent in root.iter() for child in parent}
    blocks = [e for e in root.iter() if (e.tag == "div" and "highlight" in e.get("class", "").split())
              or (e.tag == "pre" and "highlight" not in parents[e].get("class", "").split())]
    for block, line in zip(blocks, fences):
        block.set("data-line", str(line))


class SourceLinesExtension(Extension):
    def __init__(self, **kwargs):
        self.config = {"first_line": [1, "Line number of the first line given to Markdown"]}
        super().__init__(**kwargs)

    def extendMarkdown(self, md):
        # Before anything that adds or removes lines (table captions at 26), after whitespace (30).
        self.marker = LineMarkPreprocessor(md, self.getConfig("first_line"))
        md.preprocessors.register(self.marker, "source_lines", 27)
        # After footnotes are attached (50), before inline patterns (20) and places (40).
        md.treeprocessors.register(LineAttributeTreeprocessor(md), "source_lines", 45)
