"""Render stage: WeasyPrint lays out the print HTML of the model.

`render` returns WeasyPrint's `Document` (pages as data), made once per build
(`build.Build.layout`): the PDF writer finishes it into a file, and the EPUB's
page-list and the web edition's page anchors read page positions from it
(`pagemap.py`). Only the manuscript, the styles and the packaged fonts are read
(`ManuscriptFetcher`); WeasyPrint's warnings become diagnostics with the styles
file and line they came from.
"""

from __future__ import annotations

import contextlib
import logging
import mimetypes
import re
from collections.abc import Iterator
from pathlib import Path

import weasyprint

from . import confine
from .assemble import print_html, print_styles, stylesheet_origin
from .diagnostics import NO_FILE, Diagnostic, Diagnostics, RenderError
from .fonts import font_dirs, svg_with_our_fonts
from .model import Location, Manuscript, Options

_CSS_AT = re.compile(r" at (\d+):(\d+)")  # tagged PDF, document title displayed, alt text kept
# Raster images in the screen PDF are downsampled to at most this resolution where they are drawn
# (WeasyPrint's `dpi`, which it reads while laying out, not while writing); the press edition keeps
# every image at its own resolution. SVG stays vector in both (docs/print-edition.md).
SCREEN_DPI = 150


class ManuscriptFetcher(weasyprint.urls.URLFetcher):
    """Fetch only data: URLs and files inside the allowed folders; never the network.

    Each URL passes `confine.local_path` (the one confinement rule), and the file
    read is the very path that was checked, not the URL handed back to urllib.
    The load stage has refused every outside path a chapter names, with its line;
    what is refused here (a URL in CSS, say) is collected in `refused` and fails
    the build. SVG images have their text set in our fonts (`fonts.svg_with_our_fonts`)."""

    def __init__(self, roots: list[Path]):
        super().__init__(allowed_protocols={"file", "data"})
        self.roots = [root.resolve() for root in roots]
        self.refused: list[str] = []

    def fetch(self, url, headers=None):
        try:
            path = confine.local_path(url, self.roots)
            problem = confine.file_problem(path) if path else None
            if problem:
                raise confine.Outside(f"'{url}' {problem}")
        except confine.Outside as reason:
            self.refused.append(str(reason))
            raise ValueError(f"refused: {reason}") from None
        if path is None:  # a data: URL
            return super().fetch(url, headers)
        data = path.read_bytes()
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if kind == "image/svg+xml":
            try:
                data = svg_with_our_fonts(data.decode("utf-8")).encode("utf-8")
            except UnicodeDecodeError:  # not UTF-8 (or compressed): left as it is
                pass
        return weasyprint.urls.URLFetcherResponse(url, data, {"Content-Type": kind})


@contextlib.contextmanager
def collect_warnings(diagnostics: Diagnostics, options: Options, theme: str | None = None) -> Iterator[None]:
    """WeasyPrint's warnings (bad CSS, images it cannot read) become diagnostics.

    A CSS warning "at LINE:COLUMN" of the print HTML's stylesheet is traced back
    to its file and line in the styles folder."""
    names = print_styles(options)

    class Handler(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            message = record.getMessage()
            if "refused: " in message:  # the fetcher's refusals fail the build with their own message
                return
            where = NO_FILE  # the renderer's own trouble (fonts, say): not a file the author can open
            match = _CSS_AT.search(message)
            origin = stylesheet_origin(names, options, int(match.group(1)) - 1, theme) if match else None
            if match and origin:  # the <style> text starts with a newline, so CSS line 1 is its line 2
                where = Location(_shown(origin[0]), origin[1])
                message = message[: match.start()] + message[match.end():]
            if Diagnostic("warning", where, f"renderer: {message}") not in diagnostics.items:  # once, not per page
                diagnostics.warning(where, f"renderer: {message}")

    logger = logging.getLogger("weasyprint")
    handler = Handler(logging.WARNING)
    logger.addHandler(handler)
    previous, logger.propagate = logger.propagate, False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.propagate = previous


def render(manuscript: Manuscript, options: Options, diagnostics: Diagnostics,
           html: str | None = None) -> weasyprint.Document:
    """Lay out the print edition. Returns the WeasyPrint document (pages, anchors)."""
    html = html if html is not None else print_html(manuscript, options)
    fetcher = ManuscriptFetcher([manuscript.root, options.styles, *font_dirs()])
    with collect_warnings(diagnostics, options, manuscript.report.theme):
        try:
            document = weasyprint.HTML(string=html, base_url=str(manuscript.root), url_fetcher=fetcher).render(
                dpi=None if options.press else SCREEN_DPI)
        except Exception as exc:  # WeasyPrint's own failures are not the author's
            raise RenderError(f"the PDF could not be laid out: {exc}") from exc
    if fetcher.refused:
        raise RenderError("refused to read " + "; ".join(dict.fromkeys(fetcher.refused)))
    return document


def _shown(path: Path) -> str:
    """A path as the user would type it: relative to the current folder when inside it."""
    try:
        return path.resolve().relative_to(Path.cwd()).as_posix()
    except ValueError:
        return str(path)


def body_start(document: weasyprint.Document, manuscript: Manuscript) -> int:
    """Index of the page where the first non-front chapter starts (0 if none)."""
    first = next((c.id for c in manuscript.chapters if c.kind != "front"), None)
    for index, page in enumerate(document.pages):
        if first in page.anchors:
            return index
    return 0


def roman(number: int) -> str:
    """4 -> 'iv' (front-matter folios)."""
    out = ""
    for value, numeral in ((1000, "m"), (900, "cm"), (500, "d"), (400, "cd"), (100, "c"), (90, "xc"),
                           (50, "l"), (40, "xl"), (10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i")):
        count, number = divmod(number, value)
        out += numeral * count
    return out


def page_labels(count: int, start: int) -> list[str]:
    """The folios `finish` writes as page labels: i, ii... before the body's first page, then 1, 2..."""
    return [roman(index + 1) if index < start else str(index - start + 1) for index in range(count)]
