"""Assemble stage: the parsed model -> HTML for each output.

The print edition is one HTML document that WeasyPrint lays out. Chapter
bodies keep their authored, chapter-local ids in the model; here they are
made document-wide (`chapter--id`), cross-references get real hrefs, and
footnotes move to where they are called (`float: footnote`).

`all_chapters` adds the generated appendix "Places quoted in this report",
which every format shows.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import mimetypes
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Literal
from xml.etree import ElementTree as etree

import jinja2

from . import __version__, fonts, glyphs, review, themes
from .diagnostics import BuildReportError
from .model import PLACES_ID, Chapter, Heading, Manuscript, Options  # noqa: F401 - Options: assemble.Options
from .text import letter

PACKAGE = Path(__file__).resolve().parent
TEMPLATES = PACKAGE / "templates"


def all_chapters(manuscript: Manuscript) -> list[Chapter]:
    """The authored chapters plus the generated places appendix."""
    chapters = list(manuscript.chapters)
    appendix = places_appendix(manuscript)
    if appendix is not None:
        chapters.append(appendix)
    return chapters


def places_appendix(manuscript: Manuscript) -> Chapter | None:
    """'Places quoted in this report': each place, its region and programme, and its quotes."""
    quotes = [(chapter, quote) for chapter in manuscript.chapters for quote in chapter.quotes]
    if not quotes:
        return None
    appendices = sum(1 for c in manuscript.chapters if c.kind == "appendix")
    chapter = Chapter(path="", id=PLACES_ID, title="Places quoted in this report", kind="appendix",
                      label=letter(appendices))
    body = etree.Element("div")
    intro = etree.SubElement(body, "p")
    intro.text = (f"This report quotes people from {len({q.place.key for _, q in quotes})} places. "
                  "Each place is listed with its region, its programme and the pages where it is quoted.")
    table = etree.SubElement(body, "table", {"class": "places"})
    caption = etree.SubElement(table, "caption")
    caption.text = "Places quoted, with the pages of their quotes"
    head = etree.SubElement(etree.SubElement(table, "thead"), "tr")
    for name in ("Place", "Region", "Programme", "Quoted on"):
        etree.SubElement(head, "th", {"scope": "col"}).text = name
    tbody = etree.SubElement(table, "tbody")
    by_place: dict[str, list] = {}
    for source, quote in quotes:
        by_place.setdefault(quote.place.key, []).append((source, quote))
    for key in sorted(by_place, key=lambda k: manuscript.places[k].name.lower()):
        place = manuscript.places[key]
        row = etree.SubElement(tbody, "tr", {"id": f"place-{key}"})
        etree.SubElement(row, "th", {"scope": "row"}).text = place.name
        etree.SubElement(row, "td").text = place.region
        etree.SubElement(row, "td").text = place.programme
        cell = etree.SubElement(row, "td", {"class": "pagerefs"})
        for index, (source, quote) in enumerate(by_place[key]):
            if index:
                cell[-1].tail = ", "
            label = f"quote {index + 1} from {place.name}, in {source.display_title}"
            etree.SubElement(cell, "a", {"class": "pageref", "data-chapter": source.id, "data-id": quote.id,
                                         "aria-label": label})
    chapter.body = body
    return chapter


# -- Rewriting a chapter body for one output -------------------------------------------------

Href = Callable[[str, str], str]  # (chapter id, local id or "") -> href

# Labels are text in the markup, never CSS `content:` (WCAG F87): screen readers, the EPUB
# and text extraction get them.
REGION_LABEL = "Region: "
DETAILS_LABEL = "Details"  # the summary of a <details> that has none (XHTML, so the EPUB, requires one)


def rewrite(chapter: Chapter, href: Href, id_for: Callable[[str], str],
            src_for: Callable[[str], str]) -> etree.Element:
    """A copy of the chapter body with ids, cross-references and images made real."""
    if chapter.body is None:
        raise ValueError(f"chapter '{chapter.id}' has not been parsed")
    body = copy.deepcopy(chapter.body)
    for element in body.iter():
        if local := element.get("id"):
            element.set("id", id_for(local))
        if element.tag == "a":
            if target := element.get("data-chapter"):
                element.set("href", href(target, element.get("data-id", "")))
            elif (link := element.get("href", "")).startswith("#"):  # footnote links
                element.set("href", "#" + id_for(link[1:]))
        if element.tag == "img" and (src := element.get("data-src")):
            element.set("src", src_for(src))
        if element.tag == "span" and element.get("class") == "region":  # a place quote's region
            element.text = f"{REGION_LABEL}{element.text or ''}"
        if element.tag == "details" and (not len(element) or element[0].tag != "summary"):
            _add_summary(element)
        for name in ("data-xref", "data-src"):
            element.attrib.pop(name, None)
    return body


def _add_summary(details: etree.Element) -> None:
    """A <details> gets a <summary> first, as browsers show one: the one it has further in, or "Details"."""
    summary = details.find("summary")
    if summary is not None:  # its tail stays where it was
        index = list(details).index(summary)
        if summary.tail:
            before = details[index - 1]
            before.tail = (before.tail or "") + summary.tail
        details.remove(summary)
    else:
        summary = etree.Element("summary")
        summary.text = DETAILS_LABEL
    summary.tail, details.text = details.text, None
    details.insert(0, summary)


CODE_COLUMNS = 78  # characters of code that fit the print text block at the code size (a theme's --code-columns)
_CONTINUATION = 2  # columns the continuation mark takes at the start of a wrapped line


def wrap_code(body: etree.Element, columns: int = CODE_COLUMNS) -> None:
    """Wrap code lines longer than `columns`, after a space where one is near.

    Each continuation starts with `<span class="code-continued">`, which the
    print styles draw as an arrow in the margin of the code (a CSS background,
    so an artifact: the code's text is unchanged apart from the line break)."""
    for pre in body.iter("pre"):
        column = 0
        for element, attr, parent in _text_slots(pre):
            text = getattr(element, attr) or ""
            start = 0
            while True:
                newline = text.find("\n", start)
                end = len(text) if newline == -1 else newline
                if column + end - start <= columns:
                    if newline == -1:
                        column += end - start
                        break
                    column, start = 0, newline + 1
                    continue
                cut = start + columns - column
                space = text.rfind(" ", max(start, cut - 16), cut)
                cut = space + 1 if space > start else cut
                mark = etree.Element("span", {"class": "code-continued", "aria-hidden": "true"})
                mark.tail = text[cut:]
                setattr(element, attr, text[:cut] + "\n")
                host, index = (element, 0) if attr == "text" else (parent, list(parent).index(element) + 1)
                host.insert(index, mark)  # the walk visits its tail next
                column = _CONTINUATION
                break


def _text_slots(root: etree.Element):
    """(element, "text" | "tail", parent) for every piece of text inside `root`, in reading order.

    Computed as the walk goes, so pieces inserted into the tree are visited too."""
    def walk(element: etree.Element):
        yield element, "text", None
        index = 0
        while index < len(element):
            child = element[index]
            yield from walk(child)
            yield child, "tail", element
            index += 1
    yield from walk(root)


def decorative_as_background(body: etree.Element) -> None:
    """Decorative images (`{.decorative}`) drawn as CSS backgrounds, which WeasyPrint
    marks as artifacts: a screen reader skips them, as `alt=""` asks."""
    for image in body.iter("img"):
        size = image.attrib.pop("data-size", "")
        if "decorative" not in image.get("class", "").split():
            continue
        width, _, height = size.partition("x")
        style = f"background-image: url('{image.get('src', '')}')"
        if width and height:
            style += f"; width: {width}px; height: {height}px"
        image.tag = "span"
        image.attrib.clear()
        image.set("class", "decorative-image")
        image.set("style", style)


def inline_footnotes(body: etree.Element) -> None:
    """Move each footnote's text to where it is called, as `<span class="footnote">`."""
    notes = {li.get("id"): li for li in body.iterfind(".//div[@class='footnote']/ol/li")}
    parents = {child: parent for parent in body.iter() for child in parent}
    for sup in list(body.iter("sup")):
        link = sup.find("a[@class='footnote-ref']")
        if link is None:
            continue
        note = notes.get(link.get("href", "")[1:])
        span = etree.Element("span", {"class": "footnote"})
        if note is not None:
            for back in list(note.iter("a")):
                if back.get("class") == "footnote-backref":
                    _remove(back, {c: p for p in note.iter() for c in p})
            for index, paragraph in enumerate(note):
                if index and len(span):
                    span[-1].tail = (span[-1].tail or "") + " "
                elif index:
                    span.text = (span.text or "") + " "
                _append_content(span, paragraph)
        span.tail = sup.tail
        parent = parents[sup]
        parent[list(parent).index(sup)] = span
    for div in body.findall(".//div[@class='footnote']"):
        _remove(div, parents)


def _append_content(target: etree.Element, source: etree.Element) -> None:
    if source.text:
        if len(target):
            target[-1].tail = (target[-1].tail or "") + source.text
        else:
            target.text = (target.text or "") + source.text
    for child in list(source):
        target.append(child)
    if len(target) and target[-1].tail:
        target[-1].tail = target[-1].tail.rstrip()
    elif target.text:
        target.text = target.text.rstrip()


def _remove(element: etree.Element, parents: dict) -> None:
    parent = parents[element]
    index = list(parent).index(element)
    if element.tail:
        if index:
            parent[index - 1].tail = (parent[index - 1].tail or "") + element.tail
        else:
            parent.text = (parent.text or "") + element.tail
    parent.remove(element)


def serialize(element: etree.Element, method: Literal["html", "xml"] = "html") -> str:
    """The content of `element` (not the element itself) as HTML, or XHTML with method="xml"."""
    parts = [_escape(element.text or "")]
    parts += [etree.tostring(child, encoding="unicode", method=method) for child in element]
    return "".join(parts)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# -- Names in the editions of one document per chapter (EPUB, web) ------------------------------------

def xml_id(value: str) -> str:
    """An id that XHTML accepts (an XML name without colons): 'fn:1' -> 'fn-1', '2020' -> 'id-2020'."""
    value = re.sub(r"[^\w.-]", "-", value)
    return value if re.match(r"[^\W\d]", value) else f"id-{value}"


def file_stem(value: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "-", value) or "chapter"


def file_names(ids: list[str]) -> dict[str, str]:
    """One package file per chapter id. Ids that differ only in case ('Intro', 'intro') would name
    one file where a container is unpacked case-insensitively (OCF asks for names unique after
    case folding), so later ones are numbered instead of overwriting, and dropping, the first."""
    names: dict[str, str] = {}
    folded: set[str] = set()
    for chapter_id in ids:
        stem = candidate = file_stem(chapter_id)
        count = 1
        while candidate.casefold() in folded:
            count += 1
            candidate = f"{stem}-{count}"
        folded.add(candidate.casefold())
        names[chapter_id] = f"{candidate}.xhtml"
    return names


def resource_path(rel: str) -> str:
    """A manuscript file's path inside the package: safe in hrefs without escaping, and never
    leaving the package (no '..' or empty segments, whatever the caller checked before)."""
    parts = [part for part in rel.split("/") if part not in ("", ".", "..")]
    return re.sub(r"[^A-Za-z0-9._/-]", "-", "/".join(parts))


def unique_id(candidate: str, taken: set[str]) -> str:
    """`candidate`, or `candidate-2`, `-3`... if an element of the document has that id already."""
    value, count = candidate, 1
    while value in taken:
        count += 1
        value = f"{candidate}-{count}"
    taken.add(value)
    return value


def is_noteref(element: etree.Element) -> bool:
    return element.tag == "sup" and element.find("a[@class='footnote-ref']") is not None


# -- The print document ---------------------------------------------------------------------

def file_url(path: Path) -> str:
    return path.resolve().as_uri()


def data_url(path: Path) -> str:
    kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if path.suffix == ".ttf":
        kind = "font/ttf"
    return f"data:{kind};base64,{base64.b64encode(path.read_bytes()).decode()}"


# The styles files of each output; the report's theme (themes/<name>.css) is added after them.
PRINT_STYLES = ["tokens.css", "code.css", "print.css"]
DRAFT_STYLES = [*PRINT_STYLES, "draft.css"]
EPUB_STYLES = ["tokens.css", "code.css", "epub.css"]


def print_styles(options: Options) -> list[str]:
    """The styles files of the print HTML for these options: the draft's additions for a draft,
    the press edition's (press.css: bleed, crop marks, chapters on rectos) for the print PDF."""
    return [*(DRAFT_STYLES if options.draft else PRINT_STYLES), *(["press.css"] if options.press else [])]


class ThemeMissing(BuildReportError):
    """The styles folder (`--styles DIR`) has no file for the report's theme."""


def with_theme(names: list[str], options: Options, theme: str) -> list[str]:
    """`names`, then the theme's file (the default theme when `theme` is ""), which must exist."""
    name = themes.file_name(theme)
    if not (options.styles / name).is_file():
        found = themes.available(options.styles)
        raise ThemeMissing(f"theme '{theme or themes.DEFAULT}': the styles folder {options.styles} has no {name}"
                           + (f" (it has {', '.join(found)})" if found else ""))
    return [*names, name]


def stylesheet(names: list[str], options: Options, url_for: Callable[[Path], str],
               families: set[str] | None = None, weight_ranges: bool = False, theme: str | None = None) -> str:
    """The @font-face rules (of `families` only, if given), then each named file of the styles folder,
    then (unless `theme` is None) the theme's file: "" is the default theme."""
    if theme is not None:
        names = with_theme(names, options, theme)
    parts = [fonts.font_face_css(url_for, families, weight_ranges)]
    for name in names:
        path = options.styles / name
        parts.append(f"/* {name} */\n" + path.read_text(encoding="utf-8"))
    return "\n\n".join(parts)


def stylesheet_origin(names: list[str], options: Options, line: int,
                      theme: str | None = None) -> tuple[Path, int] | None:
    """Which styles file, and which of its lines, line `line` of `stylesheet(names, ..., theme)` came from.

    The theme's file comes last, so without `theme` every other file's lines are still found."""
    if theme is not None:
        names = with_theme(names, options, theme)
    start = fonts.font_face_css(str).count("\n") + 3  # the blank line, then the /* name */ comment
    for name in names:
        length = (options.styles / name).read_text(encoding="utf-8").count("\n") + 1
        if start < line <= start + length:
            return options.styles / name, line - start
        start += length + 2
    return None


def environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters["longdate"] = long_date
    return env


def long_date(value: str) -> str:
    """'2026-11-02' -> '2 November 2026'."""
    date = dt.date.fromisoformat(value)
    return f"{date.day} {date.strftime('%B')} {date.year}"


def print_html(manuscript: Manuscript, options: Options) -> str:
    """The whole report as one HTML document for WeasyPrint."""
    url_for = data_url if options.self_contained else file_url
    chapters = all_chapters(manuscript)
    kinds = {chapter.id: chapter.kind for chapter in chapters}
    if options.only:
        chapters = [c for c in chapters if c.id == options.only]

    def href(chapter_id: str, local: str) -> str:
        return f"#{chapter_id}--{local}" if local else f"#{chapter_id}"

    def print_id(chapter_id: str, local: str) -> str:  # ids are unique once prefixed with the chapter's
        return f"{chapter_id}--{local}"

    theme = manuscript.report.theme
    columns = themes.token(options.styles / with_theme([], options, theme)[0], "code-columns")
    included = {c.id for c in chapters}
    # Cross-references to a chapter or a heading show the page number; those to figures, tables and quotes don't.
    paged = {(c.id, "") for c in chapters} | {(c.id, h.id) for c in chapters for h in c.headings}
    rendered = []
    for chapter in chapters:
        body = rewrite(chapter, href, partial(print_id, chapter.id), lambda rel: url_for(manuscript.root / rel))
        inline_footnotes(body)
        decorative_as_background(body)
        wrap_code(body, int(columns) if columns and columns.isdigit() else CODE_COLUMNS)
        if options.draft:
            review.mark_for_review(body, chapter, options.source_refs)
        for anchor in body.iter("a"):
            target = anchor.get("data-chapter")
            if target and target not in included:  # a per-chapter draft: plain text
                anchor.tag = "span"
                anchor.attrib.clear()
                anchor.set("class", "xref-elsewhere")
            elif target:
                if kinds.get(target) == "front":
                    anchor.set("class", anchor.get("class", "") + " front")
                if (target, anchor.get("data-id", "")) in paged:
                    anchor.set("class", anchor.get("class", "") + " show-page")
        rendered.append((chapter, serialize(body)))

    # The self-contained HTML embeds only the fallback fonts that its characters need.
    families = glyphs.families_used(manuscript) if options.self_contained else None
    css = stylesheet(print_styles(options), options, url_for, families, theme=theme)
    return environment().get_template("pdf/print.html.j2").render(
        report=manuscript.report, chapters=rendered, toc=_toc(chapters), css=css,
        options=options, version=__version__, status=dict(options.status),
        front=[(c, html) for c, html in rendered if c.kind == "front"],
        body=[(c, html) for c, html in rendered if c.kind != "front"],
    )


@dataclass(frozen=True)
class TocEntry:
    chapter: Chapter
    sections: list[Heading]


def _toc(chapters: list[Chapter]) -> list[TocEntry]:
    return [TocEntry(c, [h for h in c.headings if h.level == 2] if c.kind != "front" else []) for c in chapters]

