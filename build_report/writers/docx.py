"""The Word edition for reviewers: a DOCX with tracked changes and comments, and what import needs.

    model -> assemble.rewrite (per chapter) -> HTML for pandoc -> pandoc (pypandoc-binary, --sandbox,
    --reference-doc styles/reference.docx) -> OOXML finished with lxml -> a deterministic zip

pandoc writes what Word needs from plain HTML: Heading 1-6 styles (Word's navigation
pane), real footnotes (footnotes.xml), tables with a repeated header row, pictures with
their alt text (`wp:docPr/@descr`) and captions, paragraph styles named by
`data-custom-style` ("Place Quote", "Quote Attribution", "Box", "Box Title"), tracked
changes (`span.insertion` / `span.deletion` with an author and a date become `w:ins` /
`w:del`) and comments (`span.comment-start` / `comment-end`). The open review marks of
the manuscript are written that way: `{++x++}{>>Ann, 2026-11-20<<}` is an insertion by
Ann, `{==x==}{>>Bob: why?<<}` a comment by Bob on "x", a lone `{>>...<<}` a comment at
that point. pandoc runs with `--sandbox`: it reads the HTML and the reference document
and nothing else; images reach it as data: URLs (SVG figures drawn to PNG by resvg with
the packaged fonts only), so nothing outside the manuscript, the styles and the package
is read, and nothing is fetched.

Then the OOXML is finished with lxml:

- a page header "Draft – not for publication · v0.3 · commit abc1234" (review.draft_stamp);
- docProps/custom.xml: the commit, whether the tree had uncommitted changes, the version
  and the title, which `build-report import-docx` checks;
- a bookmark `br_CC_LLL` at the start of every paragraph that came from a chapter file
  (CC its place in report.yaml's list, LLL the line), which Word keeps, and a custom XML
  part (customXml/item1.xml) mapping each bookmark to its file and line with the text and
  tracked changes exported there, and each chapter file to the SHA-256 of its bytes:
  import compares the reviewed document with it (docx_import.py);
- the picture's non-visual description (pandoc writes the image's path there) is the alt
  text too; comment ids are numbers; core properties are dated SOURCE_DATE_EPOCH (else
  the report's date); the zip is written with one timestamp (output.deterministic_zip).

Run `python -m build_report.writers.docx styles/reference.docx` to write the reference
document again (pandoc's own, with the report's fonts and the styles above).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import html
import io
import os
import re
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from xml.etree import ElementTree as etree

from lxml import etree as lxml_etree

from ..assemble import all_chapters, long_date, rewrite
from ..diagnostics import NO_FILE, BuildReportError, Diagnostics
from ..model import PLACES_ID, Chapter, Manuscript
from ..output import deterministic_zip, document_date, source_date, write_atomic, zip_time
from . import Writer

if TYPE_CHECKING:
    from ..build import Build

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
CT = "http://schemas.openxmlformats.org/package/2006/content-types"
CUSTOM_PROPS = "http://schemas.openxmlformats.org/officeDocument/2006/custom-properties"
VT = "http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"
DS = "http://schemas.openxmlformats.org/officeDocument/2006/customXml"
MAP_NS = "urn:build-report:docx-map"  # the custom XML part's namespace
MAP_VERSION = "1"
HEADER_REL = f"{R}/header"
CUSTOM_XML_REL = f"{R}/customXml"
PROPERTY = "build-report"  # the prefix of our custom document properties
DRAFT_HEADER = "Draft \u2013 not for publication"
UNATTRIBUTED = "Unattributed"  # Word needs an author for a change; a mark without a name gets this
TEXT_WIDTH_IN = 6.3  # A4 less 2.5 cm margins, in inches: a picture is never wider
PANDOC_TIMEOUT = 600

# Paragraph styles that pandoc's reference document lacks (w:styleId, name, based on, run and paragraph props).
STYLES = [
    ("PlaceQuote", "Place Quote", "BodyText",
     '<w:pPr><w:spacing w:before="120" w:after="60"/><w:ind w:left="567" w:right="567"/></w:pPr>'
     '<w:rPr><w:i/><w:color w:val="1F3864"/><w:sz w:val="26"/></w:rPr>'),
    ("QuoteAttribution", "Quote Attribution", "BodyText",
     '<w:pPr><w:spacing w:before="0" w:after="240"/><w:ind w:left="567" w:right="567"/></w:pPr>'
     '<w:rPr><w:rFonts w:ascii="Source Sans Pro" w:hAnsi="Source Sans Pro"/><w:sz w:val="20"/></w:rPr>'),
    ("Box", "Box", "BodyText",
     '<w:pPr><w:pBdr><w:left w:val="single" w:sz="24" w:space="8" w:color="1F3864"/></w:pBdr>'
     '<w:shd w:val="clear" w:color="auto" w:fill="EEF2F7"/><w:ind w:left="284" w:right="284"/></w:pPr>'),
    ("BoxTitle", "Box Title", "Box",
     '<w:pPr><w:keepNext/></w:pPr><w:rPr><w:b/><w:rFonts w:ascii="Source Sans Pro" w:hAnsi="Source Sans Pro"/>'
     '</w:rPr>'),
    ("Header", "header", "Normal",
     '<w:pPr><w:jc w:val="center"/><w:spacing w:after="0"/></w:pPr>'
     '<w:rPr><w:rFonts w:ascii="Source Sans Pro" w:hAnsi="Source Sans Pro"/><w:b/><w:color w:val="C00000"/>'
     '<w:sz w:val="18"/></w:rPr>'),
]


class DocxError(BuildReportError):
    """pandoc could not write the Word file."""


class Docx(Writer):
    name = "docx"
    help = ("write a Word file for reviewers: headings, footnotes, tables, figures with alt text, the open "
            "review marks as tracked changes and comments (default build/<slug>.docx)")
    suffix = ".docx"
    final = False  # a review copy: it shows the open review marks

    def write(self, build: Build, out: Path) -> None:
        with build.timer.stage("docx"):
            data = Export(build.manuscript, build.options.styles, build.diagnostics).docx()
        build.diagnostics.check()
        with build.timer.stage("write"):
            write_atomic(out, data)


WRITER = Docx()


# -- The HTML pandoc reads ------------------------------------------------------------------------

@dataclass
class Block:
    """A paragraph of the DOCX that came from a chapter file: its bookmark, file and line."""

    name: str
    path: str
    line: int


@dataclass
class Comment:
    id: int
    author: str
    date: str  # ISO 8601 for w:date, or ""
    text: str


@dataclass
class Attribution:
    """What a CriticMarkup comment says under the reviewers' convention: `NAME, YYYY-MM-DD: TEXT`."""

    author: str
    date: str  # YYYY-MM-DD or ""
    text: str


