"""Boxes for case studies, key facts and notes, from three common syntaxes:

    !!! box "Case study: a shared front door"      (ours)
        Indented content.

    !!! note "Before you start"                     (MkDocs admonitions: note, tip, warning...)
        Indented content.

    > [!NOTE]                                       (GitHub alerts)
    > Content.

all become `<aside class="box KIND"><p class="box-title">Title</p>...</aside>`.
A box without a title of its own keeps the kind as its title, as
Python-Markdown's admonitions do ("Note"); the print and EPUB styles decide
how each kind looks.
"""

from __future__ import annotations

import re
from xml.etree import ElementTree as etree

from markdown import Extension
from markdown.extensions.admonition import AdmonitionExtension
from markdown.treeprocessors import Treeprocessor

ALERT = re.compile(r"^\s*\[!(?P<kind>NOTE|TIP|IMPORTANT|WARNING|CAUTION)\]\s*", re.I)


class BoxTreeprocessor(Treeprocessor):
    def run(self, root: etree.Element) -> None:
        for element in list(root.iter()):
            classes = element.get("class", "").split()
            if element.tag == "div" and classes[:1] == ["admonition"]:
                self._admonition(element, classes[1:])
            elif element.tag == "blockquote" and len(element) and element[0].tag == "p":
                self._alert(element)

    @staticmethod
    def _admonition(element: etree.Element, kinds: list[str]) -> None:
        element.tag = "aside"
        element.set("class", " ".join(["box", *[kind for kind in kinds if kind != "box"]]))
        if len(element) and element[0].get("class") == "admonition-title":
            element[0].set("class", "box-title")
            if line := element[0].get("data-line"):
                element.set("data-line", line)

    @staticmethod
    def _alert(quote: etree.Element) -> None:
        first = quote[0]
        match = ALERT.match(first.text or "")
        if not match:
            return
        kind = match.group("kind").lower()
        quote.tag = "aside"
        quote.set("class", f"box {kind}")
        if line := first.get("data-line"):
            quote.set("data-line", line)
        title = etree.Element("p", {"class": "box-title"})
        title.text = kind.capitalize()
        first.text = (first.text or "")[match.end():].lstrip("\n")
        if not first.text.strip() and not len(first):
            quote.remove(first)
        quote.insert(0, title)


class BoxExtension(Extension):
    def extendMarkdown(self, md):
        md.registerExtension(self)
        AdmonitionExtension().extendMarkdown(md)
        md.treeprocessors.register(BoxTreeprocessor(md), "boxes", 7)
