"""Render and finish stages for the EPUB 3: the accessible, reflowable edition.

    model -> print layout (build.layout) -> page map (pagemap.py)
          -> XHTML documents (templates epub_*.xhtml.j2) -> ebooklib package -> deterministic zip

The EPUB is built from the same parsed model as the PDF; Markdown is never
parsed again. Each chapter body is rewritten with `assemble.rewrite` for a
one-file-per-chapter layout:

    EPUB/cover.xhtml, titlepage.xhtml, nav.xhtml     generated from report.yaml
    EPUB/text/<chapter>.xhtml                         one per chapter, places appendix last
    EPUB/css/epub.css, EPUB/fonts/*.ttf, EPUB/<manuscript image paths>

Cross-references become `chapter.xhtml#id`; footnotes become pop-up asides
(`epub:type="footnote"`, `role="doc-footnote"`) with noterefs and backlinks;
print page numbers become `epub:type="pagebreak"` markers where the PDF's
pages begin, listed in the nav's page-list.

ebooklib holds the package (metadata, manifest, spine, NCX); the documents
are complete XHTML that it stores as they are. Its zip is then rewritten so
that equal inputs and SOURCE_DATE_EPOCH give byte-identical files.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import itertools
import tempfile
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING
from xml.etree import ElementTree as etree

from ebooklib import epub as ebook

from .. import __version__, glyphs, pagemap, validators
from ..assemble import (
    EPUB_STYLES,
    Options,
    all_chapters,
    environment,
    file_names,
    is_noteref,
    resource_path,
    rewrite,
    serialize,
    stylesheet,
    unique_id,
    xml_id,
)
from ..diagnostics import NO_FILE
from ..fonts import MAIN, faces, subset
from ..model import Chapter, Heading, Manuscript
from ..output import deterministic_zip, document_date, write_atomic, zip_time
from . import Writer

if TYPE_CHECKING:
    from ..build import Build

EPUB_TYPE = "epub:type"  # written as is; every document declares the epub: prefix on <html>
TEXT = "text"  # the folder of chapter documents
CSS = "css/epub.css"
# The conformance claim (EPUB Accessibility 1.1, section 2.1), written only when epubcheck passed.
CONFORMANCE = "EPUB Accessibility 1.1 - WCAG 2.2 Level AA"


class EPUB(Writer):
    name = "epub"
    help = "build the EPUB 3 (default build/<slug>.epub)"
    suffix = ".epub"

    def write(self, build: Build, out: Path) -> None:
        """The book, with the conformance claim only if epubcheck passes it; else the same book without."""
        pages = build.page_map()
        manuscript, options, diagnostics, timer = build.manuscript, build.options, build.diagnostics, build.timer
        moment, stamp = modified(manuscript.report.date), zip_time()
        with timer.stage("assemble"):
            data = reproducible(Book(manuscript, options, pages, claim=True).package(), moment, stamp)
        with timer.stage("validate"):
            result = validated(data)
        if not result.passed:  # only claim what is checked
            with timer.stage("assemble"):
                data = reproducible(Book(manuscript, options, pages, claim=False).package(), moment, stamp)
            diagnostics.warning(NO_FILE, f"the EPUB does not claim {CONFORMANCE} because epubcheck "
                                         f"{_not_passed(result)}")
        with timer.stage("write"):
            write_atomic(out, data)


WRITER = EPUB()


def validated(data: bytes) -> validators.EpubcheckResult:
    """epubcheck's verdict on the EPUB `data`, written to a temporary file for it."""
    reason = validators.missing()
    if reason:
        return validators.EpubcheckResult(False, reason)
    with tempfile.TemporaryDirectory(prefix="build-report-epubcheck-") as tmp:
        path = Path(tmp) / "book.epub"
        path.write_bytes(data)
        return validators.run_epubcheck(path)


