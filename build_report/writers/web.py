"""Render and write stages for the web edition: an accessible, responsive HTML publication in the
style of a GOV.UK HTML publication, readable without JavaScript and making no external request.

    model -> print layout (build.layout) -> page map (pagemap.py)
          -> HTML pages (templates web/*.html.j2) -> Pagefind search index -> output.write_tree

The pages are made from the same parsed model as the PDF and the EPUB; Markdown is
never parsed again. Each chapter body is rewritten with `assemble.rewrite`. The
folder (default build/<slug>-web/) holds:

    index.html            title band, summary, details (publisher, date, version), contents, search box
    <chapter>.html        one page per chapter (its id, tidied: assemble.file_names), places appendix last;
                          each opens with the contents of its sections and ends with its notes and
                          previous/next links
    pages.html            the pages of the print edition (PDF), each linked to where it begins;
                          pages.html#page-23 (and index.html#page-23) is that page's link, and
                          JavaScript (assets/pages.js) goes on to the chapter at once
    search.html           the search page (Pagefind's default UI): a message without JavaScript
    assets/web.css        @font-face rules, tokens.css, the theme, code.css, web.css
    assets/fonts/*.ttf    the packaged fonts the pages use (main families whole, fallbacks subset)
    assets/search.js, assets/pages.js
    images/<path>         the manuscript's images, at their manuscript paths (tidied, confined)
    _pagefind/            the search index (Pagefind), unless --no-search or Pagefind is missing

Ids inside a chapter page are the chapter's own (`assemble.xml_id`); cross-references become
`<chapter>.html#id`, and those that show a page number in print get "(page 23 in the PDF)".
Footnotes become a numbered "Notes" list at the end of the chapter, with links both ways.
Where a print page begins there is an empty `<span id="page-23" class="page-anchor"
role="doc-pagebreak" title="Page 23">`, as in the EPUB but named by `title`: axe-core ignores
DPUB roles when it checks where `aria-label` is allowed, and would flag the span.

`--single-file` writes one self-contained page instead (default build/<slug>-web.html), for email:
every chapter is a <section> of it (chapter titles h2, their headings one level down), ids are
prefixed with the chapter's (`<chapter>--<id>`), the CSS is inline, the images and the fonts are
data: URLs, and there is no search. If the fonts would add more than FONT_BUDGET bytes, they are
left out and the reader's own fonts are used.

Every string shown to readers is in LABELS (or the templates), for editions in other languages.
"""

from __future__ import annotations

import base64
import importlib.util
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from xml.etree import ElementTree as etree

from .. import __version__, glyphs, pagemap
from ..assemble import (
    TEMPLATES,
    Options,
    all_chapters,
    data_url,
    environment,
    file_names,
    file_stem,
    is_noteref,
    resource_path,
    rewrite,
    serialize,
    unique_id,
    with_theme,
    xml_id,
)
from ..diagnostics import NO_FILE
from ..fonts import DISPLAY, FALLBACKS, MAIN, MONO, TEXT, Face, faces, font_face_css, subset
from ..model import Chapter, Manuscript
from ..output import write_atomic, write_tree
from ..themes import token
from . import Setting, Writer

if TYPE_CHECKING:
    from ..build import Build

