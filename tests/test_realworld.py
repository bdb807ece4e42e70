"""The real-world corpus (tests/realworld, issue 8): Markdown written the way teams already
write it builds to PDF, EPUB and HTML as written, with exit 0 and no warnings.

The corpus is built once per module through the command line; the tests then read the outputs
back: the PDF with pdftotext, pdffonts and pypdf, the HTML with lxml, the EPUB with epubcheck.
The image boxes come from a second, in-process PDF build (conftest's Built), which keeps
WeasyPrint's layout.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import zipfile
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree as etree

import lxml.html
import pytest
from fontTools.pens.boundsPen import BoundsPen
from fontTools.ttLib import TTFont
from pypdf import PdfReader

from build_report import validators
from build_report.cli import main
from conftest import ROOT, Built, pdffonts, words_off_page
from test_epub import assert_epubcheck_clean
from test_pdf import outline

CORPUS = ROOT / "tests" / "realworld"
# A correct build has 17 pages: cover, imprint, contents, a blank verso, 12 pages for the six chapters
# and one for the places appendix. Icons drawn larger than their 16 px would add pages.
MAX_PAGES = 18

# Lines of each code block, exactly as the chapters give them (compared with runs of spaces collapsed).
CODE_LINES = [
    "make up    # starts the API on port 8080",  # 01, ```sh
    "# Fetch the free slots for one day and return them in time order.",  # 03, ```python
    "    # The API returns slots unsorted; sort them by start time.",
    '    with urlopen(f"{base}/slots?date={day}") as response:',
    '    return sorted(slots, key=lambda s: s["start"])',
    '  "start": "2026-03-02T09:30:00Z",',  # ```json
    "#[derive(Debug)]",  # ```rust
    "    fn label(&self) -> String {",
    '        format!("{} ({} min)", self.start, self.minutes)',
    "reminders: true   # text message the day before",  # ~~~yaml
    "Dear &name;,",  # ```text, &s; after a blank line
    "Your appointment at &s; is confirmed.",
    "SLOT|2026-03-02|0930|HARROWBY|BOOKED",  # an indented code block
]
LONG_LINE = ("./bin/export-slots --from 2026-03-01 --to 2026-03-31 --site harrowby --site kelsall-moor "
             "--site pinfold-bridge --format csv --output build/slots.csv")
CONTINUATION = "\u21aa\u21a9\u21b5\u21b3\u2936\u2937\u23ce\u2b90\u00ac\u2060"  # ↪ ↩ ↵ ↳ ⤶ ⤷ ⏎ ⮐ ¬, word joiner
DRAWN = ["🎉", "✅", "🚀", "→", "←", "✓", "✗", "★", "⚠", "•", "◦", "▪", "€", "£", "°", "±", "×", "÷", "≤", "≥",
         "≠", "…", "§", "¶", "©", "®", "ŵ", "ŷ", "Κ", "λ", "Д", "б"]
FALLBACK_FONTS = ("dejavu", "liberation", "freesans", "nimbus", "bitstream", "times", "helvetica", "arial")
QUOTED_PLACES = ["Harrowby", "Kelsall Moor"]  # Pinfold Bridge is registered but never quoted


@dataclass
class Run:
    code: int
    stderr: str
    path: Path


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> dict[str, Run]:
    """The corpus built once to pdf, epub and html with `build-report VERB tests/realworld -o …`."""
    out = tmp_path_factory.mktemp("realworld")
    runs = {}
    for verb in ("pdf", "epub", "html"):
        stdout, stderr = io.StringIO(), io.StringIO()
        path = out / f"field-notes.{verb}"
        code = main([verb, str(CORPUS), "-o", str(path)], stdout=stdout, stderr=stderr)
        runs[verb] = Run(code, stderr.getvalue(), path)
    return runs


@pytest.fixture(scope="module")
def laid_out(tmp_path_factory) -> Built:
    """The corpus built in process, keeping WeasyPrint's document (its pages and boxes)."""
    return Built(CORPUS, tmp_path_factory.mktemp("realworld-boxes") / "field-notes.pdf")


def output(corpus: dict[str, Run], verb: str) -> Path:
    run = corpus[verb]
    assert run.code == 0 and run.path.exists(), f"build-report {verb} exited {run.code}:\n{run.stderr}"
    return run.path


