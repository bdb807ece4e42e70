"""The release gate (`build-report check`, `make check`): every check of the built editions, one summary.

Nothing ships unless all seven checks pass:

1. epubcheck        the EPUB: no fatal error, error or warning (validators.run_epubcheck);
2. Ace by DAISY     the EPUB: no accessibility violation (validators.run_ace);
3. PDF structure    the PDF: every machine-checkable PDF/UA-1 checkpoint passes (pdfua.check);
4. web pages        the web edition: axe-core finds no violation on any page at 320, 390 and 1280 px, no
                    page scrolls sideways, and nothing is requested from the network (browser.check_pages);
5. links            the manuscript loads without errors (internal links, cross-references, images, places:
                    everything a build checks) and the PDF's links agree with it (links.outputs), offline;
6. review marks     no CriticMarkup left in the text (chapter.review_marks, and unbalanced marks);
7. alt text         every image is described or marked {.decorative}.

`run(root, editions)` only checks; the caller builds the editions first (`build_editions` does, for
`build-report check`; `release.py` builds its own). The gate loads the manuscript itself with its
own `Diagnostics` that never stops the load, so an error in the manuscript (an image without alt
text, say) becomes a FAIL line with its `path:line`, not an exception. A check that cannot run here
(no Java, no Chromium, an edition that was not built) is NOT RUN, and that fails the gate too: a
release cannot ship unchecked. The checks that run other programs (epubcheck, Ace, Chromium) run
concurrently with each other and with the in-process ones.

Each `CheckResult` keeps its check's own result in `detail` (the `pdfua.Report`, the
`validators.EpubcheckResult`, the `validators.AceResult`, the `WebPages`), so the release's
accessibility statement is written from these very checks (`statement.from_gate`), not from a rerun.

`GateReport.text()` fits one screen (at most 24 lines): a line per check, the first findings of each
failed check in `path:line: error: ...` form, and "N of 7 checks passed".
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TextIO

from . import browser, build, pdfua, validators, writers
from .diagnostics import BuildReportError, Diagnostic, Diagnostics, ManuscriptError, printable
from .model import Location, Manuscript, Options

PASS, FAIL, NOT_RUN = "PASS", "FAIL", "NOT RUN"
# The checks, in summary order.
EPUBCHECK, ACE, PDF, WEB, LINKS, REVIEW, ALT = (
    "epubcheck", "Ace by DAISY", "PDF structure", "web pages", "links", "review marks", "alt text")
CHECKS = (EPUBCHECK, ACE, PDF, WEB, LINKS, REVIEW, ALT)
SCREEN = 24  # lines: the summary fits one terminal screen
UNCHECKED = "counts as failed"  # a release cannot ship unchecked

_NO_ALT = re.compile(r"has no alt text|image without a file")
_REVIEW = re.compile(r"review mark")


@dataclass(frozen=True)
class Editions:
    """The built files the gate checks; None for an edition that was not built (`problem` says why)."""

    pdf: Path | None = None
    epub: Path | None = None
    web: Path | None = None  # the web edition's folder
    problem: str = ""  # why editions are missing, e.g. "the build stopped at errors in the manuscript"


@dataclass(frozen=True)
class WebPages:
    """What the web check saw (its `CheckResult.detail`): the pages, the widths, and every finding."""

    pages: tuple[str, ...]  # relative to the web edition's folder, with '/'
    widths: tuple[int, ...]  # CSS px
    findings: tuple[browser.Finding, ...] = ()
    axe_version: str = browser.AXE_VERSION


@dataclass
class CheckResult:
    name: str
    status: str  # PASS, FAIL or NOT_RUN
    figure: str  # a short figure for the summary line, or why it did not run
    findings: list[str] = field(default_factory=list)  # `path:line: error: message`, most useful first
    seconds: float = 0.0
    # The check's own result, when it got one: pdfua.Report, validators.EpubcheckResult (also when it
    # could not run), validators.AceResult (likewise) or WebPages; None for the manuscript's checks.
    detail: object = None

    @property
    def passed(self) -> bool:
        return self.status == PASS

    def line(self) -> str:
        why = f"; {UNCHECKED}" if self.status == NOT_RUN else ""
        return printable(f"{self.status:<8} {self.name:<14} {self.figure}{why}")


@dataclass
class GateReport:
    results: list[CheckResult]

    @property
    def passed(self) -> bool:
        return all(result.passed for result in self.results)

    @property
    def exit_code(self) -> int:
        return 0 if self.passed else 1

    def result(self, name: str) -> CheckResult:
        return next(result for result in self.results if result.name == name)

    @property
    def failed(self) -> list[str]:
        """The names of the checks that failed or did not run, in summary order."""
        return [result.name for result in self.results if not result.passed]

    def text(self, lines: int = SCREEN) -> str:
        """The summary: one line per check, the first findings of each failed check, the count."""
        out = [result.line() for result in self.results]
        failing = [result for result in self.results if result.status == FAIL and result.findings]
        room = lines - len(out) - 1
        for index, result in enumerate(failing):
            share = max(1, room // (len(failing) - index))  # what is left, shared by the checks still to show
            shown = result.findings if len(result.findings) <= share else result.findings[:max(share - 1, 1)]
            out += [printable(finding) for finding in shown]
            room -= len(shown)
            if len(shown) < len(result.findings):
                out.append(f"  ... and {len(result.findings) - len(shown)} more ({result.name})")
                room -= 1
        passed = sum(result.passed for result in self.results)
        verdict = "" if self.passed else ": the gate fails"
        out.append(f"{passed} of {len(self.results)} checks passed{verdict}")
        return "\n".join(out) + "\n"


class _Collecting(Diagnostics):
    """Diagnostics that never stop the load: the gate wants the model and every error in it."""

    def check(self) -> None:
        pass


def run(root: Path, editions: Editions, options: Options | None = None, timer: build.Timer | None = None,
        widths: tuple[int, ...] = browser.WIDTHS, strict: bool = False) -> GateReport:
    """Every check on the built `editions` of the manuscript at `root`; never raises for a failed check
    or a missing tool. With `strict`, the manuscript's warnings fail the gate as its errors do."""
    options = options or Options()
    timer = timer or build.Timer()
    with ThreadPoolExecutor(max_workers=4, thread_name_prefix="gate") as pool:
        outside: dict[str, Future[CheckResult]] = {
            EPUBCHECK: pool.submit(_timed, EPUBCHECK, _epubcheck, editions),
            ACE: pool.submit(_timed, ACE, _ace, editions),
            WEB: pool.submit(_timed, WEB, _web, editions, widths),
            PDF: pool.submit(_timed, PDF, _pdf, editions),
        }
        with timer.stage("gate load"):
            diagnostics = _Collecting(strict=strict)
            manuscript = _load(root, options, diagnostics)
        inside = _manuscript_checks(manuscript, diagnostics, editions)
        results = {name: future.result() for name, future in outside.items()} | inside
    for name in CHECKS:  # they ran at once: each one's own time, for -v
        timer.stages.append((f"gate: {name}", results[name].seconds))
        if timer.stream is not None:
            print(f"build-report: {'gate: ' + name:<10} {results[name].seconds:6.2f} s", file=timer.stream)
    return GateReport([results[name] for name in CHECKS])