_ATTRIBUTION = re.compile(r"\s*(?P<name>[^,:\n]+?)\s*(?:,\s*(?P<date>\d{4}-\d{2}-\d{2}))?\s*(?::\s*(?P<text>.*))?",
                          re.S)


def attribution(comment: str) -> Attribution:
    """`{>>NAME, DATE: TEXT<<}`, `{>>NAME: TEXT<<}`, `{>>NAME, DATE<<}` (attribution only) or a plain comment.

    A plain comment without ':' whose words are not a date is text, not a name."""
    match = _ATTRIBUTION.fullmatch(comment)
    if match and (match.group("text") is not None or match.group("date")):
        return Attribution(match.group("name").strip(), match.group("date") or "", (match.group("text") or "").strip())
    return Attribution("", "", comment.strip())


def word_date(date: str) -> str:
    return f"{date}T00:00:00Z" if date else ""


class Export:
    """The DOCX of one manuscript."""

    def __init__(self, manuscript: Manuscript, styles: Path, diagnostics: Diagnostics):
        self.manuscript = manuscript
        self.styles = styles
        self.diagnostics = diagnostics
        self.blocks: dict[str, Block] = {}
        self.comments: list[Comment] = []
        self.notes = 0
        self.index = {chapter.path: number for number, chapter in enumerate(manuscript.chapters)}

    def docx(self) -> bytes:
        from ..review import draft_stamp

        stamp = draft_stamp(self.manuscript.root, self.manuscript.report.version)
        produced = pandoc(self.html(), reference_bytes(self.styles))
        return finish(produced, self, stamp)

    def html(self) -> str:
        report = self.manuscript.report
        meta = [("subtitle", report.subtitle), *(("author", author) for author in report.authors),
                ("date", long_date(report.date) if report.date else "")]
        parts = [f'<html lang="{html.escape(report.language)}"><head><meta charset="utf-8"/>'
                 f"<title>{html.escape(report.title)}</title>"
                 + "".join(f'<meta name="{name}" content="{html.escape(value)}"/>' for name, value in meta if value)
                 + "</head><body>"]
        for chapter in all_chapters(self.manuscript):
            parts.append(self.chapter(chapter))
        parts.append("</body></html>")
        return "".join(parts)

    def chapter(self, chapter: Chapter) -> str:
        def href(target: str, local: str) -> str:
            return f"#{target}--{local}" if local else f"#{target}"

        body = rewrite(chapter, href, lambda local: f"{chapter.id}--{local}", self.image_url)
        if chapter.id == PLACES_ID:
            self.places_by_chapter(body)
        parents = {child: parent for parent in body.iter() for child in parent}
        checkboxes(body, parents)
        self.bookmarks(body, chapter, parents)
        self.review_marks(body, parents)
        self.footnotes(body, chapter)
        self.shapes(body, parents)
        heading = etree.Element("h1", {"id": chapter.id})
        title = next((h for h in chapter.headings if h.level == 1), None)
        if title is not None and title.source.line and chapter.path in self.index:
            heading.append(self.bookmark(chapter, title.source.line))
            heading[-1].tail = chapter.display_title
        else:
            heading.text = chapter.display_title
        out = [etree.tostring(heading, encoding="unicode", method="html")]
        out += [etree.tostring(child, encoding="unicode", method="html") for child in body]
        return (html.escape(body.text or "") if (body.text or "").strip() else "") + "".join(out)

    def places_by_chapter(self, body: etree.Element) -> None:
        """The places appendix names the chapters that quote each place: Word has no print page numbers."""
        titles = {chapter.id: chapter.display_title for chapter in self.manuscript.chapters}
        for element in body.iter():
            if element.tag == "td" and element.get("class") == "pagerefs":
                counts: dict[str, int] = {}
                for anchor in element.iter("a"):
                    target = anchor.get("data-chapter", "")
                    counts[target] = counts.get(target, 0) + 1
                element[:] = []
                element.text = "; ".join(titles.get(target, target) + (f" ({count} quotes)" if count > 1 else "")
                                         for target, count in counts.items())
            elif element.tag in ("p", "caption", "th") and element.text:
                element.text = (element.text.replace("the pages where it is quoted", "the chapters where it is quoted")
                                .replace("with the pages of their quotes", "with the chapters that quote them")
                                .replace("Quoted on", "Quoted in"))

    # Source positions

    def bookmark(self, chapter: Chapter, line: int) -> etree.Element:
        base = f"br_{self.index[chapter.path]:02d}_{line}"
        name, count = base, 1
        while name in self.blocks:
            count += 1
            name = f"{base}_{count}"
        self.blocks[name] = Block(name, chapter.path, line)
        return etree.Element("span", {"id": name})

    def bookmarks(self, body: etree.Element, chapter: Chapter, parents: dict) -> None:
        """A bookmark span first in every element that becomes a Word paragraph and has a source line."""
        if chapter.path not in self.index:
            return  # the generated places appendix
        for element in list(body.iter()):
            if element.tag not in PARAGRAPHS or not _holds_text(element):
                continue
            line = _line(element, parents)
            if not line:
                continue
            mark = self.bookmark(chapter, line)
            mark.tail, element.text = element.text, None
            element.insert(0, mark)

    # Review marks -> tracked changes and comments

    def review_marks(self, body: etree.Element, parents: dict) -> None:
        """CriticMarkup in the model -> pandoc's tracked changes and comment ranges."""
        for parent in list(body.iter()):
            index = 0
            while index < len(parent):
                child = parent[index]
                classes = child.get("class", "").split()
                if "critic" not in classes:
                    index += 1
                    continue
                following = parent[index + 1] if index + 1 < len(parent) else None
                note = following if following is not None and _is_comment(following) and \
                    not (child.tail or "").strip() else None
                said = attribution("".join(note.itertext())) if note is not None else None
                if child.tag in ("ins", "del"):
                    who = Attribution("", "", "")
                    if note is not None and said is not None and not said.text:  # attribution only: it names the change
                        who = said
                        child.tail = (child.tail or "") + (note.tail or "")
                        parent.remove(note)
                    kind = "insertion" if child.tag == "ins" else "deletion"
                    child.tag = "span"
                    child.attrib.clear()
                    child.set("class", kind)
                    child.set("data-author", who.author or UNATTRIBUTED)
                    if who.date:
                        child.set("data-date", word_date(who.date))
                    index += 1
                elif child.tag == "mark":  # {==range==}{>>comment<<}: a comment on the range
                    comment = self.comment(said if said is not None else Attribution("", "", ""))
                    start = etree.Element("span", {"class": "comment-start"})
                    _comment_attributes(start, comment)
                    parent.insert(index, start)
                    child.tag = "span"
                    child.attrib.clear()
                    end = etree.Element("span", {"class": "comment-end", "id": str(comment.id)})
                    end.tail, child.tail = child.tail, None
                    if note is not None:
                        end.tail = (end.tail or "") + (note.tail or "")
                        parent.remove(note)
                    parent.insert(index + 2, end)
                    index += 3
                elif _is_comment(child):  # a lone comment: at its point
                    comment = self.comment(attribution("".join(child.itertext())))
                    child.attrib.clear()
                    child[:] = []
                    child.set("class", "comment-start")
                    _comment_attributes(child, comment)
                    end = etree.Element("span", {"class": "comment-end", "id": str(comment.id)})
                    end.tail, child.tail = child.tail, None
                    parent.insert(index + 1, end)
                    index += 2
                else:
                    index += 1
        self._attribute_substitutions(body)

    @staticmethod
    def _attribute_substitutions(body: etree.Element) -> None:
        """`{~~old~>new~~}{>>Ann, date<<}`: the deletion just before an attributed insertion is Ann's too."""
        for parent in body.iter():
            children = list(parent)
            for before, after in zip(children, children[1:], strict=False):
                if before.get("class") == "deletion" and after.get("class") == "insertion" \
                        and not (before.tail or "") and before.get("data-author") == UNATTRIBUTED:
                    before.set("data-author", after.get("data-author", UNATTRIBUTED))
                    if after.get("data-date"):
                        before.set("data-date", after.get("data-date", ""))

    def comment(self, said: Attribution) -> Comment:
        comment = Comment(len(self.comments), said.author or UNATTRIBUTED, word_date(said.date), said.text)
        self.comments.append(comment)
        return comment

    # Footnotes, figures, quotes, boxes

    def footnotes(self, body: etree.Element, chapter: Chapter) -> None:
        """Python-Markdown's notes in the form pandoc's HTML reader takes for notes (doc-noteref, doc-endnotes)."""
        numbers: dict[str, str] = {}
        for sup in list(body.iter("sup")):
            link = sup.find("a[@class='footnote-ref']")
            if link is None:
                continue
            self.notes += 1
            target = link.get("href", "").lstrip("#")
            numbers[target] = f"note-{self.notes}"
            sup.tag = "a"
            sup.attrib.clear()
            sup.set("href", f"#note-{self.notes}")
            sup.set("role", "doc-noteref")
            sup.set("class", "footnote-ref")
            sup[:] = []
            sup.text = str(self.notes)
        for div in body.iter("div"):
            if div.get("class") != "footnote":
                continue
            div.tag = "section"
            div.attrib.clear()
            div.set("role", "doc-endnotes")
            for rule in div.findall("hr"):
                div.remove(rule)
            for item in div.iterfind("ol/li"):
                item.set("id", numbers.get(item.get("id", ""), "unused"))
                for paragraph in item.iter():
                    for back in [a for a in paragraph if a.get("class") == "footnote-backref"]:
                        _drop(paragraph, back)

    def shapes(self, body: etree.Element, parents: dict) -> None:
        for element in list(body.iter()):
            classes = element.get("class", "").split()
            if element.tag == "figure" and "place-quote" in classes:
                self.place_quote(element)
            elif element.tag == "aside":
                element.tag = "div"
                element.attrib.clear()
                element.set("data-custom-style", "Box")
                for title in element.findall("p[@class='box-title']"):
                    title.attrib.pop("class", None)
                    wrapper = etree.Element("div", {"data-custom-style": "Box Title"})
                    index = list(element).index(title)
                    element.remove(title)
                    wrapper.append(title)
                    wrapper.tail, title.tail = title.tail, None
                    element.insert(index, wrapper)
            elif element.tag == "img":
                if "decorative" in classes:
                    element.set("alt", "")
                width = element.attrib.pop("data-size", "").partition("x")[0]
                if width.isdigit():  # CSS pixels, as in the PDF; never wider than the text
                    element.set("width", str(min(int(width), int(TEXT_WIDTH_IN * 96))))
            elif element.tag == "span" and "long-word" in classes:
                element.attrib.clear()

    def place_quote(self, figure: etree.Element) -> None:
        """A place quote: its paragraphs in "Place Quote", then "— Place, role (Region)" in "Quote Attribution"."""
        quote = figure.find("blockquote")
        caption = figure.find("figcaption")
        paragraphs = list(quote) if quote is not None else []
        credit = ""
        if caption is not None:
            place = caption.find("span[@class='place']")
            role = caption.find("span[@class='role']")
            region = caption.find("span[@class='region']")
            credit = "".join(place.itertext()) if place is not None else ""
            if role is not None and "".join(role.itertext()).strip():
                credit += f", {''.join(role.itertext()).strip()}"
            if region is not None:
                text = "".join(region.itertext()).removeprefix("Region: ").strip()
                credit += f" ({text})" if text else ""
            if not credit:
                credit = "".join(caption.itertext()).strip().lstrip("—–- ")
        figure.tag = "div"
        tail = figure.tail
        figure.attrib.clear()
        figure[:] = []
        figure.tail = tail
        quoted = etree.SubElement(figure, "div", {"data-custom-style": "Place Quote"})
        quoted.extend(paragraphs)
        if credit:
            attribution_block = etree.SubElement(figure, "div", {"data-custom-style": "Quote Attribution"})
            etree.SubElement(attribution_block, "p").text = f"\u2014 {credit}"

    def image_url(self, rel: str) -> str:
        """A data: URL of the picture at `rel` in the manuscript (SVG drawn as PNG), sized to fit the page."""
        path = self.manuscript.root / rel
        data = path.read_bytes()
        if path.suffix.lower() in (".svg", ".svgz"):
            data = svg_to_png(data, path.parent)
            kind = "image/png"
        else:
            kind = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif"}.get(path.suffix.lower(),
                                                                                        "image/png")
        return f"data:{kind};base64,{base64.b64encode(data).decode()}"