def pdf_text(path: Path) -> str:
    """The PDF's text, page by page in layout (pdftotext -layout; pypdf without poppler-utils)."""
    if shutil.which("pdftotext"):
        return subprocess.run(["pdftotext", "-layout", "-enc", "UTF-8", str(path), "-"],
                              capture_output=True, text=True, check=True).stdout
    return "\n".join(page.extract_text() for page in PdfReader(path).pages)


def squeeze(text: str) -> str:
    return " ".join(text.split())


def html_tree(corpus) -> lxml.html.HtmlElement:
    return lxml.html.fromstring(output(corpus, "html").read_bytes())


def chapter(tree: lxml.html.HtmlElement, chapter_id: str) -> lxml.html.HtmlElement:
    found = tree.xpath(f"//section[@id='{chapter_id}']")
    assert len(found) == 1, f"no chapter section with id {chapter_id!r}"
    return found[0]


def has_class(element, name: str) -> bool:
    return name in (element.get("class") or "").split()


# -- Every build succeeds, quietly ------------------------------------------------------------------

@pytest.mark.parametrize("verb", ["pdf", "epub", "html"])
def test_builds_with_exit_0_and_no_warnings(corpus, verb):
    run = corpus[verb]
    problems = [line for line in run.stderr.splitlines() if re.search(r"\b(warning|error):", line)
                and not (validators.missing() and "the EPUB does not claim" in line)]  # no Java: no claim, said
    assert run.code == 0, run.stderr
    assert not problems, "\n".join(problems)
    assert run.path.exists() and run.path.stat().st_size > 10_000


# -- Code -------------------------------------------------------------------------------------------

def test_code_survives_verbatim(corpus):
    lines = {squeeze(line) for line in pdf_text(output(corpus, "pdf")).splitlines()}
    missing = [line for line in CODE_LINES if squeeze(line) not in lines]
    assert not missing, f"code lines not printed verbatim: {missing}"
    text = squeeze(pdf_text(output(corpus, "pdf")))
    assert re.search(r"GET /slots\?\s?date=2026-03-02", text)  # inline code (it may wrap after the '?')
    assert "`" not in text  # no backtick or fence leaked into the text


def test_code_comments_and_attributes_are_not_headings(corpus):
    pdf = output(corpus, "pdf")
    titles = [title for _, title, _ in outline(PdfReader(pdf))]
    for fragment in ("derive", "Fetch the free slots", "API returns slots", "starts the API", "SLOT|"):
        assert not [t for t in titles if fragment in t], f"{fragment!r} became a bookmark: {titles}"
    tree = html_tree(corpus)
    headings = [squeeze(h.text_content()) for h in tree.xpath("//h1|//h2|//h3|//h4|//h5|//h6")]
    assert not [h for h in headings if "derive" in h or "Fetch the free slots" in h], headings


def test_long_code_line_wraps_and_keeps_every_word(corpus):
    text = pdf_text(output(corpus, "pdf"))
    # The line may break anywhere (even inside a word) and a continuation mark may be drawn at the
    # break: with whitespace and such marks removed, every character must still be there, in order.
    flat = re.sub(rf"[\s{CONTINUATION}]+", "", text)
    assert "".join(LONG_LINE.split()) in flat, "the long code line lost characters"
    assert not [line for line in text.splitlines() if "--format csv" in line and "--from 2026-03-01" in line], \
        "the 148-character line was printed on one line: it cannot fit the text block"


def test_code_is_highlighted_with_classes_in_html(corpus):
    tree = html_tree(corpus)
    blocks = [pre for pre in tree.iter("pre") if "#[derive(Debug)]" in pre.text_content()]
    assert len(blocks) == 1, "the Rust block is missing from the HTML"
    assert blocks[0].xpath(".//span[@class]"), "the Rust block is not highlighted"
    assert not tree.xpath("//pre//*[@style]"), "highlighting must use CSS classes, not inline styles"
    assert any("&s; is confirmed" in pre.text_content() for pre in tree.iter("pre"))


# -- Fonts and glyphs -------------------------------------------------------------------------------