def _not_passed(result: validators.EpubcheckResult) -> str:
    if not result.ran:
        return f"could not run ({result.describe()}; it needs Java and the epubcheck package)"
    shown = "; ".join(result.messages[:3]) + ("; ..." if len(result.messages) > 3 else "")
    return f"found problems ({result.describe()}: {shown})"


# -- Names ------------------------------------------------------------------------------------------

def identifier(manuscript: Manuscript) -> str:
    """report.yaml's identifier, else a UUID derived from the title (stable across builds)."""
    report = manuscript.report
    return report.identifier or f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, 'build-report:' + report.title)}"


def modified(date: str) -> dt.datetime:
    """dcterms:modified: SOURCE_DATE_EPOCH, else the report's date, else now."""
    return document_date(date, dt.datetime.now(dt.timezone.utc).replace(microsecond=0))


def accessibility(visual: bool, conforms: bool = False, certifier: str = "") -> list[tuple[str, str]]:
    """schema.org accessibility metadata (EPUB Accessibility 1.1); `visual`: the report has images.

    Every image has alt text (the manuscript stage makes leaving it out an
    error), so text alone is always sufficient. The metadata describes what the
    build makes by construction. The conformance claim (`dcterms:conformsTo`
    CONFORMANCE, and `a11y:certifiedBy` naming `certifier`, the publisher, when
    there is one) is written only when the caller says the checks passed
    (`conforms`): `build_epub` passes it only when epubcheck found nothing.
    """
    modes = ["textual", "visual"] if visual else ["textual"]
    sufficient = ["textual,visual", "textual"] if visual else ["textual"]
    features = ["structuralNavigation", "tableOfContents", "printPageNumbers", "pageNavigation", "readingOrder",
                "displayTransformability"] + (["alternativeText"] if visual else [])
    summary = " ".join(part for part in [
        "A reflowable text with headings, a nested table of contents and the page numbers of the print edition.",
        "Every figure and chart has a text alternative." if visual else "",
        "Quotations are marked up with their source, and footnotes open as pop-ups where the reading system",
        "supports them. Readers can change the font, the text size and the colours."] if part)
    return ([("schema:accessMode", mode) for mode in modes]
            + [("schema:accessModeSufficient", mode) for mode in sufficient]
            + [("schema:accessibilityFeature", feature) for feature in features]
            + [("schema:accessibilityHazard", "none"), ("schema:accessibilitySummary", summary)]
            + ([("dcterms:conformsTo", CONFORMANCE)] if conforms else [])
            + ([("a11y:certifiedBy", certifier)] if conforms and certifier else []))


# -- The documents ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class PageLink:
    label: str
    href: str  # from the package folder


@dataclass
class TocEntry:
    title: str
    href: str
    children: list[TocEntry]


class Document(ebook.EpubItem):
    """A complete XHTML document, stored as rendered (ebooklib's EpubHtml would re-parse it)."""

    def __init__(self, uid: str, file_name: str, content: str, properties: list[str] | None = None):
        super().__init__(uid, file_name, "application/xhtml+xml", content.encode("utf-8"))
        self.properties = properties or []


