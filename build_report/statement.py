"""The accessibility statement (issue 10): what the checks that ran say about each edition.

The statement is in the form of GOV.UK's sample accessibility statement and covers the report's
editions: the web edition (an HTML publication, the main one), the PDF and the EPUB. Its facts
come from the checks of the release gate (gate.py), in one of two ways:

- `build-report statement` runs them there and then on the built files (`assess`, which runs
  `assess_pdf`, `assess_epub` and `assess_web` at once): `pdfua.check` on the PDF, with
  `pdfua.HUMAN_ONLY`, the checkpoints only a person can check, stated as not verified; epubcheck and
  Ace by DAISY on the EPUB (`validators.run_epubcheck`, `validators.run_ace`); axe-core, the reflow
  check and the request checks on every page of the web edition (`browser.check_pages`). Each runs
  only where its tools are installed; the statement says which did not, and why.
- `build-report release` reuses the results of the gate it has just run (`from_gate`), so
  nothing runs twice.

An edition whose file is absent, or none of whose checks could run, is "not assessed". Nothing in
the statement depends on the clock, the time the checks took or where the files are: editions are
named by their file names, and the date is SOURCE_DATE_EPOCH, else the report's date.

This module gathers facts only; every sentence and label is in templates/statement.md.j2.
"""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple
from xml.etree import ElementTree as etree

import jinja2

from . import __version__, browser, pdfua, validators
from .assemble import TEMPLATES, long_date
from .model import Manuscript
from .output import source_date
from .writers.epub import CONFORMANCE

if TYPE_CHECKING:
    from .gate import Editions, GateReport

TEMPLATE = "statement.md.j2"
# Why an edition, or one check of it, was not assessed: keys the template turns into words.
ABSENT = "absent"  # no file (or folder) to check
NOT_CHECKED = "not-checked"  # the EPUB: neither epubcheck nor Ace could run (each says why)
CANNOT_READ = "cannot-read"  # the PDF: the gate could not read it as a PDF
NO_PAGES = "no-pages"  # the web edition's folder has no HTML page
NO_BROWSER = "no-browser"  # the web checks (Chromium, Playwright, axe-core), or Ace's Chromium
NO_NODE = "no-node"  # Ace: Node.js and npm
# The web check's own rules (browser.py); every other rule of a finding is axe-core's.
REFLOW = "reflow"
OWN_RULES = (REFLOW, "external-request", "missing-file", "script-error", "load")


@dataclass(frozen=True)
class Checkpoint:
    id: str
    description: str
    count: int = 0  # failures found


@dataclass
class PdfAssessment:
    path: Path
    not_assessed: str = ""  # ABSENT when there is no file, CANNOT_READ
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
    not_assessed: str = ""  # ABSENT, or NOT_CHECKED when neither epubcheck nor Ace ran
    epubcheck: validators.EpubcheckResult | None = None  # also when it could not run (it says why)
    claims: str = ""  # the package's dcterms:conformsTo, if it has one
    ace: validators.AceResult | None = None  # also when it could not run; None when it was not tried

    @property
    def epubcheck_ran(self) -> bool:
        return self.epubcheck is not None and self.epubcheck.ran

    @property
    def epubcheck_not_run(self) -> str:
        """Why epubcheck did not run: validators.NO_JAVA, NO_EPUBCHECK or FAILED_TO_RUN ('' when it ran)."""
        if self.epubcheck_ran:
            return ""
        return self.epubcheck.not_run if self.epubcheck is not None else validators.FAILED_TO_RUN

    @property
    def epubcheck_failed(self) -> bool:
        return self.epubcheck is not None and self.epubcheck.ran and not self.epubcheck.passed

    @property
    def ace_ran(self) -> bool:
        return self.ace is not None and self.ace.ran

    @property
    def ace_not_run(self) -> str:
        """Why Ace did not run: NO_NODE, NO_BROWSER or validators.FAILED_TO_RUN; '' when it ran or was not tried."""
        if self.ace is None or self.ace.ran:
            return ""
        if self.ace.not_run.startswith("Node.js"):  # validators.ace_missing's reasons
            return NO_NODE
        if self.ace.not_run.startswith("Chromium"):
            return NO_BROWSER
        return validators.FAILED_TO_RUN

    @property
    def ace_failed(self) -> bool:
        return self.ace is not None and self.ace.ran and not self.ace.passed

    @property
    def ok(self) -> bool:
        """Some check ran, and none that ran found a problem."""
        return not self.not_assessed and not self.epubcheck_failed and not self.ace_failed


@dataclass(frozen=True)
class WebProblem:
    """One kind of problem the web checks found: a rule and its message, with where it was seen."""

    rule: str
    help: str
    pages: tuple[str, ...]
    widths: tuple[int, ...]


