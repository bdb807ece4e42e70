"""The release gate (build_report/gate.py): seven checks, one summary, exit 1 on any FAIL or NOT RUN.

The mini manuscript is built once (PDF, EPUB and, when the writer exists, the web edition). The checks
of the built files that run other programs (epubcheck, Ace, Chromium) are run for real once per
session and their results reused (`outside_checks_once`), so the manuscript cases stay fast: those
only change the manuscript, and the manuscript checks always run afresh."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from build_report import browser, build, gate, validators, writers
from build_report.diagnostics import Diagnostics
from build_report.model import Options

ROOT = Path(__file__).resolve().parent.parent
MINI = ROOT / "tests" / "data" / "mini"
FIGURE = "![A simple diagram of two boxes](../images/boxes.svg"
FIGURE_LINE = 16  # of chapters/01-first.md
OPENING = "An opening paragraph with a footnote.[^one]"
OPENING_LINE = 6

# A web edition of our own: a clean two-page site, for the gate's own tests (the web writer's output
# is tested by test_the_web_edition_of_mini_passes_the_gate).
PAGE = """<!DOCTYPE html><html lang="en-GB"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title} - A Small Report</title></head>
<body><header><a href="#main">Skip to the text</a></header><main id="main"><h1>{title}</h1>{body}</main>
<footer><p>Test Press</p></footer></body></html>"""


def write_site(folder: Path, body: str = "<p>The first chapter.</p>") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "index.html").write_text(PAGE.format(title="A Small Report",
                                                   body='<p><a href="first.html">The first chapter</a></p>'))
    (folder / "first.html").write_text(PAGE.format(title="The first chapter", body=body))
    return folder


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("gate")
    names = ["pdf", "epub", *(["web"] if "web" in writers.names() else [])]
    outputs = {"pdf": out / "mini.pdf", "epub": out / "mini.epub", "web": out / "mini-web"}
    written = build.build(MINI, names, Options(), Diagnostics(), build.Timer(), outputs)
    written["site"] = write_site(out / "site")
    return written


@pytest.fixture(scope="session")
def editions(built) -> gate.Editions:
    """The mini manuscript's PDF and EPUB, and our own clean web folder."""
    return gate.Editions(pdf=built["pdf"], epub=built["epub"], web=built["site"])


_RESULTS: dict[tuple, gate.CheckResult] = {}


@pytest.fixture
def outside_checks_once(monkeypatch):
    """Run each check of the built files once per session and editions, then reuse its result."""
    for name in ("_epubcheck", "_ace", "_pdf", "_web"):
        check = getattr(gate, name)

        def once(*args, _check=check, _name=name):
            key = (_name, *args)
            if key not in _RESULTS:
                _RESULTS[key] = _check(*args)
            return _RESULTS[key]

        monkeypatch.setattr(gate, name, once)


def needs(*reasons: str) -> None:
    for reason in reasons:
        if reason:
            pytest.skip(reason)


def mini_copy(tmp_path: Path, old: str = "", new: str = "") -> Path:
    copy = tmp_path / "mini"
    shutil.copytree(MINI, copy)
    chapter = copy / "chapters" / "01-first.md"
    text = chapter.read_text(encoding="utf-8")
    assert old in text
    chapter.write_text(text.replace(old, new, 1), encoding="utf-8")
    return copy


def statuses(report: gate.GateReport) -> dict[str, str]:
    return {result.name: result.status for result in report.results}


def test_the_gate_passes_on_the_mini_manuscript(editions, outside_checks_once):
    needs(validators.missing(), validators.ace_missing(), browser.chromium_missing())
    report = gate.run(MINI, editions)
    text = report.text()
    assert statuses(report) == dict.fromkeys(gate.CHECKS, gate.PASS), text
    assert report.passed and report.exit_code == 0
    lines = text.splitlines()
    assert len(lines) == 8 and lines[-1] == "7 of 7 checks passed"
    assert lines[0].startswith("PASS     epubcheck      0 errors, 0 warnings (epubcheck ")
    assert lines[1] == f"PASS     Ace by DAISY   0 violations (Ace {validators.ACE_VERSION})"
    assert lines[3] == "PASS     web pages      0 violations, no sideways scrolling: 2 pages at 320, 390, 1280 px"
    assert lines[5:7] == ["PASS     review marks   none left",
                          "PASS     alt text       1 image: 1 described, 0 decorative"]


