"""Parallel rendering of the PDF: the print document split into parts, laid out by several processes.

WeasyPrint lays out one document on one core. A report is a series of parts that each begin
on a new page: the opening (cover, imprint, contents), each front-matter chapter, each chapter
and each appendix. Each part is rendered here as a document of its own, in a process pool,
and `stitch.py` joins the part PDFs into one. What ties the parts together is the page numbers:

- **Where a part starts.** Its folios continue from the part before, and its first page is a
  left- or right-hand page, which decides its margins and running heads. The part's HTML says
  so in a few lines of CSS appended to its stylesheet (`_part_css`): `html { break-before:
  left }` makes WeasyPrint's first page a left-hand one, `@page :first { counter-reset: page N }`
  starts its folios at N.
- **Blank pages.** A part whose opening must be on a right-hand page (the first chapter, with
  `break-before: right`) after a part ending on a right-hand page needs the blank page WeasyPrint
  leaves in the single pass. It is rendered with a *lead*: the element before it in the
  document, made an empty block that ends with a page break, on a page of the previous part's
  side. WeasyPrint then leaves the blank page itself (with the furniture `@page :blank` gives
  it), and `stitch.drop_first_page` removes the lead page.
- **Page references.** The contents, cross-references "(page 12)" and the places appendix use
  `target-counter(attr(href url), page)`, which can only see targets in the same document. In
  the parts, the stylesheet says `attr(data-br-page-decimal)` instead (`Plan.css`), and every
  internal link carries the number of its target's page as that attribute, known from an
  earlier pass (`_numbered`). The same attribute serves every link, in this part or another.
  WeasyPrint's own repagination for `target-counter` (the costliest part of its layout for a
  report with a contents page) is gone too.
- **Links to other parts** are named destinations (`/Dest (name)`), as in the single pass:
  WeasyPrint drops a link whose anchor it cannot see, so the worker declares the missing
  anchors on the part's first page before writing (`_declare_elsewhere`), and the stitched
  document's name tree resolves them to the real pages.

Page numbers are found by iteration (`write`). A *layout* (`Layout`) records, for each
part, how many pages it has, on which of its pages each anchor is, and how its first element
breaks (`break-before`). From a layout, every part's inputs follow: its starting side and
folio, its lead, the numbers of its links. Parts whose inputs differ from those they were
rendered with are rendered again, until the layout no longer changes (at most `MAX_PASSES`).
The first layout comes from the previous build (the cache's memo); a cold build first
*measures* every part (layout only, no PDF) and then renders each with its true inputs. A part
whose page count depends on the digits of its own numbers could in principle oscillate; after
`MAX_PASSES` the build falls back to the single pass.

Each worker renders, writes with `tagging.element_keys`, corrects with `tagging.correct` and, for
a lead, drops the first page: the whole finish stage but the PDF/UA check is parallel. The
parent stitches the parts, adding the page labels, document info and /Lang that
`writers.pdf.finish` has WeasyPrint write (`writers.pdf.describe`), then `writers.pdf.complete`
runs the PDF/UA-1 checks on the stitched file and keeps the claim only if they pass, as for the
single pass.

**The cache** (`PartStore`, `build/.cache/parts/`) keeps each rendered part: the PDF, its page
count, anchors, the numbers it printed, its warnings and the files WeasyPrint read for it. Its key
is a hash of the part's HTML (its styles included) without the numbers, with its start, plus the
build cache's stamp (`cache.stamp()`: build_report's version and code, the libraries' versions, the
hash of every packaged font file) and pikepdf's version. An entry is used when, in addition, the
numbers it printed are the numbers it would print now (so a new page for a figure nobody refers to
by page re-renders nothing) and every file it read still has the same hash (an edited image). A
memo per document remembers the last layout, so a rebuild starts from the right numbers.

Limits (the single pass is used instead, `Plan.blocker`): styles that count pages across the
document (`counter(pages)`, `@page :nth(N)`, `@page :first`), page references other than
`target-counter(attr(href url), page[, decimal|lower-roman|upper-roman])`, `target-text`,
running elements, drafts of one chapter and the press edition. A stylesheet whose left and
right pages have text blocks of different widths still works, as every part is rendered on its
own side. docs/parallel.md explains the design and the measurements.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import hashlib
import html as html_module
import io
import json
import multiprocessing
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from . import __version__
from .diagnostics import Diagnostic, Diagnostics, RenderError
from .model import Location, Manuscript, Options

if TYPE_CHECKING:
    from .build import Build
    from .pagemap import PageMap
    from .pdfua import PageMemo

MAX_PASSES = 4  # renders of a part's inputs before the build gives up and falls back to the single pass
CACHE_LIMIT = 256 * 1024 * 1024  # bytes of part PDFs kept; the least recently used go first
SIDE_BREAKS = {"left": "left", "right": "right", "recto": "right", "verso": "left"}  # left-to-right documents
STYLES = ("decimal", "lower-roman", "upper-roman")  # the counter styles of page references a part can print
PLACEHOLDER = 88  # the page number printed before any is known (a measuring pass only)

# Markers in templates/pdf/print.html.j2 around each top-level element and each of the two wrappers.
_MARKER = re.compile(r"<!--(wrap[^>]*|endwrap|part|end)-->")
_OPEN_TAG = re.compile(r"\s*<([a-zA-Z][\w-]*)([^>]*)>")
_ID_ATTR = re.compile(r"""\s(?:id|aria-labelledby)="[^"]*\"""")
_PAGE_REF = re.compile(r"target-counter\(\s*attr\(\s*href\s+url\s*\)\s*,\s*page\s*(?:,\s*([a-z-]+)\s*)?\)")
_LINK = re.compile(r'<a\b([^>]*?)\bhref="#([^"]*)"')
# Styles a part cannot render as the whole document would (each one makes the build use the single pass).
_BLOCKERS = [
    (re.compile(r"target-(?:counter|counters|text)\s*\("),
     "page references other than target-counter(attr(href url), page)"),
    (re.compile(r"counters?\(\s*pages\b"), "counter(pages)"),
    (re.compile(r"@page[^{;]*:first\b"), "@page :first"),
    (re.compile(r"@page[^{;]*:nth\((?![^)]*\bof\b)"), "@page :nth() without 'of'"),
    (re.compile(r"running\s*\("), "running elements"),
]
# An element made the lead of a part: an empty block of no height that ends its page.
_LEAD_STYLE = ("display:block!important;position:static!important;float:none!important;height:0!important;"
               "min-height:0!important;max-height:0!important;margin:0!important;padding:0!important;"
               "border:0!important;break-before:auto!important;break-after:page!important;"
               "string-set:none!important;bookmark-level:none!important;overflow:hidden!important;"
               "background:none!important")
_STUB_ATTRS = ' hidden style="display:none!important"'


# -- Splitting the print document --------------------------------------------------------------

@dataclass(frozen=True)
class Item:
    """A top-level element of the print document: a slice of its HTML."""

    wrapper: int  # which wrapper holds it: 0 the front matter, 1 the body
    html: str  # the element, from its opening tag to its closing tag
    tag: str
    attrs: str  # the opening tag's attributes, as written
    ident: str  # its id, else its first class ("cover", "imprint")
    front_chapter: bool  # a front-matter chapter (a part of its own) rather than the opening

    def stub(self) -> str:
        """The element as a hidden empty sibling: selectors such as `:first-child` see what they see in the
        whole document, and it makes no box, no page and no tag."""
        return f"<{self.tag}{_STUB_ATTRS}{_ID_ATTR.sub('', self.attrs)}></{self.tag}>"

    def lead(self) -> str:
        """The element as the lead of the part after it (see the module docstring)."""
        return f'<{self.tag} data-br-lead style="{_LEAD_STYLE}"{_ID_ATTR.sub("", self.attrs)}></{self.tag}>'


@dataclass(frozen=True)
class Part:
    """One document of the parallel build: consecutive items of one wrapper."""

    name: str  # "opening", or the chapter's id
    items: tuple[int, ...]  # indexes into Plan.items
    first_id: str  # the id of its first element ("" for the opening, which starts the document)


@dataclass(frozen=True)
class Wrapper:
    open: str  # from the wrapper's marker to its first item: `<div class="frontmatter">\n`
    close: str  # after its last item: `\n</div>`
    open_tag: str  # `<div class="frontmatter">`
    tag: str
    attrs: str

    def stub(self) -> str:
        return f"<{self.tag}{_STUB_ATTRS}{self.attrs}></{self.tag}>"

    def lead(self) -> str:
        return f'<{self.tag} data-br-lead style="{_LEAD_STYLE}"{self.attrs}></{self.tag}>'


class Unsupported(Exception):
    """The document cannot be built in parts; the message says why (shown at -v)."""


@dataclass
class Plan:
    """The print HTML cut into parts, and how to write each part's HTML for a layout."""

    head: str  # up to the stylesheet's text
    css: str  # the stylesheet, page references rewritten (see module docstring)
    styles: tuple[str, ...]  # the counter styles page references print in
    middle: str  # from the end of the stylesheet to the first wrapper
    between: str  # between the two wrappers
    tail: str  # after the second wrapper
    wrappers: tuple[Wrapper, Wrapper]
    items: list[Item]
    separators: list[list[str]]  # per wrapper, the text between consecutive items
    parts: list[Part]
    first_body: str  # the id of the first chapter of the body: page 1 (render.body_start's rule)

    @classmethod
    def split(cls, html: str, manuscript: Manuscript) -> Plan:
        """Cut `html` (assemble.print_html) at the template's markers; `Unsupported` when it cannot be."""
        style_at, style_end = html.find("<style>"), html.find("</style>")
        if style_at < 0 or style_end < style_at:
            raise Unsupported("the print HTML has no stylesheet where expected")
        css_start = style_at + len("<style>")
        css, styles = _rewrite_page_refs(html[css_start:style_end])
        markers = list(_MARKER.finditer(html, style_end))
        kinds = [m.group(1).split()[0] for m in markers]
        if kinds.count("wrap") != 2 or kinds.count("endwrap") != 2:
            raise Unsupported("the print HTML has no parts marked (templates/pdf/print.html.j2)")
        wrappers: list[Wrapper] = []
        items: list[Item] = []
        separators: list[list[str]] = []
        bounds: list[tuple[int, int]] = []  # where each wrapper starts and ends in html
        index = 0
        while index < len(markers):
            marker = markers[index]
            if kinds[index] != "wrap":
                raise Unsupported(f"unexpected marker <!--{marker.group(1)}--> in the print HTML")
            wrapper_index = len(wrappers)
            index += 1
            seps: list[str] = []
            position = marker.end()
            open_text: str | None = None
            while kinds[index] == "part":
                if open_text is None:
                    open_text = html[position:markers[index].start()]
                else:
                    seps.append(html[position:markers[index].start()])
                if kinds[index + 1] != "end":
                    raise Unsupported("an unclosed part in the print HTML")
                element = html[markers[index].end():markers[index + 1].start()]
                items.append(_item(element, wrapper_index))
                position = markers[index + 1].end()
                index += 2
            if kinds[index] != "endwrap":
                raise Unsupported("an unclosed wrapper in the print HTML")
            if open_text is None:  # an empty wrapper: everything up to its end is the opening
                open_text, close_text = html[position:markers[index].start()], ""
            else:
                close_text = html[position:markers[index].start()]
            tag_match = _OPEN_TAG.match(open_text)
            if tag_match is None:
                raise Unsupported("a wrapper without an element in the print HTML")
            wrappers.append(Wrapper(open_text, close_text, tag_match.group(0).strip(), tag_match.group(1),
                                    tag_match.group(2)))
            separators.append(seps)
            bounds.append((marker.start(), markers[index].end()))
            index += 1
        if len(wrappers) != 2:
            raise Unsupported("the print HTML must have two wrappers")
        plan = cls(head=html[:css_start], css=css, styles=styles, middle=html[style_end:bounds[0][0]],
                   between=html[bounds[0][1]:bounds[1][0]], tail=html[bounds[1][1]:],
                   wrappers=(wrappers[0], wrappers[1]), items=items, separators=separators, parts=[],
                   first_body=next((c.id for c in manuscript.chapters if c.kind != "front"), ""))
        plan.parts = plan._parts()
        return plan

    def _parts(self) -> list[Part]:
        parts: list[Part] = []
        opening = tuple(i for i, item in enumerate(self.items) if item.wrapper == 0 and not item.front_chapter)
        if opening:
            parts.append(Part("opening", opening, ""))
        for index, item in enumerate(self.items):
            if item.wrapper == 1 or item.front_chapter:
                if not item.ident:
                    raise Unsupported("a chapter without an id in the print HTML")
                parts.append(Part(item.ident, (index,), item.ident))
        if opening and opening != tuple(range(len(opening))):
            raise Unsupported("the opening of the print HTML is not at its start")
        return parts

    def blocker(self) -> str | None:
        """Why these styles cannot be rendered in parts, or None."""
        for pattern, what in _BLOCKERS:
            if pattern.search(self.css):
                return f"the styles use {what}"
        return None

    def html(self, part: Part, inputs: PartInputs, numbers: dict[str, int] | None) -> str:
        """The part's HTML: the whole document's, with the other parts' elements as hidden stubs,
        the part's CSS (its start) appended, and its links numbered (`numbers`: target -> page counter)."""
        chosen = set(part.items)
        first = part.items[0]
        lead_at = first - 1 if inputs.lead else None  # the element before the part leads it...
        out = [self.head, self.css, _part_css(inputs), self.middle]
        for wrapper_index, wrapper in enumerate(self.wrappers):
            members = [i for i, item in enumerate(self.items) if item.wrapper == wrapper_index]
            if wrapper_index:
                out.append(self.between)
            if not chosen & set(members):
                # ...or, when the part is the first of its wrapper, the wrapper before it.
                is_lead = lead_at is not None and lead_at in members and first not in members
                out.append(wrapper.lead() if is_lead else wrapper.stub())
                continue
            out.append(wrapper.open)
            for position, index in enumerate(members):
                if position:
                    out.append(self.separators[wrapper_index][position - 1])
                item = self.items[index]
                if index in chosen:
                    out.append(_mark_first(item.html) if index == first else item.html)
                elif index == lead_at:
                    out.append(item.lead())
                else:
                    out.append(item.stub())
            out.append(wrapper.close)
        out.append(self.tail)
        text = "".join(out)
        return _numbered(text, self.styles, numbers)


