"""Boxes for case studies and key facts, built on the admonition syntax:

    !!! box "Case study: a shared front door"
        Indented content.

becomes `<aside class="box"><p class="box-title">Case study: ...</p>...</aside>`.
Other admonition types are left to Python-Markdown's own extension.
"""

from __future__ import annotations

from xml.etree import ElementTree as etree

from markdown import Extension
from markdown.extensions.admonition import AdmonitionExtension
from markdown.treeprocessors import Treeprocessor


class BoxTreeprocessor(Treeprocessor):
    def run(self, root: etree.Element) -> None:
        for element in root.iter("div"):
            classes = element.get("class", "").split()
            if classes[:2] != ["admonition", "box"]:
                continue
            element.tag = "aside"
            element.set("class", " ".join(["box", *classes[2:]]))
            if len(element) and element[0].get("class") == "admonition-title":
                element[0].set("class", "box-title")
                if element[0].get("data-line"):
                    element.set("data-line", element[0].get("data-line"))


class BoxExtension(Extension):
    def extendMarkdown(self, md):
        md.registerExtension(self)
        AdmonitionExtension().extendMarkdown(md)
        md.treeprocessors.register(BoxTreeprocessor(md), "boxes", 7)
