"""The print-pdf writer: the press edition, the PDF a printer prints the report from.

    print HTML with press.css (Options.press) -> its own layout (render.py)
        -> the PDF writer's finish (tags, PDF/UA-1 checks, page labels, metadata) + the BleedBox

It differs from the screen PDF (writers/pdf.py) only in what a printer needs:

- pages of A4 trim (the /TrimBox) with 3 mm of bleed on every side (the /BleedBox); the
  cover's background and art run into it;
- crop marks outside the bleed, in a margin round it (the /MediaBox), drawn by WeasyPrint
  as page decoration: marked content `/Artifact`, so not in the structure tree;
- every chapter, the contents and the places appendix open on a right-hand (odd) page,
  with a blank left-hand page before it where needed (no running head, no folio);
- raster images at their own resolution (the screen PDF downsamples them, render.SCREEN_DPI).

The text, the tags and the page labels are those of the screen PDF; only the blank pages
move the folios on. docs/print-edition.md says what to tell the printer.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..diagnostics import BuildReportError
from ..output import write_atomic
from . import Writer
from .pdf import finish

if TYPE_CHECKING:
    from ..build import Build

PRESS_STYLES = "press.css"
MM = 72 / 25.4  # PDF points in a millimetre
BLEED = 3 * MM  # the /BleedBox: 3 mm outside the trim (press.css's `--bleed`)


class PressStylesMissing(BuildReportError):
    """The styles folder (`--styles DIR`) has no press.css."""


class PrintPDF(Writer):
    name = "print-pdf"
    help = ("build the print PDF for a printer: 3 mm bleed, crop marks, chapters on right-hand pages, "
            "full-resolution images (default build/<slug>-print.pdf)")
    suffix = "-print.pdf"
    final = True

    def write(self, build: Build, out: Path) -> None:
        from ..build import Build  # build.py imports this package

        options = build.options.replace(press=True)
        if not (options.styles / PRESS_STYLES).is_file():
            raise PressStylesMissing(f"the styles folder {options.styles} has no {PRESS_STYLES}, which the print "
                                     "PDF needs (copy it from build_report's styles/)")
        # The screen layout is not this one (other styles, other pages): the press edition is laid out again.
        press = build if build.options.press else Build(build.manuscript, options, build.diagnostics, build.timer)
        layout = press.layout()
        with build.timer.stage("finish"):
            data = finish(layout, press.manuscript, press.diagnostics, options, bleed=BLEED)
        build.diagnostics.check()  # WeasyPrint's warnings while writing count too: nothing is written
        with build.timer.stage("write"):
            write_atomic(out, data)


WRITER = PrintPDF()
