"""The accessibility statement (`build-report statement`, and the release's) and the EPUB's conformance
claim (issue 10): each edition (web, PDF, EPUB) is described by the checks that actually ran on it, and
nothing more is claimed.

The slow checks (Ace by DAISY, axe-core in Chromium: several seconds each) run for real once, in
test_statement_of_a_clean_build, where their tools are installed; elsewhere they are replaced by
canned results, or the assessments are made by hand and rendered directly."""

from __future__ import annotations

import io
import re
import shutil
import zipfile
from pathlib import Path

import pikepdf
import pytest

from build_report import browser, build, gate, pdfua, statement as statement_module, validators
from build_report.cli import main
from build_report.diagnostics import Diagnostics
from build_report.model import Options
from build_report.writers import epub
from conftest import MINI

EPOCH = "1767225600"  # 2026-01-01T00:00:00Z
SECTIONS = ["# Accessibility statement for A Small Report", "## Who this statement is for",
            "## How accessible the documents are", "## What we know is not accessible",
            "## What to do if you need the report in a different format",
            "## Reporting accessibility problems with this report",
            "## Technical information about this report's accessibility", "### Compliance status",
            "### The checks we ran", "## Preparation of this statement"]


def needs_epubcheck() -> None:
    reason = validators.missing()
    if reason:
        pytest.skip(f"epubcheck cannot run: {reason}")