def test_fonts_monospace_embedded_and_no_fallbacks(corpus):
    rows = pdffonts(output(corpus, "pdf"))
    names = [row["name"] for row in rows]
    assert any("Code" in name or "Mono" in name for name in names), f"no monospace font: {names}"
    assert all(row["emb"] == "yes" for row in rows), [row for row in rows if row["emb"] != "yes"]
    fallbacks = [name for name in names if any(bad in name.lower() for bad in FALLBACK_FONTS)]
    assert not fallbacks, f"fonts we did not package: {fallbacks}"


def drawn_characters(path: Path) -> set[str]:
    """Characters drawn with a real glyph from one of our fonts: mapped by the ToUnicode of a font that
    is not a system fallback, from a glyph that exists in the embedded font program and has an outline
    (a missing glyph maps to .notdef or past the end of the font)."""
    drawn: set[str] = set()
    seen: set = set()

    def fonts(resources):
        resources = resources.get_object() if resources is not None else {}
        for font in (resources.get("/Font") or {}).values():
            yield font.get_object()
        for xobject in (resources.get("/XObject") or {}).values():
            xobject = xobject.get_object()
            if xobject.get("/Subtype") == "/Form" and id(xobject) not in seen:
                seen.add(id(xobject))
                yield from fonts(xobject.get("/Resources"))

    for page in PdfReader(path).pages:
        for font in fonts(page.get("/Resources")):
            if "/ToUnicode" not in font or any(bad in str(font.get("/BaseFont", "")).lower() for bad in FALLBACK_FONTS):
                continue
            cmap = font["/ToUnicode"].get_object().get_data().decode("latin-1")
            pairs = [(int(g, 16), bytes.fromhex(t).decode("utf-16-be"))
                     for g, t in re.findall(r"<([0-9a-fA-F]{4})>\s*<([0-9a-fA-F]+)>", cmap)]
            program = None
            descendant = font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font
            descriptor = descendant.get("/FontDescriptor")
            if descriptor is not None:
                descriptor = descriptor.get_object()
                stream = descriptor.get("/FontFile2") or descriptor.get("/FontFile3")
                if stream is not None:
                    try:
                        program = TTFont(io.BytesIO(stream.get_object().get_data()))
                    except Exception:  # a bare CFF program: trust the mapping's glyph id
                        program = None
            order = program.getGlyphOrder() if program else None
            glyphs = program.getGlyphSet() if program else None
            for glyph, text in pairs:
                if glyph == 0:
                    continue
                if order is not None:
                    if glyph >= len(order):
                        continue
                    pen = BoundsPen(glyphs)
                    glyphs[order[glyph]].draw(pen)
                    if pen.bounds is None:
                        continue
                drawn.update(text)
    return drawn


def test_emoji_symbols_and_scripts_are_drawn(corpus):
    path = output(corpus, "pdf")
    text = pdf_text(path)
    assert not [c for c in DRAWN if c not in text], f"not in the PDF text: {[c for c in DRAWN if c not in text]}"
    for phrase in ("Καλημέρα", "Добрий день", "dŵr", "tŷ", "Launch day 🎉"):
        assert phrase in squeeze(text), phrase
    drawn = drawn_characters(path)
    assert not [c for c in DRAWN if c not in drawn], \
        f"printed without a glyph (a box): {[f'{c} U+{ord(c):04X}' for c in DRAWN if c not in drawn]}"


# -- Layout: nothing off the page, icons at icon size -----------------------------------------------

def test_no_word_runs_off_the_page(corpus):
    problems, words = words_off_page(output(corpus, "pdf"))
    assert not problems, "\n".join(problems[:20])
    assert words > 1000


def image_boxes(built: Built):
    """(page index, page box, replaced box, image file name) for every image WeasyPrint laid out."""
    from weasyprint.formatting_structure.boxes import BlockReplacedBox, InlineReplacedBox

    for index, page in enumerate(built.document.pages):
        for box in page._page_box.descendants():
            if isinstance(box, (InlineReplacedBox, BlockReplacedBox)):
                src = box.element.get("src", "") if box.element is not None else ""
                yield index, page._page_box, box, src.rsplit("/", 1)[-1]


