"""The web edition (build-report web), read back as HTML: landmarks, headings, links both ways,
tables, notes, print page anchors against the PDF, search, fonts, colours, the single file,
determinism, and (where Chromium is installed) axe-core at phone and desktop widths."""

from __future__ import annotations

import io
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

import lxml.html
import pytest
from pypdf import PdfReader

from build_report import build
from build_report.assemble import Options, all_chapters, xml_id
from build_report.cli import main
from build_report.diagnostics import NO_FILE, Diagnostics
from build_report.pagemap import letters
from build_report.writers import pdf, web
from conftest import MINI, ROOT, SAMPLE, contrast

EPOCH = "1767225600"  # 2026-01-01T00:00:00Z
EXTERNAL = re.compile(r"^(?:[a-z][a-z0-9+.-]*:|//)", re.I)  # a scheme, or scheme-relative


class Site:
    """A manuscript built to the web edition (a folder, or with single=True one file), and the PDF
    of the same layout."""

    def __init__(self, root: Path, out: Path, single: bool = False, search: bool = True, with_pdf: bool = True):
        self.diagnostics = Diagnostics()
        timer = build.Timer()
        writer = web.Web({"single_file": single, "no_search": not search})
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("SOURCE_DATE_EPOCH", EPOCH)
            self.manuscript = build.load(root, self.diagnostics, timer)
            run = build.Build(self.manuscript, Options(), self.diagnostics, timer)
            run.write(writer, out)
            self.pages = run.page_map()
            if with_pdf:
                run.write(pdf.WRITER, out.parent / f"{out.name}.pdf")
        self.root = out
        self.pdf = PdfReader(out.parent / f"{out.name}.pdf") if with_pdf else None
        self.chapters = all_chapters(self.manuscript)

    def files(self) -> dict[str, bytes]:
        return {path.relative_to(self.root).as_posix(): path.read_bytes()
                for path in sorted(self.root.rglob("*")) if path.is_file()}

    def html_names(self) -> list[str]:
        return sorted(name for name in self.files() if name.endswith(".html") and not name.startswith("_pagefind/"))

    def doc(self, name: str = ""):
        path = self.root / name if name else self.root
        return lxml.html.document_fromstring(path.read_bytes())

    def chapter_files(self) -> list[str]:
        """The chapter pages in reading order, from the index's contents."""
        contents = self.doc("index.html").get_element_by_id("contents")
        return [a.get("href") for a in contents.xpath("./ol/li/a")]


@pytest.fixture(scope="session")
def mini_web(tmp_path_factory) -> Site:
    return Site(MINI, tmp_path_factory.mktemp("web") / "mini-web")


@pytest.fixture(scope="session")
def mini_single(tmp_path_factory) -> Site:
    return Site(MINI, tmp_path_factory.mktemp("web") / "mini-web.html", single=True, with_pdf=False)


@pytest.fixture(scope="session")
def sample_web(tmp_path_factory) -> Site:
    return Site(SAMPLE, tmp_path_factory.mktemp("web") / "sample-web")


@pytest.fixture(params=["mini", "sample"])
def site(request, mini_web, sample_web) -> Site:
    return mini_web if request.param == "mini" else sample_web


def text(element) -> str:
    return " ".join("".join(element.itertext()).split())


# -- Every page ---------------------------------------------------------------------------------------

def test_the_folder_has_the_pages_and_no_more(mini_web):
    names = set(mini_web.files())
    chapters = {f"{c.id}.html" for c in mini_web.chapters}
    assert {"index.html", "pages.html", "search.html", "assets/web.css", "images/boxes.svg"} | chapters <= names
    assert {name for name in names if name.endswith(".html") and "/" not in name} == \
        {"index.html", "pages.html", "search.html"} | chapters
    assert not mini_web.diagnostics.items