class Book:
    """The EPUB of one manuscript: its documents and their package."""

    def __init__(self, manuscript: Manuscript, options: Options, pages: pagemap.PageMap, claim: bool = False):
        self.manuscript = manuscript
        self.claim = claim  # write the conformance claim (build_epub: only into the book epubcheck checks)
        self.options = options
        self.pages = pages
        self.chapters = all_chapters(manuscript)
        self.files = file_names([chapter.id for chapter in self.chapters])
        self.templates = environment()
        self.page_links: list[PageLink] = []
        self.images: dict[str, str] = {}  # manuscript path -> package path
        self.characters: set[str] = set()  # every character of the documents (which fonts to embed)
        cover = manuscript.report.cover
        self.cover = resource_path(PurePosixPath(cover).as_posix()) if cover else ""  # package path

    def package(self) -> ebook.EpubBook:
        book = ebook.EpubBook()
        chapters = [self._chapter(chapter) for chapter in self.chapters]  # first: they list pages and images
        self._metadata(book)
        cover = self._cover(book)
        front = [cover, self._document("titlepage", "titlepage.xhtml", "epub/titlepage.xhtml.j2"),
                 self._nav()]
        for item in [*front, *chapters]:
            book.add_item(item)
        self.characters = glyphs.printed("".join(item.content.decode("utf-8") for item in [*front, *chapters]))
        for item in [*self._fonts(), self._stylesheet(), *self._images(), ebook.EpubNcx()]:
            book.add_item(item)
        book.spine = [*front, *chapters]
        book.toc = self._ncx_toc()
        return book

    # Metadata

    def _metadata(self, book: ebook.EpubBook) -> None:
        report = self.manuscript.report
        book.set_identifier(identifier(self.manuscript))
        book.set_unique_metadata("OPF", "generator", "",
                                 {"name": "generator", "content": f"build_report {__version__} with EbookLib"})
        book.add_metadata("DC", "title", report.title, {"id": "title"})
        book.add_metadata(None, "meta", "main", {"refines": "#title", "property": "title-type"})
        if report.subtitle:
            book.add_metadata("DC", "title", report.subtitle, {"id": "subtitle"})
            book.add_metadata(None, "meta", "subtitle", {"refines": "#subtitle", "property": "title-type"})
        book.title = report.title
        book.set_language(report.language)
        for index, author in enumerate(report.authors, 1):
            book.add_author(author, uid=f"creator-{index}")
        for name, value in (("publisher", report.publisher), ("date", report.date),
                            ("rights", report.rights), ("description", report.description)):
            if value:
                book.add_metadata("DC", name, value)
        for keyword in report.keywords:
            book.add_metadata("DC", "subject", keyword)
        edition = f"{report.title}, print edition (PDF){f', version {report.version}' if report.version else ''}"
        book.add_metadata("DC", "source", edition, {"id": "print-edition"})
        book.add_metadata(None, "meta", edition, {"property": "pageBreakSource"})
        for name, value in accessibility(visual=bool(self.images or self.cover), conforms=self.claim,
                                         certifier=report.publisher):
            book.add_metadata(None, "meta", value, {"property": name})

    # Generated documents

    def _render(self, template: str, css: str = CSS, **context) -> str:
        report = self.manuscript.report
        return self.templates.get_template(template).render(report=report, language=report.language, css=css,
                                                            **context)

    def _document(self, uid: str, file_name: str, template: str, **context) -> Document:
        return Document(uid, file_name, self._render(template, **context))

    def _cover(self, book: ebook.EpubBook) -> Document:
        """The cover image of report.yaml on a page of its own, or a cover page made from the metadata."""
        if self.cover:
            image = ebook.EpubCover(file_name=self.cover)
            image.content = (self.manuscript.root / self.manuscript.report.cover).read_bytes()
            book.add_item(image)
            book.add_metadata(None, "meta", "", {"name": "cover", "content": image.id})
        return self._document("cover", "cover.xhtml", "epub/cover.xhtml.j2", image=self.cover)

    def _nav(self) -> Document:
        body = next((c for c in self.chapters if c.kind != "front"), self.chapters[0])
        return Document("nav", "nav.xhtml", self._render(
            "epub/nav.xhtml.j2", toc=self._toc(), pages=self.page_links, skipped=self.pages.skipped,
            bodymatter=f"{TEXT}/{self.files[body.id]}"), ["nav"])

    def _toc(self) -> list[TocEntry]:
        """Chapters, their sections and subsections, nested."""
        entries = []
        for chapter in self.chapters:
            href = f"{TEXT}/{self.files[chapter.id]}"
            entries.append(TocEntry(chapter.display_title, href, _sections(chapter.headings, href)))
        return entries

    def _ncx_toc(self) -> list:
        """The same tree for ebooklib's NCX."""
        counter = itertools.count(1)

        def convert(entry: TocEntry):
            link = ebook.Link(entry.href, entry.title, f"navpoint-{next(counter)}")
            return (link, [convert(child) for child in entry.children]) if entry.children else link

        return [convert(entry) for entry in self._toc()]

    # Chapters

    def _chapter(self, chapter: Chapter) -> Document:
        file_name = self.files[chapter.id]
        body = rewrite(chapter, self._href, xml_id, self._image)
        taken = {element.get("id", "") for element in body.iter() if element.get("id")}
        starts = self.pages.for_chapter(chapter.id)
        markers = {start.index: self._pagebreak(start, file_name, taken) for start in starts}  # in page order
        pagemap.mark(body, starts, lambda start: markers[start.index], is_noteref)
        notes = footnotes(body)
        self._label_pagerefs(body)
        label_boxes(body)
        html = self._render(
            "epub/chapter.xhtml.j2", css=f"../{CSS}", chapter=chapter, title_id=unique_id("chapter-title", taken),
            opening="".join(_xml(markers[start.index]) for start in starts if start.path is None),
            body=serialize(body, "xml"), notes="".join(map(_xml, notes)))
        return Document(f"c-{file_name.removesuffix('.xhtml')}", f"{TEXT}/{file_name}", html)

    def _href(self, chapter_id: str, local: str) -> str:
        return f"{self.files[chapter_id]}#{xml_id(local)}" if local else self.files[chapter_id]

    def _image(self, rel: str) -> str:
        self.images[rel] = resource_path(rel)
        return f"../{self.images[rel]}"

    def _pagebreak(self, start: pagemap.PageStart, file_name: str, taken: set[str]) -> etree.Element:
        """The marker where a print page begins; it is listed in the page-list too."""
        element_id = unique_id(f"page-{start.label}", taken)
        self.page_links.append(PageLink(start.label, f"{TEXT}/{file_name}#{element_id}"))
        return etree.Element("span", {EPUB_TYPE: "pagebreak", "role": "doc-pagebreak", "id": element_id,
                                      "aria-label": start.label})

    def _label_pagerefs(self, body: etree.Element) -> None:
        """The places appendix's page references show the print page of each quote."""
        for anchor in body.iter("a"):
            if "pageref" in anchor.get("class", "").split():
                label = self.pages.page_of(anchor.get("data-chapter", ""), anchor.get("data-id", ""))
                anchor.text = label or "quote"
                if label:
                    anchor.set("aria-label", f"page {label}: {anchor.get('aria-label', '')}".rstrip(": "))

    # Resources

    @functools.cached_property
    def _families(self) -> set[str]:
        """The main families, and a fallback (emoji, symbols...) only if the book uses one of its glyphs."""
        return glyphs.families_used(self.manuscript, self.characters)

    def _fonts(self) -> list[ebook.EpubItem]:
        """The main fonts whole; the fallbacks cut down to the characters that only they draw."""
        used = [face for face in faces() if face.family in self._families]
        extra = glyphs.beyond_main(self.characters)
        return [ebook.EpubItem(f"font-{index}", f"fonts/{face.file_name}", "font/ttf",
                               face.path.read_bytes() if face.family in MAIN else subset(face.path, extra))
                for index, face in enumerate(used, 1)]

    def _stylesheet(self) -> ebook.EpubItem:
        names = {face.path: face.file_name for face in faces()}
        css = stylesheet(EPUB_STYLES, self.options, lambda path: f"../fonts/{names[path]}",
                         self._families, weight_ranges=True, theme=self.manuscript.report.theme)
        return ebook.EpubItem("css", CSS, "text/css", css.encode("utf-8"))

    def _images(self) -> list[ebook.EpubItem]:
        """The images the chapters show; the cover image, if one is among them, is in the package already."""
        root = self.manuscript.root
        return [ebook.EpubImage(uid=f"image-{index}", file_name=path, content=(root / rel).read_bytes())
                for index, (rel, path) in enumerate(sorted(self.images.items()), 1) if path != self.cover]


