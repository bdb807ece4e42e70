"""Bounds on a chapter's source, checked before Python-Markdown parses it.

Python-Markdown parses nested blocks and nested inline markup by recursion, and
its link pattern rescans the rest of the paragraph for every `[`; WeasyPrint lays
out nested boxes by recursion too. Broken or hostile input (500 nested lists,
20,000 `>`, a line of 100,000 `[`, 10,000 nested `<div>`s) would end in a
`RecursionError` or run for minutes. This preprocessor measures the source first,
in linear passes, and reports at the exact line:

- a line longer than `MAX_LINE` characters;
- lists, quotes, boxes, definitions and footnotes nested deeper than `MAX_BLOCKS`;
- raw HTML elements nested deeper than `MAX_HTML`;
- links, brackets and emphasis nested (or left open) deeper than `MAX_INLINE` in one paragraph.

Each is an error, and the lines concerned are blanked, so that the parse that
follows is cheap and the rest of the chapter is still checked. Code (fenced or
indented, as `lines.CodeTracker` sees it) is not measured, except for its length.

It also settles code fences, so that the line marker and superfences agree on
what is code. A fence that is never closed is a warning at the fence: at the top
level it runs to the end of the chapter, as on GitHub (a closing fence is added);
inside a list, quote or box it is shown as text, as superfences shows it, and its
backticks are escaped. A closing fence with text right below it gets a blank line
between them, which superfences needs.

The limits are far above anything a real report needs (the sample report, the
real-world corpus and the docs nest at most 2 levels deep, and no line of theirs
reaches 1,200 characters) and below what the parser and the layout can take:
20 levels of lists, inside 20 of HTML, around 20 of inline markup still lay out
(`tests/cases/errors/markdown.yaml`); WeasyPrint fails at about 100 levels.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable

from markdown import Extension
from markdown.preprocessors import Preprocessor

from .lines import CodeTracker, is_blank, is_top_level_fence, line_numbers
from .rawhtml import IMPLIED_END, VOID

MAX_LINE = 20_000  # characters in a line
MAX_BLOCKS = 20  # lists, quotes, boxes, definitions and footnotes inside one another
MAX_HTML = 20  # raw HTML elements inside one another, across the chapter
MAX_INLINE = 20  # brackets and emphasis open at once, in one paragraph

Report = Callable[[int, str], None]

# One container marker, after any indentation: a quote, a list item, a definition, a box, a footnote.
_CONTAINER = re.compile(r"( *)(>|[-*+](?= |$)|\d{1,9}[.)](?= |$)|:(?= )|[!?]{3}\+?(?= )|\[\^[^\]\s]+\]:)")
_FENCE_MARK = re.compile(r"`{3,}|~{3,}")  # the fence itself, in a line that opens one
_RULE = re.compile(r"^ {0,3}([-*_])(?: *\1){2,} *$")  # `* * *` is a rule, not three list items
# What nests inline: escapes (skipped), code spans (skipped), emphasis runs, brackets, HTML tags.
_INLINE = re.compile(r"\\.|`+|\*+|_+|~~+|[\[\]]|<(/?)([A-Za-z][A-Za-z0-9-]*)(?=[\s/>])[^<>]*?(/?)>")


def block_depth(line: str) -> int:
    """How many containers a line opens or continues: `> - > 1. x` is 4. Indentation counts a
    level per four spaces, but only in front of a marker: a plain indented line nests nothing."""
    if _RULE.match(line):
        return 0
    depth = position = 0
    while match := _CONTAINER.match(line, position):
        depth += len(match.group(1)) // 4 + 1
        position = match.end()
    return depth


def _flanking(line: str, start: int, end: int) -> tuple[bool, bool]:
    """(left-flanking, right-flanking) for a delimiter run, as CommonMark defines them."""
    before = line[start - 1] if start else " "
    after = line[end] if end < len(line) else " "

    def punct(char: str) -> bool:
        return not char.isalnum() and not char.isspace()

    left = not after.isspace() and (not punct(after) or before.isspace() or punct(before))
    right = not before.isspace() and (not punct(before) or after.isspace() or punct(after))
    return left, right


class _Nesting:
    """Running depths while the chapter is read line by line."""

    def __init__(self) -> None:
        self.brackets = 0  # `[` not yet closed in this paragraph
        self.emphasis = 0  # emphasis delimiters not yet closed in this paragraph
        self.html = 0  # HTML elements not yet closed in the chapter

    def inline(self) -> int:
        return self.brackets + self.emphasis

    def scan(self, line: str) -> tuple[int, int]:
        """Read one line of Markdown: (the deepest inline nesting, the deepest HTML nesting) in it."""
        deepest_inline, deepest_html = self.inline(), self.html
        position = 0
        while match := _INLINE.search(line, position):
            token, position = match.group(), match.end()
            if token[0] == "`":
                # A code span runs to the next run of exactly as many backticks; its content is literal.
                close = re.compile(f"(?<!`){token}(?!`)").search(line, position)
                position = close.end() if close else position
            elif token[0] in "*_~":
                left, right = _flanking(line, match.start(), match.end())
                size = len(token) // 2 if token[0] == "~" else len(token)
                if left and not right:
                    self.emphasis += size
                elif right and not left:
                    self.emphasis = max(0, self.emphasis - size)
            elif token == "[":
                self.brackets += 1
            elif token == "]":
                self.brackets = max(0, self.brackets - 1)
            elif token[0] == "<":
                closing, tag, self_closing = match.group(1), match.group(2).lower(), match.group(3)
                if tag in VOID or tag in IMPLIED_END or self_closing:
                    pass
                elif closing:
                    self.html = max(0, self.html - 1)
                else:
                    self.html += 1
            deepest_inline = max(deepest_inline, self.inline())
            deepest_html = max(deepest_html, self.html)
        return deepest_inline, deepest_html

    def end_paragraph(self) -> None:
        self.brackets = self.emphasis = 0


class _Excess:
    """A run of lines nested too deep: reported once, at its first line, with its deepest level."""

    def __init__(self, what: str, limit: int) -> None:
        self.what, self.limit = what, limit
        self.start = -1  # the index of its first line, or -1 outside a run
        self.deepest = 0

    def add(self, index: int, depth: int) -> None:
        if self.start < 0:
            self.start = index
        self.deepest = max(self.deepest, depth)

    def end(self, numbers: list[int], report: Report) -> int:
        """Close the run, if there is one: report it; the index of its first line, or -1."""
        start = self.start
        if start >= 0:
            report(numbers[start], f"{self.what} nested {self.deepest:,} deep here; "
                                   f"at most {self.limit} levels are allowed")
        self.start, self.deepest = -1, 0
        return start


def check_length(lines: list[str], numbers: list[int], report: Report) -> None:
    """Report each line longer than MAX_LINE and blank it, in place."""
    for index, line in enumerate(lines):
        if len(line) > MAX_LINE:
            report(numbers[index], f"line is {len(line):,} characters long; at most {MAX_LINE:,} are allowed")
            lines[index] = ""


def close_fences(lines: list[str], numbers: list[int], warn: Report) -> None:
    """Close or escape each code fence that is never closed, in place (see the module's docstring)."""
    code = CodeTracker()
    before: dict[int, CodeTracker] = {}  # the tracker as it was before each fence's opening line
    index = 0
    while index < len(lines):
        state = copy.copy(code)
        _, opens = code.step(lines[index])
        if opens and code.fence:
            before[index] = state
        index += 1
        if code.cut < 0 and not (index == len(lines) and code.fence):
            continue
        start = code.cut if code.cut >= 0 else code.opened_at
        if code.cut < 0 and is_top_level_fence(lines[start]):
            warn(numbers[start], "code fence opened here is never closed; the rest of the chapter is shown as code")
            lines.append(code.fence)
            numbers.append(numbers[-1])
            return
        warn(numbers[start], "code fence opened here is never closed; it is shown as text")
        lines[start] = _escape_fence(lines[start])
        code, index = copy.copy(before[start]), start  # read on from the fence's line, now text


def _escape_fence(line: str) -> str:
    """`line` with its fence's backticks or tildes escaped: text, and no longer a fence."""
    fence = _FENCE_MARK.search(line)
    return line[:fence.start()] + "".join("\\" + mark for mark in fence.group()) + line[fence.end():] if fence else line


def separate_fences(lines: list[str], numbers: list[int]) -> None:
    """Put a blank line after a closing fence with text right below it, in place: superfences
    would take that text into a paragraph around the code."""
    code = CodeTracker()
    closings = []
    for index, line in enumerate(lines[:-1]):
        was_open = bool(code.fence)
        code.step(line)
        if was_open and not code.fence and is_top_level_fence(line) and not is_blank(lines[index + 1]):
            closings.append(index)
    for index in reversed(closings):  # from the end, so that each insertion leaves the indexes before it
        lines.insert(index + 1, "")
        numbers.insert(index + 1, numbers[index])


def check_nesting(lines: list[str], numbers: list[int], report: Report) -> None:
    """Report each run of lines nested beyond the bounds and blank it, in place."""
    blank: list[tuple[int, int]] = []  # [start, end) ranges of lines to blank
    code = CodeTracker()
    nesting = _Nesting()
    blocks = _Excess("lists, quotes and boxes are", MAX_BLOCKS)
    html = _Excess("HTML elements are", MAX_HTML)
    inline = _Excess("links, brackets and emphasis are", MAX_INLINE)
    previous_blank = True
    for index, line in enumerate(lines):
        is_code, _ = code.step(line)
        if is_code or is_blank(line):
            nesting.end_paragraph()
            if (start := inline.end(numbers, report)) >= 0:
                blank.append((start, index))
            previous_blank = not is_code
            continue
        depth = block_depth(line)
        if depth > MAX_BLOCKS:
            blocks.add(index, depth)
        # A shallow container line, or a new top-level block, ends a run; plain lines inside the run belong to it.
        elif (depth or (previous_blank and not line.startswith(" "))) and (start := blocks.end(numbers, report)) >= 0:
            blank.append((start, index))
        previous_blank = False
        deepest_inline, deepest_html = nesting.scan(line)
        if deepest_html > MAX_HTML:
            html.add(index, deepest_html)
        elif (start := html.end(numbers, report)) >= 0:
            blank.append((start, index))
        if deepest_inline > MAX_INLINE:
            inline.add(index, deepest_inline)
    for run in (blocks, html, inline):
        if (start := run.end(numbers, report)) >= 0:
            blank.append((start, len(lines)))
    for start, end in blank:
        lines[start:end] = [""] * (end - start)


class PrescanPreprocessor(Preprocessor):
    def __init__(self, md, first_line: int, report: Report, warn: Report):
        super().__init__(md)
        self.first_line = first_line
        self.report = report
        self.warn = warn

    def run(self, lines: list[str]) -> list[str]:
        numbers = list(line_numbers(self.md, lines, self.first_line))
        lines = list(lines)
        check_length(lines, numbers, self.report)
        close_fences(lines, numbers, self.warn)
        separate_fences(lines, numbers)
        check_nesting(lines, numbers, self.report)
        # Lines may have been added: the line marker numbers from these.
        self.md.source_line_numbers = numbers  # type: ignore[attr-defined]
        return lines


class PrescanExtension(Extension):
    def __init__(self, **kwargs):
        self.config = {
            "first_line": [1, "Line number of the first line given to Markdown"],
            "report": [lambda line, message: None, "Called with (line, message) for each error"],
            "warn": [lambda line, message: None, "Called with (line, message) for each warning"],
        }
        super().__init__(**kwargs)

    def extendMarkdown(self, md):
        # After includes (32), whitespace (30) and GitHub-style list indents (29), so it measures
        # the lines Python-Markdown will read; before the line marker (27), which must see the
        # settled fences, and before everything that parses.
        processor = PrescanPreprocessor(md, self.getConfig("first_line"), self.getConfig("report"),
                                        self.getConfig("warn"))
        md.preprocessors.register(processor, "prescan", 28)