def test_pages_have_landmarks_a_skip_link_first_the_language_and_one_h1(site):
    for name in site.html_names():
        doc = site.doc(name)
        assert doc.get("lang") == site.manuscript.report.language, name
        focusable = doc.xpath("//body//*[self::a[@href] or self::button or self::input or @tabindex='0']")
        skip = focusable[0]
        assert text(skip) == "Skip to main content" and skip.get("class") == "skip-link", name
        main_ids = doc.xpath("//main/@id")
        assert main_ids and skip.get("href") == f"#{main_ids[0]}", name
        for landmark in ("header", "nav", "main", "footer"):
            assert doc.xpath(f"//{landmark}"), (name, landmark)
        assert len(doc.xpath("//main")) == 1 and len(doc.xpath("//h1")) == 1, name
        assert doc.xpath("//title")[0].text.strip(), name
        assert doc.xpath("//meta[@name='viewport']"), name
        ids = doc.xpath("//@id")
        assert len(ids) == len(set(ids)), (name, sorted({i for i in ids if ids.count(i) > 1}))


def test_chapter_pages_open_with_their_sections_and_read_without_javascript(site):
    for chapter in site.chapters:
        doc = site.doc(f"{chapter.id}.html")
        assert not doc.xpath("//script"), chapter.id
        sections = [h for h in chapter.headings if h.level == 2]
        nav = doc.xpath("//nav[contains(@class, 'chapter-contents')]")
        if not sections:
            assert not nav
            continue
        links = nav[0].xpath(".//a")
        assert [a.get("href") for a in links] == [f"#{xml_id(h.id)}" for h in sections]
        assert text(nav[0].xpath(".//h2")[0]) == "Contents"
        assert nav[0].getnext().get("class") == "chapter-body"  # the sections' contents, then the text
        assert chapter.title in text(doc.xpath("//h1")[0])


def test_main_is_indexed_and_navigation_is_not(mini_web):
    for name in ["index.html", *(f"{c.id}.html" for c in mini_web.chapters)]:
        doc = mini_web.doc(name)
        assert doc.xpath("//main[@data-pagefind-body]"), name
        for nav in doc.xpath("//main//nav"):
            assert nav.get("data-pagefind-ignore") is not None, name
    for name in ("pages.html", "search.html"):
        assert not mini_web.doc(name).xpath("//*[@data-pagefind-body]")


def test_every_image_has_alt_text_and_a_size(site):
    images = 0
    for name in site.html_names():
        for image in site.doc(name).xpath("//img"):
            images += 1
            assert image.get("alt") is not None, (name, image.get("src"))
            assert not EXTERNAL.match(image.get("src")), (name, image.get("src"))
    assert images


def test_tables_have_captions_scoped_headers_and_scroll_in_a_named_region(site):
    tables = 0
    for name in site.html_names():
        doc = site.doc(name)
        for table in doc.xpath("//table"):
            tables += 1
            caption = table.xpath("./caption")
            assert caption and text(caption[0]), name
            assert all(th.get("scope") in ("col", "row") for th in table.xpath(".//th")), name
            region = table.getparent()
            assert region.get("class") == "table-wrap" and region.get("role") == "region", name
            assert region.get("tabindex") == "0" and region.get("aria-labelledby") == caption[0].get("id"), name
    assert tables


def test_place_quotes_are_figures_with_the_place_cited(mini_web):
    doc = mini_web.doc("first.html")
    figure = doc.get_element_by_id("quote-ashbury-1")
    assert figure.tag == "figure" and figure.xpath("./blockquote")
    caption = figure.xpath("./figcaption")[0]
    assert text(caption.xpath("./cite")[0]) == "Ashbury"
    assert text(caption.xpath("./span[@class='role']")[0]) == "a director of adult social care"
    assert "Region: North West" in text(caption)


def test_boxes_are_notes_not_nested_asides(site):
    for name in site.html_names():
        doc = site.doc(name)
        assert not doc.xpath("//main//aside"), name
        for box in doc.xpath("//div[contains(concat(' ', @class, ' '), ' box ')]"):
            assert box.get("role") == "note" and doc.get_element_by_id(box.get("aria-labelledby")) is not None


# -- Links ----------------------------------------------------------------------------------------------