PARAGRAPHS = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "dt", "dd", "td", "th"}
_BLOCK_CHILDREN = {"p", "ul", "ol", "dl", "div", "table", "blockquote", "figure", "aside", "pre", "section",
                   "h1", "h2", "h3", "h4", "h5", "h6"}


def _holds_text(element: etree.Element) -> bool:
    """Whether the element's own content is a paragraph (text first, not only blocks)."""
    if element.tag in ("p", "h1", "h2", "h3", "h4", "h5", "h6"):
        return True
    if (element.text or "").strip():
        return True
    return bool(len(element)) and element[0].tag not in _BLOCK_CHILDREN


def _line(element: etree.Element, parents: dict) -> int:
    """The source line of a paragraph: its own, or, for a table cell, its row's first cell's."""
    if line := element.get("data-line"):
        return int(line)
    if element.tag in ("td", "th") and element in parents:
        for cell in parents[element]:
            if line := cell.get("data-line"):
                return int(line)
    current = parents.get(element)
    while current is not None:
        if current.tag not in ("tr", "tbody", "thead") and (line := current.get("data-line")):
            return int(line) if current.tag in ("li", "dd", "dt", "blockquote") else 0
        current = parents.get(current)
    return 0


def _is_comment(element: etree.Element) -> bool:
    return element.tag == "span" and "critic" in element.get("class", "").split() and \
        "comment" in element.get("class", "").split()