def test_the_web_edition_of_mini_passes_the_gate(built, outside_checks_once):
    if "web" not in built:
        pytest.skip("the web writer does not exist yet")
    needs(browser.chromium_missing())
    result = gate._web(gate.Editions(web=built["web"]), browser.WIDTHS)
    assert result.status == gate.PASS, "\n".join([result.line(), *result.findings])


def test_an_image_without_alt_text_fails_the_alt_text_check(tmp_path, editions, outside_checks_once):
    copy = mini_copy(tmp_path, FIGURE, "![](../images/boxes.svg")
    report = gate.run(copy, editions)
    failed = [result.name for result in report.results if result.status == gate.FAIL]
    assert failed == ["alt text"]
    assert report.exit_code == 1
    assert report.result("alt text").line() == "FAIL     alt text       1 of 1 image without alt text"
    expected = (f"chapters/01-first.md:{FIGURE_LINE}: error: image '../images/boxes.svg' has no alt text: "
                "describe it in ![...], or mark a purely decorative image with {.decorative}")
    assert expected in report.text().splitlines()
    assert report.text().splitlines()[-1].endswith("checks passed: the gate fails")


def test_a_review_mark_fails_the_review_marks_check(tmp_path, editions, outside_checks_once):
    copy = mini_copy(tmp_path, OPENING, "An opening {++added++} paragraph with a footnote.[^one]")
    report = gate.run(copy, editions)
    failed = [result.name for result in report.results if result.status == gate.FAIL]
    assert failed == ["review marks"]
    assert report.result("review marks").figure == "1 left in 1 chapter"
    assert (f"chapters/01-first.md:{OPENING_LINE}: error: unresolved review mark: accept or reject it "
            "(build-report accept|reject)") in report.text().splitlines()


def test_an_unbalanced_review_mark_fails_too(tmp_path, editions, outside_checks_once):
    copy = mini_copy(tmp_path, OPENING, "An opening {++added paragraph with a footnote.[^one]")
    report = gate.run(copy, editions)
    review = report.result("review marks")
    assert review.status == gate.FAIL and review.figure == "0 left, 1 unbalanced in 1 chapter"
    assert review.findings == [f"chapters/01-first.md:{OPENING_LINE}: error: unbalanced review mark '{{++' "
                               "(no closing '++}' in its paragraph)"]


def test_other_manuscript_errors_fail_the_links_check_with_their_lines(tmp_path, editions, outside_checks_once):
    copy = mini_copy(tmp_path, "[below](#tab-counts)", "[below](#tab-nowhere)")
    report = gate.run(copy, editions)
    links = report.result("links")
    assert (links.status, links.figure) == (gate.FAIL, "1 error in the manuscript")
    assert links.findings[0].startswith("chapters/01-first.md:18: error: ")
    assert [r.name for r in report.results if r.status == gate.FAIL] == ["links"]


def test_check_reports_not_run_editions_when_the_build_is_refused(tmp_path, monkeypatch):
    """`build-report check` builds first; a final build refuses review marks, so the editions' checks
    are NOT RUN, and the summary still says which line to fix."""
    monkeypatch.chdir(tmp_path)
    copy = mini_copy(tmp_path, OPENING, "An opening {==highlighted==} paragraph.[^one]")
    out = tmp_path / "out.txt"
    with out.open("w") as stream:
        code = gate.check(copy, Options(), build.Timer(), stream)
    text = out.read_text()
    assert code == 1
    lines = text.splitlines()
    assert lines[0] == ("NOT RUN  epubcheck      no EPUB: the build stopped at errors in the manuscript; "
                        "counts as failed")
    assert [line.split()[0] for line in lines[:7]] == ["NOT", "NOT", "NOT", "NOT", "NOT", "FAIL", "PASS"]
    assert f"chapters/01-first.md:{OPENING_LINE}: error: unresolved review mark" in text
    assert lines[-1] == "1 of 7 checks passed: the gate fails"
    assert not (tmp_path / "build").exists() or not any((tmp_path / "build").iterdir())