def _item(element: str, wrapper: int) -> Item:
    match = _OPEN_TAG.match(element)
    if match is None:
        raise Unsupported("a part without an element in the print HTML")
    attrs = match.group(2)
    ident = re.search(r'\sid="([^"]*)"', attrs)
    found = re.search(r'\sclass="([^"]*)"', attrs)
    classes = found.group(1) if found else ""
    name = html_module.unescape(ident.group(1)) if ident else (classes.split() or [""])[0]
    return Item(wrapper, element.strip(), match.group(1), attrs, name,
                front_chapter=wrapper == 0 and "chapter" in classes.split())


def _mark_first(element: str) -> str:
    """The first element of a part carries `data-br-part`, so the worker finds its box (`break-before`)."""
    match = _OPEN_TAG.match(element)
    assert match is not None
    return f"<{match.group(1)} data-br-part{element[match.end(1):]}"


def _rewrite_page_refs(css: str) -> tuple[str, tuple[str, ...]]:
    """The stylesheet with each `target-counter(attr(href url), page[, style])` replaced by
    `attr(data-br-page-<style>)`; and the styles used."""
    styles: list[str] = []

    def replace(match: re.Match) -> str:
        style = match.group(1) or "decimal"
        if style not in STYLES:
            return match.group(0)  # left as it is: Plan.blocker refuses it
        if style not in styles:
            styles.append(style)
        return f"attr(data-br-page-{style})"

    return _PAGE_REF.sub(replace, css), tuple(styles)


