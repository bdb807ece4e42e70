"""Review drafts: watermark and stamp, review marks, accept/reject, per-chapter drafts, diff."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from pypdf import PdfReader

from build_report.cli import main
from build_report.review import resolve_marks

MINI = Path(__file__).parent / "data" / "mini"
MARKED = "\nA sentence with {++an insertion++}, {--a deletion--}, {~~old~>new~~} words, {==a highlight==}{>>Check the figure<<}.\n"


def run(*argv: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue() + err.getvalue()


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), "-c", "user.name=Test", "-c", "user.email=test@example.org",
                           *args], capture_output=True, text=True, check=True).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository holding a copy of the small manuscript, committed once."""
    root = tmp_path / "repo"
    shutil.copytree(MINI, root / "manuscript")
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "first draft")
    return root / "manuscript"


def pages_text(path: Path) -> list[str]:
    return [" ".join(page.extract_text().split()) for page in PdfReader(path).pages]


def test_draft_has_watermark_and_stamp_with_git_hash_on_every_page(repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "draft.pdf"
    code, printed = run("draft", str(repo), "-o", str(out), "--source-refs")
    assert code == 0 and "warning" not in printed  # draft.css is clean too
    commit = git(repo.parent, "rev-parse", "--short", "HEAD")
    pages = pages_text(out)
    for number, text in enumerate(pages):
        assert "DRAFT" in text, f"no watermark on page {number}"
        assert f"commit {commit}" in text and "Draft v0.3" in text, f"no stamp on page {number}"
    assert "uncommitted changes" not in pages[0]
    assert "REVIEW DRAFT" in pages[0]  # the first-page box

    (repo / "chapters" / "02-second.md").write_text("# The second chapter\n\nEdited.\n")
    assert run("draft", str(repo), "-o", str(out))[0] == 0
    assert f"commit {commit} + uncommitted changes" in pages_text(out)[1]


def test_final_pdf_has_no_draft_furniture(mini) -> None:
    text = " ".join(mini.text(i) for i in range(len(mini.reader.pages)))
    assert "DRAFT" not in text and "commit" not in text


def test_review_marks_render_in_draft_and_block_final_builds(tmp_path: Path) -> None:
    root = tmp_path / "m"
    shutil.copytree(MINI, root)
    with (root / "chapters" / "01-first.md").open("a") as handle:
        handle.write(MARKED)
    code, err = run("pdf", str(root), "-o", str(tmp_path / "final.pdf"))
    assert code == 2
    assert err.count("chapters/01-first.md:36: error: unresolved review mark") == 5
    assert not (tmp_path / "final.pdf").exists()

    out = tmp_path / "draft.pdf"
    assert run("draft", str(root), "-o", str(out), "--source-refs")[0] == 0
    text = " ".join(pages_text(out))
    assert "an insertion" in text and "a deletion" in text and "old" in text and "new" in text
    assert "Review comments C1 Check the figure (01:36)" in text
    assert "01:36" in text and "01:6" in text  # source references: chapter file and line


@pytest.mark.parametrize("accept, expected", [
    (True, "A sentence with an insertion, , new words, a highlight."),
    (False, "A sentence with , a deletion, old words, a highlight."),
])
def test_accept_and_reject_rewrite_the_manuscript(tmp_path: Path, accept: bool, expected: str) -> None:
    root = tmp_path / "m"
    shutil.copytree(MINI, root)
    chapter = root / "chapters" / "01-first.md"
    original = chapter.read_text() + MARKED
    chapter.write_text(original)
    code, out = run("accept" if accept else "reject", str(root), "--chapter", "1")
    assert code == 0 and "5 review marks" in out
    assert chapter.read_text().rstrip().endswith(expected)
    assert (root / "chapters" / "01-first.md.bak").read_text() == original
    assert run("pdf", str(root), "-o", str(tmp_path / "ok.pdf"))[0] == 0


@pytest.mark.parametrize("text, accepted, rejected", [
    ("a {++b++} c", "a b c", "a  c"),
    ("a {--b--} c", "a  c", "a b c"),
    ("a {~~b~>c~~} d", "a c d", "a b d"),
    ("a {==b==}{>>note<<} c", "a b c", "a b c"),
    ("{++two\nlines++}", "two\nlines", ""),
])
def test_resolve_marks(text: str, accepted: str, rejected: str) -> None:
    assert resolve_marks(text, accept=True) == accepted
    assert resolve_marks(text, accept=False) == rejected


def test_per_chapter_draft_renders_only_that_chapter(tmp_path: Path) -> None:
    out = tmp_path / "one.pdf"
    assert run("draft", str(MINI), "--chapter", "02-second.md", "-o", str(out))[0] == 0
    text = " ".join(pages_text(out))
    assert "The second chapter" in text and "We stopped arguing" not in text
    # the cross-reference to chapter 1 is plain text with its target's title, not a link
    assert "Section 1.1, What changed" in text and "(page" not in text
    reader = PdfReader(out)
    assert not [a for p in reader.pages for a in p.get("/Annots") or [] if a.get_object().get("/Dest")
                and "first" in str(a.get_object()["/Dest"])]


def test_diff_shows_exactly_the_changes(repo: Path, tmp_path: Path) -> None:
    first = repo / "chapters" / "01-first.md"
    first.write_text(first.read_text().replace("An opening paragraph with a footnote.",
                                               "An opening paragraph, rewritten, with a footnote."))
    with (repo / "chapters" / "02-second.md").open("a") as handle:
        handle.write("\nA brand new paragraph at the end.\n")
    report = repo / "report.yaml"
    report.write_text(report.read_text().replace("  - chapters/03-appendix.md\n", ""))
    summary = repo / "chapters" / "00-summary.md"
    summary.write_text(summary.read_text().replace(" and [the method](03-appendix.md#sources)", ""))
    git(repo.parent, "commit", "-qam", "second draft")

    out = tmp_path / "changes.pdf"
    code, err = run("diff", "HEAD~1", str(repo), "-o", str(out))
    assert code == 0, err
    pages = pages_text(out)
    front = next(p for p in pages if "What changed since HEAD~1" in p)
    assert "Summary changed 0 1" in front
    assert "Chapter 1, The first chapter changed 1 0" in front
    assert "Chapter 2, The second chapter changed 1 0" in front
    assert "Appendix A, Method removed" in front
    assert "Places quoted" not in front.split("What changed")[1].split("Chapter 1")[0]  # unchanged: not listed
    reader = PdfReader(out)
    dests = {str(a.get_object().get("/Dest")) for p in reader.pages for a in p.get("/Annots") or []}
    assert {"summary--change-1", "first--change-1", "second--change-1"} <= dests
    assert "first--change-2" not in dests and "second--change-2" not in dests
    body = " ".join(pages)
    assert ", rewritten," in body and "A brand new paragraph at the end." in body


def test_watch_rebuilds_the_draft_after_a_change(tmp_path: Path) -> None:
    import argparse
    import threading
    import time

    from build_report import build as build_module
    from build_report.assemble import STYLES
    from build_report.cli import cmd_watch
    from build_report.diagnostics import Diagnostics

    root = tmp_path / "m"
    shutil.copytree(MINI, root)
    out = tmp_path / "watched.pdf"
    args = argparse.Namespace(manuscript=root, output=out, styles=STYLES, strict=False, quiet=False,
                              chapter="2", source_refs=False)
    stop = threading.Event()
    log = io.StringIO()
    thread = threading.Thread(target=cmd_watch, args=(args, Diagnostics(), build_module.Timer(), log, stop))
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while "watching" not in log.getvalue() and time.monotonic() < deadline:
            time.sleep(0.1)
        first = out.stat().st_mtime_ns
        chapter = root / "chapters" / "02-second.md"
        chapter.write_text(chapter.read_text().replace("things changed", "things changed a lot"))
        while log.getvalue().count("watching") < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert out.stat().st_mtime_ns > first
        assert "things changed a lot" in " ".join(pages_text(out))
        chapter.write_text(chapter.read_text() + "\n> Bad.\n>\n> — Ashbry, a nurse\n")
        while log.getvalue().count("watching") < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert "chapters/02-second.md:11: error: unknown place 'Ashbry'" in log.getvalue()
    finally:
        stop.set()
        thread.join(timeout=30)
    assert not thread.is_alive()


def test_diff_notes_a_moved_chapter_and_an_added_one(repo: Path, tmp_path: Path) -> None:
    report = repo / "report.yaml"
    text = report.read_text()
    text = text.replace("  - chapters/01-first.md\n  - chapters/02-second.md\n",
                        "  - chapters/02-second.md\n  - chapters/01-first.md\n  - chapters/04-new.md\n")
    report.write_text(text)
    (repo / "chapters" / "04-new.md").write_text("# A new chapter\n\nFresh text.\n")
    git(repo.parent, "add", "-A")
    git(repo.parent, "commit", "-qm", "reorder and add")
    out = tmp_path / "changes.pdf"
    code, err = run("diff", "HEAD~1", str(repo), "-o", str(out))
    assert code == 0, err
    front = next(p for p in pages_text(out) if "What changed since HEAD~1" in p)
    assert re.search(r"Chapter \d, The (first|second) chapter moved", front)
    assert "A new chapter added" in front
    assert "changed" not in front.split("Changes", 1)[1]  # no text changed in any chapter
