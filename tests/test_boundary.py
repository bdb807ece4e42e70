"""The promises that hold whatever happens: one error boundary for every verb, clean stops on
SIGTERM/SIGHUP/SIGINT, outputs that never name temporary files, and an EPUB that drops nothing."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from build_report import manuscript as manuscript_stage, output
from test_errors import edited_copy, run

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("error", [RuntimeError("boom"), RecursionError("maximum recursion depth exceeded"),
                                   KeyError("x")])
def test_an_internal_error_is_one_line_and_exit_70(error: Exception, tmp_path: Path, monkeypatch) -> None:
    def broken(*args, **kwargs):
        raise error

    monkeypatch.setattr(manuscript_stage, "load", broken)
    code, _, err = run(["html", str(ROOT / "tests/data/mini"), "-o", str(tmp_path / "x.html")])
    assert code == 70
    assert "Traceback" not in err
    assert err.splitlines() == [f"build-report: internal error: {type(error).__name__}: {error}; this is a bug in "
                                "build-report, not in your manuscript: please report it to the maintainers with "
                                "the output of -v"]
    code, _, err = run(["html", str(ROOT / "tests/data/mini"), "-o", str(tmp_path / "x.html"), "-v"])
    assert code == 70 and "Traceback (most recent call last)" in err and "in broken" in err


def test_a_write_error_names_the_output_not_its_temporary_file(tmp_path: Path, monkeypatch) -> None:
    def full_disk(source, target):
        raise OSError(errno.ENOSPC, "No space left on device", source)

    monkeypatch.setattr(output.os, "replace", full_disk)
    out = tmp_path / "report.html"
    code, _, err = run(["html", str(ROOT / "tests/data/mini"), "-o", str(out)])
    assert code == 2
    assert err.splitlines() == [f"build-report: error: No space left on device: {out}"]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 143), (signal.SIGHUP, 129), (signal.SIGINT, 130)])
def test_a_stop_signal_cleans_up_like_ctrl_c(signum: int, code: int, tmp_path: Path) -> None:
    """Stopped mid-render: exit 128+N, the previous PDF kept, no `.tmp` beside it and no
    `weasyprint-*` font folder left in the temporary folder."""
    temp = tmp_path / "tmp"
    temp.mkdir()
    out = tmp_path / "build" / "report.pdf"
    out.parent.mkdir()
    out.write_bytes(b"%PDF previous")
    env = dict(os.environ, TMPDIR=str(temp))
    process = subprocess.Popen([sys.executable, "-m", "build_report", "pdf", str(ROOT / "manuscript"), "-o", str(out)],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    # A parallel build's workers keep their temporary files in a folder of the pool's (parallel.Pool).
    while not list(temp.glob("**/weasyprint-*")) and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)  # WeasyPrint has started laying out: its font folder exists
    assert list(temp.glob("**/weasyprint-*")), "the build never reached WeasyPrint"
    process.send_signal(signum)
    _, err = process.communicate(timeout=60)
    assert process.returncode == code, err
    assert "Traceback" not in err
    assert list(temp.iterdir()) == []
    assert [p.name for p in out.parent.iterdir()] == ["report.pdf"] and out.read_bytes() == b"%PDF previous"


def test_every_chapter_reaches_the_epub_when_ids_share_a_file_name(tmp_path: Path) -> None:
    """DL-3: ids that name one file where case is folded (a zip unpacked on Windows or macOS)."""
    root = edited_copy(tmp_path, {
        "chapters/02-second.md": [["# The second chapter", "---\nid: Method\n---\n# The second chapter"]],
        "chapters/03-appendix.md": [["kind: appendix", "kind: appendix\nid: method"]],
    })
    out = tmp_path / "out.epub"
    code, _, err = run(["epub", str(root), "-o", str(out)])
    assert code == 0, err
    with zipfile.ZipFile(out) as epub:
        texts = [name for name in epub.namelist() if name.startswith("EPUB/text/")]
        assert len({name.casefold() for name in texts}) == 4 + 1  # four chapters and the places appendix
        assert any("The second chapter" in epub.read(name).decode() for name in texts)
        assert any("Sources" in epub.read(name).decode() for name in texts)


def test_scripts_never_reach_the_epub(tmp_path: Path) -> None:
    """SEC-6: script, iframe, event handlers and javascript: links are removed (with warnings), so the
    EPUB holds no script and needs no 'scripted' property: epubcheck passes."""
    from test_epub import assert_epubcheck_clean

    hostile = ('<p onclick="steal()">Click <a href=" JaVaScRiPt:alert(1)">here</a>'
               '<script>alert(2)</script><iframe src="https://example.org/"></iframe>'
               '<img src="../images/boxes.svg" onerror="alert(3)" alt="Boxes"></p>')
    root = edited_copy(tmp_path, {"chapters/02-second.md": [["things changed.", f"things changed.\n\n{hostile}"]]})
    out = tmp_path / "out.epub"
    code, _, err = run(["epub", str(root), "-o", str(out)])
    assert code == 0, err
    assert len([line for line in err.splitlines() if line.startswith("chapters/02-second.md:5: warning: ")]) == 5, err
    with zipfile.ZipFile(out) as epub:
        content = b"".join(epub.read(name) for name in epub.namelist()).lower()
    for needle in (b"<script", b"<iframe", b"onclick", b"onerror", b"javascript:", b"scripted"):
        assert needle not in content
    assert_epubcheck_clean(out)