def test_every_internal_link_reaches_a_file_and_an_id(site):
    ids = {name: set(site.doc(name).xpath("//@id")) for name in site.html_names()}
    checked = 0
    for name in site.html_names():
        for element in site.doc(name).xpath("//*[@href or @src]"):
            url = element.get("href") or element.get("src")
            if EXTERNAL.match(url):
                continue
            parts = urlsplit(url)
            target = unquote(parts.path) or name
            assert (site.root / target).is_file(), (name, url)
            if parts.fragment:
                assert parts.fragment in ids.get(target, set()), (name, url)
            checked += 1
    assert checked > 20


def test_footnotes_link_both_ways_and_are_listed_as_notes(site):
    notes = 0
    for chapter in site.chapters:
        doc = site.doc(f"{chapter.id}.html")
        section = doc.xpath("//section[@class='notes']")
        refs = doc.xpath("//a[@role='doc-noteref']")
        if not refs:
            assert not section
            continue
        title = doc.get_element_by_id(section[0].get("aria-labelledby"))
        assert text(title) == "Notes"
        for number, ref in enumerate(refs, 1):
            assert text(ref) == f"Note {number}"
            note = doc.get_element_by_id(ref.get("href")[1:])
            assert note.tag == "li" and note.getparent().tag == "ol" and note.getparent().getparent() is section[0]
            back = note.xpath(".//a[@role='doc-backlink']")[0]
            call = doc.get_element_by_id(back.get("href")[1:])
            assert ref in call.iter()
            assert f"Back to note {number} in the text" in text(back)
            notes += 1
    assert notes


def test_cross_references_go_to_the_right_page_and_show_the_print_page(mini_web):
    doc = mini_web.doc("second.html")
    link = doc.xpath("//a[contains(@class, 'xref')]")[0]
    assert link.get("href") == "first.html#what-changed"
    label = mini_web.pages.page_of("first", "what-changed")
    assert label
    after = link.getnext()
    assert after.get("class") == "print-page" and text(after) == f"(page {label} in the PDF)"
    # a reference to a figure shows no page, as in print
    figure_ref = mini_web.doc("first.html").xpath("//a[@href='#fig-boxes']")[0]
    assert figure_ref.getnext() is None or figure_ref.getnext().get("class") != "print-page"


def test_previous_and_next_chain_every_chapter_in_order(site):
    order = site.chapter_files()
    assert order == [f"{c.id}.html" for c in site.chapters]
    chain, name = [], "index.html"
    while True:
        nav = site.doc(name).xpath("//nav[@aria-label='Pagination']")
        following = nav[0].xpath(".//a[@rel='next']") if nav else []
        if not following:
            break
        name = following[0].get("href")
        chain.append(name)
        previous = site.doc(name).xpath("//nav[@aria-label='Pagination']//a[@rel='prev']")[0]
        assert previous.get("href") == (chain[-2] if len(chain) > 1 else "index.html")
    assert chain == order


def test_no_external_requests(site):
    for name in site.html_names():
        doc = site.doc(name)
        for element in doc.xpath("//link[@href] | //script[@src] | //img | //source | //iframe | //video | "
                                 "//audio | //object | //embed"):
            url = element.get("href") or element.get("src") or element.get("data") or ""
            assert not EXTERNAL.match(url), (name, url)
        assert not doc.xpath("//base | //meta[@http-equiv='refresh']"), name
    css = (site.root / "assets" / "web.css").read_text()
    assert "@import" not in css
    assert all(not EXTERNAL.match(url.strip("'\"")) for url in re.findall(r"url\(([^)]*)\)", css)
               if not url.strip("'\"").startswith("data:"))


# -- Print pages -----------------------------------------------------------------------------------------

def anchors_in_reading_order(site: Site) -> list[tuple[str, str]]:
    """(page, id) of every print-page anchor, chapter after chapter."""
    out = []
    for name in site.chapter_files():
        for span in site.doc(name).xpath("//span[@class='page-anchor']"):
            out.append((name, span.get("id")))
            assert span.get("role") == "doc-pagebreak" and not text(span)
            assert span.get("title") == f"Page {span.get('id').removeprefix('page-')}"
    return out