# What readers read, in one place (a Welsh edition replaces this dict). Templates get it as `labels`.
LABELS = {
    "skip": "Skip to main content",
    "site_nav": "Report",
    "contents": "Contents",
    "search": "Search",
    "search_title": "Search this report",
    "search_button": "Search",
    "search_label": "Search this report",
    "search_no_js": "Search needs JavaScript, which is off or not supported in this browser. "
                    "The contents list every chapter and section.",
    "search_file": "Search works when this edition is on a web server, not when it is opened as a file. "
                   "The contents list every chapter and section.",
    "published": "Published",
    "published_by": "Published by",
    "author": "Author",
    "authors": "Authors",
    "date": "Date",
    "version": "Version",
    "identifier": "Identifier",
    "details": "About this report",
    "summary": "Summary",
    "notes": "Notes",
    "note": "Note",  # read before a note's number: "Note 3"
    "back_to_note": "Back to note {number} in the text",
    "pagination": "Pagination",
    "previous": "Previous",
    "next": "Next",
    "chapter_word": "chapter",  # read after Previous/Next: "Next chapter"
    "back_to_contents": "Back to contents",
    "go_to_contents": "Go to the contents",
    "chapter": "Chapter",
    "appendix": "Appendix",
    "print_page": "(page {page} in the PDF)",
    "page": "Page {page}",
    "pageref": "page {page}: {what}",
    "quote": "quote",
    "table": "Table {number}",  # a table without a caption: numbered, so each region's name is its own
    "table_in": "Table {number} in {chapter}",  # the same in the single file, where chapters share a page
    "pages_title": "Pages of the print edition",
    "pages_intro": "The page numbers in this edition are those of the print edition (PDF). "
                   "Each page below links to the place in this edition where it begins.",
    "pages_skipped": "Pages {pages} of the print edition are not listed: they hold the cover, "
                     "the imprint and the contents, or are blank.",
    "pages_link": "Find a page of the print edition (PDF)",
    "generator": "Made with build_report",
    "page_title": "{page} \u2013 {report}",  # the <title> of a page other than the index
}

FONT_BUDGET = 5_000_000  # bytes of font files: over this, the single file uses the reader's fonts
WEIGHTS = {None, 400, 700}  # web.css uses regular and bold only (None: a variable font, every weight)
SEARCH_DIR = "_pagefind"
# Pagefind files the default UI never loads: its component and modular UIs and its highlighter.
SEARCH_UNUSED = ("pagefind-component-ui.", "pagefind-modular-ui.", "pagefind-highlight.")
PAGEFIND = [sys.executable, "-m", "pagefind"]  # the binary of the pagefind-bin wheel, through its package
PAGEFIND_TIMEOUT = 300  # seconds
STYLES = ["tokens.css", "code.css", "web.css"]  # the theme's file goes after tokens.css (_stylesheet)
SCRIPTS = ("search.js", "pages.js")  # templates/web/<name> -> assets/<name>
GENERATED_PAGES = ("index", "pages", "search")  # no chapter may take their file names


class Web(Writer):
    name = "web"
    help = "build the web edition: accessible HTML pages with search (default build/<slug>-web/)"
    suffix = "-web/"
    settings_spec = (
        Setting("--single-file", "write one self-contained HTML file (for email) instead of a folder"),
        Setting("--no-search", "leave out the search page and its index (Pagefind)"),
    )

    def default_output(self, slug: str) -> Path:
        if self.settings.get("single_file"):
            return Path("build") / f"{slug}-web.html"
        return super().default_output(slug)

    def write(self, build: Build, out: Path) -> None:
        pages = build.page_map()
        single = bool(self.settings.get("single_file"))
        with build.timer.stage("web"):
            edition = Edition(build.manuscript, build.options, pages, single=single)
            if single:
                html = edition.single_file()
            else:
                search = not self.settings.get("no_search")
                files = edition.site(search=search)
        if single:
            with build.timer.stage("write"):
                write_atomic(out, html)
            return
        if search:
            with build.timer.stage("search"):
                index, problem = search_index(files)
            if problem:
                build.diagnostics.warning(NO_FILE, f"the web edition has no search: {problem}")
                with build.timer.stage("web"):
                    files = edition.site(search=False)
            files.update(index)
        with build.timer.stage("write"):
            write_tree(out, files)


WRITER = Web()


# -- Search -------------------------------------------------------------------------------------------