def test_icons_stay_icon_sized(laid_out):
    icons = [(i, box) for i, _, box, name in image_boxes(laid_out)
             if name.startswith("icon-")
             or (getattr(box.replacement, "width", 0), getattr(box.replacement, "height", 0)) == (16, 16)]
    assert len(icons) == 13, f"expected the 13 icons of the two tables (4 + 9), found {len(icons)}"
    big = [(i + 1, round(box.width), round(box.height)) for i, box in icons if box.width > 24 or box.height > 24]
    assert not big, f"icons larger than 24 px (page, width, height): {big}"


def test_page_count_is_modest(laid_out, corpus):
    assert len(laid_out.reader.pages) <= MAX_PAGES
    assert len(PdfReader(output(corpus, "pdf")).pages) <= MAX_PAGES


def test_block_images_fit_the_text_block(laid_out):
    seen = set()
    for index, page, box, name in image_boxes(laid_out):
        if name.startswith("icon-"):
            continue
        seen.add(name)
        left, right = page.content_box_x(), page.content_box_x() + page.width
        top, bottom = page.content_box_y(), page.content_box_y() + page.height
        x0, y0 = box.border_box_x(), box.border_box_y()
        x1, y1 = x0 + box.border_width(), y0 + box.border_height()
        assert left - 0.5 <= x0 and x1 <= right + 0.5, f"{name} on page {index + 1} is wider than the text block"
        assert top - 0.5 <= y0 and y1 <= bottom + 0.5, f"{name} on page {index + 1} runs off the page"
    assert {"moor.jpg", "flow.svg"} <= seen, seen


# -- Quotations -------------------------------------------------------------------------------------

def test_person_quote_is_an_attributed_quotation_not_a_place_quote(corpus):
    tree = html_tree(corpus)
    quotes = [q for q in tree.iter("blockquote") if "Whether the plan was worth following" in q.text_content()]
    assert len(quotes) == 1, "the Ada Lovelace quotation is missing"
    quote = quotes[0]
    chain = [quote, *quote.iterancestors()]
    assert not [e.tag for e in chain if e.get("data-place") is not None or has_class(e, "place-quote")], \
        "the person quote was made a place quote"
    holder = quote.getparent() if quote.getparent().tag == "figure" else quote
    assert "Ada Lovelace" in holder.text_content(), "the credit is not shown with the quotation"
    assert "unknown place" not in corpus["html"].stderr


def test_place_quotes_and_places_appendix(corpus):
    tree = html_tree(corpus)
    places = sorted(e.get("data-place") for e in tree.xpath("//*[@data-place]"))
    assert places == ["harrowby", "kelsall-moor"], places
    rows = [squeeze(th.text_content()) for th in tree.xpath("//section[@id='places-quoted']//table//tbody/tr/th")]
    assert rows == QUOTED_PLACES, f"the places appendix lists {rows}"
    assert "Lovelace" not in chapter(tree, "places-quoted").text_content()


# -- Front matter, CRLF and BOM ---------------------------------------------------------------------

FRONT_MATTER_TITLES = {"jekyll-page": "A Guide for New Teams", "borrowed-laptops": "Working from Borrowed Laptops",
                       "bom": "A Note on Character Encodings"}


def test_front_matter_titles_in_html(corpus):
    tree = html_tree(corpus)
    for chapter_id, title in FRONT_MATTER_TITLES.items():
        section = chapter(tree, chapter_id)
        headings = [squeeze(h.text_content()) for h in section.iter("h1")]
        assert len(headings) == 1 and headings[0].endswith(title), f"{chapter_id}: {headings}"
        text = section.text_content()
        for leak in ("title:", "layout:", "permalink", "nav_order", "id: borrowed", "\ufeff", "\r"):
            assert leak not in text, f"{leak!r} leaked into chapter {chapter_id}"
        assert not section.xpath(".//hr"), f"a front-matter '---' became a rule in {chapter_id}"


def test_front_matter_titles_in_pdf_bookmarks(corpus):
    titles = [title for depth, title, _ in outline(PdfReader(output(corpus, "pdf"))) if depth == 0]
    for title in FRONT_MATTER_TITLES.values():
        assert [t for t in titles if t.endswith(title)], f"no bookmark for {title!r}: {titles}"
    assert not [t for t in titles if "\ufeff" in t or "---" in t or "title:" in t], titles


