"""Nested lists indented the GitHub way.

CommonMark (GitHub, MkDocs with some plugins, most editors) nests a list item
under another when it is indented as far as the parent's text: two spaces
under `- `, three under `1. `. Python-Markdown asks for four. Without this
extension a README's nested list silently flattens into one level.

The preprocessor re-indents list blocks so that each level is four spaces
deeper than its parent, and the lines that continue an item keep their place
relative to the item's text. Lists already indented by fours come out as they
went in. Fenced code inside an item moves with it; fenced code elsewhere is
left alone.
"""

from __future__ import annotations

import re

from markdown import Extension
from markdown.preprocessors import Preprocessor

ITEM = re.compile(r"^(?P<indent> *)(?P<marker>[-*+]|\d{1,9}[.)])(?P<gap> +|$)")
FENCE = re.compile(r"^ *(`{3,}|~{3,})")


def reindent(lines: list[str]) -> list[str]:
    if not any((m := ITEM.match(line)) and 0 < len(m.group("indent")) % 4 for line in lines):
        return lines  # nothing nested by twos or threes: leave the text exactly as written
    out: list[str] = []
    stack: list[int] = []  # the source column where each open item's text starts
    blank = True
    fence = ""
    for line in lines:
        stripped = line.lstrip(" ")
        indent = len(line) - len(stripped)
        if fence or not stripped:
            if fence and FENCE.match(line) and line.strip().startswith(fence):
                fence = ""
            out.append(_shift(line, indent, stack) if stack and stripped else line)
            blank = not stripped if not fence else blank
            continue
        item = ITEM.match(line)
        if item:
            while stack and indent < stack[-1]:
                stack.pop()
            marker, gap = item.group("marker"), item.group("gap")
            out.append(" " * (4 * len(stack)) + stripped)
            stack.append(indent + len(marker) + max(1, min(len(gap), 4)))
        elif stack and indent >= stack[0]:
            out.append(_shift(line, indent, stack))
        elif stack and not blank:
            out.append(line)  # a lazy continuation of the item's paragraph
        else:
            stack.clear()
            out.append(line)
        if opening := FENCE.match(line):
            fence = opening.group(1)
        blank = False
    return out


def _shift(line: str, indent: int, stack: list[int]) -> str:
    """A line inside an item: four spaces per enclosing item, plus what it had past the item's text."""
    depth = sum(1 for start in stack if start <= indent)
    if not depth:
        return line
    extra = indent - stack[depth - 1]
    return " " * (4 * depth + max(0, extra)) + line.lstrip(" ")


class ListIndentPreprocessor(Preprocessor):
    def run(self, lines: list[str]) -> list[str]:
        return reindent(lines)


class ListIndentExtension(Extension):
    def extendMarkdown(self, md):
        # After whitespace is normalised (30), before line tokens (27) and fenced code (25).
        md.preprocessors.register(ListIndentPreprocessor(md), "list_indent", 29)
