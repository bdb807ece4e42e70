"""Shared fixtures: PDFs built once per test session."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from pypdf import PdfReader

from build_report import build
from build_report.assemble import Options
from build_report.diagnostics import Diagnostics

ROOT = Path(__file__).resolve().parent.parent
MINI = ROOT / "tests" / "data" / "mini"
SAMPLE = ROOT / "manuscript"


class Built:
    """A manuscript built to PDF, with its model and the WeasyPrint document."""

    def __init__(self, root: Path, out: Path, options: Options = Options()):
        self.diagnostics = Diagnostics()
        timer = build.Timer()
        self.manuscript = build.load(root, self.diagnostics, timer)
        self.document = build.build_pdf(self.manuscript, out, options, self.diagnostics, timer)
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