def _timed(name: str, check: Callable[..., CheckResult], *args) -> CheckResult:
    start = time.perf_counter()
    result = check(*args)
    return replace(result, seconds=time.perf_counter() - start)


def _n(count: int, word: str) -> str:
    return f"{count} {word}{'s' * (count != 1)}"


def _not_built(name: str, edition: str, editions: Editions) -> CheckResult:
    return CheckResult(name, NOT_RUN, f"no {edition}: {editions.problem}" if editions.problem
                       else f"no {edition} was built")


def _missing_file(name: str, path: Path) -> CheckResult | None:
    if not path.exists():
        return CheckResult(name, NOT_RUN, f"{path} does not exist")
    return None


# -- The editions -------------------------------------------------------------------------------


def _epubcheck(editions: Editions) -> CheckResult:
    if editions.epub is None:
        return _not_built(EPUBCHECK, "EPUB", editions)
    if missing := _missing_file(EPUBCHECK, editions.epub):
        return missing
    result = validators.run_epubcheck(editions.epub)
    if not result.ran:
        return CheckResult(EPUBCHECK, NOT_RUN, result.describe(), detail=result)
    counts = f"{_n(result.fatal + result.errors, 'error')}, {_n(result.warnings, 'warning')}"
    figure = f"{counts} (epubcheck {result.version})"
    findings = [_epubcheck_line(editions.epub.name, message) for message in result.messages]
    return CheckResult(EPUBCHECK, PASS if result.passed else FAIL, figure, findings, detail=result)


