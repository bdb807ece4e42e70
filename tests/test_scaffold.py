"""`build-report new DIR` and `build-report import SRC DIR`.

`new` must give a manuscript that builds with no warnings. Each folder in
tests/cases/import/ is an import case: `src/` is the Markdown to import and
`expect.yaml` what the manuscript must hold, the exact checklist printed on
stderr, and how its HTML build ends.
"""

from __future__ import annotations

import io
import re
import shutil
from dataclasses import fields
from pathlib import Path

import pytest
import yaml

from build_report import validators
from build_report.cli import main
from build_report.model import Report

IMPORT = Path(__file__).parent / "cases" / "import"
CASES = sorted(path.parent.name for path in IMPORT.glob("*/expect.yaml"))


def run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main([str(arg) for arg in argv], stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


# -- new -----------------------------------------------------------------------------


@pytest.mark.parametrize("verb, suffix", [("html", ".html"), ("epub", ".epub")])
def test_new_builds_without_warnings(tmp_path: Path, verb: str, suffix: str) -> None:
    root = tmp_path / "my-report"
    code, out, err = run(["new", root])
    assert (code, err) == (0, "")
    assert f"build-report pdf {root}" in out
    code, out, err = run([verb, root, "-o", tmp_path / f"out{suffix}"])
    if validators.missing():  # without Java the EPUB makes no conformance claim, and says so
        err = "".join(line for line in err.splitlines(keepends=True) if "the EPUB does not claim" not in line)
    assert (code, err) == (0, ""), err
    assert (tmp_path / f"out{suffix}").stat().st_size > 0


def test_new_files_and_comments(tmp_path: Path) -> None:
    root = tmp_path / "annual-review"
    assert run(["new", root])[0] == 0
    files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    assert files == ["chapters/01-introduction.md", "images/example.svg", "places.yaml", "report.yaml"]
    lines = (root / "report.yaml").read_text(encoding="utf-8").splitlines()
    keys = {m.group(2): i for i, line in enumerate(lines) if (m := re.match(r"^(# )?([a-z]+):", line))}
    assert set(keys) == {f.name for f in fields(Report)} - {"chapter_locations"}, "every report.yaml key is shown"
    for key, index in keys.items():
        assert lines[index - 1].startswith("#"), f"report.yaml key '{key}' has no comment above it"
    report = yaml.safe_load("\n".join(lines))
    assert report["title"] == "Annual review"
    assert re.fullmatch(r"urn:uuid:[0-9a-f-]{36}", report["identifier"])
    chapter = (root / "chapters" / "01-introduction.md").read_text(encoding="utf-8")
    for feature in ("\n## ", "— Northfield,", "[^notes]:", '(../images/example.svg "', "\nTable: ",
                    '!!! box "', "[](#fig-example)"):
        assert feature in chapter


def test_new_into_an_empty_folder(tmp_path: Path) -> None:
    assert run(["new", tmp_path])[0] == 0
    assert (tmp_path / "report.yaml").is_file()


@pytest.mark.parametrize("verb", ["new", "import"])
def test_refuses_a_folder_that_is_not_empty(tmp_path: Path, verb: str) -> None:
    root = tmp_path / "taken"
    root.mkdir()
    (root / "notes.txt").write_text("mine")
    argv = [verb, root] if verb == "new" else [verb, IMPORT / "plain" / "src", root]
    code, out, err = run(argv)
    assert (code, out) == (2, "")
    assert err == f"build-report: error: {root} already exists and is not empty\n"
    assert [p.name for p in root.iterdir()] == ["notes.txt"]


@pytest.mark.parametrize("argv, message", [
    (["new"], "the following arguments are required: DIR"),
    (["import", "docs"], "the following arguments are required: DIR"),
    (["import", "no-such-folder", "out"], "no-such-folder is not a folder of Markdown files"),
])
def test_usage_errors(tmp_path: Path, monkeypatch, argv: list[str], message: str) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = run(argv)
    assert code == 2
    assert message in err
    assert not (tmp_path / "out").exists()


def test_import_of_a_folder_without_markdown(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "notes.txt").write_text("not Markdown")
    code, _, err = run(["import", tmp_path / "src", tmp_path / "out"])
    assert code == 2
    assert err == f"build-report: error: no Markdown pages to import in {tmp_path / 'src'}\n"
    assert not (tmp_path / "out").exists()


# -- import --------------------------------------------------------------------------


@pytest.mark.parametrize("name", CASES)
def test_import(tmp_path: Path, name: str) -> None:
    case = IMPORT / name
    expect = yaml.safe_load((case / "expect.yaml").read_text(encoding="utf-8"))
    src = tmp_path / "src"
    shutil.copytree(case / "src", src, symlinks=True)
    for rel, text in expect.get("outside", {}).items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text, encoding="utf-8")
    for rel, target in expect.get("symlinks", {}).items():
        (src / rel).symlink_to(tmp_path / target)
    root = tmp_path / "manuscript"

    code, out, err = run(["import", src, root])
    assert code == 0, err
    assert err.splitlines() == expect["checklist"].splitlines()
    assert "Traceback" not in err + out

    report = yaml.safe_load((root / "report.yaml").read_text(encoding="utf-8"))
    assert report["title"] == expect["title"]
    assert report["chapters"] == expect["chapters"]
    for key, value in expect.get("report", {}).items():
        assert report[key] == value
    written = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    assert written == sorted(["report.yaml", *expect["chapters"], *expect["files"]])
    for rel, source in expect["files"].items():
        assert (root / rel).read_bytes() == (src / source).read_bytes(), rel
    for rel, needles in expect["contains"].items():
        text = (root / rel).read_text(encoding="utf-8")
        for needle in needles:
            assert needle in text, f"{needle!r} not in {rel}:\n{text}"
    for path in root.rglob("*"):  # nothing from outside SRC came in
        assert not path.is_symlink()
        assert path.is_dir() or b"OUTSIDE-SRC" not in path.read_bytes()

    # The build may warn again about what the checklist listed; its errors are only the expected ones.
    code, _, err = run(["html", root, "-o", tmp_path / "out.html"])
    errors = [line for line in err.splitlines() if ": error: " in line or line.startswith("build-report: error")]
    assert code == expect.get("build_exit", 0), err
    assert len(errors) == len(expect.get("build_errors", [])), err
    for line, prefix in zip(errors, expect.get("build_errors", []), strict=True):
        assert line.startswith(prefix), err


def test_import_prints_the_order_and_next_steps(tmp_path: Path) -> None:
    code, out, _ = run(["import", IMPORT / "mdbook" / "src", tmp_path / "book"])
    assert code == 0
    assert "(order from src/SUMMARY.md):" in out
    assert re.search(r"^  chapters/03-details\.md +src/chapter_1/details\.md$", out, re.MULTILINE)
    assert f"build-report draft {tmp_path / 'book'}" in out


def test_import_into_a_folder_inside_src(tmp_path: Path) -> None:
    """`build-report import . report` does not import its own output."""
    (tmp_path / "a.md").write_text("# A\n\nSee [b](b.md).\n")
    (tmp_path / "b.md").write_text("# B\n")
    (tmp_path / "report").mkdir()
    code, _, err = run(["import", tmp_path, tmp_path / "report"])
    assert (code, err) == (0, "")
    assert (tmp_path / "report" / "chapters" / "01-a.md").read_text() == "# A\n\nSee [b](02-b.md).\n"
    assert sorted(p.name for p in (tmp_path / "report" / "chapters").iterdir()) == ["01-a.md", "02-b.md"]