def run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main([str(arg) for arg in argv], stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def mini_epub(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("statement-epub") / "mini.epub"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SOURCE_DATE_EPOCH", EPOCH)
        code, _, err = run(["epub", MINI, "-o", out, "-q"])
    assert code == 0, err
    return out


@pytest.fixture(scope="module")
def mini_web(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("statement-web") / "mini-web"
    code, _, err = run(["web", MINI, "-o", out, "-q"])
    assert code == 0, err
    return out


@pytest.fixture(scope="module")
def manuscript():
    return build.load(MINI, Diagnostics(), build.Timer())


ACE_PASSED = validators.AceResult(True, outcome="pass")
ACE_FAILED = validators.AceResult(True, outcome="fail", violations=[
    validators.AceViolation("EPUB/text/first.xhtml", "image-alt", "critical", "Images must have alternate text",
                            ("img",))])


@pytest.fixture
def fake_ace(monkeypatch) -> None:
    """Ace by DAISY as if it ran and found nothing (the real one takes several seconds)."""
    monkeypatch.setattr(validators, "run_ace", lambda path: ACE_PASSED)


def statement(tmp_path: Path, monkeypatch, *options) -> tuple[int, str, str]:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    monkeypatch.chdir(tmp_path)  # no build/<slug>... editions but those named
    out = tmp_path / "statement.md"
    code, stdout, stderr = run(["statement", MINI, "-o", out, *options])
    assert code == 2 or out.is_file(), stderr
    return code, out.read_text(encoding="utf-8") if out.is_file() else "", stderr


def section(text: str, heading: str) -> str:
    """The text under `heading`, up to the next heading of the same or a higher level."""
    level = heading.split()[0]
    start = text.index(heading + "\n")
    rest = text[start + len(heading) + 1:]
    end = re.search(rf"^#{{1,{len(level)}}} ", rest, re.MULTILINE)
    return rest[:end.start()] if end else rest


def test_statement_of_a_clean_build(mini, mini_epub, mini_web, tmp_path, monkeypatch):
    """Every check that can run here runs for real: PDF/UA-1, epubcheck, Ace, axe-core at three widths."""
    needs_epubcheck()
    report = pdfua.check(mini.path)
    assert not report.failed
    code, text, err = statement(tmp_path, monkeypatch, "--pdf", mini.path, "--epub", mini_epub, "--web", mini_web)
    assert code == 0, err
    assert "The report is published in three editions:" in text
    assert f"- the web edition (`{mini_web.name}`), an HTML publication" in text
    positions = [text.index(heading + "\n") for heading in SECTIONS]
    assert positions == sorted(positions)  # every section, in GOV.UK's order
    checks = section(text, "### The checks we ran")
    # The PDF line states the real count of checkpoints the checker ran.
    assert f"- {len(report.findings)} machine-checkable PDF/UA-1 checkpoints passed, 0 failed." in checks
    assert f"{len(pdfua.HUMAN_ONLY)} groups of checkpoints" in checks and "not machine-verified" in checks
    known = section(text, "## What we know is not accessible")
    for ids, what in pdfua.HUMAN_ONLY.items():  # the checkpoints only a person can check, each listed
        assert f"- {ids}: {what}" in known
    assert "epubcheck 5." in checks and "0 fatal errors, 0 errors, 0 warnings" in checks
    if validators.ace_missing():
        assert "- Ace by DAISY: not run (" in checks
    else:
        assert f"- Ace by DAISY {validators.ACE_VERSION} (" in checks and "): 0 violations." in checks
        assert "Ace by DAISY found no accessibility violations." in section(text, "### Compliance status")
    pages = len(browser.site_pages(mini_web))
    if browser.chromium_missing():
        assert "The web edition has not been assessed: the browser checks could not run" in text
    else:
        assert (f"- The web edition ({pages} pages) was checked with axe-core {browser.AXE_VERSION} at 320, 390 "
                "and 1280 CSS pixels wide: it found no failures of the WCAG 2.2 A and AA rules it tests, and no "
                "page scrolls sideways at 320 pixels (WCAG 1.4.10 Reflow).") in text
        assert f"on each of the {pages} pages" in checks
    status = section(text, "### Compliance status")
    assert f"PDF edition: meets the {len(report.findings)} machine-checkable checkpoints of PDF/UA-1" in status
    assert "has not been fully assessed" in status and "not assessed." not in status
    assert "This statement does not claim that any edition fully meets WCAG 2.2 AA." in status
    assert "fully compliant" not in text and text.count("fully meets") == 1  # the sentence above
    # The request for another format names the publisher of report.yaml, placeholders for the rest.
    other = section(text, "## What to do if you need the report in a different format")
    assert "contact Test Press" in other and "[email address]" in other
    assert "This statement was prepared on 1 January 2026." in text


def test_a_pdf_that_fails_a_checkpoint_gives_exit_1(mini, tmp_path, monkeypatch):
    broken = tmp_path / "broken.pdf"
    with pikepdf.open(mini.path) as pdf:
        del pdf.Root.MarkInfo
        pdf.save(broken)
    failed = pdfua.check(broken).failed
    assert "ST-001" in failed
    code, text, err = statement(tmp_path, monkeypatch, "--pdf", broken)
    assert code == 1, err
    assert text, "the statement is written even when a check fails"
    assert "The PDF edition does not meet PDF/UA-1" in text
    known = section(text, "### PDF edition")
    for checkpoint in failed:
        assert f"- {checkpoint}: {pdfua.DESCRIPTIONS[checkpoint]}" in known
    assert "PDF edition: not compliant with PDF/UA-1" in section(text, "### Compliance status")
    assert f"{len(pdfua.CHECKS) - len(failed)} machine-checkable PDF/UA-1 checkpoints passed, {len(failed)} failed" \
        in text


def test_a_missing_epub_is_not_assessed(mini, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no build/a-small-report.epub here
    code, text, err = statement(tmp_path, monkeypatch, "--pdf", mini.path)
    assert code == 0, err
    assert "EPUB edition: not assessed." in section(text, "### Compliance status")
    assert "Not assessed: there was no EPUB to check." in section(text, "### The checks we ran")
    assert "The EPUB edition has not been assessed" in text


def test_no_files_at_all_is_not_assessed_and_exit_0(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    code, out, err = run(["statement", MINI])
    assert code == 0, err
    text = (tmp_path / "build" / "a-small-report-accessibility.md").read_text(encoding="utf-8")
    status = section(text, "### Compliance status")
    assert "PDF edition: not assessed." in status and "EPUB edition: not assessed." in status
    assert "wrote build/a-small-report-accessibility.md" in out


def test_epubcheck_that_cannot_run_is_not_assessed(mini, mini_epub, tmp_path, monkeypatch):
    monkeypatch.setattr(validators.shutil, "which", lambda name: None)  # no java, and no node for Ace
    code, text, err = statement(tmp_path, monkeypatch, "--pdf", mini.path, "--epub", mini_epub)
    assert code == 0, err
    assert "EPUB edition: not assessed." in text
    assert "epubcheck: not run (Java is not installed)" in text
    assert "Ace by DAISY: not run (Node.js is not installed)" in text
    assert ("The EPUB edition has not been assessed: epubcheck, the EPUB validator, could not run (Java is not "
            "installed), and nor could Ace by DAISY, the EPUB accessibility checker (Node.js is not "
            "installed).") in text


def test_an_epub_epubcheck_rejects_gives_exit_1(mini, mini_epub, tmp_path, monkeypatch, fake_ace):
    needs_epubcheck()
    broken = tmp_path / "broken.epub"
    with zipfile.ZipFile(mini_epub) as source, zipfile.ZipFile(broken, "w") as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "EPUB/nav.xhtml":
                data = data.replace(b"</body>", b"<p>unclosed</body>")
            target.writestr(info, data)
    code, text, err = statement(tmp_path, monkeypatch, "--pdf", mini.path, "--epub", broken)
    assert code == 1, err
    assert "The EPUB edition did not pass epubcheck" in text
    assert "EPUB edition: not a valid EPUB 3 publication" in text


@pytest.mark.parametrize("option", ["--pdf", "--epub", "--web"])
def test_a_named_file_that_is_not_there_is_bad_input(tmp_path, monkeypatch, option):
    code, _, err = statement(tmp_path, monkeypatch, option, tmp_path / "nowhere")
    assert code == 2
    assert f"{option} {tmp_path / 'nowhere'}: not found" in err


def test_a_web_edition_that_is_a_file_is_bad_input(tmp_path, monkeypatch):
    page = tmp_path / "page.html"
    page.write_text("<!DOCTYPE html>")
    code, _, err = statement(tmp_path, monkeypatch, "--web", page)
    assert code == 2 and f"--web {page}: is not a folder" in err


def test_a_pdf_that_is_not_a_pdf_is_bad_input(tmp_path, monkeypatch):
    fake = tmp_path / "fake.pdf"
    fake.write_text("not a PDF")
    code, _, err = statement(tmp_path, monkeypatch, "--pdf", fake)
    assert code == 2 and "cannot be read as a PDF" in err


def test_statement_is_deterministic(mini, tmp_path, monkeypatch):
    first = statement(tmp_path, monkeypatch, "--pdf", mini.path, "-q")[1]
    second = statement(tmp_path, monkeypatch, "--pdf", mini.path, "-q")[1]
    assert first == second


def test_report_yaml_text_is_escaped(tmp_path, monkeypatch):
    root = tmp_path / "ms"
    shutil.copytree(MINI, root)
    yaml = root / "report.yaml"
    yaml.write_text(yaml.read_text(encoding="utf-8").replace("title: A Small Report", "title: A *Small* [Report]"),
                    encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    code, _, err = run(["statement", root, "-o", tmp_path / "s.md"])
    assert code == 0, err
    assert (tmp_path / "s.md").read_text(encoding="utf-8").startswith(
        "# Accessibility statement for A \\*Small\\* \\[Report\\]\n")


# -- The web edition, and Ace ------------------------------------------------------------------

PAGES = ["first.html", "index.html", "second.html"]


def web_assessment(findings: list[browser.Finding] | None = None, **fields) -> statement_module.WebAssessment:
    return statement_module.WebAssessment(Path("/somewhere/a-small-report-web"), pages=list(PAGES),
                                          findings=findings or [], **fields)


def rendered(manuscript, monkeypatch, web=None, ace=None, epubcheck=None) -> str:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    pdf = statement_module.PdfAssessment(Path("/somewhere/a.pdf"), passed=len(pdfua.CHECKS))
    epubcheck = epubcheck or validators.EpubcheckResult(True, version="5.3.0")
    epub = statement_module.epub_assessment(Path("/somewhere/a.epub"), epubcheck, ace)
    return statement_module.render(manuscript, pdf, epub, web)


def test_the_web_edition_checked_clean(manuscript, monkeypatch):
    text = rendered(manuscript, monkeypatch, web_assessment())
    assert "The report is published in three editions:" in text
    assert ("- the web edition (`a-small-report-web`), an HTML publication to read in a web browser, and the main "
            "edition;") in text
    assert text.index("- the web edition") < text.index("- the PDF edition") < text.index("- the EPUB edition")
    assert ("- The web edition (3 pages) was checked with axe-core 4.14.1 at 320, 390 and 1280 CSS pixels wide: it "
            "found no failures of the WCAG 2.2 A and AA rules it tests, and no page scrolls sideways at 320 pixels "
            "(WCAG 1.4.10 Reflow). No page asks for anything from another website. Automated tools find only some "
            "problems, and the web edition has not been checked by a person.") in text
    known = section(text, "### Web edition")
    assert "We know of no problem that the automated checks can find." in known
    assert "has not checked the web edition" in known
    status = section(text, "### Compliance status")
    assert "Web edition: passes the automated checks listed below. It has not been fully assessed against WCAG 2.2 " \
           "AA, because it has not been checked by a person." in status
    checks = section(text, "### The checks we ran")
    assert "Web edition (`a-small-report-web`):" in checks
    assert "- axe-core 4.14.1, in Chromium, on each of the 3 pages" in checks and ": no violations." in checks
    assert checks.count("none found.") == 2  # reflow; requests, missing files and script errors
    assert "/somewhere" not in text  # files by name only
    assert not statement_module.failed(statement_module.PdfAssessment(Path("a.pdf"), passed=1),
                                       statement_module.EpubAssessment(Path("a.epub"), statement_module.ABSENT),
                                       web_assessment())


def test_problems_found_in_the_web_edition(manuscript, monkeypatch):
    found = [browser.Finding("first.html", 320, "reflow", help="the page scrolls sideways (480 px wide)"),
             browser.Finding("first.html", 390, "reflow", help="the page scrolls sideways (480 px wide)"),
             browser.Finding("index.html", 1280, "color-contrast", "serious", "Elements must meet <contrast>"),
             browser.Finding("second.html", 320, "external-request", help="external request to https://cdn.example/x.js")]
    web = web_assessment(found, widths=(320, 1280))
    text = rendered(manuscript, monkeypatch, web)
    assert ("was checked with axe-core 4.14.1 at 320 and 1280 CSS pixels wide: it found failures of 1 rule on 1 page, "
            "and 1 page fails to reflow at 320 pixels") in text
    assert "Other checks found problems loading 1 page" in text
    known = section(text, "### Web edition")
    assert "- reflow: the page scrolls sideways (480 px wide) (`first.html`; 320 and 390 px)" in known
    assert "- color-contrast: Elements must meet \\<contrast\\> (`index.html`; 1280 px)" in known
    assert "- external-request: external request to https://cdn.example/x.js (`second.html`; 320 px)" in known
    assert "Web edition: not compliant with WCAG 2.2 AA, because 1 page fails to reflow at 320 CSS pixels wide " \
           "(success criterion 1.4.10, Reflow)." in section(text, "### Compliance status")
    pdf = statement_module.PdfAssessment(Path("a.pdf"), passed=1)
    epub = statement_module.EpubAssessment(Path("a.epub"), statement_module.ABSENT)
    assert statement_module.failed(pdf, epub, web)
    # A problem that is not reflow: the automated checks fail, no WCAG verdict is claimed either way.
    contrast = rendered(manuscript, monkeypatch, web_assessment(found[2:3]))
    assert "and no page scrolls sideways at 320 pixels (WCAG 1.4.10 Reflow)" in contrast
    assert "Web edition: does not pass the automated checks listed below" in section(contrast, "### Compliance status")


@pytest.mark.parametrize(("reason", "words"), [
    (statement_module.ABSENT, "there was no web edition to check"),
    (statement_module.NO_BROWSER, "the browser checks could not run (they need Chromium, the playwright package and "
                                  "axe-core)"),
    (statement_module.NO_PAGES, "its folder has no web pages")])
def test_a_web_edition_not_assessed(manuscript, monkeypatch, reason, words):
    web = statement_module.WebAssessment(Path("/somewhere/a-small-report-web"), reason, detail="Chromium is missing")
    text = rendered(manuscript, monkeypatch, web)
    assert f"- The web edition has not been assessed: {words}." in text
    assert "The web edition has not been assessed, so we do not know." in section(text, "### Web edition")
    assert "Web edition: not assessed." in section(text, "### Compliance status")
    assert "axe-core 4" not in text and "Chromium is missing" not in text
    assert ("- the web edition, an HTML" in text) == (reason == statement_module.ABSENT)


def test_without_a_web_assessment_the_statement_is_of_two_editions(manuscript, monkeypatch):
    text = rendered(manuscript, monkeypatch)
    assert "published in two editions" in text and "Both editions are made from the same text" in text
    assert "web edition" not in text.lower()


def test_ace_that_ran_is_stated(manuscript, monkeypatch):
    text = rendered(manuscript, monkeypatch, ace=ACE_PASSED)
    assert ("- The EPUB edition passed epubcheck, the EPUB validator, with no errors or warnings. Ace by DAISY 1.4.6, "
            "the EPUB accessibility checker, which runs axe-core's rules on every page of the book and checks its "
            "accessibility metadata, found no violations. The EPUB edition has not been checked by a person.") in text
    assert "It has not been checked with an accessibility checker such as Ace" not in text
    assert "The EPUB edition has not been checked by a person:" in section(text, "### EPUB edition")
    assert "Ace by DAISY found no accessibility violations. It has not been fully assessed against WCAG 2.2 AA, " \
           "because it has not been checked by a person." in section(text, "### Compliance status")
    assert "- Ace by DAISY 1.4.6 (axe-core's rules on every content document, and its own checks of the EPUB's " \
           "accessibility metadata): 0 violations." in section(text, "### The checks we ran")


def test_ace_that_did_not_run_is_stated(manuscript, monkeypatch):
    text = rendered(manuscript, monkeypatch)  # not tried
    assert "The EPUB edition has not been checked with an accessibility checker such as Ace by DAISY, or by a " \
           "person." in text
    assert "- Ace by DAISY: not run.\n" in section(text, "### The checks we ran")
    assert "because it has not been checked with an accessibility checker or by a person" in text
    missing = validators.AceResult(False, "Chromium is not installed at /usr/bin/chromium (Debian: apt-get install "
                                          "chromium)")
    text = rendered(manuscript, monkeypatch, ace=missing)
    assert "Ace by DAISY, the EPUB accessibility checker, could not run (Chromium is not installed)" in text
    assert "- Ace by DAISY: not run (Chromium is not installed)." in text
    assert "/usr/bin" not in text
    # Ace alone ran (no Java for epubcheck): the EPUB is assessed, by Ace.
    no_java = validators.EpubcheckResult(False, validators.NO_JAVA)
    text = rendered(manuscript, monkeypatch, ace=ACE_PASSED, epubcheck=no_java)
    assert "EPUB edition: not checked with epubcheck, so whether it is a valid EPUB 3 publication is not known. " \
           "Ace by DAISY found no accessibility violations." in section(text, "### Compliance status")


def test_ace_violations_are_listed(manuscript, monkeypatch):
    text = rendered(manuscript, monkeypatch, ace=ACE_FAILED)
    assert "found 1 violation." in text
    known = section(text, "### EPUB edition")
    assert "- `EPUB/text/first.xhtml`: image-alt (critical): Images must have alternate text" in known
    assert "We know of no problem" not in known
    assert "Ace by DAISY found the accessibility violations listed" in section(text, "### Compliance status")
    epub = statement_module.epub_assessment(Path("a.epub"), None, ACE_FAILED)
    assert statement_module.failed(statement_module.PdfAssessment(Path("a.pdf"), statement_module.ABSENT), epub)


# -- The release's statement: from the gate's results ----------------------------------------------


def hand_made_gate(editions: gate.Editions, ace: validators.AceResult, web: gate.WebPages) -> gate.GateReport:
    """The gate's own PDF and epubcheck checks (fast), Ace and the web check as given, the rest passed."""
    results = {gate.PDF: gate._pdf(editions), gate.EPUBCHECK: gate._epubcheck(editions),
               gate.ACE: gate.CheckResult(gate.ACE, gate.PASS, "0 violations", detail=ace),
               gate.WEB: gate.CheckResult(gate.WEB, gate.PASS, "0 violations", detail=web)}
    return gate.GateReport([results.get(name) or gate.CheckResult(name, gate.PASS, "") for name in gate.CHECKS])


@pytest.fixture(scope="module")
def epubcheck_once(mini_epub) -> validators.EpubcheckResult:
    return validators.run_epubcheck(mini_epub)


def test_from_gate_gives_the_statement_the_checks_give(mini, mini_epub, epubcheck_once, manuscript, tmp_path,
                                                       monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    monkeypatch.setattr(validators, "run_epubcheck", lambda path: epubcheck_once)  # the gate's and ours: one run
    site = tmp_path / "a-small-report-web"
    site.mkdir()
    editions = gate.Editions(pdf=mini.path, epub=mini_epub, web=site)
    seen = gate.WebPages(tuple(PAGES), browser.WIDTHS)
    report = hand_made_gate(editions, ACE_PASSED, seen)
    assert isinstance(report.result(gate.PDF).detail, pdfua.Report)
    assert isinstance(report.result(gate.EPUBCHECK).detail, validators.EpubcheckResult)

    monkeypatch.setattr(validators, "run_ace", lambda path: ACE_PASSED)
    direct = statement_module.render(manuscript, statement_module.assess_pdf(mini.path),
                                     statement_module.assess_epub(mini_epub),
                                     statement_module.WebAssessment(site, pages=list(PAGES)))

    def not_again(*args, **kwargs):
        raise AssertionError("from_gate ran a check again")

    for module, name in ((pdfua, "check"), (validators, "run_epubcheck"), (validators, "run_ace"),
                         (browser, "check_pages")):
        monkeypatch.setattr(module, name, not_again)
    from_gate = statement_module.from_gate(report, editions)
    text = statement_module.render(manuscript, *from_gate)
    assert text == direct
    assert str(tmp_path) not in text and str(mini.path.parent) not in text and str(mini_epub.parent) not in text
    assert statement_module.render(manuscript, *statement_module.from_gate(report, editions)) == text


def test_from_gate_when_the_gate_could_not_run_a_check(mini, mini_epub, epubcheck_once, tmp_path, monkeypatch):
    monkeypatch.setattr(validators, "run_epubcheck", lambda path: epubcheck_once)
    site = tmp_path / "site"
    site.mkdir()
    editions = gate.Editions(pdf=mini.path, epub=mini_epub, web=site)
    report = hand_made_gate(editions, validators.AceResult(False, "Node.js and npm are not installed"),
                            gate.WebPages((), browser.WIDTHS))
    report.results[gate.CHECKS.index(gate.WEB)] = gate.CheckResult(gate.WEB, gate.NOT_RUN, "Chromium is not installed")
    pdf, epub, web = statement_module.from_gate(report, editions)
    assert epub.ace_not_run == statement_module.NO_NODE
    assert web is not None and web.not_assessed == statement_module.NO_BROWSER
    absent = statement_module.from_gate(report, gate.Editions(pdf=tmp_path / "none.pdf"))
    assert absent.pdf.not_assessed == absent.epub.not_assessed == statement_module.ABSENT and absent.web is None


def test_the_statement_verb_checks_the_default_web_edition(mini, tmp_path, monkeypatch):
    """build/<slug>-web is found and checked (here with a stand-in for Chromium that finds nothing)."""
    site = tmp_path / "build" / "a-small-report-web"
    site.mkdir(parents=True)
    for page in PAGES:
        (site / page).write_text("<!DOCTYPE html>", encoding="utf-8")
    checked = []
    monkeypatch.setattr(browser, "chromium_missing", lambda: "")
    monkeypatch.setattr(browser, "check_pages",
                        lambda folder, pages, widths: checked.append((folder, pages, tuple(widths))) or [])
    code, text, err = statement(tmp_path, monkeypatch, "--pdf", mini.path)
    assert code == 0, err
    assert checked == [(Path("build/a-small-report-web"), PAGES, browser.WIDTHS)]
    assert "- The web edition (3 pages) was checked with axe-core" in text


# -- The EPUB claims only what is checked ---------------------------------------------------------

def conforms_to(path: Path) -> list[str]:
    opf = zipfile.ZipFile(path).read("EPUB/content.opf").decode("utf-8")
    return re.findall(r'<meta property="dcterms:conformsTo"[^>]*>([^<]*)</meta>', opf)


def build_epub(out: Path, monkeypatch) -> Diagnostics:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    diagnostics, timer = Diagnostics(), build.Timer()
    build.Build(build.load(MINI, diagnostics, timer), Options(), diagnostics, timer).write(epub.WRITER, out)
    return diagnostics


def test_epub_claims_conformance_when_epubcheck_passed(mini_epub):
    needs_epubcheck()
    assert conforms_to(mini_epub) == [epub.CONFORMANCE] == ["EPUB Accessibility 1.1 - WCAG 2.2 Level AA"]
    opf = zipfile.ZipFile(mini_epub).read("EPUB/content.opf").decode("utf-8")
    assert '<meta property="a11y:certifiedBy">Test Press</meta>' in opf


def test_epub_without_epubcheck_makes_no_claim_and_says_why(tmp_path, monkeypatch):
    monkeypatch.setattr(validators, "missing", lambda: validators.NO_JAVA)
    out = tmp_path / "book.epub"
    diagnostics = build_epub(out, monkeypatch)
    assert conforms_to(out) == []
    assert "a11y:certifiedBy" not in zipfile.ZipFile(out).read("EPUB/content.opf").decode("utf-8")
    warnings = [str(d) for d in diagnostics.items]
    assert any("does not claim EPUB Accessibility 1.1 - WCAG 2.2 Level AA" in w and "Java is not installed" in w
               for w in warnings), warnings


def test_epub_that_fails_epubcheck_makes_no_claim(tmp_path, monkeypatch):
    failing = validators.EpubcheckResult(True, version="5.3.0", errors=1, messages=["RSC-005 ERROR x: broken"])
    monkeypatch.setattr(validators, "missing", lambda: "")
    monkeypatch.setattr(validators, "run_epubcheck", lambda path: failing)
    out = tmp_path / "book.epub"
    diagnostics = build_epub(out, monkeypatch)
    assert conforms_to(out) == []
    assert any("found problems" in str(d) and "RSC-005" in str(d) for d in diagnostics.items)


def test_accessibility_metadata_claims_only_when_told():
    assert ("dcterms:conformsTo", epub.CONFORMANCE) not in epub.accessibility(visual=True)
    claimed = epub.accessibility(visual=True, conforms=True, certifier="Press")
    assert ("dcterms:conformsTo", epub.CONFORMANCE) in claimed and ("a11y:certifiedBy", "Press") in claimed
    assert not any(k == "a11y:certifiedBy" for k, _ in epub.accessibility(visual=True, conforms=True))


def test_imprint_points_at_the_statement_and_claims_no_standard(mini):
    imprint = mini.text(1)
    assert "An accessibility statement for this report is available from Test Press." in " ".join(imprint.split())
    assert not re.search(r"PDF/UA|WCAG", imprint)