def _comment_attributes(element: etree.Element, comment: Comment) -> None:
    element.set("id", str(comment.id))
    element.set("data-author", comment.author)
    if comment.date:
        element.set("data-date", comment.date)
    element.text = comment.text or "(no text)"


def _drop(parent: etree.Element, child: etree.Element) -> None:
    index = list(parent).index(child)
    text = (child.tail or "").rstrip()
    if index:
        parent[index - 1].tail = ((parent[index - 1].tail or "") + text).rstrip() or None
    else:
        parent.text = ((parent.text or "") + text).rstrip() or None
    parent.remove(child)


# -- Pictures -------------------------------------------------------------------------------------

def svg_to_png(data: bytes, folder: Path) -> bytes:
    """An SVG figure drawn at twice its size with the report's packaged fonts only (no system fonts), its
    families mapped to our stacks as in the PDF. Its references were confined to the manuscript when it
    was loaded (images.inspect); relative ones are resolved against its `folder`, as the PDF resolves them."""
    import resvg_py

    from ..fonts import faces, svg_with_our_fonts

    fonts = [str(face.path) for face in faces()]
    try:
        if data[:2] == b"\x1f\x8b":  # .svgz
            import gzip

            with gzip.GzipFile(fileobj=io.BytesIO(data)) as unpacked:
                data = unpacked.read(64 * 2 ** 20)
        text = data.decode("utf-8")
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise DocxError(f"cannot read an SVG figure for the DOCX: {exc}") from exc
    try:
        png = resvg_py.svg_to_bytes(svg_string=svg_with_our_fonts(text), skip_system_fonts=True, font_files=fonts,
                                    zoom=2.0, resources_dir=str(folder),
                                    sans_serif_family="Source Sans Pro", serif_family="Source Serif Pro",
                                    monospace_family="Source Code Pro", font_family="Source Sans Pro")
    except Exception as exc:  # resvg raises its own types for a broken drawing
        raise DocxError(f"cannot draw an SVG figure for the DOCX: {exc}") from exc
    return bytes(png)