def search_index(files: dict[str, bytes | str]) -> tuple[dict[str, bytes], str]:
    """Pagefind's index of the pages in `files`: (its files under _pagefind/, "") or ({}, why there is none).

    The pages are written to a temporary folder for Pagefind (run as `python -m pagefind`, the
    binary of the pagefind[bin] wheel). Its output depends only on the pages: two runs over
    the same pages write the same bytes (tests/test_web.py checks)."""
    if importlib.util.find_spec("pagefind") is None:
        return {}, "the pagefind package is not installed (pip install 'pagefind[bin]')"
    with tempfile.TemporaryDirectory(prefix="build-report-web-") as tmp:
        site = Path(tmp) / "site"
        for name, data in files.items():
            if name.endswith(".html"):
                path = site / name
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
        command = [*PAGEFIND, "--site", str(site), "--output-subdir", SEARCH_DIR, "--silent"]
        try:
            result = subprocess.run(command, capture_output=True, timeout=PAGEFIND_TIMEOUT, cwd=tmp,
                                    env={**os.environ, "NO_COLOR": "1"}, check=False)
        except subprocess.TimeoutExpired:
            return {}, f"Pagefind did not finish in {PAGEFIND_TIMEOUT} s"
        except OSError as exc:
            return {}, f"Pagefind could not run ({exc.strerror or exc})"
        bundle = site / SEARCH_DIR
        if result.returncode != 0 or not (bundle / "pagefind.js").is_file():
            said = (result.stderr or result.stdout).decode("utf-8", "replace").strip().splitlines()
            return {}, f"Pagefind failed (exit {result.returncode}{': ' + said[-1] if said else ''})"
        return {f"{SEARCH_DIR}/{path.relative_to(bundle).as_posix()}": path.read_bytes()
                for path in sorted(bundle.rglob("*"))
                if path.is_file() and not path.name.startswith(SEARCH_UNUSED)}, ""


# -- The edition --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Link:
    title: str
    href: str
    label: str = ""  # "Chapter 2", "Appendix A", a section number


@dataclass(frozen=True)
class PageLink:
    """Where a print page begins: its label ("iv", "23"), its URL and its anchor's id."""

    label: str
    href: str
    id: str


@dataclass
class Entry:
    """A line of a contents list, with the lines under it."""

    link: Link
    children: list[Entry] = field(default_factory=list)


@dataclass
class Page:
    """One chapter, rewritten for the web: a page of its own, or a section of the single file."""

    chapter: Chapter
    file: str  # "first.html"; in the single file, "" (every href is a fragment)
    section_id: str  # the chapter's <section>; "" in a page of its own
    title_id: str
    main_id: str
    contents_id: str
    notes_id: str
    opening: str  # the page anchor(s) at the chapter title
    body: str
    notes: str  # the <li> of each note
    sections: list[Link]
    heading: int  # the level of the chapter title: 1 on its own page, 2 in the single file

    @property
    def label(self) -> str:
        return _chapter_label(self.chapter)


