"""The PDF writer: finish the print layout into a tagged, PDF/UA-1 file.

    layout (render.py) -> write_pdf, whose finisher adds page labels and metadata
        -> the tag corrections of tagging.py -> the PDF/UA-1 machine checks (pdfua.py)

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

from .. import pdfua, tagging
from ..diagnostics import NO_FILE, Diagnostics
from ..model import Manuscript, Options
from ..output import source_date, write_atomic
from . import Writer

if TYPE_CHECKING:
    import pikepdf
    import pydyf
    import weasyprint

    from ..build import Build

PDF_VARIANT = "pdf/ua-1"


class PDF(Writer):
    name = "pdf"
    help = "build the PDF (default build/<slug>.pdf)"
    suffix = ".pdf"

    def write(self, build: Build, out: Path) -> None:
        if build.options.jobs > 1:  # in parts, by several processes (parallel.py); None: it cannot be
            from .. import parallel

            data = parallel.write(build, build.options.jobs)
            if data is not None:
                with build.timer.stage("write"):
                    write_atomic(out, data)
                return
        layout = build.layout()
        with build.timer.stage("finish"):
            data = finish(layout, build.manuscript, build.diagnostics, build.options)
        build.diagnostics.check()  # WeasyPrint's warnings while writing (fonts) count too: nothing is written
        with build.timer.stage("write"):
            write_atomic(out, data)
        build.save_page_map()  # for a later build's EPUB and web edition: no second layout (cache.py)


WRITER = PDF()


def finish(document: weasyprint.Document, manuscript: Manuscript, diagnostics: Diagnostics | None = None,
           options: Options = Options(), bleed: float | None = None) -> bytes:
    """Write the PDF with WeasyPrint, with page labels and metadata, then correct its tags and check it.

    The page labels, the document info, the catalog's /Lang and (`bleed`) the bleed boxes are
    added by WeasyPrint's `finisher`, just before it writes the file (`_describe`), so the file
    is rewritten only once after WeasyPrint, by `tagging.correct`; pypdf's incremental update of
    it took a second on the sample. The /ID's first half is the MD5 of WeasyPrint's file (the
    second is qpdf's static one): equal inputs, equal bytes. (WeasyPrint's own `pdf_identifier`
    compresses every stream again to hash it: 0.3 s.) WeasyPrint warns while writing too (fonts
    it cannot embed or subset): like those of `render`, they become diagnostics. `bleed`
    (points) sets each page's /BleedBox that far outside its /TrimBox (the press edition,
    writers/print_pdf.py)."""
    from ..render import body_start, collect_warnings

    start = body_start(document, manuscript)

    def finisher(document: weasyprint.Document, pdf: pydyf.PDF) -> None:
        _describe(pdf, manuscript, start, bleed)

    with collect_warnings(diagnostics, options, manuscript.report.theme) if diagnostics else contextlib.nullcontext():
        with tagging.element_keys() as learnt:
            written = document.write_pdf(pdf_variant=PDF_VARIANT, uncompressed_pdf=False, finisher=finisher)
        learnt.identifier = hashlib.md5(written).digest()
        pdf = tagging.correct(written, learnt)
    return _claimed_if_checked(pdf, diagnostics)


def _claimed_if_checked(pdf: bytes, diagnostics: Diagnostics | None, memo: pdfua.PageMemo | None = None) -> bytes:
    """Only claim what is checked: the PDF says it is PDF/UA-1 only while pdfua.py finds no failure."""
    failed = pdfua.check(io.BytesIO(pdf), memo).failed
    if failed:
        pdf = tagging.without_pdfua_claim(pdf)
        if diagnostics is not None:
            diagnostics.warning(NO_FILE, f"the PDF fails PDF/UA-1 checkpoints {', '.join(failed)}, so it does not "
                                         "claim PDF/UA-1 (build-report check-pdf FILE lists what fails)")
    return pdf


def _describe(pdf: pydyf.PDF, manuscript: Manuscript, start: int, bleed: float | None) -> None:
    """What `describe` adds with pikepdf, added by WeasyPrint's finisher before it writes the PDF: page labels
    (lower-roman before page `start`, the body's first page, then 1, 2...), the document info,
    the catalog's /Lang, and (`bleed`) each page's /BleedBox (as `describe` does with pikepdf)."""
    import pydyf

    numbers = pydyf.Array([0, pydyf.Dictionary({"S": "/r"})] if start else [])
    numbers.extend([start, pydyf.Dictionary({"S": "/D"})])
    pdf.catalog["PageLabels"] = pydyf.Dictionary({"Nums": numbers})
    for key, value in _info(manuscript).items():
        pdf.info[key.lstrip("/")] = pydyf.String(value)
    pdf.catalog["Lang"] = pydyf.String(manuscript.report.language)
    if bleed is not None:
        kids = pdf.pages["Kids"]
        for number in kids[::3]:  # [number, 0, "R"] for each page
            page = pdf.objects[number]
            media, trim = page["MediaBox"], page["TrimBox"]  # [left, bottom, right, top] as pypdf reads them
            page["BleedBox"] = pydyf.Array([max(media[0], trim[0] - bleed), max(media[1], trim[1] - bleed),
                                            min(media[2], trim[2] + bleed), min(media[3], trim[3] + bleed)])


def _info(manuscript: Manuscript) -> dict[str, str]:
    """The document info: the report's title, authors, subject, keywords, and its date (never the build's)."""
    report = manuscript.report
    stamp = _pdf_date(report.date)
    info = {
        "/Title": report.title + (f": {report.subtitle}" if report.subtitle else ""),
        "/Author": ", ".join(report.authors),
        "/Subject": report.description or report.subtitle,
        "/Keywords": ", ".join(report.keywords),
        "/Creator": "build_report",
        "/Producer": "build_report with WeasyPrint and pikepdf",
    }
    if stamp:
        info.update({"/CreationDate": stamp, "/ModDate": stamp})
    return {key: value for key, value in info.items() if value}


def describe(pdf: pikepdf.Pdf, manuscript: Manuscript, start: int, bleed: float | None = None) -> None:
    """What `_describe` has WeasyPrint add, added with pikepdf to a PDF that `finish` did not write (the
    stitched parts of the parallel build, parallel.py, before they are saved): page labels (lower-roman
    before page `start`, the body's first page, then 1, 2...), the document info, the catalog's /Lang,
    and (`bleed`) each page's /BleedBox."""
    import pikepdf

    ranges = [(0, pikepdf.Name.r)] if start else []
    numbers = pikepdf.Array()
    for first, style in [*ranges, (start, pikepdf.Name.D)]:
        numbers.append(first)
        numbers.append(pikepdf.Dictionary(S=style))
    pdf.Root.PageLabels = pikepdf.Dictionary(Nums=numbers)
    for key, value in _info(manuscript).items():
        pdf.docinfo[key] = pikepdf.String(value)
    pdf.Root.Lang = pikepdf.String(manuscript.report.language)
    if bleed is not None:
        for page in pdf.pages:
            media, trim = [float(v) for v in page.MediaBox], [float(v) for v in page.obj.get("/TrimBox", page.MediaBox)]
            page.obj.BleedBox = pikepdf.Array([max(media[0], trim[0] - bleed), max(media[1], trim[1] - bleed),
                                               min(media[2], trim[2] + bleed), min(media[3], trim[3] + bleed)])


def complete(pdf: bytes, diagnostics: Diagnostics | None = None, memo: pdfua.PageMemo | None = None) -> bytes:
    """A described PDF (`describe`) finished as `finish` finishes its own: it claims PDF/UA-1 only if the
    checks pass (`memo`: the pages of an earlier check, pdfua.PageMemo)."""
    return _claimed_if_checked(pdf, diagnostics, memo)


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