def _sections(headings: list[Heading], href: str) -> list[TocEntry]:
    """Level-2 headings, each with the level-3 headings after it."""
    out: list[TocEntry] = []
    for heading in headings:
        title = f"{heading.number} {heading.title}".strip()
        entry = TocEntry(title, f"{href}#{xml_id(heading.id)}", [])
        if heading.level == 2:
            out.append(entry)
        elif heading.level == 3 and out:
            out[-1].children.append(entry)
    return out


def _xml(element: etree.Element) -> str:
    return etree.tostring(element, encoding="unicode")


# -- Chapter body markup ----------------------------------------------------------------------------

def footnotes(body: etree.Element) -> list[etree.Element]:
    """Turn Python-Markdown's footnotes into noterefs and pop-up asides; returns the asides."""
    for sup in body.iter("sup"):
        for ref in sup.iterfind("a[@class='footnote-ref']"):
            ref.attrib.update({EPUB_TYPE: "noteref", "role": "doc-noteref"})
    notes = []
    for block in body.findall("div[@class='footnote']"):
        body.remove(block)
        for number, item in enumerate(block.iterfind("ol/li"), 1):
            notes.append(_aside(item, number))
    return notes


def _aside(item: etree.Element, number: int) -> etree.Element:
    aside = etree.Element("aside", {"id": item.get("id", ""), EPUB_TYPE: "footnote", "role": "doc-footnote",
                                    "class": "footnote"})
    aside.text, aside[:] = item.text, list(item)
    for back in aside.iter("a"):
        if back.get("class") == "footnote-backref":
            back.set("role", "doc-backlink")
            back.set("aria-label", f"Back to note {number} in the text")
    first = aside[0] if len(aside) and aside[0].tag == "p" else aside
    label = etree.Element("span", {"class": "footnote-number"})
    label.text, label.tail = f"{number}.", " " + (first.text or "")
    first.text = None
    first.insert(0, label)
    return aside


