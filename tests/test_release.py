"""`build-report release`: the layout of dist/<slug>-<version>/, its checksums and manifest,
the same bytes from the same commit, and what it refuses (an existing version, no version,
a failed gate), leaving dist/ as it was."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from pypdf import PdfReader

from build_report import validators
from build_report.cli import main
from conftest import MINI

EPOCH = "1767225600"  # 2026-01-01T00:00:00Z
NAME = "a-small-report-0.3"


def release(manuscript: Path, dist: Path, *extra: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["release", str(manuscript), "-o", str(dist), *extra], stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def released(tmp_path_factory) -> Path:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SOURCE_DATE_EPOCH", EPOCH)
        dist = tmp_path_factory.mktemp("dist")
        code, out, err = release(MINI, dist)
    assert code == 0, out + err
    return dist / NAME


def test_the_release_holds_every_edition(released: Path) -> None:
    top = sorted(path.name for path in released.iterdir())
    assert top == sorted([".build-report", "SHA256SUMS", "manifest.json", f"{NAME}.pdf", f"{NAME}-print.pdf",
                          f"{NAME}.epub", f"{NAME}-web", f"{NAME}-web.zip", f"{NAME}-govspeak",
                          f"{NAME}-accessibility.md"])
    assert (released / f"{NAME}-web" / "index.html").is_file()
    assert list((released / f"{NAME}-govspeak").glob("*.md"))
    assert "accessibility" in (released / f"{NAME}-accessibility.md").read_text(encoding="utf-8").lower()


def test_the_statement_is_written_from_the_gate(released: Path) -> None:
    """Every edition the gate checked is in the statement, by file name only (statement.from_gate)."""
    text = (released / f"{NAME}-accessibility.md").read_text(encoding="utf-8")
    assert "The report is published in three editions:" in text
    assert f"- the web edition (`{NAME}-web`)" in text and "was checked with axe-core" in text
    assert f"- Ace by DAISY {validators.ACE_VERSION} (" in text and "epubcheck 5." in text
    assert "not assessed" not in text.lower() and "not run" not in text
    assert str(released.parent) not in text


def test_the_web_zip_holds_the_web_folder(released: Path) -> None:
    folder = released / f"{NAME}-web"
    expected = {f"{NAME}-web/{p.relative_to(folder).as_posix()}" for p in folder.rglob("*")
                if p.is_file() and p.name != ".build-report"}
    with zipfile.ZipFile(released / f"{NAME}-web.zip") as archive:
        assert set(archive.namelist()) == expected
        name = f"{NAME}-web/index.html"
        assert archive.read(name) == (folder / "index.html").read_bytes()


def test_sha256sums_checks_every_file(released: Path) -> None:
    lines = (released / "SHA256SUMS").read_text().splitlines()
    listed = {line.split("  ", 1)[1] for line in lines}
    files = {p.relative_to(released).as_posix() for p in released.rglob("*")
             if p.is_file() and p.name not in ("SHA256SUMS", ".build-report")}
    assert listed == files
    for line in lines:
        digest, name = line.split("  ", 1)
        assert hashlib.sha256((released / name).read_bytes()).hexdigest() == digest, name
    if shutil.which("sha256sum"):
        subprocess.run(["sha256sum", "--quiet", "-c", "SHA256SUMS"], cwd=released, check=True)


def test_the_manifest_describes_each_file(released: Path) -> None:
    manifest = json.loads((released / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["title"] == "A Small Report"
    assert manifest["version"] == "0.3"
    assert manifest["build_date"] == "2026-01-01T00:00:00+00:00"
    assert "commit" in manifest and "uncommitted_changes" in manifest
    entries = {entry["name"]: entry for entry in manifest["files"]}
    for name in (f"{NAME}.pdf", f"{NAME}-print.pdf"):
        path = released / name
        assert entries[name]["pages"] == len(PdfReader(path).pages)
        assert entries[name]["size"] == path.stat().st_size
        assert entries[name]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert f"{NAME}.epub" in entries and f"{NAME}-web/index.html" in entries


def test_a_version_released_already_is_refused_without_force(released: Path) -> None:
    before = (released / "SHA256SUMS").read_bytes()
    code, out, err = release(MINI, released.parent)
    assert code == 2
    assert "has been released already" in err and "--force" in err
    assert (released / "SHA256SUMS").read_bytes() == before


def test_the_same_commit_gives_the_same_checksums(released: Path, tmp_path: Path, monkeypatch) -> None:
    """A second release, replacing the first with --force: every file the same."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    again = tmp_path / "dist"
    shutil.copytree(released.parent, again)
    code, out, err = release(MINI, again, "--force")
    assert code == 0, out + err
    assert (again / NAME / "SHA256SUMS").read_text() == (released / "SHA256SUMS").read_text()


def test_a_release_needs_a_version(tmp_path: Path) -> None:
    manuscript = tmp_path / "m"
    shutil.copytree(MINI, manuscript)
    report = manuscript / "report.yaml"
    report.write_text(report.read_text(encoding="utf-8").replace('version: "0.3"\n', ""), encoding="utf-8")
    code, out, err = release(manuscript, tmp_path / "dist")
    assert code == 2
    assert "report.yaml: error: a release needs the report's version" in err
    assert not (tmp_path / "dist").exists()


def test_a_failed_gate_releases_nothing(tmp_path: Path) -> None:
    """A review mark left in: the final editions are refused before anything is built or checked."""
    manuscript = tmp_path / "m"
    shutil.copytree(MINI, manuscript)
    chapter = manuscript / "chapters" / "01-first.md"
    chapter.write_text(chapter.read_text(encoding="utf-8") + "\nA late {++addition++}.\n", encoding="utf-8")
    dist = tmp_path / "dist"
    code, out, err = release(manuscript, dist)
    assert code == 2
    assert "chapters/01-first.md:" in err and "review mark" in err
    assert not any(dist.glob("*")) if dist.exists() else True


def test_a_failed_check_releases_nothing_and_shows_the_summary(tmp_path: Path, monkeypatch) -> None:
    """The gate fails (here: the web check, as if axe-core had found a violation): exit 1, the
    summary on stderr, and dist/ holds no release and no staged leftovers."""
    from build_report import gate

    real = gate.run

    def failing(*args, **kwargs):
        report = real(*args, **kwargs)
        web = report.result(gate.WEB)
        web.status, web.figure = gate.FAIL, "1 violation"
        web.findings = ["index.html: error: [320 px] image-alt: Images must have alternate text (img)"]
        return report

    monkeypatch.setattr(gate, "run", failing)
    dist = tmp_path / "dist"
    code, out, err = release(MINI, dist)
    assert code == 1
    assert "FAIL     web pages      1 violation" in err
    assert "index.html: error: [320 px] image-alt" in err
    assert list(dist.iterdir()) == []