# -- pandoc ---------------------------------------------------------------------------------------

def pandoc_path() -> str:
    import pypandoc

    return pypandoc.get_pandoc_path()


def checkboxes(body: etree.Element, parents: dict) -> None:
    """A task list's checkboxes as the characters a reader sees, U+2611 and U+2610: pandoc's HTML reader
    ends the paragraph at an <input>, which took the item out of its list and split it from its bookmark."""
    for box in [element for element in body.iter("input") if element.get("type") == "checkbox"]:
        parent = parents[box]
        index = list(parent).index(box)
        mark = ("\u2611" if box.get("checked") is not None else "\u2610") + (box.tail or "")
        if index:
            parent[index - 1].tail = (parent[index - 1].tail or "") + mark
        else:
            parent.text = (parent.text or "") + mark
        parent.remove(box)


def pandoc(html_text: str, reference: bytes) -> bytes:
    """HTML -> DOCX by the pandoc that pypandoc-binary ships, sandboxed (it reads only its arguments)."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="build-report-docx-") as tmp:
        ref = Path(tmp) / "reference.docx"
        ref.write_bytes(reference)
        out = Path(tmp) / "out.docx"
        env = {key: value for key, value in os.environ.items() if key in ("PATH", "HOME", "LANG", "TMPDIR")}
        env["SOURCE_DATE_EPOCH"] = str(source_date(0))
        try:
            result = subprocess.run(
                [pandoc_path(), "--sandbox", "-f", "html", "-t", "docx", f"--reference-doc={ref}", "-o", str(out)],
                input=html_text.encode("utf-8"), capture_output=True, timeout=PANDOC_TIMEOUT, env=env, cwd=tmp)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise DocxError(f"pandoc could not run: {exc}") from exc
        if result.returncode != 0:
            raise DocxError(f"pandoc failed: {result.stderr.decode('utf-8', 'replace').strip()}")
        return out.read_bytes()


# -- The reference document -----------------------------------------------------------------------

def reference_bytes(styles: Path) -> bytes:
    """styles/reference.docx if the styles folder has one, else the one `reference_docx` makes."""
    path = styles / "reference.docx"
    if path.is_file():
        return path.read_bytes()
    return reference_docx()


def reference_docx() -> bytes:
    """pandoc's reference document with the report's fonts, A4 pages, British English and our styles."""
    result = subprocess.run([pandoc_path(), "--print-default-data-file", "reference.docx"], capture_output=True,
                            timeout=120, check=True)
    files = _unzip(result.stdout)
    styles = lxml_etree.fromstring(files["word/styles.xml"])
    fonts = styles.find(f"{{{W}}}docDefaults/{{{W}}}rPrDefault/{{{W}}}rPr/{{{W}}}rFonts")
    if fonts is not None:
        fonts.attrib.clear()
        for name in ("ascii", "hAnsi", "cs"):
            fonts.set(f"{{{W}}}{name}", "Source Serif Pro")
    lang = styles.find(f"{{{W}}}docDefaults/{{{W}}}rPrDefault/{{{W}}}rPr/{{{W}}}lang")
    if lang is not None:
        lang.set(f"{{{W}}}val", "en-GB")
    for style in styles.iterfind(f"{{{W}}}style"):
        if re.fullmatch(r"Heading\d|Title|Subtitle|TableCaption|ImageCaption", style.get(f"{{{W}}}styleId", "")):
            rpr = style.find(f"{{{W}}}rPr")
            if rpr is None:
                rpr = lxml_etree.SubElement(style, f"{{{W}}}rPr")
            for old in rpr.findall(f"{{{W}}}rFonts"):
                rpr.remove(old)
            font = lxml_etree.Element(f"{{{W}}}rFonts")
            for name in ("ascii", "hAnsi", "cs"):
                font.set(f"{{{W}}}{name}", "Source Sans Pro")
            rpr.insert(0, font)
    _add_styles(styles)
    files["word/styles.xml"] = _xml(styles)
    document = lxml_etree.fromstring(files["word/document.xml"])
    for section in document.iter(f"{{{W}}}sectPr"):
        for old in section.findall(f"{{{W}}}pgSz"):
            section.remove(old)
        size = lxml_etree.SubElement(section, f"{{{W}}}pgSz")
        size.set(f"{{{W}}}w", "11906")
        size.set(f"{{{W}}}h", "16838")
    files["word/document.xml"] = _xml(document)
    core = files.get("docProps/core.xml")
    if core is not None:
        files["docProps/core.xml"] = re.sub(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", b"1980-01-01T00:00:00Z", core)
    return deterministic_zip(files, (1980, 1, 1, 0, 0, 0), first=("[Content_Types].xml",))


def _add_styles(styles) -> None:
    taken = {style.get(f"{{{W}}}styleId") for style in styles.iterfind(f"{{{W}}}style")}
    for style_id, name, based_on, props in STYLES:
        if style_id in taken:
            continue
        styles.append(lxml_etree.fromstring(
            f'<w:style xmlns:w="{W}" w:type="paragraph" w:customStyle="1" w:styleId="{style_id}">'
            f'<w:name w:val="{name}"/><w:basedOn w:val="{based_on}"/><w:qFormat/>{props}</w:style>'))


# -- Finishing the OOXML --------------------------------------------------------------------------

def _unzip(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist() if not info.is_dir()}


def _xml(element) -> bytes:
    return lxml_etree.tostring(element, xml_declaration=True, encoding="UTF-8", standalone=True)


def _parse(data: bytes):
    return lxml_etree.fromstring(data, lxml_etree.XMLParser(resolve_entities=False, no_network=True))


def finish(data: bytes, export: Export, stamp) -> bytes:
    from ..docx_import import read_story

    files = _unzip(data)
    report = export.manuscript.report
    document = _parse(files["word/document.xml"])
    _fix_pictures(document)
    _number_changes(document, 10000)
    if "word/footnotes.xml" in files:
        footnotes = _parse(files["word/footnotes.xml"])
        _number_changes(footnotes, 20000)
        files["word/footnotes.xml"] = _xml(footnotes)
    _add_header(files, document, f"{DRAFT_HEADER} \u00b7 {_stamp_text(stamp)}")
    files["word/document.xml"] = _xml(document)
    if "word/comments.xml" in files:
        files["word/comments.xml"] = _xml(_parse(files["word/comments.xml"]))
    styles = _parse(files["word/styles.xml"])
    _add_styles(styles)
    files["word/styles.xml"] = _xml(styles)
    moment = _moment(report.date)
    files["docProps/core.xml"] = _core(report, moment)
    files["docProps/custom.xml"] = _custom(stamp, report)
    _content_type(files, "/docProps/custom.xml", "application/vnd.openxmlformats-officedocument.custom-properties+xml")
    # The map: what each bookmarked paragraph said as exported, read back as import will read it.
    paragraphs = read_story(files["word/document.xml"]) + (
        read_story(files["word/footnotes.xml"]) if "word/footnotes.xml" in files else [])
    seen = {paragraph.block for paragraph in paragraphs if paragraph.block}
    for name in set(export.blocks) - seen:
        export.diagnostics.warning(NO_FILE, f"docx: bookmark {name} was lost by pandoc")
    _add_map(files, export, paragraphs)
    return deterministic_zip(files, zip_time().timetuple()[:6], first=("[Content_Types].xml",))


def _stamp_text(stamp) -> str:
    parts = [stamp.version] if stamp.version else []
    if stamp.commit:
        parts.append(f"commit {stamp.commit}" + (" + uncommitted changes" if stamp.dirty else ""))
    parts.append(f"made {stamp.date}")
    return " \u00b7 ".join(parts)


def _moment(date: str) -> dt.datetime:
    """The core properties' dates: SOURCE_DATE_EPOCH, else the report's date, else the zip epoch (1980)."""
    return document_date(date, dt.datetime(1980, 1, 1, tzinfo=dt.timezone.utc))


def _fix_pictures(document) -> None:
    """pandoc writes the image's source (here a data: URL's hash) as the picture's description: use the alt."""
    wp = "http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing"
    pic = "http://schemas.openxmlformats.org/drawingml/2006/picture"
    for drawing in document.iter(f"{{{W}}}drawing"):
        doc_pr = drawing.find(f".//{{{wp}}}docPr")
        alt = doc_pr.get("descr", "") if doc_pr is not None else ""
        for c_nv_pr in drawing.iter(f"{{{pic}}}cNvPr"):
            c_nv_pr.set("descr", alt)