def test_page_anchors_match_the_pdf_pages_in_order(site):
    anchors = anchors_in_reading_order(site)
    labels = site.pdf.page_labels
    expected = [start.label for start in site.pages.starts]
    assert [anchor.removeprefix("page-") for _, anchor in anchors] == expected
    indexes = [labels.index(label) for label in expected]
    assert indexes == sorted(indexes) and len(set(indexes)) == len(indexes)  # increasing, no page twice
    assert len(labels) - len(anchors) == len(site.pages.skipped)


def alphanumeric(value: str) -> str:
    return "".join(char for char in value.casefold() if char.isalnum())


def test_text_after_each_page_anchor_is_on_that_pdf_page(sample_web):
    """Where each anchor is, the PDF's page begins: its next words are on that page."""
    labels = sample_web.pdf.page_labels
    for name, anchor in anchors_in_reading_order(sample_web):
        doc = sample_web.doc(name)
        for extra in doc.xpath("//*[@class='band-meta' or @class='visually-hidden' or @class='print-page']"):
            extra.drop_tree()  # not in the print edition's flow
        words = alphanumeric("".join(doc.get_element_by_id(anchor).xpath("following::text()")[:40]))[:12]
        assert letters(words) == 12
        page = alphanumeric(sample_web.pdf.pages[labels.index(anchor.removeprefix("page-"))].extract_text())
        assert words in page, (name, anchor, words)


def test_pages_html_lists_every_print_page_and_links_to_it(site):
    doc = site.doc("pages.html")
    items = doc.xpath("//ol[@class='page-list']/li")
    anchors = anchors_in_reading_order(site)
    assert [(item.get("id"), item.xpath("./a")[0].get("href")) for item in items] == \
        [(anchor, f"{name}#{anchor}") for name, anchor in anchors]
    assert doc.xpath("//script/@src") == ["assets/pages.js"]  # pages.html#page-23 goes on to the page


# -- Search, styles, fonts --------------------------------------------------------------------------------

def test_the_search_index_is_built(mini_web):
    names = mini_web.files()
    assert "_pagefind/pagefind.js" in names and "_pagefind/pagefind-ui.js" in names
    assert not any(name.startswith("_pagefind/pagefind-component-ui") for name in names)
    search = mini_web.doc("search.html")
    assert search.xpath("//script/@src") == ["_pagefind/pagefind-ui.js", "assets/search.js"]
    assert search.get_element_by_id("search-fallback") is not None  # without JavaScript: a message
    form = mini_web.doc("index.html").xpath("//form[@role='search']")[0]
    assert form.get("action") == "search.html" and form.xpath(".//label[@for='search-input']")


def test_without_pagefind_the_edition_has_no_search_and_one_warning(tmp_path, monkeypatch):
    monkeypatch.setattr(web, "PAGEFIND", [str(tmp_path / "no-such-pagefind")])
    site = Site(MINI, tmp_path / "web", with_pdf=False)
    warnings = site.diagnostics.items
    assert len(warnings) == 1 and warnings[0].location == NO_FILE
    assert "the web edition has no search: Pagefind could not run" in warnings[0].message
    names = site.files()
    assert "search.html" not in names and not any(name.startswith("_pagefind/") for name in names)
    for name in site.html_names():
        assert not site.doc(name).xpath("//a[@href='search.html'] | //form"), name


def test_no_search_option_and_the_single_file_from_the_command_line(tmp_path):
    err = io.StringIO()
    assert main(["web", str(MINI), "--no-search", "-o", str(tmp_path / "site"), "-q"], stderr=err) == 0, \
        err.getvalue()
    assert not (tmp_path / "site" / "search.html").exists() and (tmp_path / "site" / "index.html").is_file()
    assert main(["web", str(MINI), "--single-file", "-o", str(tmp_path / "one.html"), "-q"], stderr=err) == 0
    assert (tmp_path / "one.html").is_file()
    assert web.WRITER.configured({"single_file": True}).default_output("a-report") == Path("build/a-report-web.html")
    assert web.WRITER.default_output("a-report") == Path("build/a-report-web")


