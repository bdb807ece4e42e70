"""Shared fixtures: PDFs built once per test session."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from pypdf import PdfReader

from build_report import build, writers
from build_report.diagnostics import Diagnostics
from build_report.model import Options

ROOT = Path(__file__).resolve().parent.parent
MINI = ROOT / "tests" / "data" / "mini"
SAMPLE = ROOT / "manuscript"


@pytest.fixture(scope="session", autouse=True)
def own_build_cache(tmp_path_factory):
    """The suite's builds through the command line use a cache folder of their own, never the
    checkout's build/.cache (tests about the cache itself work in a fresh current folder instead)."""
    from build_report import cache

    os.environ[cache.ENV_FOLDER] = str(tmp_path_factory.mktemp("build-cache"))
    yield
    os.environ.pop(cache.ENV_FOLDER, None)


class Built:
    """A manuscript built to PDF, with its model and the WeasyPrint document."""

    def __init__(self, root: Path, out: Path, options: Options = Options()):
        self.diagnostics = Diagnostics()
        timer = build.Timer()
        self.manuscript = build.load(root, self.diagnostics, timer)
        run = build.Build(self.manuscript, options, self.diagnostics, timer)
        run.write(writers.get("pdf"), out)
        self.document = run.layout()
        self.path = out
        self.reader = PdfReader(out)
        self.labels = self.reader.page_labels

    def text(self, index: int) -> str:
        return self.reader.pages[index].extract_text()

    def dest_page(self, name: str) -> int:
        return self.reader.get_destination_page_number(self.reader.named_destinations[name])


@pytest.fixture(scope="session")
def mini(tmp_path_factory) -> Built:
    return Built(MINI, tmp_path_factory.mktemp("mini") / "mini.pdf")


@pytest.fixture(scope="session")
def sample(tmp_path_factory) -> Built:
    return Built(SAMPLE, tmp_path_factory.mktemp("sample") / "sample.pdf")


def pdffonts(path: Path) -> list[dict]:
    """pdffonts (poppler-utils) rows as dicts."""
    if not shutil.which("pdffonts"):
        pytest.skip("pdffonts (poppler-utils) is not installed")
    out = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    rows = []
    for line in out.splitlines()[2:]:
        parts = line.split()
        rows.append({"name": parts[0], "emb": parts[-5], "sub": parts[-4]})
    return rows


def words_off_page(pdf_path: Path, margin_x: float = 40, margin_y: float = 20) -> tuple[list[str], int]:
    """Words that lie outside the page or too close to the paper's edge, by `pdftotext -bbox`
    (poppler-utils), skipping the full-bleed cover: (problems, number of words checked)."""
    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext (poppler-utils) is not installed")
    out = subprocess.run(["pdftotext", "-bbox", str(pdf_path), "-"], capture_output=True, text=True,
                         check=True).stdout
    problems, words = [], 0
    for number, page in enumerate(out.split("<page ")[2:], 2):
        width, height = map(float, re.search(r'width="([\d.]+)" height="([\d.]+)"', page).groups())
        for match in re.finditer(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)<',
                                 page):
            x0, y0, x1, y1 = map(float, match.groups()[:4])
            words += 1
            if not (margin_x < x0 and x1 < width - margin_x and margin_y < y0 and y1 < height - margin_y):
                problems.append(f"page {number}: {match.group(5)!r} at {x0:.0f},{y0:.0f}-{x1:.0f},{y1:.0f}")
    return problems, words


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    """The WCAG 2 contrast ratio of two '#rrggbb' colours."""
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)