def test_missing_tools_are_not_run_lines_and_fail_the_gate(editions, monkeypatch):
    monkeypatch.setattr(validators.shutil, "which", lambda name: None)  # no java, node or npm
    monkeypatch.setattr(browser, "chromium_missing", lambda: "Chromium is not installed at /usr/bin/chromium")
    report = gate.run(MINI, editions)
    lines = report.text().splitlines()
    assert lines[:2] == ["NOT RUN  epubcheck      Java is not installed; counts as failed",
                         "NOT RUN  Ace by DAISY   Node.js and npm are not installed (Debian: apt-get install nodejs "
                         "npm); counts as failed"]
    assert lines[3] == "NOT RUN  web pages      Chromium is not installed at /usr/bin/chromium; counts as failed"
    assert report.failed == ["epubcheck", "Ace by DAISY", "web pages"]
    assert lines[-1] == "4 of 7 checks passed: the gate fails"


def test_a_web_page_with_problems_fails_the_web_check(tmp_path, editions):
    needs(browser.chromium_missing())
    site = write_site(tmp_path / "site", body='<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" width="9" '
                                               'height="9"><div style="width: 700px">A wide poster</div>')
    result = gate._web(gate.Editions(web=site), browser.WIDTHS)
    assert (result.status, result.figure) == (gate.FAIL, "5 problems on 1 of 2 pages at 320, 390, 1280 px")
    assert result.findings == [
        "site/first.html: error: [320, 390, 1280 px] image-alt: Images must have alternative text (img)",
        "site/first.html: error: [320 px] reflow: the page scrolls sideways at 320 px (WCAG 1.4.10): its content "
        "is 708 px wide (body > main#main > div)",
        "site/first.html: error: [390 px] reflow: the page scrolls sideways at 390 px (WCAG 1.4.10): its content "
        "is 708 px wide (body > main#main > div)"]


def test_the_summary_fits_one_screen_however_many_findings():
    results = [gate.CheckResult(name, gate.FAIL, "many", [f"chapters/0{i}.md:{n}: error: problem {n}"
                                                         for n in range(1, 40)])
               for i, name in enumerate(gate.CHECKS)]
    lines = gate.GateReport(results).text().splitlines()
    assert len(lines) == gate.SCREEN
    assert lines[-1] == "0 of 7 checks passed: the gate fails"
    for name in gate.CHECKS:  # every failed check shows at least its first finding, and how many it hides
        assert any(line.endswith(f"more ({name})") for line in lines)
    assert "chapters/06.md:1: error: problem 1" in lines


def test_an_edition_not_built_is_not_run(tmp_path):
    report = gate.run(MINI, gate.Editions(pdf=tmp_path / "absent.pdf"))
    assert statuses(report)["PDF structure"] == gate.NOT_RUN
    assert report.result("PDF structure").figure == f"{tmp_path / 'absent.pdf'} does not exist"
    assert report.result("epubcheck").figure == "no EPUB was built"
    assert statuses(report)["links"] == gate.NOT_RUN
    assert report.exit_code == 1


def test_epubcheck_and_ace_problems_are_fail_lines_inside_the_book(tmp_path, monkeypatch):
    book = tmp_path / "mini.epub"
    book.write_bytes(b"PK")
    monkeypatch.setattr(validators, "run_epubcheck", lambda path: validators.EpubcheckResult(
        True, version="5.3.0", errors=1, warnings=1,
        messages=["RSC-005 ERROR EPUB/text/first.xhtml:12: Error while parsing file", "OPF-085 WARNING : no id"]))
    monkeypatch.setattr(validators, "run_ace", lambda path: validators.AceResult(True, outcome="fail", violations=[
        validators.AceViolation("EPUB/text/first.xhtml", "image-alt", "critical", "Images must have alternate text")]))
    epubcheck = gate._epubcheck(gate.Editions(epub=book))
    assert epubcheck.line() == "FAIL     epubcheck      1 error, 1 warning (epubcheck 5.3.0)"
    assert epubcheck.findings == ["mini.epub/EPUB/text/first.xhtml:12: error: Error while parsing file [RSC-005]",
                                  "mini.epub: warning: no id [OPF-085]"]
    ace = gate._ace(gate.Editions(epub=book))
    assert ace.line() == f"FAIL     Ace by DAISY   1 violation (1 critical) (Ace {validators.ACE_VERSION})"
    assert ace.findings == ["mini.epub/EPUB/text/first.xhtml: error: image-alt: Images must have alternate text"]
