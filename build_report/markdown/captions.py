"""Figures and table captions.

An image alone in its paragraph becomes a figure; its title is the caption and
an attribute list `{#fig-id}` on the image becomes the figure's id:

    ![A map of the partnership](../images/map.svg "Where the partners are"){#fig-map}

    <figure class="figure" id="fig-map"><img .../><figcaption>Where the partners are</figcaption></figure>

A line `Table: caption {#tab-id}` directly under a pipe table becomes that
table's caption:

    | a | b |
    |---|---|
    Table: Two columns {#tab-two}

Numbers ("Figure 2.1") are given later, when the whole chapter is known.
"""

from __future__ import annotations

import re
from xml.etree import ElementTree as etree

from markdown import Extension
from markdown.preprocessors import Preprocessor
from markdown.treeprocessors import Treeprocessor

from .lines import strip_tokens

CAPTION_ID = re.compile(r"\s*\{#([\w:.-]+)\}\s*$")


class TableCaptionPreprocessor(Preprocessor):
    """Split a `Table:` line from the table above it, so it is a paragraph of its own."""

    def run(self, lines: list[str]) -> list[str]:
        out: list[str] = []
        for line in lines:
            if strip_tokens(line).startswith("Table:") and out and out[-1].lstrip().startswith("|"):
                out.append("")
            out.append(line)
        return out


class CaptionTreeprocessor(Treeprocessor):
    def run(self, root: etree.Element) -> None:
        for parent in list(root.iter()):
            for child in list(parent):
                if child.tag != "p":
                    continue
                index = list(parent).index(child)  # earlier captions may have been removed
                if self._lone_image(child) is not None:
                    parent[index] = self._figure(child)
                elif index and parent[index - 1].tag == "table":
                    self._caption_table(parent, parent[index - 1], child)

    @staticmethod
    def _lone_image(paragraph: etree.Element) -> etree.Element | None:
        if (len(paragraph) == 1 and paragraph[0].tag == "img" and "decorative" not in paragraph[0].get("class", "")
                and not (paragraph.text or "").strip() and not (paragraph[0].tail or "").strip()):
            return paragraph[0]
        return None

    def _figure(self, paragraph: etree.Element) -> etree.Element:
        image = paragraph[0]
        figure = etree.Element("figure", {"class": "figure"})
        for name in ("id", "data-line"):
            value = image.attrib.pop(name, None) or paragraph.get(name)
            if value:
                figure.set(name, value)
        image.tail = None
        figure.append(image)
        caption = image.attrib.pop("title", "")
        if caption:
            etree.SubElement(figure, "figcaption").text = caption
        figure.tail = paragraph.tail
        return figure

    @staticmethod
    def _caption_table(parent: etree.Element, table: etree.Element, paragraph: etree.Element) -> None:
        text = paragraph.text or ""
        if not text.startswith("Table:"):
            return
        caption = etree.Element("caption")
        caption.text = text[len("Table:"):].lstrip()
        caption.extend(list(paragraph))  # inline markup inside the caption
        last, attr = (caption[-1], "tail") if len(caption) else (caption, "text")
        match = CAPTION_ID.search(getattr(last, attr) or "")
        if match:
            setattr(last, attr, getattr(last, attr)[: match.start()])
            table.set("id", match.group(1))
        table.insert(0, caption)
        if line := paragraph.get("data-line"):
            rows = len(table.findall("./thead/tr")) + len(table.findall("./tbody/tr")) + 1
            table.set("data-line", str(max(1, int(line) - rows)))
        table.tail = paragraph.tail
        parent.remove(paragraph)


class CaptionExtension(Extension):
    def extendMarkdown(self, md):
        md.preprocessors.register(TableCaptionPreprocessor(md), "table_captions", 26)
        # After inline patterns (20) and attribute lists (8), so images and their ids exist.
        md.treeprocessors.register(CaptionTreeprocessor(md), "captions", 7)
