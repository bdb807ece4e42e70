"""The build: the only orchestrator. It runs the stages in order, timing each one:

    load+parse -> assemble -> render -> (writer: finish -> write)

`Build` holds one parsed manuscript, the options, and what every writer shares:
the print HTML and its layout (`layout`) and the print page map (`page_map`),
each made at most once however many writers run. A writer (writers/) turns that
into one output. The CLI and `release` call these; tests may too. Nothing here
prints except the timer at -v.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from . import cache, writers
from .diagnostics import EXIT_CHECKS_FAILED, EXIT_OK, BuildReportError, Diagnostic, Diagnostics
from .model import Manuscript

if TYPE_CHECKING:
    import weasyprint

    from .model import Options
    from .pagemap import PageMap


@dataclass
class Timer:
    """Stage timings, printed at -v."""

    stream: TextIO | None = None
    stages: list[tuple[str, float]] = field(default_factory=list)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            elapsed = time.perf_counter() - start
            self.stages.append((name, elapsed))
            if self.stream is not None:
                print(f"build-report: {name:<10} {elapsed:6.2f} s", file=self.stream)


def load(root: Path, diagnostics: Diagnostics, timer: Timer, critic_mode: str = "view",
         styles: Path | None = None) -> Manuscript:
    """Load and parse; a character that no packaged font has is a warning (glyphs.py). With the build
    cache on, an unchanged manuscript comes from the cache, glyph warnings included (cache.py)."""
    from . import manuscript as manuscript_stage  # here: `check-pdf` and `--version` need no YAML or PIL

    with timer.stage("parse"):
        return manuscript_stage.load(root, diagnostics, critic_mode, styles, after=check_glyphs)


def check_glyphs(manuscript: Manuscript, diagnostics: Diagnostics) -> None:
    from . import glyphs  # here: it reads the fonts (fontTools), which a cached parse never needs

    glyphs.check_glyphs(manuscript, diagnostics)


class Build:
    """One manuscript built with one set of options, by one or more writers."""

    def __init__(self, manuscript: Manuscript, options: Options, diagnostics: Diagnostics, timer: Timer | None = None):
        self.manuscript = manuscript
        self.options = options
        self.diagnostics = diagnostics
        self.timer = timer or Timer()
        self._html: str | None = None
        self._layout: weasyprint.Document | None = None
        self._pages: PageMap | None = None
        self._rendered: list[Diagnostic] = []  # what the renderer warned about (kept with the page map)

    def html(self) -> str:
        """The print edition as one HTML document (assemble stage)."""
        if self._html is None:
            from .assemble import print_html

            with self.timer.stage("assemble"):
                self._html = print_html(self.manuscript, self.options)
        return self._html

    def layout(self) -> weasyprint.Document:
        """The print edition laid out by WeasyPrint (render stage): the PDF's pages, and the page
        numbers the EPUB and the web edition show. Problems found while rendering stop the build."""
        if self._layout is None:
            from . import render  # WeasyPrint takes half a second to import: only builds that lay out pay

            html = self.html()
            start = len(self.diagnostics.items)
            with self.timer.stage("render"):
                self._layout = render.render(self.manuscript, self.options, self.diagnostics, html)
            self._rendered = self.diagnostics.items[start:]
            self.diagnostics.check()
        return self._layout

    def page_map(self) -> PageMap:
        """Where each print page begins, in terms of the model (pagemap.py).

        With the build cache on, the page map of an earlier build of the same print HTML (the PDF
        writer's, say) is used without laying out again, and the renderer's warnings are repeated."""
        if self._pages is None:
            key = self._page_map_key()
            if key and self._layout is None:
                with self.timer.stage("paginate"):
                    found = cache.cached_page_map(key)
                if found is not None:
                    self._pages, rendered = found
                    cache.replay(self.diagnostics, rendered)
                    self.diagnostics.check()
                    return self._pages
            from . import pagemap

            layout = self.layout()
            with self.timer.stage("paginate"):
                self._pages = pagemap.page_map(layout, self.manuscript)
            if key:
                cache.store_page_map(key, self._pages, self._rendered)
        return self._pages

    def save_page_map(self, pages: PageMap | None = None, rendered: list[Diagnostic] | None = None) -> None:
        """Cache the page map of the layout made (the PDF writer calls this), so that a later build's
        EPUB or web edition need not lay out again; or `pages`, made another way (with the renderer's
        warnings, `rendered`). Nothing for drafts, whose HTML no edition shares."""
        if pages is not None:
            self._pages, self._rendered = pages, list(rendered or [])
        if not cache.enabled() or self.options.draft:
            return
        if pages is not None:
            cache.store_page_map(self._page_map_key(), pages, self._rendered)
        elif self._layout is not None:
            self.page_map()

    def _page_map_key(self) -> str:
        if not cache.enabled():
            return ""
        return cache.page_map_key(self.html(), self.manuscript.root, self.options.styles, self.options.press)

    def write(self, writer: writers.Writer, out: Path) -> Path:
        """Run `writer` into `out`. A final output is refused while review marks remain; nothing is
        written when the writer's stages found errors."""
        if writer.final and not self.options.draft:
            from . import review

            review.require_no_review_marks(self.manuscript, self.diagnostics)
        self.diagnostics.check()
        writer.write(self, out)
        self.diagnostics.check()
        return out


def build(root: Path, names: list[str], options: Options, diagnostics: Diagnostics, timer: Timer,
          outputs: dict[str, Path] | None = None) -> dict[str, Path]:
    """Load the manuscript at `root` once and run the writers `names` over it, sharing one layout.

    Each output goes to `outputs[name]`, else to the writer's default (build/<slug><suffix>)."""
    manuscript = load(root, diagnostics, timer, styles=options.styles)
    run = Build(manuscript, options, diagnostics, timer)
    written = {}
    for name in names:
        writer = writers.get(name)
        out = (outputs or {}).get(name) or writer.default_output(manuscript.slug)
        written[name] = run.write(writer, out)
    return written


def changes_draft(root: Path, ref: str, options: Options, diagnostics: Diagnostics, timer: Timer,
                  out: Path | None, strict: bool = False) -> Path:
    """A draft PDF of the manuscript at `root` with the changes since git ref `ref` marked (diff.py).

    The current manuscript is loaded first, so its problems are reported against the real
    files (path:line, exit 2) before git is asked anything. The annotated copy is loaded
    with diagnostics of its own: its warnings repeat the current manuscript's with shifted
    lines, so only what stops the draft of changes is passed on."""
    from . import diff, review

    current = load(root, diagnostics, timer, styles=options.styles)
    with tempfile.TemporaryDirectory(prefix="build-report-diff-") as tmp:
        with timer.stage("git"):
            old = diff.old_manuscript(current.root, ref, Path(tmp) / "old")
            changes = diff.annotated_copy(old, current.root, Path(tmp) / "changes", ref)
        annotated = Diagnostics(strict=strict)
        try:
            manuscript = load(Path(tmp) / "changes", annotated, timer, styles=options.styles)
        finally:
            diagnostics.items.extend(annotated.errors)
        status = tuple((c.id, "added" if c.path in changes.added else "removed")
                       for c in manuscript.chapters if c.path in changes.added + changes.removed)
        stamp = review.draft_stamp(current.root, current.report.version)
        options = options.replace(draft=True, status=status, stamp=f"Changes since {ref} \u00b7 {stamp}",
                                  summary=diff.summary_html(manuscript, changes, ref))
        out = out or Path("build") / f"{manuscript.slug}-changes.pdf"
        return Build(manuscript, options, diagnostics, timer).write(writers.get("pdf"), out)


class UnreadablePdf(BuildReportError):
    """The PDF whose links were to be checked cannot be read as a PDF."""


@dataclass
class LinkCheck:
    pdf_problems: list[str]  # the built PDF's links against the manuscript (links/outputs.py)
    results: list | None  # external links (links.LinkResult); None when offline

    @property
    def exit_status(self) -> int:
        from . import links

        status = EXIT_CHECKS_FAILED if self.pdf_problems else EXIT_OK
        return max(status, links.exit_code(self.results)) if self.results is not None else status


def check_links(root: Path, options: Options, diagnostics: Diagnostics, timer: Timer, pdf: Path | None = None,
                offline: bool = False, use_cache: bool = True, progress: TextIO | None = None) -> LinkCheck:
    """Every link of the manuscript: internal ones while loading (errors stop here), then those of
    the built PDF (`pdf`, else build/<slug>.pdf if there is one), then, unless `offline`, external ones."""
    from . import links

    manuscript = load(root, diagnostics, timer, styles=options.styles)
    try:
        policy = links.LinkPolicy.from_mapping(manuscript.report.links)
    except ValueError as exc:
        raise BuildReportError(f"report.yaml: {exc}") from exc
    checked = LinkCheck([], None)
    built = pdf or Path("build") / f"{manuscript.slug}.pdf"
    if pdf or built.is_file():
        with timer.stage("pdf links"):
            try:
                checked.pdf_problems = _pdf_problems(built, manuscript)
            except Exception as exc:  # pypdf raises many types for a damaged or foreign file
                raise UnreadablePdf(f"{built}: cannot be read as a PDF ({type(exc).__name__}: {exc})") from exc
    if not offline:
        with timer.stage("external"):
            verdicts = Path("build") / ".linkcache.json"
            checked.results = links.check_links(manuscript.links(), policy, cache_path=verdicts, use_cache=use_cache,
                                                progress=progress)
    return checked


def _pdf_problems(pdf: Path, manuscript: Manuscript) -> list[str]:
    """links.outputs.check_pdf_links; with the build cache on, its answer for the same PDF and the same
    manuscript files is reused (reading the PDF takes pypdf a third of a second on the sample)."""
    source = cache.source_of(manuscript)
    key = cache.digest("pdf-links", cache.stamp(), source, str(pdf), cache.file_digest(pdf, hashed=True)) \
        if source else ""
    known = cache.remembered_json("pdf-links", key) if key else None
    if isinstance(known, list):
        return [str(problem) for problem in known]
    from .links.outputs import check_pdf_links  # imports pypdf

    problems = check_pdf_links(pdf, manuscript)
    if key:
        cache.remember_json("pdf-links", key, problems)
    return problems