@dataclass
class WebAssessment:
    path: Path  # the web edition's folder
    not_assessed: str = ""  # ABSENT, NO_PAGES, or NO_BROWSER (`detail` says what is missing)
    detail: str = ""
    pages: list[str] = field(default_factory=list)  # the pages checked, relative to the folder
    widths: tuple[int, ...] = browser.WIDTHS
    axe_version: str = browser.AXE_VERSION
    findings: list[browser.Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.not_assessed and not self.findings

    @property
    def problem_pages(self) -> list[str]:
        return sorted({finding.page for finding in self.findings})

    @property
    def axe_rules(self) -> list[str]:
        """The axe-core rules that failed somewhere."""
        return sorted({finding.rule for finding in self.findings if finding.rule not in OWN_RULES})

    @property
    def axe_pages(self) -> list[str]:
        return sorted({finding.page for finding in self.findings if finding.rule not in OWN_RULES})

    @property
    def reflow_pages(self) -> list[str]:
        """The pages that do not reflow (they scroll sideways, or fixed content runs off the screen) at some width."""
        return sorted({finding.page for finding in self.findings if finding.rule == REFLOW})

    def reflow_pages_at(self, width: int) -> list[str]:
        return sorted({finding.page for finding in self.findings if finding.rule == REFLOW and finding.width == width})

    @property
    def other_pages(self) -> list[str]:
        """The pages with a problem of loading: a request outside the folder, a missing file, a script error."""
        return sorted({finding.page for finding in self.findings
                       if finding.rule in OWN_RULES and finding.rule != REFLOW})

    @property
    def problems(self) -> list[WebProblem]:
        """The findings grouped by rule and message, with the pages and widths each was seen at."""
        seen: dict[tuple[str, str], tuple[set[str], set[int]]] = {}
        for finding in self.findings:
            pages, widths = seen.setdefault((finding.rule, finding.help), (set(), set()))
            pages.add(finding.page)
            widths.add(finding.width)
        return [WebProblem(rule, help_text, tuple(sorted(pages)), tuple(sorted(widths)))
                for (rule, help_text), (pages, widths) in sorted(seen.items())]


class Assessments(NamedTuple):
    """What `render` needs: an assessment of each edition (web None: a statement of the PDF and EPUB only)."""

    pdf: PdfAssessment
    epub: EpubAssessment
    web: WebAssessment | None = None


# -- Running the checks -------------------------------------------------------------------------


def pdf_assessment(path: Path, report: pdfua.Report) -> PdfAssessment:
    """The PDF's assessment from a `pdfua.check` report of it."""
    failed = [Checkpoint(c, pdfua.DESCRIPTIONS[c], len(report.findings[c])) for c in report.failed]
    return PdfAssessment(path, passed=len(report.findings) - len(failed), failed=failed)


def assess_pdf(path: Path) -> PdfAssessment:
    """Run the PDF/UA-1 checks on `path` (raises pikepdf.PdfError when it is not a PDF)."""
    if not path.is_file():
        return PdfAssessment(path, ABSENT)
    return pdf_assessment(path, pdfua.check(path))


def epub_assessment(path: Path, epubcheck: validators.EpubcheckResult | None,
                    ace: validators.AceResult | None) -> EpubAssessment:
    """The EPUB's assessment from the results of epubcheck and Ace on it (None: not tried), with the
    claim its package makes. epubcheck's messages name the book by its file name only."""
    if epubcheck is not None and epubcheck.messages:
        names = sorted({str(path), str(path.resolve())}, key=len, reverse=True)
        messages = []
        for message in epubcheck.messages:
            for name in names:
                message = message.replace(name, path.name)
            messages.append(message)
        epubcheck = replace(epubcheck, messages=messages)
    assessment = EpubAssessment(path, epubcheck=epubcheck, claims=package_claim(path), ace=ace)
    if not assessment.epubcheck_ran and not assessment.ace_ran:
        assessment.not_assessed = NOT_CHECKED
    return assessment


def assess_epub(path: Path, ace: bool = True) -> EpubAssessment:
    """Run epubcheck, and Ace by DAISY unless not `ace`, on `path` where they can run here (at once),
    and read the conformance claim the package makes."""
    if not path.is_file():
        return EpubAssessment(path, ABSENT)
    if not ace:
        return epub_assessment(path, validators.run_epubcheck(path), None)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="statement-ace") as pool:
        ace_result = pool.submit(validators.run_ace, path)
        epubcheck = validators.run_epubcheck(path)
        return epub_assessment(path, epubcheck, ace_result.result())


