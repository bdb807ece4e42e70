"""The build: run the stages in order for one output, timing each one.

    load+parse -> assemble -> render -> finish -> write

The CLI calls these; tests may too. Nothing here prints except the timer at -v.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from . import glyphs, manuscript as manuscript_stage
from .assemble import Options, print_html
from .diagnostics import Diagnostics
from .model import Manuscript
from .output import write_atomic


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
    """Load and parse; a character that no packaged font has is a warning (glyphs.py)."""
    with timer.stage("parse"):
        manuscript = manuscript_stage.load(root, diagnostics, critic_mode, styles)
        glyphs.check_glyphs(manuscript, diagnostics)
        return manuscript


def build_html(manuscript: Manuscript, out: Path, options: Options, diagnostics: Diagnostics,
               timer: Timer) -> None:
    with timer.stage("assemble"):
        html = print_html(manuscript, options)
    with timer.stage("write"):
        write_atomic(out, html)


def build_pdf(manuscript: Manuscript, out: Path, options: Options, diagnostics: Diagnostics,
              timer: Timer):
    """Build the PDF; returns the rendered WeasyPrint document (page positions)."""
    from . import pdf  # WeasyPrint takes half a second to import: only builds that render pay for it

    with timer.stage("assemble"):
        html = print_html(manuscript, options)
    with timer.stage("render"):
        document = pdf.render(manuscript, options, diagnostics, html)
    diagnostics.check()
    with timer.stage("finish"):
        data = pdf.finish(document, manuscript, diagnostics, options)
    diagnostics.check()  # WeasyPrint's warnings while writing (fonts) count too: nothing is written
    with timer.stage("write"):
        write_atomic(out, data)
    return document
