"""Reading a review draft's annotations, and the text under them, into plain data.

`read_draft(path)` opens a PDF that `build-report draft` made and a reviewer annotated in
a viewer (Acrobat, Edge, Preview, Okular...), and returns a `Draft`: its page labels, its
named destinations (chapter and heading ids -> page), the stamp every draft page carries
(version, build date, git commit), and its annotations as `Annotation`s, with the viewer's
replies and "replace text" groups kept as links (`irt`, `reply_type`).

`page_texts(path, indexes)` reads pages' glyphs with their positions (pdfminer.six), in
reading order, without the draft's furniture (the DRAFT watermark, the stamp, the
`--source-refs` margin references, which it returns apart, and superscript calls such as
footnote numbers and comment markers): the annotations' /QuadPoints and /Rect are matched
against these glyphs (comments_import.py).

The PDF is untrusted input: every read is bounded (annotations, string lengths, quad points,
pages), and a malformed value is skipped, never a crash. A file that is not a readable,
unencrypted PDF is `UnreadableDraft` (exit 2).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from .diagnostics import BuildReportError

MAX_ANNOTATIONS = 2000  # annotations read from one draft; the rest are counted, not read
MAX_TEXT = 4000  # characters kept of one annotation's text
MAX_QUADS = 400  # quadrilaterals read from one annotation's /QuadPoints
MAX_PAGES_READ = 300  # pages whose glyphs are read (the pages that carry annotations)
MARKUP = {"Highlight", "Underline", "Squiggly", "StrikeOut"}
IGNORED = {"Popup", "Link", "Widget"}

# The stamp (review.Stamp): "Draft v0.3 · as of 2026-12-01 21:00 UTC · commit a6e2f76 + uncommitted changes"
# (earlier drafts said "built" for "as of"): the words between may change, the date and commit may not.
STAMP = re.compile(r"\bDraft\b[^\n]{0,120}?\d{4}-\d\d-\d\d[ T]\d\d:\d\d(?::\d\d)?\s*UTC"
                   r"(?:\s*\u00b7\s*commit\s+([0-9a-f]{4,40})(\s*\+\s*uncommitted changes)?)?")
SOURCE_REF = re.compile(r"([0-9A-Za-z][\w.-]{0,40}):(\d{1,7})")  # review.source_ref: "03:42"


class UnreadableDraft(BuildReportError):
    """Not a PDF that can be read: damaged, encrypted, or not a PDF at all."""


@dataclass(frozen=True)
class Box:
    """A rectangle in PDF user space (origin bottom left)."""

    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def centre(self) -> tuple[float, float]:
        return (self.x0 + self.x1) / 2, (self.y0 + self.y1) / 2

    def contains(self, x: float, y: float) -> bool:
        return self.x0 <= x <= self.x1 and self.y0 <= y <= self.y1

    def gap(self, other: Box) -> tuple[float, float]:
        """The horizontal and vertical distance between the two boxes (0 where they overlap)."""
        dx = max(0.0, other.x0 - self.x1, self.x0 - other.x1)
        dy = max(0.0, other.y0 - self.y1, self.y0 - other.y1)
        return dx, dy


@dataclass
class Annotation:
    """One annotation of a draft page, as a viewer wrote it."""

    key: str  # "12 0": its object number, which replies (/IRT) point to
    kind: str  # the /Subtype without its slash: "Text", "Highlight", "StrikeOut", "Caret", "FreeText"...
    page: int  # 0-based
    rect: Box | None
    quads: list[Box] = field(default_factory=list)
    text: str = ""  # /Contents, else its popup's, else /RC stripped of markup
    author: str = ""  # /T
    date: str = ""  # YYYY-MM-DD (UTC) from /M, else /CreationDate
    irt: str = ""  # the key of the annotation this one replies to or is grouped with (/IRT)
    reply_type: str = ""  # "R" or "Group" (/RT)


@dataclass
class Draft:
    path: Path
    pages: int
    labels: list[str]  # the printed folio of each page
    destinations: dict[str, int]  # named destination -> 0-based page
    title: str
    stamp: str  # "" when no page carries one
    commit: str  # from the stamp; "" outside git
    dirty: bool  # the draft was built with uncommitted changes
    annotations: list[Annotation]
    skipped: int = 0  # annotations beyond MAX_ANNOTATIONS, or malformed beyond reading, not read


def read_draft(path: Path) -> Draft:
    """The annotations and layout facts of the draft at `path` (bounded; see the module doc)."""
    import pikepdf

    try:
        pdf = pikepdf.open(path)
    except pikepdf.PasswordError as exc:
        raise UnreadableDraft(f"{path}: is encrypted; save an unprotected copy of the reviewed draft") from exc
    except (pikepdf.PdfError, ValueError, RecursionError) as exc:
        raise UnreadableDraft(f"{path}: cannot be read as a PDF ({_short(exc)})") from exc
    with pdf:
        if pdf.is_encrypted:
            raise UnreadableDraft(f"{path}: is encrypted; save an unprotected copy of the reviewed draft")
        try:
            return _read(pdf, path)
        except (pikepdf.PdfError, RecursionError, AttributeError, TypeError, ValueError, KeyError) as exc:
            raise UnreadableDraft(f"{path}: a damaged PDF ({_short(exc)})") from exc


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:200] + ("\u2026" if len(text) > 200 else "")


def _read(pdf, path: Path) -> Draft:
    import pikepdf

    pages = list(pdf.pages)
    objgen_to_page = {page.obj.objgen: index for index, page in enumerate(pages)}
    labels = []
    for index, page in enumerate(pages):
        try:
            labels.append(str(page.label))
        except Exception:  # noqa: BLE001 - a damaged /PageLabels tree: the physical number will do
            labels.append(str(index + 1))
    destinations: dict[str, int] = {}
    names = pdf.Root.get("/Names")
    if isinstance(names, pikepdf.Dictionary) and "/Dests" in names:
        try:
            tree = pikepdf.NameTree(names.Dests)
            for count, (name, value) in enumerate(tree.items()):
                if count > 100_000:
                    break
                target = value.get("/D", value) if isinstance(value, pikepdf.Dictionary) else value
                if isinstance(target, pikepdf.Array) and len(target) and isinstance(target[0], pikepdf.Dictionary):
                    page = objgen_to_page.get(target[0].objgen)
                    if page is not None:
                        destinations[str(name)] = page
        except (pikepdf.PdfError, TypeError, ValueError):  # a damaged name tree: no destinations
            pass
    title = str(pdf.docinfo.get("/Title", "")) if pdf.docinfo is not None else ""
    annotations: list[Annotation] = []
    skipped = 0
    for index, page in enumerate(pages):
        annots = page.obj.get("/Annots")
        if not isinstance(annots, pikepdf.Array):
            continue
        for annot in annots:
            if not isinstance(annot, pikepdf.Dictionary):
                continue
            kind = str(annot.get("/Subtype", "")).lstrip("/")
            if kind in IGNORED or not kind:
                continue
            if len(annotations) >= MAX_ANNOTATIONS:
                skipped += 1
                continue
            try:
                annotations.append(_annotation(annot, kind, index, len(annotations)))
            except (pikepdf.PdfError, TypeError, ValueError, AttributeError, KeyError, RecursionError):
                skipped += 1  # one malformed annotation: the others are still read
    return Draft(path, len(pages), labels, destinations, title[:MAX_TEXT], "", "", False, annotations, skipped)


def _annotation(annot, kind: str, page: int, number: int) -> Annotation:
    import pikepdf

    key = "{} {}".format(*annot.objgen) if annot.is_indirect else f"direct {number}"  # no reply can name it
    text = _string(annot.get("/Contents"))
    if not text.strip():
        popup = annot.get("/Popup")
        if isinstance(popup, pikepdf.Dictionary):
            text = _string(popup.get("/Contents"))
    if not text.strip():
        rich = annot.get("/RC")  # a text string, or (the specification allows it) a stream
        if isinstance(rich, pikepdf.Stream):
            try:  # a small stream only: a compressed one could unpack to gigabytes
                small = len(rich.read_raw_bytes()) <= 65536
                rich = pikepdf.String(rich.read_bytes()[:MAX_TEXT * 4].decode("utf-8", "replace")) if small else None
            except pikepdf.PdfError:
                rich = None
        text = _rich_text(_string(rich, limit=MAX_TEXT * 4))
    irt = annot.get("/IRT")
    reply = str(annot.get("/RT", "")).lstrip("/")
    return Annotation(
        key=key, kind=kind, page=page, rect=_rect(annot.get("/Rect")), quads=_quads(annot.get("/QuadPoints")),
        text=text, author=_string(annot.get("/T"), limit=200), date=pdf_date(_string(annot.get("/M"), 64))
        or pdf_date(_string(annot.get("/CreationDate"), 64)),
        irt="{} {}".format(*irt.objgen) if isinstance(irt, pikepdf.Dictionary) and irt.is_indirect else "",
        reply_type=reply[:10])


def _string(value, limit: int = MAX_TEXT) -> str:
    import pikepdf

    if isinstance(value, pikepdf.String):
        try:
            text = str(value)
        except (UnicodeDecodeError, ValueError):
            text = bytes(value)[:limit].decode("latin-1")
        return text[:limit]
    return ""


def _rich_text(rc: str) -> str:
    """The text of an /RC rich-text string (XHTML), with paragraphs as spaces."""
    if not rc:
        return ""
    text = re.sub(r"<(?:/p|br\s*/?|/div)>", " ", rc, flags=re.IGNORECASE)
    text = re.sub(r"<[^>]{0,2000}>", "", text)
    for entity, char in (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&apos;", "'"), ("&#xD;", " "),
                         ("&#13;", " "), ("&amp;", "&")):
        text = text.replace(entity, char)
    return text[:MAX_TEXT]


def _numbers(value, limit: int) -> list[float]:
    import pikepdf

    if not isinstance(value, pikepdf.Array):
        return []
    numbers = []
    for item in list(value)[:limit]:
        try:
            number = float(item)
        except (TypeError, ValueError):
            return []
        if number != number or abs(number) > 1e6:  # NaN or absurd: the whole array is junk
            return []
        numbers.append(number)
    return numbers


def _rect(value) -> Box | None:
    numbers = _numbers(value, 4)
    if len(numbers) != 4:
        return None
    x0, y0, x1, y1 = numbers
    return Box(min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))


def _quads(value) -> list[Box]:
    """Each quadrilateral of /QuadPoints as its bounding box (viewers order the corners differently)."""
    numbers = _numbers(value, 8 * MAX_QUADS)
    quads = []
    for at in range(0, len(numbers) - 7, 8):
        xs, ys = numbers[at:at + 8:2], numbers[at + 1:at + 8:2]
        quads.append(Box(min(xs), min(ys), max(xs), max(ys)))
    return quads


_DATE = re.compile(r"(?:D:)?(\d{4})(\d\d)?(\d\d)?(\d\d)?(\d\d)?(\d\d)?\s*(?:([Zz])|([+-])(\d\d)'?(\d\d)?'?)?")


def pdf_date(value: str) -> str:
    """'D:20260115093000+01'00'' -> '2026-01-15', the date in UTC; '' when it is not a date."""
    match = _DATE.match(value.strip())
    if not match:
        return ""
    year, month, day, hour, minute, second = (int(part) if part else default for part, default in
                                              zip(match.groups()[:6], (0, 1, 1, 0, 0, 0), strict=True))
    try:
        moment = dt.datetime(year, month, day, hour, minute, second)
    except ValueError:
        return ""
    if match.group(8):
        offset = dt.timedelta(hours=int(match.group(9)), minutes=int(match.group(10) or 0))
        moment -= offset if match.group(8) == "+" else -offset
    return moment.strftime("%Y-%m-%d")


# -- The text of a page --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Glyph:
    text: str  # NFKC: a ligature is its letters
    box: Box
    line: int  # index into PageText.lines


@dataclass
class PageText:
    glyphs: list[Glyph]  # body text, in reading order (top to bottom, a row of cells left to right)
    lines: list[Box]
    refs: list[tuple[str, int, float]]  # --source-refs: (file number, line, y of its middle)
    stamp: str = ""


def page_texts(path: Path, indexes: set[int]) -> dict[int, PageText]:
    """The glyphs of the pages `indexes` (0-based) of the PDF, furniture left out (see the module doc),
    read in one pass; at most MAX_PAGES_READ pages."""
    from pdfminer.converter import PDFPageAggregator
    from pdfminer.layout import LAParams
    from pdfminer.pdfdocument import PDFDocument
    from pdfminer.pdfinterp import PDFPageInterpreter, PDFResourceManager
    from pdfminer.pdfpage import PDFPage
    from pdfminer.pdfparser import PDFParser
    from pdfminer.psparser import PSException

    wanted = set(sorted(indexes)[:MAX_PAGES_READ])
    texts: dict[int, PageText] = {}
    index = -1
    try:
        with open(path, "rb") as handle:
            document = PDFDocument(PDFParser(handle))
            resources = PDFResourceManager()
            device = PDFPageAggregator(resources, laparams=LAParams())
            interpreter = PDFPageInterpreter(resources, device)
            for index, page in enumerate(PDFPage.create_pages(document)):
                if len(texts) == len(wanted):
                    break
                if index not in wanted:
                    continue
                interpreter.process_page(page)
                texts[index] = _page_text(device.get_result())
    except (PSException, ValueError, KeyError, TypeError, AttributeError, RecursionError, IndexError,
            ZeroDivisionError, AssertionError, OverflowError) as exc:  # pdfminer on a damaged file
        raise UnreadableDraft(f"{path}: page {index + 1} cannot be read ({_short(exc)})") from exc
    return texts


def _page_text(page) -> PageText:
    from pdfminer.layout import LTChar, LTTextContainer, LTTextLine

    rows: list[tuple[Box, list[tuple[str, Box]]]] = []
    refs: list[tuple[str, int, float]] = []
    stamp = ""
    for container in page:
        if not isinstance(container, LTTextContainer):
            continue
        for line in container:
            if not isinstance(line, LTTextLine):
                continue
            chars = [c for c in line if isinstance(c, LTChar) and abs(c.matrix[1]) < 1e-3
                     and abs(c.matrix[2]) < 1e-3]  # the rotated DRAFT watermark is not text
            if not chars:
                continue
            text = "".join(c.get_text() for c in chars)
            spaced = " ".join(line.get_text().split())
            if found := STAMP.search(spaced):
                stamp = stamp or found.group(0)
                continue
            biggest = max(c.size for c in chars)
            box = Box(line.x0, line.y0, line.x1, line.y1)
            if (ref := SOURCE_REF.fullmatch(text.strip())) and biggest < 8:
                refs.append((ref.group(1), int(ref.group(2)), (line.y0 + line.y1) / 2))
                continue
            # Superscripts (footnote calls, comment markers "C1") are not in the Markdown's words.
            kept = [(unicodedata.normalize("NFKC", c.get_text()), Box(c.x0, c.y0, c.x1, c.y1))
                    for c in chars if c.size >= 0.75 * biggest]
            rows.append((box, kept))
    ordered = _reading_order(rows)
    glyphs = [Glyph(text, box, number) for number, (_, chars) in enumerate(ordered) for text, box in chars]
    return PageText(glyphs, [box for box, _ in ordered], refs, stamp)


def _reading_order(rows):
    """Lines top to bottom; lines that share a row (table cells, a label beside its text) left to right."""
    rows = sorted(rows, key=lambda row: -row[0].y1)
    ordered: list = []
    group: list = []
    for row in rows:
        if group and not _same_row(group[0][0], row[0]):
            ordered += sorted(group, key=lambda r: r[0].x0)
            group = []
        group.append(row)
    ordered += sorted(group, key=lambda r: r[0].x0)
    return ordered


def _same_row(a: Box, b: Box) -> bool:
    middle = (b.y0 + b.y1) / 2
    return a.y0 <= middle <= a.y1