def _number_changes(root, first: int) -> None:
    """Each tracked change its own id (pandoc gives an insertion and a deletion the same one)."""
    for number, change in enumerate(root.iter(f"{{{W}}}ins", f"{{{W}}}del"), first):
        change.set(f"{{{W}}}id", str(number))


def _add_header(files: dict[str, bytes], document, text: str) -> None:
    header = (f'<w:hdr xmlns:w="{W}" xmlns:r="{R}"><w:p><w:pPr><w:pStyle w:val="Header"/></w:pPr>'
              f'<w:r><w:t xml:space="preserve">{html.escape(text, quote=False)}</w:t></w:r></w:p></w:hdr>')
    files["word/header1.xml"] = _xml(_parse(header.encode("utf-8")))
    rel_id = _add_relationship(files, "word/_rels/document.xml.rels", HEADER_REL, "header1.xml")
    _content_type(files, "/word/header1.xml",
                  "application/vnd.openxmlformats-officedocument.wordprocessingml.header+xml")
    body = document.find(f"{{{W}}}body")
    section = body.find(f"{{{W}}}sectPr") if body is not None else None
    if section is None and body is not None:
        section = lxml_etree.SubElement(body, f"{{{W}}}sectPr")
    if section is not None:
        reference = lxml_etree.Element(f"{{{W}}}headerReference")
        reference.set(f"{{{W}}}type", "default")
        reference.set(f"{{{R}}}id", rel_id)
        section.insert(0, reference)