def _numbered(html: str, styles: tuple[str, ...], numbers: dict[str, int] | None) -> str:
    """Every internal link with the page counter of its target, in each style the styles print."""
    if not styles:
        return html

    def add(match: re.Match) -> str:
        target = unquote(html_module.unescape(match.group(2)))
        value = PLACEHOLDER if numbers is None else numbers.get(target, PLACEHOLDER)
        attrs = "".join(f' data-br-page-{style}="{format_counter(value, style)}"' for style in styles)
        return f"<a{attrs}{match.group(1)} href=\"#{match.group(2)}\""

    return _LINK.sub(add, html)


def format_counter(value: int, style: str) -> str:
    """A page counter as CSS prints it in `style` (render.roman's numerals; here too so that a build whose
    parts all come from the cache never imports WeasyPrint)."""
    if style in ("lower-roman", "upper-roman") and 0 < value < 4000:
        numerals = ""
        for amount, numeral in ((1000, "m"), (900, "cm"), (500, "d"), (400, "cd"), (100, "c"), (90, "xc"),
                                (50, "l"), (40, "xl"), (10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i")):
            count, value = divmod(value, amount)
            numerals += numeral * count
        return numerals.upper() if style == "upper-roman" else numerals
    return str(value)


# -- A part's inputs, from a layout --------------------------------------------------------------

@dataclass(frozen=True)
class PartInputs:
    """What a part's rendering depends on besides its HTML: where it starts."""

    right: bool  # its first page (the lead's, if any) is a right-hand page
    counter: int  # the page counter of that first page
    lead: bool  # rendered after a lead page, so that WeasyPrint leaves the blank page before it


def _part_css(inputs: PartInputs) -> str:
    side = "right" if inputs.right else "left"
    return (f"\n/* build-report parallel part */\nhtml {{ break-before: {side} !important; }}\n"
            f"@page :first {{ counter-reset: page {inputs.counter}; }}\n")


@dataclass(frozen=True)
class Measure:
    """What the layout of one part says about the whole document."""

    pages: int  # pages of the part, from its opening (a blank page before it not counted)
    anchors: dict[str, int]  # anchor -> page of the part (0: its opening page)
    brk: str  # the computed `break-before` of its first element


@dataclass
class Layout:
    """The page numbers of the whole document, from a measure of every part."""

    measures: list[Measure]
    plan: Plan

    def __post_init__(self) -> None:
        self.starts: list[int] = []  # where each part starts (its blank page, if any)
        self.blanks: list[int] = []
        index = 0
        for number, measure in enumerate(self.measures):
            blank = 0
            side = SIDE_BREAKS.get(measure.brk)
            if number and side is not None and _side(index) != side:
                blank = 1
            self.starts.append(index)
            self.blanks.append(blank)
            index += blank + measure.pages
        self.total = index
        self.anchor_pages: dict[str, int] = {}
        for number, measure in enumerate(self.measures):
            opening = self.starts[number] + self.blanks[number]
            for name, page in measure.anchors.items():
                self.anchor_pages.setdefault(name, opening + page)
        first = self.anchor_pages.get(self.plan.first_body) if self.plan.first_body else None
        self.body_start = first or 0

    def counter(self, index: int) -> int:
        """The page counter of page `index`: i, ii... in the front matter, from 1 again at the body."""
        return index + 1 if index < self.body_start or not self.body_start else index - self.body_start + 1

    def numbers(self) -> dict[str, int]:
        return {name: self.counter(page) for name, page in self.anchor_pages.items()}

    def inputs(self, number: int) -> PartInputs:
        start, lead = self.starts[number], bool(self.blanks[number])
        first = start - 1 if lead else start
        return PartInputs(right=_side(first) == "right", counter=self.counter(first), lead=lead)


def _side(index: int) -> str:
    return "right" if index % 2 == 0 else "left"


# -- Rendering a part (in a worker process) ------------------------------------------------------

@dataclass(frozen=True)
class Job:
    """One part to render: everything a worker needs, picklable."""

    index: int  # the part's number in the plan
    name: str
    key: str  # the part's cache key (PartStore.key)
    html: str
    base_url: str
    roots: tuple[Path, ...]  # what the fetcher may read: the manuscript, the styles, the fonts
    options: Options
    theme: str
    lead: bool
    measure: bool  # only lay out: pages and anchors, no PDF


@dataclass
class Rendered:
    """A rendered part: its PDF (None for a measure) and what the layout says."""

    index: int
    key: str
    measure: Measure
    pdf: bytes | None
    numbers: dict[str, str]  # "target style" -> the page number printed for it
    diagnostics: list[tuple[str, str, int, str]]  # (severity, path, line, message)
    files: dict[str, str]  # the files WeasyPrint read -> their hash (file_digest)
    starts: list = dataclasses.field(default_factory=list)  # where each page begins (page_starts), as JSON
    walked: dict = dataclasses.field(default_factory=dict)  # its pages as the PDF/UA-1 checks walk them (PageMemo)
    seconds: float = 0.0
    cached: bool = False  # found in the cache, not rendered by this build


_FONT_CONFIG: Any = None  # one FontConfiguration per worker: WeasyPrint then loads the @font-face files once


def render_part(job: Job) -> Rendered:
    """Lay out one part with WeasyPrint; unless measuring, write and correct its PDF (tagging.py)."""
    import weasyprint
    from weasyprint.text.fonts import FontConfiguration

    from . import render, stitch, tagging
    from .writers.pdf import PDF_VARIANT

    global _FONT_CONFIG
    if _FONT_CONFIG is None:
        _FONT_CONFIG = FontConfiguration()
    started = time.perf_counter()
    diagnostics = Diagnostics()
    fetcher = _recording_fetcher(list(job.roots))
    with render.collect_warnings(diagnostics, job.options, job.theme):
        try:
            document = weasyprint.HTML(string=job.html, base_url=job.base_url, url_fetcher=fetcher).render(
                dpi=None if job.options.press else render.SCREEN_DPI, font_config=_FONT_CONFIG)
        except Exception as exc:  # WeasyPrint's own failures are not the author's
            raise RenderError(f"the PDF could not be laid out: {exc}") from exc
    if fetcher.refused:
        raise RenderError("refused to read " + "; ".join(dict.fromkeys(fetcher.refused)))
    kept = document.pages[1:] if job.lead else document.pages
    opening = 0  # the part's first page, after a blank page WeasyPrint left before it
    first = _first_box(kept)
    brk = "page" if first is None else str(first[1].style["break_before"])
    if first is not None:
        opening = first[0]
    anchors: dict[str, int] = {}
    for index, page in enumerate(kept):
        for name in page.anchors:
            anchors.setdefault(name, index - opening)
    numbers = _printed_numbers(kept)
    pdf = None
    starts: list = []
    walked: dict = {}
    if not job.measure:
        from .pagemap import page_starts

        starts = [None if start is None else [start.chapter_id, None if start.path is None else list(start.path),
                                              start.offset] for start in page_starts(kept)]
        _declare_elsewhere(document, kept)
        with render.collect_warnings(diagnostics, job.options, job.theme):
            with tagging.element_keys() as learnt:
                written = document.write_pdf(pdf_variant=PDF_VARIANT, uncompressed_pdf=False)
            pdf = tagging.correct(written, learnt)
        if job.lead:
            pdf = stitch.drop_first_page(pdf)
        walked = _walk(pdf)
    measure = Measure(len(kept) - opening, anchors, brk)
    return Rendered(job.index, job.key, measure, pdf, numbers,
                    [(d.severity, d.location.path, d.location.line, d.message) for d in diagnostics.items],
                    fetcher.hashes(), starts, walked, time.perf_counter() - started)


def _walk(pdf: bytes) -> dict:
    """The part's pages as the PDF/UA-1 checks walk them (pdfua.PageMemo's entries), walked here in the
    worker so that the stitched file's check, in the parent, need not walk them again."""
    import pikepdf

    from .pdfua import Document, PageMemo

    memo = PageMemo()
    with pikepdf.open(io.BytesIO(pdf)) as part:
        Document(part, memo).content  # noqa: B018 - the walk fills the memo
    return memo.entries


def _first_box(pages: list) -> tuple[int, Any] | None:
    """(page index, box) of the part's first element (`data-br-part`), where it starts."""
    for index, page in enumerate(pages):
        for box in page._page_box.descendants():
            element = getattr(box, "element", None)
            if element is not None and element.get("data-br-part") is not None:
                return index, box
    return None


def _printed_numbers(pages: list) -> dict[str, str]:
    """Which page numbers the part printed (`attr(data-br-page-…)` in generated content), for which
    targets: the only numbers its rendering depends on."""
    printed: dict[str, str] = {}
    seen: set[int] = set()
    for page in pages:
        for box in page._page_box.descendants():
            element = getattr(box, "element", None)
            if element is None or id(element) in seen or element.get("href", "")[:1] != "#":
                continue
            tag = str(getattr(box, "element_tag", ""))
            if "::" not in tag:
                continue
            for kind, value in box.style["content"] if isinstance(box.style["content"], (list, tuple)) else ():
                if kind == "attr()" and str(value[0]).startswith("data-br-page-"):
                    seen.add(id(element))
                    style = str(value[0])[len("data-br-page-"):]
                    target = unquote(element.get("href")[1:])
                    printed[f"{target} {style}"] = element.get(str(value[0]), "")
    return printed


def _declare_elsewhere(document: Any, kept: list) -> None:
    """Links to anchors in other parts are kept as named destinations: WeasyPrint drops a link whose
    anchor is not in the document, so each missing anchor is declared on the part's first page.
    `stitch` keeps only the part's own destinations, and the stitched name tree resolves the others."""
    known = {name for page in document.pages for name in page.anchors}
    missing = {target for page in document.pages for kind, target, _, _ in page.links
               if kind == "internal" and target not in known}
    for name in sorted(missing):
        kept[0].anchors[name] = (0, 0, 0, 0)


def _recording_fetcher(roots: list[Path]) -> Any:
    """render.ManuscriptFetcher, remembering the files it read (their hashes validate a cached part)."""
    from . import confine
    from .render import ManuscriptFetcher

    class Recording(ManuscriptFetcher):
        def __init__(self, roots: list[Path]):
            super().__init__(roots)
            self.read: set[Path] = set()

        def fetch(self, url, headers=None):
            response = super().fetch(url, headers)
            with contextlib.suppress(confine.Outside):
                path = confine.local_path(url, self.roots)
                if path is not None:
                    self.read.add(path)
            return response

        def hashes(self) -> dict[str, str]:
            return {str(path): file_digest(path) for path in sorted(self.read)}

    return Recording(roots)


def file_digest(path: Path) -> str:
    """A file's hash as the build cache takes it (cache.file_digest: a large file by its size and times)."""
    from . import cache

    return cache.file_digest(path)


# -- The pool ------------------------------------------------------------------------------------

def _worker_start(temp: str) -> None:
    """In each worker: Ctrl-C is the parent's to handle (it stops the workers); SIGTERM and SIGHUP,
    which the parent sends to stop them, end the worker through Python, so that WeasyPrint's font
    folder is removed (multiprocessing runs the finalizer below at the worker's exit). Temporary
    files go to `temp`, the pool's own folder, which the parent removes once its workers are gone,
    however they ended (a worker killed after the grace period runs no finalizer)."""
    import signal
    import tempfile
    from multiprocessing import util

    tempfile.tempdir = temp

    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), stop)
    util.Finalize(None, _drop_font_config, exitpriority=10)