def _epubcheck_line(book: str, message: str) -> str:
    """validators' "ID SEVERITY path:line: message" as `book/path:line: error: message [ID]`."""
    ident, severity, rest = (message.split(" ", 2) + ["", ""])[:3]
    where, _, text = rest.partition(": ")
    level = "warning" if severity.upper() in ("WARNING", "USAGE", "INFO") else "error"
    return f"{book}/{where}: {level}: {text} [{ident}]" if where else f"{book}: {level}: {text} [{ident}]"


def _ace(editions: Editions) -> CheckResult:
    if editions.epub is None:
        return _not_built(ACE, "EPUB", editions)
    if missing := _missing_file(ACE, editions.epub):
        return missing
    result = validators.run_ace(editions.epub)
    if not result.ran:
        return CheckResult(ACE, NOT_RUN, result.not_run, detail=result)
    counts = result.describe().partition(": ")[2].removeprefix(f"{result.outcome}, ")
    findings = [f"{editions.epub.name}/{v.file}: error: {v.rule}: {v.description}" for v in result.violations]
    return CheckResult(ACE, PASS if result.passed else FAIL, f"{counts} (Ace {validators.ACE_VERSION})", findings,
                       detail=result)


def _pdf(editions: Editions) -> CheckResult:
    import pikepdf

    if editions.pdf is None:
        return _not_built(PDF, "PDF", editions)
    if missing := _missing_file(PDF, editions.pdf):
        return missing
    try:
        report = pdfua.check(editions.pdf)
    except (pikepdf.PdfError, OSError) as exc:
        return CheckResult(PDF, FAIL, "cannot be read as a PDF", [f"{editions.pdf.name}: error: {exc}"])
    total, failed = len(report.findings), len(report.failed)
    findings = [f"{editions.pdf.name}: error: {checkpoint} {pdfua.DESCRIPTIONS[checkpoint]} ({count}"
                f"{'; ' + str(examples[0]) if examples else ''})" for checkpoint, count, examples in report.rows()]
    if failed:
        return CheckResult(PDF, FAIL, f"{failed} of {total} PDF/UA-1 checkpoints fail", findings, detail=report)
    return CheckResult(PDF, PASS, f"{total} of {total} PDF/UA-1 checkpoints pass", detail=report)


def _web(editions: Editions, widths: tuple[int, ...]) -> CheckResult:
    if editions.web is None:
        return _not_built(WEB, "web edition", editions)
    if missing := _missing_file(WEB, editions.web):
        return missing
    reason = browser.chromium_missing()
    if reason:
        return CheckResult(WEB, NOT_RUN, reason)
    pages = browser.site_pages(editions.web)
    if not pages:
        return CheckResult(WEB, FAIL, "no pages", [f"{editions.web.name}: error: the web edition has no HTML pages"],
                           detail=WebPages((), tuple(widths)))
    try:
        found = browser.check_pages(editions.web, pages, widths)
    except browser.BrowserUnavailable as exc:
        return CheckResult(WEB, NOT_RUN, str(exc))
    seen = WebPages(tuple(pages), tuple(widths), tuple(found))
    at = f"{len(pages)} pages at {', '.join(map(str, widths))} px"
    if not found:
        return CheckResult(WEB, PASS, f"0 violations, no sideways scrolling: {at}", detail=seen)
    problem_pages = len({finding.page for finding in found})
    return CheckResult(WEB, FAIL, f"{_n(len(found), 'problem')} on {problem_pages} of {at}",
                       _web_lines(editions.web.name, found), detail=seen)