def _add_relationship(files: dict[str, bytes], rels_name: str, kind: str, target: str) -> str:
    rels = _parse(files[rels_name]) if rels_name in files else lxml_etree.Element(f"{{{PKG_REL}}}Relationships")
    taken = {rel.get("Id") for rel in rels}
    number = 1
    while f"rIdBr{number}" in taken:
        number += 1
    rel_id = f"rIdBr{number}"
    rel = lxml_etree.SubElement(rels, f"{{{PKG_REL}}}Relationship")
    rel.set("Id", rel_id)
    rel.set("Type", kind)
    rel.set("Target", target)
    files[rels_name] = _xml(rels)
    return rel_id


def _content_type(files: dict[str, bytes], part: str, kind: str) -> None:
    types = _parse(files["[Content_Types].xml"])
    for override in types.findall(f"{{{CT}}}Override"):
        if override.get("PartName") == part:
            types.remove(override)
    override = lxml_etree.SubElement(types, f"{{{CT}}}Override")
    override.set("PartName", part)
    override.set("ContentType", kind)
    files["[Content_Types].xml"] = _xml(types)


def _core(report, moment: dt.datetime) -> bytes:
    when = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    authors = html.escape("; ".join(report.authors))
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f"<dc:title>{html.escape(report.title)}</dc:title><dc:creator>{authors}</dc:creator>"
        f"<dc:language>{html.escape(report.language)}</dc:language>"
        f'<dcterms:created xsi:type="dcterms:W3CDTF">{when}</dcterms:created>'
        f'<dcterms:modified xsi:type="dcterms:W3CDTF">{when}</dcterms:modified>'
        "</cp:coreProperties>").encode()