def test_chapter_id_does_not_clash_with_its_section(corpus):
    section = chapter(html_tree(corpus), "icons")
    sections = [squeeze(h.text_content()) for h in section.iter("h2")]
    assert sections and sections[0].endswith("Icons"), sections
    ids = [e.get("id") for e in html_tree(corpus).xpath("//*[@id]")]
    assert len(set(ids)) == len(ids)


# -- GitHub and Jekyll constructs -------------------------------------------------------------------

def test_github_readme_constructs(corpus):
    section = chapter(html_tree(corpus), "readme")
    text = squeeze(section.text_content())
    assert "[!NOTE]" not in text, "the GitHub alert was printed as text"
    assert "fictional" in text
    assert "[x]" not in text and "[ ]" not in text, "task list markers were printed as text"
    assert [squeeze(d.text_content()) for d in section.iter("del", "s")] == [
        "planned to publish a fixed timetable", "Build our own calendar widget"]
    assert "~~" not in text
    assert section.xpath(".//a[@href='https://www.gov.uk/service-manual']"), "the bare URL is not a link"
    assert [k.text_content() for k in section.iter("kbd")] == ["Ctrl", "C"]
    abbrs = section.xpath(".//abbr[@title='Application Programming Interface']")
    assert len(abbrs) >= 3 and all(a.text_content() == "API" for a in abbrs)
    assert "*[API]" not in text
    depth = section.xpath(".//ul/li/ul/li/ul/li")
    assert depth and "one week in four" in depth[0].text_content(), "the three-level list lost its nesting"


def test_jekyll_page_raw_html(corpus):
    html = output(corpus, "html").read_text(encoding="utf-8")
    assert "TODO" not in html and "check these dates" not in html, "the HTML comment was not dropped"
    section = chapter(lxml.html.fromstring(html.encode("utf-8")), "jekyll-page")
    notes = section.xpath(".//div[contains(concat(' ', @class, ' '), ' note ')]")
    assert len(notes) == 1 and notes[0].xpath(".//strong[.='Before you start:']"), "markdown=\"1\" was not honoured"
    assert not notes[0].xpath("ancestor::p") and "**" not in notes[0].text_content()
    assert section.xpath(".//p[contains(., 'six weeks')]/br"), "the <br> was lost"
    text = section.text_content()
    assert "Harrowby\u00a0Council" in text and "joined first \u2014 in the spring" in text
    assert "\u00a9 the Office" in text
    asides = [a for a in section.iter("aside") if "whose phone number" in a.text_content()]
    assert len(asides) == 1, "the <aside> pull quote is missing"
    assert not asides[0].xpath("ancestor::p"), "the <aside> was wrapped in a <p>"
    summaries = section.xpath(".//details/summary")
    assert [s.text_content() for s in summaries] == ["What happens to our old booking system?"]
    assert [squeeze(dt.text_content()) for dt in section.xpath(".//dl/dt")] == [
        "Service owner", "Delivery manager", "Show and tell"]
    assert len(section.xpath(".//*[contains(@class, 'footnote')]")) >= 2


def test_decorative_image_has_empty_alt_and_no_number(corpus):
    section = chapter(html_tree(corpus), "icons")
    assert all(img.get("alt") is not None for img in section.iter("img"))
    labels = [squeeze(label.text_content()) for label in section.xpath(".//figure//*[@class='caption-label']")]
    assert labels == ["Figure 6.1"], f"the decorative image must not be a numbered figure: {labels}"
    with zipfile.ZipFile(output(corpus, "epub")) as book:
        names = [name for name in book.namelist() if re.search(r"icons\.x?html$", name)]
        assert len(names) == 1, book.namelist()
        tree = etree.fromstring(book.read(names[0]))
    images = list(tree.iter("{http://www.w3.org/1999/xhtml}img"))
    empty = [img for img in images if img.get("alt") == ""]
    assert [img.get("src", "").rsplit("/", 1)[-1] for img in empty] == ["divider.png"], \
        "in the EPUB the divider, and only the divider, has alt=\"\""
    assert all(img.get("alt") for img in images if img not in empty)


# -- EPUB -------------------------------------------------------------------------------------------

def test_epubcheck_reports_nothing(corpus):
    assert_epubcheck_clean(output(corpus, "epub"))
