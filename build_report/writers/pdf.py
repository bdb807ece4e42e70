"""The PDF writer: finish the print layout into a tagged, PDF/UA-1 file.

    layout (render.py) -> write_pdf, with the tag corrections of tagging.py
        -> the PDF/UA-1 machine checks (pdfua.py) -> page labels and metadata (pypdf)

The same writer makes review drafts (`Options.draft`): the draft styles, the
watermark and the stamp are in the HTML the layout came from.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
from pathlib import Path
from typing import TYPE_CHECKING

from pypdf import PdfWriter
from pypdf.constants import PageLabelStyle
from pypdf.generic import ArrayObject, ByteStringObject, NameObject, RectangleObject, TextStringObject

from .. import pdfua, tagging
from ..assemble import Options
from ..diagnostics import NO_FILE, Diagnostics
from ..model import Manuscript
from ..output import source_date, write_atomic
from . import Writer

if TYPE_CHECKING:
    import weasyprint

    from ..build import Build

PDF_VARIANT = "pdf/ua-1"


class PDF(Writer):
    name = "pdf"
    help = "build the PDF (default build/<slug>.pdf)"
    suffix = ".pdf"

    def write(self, build: Build, out: Path) -> None:
        layout = build.layout()
        with build.timer.stage("finish"):
            data = finish(layout, build.manuscript, build.diagnostics, build.options)
        build.diagnostics.check()  # WeasyPrint's warnings while writing (fonts) count too: nothing is written
        with build.timer.stage("write"):
            write_atomic(out, data)


WRITER = PDF()


def finish(document: weasyprint.Document, manuscript: Manuscript, diagnostics: Diagnostics | None = None,
           options: Options = Options(), bleed: float | None = None) -> bytes:
    """Write the PDF with WeasyPrint, then add page labels and metadata with pypdf.

    WeasyPrint warns while writing too (fonts it cannot embed or subset): like those
    of `render`, they become diagnostics. `bleed` (points) sets each page's /BleedBox
    that far outside its /TrimBox (the press edition, writers/print_pdf.py)."""
    from ..render import body_start, collect_warnings

    with collect_warnings(diagnostics, options, manuscript.report.theme) if diagnostics else contextlib.nullcontext():
        with tagging.element_keys() as learnt:
            written = document.write_pdf(pdf_variant=PDF_VARIANT, uncompressed_pdf=False)
        pdf = tagging.correct(written, learnt)
    # Only claim what is checked: the PDF says it is PDF/UA-1 only while pdfua.py finds no failure.
    failed = pdfua.check(io.BytesIO(pdf)).failed
    if failed:
        pdf = tagging.without_pdfua_claim(pdf)
        if diagnostics is not None:
            diagnostics.warning(NO_FILE, f"the PDF fails PDF/UA-1 checkpoints {', '.join(failed)}, so it does not "
                                         "claim PDF/UA-1 (build-report check-pdf FILE lists what fails)")
    # Incremental: pypdf appends the few changed objects instead of rewriting the file.
    writer = PdfWriter(io.BytesIO(pdf), incremental=True)

    start = body_start(document, manuscript)
    if start:
        writer.set_page_label(0, start - 1, style=PageLabelStyle.LOWERCASE_ROMAN, start=1)
    writer.set_page_label(start, len(writer.pages) - 1, style=PageLabelStyle.DECIMAL, start=1)
    if bleed is not None:
        _bleed_boxes(writer, bleed)

    report = manuscript.report
    stamp = _pdf_date(report.date)
    info = {
        "/Title": report.title + (f": {report.subtitle}" if report.subtitle else ""),
        "/Author": ", ".join(report.authors),
        "/Subject": report.description or report.subtitle,
        "/Keywords": ", ".join(report.keywords),
        "/Creator": "build_report",
        "/Producer": "build_report with WeasyPrint and pypdf",
    }
    if stamp:
        info.update({"/CreationDate": stamp, "/ModDate": stamp})
    writer.add_metadata({key: value for key, value in info.items() if value})
    writer._root_object[NameObject("/Lang")] = TextStringObject(report.language)
    _stable_id(writer, pdf)

    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _pdf_date(date: str) -> str:
    """D:YYYYMMDDHHmmSSZ from the report's date (as in the XMP), else SOURCE_DATE_EPOCH.

    Never the build time: the same input gives the same bytes."""
    epoch = source_date()
    if date:
        moment = dt.datetime.fromisoformat(date).replace(tzinfo=dt.timezone.utc)
    elif epoch is not None:
        moment = dt.datetime.fromtimestamp(epoch, dt.timezone.utc)
    else:
        return ""
    return moment.strftime("D:%Y%m%d%H%M%SZ")


def _bleed_boxes(writer: PdfWriter, bleed: float) -> None:
    """Each page's /BleedBox `bleed` points outside its /TrimBox, within its /MediaBox.

    WeasyPrint's MediaBox is the CSS bleed area (in the press edition, the margin that holds the
    crop marks) and it puts the BleedBox at most 10 pt outside the trim, whatever that area is."""
    for page in writer.pages:
        trim, media = page.trimbox, page.mediabox
        page[NameObject("/BleedBox")] = RectangleObject((
            max(media.left, trim.left - bleed), max(media.bottom, trim.bottom - bleed),
            min(media.right, trim.right + bleed), min(media.top, trim.top + bleed)))


def _stable_id(writer: PdfWriter, content: bytes) -> None:
    """A file /ID derived from the content, so equal inputs give equal bytes."""
    digest = hashlib.md5(content).digest()
    writer._ID = ArrayObject([ByteStringObject(digest), ByteStringObject(digest)])