def _drop_font_config() -> None:
    global _FONT_CONFIG
    config, _FONT_CONFIG = _FONT_CONFIG, None
    folder = getattr(config, "_folder", None)
    if folder:
        import shutil

        shutil.rmtree(folder, ignore_errors=True)


class Pool:
    """A process pool of `size` workers, started on first use (a build that finds every part in the
    cache starts none). Forked where the platform allows, after WeasyPrint is imported, so that each
    worker starts at once with what the parent loaded."""

    def __init__(self, size: int):
        self.size = size
        self._executor: concurrent.futures.ProcessPoolExecutor | None = None
        self._temp = ""  # the workers' temporary folder (WeasyPrint's font folders go there)

    def run(self, jobs: list[Job], done: Callable[[Rendered], None]) -> None:
        """Render `jobs` (longest first, for an even load), calling `done` with each result as it comes."""
        if not jobs:
            return
        if self._executor is None:
            import weasyprint  # noqa: F401 - loaded once in the parent, then shared by every forked worker

            from . import stitch, tagging  # noqa: F401

            methods = multiprocessing.get_all_start_methods()
            context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
            self._temp = tempfile.mkdtemp(prefix="build-report-workers-")
            self._executor = concurrent.futures.ProcessPoolExecutor(
                max_workers=self.size, mp_context=context, initializer=_worker_start, initargs=(self._temp,))
        futures = [self._executor.submit(render_part, job) for job in sorted(jobs, key=lambda j: -len(j.html))]
        for future in concurrent.futures.as_completed(futures):
            done(future.result())

    def close(self, stopped: bool = False) -> None:
        """Shut the workers down; when `stopped` (an error, Ctrl-C), at once: what they were doing is lost."""
        executor, self._executor = self._executor, None
        if executor is None:
            return
        try:
            self._stop(executor, stopped)
        finally:
            temp, self._temp = self._temp, ""
            shutil.rmtree(temp, ignore_errors=True)

    @staticmethod
    def _stop(executor: concurrent.futures.ProcessPoolExecutor, stopped: bool) -> None:
        processes = list(getattr(executor, "_processes", {}).values())
        executor.shutdown(wait=not stopped, cancel_futures=True)
        if stopped:
            import signal

            for process in processes:
                with contextlib.suppress(OSError, ValueError):
                    os.kill(process.pid, signal.SIGTERM)
            deadline = time.monotonic() + 10
            for process in processes:
                process.join(max(0.0, deadline - time.monotonic()))
                if process.is_alive():
                    process.kill()
                    process.join()


