"""The accessibility statement (issue 10): what the checks that ran say about each edition.

`build-report statement` writes a Markdown statement in the form of GOV.UK's sample
accessibility statement, from checks run there and then on the built files:

- the PDF: `pdfua.check`, the machine-checkable PDF/UA-1 checkpoints (how many passed, which
  failed), and `pdfua.HUMAN_ONLY`, the checkpoints only a person can check, stated as not verified;
- the EPUB: epubcheck (`validators.run_epubcheck`) when Java is installed; Ace by DAISY is not
  run here (it needs Chromium and Node.js; `make check-epub` runs it);
- an edition whose file is absent, or whose checks could not run, is "not assessed".

This module gathers facts only; every sentence and label is in templates/statement.md.j2.
The statement's date is SOURCE_DATE_EPOCH, else the report's date, so it is deterministic.
"""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree as etree

import jinja2

from . import __version__, pdfua, validators
from .assemble import TEMPLATES, long_date
from .model import Manuscript
from .output import source_date
from .writers.epub import CONFORMANCE

TEMPLATE = "statement.md.j2"
ABSENT = "absent"  # a reason an edition was not assessed: no file (others: validators.NO_JAVA ...)


@dataclass(frozen=True)
class Checkpoint:
    id: str
    description: str
    count: int = 0  # failures found


@dataclass
class PdfAssessment:
    path: Path
    not_assessed: str = ""  # ABSENT when there is no file
    passed: int = 0
    failed: list[Checkpoint] = field(default_factory=list)

    @property
    def checked(self) -> int:
        return self.passed + len(self.failed)

    @property
    def ok(self) -> bool:
        return not self.not_assessed and not self.failed


@dataclass
class EpubAssessment:
    path: Path
    not_assessed: str = ""  # ABSENT, or why epubcheck did not run (validators.NO_JAVA ...)
    detail: str = ""
    epubcheck: validators.EpubcheckResult | None = None
    claims: str = ""  # the package's dcterms:conformsTo, if it has one

    @property
    def ok(self) -> bool:
        return not self.not_assessed and self.epubcheck is not None and self.epubcheck.passed


def assess_pdf(path: Path) -> PdfAssessment:
    """Run the PDF/UA-1 checks on `path` (raises pikepdf.PdfError when it is not a PDF)."""
    if not path.is_file():
        return PdfAssessment(path, ABSENT)
    report = pdfua.check(path)
    failed = [Checkpoint(c, pdfua.DESCRIPTIONS[c], len(report.findings[c])) for c in report.failed]
    return PdfAssessment(path, passed=len(report.findings) - len(failed), failed=failed)


def assess_epub(path: Path) -> EpubAssessment:
    """Run epubcheck on `path` when it can run here, and read the conformance claim the package makes."""
    if not path.is_file():
        return EpubAssessment(path, ABSENT)
    result = validators.run_epubcheck(path)
    claims = package_claim(path)
    if not result.ran:
        return EpubAssessment(path, result.not_run, detail=result.detail, claims=claims)
    return EpubAssessment(path, epubcheck=result, claims=claims)


def package_claim(path: Path) -> str:
    """The EPUB's `dcterms:conformsTo` ('' when it has none or cannot be read)."""
    try:
        with zipfile.ZipFile(path) as book:
            container = etree.fromstring(book.read("META-INF/container.xml"))
            rootfile = next(e for e in container.iter() if e.tag.endswith("rootfile")).get("full-path", "")
            package = etree.fromstring(book.read(rootfile))
    except (OSError, KeyError, StopIteration, zipfile.BadZipFile, etree.ParseError):
        return ""
    return next((" ".join((e.text or "").split()) for e in package.iter()
                 if e.tag.endswith("}meta") and e.get("property") == "dcterms:conformsTo"), "")


def statement_date(report_date: str) -> str:
    """SOURCE_DATE_EPOCH's day, else the report's date, else '' (never the clock)."""
    epoch = source_date()
    if epoch is not None:
        return dt.datetime.fromtimestamp(epoch, dt.timezone.utc).date().isoformat()
    return report_date


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>#|])")


def markdown_text(value: str) -> str:
    """Text from report.yaml as literal Markdown: its special characters escaped, on one line."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(str(value).split()))


def environment() -> jinja2.Environment:
    """Markdown, not HTML: no autoescape; values from the manuscript go through the `md` filter."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=False,
                             trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
                             undefined=jinja2.StrictUndefined)
    env.filters["longdate"] = long_date
    env.filters["md"] = markdown_text
    return env


def render(manuscript: Manuscript, pdf: PdfAssessment, epub: EpubAssessment) -> str:
    report = manuscript.report
    human = [Checkpoint(ids, what) for ids, what in pdfua.HUMAN_ONLY.items()]
    text = environment().get_template(TEMPLATE).render(
        report=report, pdf=pdf, epub=epub, human_only=human, date=statement_date(report.date),
        version=__version__, conformance=CONFORMANCE, absent=ABSENT,
        no_java=validators.NO_JAVA, no_epubcheck=validators.NO_EPUBCHECK)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def failed(pdf: PdfAssessment, epub: EpubAssessment) -> bool:
    """A check that ran found a problem (not assessed is not a failure)."""
    return bool(pdf.failed) or (epub.epubcheck is not None and not epub.epubcheck.passed)