def custom_properties(stamp, report) -> dict[str, str]:
    return {f"{PROPERTY}-commit": stamp.commit, f"{PROPERTY}-dirty": "yes" if stamp.dirty else "no",
            f"{PROPERTY}-version": report.version, f"{PROPERTY}-title": report.title,
            f"{PROPERTY}-map": MAP_VERSION}


def _custom(stamp, report) -> bytes:
    props = "".join(
        f'<property fmtid="{{D5CDD505-2E9C-101B-9397-08002B2CF9AE}}" pid="{pid}" name="{html.escape(name)}">'
        f"<vt:lpwstr>{html.escape(value)}</vt:lpwstr></property>"
        for pid, (name, value) in enumerate(custom_properties(stamp, report).items(), 2))
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Properties xmlns="{CUSTOM_PROPS}" '
            f'xmlns:vt="{VT}">{props}</Properties>').encode()


def _add_map(files: dict[str, bytes], export: Export, paragraphs) -> None:
    """customXml/item1.xml: the chapter files (path, SHA-256) and each bookmarked paragraph as exported."""
    from ..docx_import import read_comments

    comments = read_comments(files["word/comments.xml"]) if "word/comments.xml" in files else {}
    root = lxml_etree.Element(f"{{{MAP_NS}}}map", nsmap={None: MAP_NS})
    root.set("version", MAP_VERSION)
    for chapter in export.manuscript.chapters:
        element = lxml_etree.SubElement(root, f"{{{MAP_NS}}}chapter")
        element.set("index", str(export.index[chapter.path]))
        element.set("path", chapter.path)
        data = (export.manuscript.root / chapter.path).read_bytes()
        element.set("sha256", hashlib.sha256(data).hexdigest())
    for paragraph in paragraphs:
        block = export.blocks.get(paragraph.block)
        if block is None:
            continue
        element = lxml_etree.SubElement(root, f"{{{MAP_NS}}}block")
        element.set("name", block.name)
        element.set("path", block.path)
        element.set("line", str(block.line))
        for segment in paragraph.segments:
            part = lxml_etree.SubElement(element, f"{{{MAP_NS}}}{segment.kind}")
            if segment.kind != "text":
                part.set("author", segment.author)
                part.set("date", segment.date)
            part.text = _xml_safe(segment.text)
        for anchor in paragraph.anchors:  # the manuscript's own comments, which import must not take for new
            said = comments.get(anchor.id)
            if said is not None:
                part = lxml_etree.SubElement(element, f"{{{MAP_NS}}}comment")
                part.set("author", said.author)
                part.set("date", said.date)
                part.text = _xml_safe(said.text)
    files["customXml/item1.xml"] = _xml(root)
    files["customXml/itemProps1.xml"] = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n<ds:datastoreItem '
        f'ds:itemID="{{6B1B5A4E-3C53-4C36-9E4B-6275696C6472}}" xmlns:ds="{DS}"><ds:schemaRefs>'
        f'<ds:schemaRef ds:uri="{MAP_NS}"/></ds:schemaRefs></ds:datastoreItem>').encode()
    files["customXml/_rels/item1.xml.rels"] = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="{PKG_REL}">'
        f'<Relationship Id="rId1" Type="{R}/customXmlProps" Target="itemProps1.xml"/></Relationships>'
    ).encode()
    _content_type(files, "/customXml/itemProps1.xml",
                  "application/vnd.openxmlformats-officedocument.customXmlProperties+xml")
    _add_relationship(files, "word/_rels/document.xml.rels", CUSTOM_XML_REL, "../customXml/item1.xml")


def _xml_safe(text: str) -> str:
    return re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", "", text)


def main(argv: list[str] | None = None) -> int:
    """`python -m build_report.writers.docx styles/reference.docx`: write the reference document."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m build_report.writers.docx OUT.docx", file=sys.stderr)
        return 2
    write_atomic(Path(args[0]), reference_docx())
    print(f"wrote {args[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