class Edition:
    """The web edition of one manuscript: its pages, styles, fonts and images."""

    def __init__(self, manuscript: Manuscript, options: Options, pages: pagemap.PageMap, single: bool = False):
        self.manuscript = manuscript
        self.report = manuscript.report
        self.options = options
        self.pages = pages
        self.single = single
        self.chapters = all_chapters(manuscript)
        named = file_names([*GENERATED_PAGES, *(chapter.id for chapter in self.chapters)])
        self.files = {chapter.id: named[chapter.id].removesuffix(".xhtml") + ".html" for chapter in self.chapters}
        self.templates = environment()
        self.images: dict[str, str] = {}  # manuscript path -> path in the folder
        self.page_links: list[PageLink] = []  # every page anchor, in page order (pages.html)
        # The single file's ids are one set; a chapter page has its own.
        self.taken = {"main-content", "title", "contents", "contents-title", "summary", "details-title"} | {
            f"page-{start.label}" for start in pages.starts}
        self.section_ids = {chapter.id: unique_id(xml_id(file_stem(chapter.id)), self.taken)
                            for chapter in self.chapters} if single else {}
        self.taken -= {f"page-{start.label}" for start in pages.starts}  # now taken in document order
        self.paged = {(c.id, "") for c in self.chapters} | {(c.id, h.id) for c in self.chapters for h in c.headings}
        self.rendered = [self._chapter(chapter) for chapter in self.chapters]  # fills images and page_links

    # Pages

    def site(self, search: bool = True) -> dict[str, bytes | str]:
        """Every file of the folder but the search index."""
        common = {"search": search, "css": "assets/web.css"}
        files: dict[str, bytes | str] = {}
        for index, page in enumerate(self.rendered):
            previous = self._pager(self.rendered[index - 1]) if index else Link(LABELS["contents"], "index.html")
            following = self._pager(self.rendered[index + 1]) if index + 1 < len(self.rendered) else None
            files[page.file] = self._render("web/chapter.html.j2", page=page, previous=previous, next=following,
                                            title=self._title(page.chapter.display_title), **common)
        first = self._pager(self.rendered[0]) if self.rendered else None
        files["index.html"] = self._render("web/index.html.j2", contents=self._contents(), next=first,
                                           title=self.report.title, **common)
        files["pages.html"] = self._render("web/pages.html.j2", pages=self.page_links, skipped=self.pages.skipped,
                                           title=self._title(LABELS["pages_title"]), **common)
        if search:
            files["search.html"] = self._render("web/search.html.j2", title=self._title(LABELS["search"]), **common)
        for name in SCRIPTS:
            files[f"assets/{name}"] = (TEMPLATES / "web" / name).read_text(encoding="utf-8")
        chars = glyphs.printed("".join(text for text in files.values() if isinstance(text, str)))
        used = self._faces(chars, files.values())
        names = {face.path: face.file_name for face, _ in used}
        files["assets/web.css"] = self._stylesheet(lambda path: f"fonts/{names.get(path, '')}", used)
        files.update({f"assets/fonts/{face.file_name}": data for face, data in used})
        root = self.manuscript.root
        files.update({path: (root / rel).read_bytes() for rel, path in sorted(self.images.items())})
        return files

    def single_file(self) -> str:
        """The whole edition as one page: CSS inline, images and fonts as data: URLs."""
        context = {"contents": self._contents(), "pages_list": self.rendered, "search": False,
                   "title": self.report.title}
        body = self._render("web/single.html.j2", css="", **context)
        chars = glyphs.printed(body)
        used = self._faces(chars, [body])
        if sum(len(data) for _, data in used) > FONT_BUDGET:
            used = []  # the reader's own fonts rather than an absurd e-mail
        data = {face.path: content for face, content in used}
        css = self._stylesheet(lambda path: _font_data_url(data.get(path, b"")), used)
        return self._render("web/single.html.j2", css=css, **context)

    def _render(self, template: str, **context) -> str:
        return self.templates.get_template(template).render(
            report=self.report, language=self.report.language, labels=LABELS, version=__version__,
            single=self.single, **context)

    def _title(self, page: str) -> str:
        return LABELS["page_title"].format(page=page, report=self.report.title)

    def _pager(self, page: Page) -> Link:
        return Link(page.chapter.title, page.file, _chapter_label(page.chapter))

    def _contents(self) -> list[Entry]:
        """Each chapter, with its sections (not for front matter, as in the print contents)."""
        entries = []
        for page in self.rendered:
            href = page.file or f"#{page.section_id}"
            children = [Entry(Link(link.title, page.file + link.href, link.label)) for link in page.sections
                        if page.chapter.kind != "front"]
            entries.append(Entry(Link(page.chapter.title, href, _chapter_label(page.chapter)), children))
        return entries

    # Chapters

    def _chapter(self, chapter: Chapter) -> Page:
        if self.single:
            taken = self.taken
            prefix = self.section_ids[chapter.id] + "--"
        else:
            taken, prefix = set(), ""

        def id_for(local: str) -> str:
            return xml_id(prefix + local)

        body = rewrite(chapter, self._href(chapter), id_for, self._image)
        taken |= {element.get("id", "") for element in body.iter() if element.get("id")}
        ids = {name: unique_id(prefix + name if prefix else name, taken)
               for name in ("main-content", "chapter-title", "contents-title", "notes-title")}
        if self.single:
            ids["main-content"] = "main-content"
        starts = self.pages.for_chapter(chapter.id)
        file = "" if self.single else self.files[chapter.id]
        markers = {start.index: self._page_anchor(start, file, taken) for start in starts}  # in page order
        pagemap.mark(body, starts, lambda start: markers[start.index], is_noteref)
        notes = _notes(body)
        for note in notes:
            _clean(note)
        self._links(body)
        _tables(body, taken, prefix, chapter.display_title if self.single else "")
        _boxes(body, taken, prefix)
        _quotes(body)
        _code(body)
        _images(body)
        if self.single:
            _demote(body)
        _clean(body)
        sections = [Link(heading.title, f"#{id_for(heading.id)}", heading.number)
                    for heading in chapter.headings if heading.level == 2]
        return Page(chapter, file, self.section_ids.get(chapter.id, ""), ids["chapter-title"], ids["main-content"],
                    ids["contents-title"], ids["notes-title"],
                    "".join(_html(markers[start.index]) for start in starts if start.path is None),
                    serialize(body), "".join(map(_html, notes)), sections, 2 if self.single else 1)

    def _href(self, current: Chapter) -> Callable[[str, str], str]:
        def href(chapter_id: str, local: str) -> str:
            if self.single:
                section = self.section_ids[chapter_id]
                return f"#{xml_id(section + '--' + local)}" if local else f"#{section}"
            if chapter_id == current.id and local:
                return f"#{xml_id(local)}"
            return f"{self.files[chapter_id]}#{xml_id(local)}" if local else self.files[chapter_id]
        return href

    def _image(self, rel: str) -> str:
        """The URL of a manuscript image: a data: URL in the single file, else images/<its path>."""
        if self.single:
            return data_url(self.manuscript.root / rel)
        if rel not in self.images:
            path = resource_path(rel)
            candidate = path if path.startswith("images/") else f"images/{path}"
            stem, dot, suffix = candidate.rpartition(".")
            count = 1
            while candidate in self.images.values():
                count += 1
                candidate = f"{stem}-{count}.{suffix}" if dot else f"{candidate}-{count}"
            self.images[rel] = candidate
        return self.images[rel]

    def _page_anchor(self, start: pagemap.PageStart, file: str, taken: set[str]) -> etree.Element:
        """The empty element where a print page begins; pages.html lists it."""
        element_id = unique_id(f"page-{start.label}", taken)
        self.page_links.append(PageLink(start.label, f"{file}#{element_id}", element_id))
        return etree.Element("span", {"id": element_id, "class": "page-anchor", "role": "doc-pagebreak",
                                      "title": LABELS["page"].format(page=start.label)})

    def _links(self, body: etree.Element) -> None:
        """Cross-references that show a page in print say which; the places appendix's page references
        show the print page of each quote."""
        parents = {child: parent for parent in body.iter() for child in parent}
        for anchor in list(body.iter("a")):
            target, local = anchor.get("data-chapter"), anchor.get("data-id", "")
            if not target:
                continue
            label = self.pages.page_of(target, local)
            classes = anchor.get("class", "").split()
            if "pageref" in classes:
                anchor.text = label or LABELS["quote"]
                if label:
                    what = anchor.get("aria-label", "")
                    anchor.set("aria-label", LABELS["pageref"].format(page=label, what=what).rstrip(": "))
            elif label and (target, local) in self.paged:
                note = etree.Element("span", {"class": "print-page"})
                note.text = LABELS["print_page"].format(page=label)
                note.tail, anchor.tail = anchor.tail, " "
                parent = parents[anchor]
                parent.insert(list(parent).index(anchor) + 1, note)

    # Styles and fonts

    def _faces(self, chars: set[str], texts) -> list[tuple[Face, bytes]]:
        """The faces the pages use, with their bytes: the text and heading families whole, the code
        family if there is code, and each fallback that draws a character the others lack, subset."""
        theme = with_theme([], self.options, self.report.theme)[0]
        text_font = token(self.options.styles / theme, "font-text") or ""
        keep = {DISPLAY} | ({TEXT} if "--font-serif" in text_font or TEXT in text_font else set())
        if any(isinstance(text, str) and any(tag in text for tag in ("<pre", "<code", "<kbd", "<samp"))
               for text in texts):
            keep.add(MONO)
        coverage = glyphs.coverage()
        covered = frozenset().union(*(coverage[family] for family in keep))
        extra = {char for char in chars if ord(char) not in covered}
        needed = {ord(char) for char in extra}
        for family in FALLBACKS:
            if family not in keep and needed & coverage[family]:
                keep.add(family)
                needed -= coverage[family]
        return [(face, face.path.read_bytes() if face.family in MAIN else subset(face.path, extra))
                for face in faces() if face.family in keep and face.weight in WEIGHTS]

    def _stylesheet(self, url_for: Callable[[Path], str], used: list[tuple[Face, bytes]]) -> str:
        """@font-face rules of the faces used, tokens.css, the theme, code.css and web.css."""
        families = {face.family for face, _ in used}
        wanted = {face.path for face, _ in used}
        # One line per face; faces of these families that are not used (semibold) are left out here.
        rules = font_face_css(url_for, families, weight_ranges=True).splitlines()
        parts = ["\n".join(rule for face, rule in zip(faces(), rules, strict=True) if face.path in wanted)]
        names = [*with_theme(STYLES[:1], self.options, self.report.theme), *STYLES[1:]]
        for name in names:
            parts.append(f"/* {name} */\n" + (self.options.styles / name).read_text(encoding="utf-8"))
        return "\n\n".join(part for part in parts if part)