def test_fonts_are_the_packaged_ones_the_pages_use(mini_web):
    css = (mini_web.root / "assets" / "web.css").read_text()
    referenced = set(re.findall(r'url\("fonts/([^"]+)"\)', css))
    shipped = {name.removeprefix("assets/fonts/") for name in mini_web.files() if name.startswith("assets/fonts/")}
    assert referenced == shipped
    assert "SourceSansPro-Regular.ttf" in shipped  # the govuk theme's text and headings
    assert not any(name.startswith("SourceSerifPro") for name in shipped)  # not used by that theme
    assert not any("Semibold" in name for name in shipped)  # web.css uses regular and bold only
    assert css.index("/* tokens.css */") < css.index("/* themes/govuk.css */") < css.index("/* web.css */")


def _colours(css: str) -> dict[str, str]:
    return dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{6})", css))


def schemes() -> dict[str, dict[str, str]]:
    tokens = _colours((ROOT / "styles" / "tokens.css").read_text())
    css = (ROOT / "styles" / "web.css").read_text()
    dark = css[css.index("@media (prefers-color-scheme: dark)"):]
    dark = dark[: dark.index("\n}\n")]
    light = {**tokens, "web-focus": "#ffdd00", "web-on-focus": "#0b0c0c",
             "web-header": tokens["brand-dark"], "web-band": tokens["brand"], "web-on-band": tokens["on-brand"]}
    return {"light": light, "dark": {**light, **_colours(dark)}}


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("ink, background", [
    ("ink", "paper"), ("muted", "paper"), ("link", "paper"), ("accent", "paper"), ("brand", "paper"),
    ("ink", "tint"), ("link", "tint"), ("muted", "stripe"), ("ink", "stripe"),
    ("on-brand", "web-header"), ("web-on-band", "web-band"), ("web-on-focus", "web-focus"),
    *[(f"code-{name}", "code-paper") for name in ("ink", "comment", "keyword", "string", "number", "name", "meta")],
])
def test_text_colours_meet_wcag_aa_in_both_schemes(scheme, ink, background):
    colours = schemes()[scheme]
    assert contrast(colours[ink], colours[background]) >= 4.5, (scheme, ink, background)


# -- The single file -------------------------------------------------------------------------------------

def test_the_single_file_is_self_contained(mini_single):
    doc = mini_single.doc()
    assert not doc.xpath("//link[@rel='stylesheet'] | //script")
    css = doc.xpath("//style")[0].text
    assert "@font-face" in css and 'url("data:font/ttf;base64,' in css
    for element in doc.xpath("//*[@src]"):
        assert element.get("src").startswith("data:"), element.get("src")
    ids = doc.xpath("//@id")
    assert len(ids) == len(set(ids))
    for element in doc.xpath("//*[@href]"):
        href = element.get("href")
        if href.startswith("#"):
            assert href[1:] in ids, href
        else:
            assert href.startswith(("https:", "http:", "mailto:")), href
    assert len(doc.xpath("//h1")) == 1
    chapters = doc.xpath("//main/div/div/section[contains(@class, 'chapter')]")
    kinds = {"chapter": "Chapter", "appendix": "Appendix"}
    assert [text(section.xpath("./h2")[0]) for section in chapters] == \
        [f"{kinds[c.kind]} {c.label} {c.title}" if c.label else c.title for c in mini_single.chapters]
    assert doc.xpath("//h3[@id='first--what-changed']")  # the chapter's sections are one level down
    assert [a.get("id") for a in doc.xpath("//span[@class='page-anchor']")] == \
        [f"page-{start.label}" for start in mini_single.pages.starts]
    assert not mini_single.diagnostics.items


# -- Reproducibility ------------------------------------------------------------------------------------

def test_two_builds_are_byte_identical_search_index_included(mini_web, tmp_path):
    again = Site(MINI, tmp_path / "again", with_pdf=False)
    assert again.files() == mini_web.files()
    assert any(name.startswith("_pagefind/index/") for name in again.files())