def _web_lines(site: str, found: list[browser.Finding]) -> list[str]:
    """One line per problem, however many widths it was seen at: `web/page.html: error: [320, 390 px] ...`."""
    widths: dict[tuple, list[int]] = {}
    for finding in found:
        widths.setdefault((finding.page, finding.rule, finding.help, finding.targets), []).append(finding.width)
    lines = []
    for (page, rule, help_text, targets), seen in widths.items():
        shown = ", ".join(targets[:2]) + (", ..." if len(targets) > 2 else "")
        where = f" ({shown})" if shown else ""
        lines.append(f"{site}/{page}: error: [{', '.join(map(str, sorted(seen)))} px] {rule}: {help_text}{where}")
    return lines


# -- The manuscript -----------------------------------------------------------------------------


def _load(root: Path, options: Options, diagnostics: Diagnostics) -> Manuscript | None:
    """The model, however many errors it has (they are in `diagnostics`); None when there is none."""
    if not Path(root).is_dir():
        diagnostics.error(Location(str(root)), "manuscript folder not found")
        return None
    manuscript = build.load(Path(root), diagnostics, build.Timer(), styles=options.styles)
    return manuscript if manuscript.report is not None else None


def _manuscript_checks(manuscript: Manuscript | None, diagnostics: Diagnostics,
                       editions: Editions) -> dict[str, CheckResult]:
    """Links, review marks and alt text, from one load; each load error goes to the check it concerns
    (review marks and alt text), every other one to links: the internal links are checked by loading."""
    errors = sorted(diagnostics.errors, key=lambda d: d.location)
    alt = [d for d in errors if _NO_ALT.search(d.message)]
    review = [d for d in diagnostics.items if _REVIEW.search(d.message)]  # an unbalanced mark is a warning
    others = [d for d in errors if d not in alt and d not in review]
    return {LINKS: _timed(LINKS, _links, manuscript, others, editions),
            REVIEW: _timed(REVIEW, _review, manuscript, review),
            ALT: _timed(ALT, _alt_text, manuscript, alt)}


def _links(manuscript: Manuscript | None, errors: list[Diagnostic], editions: Editions) -> CheckResult:
    from .links.outputs import check_pdf_links

    findings = [str(d) for d in errors]
    if manuscript is None:
        return CheckResult(LINKS, FAIL, "the manuscript did not load", findings)
    xrefs = sum(1 for link in manuscript.links() if link.kind == "xref")
    external = sum(1 for link in manuscript.links() if link.kind in ("external", "mailto"))
    figure = f"{xrefs} cross-references resolve"
    if errors:
        figure = f"{_n(len(errors), 'error')} in the manuscript"
    if editions.pdf is None or not editions.pdf.exists():
        if errors:
            return CheckResult(LINKS, FAIL, figure, findings)
        if editions.pdf is not None:
            return CheckResult(LINKS, NOT_RUN, f"{editions.pdf} does not exist")
        return _not_built(LINKS, "PDF", editions)
    try:
        problems = check_pdf_links(editions.pdf, manuscript)
    except Exception as exc:  # pypdf raises many types for a damaged file
        problems = [f"{editions.pdf}: cannot be read as a PDF ({type(exc).__name__}: {exc})"]
    findings += [_pdf_link_line(editions.pdf, problem) for problem in problems]
    if findings:
        figure = figure if errors else f"{_n(len(problems), 'problem')} with the PDF's links"
        return CheckResult(LINKS, FAIL, figure, findings)
    return CheckResult(LINKS, PASS, f"{figure}; the PDF has all {external} external links (offline)")


def _pdf_link_line(pdf: Path, problem: str) -> str:
    """links.outputs' "<pdf>: page 3: ..." in compiler style."""
    where, _, message = problem.removeprefix(f"{pdf}: ").partition(": ")
    if where.startswith("page "):
        return f"{pdf.name}: error: {where}: {message}"
    return f"{pdf.name}: error: {problem.removeprefix(f'{pdf}: ')}"