# -- The cache of parts ----------------------------------------------------------------------------

def environment() -> str:
    """What every part's key holds besides its HTML: the build cache's stamp (cache.py: build_report's
    version and code, the libraries' versions, the hash of every packaged font file) and pikepdf's
    version, which writes the corrected part."""
    from importlib import metadata

    from . import cache

    try:
        pikepdf_version = metadata.version("pikepdf")
    except metadata.PackageNotFoundError:
        pikepdf_version = "none"
    return cache.digest(cache.stamp(), f"pikepdf={pikepdf_version}", __version__)


class PartStore:
    """Rendered parts in `folder` (build/.cache/parts): `<key>.pdf`, and `<key>.json` for what the
    layout said, the numbers printed, the warnings and the files read. Written atomically; an entry
    that cannot be read, or whose PDF is not the one its JSON names, is ignored, never an error."""

    def __init__(self, folder: Path, environment: str):
        self.folder = folder
        self.environment = environment
        self.pending: dict[str, Rendered] = {}
        self._programs: dict[str, bytes] = {}

    def key(self, base_html: str, options: Options) -> str:
        from . import cache

        # The styles folder's path too: the renderer's warnings kept with a part name its files.
        return cache.digest(self.environment, "part", str(options.press), str(options.styles.resolve()), base_html)

    def get(self, key: str, numbers: dict[str, int]) -> Rendered | None:
        if key in self.pending:
            found = self.pending[key]
            return found if _printed_match(found, numbers) else None
        try:
            meta = json.loads((self.folder / f"{key}.json").read_text(encoding="utf-8"))
            rendered = Rendered(index=-1, key=key, measure=Measure(int(meta["pages"]), dict(meta["anchors"]),
                                                                   str(meta["brk"])),
                                pdf=None, numbers=dict(meta["numbers"]),
                                diagnostics=[(str(a), str(b), int(c), str(d)) for a, b, c, d in meta["diagnostics"]],
                                files=dict(meta["files"]), starts=list(meta["starts"]),
                                walked=dict(meta["walked"]), cached=True)
            if not _printed_match(rendered, numbers) or not _files_unchanged(rendered.files):
                return None
            pdf = (self.folder / f"{key}.pdf").read_bytes()
            if hashlib.sha256(pdf).hexdigest() != meta["sha256"]:
                return None
        except (OSError, ValueError, KeyError, TypeError):
            return None
        rendered.pdf = pdf
        now = time.time()
        for suffix in (".json", ".pdf"):
            with contextlib.suppress(OSError):
                os.utime(self.folder / f"{key}{suffix}", (now, now))  # recently used: kept longest
        return rendered

    def put(self, rendered: Rendered) -> None:
        if rendered.pdf is not None:
            self.pending[rendered.key] = rendered

    def programs(self) -> FontPrograms:
        """Merged font programs (stitch.merge_fonts), kept beside the parts; written by `commit`."""
        return FontPrograms(self.folder, self._programs)

    def commit(self) -> None:
        """Write the parts rendered by this build (once it has succeeded), then keep the cache under
        CACHE_LIMIT bytes, dropping the least recently used entries."""
        for key, rendered in self.pending.items():
            assert rendered.pdf is not None
            meta = {"pages": rendered.measure.pages, "anchors": rendered.measure.anchors, "brk": rendered.measure.brk,
                    "numbers": rendered.numbers, "diagnostics": rendered.diagnostics, "files": rendered.files,
                    "starts": rendered.starts, "walked": rendered.walked,
                    "sha256": hashlib.sha256(rendered.pdf).hexdigest()}
            # The PDF first: a JSON always names a PDF that is there (or the entry is ignored).
            if _write(self.folder / f"{key}.pdf", rendered.pdf):
                _write(self.folder / f"{key}.json", json.dumps(meta, sort_keys=True).encode("utf-8"))
        self.pending.clear()
        for key, program in self._programs.items():
            _write(self.folder / f"font-{key}.bin", hashlib.sha256(program).digest() + program)
        self._programs.clear()
        self.prune()

    def prune(self, limit: int = CACHE_LIMIT) -> None:
        """Keep the most recently used parts and font programs up to `limit` bytes."""
        try:
            entries = sorted(((path.stat().st_mtime, path) for pattern in ("*.pdf", "font-*.bin")
                              for path in self.folder.glob(pattern)), reverse=True)
        except OSError:
            return
        total = 0
        for _, path in entries:
            with contextlib.suppress(OSError):
                total += path.stat().st_size
                if total > limit:
                    if path.suffix == ".pdf":
                        path.with_suffix(".json").unlink(missing_ok=True)
                    path.unlink(missing_ok=True)


    def memo(self, document: str) -> dict[str, Measure]:
        """The layout of the previous build of this document: part name -> measure."""
        try:
            data = json.loads((self.folder / f"memo-{document}.json").read_text(encoding="utf-8"))
            return {name: Measure(int(m["pages"]), dict(m["anchors"]), str(m["brk"])) for name, m in data.items()}
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return {}

    def remember(self, document: str, measures: dict[str, Measure], walked: PageMemo | None = None) -> None:
        data = {name: dataclasses.asdict(measure) for name, measure in measures.items()}
        _write(self.folder / f"memo-{document}.json", json.dumps(data, sort_keys=True).encode("utf-8"))
        if walked is not None:
            _write(self.folder / f"walked-{document}.json", json.dumps(walked.kept(), sort_keys=True).encode("utf-8"))

    def walked(self, document: str) -> PageMemo:
        """The pages of this document that the last PDF/UA-1 check walked (pdfua.PageMemo); a memo that
        cannot be read is an empty one."""
        from .pdfua import PageMemo

        try:
            data = json.loads((self.folder / f"walked-{document}.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}
        return PageMemo(data if isinstance(data, dict) else {})


class FontPrograms:
    """stitch.Programs in the cache folder: `font-<key>.bin`, the SHA-256 of the merged program of a font's
    subsets, then the program (an empty program: they could not be merged)."""

    def __init__(self, folder: Path, pending: dict[str, bytes]):
        self.folder = folder
        self.pending = pending

    def get(self, key: str) -> bytes | None:
        if key in self.pending:
            return self.pending[key]
        path = self.folder / f"font-{key}.bin"
        try:
            data = path.read_bytes()
            now = time.time()
            os.utime(path, (now, now))
        except OSError:
            return None
        digest, program = data[:32], data[32:]  # a damaged entry is a miss
        return program if hashlib.sha256(program).digest() == digest else None

    def __setitem__(self, key: str, value: bytes) -> None:
        self.pending[key] = value


def _write(path: Path, data: bytes) -> bool:
    """Atomically (output.write_atomic); False, with nothing written, on failure: the cache only ever
    saves time."""
    from .output import write_atomic

    try:
        write_atomic(path, data)
    except OSError:
        return False
    return True


def _printed_match(rendered: Rendered, numbers: dict[str, int]) -> bool:
    """Whether the part printed the page numbers it would print now."""
    for entry, value in rendered.numbers.items():
        target, _, style = entry.rpartition(" ")
        if format_counter(numbers.get(target, PLACEHOLDER), style) != value:
            return False
    return True


def _files_unchanged(files: dict[str, str]) -> bool:
    try:
        return all(file_digest(Path(path)) == digest for path, digest in files.items())
    except OSError:
        return False


# -- The build ----------------------------------------------------------------------------------

def write(build: Build, jobs: int) -> bytes | None:
    """The finished PDF of `build`, rendered in parts by `jobs` processes and stitched; None when the
    document cannot be built in parts (the caller then uses the single pass; -v says why)."""
    from . import cache, stitch
    from .writers.pdf import complete, describe

    manuscript, options = build.manuscript, build.options
    html = build.html()
    try:
        plan = Plan.split(html, manuscript)
        reason = plan.blocker() or (None if len(plan.parts) > 1 else "the document has one part")
    except Unsupported as exc:
        reason = str(exc)
    if options.only or options.press:
        reason = "a draft of one chapter and the press edition are rendered in one pass"
    if reason:
        _note(build, f"one pass: {reason}")
        return None
    from .fonts import font_dirs

    store = PartStore(cache.folder() / "parts", environment()) if cache.enabled() else None
    document = cache.digest(str(manuscript.root.resolve()), str(options.styles.resolve()), str(options.draft),
                            str(options.press)) if store else ""
    base = Job(index=0, name="", key="", html="", base_url=str(manuscript.root),
               roots=(manuscript.root, options.styles, *font_dirs()), options=options,
               theme=manuscript.report.theme, lead=False, measure=False)
    memo = store.memo(document) if store else {}
    measures: list[Measure | None] = [memo.get(part.name) for part in plan.parts]
    results: list[Rendered | None] = [None] * len(plan.parts)
    pool = Pool(max(1, jobs))
    renders = passes = 0
    rendered: list[str] = []
    stopped = True
    try:
        with build.timer.stage("parts"):
            unknown = [i for i, measure in enumerate(measures) if measure is None]
            if unknown:  # a cold build: measure each part's layout first (pages, anchors), no PDF
                guess = PartInputs(right=True, counter=1, lead=False)
                work = [dataclasses.replace(base, index=i, name=plan.parts[i].name, measure=True,
                                            html=plan.html(plan.parts[i], guess, None)) for i in unknown]

                def measured(result: Rendered) -> None:
                    measures[result.index] = result.measure

                pool.run(work, measured)
            settled = None
            for number in range(MAX_PASSES + 1):
                layout, work = _next_pass(plan, measures, results, store, base, options)
                if not work:
                    settled = layout
                    break
                if number == MAX_PASSES:
                    break

                def finished(result: Rendered) -> None:
                    rendered.append(plan.parts[result.index].name)
                    results[result.index] = result
                    measures[result.index] = result.measure
                    if store:
                        store.put(result)

                pool.run(work, finished)
                renders += len(work)
                passes += 1
        stopped = False
    finally:
        pool.close(stopped=stopped)
    if settled is None:
        _note(build, f"one pass: the page numbers did not settle in {MAX_PASSES} passes")
        return None
    final = [r for r in results if r is not None]
    assert len(final) == len(plan.parts)
    warned: list[Diagnostic] = []  # what the renderer said, kept with the page map (Build.save_page_map)
    for result in final:
        for severity, path, line, message in result.diagnostics:
            diagnostic = Diagnostic(severity, Location(path, line), message)
            if diagnostic not in warned:
                warned.append(diagnostic)
            if diagnostic not in build.diagnostics.items:
                build.diagnostics.items.append(diagnostic)
    build.diagnostics.check()
    cached = sum(1 for result in final if result.cached)
    _note(build, f"{len(final)} parts: {renders} rendered in {passes} passes, {cached} from the cache"
          + (f", {len(unknown)} measured first" if unknown else ""))
    if rendered:
        _note(build, "rendered: " + ", ".join(part.name for part in plan.parts if part.name in rendered))
    start = settled.body_start
    with build.timer.stage("stitch"):  # with the page labels, document info and /Lang writers/pdf.finish adds
        stitched = stitch.stitch([r.pdf for r in final if r.pdf is not None],
                                 [set(r.measure.anchors) for r in final], store.programs() if store else None,
                                 describe=lambda pdf: describe(pdf, manuscript, start))
    # The pages the PDF/UA-1 checks need not walk again: those of the last check, and each part's own.
    from .pdfua import PageMemo

    walked = store.walked(document) if store else PageMemo()
    for result in final:
        walked.entries.update(result.walked)
    with build.timer.stage("finish"):
        data = complete(stitched, build.diagnostics, walked)
    build.diagnostics.check()
    build.save_page_map(_page_map(settled, final), rendered=warned)
    if store:
        store.commit()
        store.remember(document, {part.name: m for part, m in zip(plan.parts, measures, strict=True)
                                  if m is not None}, walked)
    return data


def _next_pass(plan: Plan, measures: list[Measure | None], results: list[Rendered | None], store: PartStore | None,
               base: Job, options: Options) -> tuple[Layout, list[Job]]:
    """The layout the measures give, and the parts to render for it: those whose last rendering (or
    cached one) was made for other inputs. A cached part can change a measure (the memo was stale):
    the layout is then made again before anything is rendered."""
    from . import cache

    while True:
        layout = Layout([measure for measure in measures if measure is not None], plan)
        numbers = layout.numbers()
        work: list[Job] = []
        changed = False
        for index, part in enumerate(plan.parts):
            inputs = layout.inputs(index)
            base_html = plan.html(part, inputs, None)
            key = store.key(base_html, options) if store else cache.digest("part", str(options.press), base_html)
            current = results[index]
            if current is not None and current.key == key and _printed_match(current, numbers):
                continue
            hit = store.get(key, numbers) if store else None
            if hit is not None:
                hit.index = index
                results[index] = hit
                changed = changed or hit.measure != measures[index]
                measures[index] = hit.measure
                continue
            work.append(dataclasses.replace(base, index=index, name=part.name, key=key, lead=inputs.lead,
                                            html=plan.html(part, inputs, numbers)))
        if not changed:
            return layout, work


def _page_map(layout: Layout, final: list[Rendered]) -> PageMap:
    """The page map of the stitched document, from its parts' (as `pagemap.page_map` reads the single
    pass's layout): the EPUB and the web edition of a later build then need no layout of their own."""
    from .pagemap import PageStart, labelled
    from .render import page_labels

    labels = page_labels(layout.total, layout.body_start)
    found: list[tuple[int, PageStart | None]] = []
    for number, result in enumerate(final):
        first = layout.starts[number] + layout.blanks[number] + result.measure.pages - len(result.starts)
        for offset, start in enumerate(result.starts):
            found.append((first + offset, None if start is None else PageStart(
                0, "", str(start[0]), None if start[1] is None else tuple(start[1]), int(start[2]))))
    return labelled(found, labels, {name: labels[index] for name, index in layout.anchor_pages.items()})


def _note(build: Build, message: str) -> None:
    """A line at -v (the timer's stream), as the stage timings."""
    if build.timer.stream is not None:
        print(f"build-report: parallel   {message}", file=build.timer.stream)