def test_a_failed_build_keeps_the_previous_folder(mini_web, tmp_path):
    out = tmp_path / "kept"
    Site(MINI, out, with_pdf=False, search=False)
    before = {path: path.read_bytes() for path in out.rglob("*") if path.is_file()}
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "report.yaml").write_text((MINI / "report.yaml").read_text().replace("chapters/03-appendix.md",
                                                                                   "chapters/99-missing.md"))
    err = io.StringIO()
    assert main(["web", str(broken), "-o", str(out)], stderr=err) == 2
    assert {path: path.read_bytes() for path in out.rglob("*") if path.is_file()} == before


# -- A real browser --------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def browser_module():
    from build_report import browser

    reason = browser.chromium_missing()
    if reason:
        pytest.skip(reason)
    try:
        browser.axe_source()
    except browser.BrowserUnavailable as exc:
        pytest.skip(str(exc))
    return browser


def test_axe_finds_nothing_at_phone_and_desktop_widths(mini_web, mini_single, browser_module):
    findings = browser_module.check_pages(mini_web.root)
    findings += browser_module.check_pages(mini_single.root.parent, [mini_single.root.name])
    assert not findings, "\n".join(map(str, findings))


def test_screenshots_at_phone_and_desktop_widths_fill_the_width_and_show_the_title_band(sample_web, browser_module):
    """Full-page screenshots of the sample's index and a chapter at 320 and 1280 px, kept in
    build/screenshots/ for a person to look at (CI keeps them): never wider than the window (no
    sideways scroll), the title band in the brand colour across the whole width, text below it."""
    from PIL import Image

    shots = ROOT / "build" / "screenshots"
    chapter = sample_web.chapter_files()[4]
    brand = (0x0B, 0x5C, 0x6B)  # --brand in styles/tokens.css: the title band
    for page in ("index.html", chapter):
        for path, width in zip(browser_module.screenshots(sample_web.root, page, [320, 1280], shots), [320, 1280],
                               strict=True):
            image = Image.open(path).convert("RGB")
            assert image.width == width, f"{path.name}: {image.width} px wide, the window is {width}"
            assert image.height > 1500, f"{path.name}: only {image.height} px of page"
            edges = (0, width // 2, width - 1)
            band = [y for y in range(0, 400, 4) if all(image.getpixel((x, y)) == brand for x in edges)]
            assert band, f"{path.name}: no title band in {brand} across the page"
            below = image.crop((0, band[-1] + 40, width, band[-1] + 840))
            colours = below.getcolors(maxcolors=1 << 16) or []
            assert len(colours) > 20, f"{path.name}: nothing drawn below the title band"


WIDE_TABLES = """# Platforms

| Operating system | Architectures | Versions | Support | Notes |
|---|---|---|---|---|
| GNU/Linux | x64 | kernel 4.18 or later, glibc 2.28 | Tier 1 | for example Ubuntu 20.04, Debian 10[^kernel] |
| macOS | arm64 | 11.0 or later | Tier 1 | Apple silicon: Supercalifragilisticexpialidocious[^kernel] |

| Toolchain | Minimum version | Tested on |
|---|---|---|
| GCC | 10.1 | GNU/Linux, every architecture listed in the table above[^kernel] |

[^kernel]: Older kernels may work but are not tested.
"""


def test_wide_uncaptioned_tables_scroll_in_their_own_named_regions(tmp_path, browser_module):
    """Real-world tables (a README's platform list): no caption, wide cells with note calls. Each region
    has a name of its own, also in the single file, and nothing inside makes the page scroll sideways
    (visually hidden note labels are absolutely positioned: the region must contain them)."""
    import shutil

    manuscript = tmp_path / "m"
    shutil.copytree(MINI, manuscript)
    (manuscript / "chapters" / "02-second.md").write_text(WIDE_TABLES, encoding="utf-8")
    folder, single = Site(manuscript, tmp_path / "web", with_pdf=False), Site(
        manuscript, tmp_path / "one" / "web.html", single=True, with_pdf=False)
    regions = [region.get("aria-label") for region in folder.doc(folder.chapter_files()[2]).find_class("table-wrap")]
    assert regions == ["Table 1", "Table 2"]
    findings = browser_module.check_pages(folder.root) + browser_module.check_pages(single.root.parent)
    assert not findings, "\n".join(map(str, findings))
