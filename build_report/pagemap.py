"""Print page positions: where each page of the PDF begins, in terms of the model.

The EPUB's page-list (and anything else that needs to say "this text is on page
37 of the print edition") reads the WeasyPrint layout of the print HTML, so the
numbers are those of the same build's PDF.

For each laid-out page, `page_map` finds the first piece of chapter content on
it: the first text box (or image) in the page's box tree, in document order,
leaving out

- margin boxes (running heads, folios) and the footnote area;
- generated content (`::before`, `::after`, `::marker`, footnote calls);
- a table's header or footer rows repeated at the top of a continued table;
- boxes with no letters or digits (a stray space or dash).

That box's element lives in the print HTML inside
`<section class="chapter" id="CHAPTER_ID">`, whose children are the chapter
title and then the chapter body of the model, one to one (the print edition
only replaces footnote calls in place and drops the trailing footnote list).
The start is recorded as a `PageStart`: the chapter id, the path of child
indexes from the body to the nearest *container* of that content (a
paragraph, heading, list item, table cell, caption, figure...), and how many
letters and digits of that container were laid out on earlier pages.

`mark` puts a marker element where each `PageStart` falls in a copy of the
chapter body (as made by `assemble.rewrite`); `locate` finds that place:

- at offset 0, just before the container, or before the outermost element
  it opens (a caption opens its table), where the HTML content model allows
  a phrasing element; otherwise at the start of the container (a list item
  or table cell in the middle of its list or table);
- a page that starts with a heading gets its marker before the heading, so
  the heading's accessible name is untouched;
- inside a paragraph that continues from the previous page, at the first
  word that starts on the page: when the page break splits a hyphenated
  word, that is the word after it. Never inside a link, where the marker
  would join the link's name: after the link instead. Footnote references
  are not counted, as their text is in the print edition's footnote area.

Letters and digits are compared case-folded, so hyphens added by the layout,
collapsed white space and `text-transform` do not shift the count. Pages with
no chapter content (the cover, the imprint, the contents, blank left pages)
have no `PageStart`; their labels are listed in `PageMap.skipped`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from xml.etree import ElementTree as etree

from .model import Manuscript

if TYPE_CHECKING:  # WeasyPrint is imported only to read a layout: a cached page map (cache.py) needs none
    import weasyprint
    from weasyprint.formatting_structure import boxes

# Elements that hold text directly: a page start is counted within the nearest one.
CONTAINERS = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "dt", "dd", "td", "th", "caption",
              "figcaption", "pre", "figure", "blockquote", "aside", "div"}
# Elements whose content model accepts a phrasing element (the page-break marker) as a child.
FLOW = {"div", "section", "article", "aside", "blockquote", "li", "dd", "td", "th", "figure",
        "main", "header", "footer", "body"}
HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}


@dataclass(frozen=True)
class PageStart:
    """Where a print page begins in the model."""

    index: int  # 0-based page of the PDF
    label: str  # the printed folio: "iv", "37"
    chapter_id: str
    path: tuple[int, ...] | None  # child indexes from the chapter body to the container; None: the chapter title
    offset: int = 0  # letters and digits of the container laid out on earlier pages


@dataclass
class PageMap:
    """Every page start, in page order, plus what the layout says about anchors."""

    starts: list[PageStart]
    skipped: list[str]  # labels of pages without chapter content
    anchors: dict[str, str] = field(default_factory=dict)  # print anchor ("chapter--id") -> page label

    def for_chapter(self, chapter_id: str) -> list[PageStart]:
        return [start for start in self.starts if start.chapter_id == chapter_id]

    def page_of(self, chapter_id: str, local: str = "") -> str:
        """The label of the page an element of a chapter (or the chapter's start) is on; '' if not laid out."""
        return self.anchors.get(f"{chapter_id}--{local}" if local else chapter_id, "")


# -- Reading the layout ----------------------------------------------------------------------------

def page_map(document: weasyprint.Document, manuscript: Manuscript) -> PageMap:
    """Find where each page of the laid-out print edition begins in the model."""
    from .render import body_start, page_labels

    labels = page_labels(len(document.pages), body_start(document, manuscript))
    anchors: dict[str, str] = {}
    for index, page in enumerate(document.pages):
        for name in page.anchors:  # a box split across pages has its anchor on each: its first page counts
            anchors.setdefault(name, labels[index])
    return labelled(list(enumerate(page_starts(document.pages))), labels, anchors)


def page_starts(pages: list) -> list[PageStart | None]:
    """Where each of `pages` (WeasyPrint pages of one document, in order) begins, as a PageStart with
    its index in `pages` and no label yet; None for a page without chapter content. The parallel
    build (parallel.py) calls this for each part, whose chapters are laid out as in the whole."""
    parents = _parents(pages)
    seen_headers: set = set()
    found: list[PageStart | None] = []
    earlier: list[_Leaf] = []  # the leaves of the pages before this one
    for index, page in enumerate(pages):
        headers: set = set()
        leaves = list(_leaves(page._page_box, seen_headers, headers))
        seen_headers |= headers
        found.append(_page_start(index, "", leaves, earlier, parents))
        earlier.extend(leaves)
    return found


def labelled(found: list[tuple[int, PageStart | None]], labels: list[str], anchors: dict[str, str]) -> PageMap:
    """The page map of the pages `found` ((index in the whole document, its start or None)), labelled."""
    starts: list[PageStart] = []
    skipped: list[str] = []
    for index, start in found:
        if start is None:
            skipped.append(labels[index])
        else:
            starts.append(dataclasses.replace(start, index=index, label=labels[index]))
    return PageMap(starts, skipped, anchors)


@dataclass(frozen=True)
class _Leaf:
    element: etree.Element  # of the print HTML
    letters: int  # letters and digits in its text
    image: bool = False


def _leaves(box: boxes.Box, seen_headers: set, headers: set) -> Iterator[_Leaf]:
    """Text and image boxes of the page's flow, in document order.

    Table header and footer rows already shown on an earlier page are left out;
    the ones on this page are added to `headers`.
    """
    from weasyprint.formatting_structure import boxes

    if isinstance(box, (boxes.MarginBox, boxes.FootnoteAreaBox)) or "::" in (box.element_tag or ""):
        return
    if isinstance(box, boxes.TableRowGroupBox) and (box.is_header or box.is_footer):
        if box.element in seen_headers:
            return
        headers.add(box.element)
    if isinstance(box, boxes.TextBox):
        yield _Leaf(box.element, letters(box.text))
    elif isinstance(box, boxes.ReplacedBox):
        yield _Leaf(box.element, 0, image=True)
    elif isinstance(box, boxes.ParentBox):
        for child in box.children:
            yield from _leaves(child, seen_headers, headers)


def _parents(pages: list) -> dict:
    """Parent of each element of the print HTML, whose root the first page's first box holds."""
    if not pages:
        return {}
    root = pages[0]._page_box.children[0].element
    return {child: parent for parent in root.iter() for child in parent}


def _page_start(index: int, label: str, leaves: list[_Leaf], earlier: list[_Leaf],
                parents: dict) -> PageStart | None:
    for leaf in leaves:
        if not (leaf.letters or leaf.image):
            continue
        chain = _ancestors(leaf.element, parents)  # the element, its parent, ... up to <html>
        section = next((e for e in chain if _local(e) == "section" and "chapter" in e.get("class", "").split()), None)
        if section is None:
            return None
        inside = chain[: chain.index(section)]  # from the element up to the section's child
        if inside:  # text lying loose in the section itself (raw HTML leftovers) has no place to mark
            break
    else:
        return None
    if section[0] is inside[-1]:  # the chapter title
        return PageStart(index, label, section.get("id"), None)
    container = next(e for e in inside if _local(e) in CONTAINERS or e is inside[-1])
    members = set(container.iter())
    offset = sum(leaf.letters for leaf in earlier if leaf.element in members)
    return PageStart(index, label, section.get("id"), _path(container, section, parents), offset)


def _ancestors(element, parents: dict) -> list:
    chain = []
    while element is not None:
        chain.append(element)
        element = parents.get(element)
    return chain


def _path(element, section, parents: dict) -> tuple[int, ...]:
    """Child indexes from the chapter body (the section less its title) down to `element`."""
    path = []
    while element is not section:
        parent = parents[element]
        path.append(list(parent).index(element))
        element = parent
    path[-1] -= 1  # the section's first child is the chapter title, not part of the body
    return tuple(reversed(path))


def _local(element) -> str:
    """'{http://www.w3.org/1999/xhtml}p' -> 'p'."""
    return element.tag.rpartition("}")[2] if isinstance(element.tag, str) else ""


def letters(text: str) -> int:
    """How many letters and digits `text` has, case-folded ('ß' and 'SS' both count 2)."""
    return sum(1 for char in text.casefold() if char.isalnum())


# -- Finding a page start in a chapter body -----------------------------------------------------------

@dataclass(frozen=True)
class Position:
    """A place in an ElementTree: before `element`, or at `index` of its text or tail."""

    element: etree.Element
    slot: str  # "before", "text" or "tail"
    index: int = 0


def mark(body: etree.Element, starts: list[PageStart], marker: Callable[[PageStart], etree.Element],
         skip: Callable[[etree.Element], bool] = lambda element: False) -> None:
    """Insert `marker(start)` where each start falls in `body`, a copy of the chapter body.

    Starts at the chapter title (`path` None) are the caller's to place.
    `skip(element)` marks inline elements whose text the print edition does not
    show in the flow (footnote references): their letters are not counted.
    """
    parents = {child: parent for parent in body.iter() for child in parent}
    # Follow every path before inserting anything: a marker shifts the indexes after it.
    placed = [(start, _follow(body, start.path)) for start in starts if start.path is not None]
    for start, container in placed:
        position = locate(container, start.offset, parents, skip)
        new = marker(start)
        _insert(position, new, parents)
        parents[new] = position.element if position.slot == "text" else parents[position.element]


def locate(container: etree.Element, offset: int, parents: dict,
           skip: Callable[[etree.Element], bool]) -> Position:
    """Where a page starts that begins `offset` letters into `container`."""
    if offset == 0 or _local(container) in HEADINGS:
        return _before(container, parents)
    return _at_letter(container, offset, skip, parents)


def _follow(body: etree.Element, path: tuple[int, ...]) -> etree.Element:
    """The element at `path`, or the deepest one that exists (should layout and model disagree)."""
    element = body
    for index in path:
        if index >= len(element):
            break
        element = element[index]
    return element


def _before(container: etree.Element, parents: dict) -> Position:
    """Before the outermost element that `container` opens, where a phrasing element may go."""
    best = None
    node = container
    while node in parents:
        parent = parents[node]
        if _local(parent) in FLOW:
            best = node
        if parent not in parents or (parent.text or "").strip() or parent[0] is not node:
            break
        node = parent
    return Position(best, "before") if best is not None else Position(container, "text", 0)


def _at_letter(container: etree.Element, offset: int, skip, parents: dict) -> Position:
    """The first word that starts after `offset` letters and digits of `container`."""
    count = 0
    for owner, slot, text in _texts(container, skip):
        for index, char in enumerate(text):
            starts_word = char.isalnum() and (index == 0 or not text[index - 1].isalnum())
            if count >= offset and starts_word:
                return _outside_links(Position(owner, slot, index), container, parents)
            count += letters(char)
    last = container[-1] if len(container) else None  # the print edition had more text: the end
    return Position(last, "tail", len(last.tail or "")) if last is not None else \
        Position(container, "text", len(container.text or ""))


def _texts(element: etree.Element, skip) -> Iterator[tuple[etree.Element, str, str]]:
    """(owner, "text" or "tail", string) in document order, leaving out `skip` elements' content."""
    yield element, "text", element.text or ""
    for child in element:
        if not skip(child):
            yield from _texts(child, skip)
        yield child, "tail", child.tail or ""


def _outside_links(position: Position, container: etree.Element, parents: dict) -> Position:
    """Never inside a link, where a marker would join the link's name: just after the outermost one."""
    node = position.element if position.slot == "text" else parents.get(position.element)
    link = None
    while node is not None and node is not container:
        if _local(node) == "a":
            link = node
        node = parents.get(node)
    return Position(link, "tail", 0) if link is not None else position


def _insert(position: Position, marker: etree.Element, parents: dict) -> None:
    element = position.element
    if position.slot == "text":
        text = element.text or ""
        element.text, marker.tail = text[: position.index] or None, text[position.index:] or None
        element.insert(0, marker)
        return
    parent = parents[element]
    at = list(parent).index(element)
    if position.slot == "tail":
        tail = element.tail or ""
        element.tail, marker.tail = tail[: position.index] or None, tail[position.index:] or None
        parent.insert(at + 1, marker)
    else:
        parent.insert(at, marker)
