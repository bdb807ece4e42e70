"""The accessibility statement (`build-report statement`) and the EPUB's conformance claim (issue 10):
each edition is described by the checks that actually ran on it, and nothing more is claimed."""

from __future__ import annotations

import io
import re
import shutil
import zipfile
from pathlib import Path

import pikepdf
import pytest

from build_report import build, pdfua, validators
from build_report.assemble import Options
from build_report.cli import main
from build_report.diagnostics import Diagnostics
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


def statement(tmp_path: Path, monkeypatch, *options) -> tuple[int, str, str]:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
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


def test_statement_of_a_clean_build(mini, mini_epub, tmp_path, monkeypatch):
    needs_epubcheck()
    report = pdfua.check(mini.path)
    assert not report.failed
    code, text, err = statement(tmp_path, monkeypatch, "--pdf", mini.path, "--epub", mini_epub)
    assert code == 0, err
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
    assert "Ace by DAISY: not run" in checks
    status = section(text, "### Compliance status")
    assert f"PDF edition: meets the {len(report.findings)} machine-checkable checkpoints of PDF/UA-1" in status
    assert "has not been fully assessed" in status and "not assessed." not in status
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
    monkeypatch.setattr(validators.shutil, "which", lambda name: None)  # no java
    code, text, err = statement(tmp_path, monkeypatch, "--pdf", mini.path, "--epub", mini_epub)
    assert code == 0, err
    assert "EPUB edition: not assessed." in text
    assert "epubcheck: not run (Java is not installed)" in text


def test_an_epub_epubcheck_rejects_gives_exit_1(mini, mini_epub, tmp_path, monkeypatch):
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


@pytest.mark.parametrize("option", ["--pdf", "--epub"])
def test_a_named_file_that_is_not_there_is_bad_input(tmp_path, monkeypatch, option):
    code, _, err = statement(tmp_path, monkeypatch, option, tmp_path / "nowhere")
    assert code == 2
    assert f"{option} {tmp_path / 'nowhere'}: not found" in err


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