def _font_data_url(data: bytes) -> str:
    return f"data:font/ttf;base64,{base64.b64encode(data).decode()}"


def _chapter_label(chapter: Chapter) -> str:
    if chapter.kind in ("chapter", "appendix") and chapter.label:
        return f"{LABELS[chapter.kind]} {chapter.label}"
    return ""


def _html(element: etree.Element) -> str:
    return etree.tostring(element, encoding="unicode", method="html")


# -- Chapter body markup ------------------------------------------------------------------------------

def _parents(body: etree.Element) -> dict[etree.Element, etree.Element]:
    return {child: parent for parent in body.iter() for child in parent}


def _hidden(text: str, tail: str | None = None) -> etree.Element:
    span = etree.Element("span", {"class": "visually-hidden"})
    span.text, span.tail = text, tail
    return span


def _notes(body: etree.Element) -> list[etree.Element]:
    """Python-Markdown's footnotes as a numbered list: the notes' <li>s, removed from the body.

    Each call says "Note" to screen readers before its number; each note's backlink says
    where it goes. Notes are numbered in the order they are called (markdown/footnotes.py)."""
    numbers = {}
    for sup in body.iter("sup"):
        for ref in sup.iterfind("a[@class='footnote-ref']"):
            ref.set("role", "doc-noteref")
            number = "".join(ref.itertext())
            numbers[ref.get("href", "")[1:]] = number
            ref.text = None
            ref[:] = [_hidden(LABELS["note"] + " ", number)]
    items = []
    for block in body.findall("div[@class='footnote']"):
        body.remove(block)
        for count, item in enumerate(block.iterfind("ol/li"), 1):
            shown = numbers.get(item.get("id", ""), str(count))
            for back in item.iter("a"):
                if back.get("class") == "footnote-backref":
                    back.attrib.pop("title", None)
                    back.set("role", "doc-backlink")
                    arrow = etree.Element("span", {"aria-hidden": "true"})
                    arrow.text = back.text
                    back.text = None
                    back[:] = [arrow, _hidden(LABELS["back_to_note"].format(number=shown))]
            items.append(item)
    return items


