"""Long words: marked so that they can break anywhere, and cut up when very long.

The styles break a word wider than its line where it must (`overflow-wrap:
break-word` on the text), so nothing runs off the page. That is not enough in a
table: a column is never narrower than its longest word, so a long URL or path in a
cell pushes the table off the page. `overflow-wrap: anywhere` on a whole table lets
every word shrink its column, which re-flows ordinary tables (a header "Places" came
out "Place-s"). So each run of more than `WORD` characters without a space is put
in a `<span class="long-word">`, and only those get `overflow-wrap: anywhere`.

WeasyPrint also finds each line of an unbreakable run by laying out the rest of
the run again: a 3,000-character word in a cell took 25 seconds, a 19,000-character
one many minutes. A run of more than `LONG` characters (a pasted hash, a data dump,
an endless URL) therefore gets a `<wbr>` every `STEP` characters, which costs
nothing in the text and keeps the layout fast.

Code blocks are left alone: `assemble.wrap_code` wraps their lines.
"""

from __future__ import annotations

import re
from itertools import pairwise
from xml.etree import ElementTree as etree

from markdown import Extension
from markdown.treeprocessors import Treeprocessor

WORD = 30
LONG = 200
STEP = 100
# A run with no break opportunity. STX and ETX delimit Python-Markdown's placeholders, which must stay whole.
_RUN = re.compile(rf"[^\s\x02\x03]{{{WORD + 1},}}")


def mark(text: str) -> tuple[str, list[etree.Element]]:
    """`text` with each long run in a span: (the text before the first span, the spans, each
    with the text that follows it as its tail). No span when there is no long run."""
    spans: list[etree.Element] = []
    start = 0
    lead = text
    for run in _RUN.finditer(text):
        if spans:
            spans[-1].tail = text[start:run.start()]
        else:
            lead = text[:run.start()]
        span = etree.Element("span", {"class": "long-word"})
        word = run.group()
        bounds = [*range(0, len(word), STEP if len(word) > LONG else len(word)), len(word)]
        span.text = word[:bounds[1]]
        for at, end in pairwise(bounds[1:]):
            etree.SubElement(span, "wbr").tail = word[at:end]
        spans.append(span)
        start = run.end()
    if spans:
        spans[-1].tail = text[start:]
    return lead, spans


class LongWordTreeprocessor(Treeprocessor):
    def run(self, root: etree.Element) -> None:
        code = {inner for element in root.iter("pre") for inner in element.iter()}
        parents = {child: parent for parent in root.iter() for child in parent}
        for element in list(root.iter()):
            if element in code:
                continue
            if element.text and len(element.text) > WORD:
                element.text, spans = mark(element.text)
                element[0:0] = spans
            parent = parents.get(element)
            if element.tail and len(element.tail) > WORD and parent is not None and parent not in code:
                element.tail, spans = mark(element.tail)
                at = list(parent).index(element) + 1
                parent[at:at] = spans


class LongWordExtension(Extension):
    def extendMarkdown(self, md):
        # Last, once all inline markup, smart quotes (6), heading ids (5) and escapes (0) are done.
        md.treeprocessors.register(LongWordTreeprocessor(md), "long_words", -1)