def _review(manuscript: Manuscript | None, unbalanced: list[Diagnostic]) -> CheckResult:
    if manuscript is None:
        return CheckResult(REVIEW, NOT_RUN, "the manuscript did not load")
    marks = sorted(where for chapter in manuscript.chapters for where in chapter.review_marks)
    findings = [f"{where}: error: unresolved review mark: accept or reject it (build-report accept|reject)"
                for where in marks]
    findings += [str(replace(d, severity="error")) for d in unbalanced]
    if not findings:
        return CheckResult(REVIEW, PASS, "none left")
    files = len({line.split(":", 1)[0] for line in findings})
    figure = f"{len(marks)} left" + (f", {len(unbalanced)} unbalanced" if unbalanced else "")
    return CheckResult(REVIEW, FAIL, f"{figure} in {_n(files, 'chapter')}", findings)


def _alt_text(manuscript: Manuscript | None, errors: list[Diagnostic]) -> CheckResult:
    from .manuscript import line_of

    if manuscript is None:
        return CheckResult(ALT, NOT_RUN, "the manuscript did not load")
    described = decorative = 0
    seen = {d.location for d in errors}
    findings = [str(d) for d in errors]
    for chapter in manuscript.chapters:
        if chapter.body is None:
            continue
        parents = {child: parent for parent in chapter.body.iter() for child in parent}
        for image in chapter.body.iter("img"):
            if "decorative" in image.get("class", "").split():
                decorative += 1
            elif image.get("alt", "").strip():
                described += 1
            else:
                where = Location(chapter.path, line_of(image, parents))
                if where not in seen:  # the load reported most already; this catches any it could not
                    findings.append(f"{where}: error: image '{image.get('src', '')}' has no alt text")
    total = described + decorative + len(findings)
    if findings:
        return CheckResult(ALT, FAIL, f"{len(findings)} of {_n(total, 'image')} without alt text", findings)
    return CheckResult(ALT, PASS, f"{_n(total, 'image')}: {described} described, {decorative} decorative")


# -- build-report check ------------------------------------------------------------------------


def build_editions(root: Path, options: Options, timer: build.Timer, given: Editions | None = None,
                   diagnostics: Diagnostics | None = None) -> Editions:
    """Build the editions `given` does not name (PDF, EPUB and web) to their
    default paths (build/<slug>...), sharing one layout. A build that fails leaves its edition None,
    with the reason in `problem`; the gate then reports those checks as NOT RUN and the manuscript's
    errors as FAILs. The build's warnings are passed on to `diagnostics` (its errors are the gate's)."""
    given = given or Editions()
    wanted = {"pdf": given.pdf, "epub": given.epub, "web": given.web}
    if all(path is not None for path in wanted.values()):
        return given
    own = Diagnostics(strict=diagnostics.strict if diagnostics else False)  # its errors: the gate's to report
    try:
        manuscript = build.load(Path(root), own, timer, styles=options.styles)
        run = build.Build(manuscript, options, own, timer)
        built = {name: path or run.write(writers.get(name), writers.get(name).default_output(manuscript.slug))
                 for name, path in wanted.items()}
        if diagnostics is not None:
            diagnostics.items.extend(d for d in own.items if d.severity == "warning")
    except ManuscriptError:
        return replace(given, problem="the build stopped at errors in the manuscript")
    except BuildReportError as exc:
        return replace(given, problem=f"the build failed ({exc})")
    return Editions(pdf=built["pdf"], epub=built["epub"], web=built["web"])


def check(root: Path, options: Options, timer: build.Timer, stdout: TextIO, given: Editions | None = None,
          diagnostics: Diagnostics | None = None) -> int:
    """`build-report check`: build what is not given, run the gate, print the summary; the exit status
    (0 every check passed, 1 not). `diagnostics` gets the build's warnings, and its `strict` applies."""
    editions = build_editions(root, options, timer, given, diagnostics)
    report = run(root, editions, options, timer, strict=bool(diagnostics and diagnostics.strict))
    stdout.write(report.text())
    return report.exit_code
