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
# Blocks whose indented lines are their own paragraphs, not code: list items, boxes
# (admonitions), footnote definitions and definitions.
_STARTS_CONTAINER = re.compile(r"^\s*(?:>\s?)*\s*(?:(?:[-*+]|\d+[.)])\s+\S|[!?]{3}\+?\s|\[\^[^\]]+\]:|:\s)")
# Lines that start a block even straight after a line of text: an ATX heading, a footnote
# definition, a definition (`: `).
_ALWAYS_STARTS = re.compile(r"^ {0,3}(?:#{1,6}(?:\s|$)|\[\^[^\]]+\]:|:\s)")
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


def fence_prefix(line: str) -> str:
    """What stands before a fence on its line (`> `, `- `, an indent); "" for a fence outside
    any list, quote or box (indented at most three spaces), or for a line that is no fence."""
    opening = _FENCE.match(line)
    indent = opening.group("indent") if opening else ""
    return "" if len(indent) <= 3 and not indent.strip() else indent


def is_top_level_fence(line: str) -> bool:
    return bool(_FENCE.match(line)) and not fence_prefix(line)


class CodeTracker:
    """Which lines of a chapter are code, one line at a time, in order: fenced code (with
    its fence lines) and indented code blocks. The line marker and the pre-scan share it,
    so they agree with superfences on what is Markdown.

    Indented lines inside a container (a list item, a box, a footnote, a definition) are
    the container's paragraphs, not code. An indented line after a blank line elsewhere
    is code, even when it looks like a fence. A fence inside a list item or a quote ends
    with its container: a line outside the container means it was never closed (`cut`)."""

    def __init__(self) -> None:
        self.fence = ""  # the open fence ("```", "~~~~"), or ""
        self.prefix = ""  # what stands before it on its line (`> `, `- `, an indent), "" at the top level
        self.opened_at = -1  # the index of the line that opened it
        self.cut = -1  # the index of the opening line of a fence its container has just ended, or -1
        self.in_container = False
        self.in_indented = False
        self.previous = ""
        self.index = -1

    def step(self, line: str) -> tuple[bool, bool]:
        """(whether `line` is code or a fence line, whether it opens a code block)."""
        self.index += 1
        self.cut = -1
        previous, self.previous = self.previous, line
        indented = bool(line.startswith(("    ", "\t")) and line.strip())
        if not self.fence and indented and (self.in_indented or (_BLANK.match(previous) and not self.in_container)):
            opens = not self.in_indented
            self.in_indented = True
            return True, opens
        if self.fence and self.prefix and line.strip() and not _inside(self.prefix, line):
            self.fence, self.cut = "", self.opened_at
        was_open = bool(self.fence)
        self.fence, fenced = fence_step(self.fence, line)
        if fenced:
            self.in_indented = False
            if not was_open:
                self.opened_at = self.index
                self.prefix = fence_prefix(line)
            return True, not was_open
        if line.strip() and not indented:
            self.in_indented = False
            self.in_container = bool(_STARTS_CONTAINER.match(line)) or (
                self.in_container and not _BLANK.match(previous))
        return False, False


def _inside(prefix: str, line: str) -> bool:
    """Whether `line` is still inside the container of a fence written after `prefix`:
    a quote's lines start with `>`, a list item's are indented to its text."""
    if ">" in prefix:
        return line.lstrip().startswith(">")
    return len(line) - len(line.lstrip(" ")) >= len(prefix)


def is_blank(line: str) -> bool:
    """An empty line, also inside a quote (`>`)."""
    return bool(_BLANK.match(line))


def line_numbers(md, lines: list[str], first_line: int) -> list[int]:
    """The source line of each of `lines`: from `md.source_line_numbers` when a preprocessor that
    adds lines has set it (includes: an included line takes the line of its include; the pre-scan),
    else counted from `first_line`."""
    numbers = getattr(md, "source_line_numbers", None)
    return numbers if numbers and len(numbers) == len(lines) else list(range(first_line, first_line + len(lines)))


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
    code = CodeTracker()
    previous = ""
    after_code = False  # the line before was code: this one starts a block
    for index, line in enumerate(lines):
        number = numbers[index] if numbers else first_line + index
        is_code, opens = code.step(line)
        if is_code:
            if opens and fences is not None:
                fences.append(number)  # a fence or an indented code block: no token inside the code
            out.append(line)
            previous = line
            after_code = True
            continue
        at_block_start = _BLANK.match(previous) or previous.lstrip().startswith(("#", "!!!")) or after_code
        after_code = False
        starts_block = (
            line.strip()
            and not _NO_TOKEN.match(line)
            and not line.lstrip().startswith("|")
            and (at_block_start or _STARTS_ITEM.match(line) or _ALWAYS_STARTS.match(line)
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
            prefix = match.group(1) if (match := _PREFIX.match(line)) else ""
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
        block_tags = frozenset(self.md.block_level_elements)
        return mark(lines, self.first_line, block_tags, line_numbers(self.md, lines, self.first_line), self.fences)


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
    # A code block Python-Markdown found where the marker saw none (in a list item) shifts the rest: not strict.
    for block, line in zip(blocks, fences, strict=False):
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
