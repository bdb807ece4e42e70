"""Footnotes: Python-Markdown's, with diagnostics and one numbering for both editions.

- A footnote defined twice is an error at the second definition, naming the first
  (Python-Markdown keeps the second without a word).
- A footnote defined but never used is a warning at its definition, and it is left
  out. The print edition only ever showed the notes that are called (at the foot of
  the page), while the EPUB listed them all; now neither shows it.
- Notes are numbered in the order they are first called, as the print edition's
  CSS counter numbers them, so the EPUB's numbers agree with the PDF's.

The line of a definition comes from the token `lines.mark` puts after `[^name]: `.
"""

from __future__ import annotations

from collections.abc import Callable
from xml.etree import ElementTree as etree

from markdown.extensions import footnotes
from markdown.treeprocessors import Treeprocessor

from .lines import TOKEN

Report = Callable[[int, str], None]


def _line(text: str) -> int:
    match = TOKEN.search(text)
    return int(match.group(1)) if match else 0


class FootnoteExtension(footnotes.FootnoteExtension):
    def __init__(self, report: Report, warn: Report, **kwargs):
        self.report = report
        self.warn = warn
        super().__init__(**kwargs)

    def reset(self) -> None:
        super().reset()
        self.lines: dict[str, int] = {}  # the line of each definition

    def setFootnote(self, id: str, text: str) -> None:  # noqa: A002 - Python-Markdown's signature
        line = _line(text)
        if id in self.lines:
            self.report(line, f"footnote '[^{id}]' is defined twice (first at line {self.lines[id]})")
        else:
            self.lines[id] = line
        super().setFootnote(id, text)

    def extendMarkdown(self, md):
        super().extendMarkdown(md)
        # After inline patterns (20) have found the calls, before duplicate calls get their backlinks (15).
        md.treeprocessors.register(FootnoteOrder(self), "footnote-order", 18)


class FootnoteOrder(Treeprocessor):
    """Number the notes in the order they are first called, and leave out (with a warning) those never called.

    Python-Markdown numbers them in the order they are defined. Its own reordering
    (`USE_DEFINITION_ORDER: False`) fails on a note without a backlink, which a note
    whose text comes to nothing has."""

    def __init__(self, footnotes: FootnoteExtension):
        super().__init__()
        self.footnotes = footnotes

    def run(self, root: etree.Element) -> None:
        notes = self.footnotes
        called = notes.footnote_order  # ids, in the order of their first call
        for id in notes.footnotes:
            if id not in called:
                notes.warn(notes.lines.get(id, 0), f"footnote '[^{id}]' is defined but never used; it is left out")
        parents = {child: parent for parent in root.iter() for child in parent}
        block = next((div for div in root.iter("div") if div.get("class") == "footnote"), None)
        ordered = block.find("ol") if block is not None else None
        if block is None or ordered is None:
            return
        items = {li.get("id"): li for li in ordered}
        ordered[:] = [items[key] for id in called if (key := notes.makeFootnoteId(id)) in items]
        if not len(ordered):
            parents[block].remove(block)  # no note is called: no list at all
        number = {f"#{notes.makeFootnoteId(id)}": index for index, id in enumerate(called, 1)}
        for call in root.iter("a"):
            if call.get("class") == "footnote-ref" and (href := call.get("href", "")) in number:
                call.text = notes.getConfig("SUPERSCRIPT_TEXT").format(number[href])
        for index, item in enumerate(ordered, 1):
            for backlink in item.iter("a"):
                if backlink.get("class") == "footnote-backref":
                    backlink.set("title", notes.getConfig("BACKLINK_TITLE").format(index))