def label_boxes(body: etree.Element) -> None:
    """A box is a complementary region: name it after its title so several in a chapter differ."""
    for box in body.iter("aside"):
        title = box.find("p[@class='box-title']")
        if "box" in box.get("class", "").split() and title is not None:
            box.set("aria-label", " ".join("".join(title.itertext()).split()))


# -- The zip ----------------------------------------------------------------------------------------

class _Writer(ebook.EpubWriter):
    """ebooklib's writer, with the package's language on <package> (xml:lang), where Ace looks for it."""

    def _write_opf_file(self, root) -> None:
        root.set("{http://www.w3.org/XML/1998/namespace}lang", self.book.language)
        super()._write_opf_file(root)


def reproducible(book: ebook.EpubBook, moment: dt.datetime, timestamp: dt.datetime) -> bytes:
    """The package as a zip whose bytes depend only on its content and the two times.

    ebooklib writes the package (`moment` is its dcterms:modified); its entries
    are then copied in a fixed order (mimetype first and stored, container,
    package document, then by name), each with `timestamp` and the same attributes.
    """
    raw = io.BytesIO()
    writer = _Writer(raw, book, {"mtime": moment, "epub3_pages": False, "epub3_landmark": False})
    writer.process()
    writer.write()
    with zipfile.ZipFile(raw) as source:
        entries = {name: source.read(name) for name in source.namelist()}
    stamp = timestamp.astimezone(dt.timezone.utc).timetuple()[:6]
    first = ("mimetype", "META-INF/container.xml", f"{book.FOLDER_NAME}/content.opf")
    return deterministic_zip(entries, stamp, first=first, stored=("mimetype",))
