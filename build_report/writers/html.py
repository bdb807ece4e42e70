"""The print HTML writer: the one HTML document WeasyPrint lays out, self-contained
(fonts and images as data: URLs), for looking at the print styles in a browser.

The web edition for readers is `web`; this is a tool for whoever works on the styles.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..assemble import print_html
from ..output import write_atomic
from . import Writer

if TYPE_CHECKING:
    from ..build import Build


class PrintHTML(Writer):
    name = "html"
    help = "write the self-contained print HTML that WeasyPrint renders (the web edition is 'web')"
    suffix = ".html"

    def write(self, build: Build, out: Path) -> None:
        with build.timer.stage("assemble"):
            html = print_html(build.manuscript, build.options.replace(self_contained=True))
        with build.timer.stage("write"):
            write_atomic(out, html)


WRITER = PrintHTML()