def _tables(body: etree.Element, taken: set[str], prefix: str, chapter: str = "") -> None:
    """Each table in a focusable region that scrolls on its own, named by its caption (else numbered,
    with the `chapter` named where several share a page); header cells get a scope."""
    parents = _parents(body)
    uncaptioned = 0
    for table in list(body.iter("table")):
        parent = parents[table]
        caption = table.find("caption")
        region = etree.Element("div", {"class": "table-wrap", "role": "region", "tabindex": "0"})
        if caption is not None:
            if not caption.get("id"):
                caption.set("id", unique_id(f"{table.get('id') or prefix + 'table'}-caption", taken))
            region.set("aria-labelledby", caption.get("id", ""))
        else:
            uncaptioned += 1
            name = LABELS["table_in"] if chapter else LABELS["table"]
            region.set("aria-label", name.format(number=uncaptioned, chapter=chapter))
        index = list(parent).index(table)
        region.tail, table.tail = table.tail, None
        parent[index] = region
        region.append(table)
        for group, scope in (("thead", "col"), ("tbody", "row"), ("tfoot", "row")):
            for cell in table.iterfind(f"{group}/tr/th"):
                cell.attrib.setdefault("scope", scope)
        for cell in table.iterfind("tr/th"):  # a table without row groups: a header row, or header cells
            cell.attrib.setdefault("scope", "col")