def assess_web(folder: Path, widths: Sequence[int] = browser.WIDTHS) -> WebAssessment:
    """Check every page of the web edition in `folder` with axe-core, for reflow and for requests, at
    each of `widths` (CSS px), where Chromium, Playwright and axe-core can be had here."""
    if not folder.is_dir():
        return WebAssessment(folder, ABSENT, widths=tuple(widths))
    reason = browser.chromium_missing()
    if reason:
        return WebAssessment(folder, NO_BROWSER, detail=reason, widths=tuple(widths))
    pages = browser.site_pages(folder)
    if not pages:
        return WebAssessment(folder, NO_PAGES, widths=tuple(widths))
    try:
        found = browser.check_pages(folder, pages, widths)
    except browser.BrowserUnavailable as exc:
        return WebAssessment(folder, NO_BROWSER, detail=str(exc), widths=tuple(widths))
    return WebAssessment(folder, pages=pages, widths=tuple(widths), findings=found)


def assess(pdf: Path, epub: Path, web: Path | None = None,
           widths: Sequence[int] = browser.WIDTHS) -> Assessments:
    """Every check of the editions that can run here, at once (the programs they run are slow: Ace
    and Chromium take tens of seconds). `web` None leaves the web edition out of the statement.
    Raises pikepdf.PdfError when `pdf` is not a PDF."""
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="statement") as pool:
        epub_future = pool.submit(assess_epub, epub)
        web_future = pool.submit(assess_web, web, widths) if web is not None else None
        pdf_assessed = assess_pdf(pdf)
        return Assessments(pdf_assessed, epub_future.result(),
                           web_future.result() if web_future is not None else None)


def from_gate(report: GateReport, editions: Editions) -> Assessments:
    """The assessments from the results of the release gate on `editions` (nothing is run again).
    `editions.web` None leaves the web edition out of the statement."""
    from . import gate

    def detail(name: str) -> object:
        return report.result(name).detail

    pdf_report = detail(gate.PDF)
    if editions.pdf is None or not editions.pdf.is_file():
        pdf = PdfAssessment(editions.pdf or Path("report.pdf"), ABSENT)
    elif isinstance(pdf_report, pdfua.Report):
        pdf = pdf_assessment(editions.pdf, pdf_report)
    else:
        pdf = PdfAssessment(editions.pdf, CANNOT_READ)

    if editions.epub is None or not editions.epub.is_file():
        epub = EpubAssessment(editions.epub or Path("report.epub"), ABSENT)
    else:
        epubcheck, ace = detail(gate.EPUBCHECK), detail(gate.ACE)
        epub = epub_assessment(editions.epub,
                               epubcheck if isinstance(epubcheck, validators.EpubcheckResult) else None,
                               ace if isinstance(ace, validators.AceResult) else None)

    web: WebAssessment | None = None
    if editions.web is not None:
        seen, result = detail(gate.WEB), report.result(gate.WEB)
        if not editions.web.is_dir():
            web = WebAssessment(editions.web, ABSENT)
        elif isinstance(seen, gate.WebPages) and not seen.pages:
            web = WebAssessment(editions.web, NO_PAGES, widths=seen.widths)
        elif isinstance(seen, gate.WebPages):
            web = WebAssessment(editions.web, pages=list(seen.pages), widths=seen.widths,
                                axe_version=seen.axe_version, findings=list(seen.findings))
        else:
            web = WebAssessment(editions.web, NO_BROWSER, detail=result.figure)
    return Assessments(pdf, epub, web)


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


def render(manuscript: Manuscript, pdf: PdfAssessment, epub: EpubAssessment,
           web: WebAssessment | None = None) -> str:
    """The statement, in Markdown. `web` None: a statement of the PDF and EPUB editions only."""
    report = manuscript.report
    human = [Checkpoint(ids, what) for ids, what in pdfua.HUMAN_ONLY.items()]
    text = environment().get_template(TEMPLATE).render(
        report=report, pdf=pdf, epub=epub, web=web, human_only=human, date=statement_date(report.date),
        version=__version__, conformance=CONFORMANCE, ace_version=validators.ACE_VERSION,
        reflow_width=browser.REFLOW_WIDTH, absent=ABSENT, cannot_read=CANNOT_READ, no_pages=NO_PAGES,
        no_browser=NO_BROWSER, no_node=NO_NODE, no_java=validators.NO_JAVA,
        no_epubcheck=validators.NO_EPUBCHECK)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def failed(pdf: PdfAssessment, epub: EpubAssessment, web: WebAssessment | None = None) -> bool:
    """A check that ran found a problem (not assessed is not a failure)."""
    return bool(pdf.failed) or epub.epubcheck_failed or epub.ace_failed or bool(web is not None and web.findings)