def _boxes(body: etree.Element, taken: set[str], prefix: str) -> None:
    """Boxes are notes named by their title; an aside in <main> would be a complementary landmark
    that is not top level, so every aside becomes a <div>."""
    for aside in body.iter("aside"):
        aside.tag = "div"
        title = aside.find("p[@class='box-title']")
        if "box" in aside.get("class", "").split() and title is not None:
            title.set("id", title.get("id") or unique_id(f"{prefix}box-title", taken))
            aside.set("role", "note")
            aside.set("aria-labelledby", title.get("id", ""))


def _quotes(body: etree.Element) -> None:
    """A quote's place (or the person credited) is the <cite> of its figcaption."""
    for figure in body.iter("figure"):
        classes = figure.get("class", "").split()
        if "place-quote" in classes or "quote" in classes:
            for span in figure.iterfind("figcaption/span"):
                if span.get("class") in ("place", "credit"):
                    span.tag = "cite"


def _code(body: etree.Element) -> None:
    """A code block scrolls on its own: it can take the keyboard focus."""
    for pre in body.iter("pre"):
        pre.set("tabindex", "0")


def _images(body: etree.Element) -> None:
    """The image's size (from the model) as width and height, so the page does not jump as it loads."""
    for image in body.iter("img"):
        width, _, height = image.attrib.pop("data-size", "").partition("x")
        if width.isdigit() and height.isdigit():
            image.set("width", width)
            image.set("height", height)


def _demote(body: etree.Element) -> None:
    """Headings one level down (the single file's chapter titles are h2); below h6, an ARIA heading."""
    for element in body.iter():
        if element.tag in ("h1", "h2", "h3", "h4", "h5"):
            element.tag = f"h{int(element.tag[1]) + 1}"
        elif element.tag == "h6":
            element.tag = "p"
            element.set("role", "heading")
            element.set("aria-level", "7")
            element.set("class", (element.get("class", "") + " heading-7").strip())


def _clean(body: etree.Element) -> None:
    """The model's bookkeeping attributes (source lines, place keys, link targets) are not for readers."""
    for element in body.iter():
        for name in [name for name in element.attrib if name.startswith("data-")]:
            del element.attrib[name]
