"""Review drafts: watermark and stamp, review marks, accept/reject, per-chapter drafts, diff."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
from pypdf import PdfReader

from build_report import build, review
from build_report.cli import main
from build_report.diagnostics import Diagnostics
from build_report.review import Refused, resolve_marks, rewrite_chapters, scan_marks

MINI = Path(__file__).parent / "data" / "mini"
MARKED = ("\nA sentence with {++an insertion++}, {--a deletion--}, {~~old~>new~~} words, "
          "{==a highlight==}{>>Check the figure<<}.\n")


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
    assert err.count("chapters/01-first.md:36: error:") == 1  # one line per source line, with the count
    assert "chapters/01-first.md:36: error: 5 unresolved review marks: accept or reject them " \
           "(build-report accept|reject)" in err
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
    assert code == 0 and "4 review marks" in out  # the highlight and its comment are one item
    assert chapter.read_text().rstrip().endswith(expected)
    assert (root / "chapters" / "01-first.md.bak").read_text() == original
    assert run("pdf", str(root), "-o", str(tmp_path / "ok.pdf"))[0] == 0


@pytest.mark.parametrize("text, accepted, rejected", [
    ("a {++b++} c", "a b c", "a  c"),
    ("a {--b--} c", "a  c", "a b c"),
    ("a {~~b~>c~~} d", "a c d", "a b d"),
    ("a {==b==}{>>note<<} c", "a b c", "a b c"),
    ("{++two\nlines++}", "two\nlines", ""),
    ("{++two\r\nlines++}\r\n", "two\r\nlines\r\n", "\r\n"),
    # A half-open comment is left alone: only the real comment, two paragraphs on, goes.
    ("a {>> b\n\n## H\n\nc {>>x<<} d", "a {>> b\n\n## H\n\nc  d", "a {>> b\n\n## H\n\nc  d"),
    ("---\ntitle: {++not a mark++}\n---\nText {++b++}.", "---\ntitle: {++not a mark++}\n---\nText b.",
     "---\ntitle: {++not a mark++}\n---\nText ."),
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
    from build_report.cli import cmd_watch
    from build_report.diagnostics import Diagnostics
    from build_report.themes import STYLES

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


# -- The one scanner of review marks (DL-1) ---------------------------------------------------------


@pytest.mark.parametrize("text, marks, unbalanced", [
    ("a {++b++} {--c--} {~~d~>e~~} {==f==}{>>g<<}", ["{++", "{--", "{~~", "{==", "{>>"], []),
    ("{++two\nlines++}", ["{++"], []),  # within a paragraph a mark may span lines
    ("{>> half-open\n\n## Heading\n\nText {>>real<<}.", ["{>>"], ["1: '{>>' (no closing '<<}' in its paragraph)"]),
    ("{++across\n\na blank line++}", [], ["1: '{++' (no closing '++}' in its paragraph)",
                                          "3: '++}' (no opening '{++')"]),
    ("{==into\n## a heading==}", [], ["1: '{==' (no closing '==}' in its paragraph)", "2: '==}' (no opening '{==')"]),
    ("## a {++heading\nand the next line++}", [], ["1: '{++' (no closing '++}' in its paragraph)",
                                                  "2: '++}' (no opening '{++')"]),
    ("> {--in a quote\n>\n> across its blank line--}", [], ["1: '{--' (no closing '--}' in its paragraph)",
                                                           "3: '--}' (no opening '{--')"]),
    ("a {>>b {>>c<<} d", ["{>>"], ["1: '{>>' (another mark opens before its closing '<<}')"]),
    ("stray <<} and ~~}", [], ["1: '<<}' (no opening '{>>')", "1: '~~}' (no opening '{~~')"]),
    ("{~~no arrow~~}", [], ["1: '{~~' (no '~>' between the old and the new text)"]),
    ("line 1\r\nline 2 {++\r\n\r\n++}", [], ["2: '{++' (no closing '++}' in its paragraph)",
                                             "4: '++}' (no opening '{++')"]),
])
def test_scan_marks(text: str, marks: list[str], unbalanced: list[str]) -> None:
    found = scan_marks(text)
    assert [mark.opener for mark in found.marks] == marks
    assert [f"{u.line}: {str(u).removeprefix('unbalanced review mark ')}" for u in found.unbalanced] == unbalanced


def test_scan_marks_is_linear_on_hostile_input() -> None:
    import time

    start = time.perf_counter()
    for text in ("{++ " * 200_000, "{>>x " * 100_000 + "<<}", "{~~" * 200_000 + "~>"):
        scan_marks(text)
    assert time.perf_counter() - start < 10  # quadratic would take hours


def marked_copy(tmp_path: Path, text: str, name: str = "02-second.md") -> tuple[Path, Path]:
    root = tmp_path / "m"
    shutil.copytree(MINI, root)
    chapter = root / "chapters" / name
    chapter.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return root, chapter


HALF_OPEN = ("# The second chapter\n\nAs we saw in [](01-first.md#what-changed), things {>>ask Sam changed.\n\n"
             "## A section\n\nA paragraph.\n\nAnother one{>>a real comment<<}.\n")


@pytest.mark.parametrize("verb", ["accept", "reject"])
def test_accept_and_reject_refuse_a_half_open_mark_and_rewrite_nothing(tmp_path: Path, verb: str) -> None:
    root, chapter = marked_copy(tmp_path, HALF_OPEN)
    (root / "chapters" / "01-first.md").write_text((MINI / "chapters" / "01-first.md").read_text() + MARKED)
    before = {path: path.read_bytes() for path in root.rglob("*") if path.is_file()}
    code, out = run(verb, str(root))
    assert code == 2
    assert out.splitlines() == [
        f"build-report: error: {verb}: nothing was rewritten (fix the problems reported, then run it again)",
        "chapters/02-second.md:3: error: unbalanced review mark '{>>' (no closing '<<}' in its paragraph)"]
    assert {path: path.read_bytes() for path in root.rglob("*") if path.is_file()} == before  # no .bak either


def test_the_draft_shows_the_headings_after_a_half_open_comment(tmp_path: Path) -> None:
    root, _ = marked_copy(tmp_path, HALF_OPEN)
    out = tmp_path / "draft.pdf"
    code, printed = run("draft", str(root), "--chapter", "2", "-o", str(out))
    assert code == 0
    assert printed.count("unbalanced review mark") == 1
    assert "chapters/02-second.md:3: warning: unbalanced review mark '{>>' (no closing '<<}' in its paragraph)" \
        in printed
    text = " ".join(pages_text(out))
    assert "A section" in text and "A paragraph." in text  # not swallowed into a comment
    assert "Review comments C1 a real comment" in text


# -- Backups, line endings, modes and symlinks (DL-2) ----------------------------------------------


def test_every_run_keeps_a_new_numbered_backup(tmp_path: Path) -> None:
    versions = ["First {++one++}.\n", "Second {--two--}.\n", "Third {~~three~>3~~}.\n"]
    root, chapter = marked_copy(tmp_path, "# The second chapter\n\n" + versions[0])
    for number, verb in enumerate(["accept", "reject", "accept"]):
        if number:
            chapter.write_text("# The second chapter\n\n" + versions[number])
        code, out = run(verb, str(root), "--chapter", "2")
        backup = "chapters/02-second.md.bak" + (f".{number}" if number else "")
        assert code == 0 and out.splitlines() == [
            f"chapters/02-second.md: {verb}ed 1 review mark (previous text in {backup})"]
    for number, text in enumerate(versions):
        backup = root / "chapters" / ("02-second.md.bak" + (f".{number}" if number else ""))
        assert backup.read_text() == "# The second chapter\n\n" + text
    assert chapter.read_text().endswith("Third 3.\n")


@pytest.mark.parametrize("mode", [0o600, 0o755, 0o640])
def test_accept_keeps_bom_crlf_and_mode(tmp_path: Path, mode: int) -> None:
    front = "\ufeff---\r\nkind: chapter\r\n---\r\n# Second\r\n\r\n"
    original = front + "A {++new++} line\r\nand {--old\r\ntext--} here.\r\n"
    root, chapter = marked_copy(tmp_path, original.encode("utf-8"))
    chapter.chmod(mode)
    assert run("accept", str(root))[0] == 0
    assert chapter.read_bytes() == (front + "A new line\r\nand  here.\r\n").encode("utf-8")
    assert chapter.stat().st_mode & 0o7777 == mode
    backup = root / "chapters" / "02-second.md.bak"
    assert backup.read_bytes() == original.encode("utf-8") and backup.stat().st_mode & 0o7777 == mode
    assert [p.name for p in chapter.parent.iterdir() if p.name.endswith(".tmp")] == []


def test_a_chapter_that_is_a_symlink_stays_one(tmp_path: Path) -> None:
    root = tmp_path / "m"
    shutil.copytree(MINI, root)
    shared = root / "shared" / "second.md"
    shared.parent.mkdir()
    shared.write_text("# The second chapter\n\nThings {~~changed~>moved~~}.\n")
    link = root / "chapters" / "02-second.md"
    link.unlink()
    link.symlink_to("../shared/second.md")
    code, out = run("reject", str(root))
    assert code == 0, out
    assert link.is_symlink() and str(link.readlink()) == "../shared/second.md"
    assert shared.read_text() == "# The second chapter\n\nThings changed.\n"
    assert (root / "shared" / "second.md.bak").read_text().endswith("{~~changed~>moved~~}.\n")


def test_a_chapter_swapped_for_a_symlink_out_of_the_manuscript_is_refused(tmp_path: Path) -> None:
    """Chapter loading refuses such a symlink; the rewrite checks again, as it writes."""
    root, chapter = marked_copy(tmp_path, "# The second chapter\n\nThings {++changed++}.\n")
    manuscript = build.load(root, Diagnostics(), build.Timer())
    outside = tmp_path / "outside.md"
    outside.write_text("# Not ours\n\nKeep {--this--}.\n")
    chapter.unlink()
    chapter.symlink_to(outside)
    diagnostics = Diagnostics()
    with pytest.raises(Refused):
        list(rewrite_chapters(manuscript, manuscript.chapters, True, diagnostics))
    assert [str(d) for d in diagnostics.items] == [
        "chapters/02-second.md: error: cannot be rewritten: it is outside the manuscript folder"]
    assert outside.read_text() == "# Not ours\n\nKeep {--this--}.\n" and chapter.is_symlink()
    assert not list(tmp_path.glob("outside.md.bak*"))


# -- diff: REF never reaches git as an option (SEC-7); bad manuscripts are errors (CR-4) ------------


@pytest.mark.parametrize("ref", ["--output=victim.txt", "-ovictim.txt", "--remote=file:///nowhere", "no-such-branch"])
def test_diff_verifies_ref_before_git_uses_it(repo: Path, tmp_path: Path, monkeypatch, ref: str) -> None:
    monkeypatch.chdir(tmp_path)
    victims = [tmp_path / "victim.txt", repo.parent / "victim.txt", repo / "victim.txt"]
    for victim in victims:
        victim.write_text("precious\n")
    code, err = run("diff", "-o", str(tmp_path / "changes.pdf"), "--", ref, str(repo))
    assert code == 2
    assert err.splitlines() == [f"build-report: error: '{ref}' is not a commit, tag or branch in this repository"]
    assert all(victim.read_text() == "precious\n" for victim in victims)
    assert not (tmp_path / "changes.pdf").exists()


@pytest.mark.parametrize("old_report, message", [
    (b"title: [unclosed\n",
     "report.yaml at 'HEAD~1', line 2: invalid YAML: expected ',' or ']', but got '<stream end>'"),
    (b"- a list\n- not a mapping\n", "report.yaml at 'HEAD~1' has no list of chapters: it cannot be compared with"),
    (b"title: caf\xe9\n", "report.yaml at 'HEAD~1', line 1: not UTF-8 text: byte 0xe9 cannot be read; "
                          "save the file as UTF-8"),
    (b"title: Escape\nchapters: [../../outside.md]\n",
     "report.yaml at 'HEAD~1': chapter '../../outside.md' is outside the manuscript folder"),
])
def test_diff_reports_a_bad_old_report_yaml_with_its_ref(repo: Path, tmp_path: Path, old_report: bytes,
                                                         message: str) -> None:
    report = repo / "report.yaml"
    good = report.read_bytes()
    report.write_bytes(old_report)
    git(repo.parent, "commit", "-qam", "broken")
    report.write_bytes(good)
    git(repo.parent, "commit", "-qam", "mended")
    code, err = run("diff", "HEAD~1", str(repo), "-o", str(tmp_path / "changes.pdf"))
    assert code == 2
    assert err.splitlines() == [f"build-report: error: {message}"]


def test_diff_reports_a_bad_old_chapter_with_its_ref(repo: Path, tmp_path: Path) -> None:
    chapter = repo / "chapters" / "02-second.md"
    good = chapter.read_bytes()
    chapter.write_bytes(good + b"\n\xff\n")
    git(repo.parent, "commit", "-qam", "broken")
    chapter.write_bytes(good)
    git(repo.parent, "commit", "-qam", "mended")
    code, err = run("diff", "HEAD~1", str(repo), "-o", str(tmp_path / "changes.pdf"))
    assert code == 2
    assert err.splitlines() == ["build-report: error: chapters/02-second.md at 'HEAD~1', line 9: not UTF-8 text: "
                                "byte 0xff cannot be read; save the file as UTF-8"]


def test_diff_reports_the_current_manuscripts_problems_once(repo: Path, tmp_path: Path) -> None:
    """Problems of the current manuscript print once, at their real lines; a bad one stops diff before git."""
    chapter = repo / "chapters" / "02-second.md"
    chapter.write_text(chapter.read_text() + "\nA line with {++an unclosed insertion.\n")
    out = tmp_path / "changes.pdf"
    code, err = run("diff", "HEAD", str(repo), "-o", str(out))
    assert code == 0, err
    assert err.splitlines() == [
        f"wrote {out}",  # stdout, then the diagnostics: each once
        "chapters/02-second.md:9: warning: unbalanced review mark '{++' (no closing '++}' in its paragraph)"]
    chapter.write_text(chapter.read_text().replace("brackenfold", "brackenfald"))
    code, err = run("diff", "HEAD", str(repo), "-o", str(out))
    assert code == 2
    assert "chapters/02-second.md:7: error: unknown place 'brackenfald'" in err
    assert "Traceback" not in err and "internal error" not in err


# -- The draft's furniture on the page (issue 13, item 5) ---------------------------------------------

MM = 72 / 25.4  # points in a millimetre
TINT_WARM = (0.972549, 0.92549, 0.901961)  # tokens.css --tint-warm: the draft box's background


def _matrix(a: list[float], b: list[float]) -> list[float]:
    return [a[0] * b[0] + a[1] * b[2], a[0] * b[1] + a[1] * b[3], a[2] * b[0] + a[3] * b[2],
            a[2] * b[1] + a[3] * b[3], a[4] * b[0] + a[5] * b[2] + b[4], a[4] * b[1] + a[5] * b[3] + b[5]]


def _apply(m: list[float], x: float, y: float) -> tuple[float, float]:
    return x * m[0] + y * m[2] + m[4], x * m[1] + y * m[3] + m[5]


def _advances(font) -> tuple[dict[int, float], float, float, float]:
    """A Type0 font's glyph widths (its descendant's /W), default width, ascent and descent (1/1000 em)."""
    import pikepdf

    descendant = font.DescendantFonts[0]
    widths: dict[int, float] = {}
    array = list(descendant.get("/W", []))
    index = 0
    while index < len(array):
        first, then = int(array[index]), array[index + 1]
        if isinstance(then, pikepdf.Array):
            widths.update({first + k: float(v) for k, v in enumerate(then)})
            index += 2
        else:
            widths.update({glyph: float(array[index + 2]) for glyph in range(first, int(then) + 1)})
            index += 3
    descriptor = descendant.FontDescriptor
    return widths, float(descendant.get("/DW", 1000)), float(descriptor.Ascent), float(descriptor.Descent)


def painted(page) -> tuple[list[tuple[float, float, float, float]], list[tuple[float, float, float, float]]]:
    """(the box of each glyph of the watermark, each rectangle filled with --tint-warm) on a page, as
    (left, top, right, bottom) in points from the sheet's top left corner. The watermark is the text in
    `/Artifact <</Subtype /Watermark>>` marked content (tagging.py); glyph boxes are advance x ascent."""
    import pikepdf

    height = float(page.MediaBox[3])
    fonts = page.Resources.Font
    ctm, stack, marked = [1.0, 0, 0, 1, 0, 0], [], []
    tm, font, size, fill, pending = [1.0, 0, 0, 1, 0, 0], None, 0.0, (0.0, 0.0, 0.0), []
    glyphs, rects = [], []

    def box(points: list[tuple[float, float]]) -> tuple[float, float, float, float]:
        xs, ys = [x for x, _ in points], [height - y for _, y in points]
        return min(xs), min(ys), max(xs), max(ys)

    for operands, operator in pikepdf.parse_content_stream(page):
        op = str(operator)
        if op == "q":
            stack.append((ctm, fill))
        elif op == "Q":
            ctm, fill = stack.pop()
        elif op == "cm":
            ctm = _matrix([float(v) for v in operands], ctm)
        elif op == "rg":
            fill = tuple(round(float(v), 4) for v in operands)
        elif op == "re":
            x, y, w, h = (float(v) for v in operands)
            pending.append(box([_apply(ctm, x, y), _apply(ctm, x + w, y + h)]))
        elif op in ("f", "f*", "B", "B*", "n", "S"):
            if op.startswith("f") and fill == tuple(round(v, 4) for v in TINT_WARM):
                rects += pending
            pending = []
        elif op == "BDC":
            properties = operands[1]
            marked.append(isinstance(properties, pikepdf.Dictionary) and properties.get("/Subtype") == "/Watermark")
        elif op == "BMC":
            marked.append(False)
        elif op == "EMC" and marked:
            marked.pop()
        elif op == "Tf":
            font, size = fonts[operands[0]], float(operands[1])
        elif op == "Tm":
            tm = [float(v) for v in operands]
        elif op == "TJ" and any(marked) and font is not None:
            widths, default, ascent, descent = _advances(font)
            matrix, x = _matrix(tm, ctm), 0.0
            for part in operands[0]:
                if isinstance(part, (int, float, Decimal)):
                    x -= float(part) / 1000 * size
                    continue
                data = bytes(part)
                for at in range(0, len(data), 2):
                    advance = widths.get(int.from_bytes(data[at:at + 2], "big"), default) / 1000 * size
                    corners = [(gx, gy) for gx in (x, x + advance) for gy in (descent / 1000 * size,
                                                                              ascent / 1000 * size)]
                    glyphs.append(box([_apply(matrix, gx, gy) for gx, gy in corners]))
                    x += advance
    return glyphs, rects


def _words(pdf: Path, page: int) -> list[tuple[str, tuple[float, float, float, float]]]:
    """(word, (left, top, right, bottom)) on a page, by pdftotext -bbox (poppler-utils)."""
    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext (poppler-utils) is not installed")
    out = subprocess.run(["pdftotext", "-bbox", "-f", str(page), "-l", str(page), str(pdf), "-"],
                         capture_output=True, text=True, check=True).stdout
    return [(word, (float(x0), float(y0), float(x1), float(y1))) for x0, y0, x1, y1, word in
            re.findall(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)<', out)]


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


@pytest.fixture(scope="module", params=["govuk", "book"])
def themed_draft(request, tmp_path_factory) -> tuple[str, Path]:
    """A draft of the mini report in each theme, with a publisher as long as the sample's."""
    root = tmp_path_factory.mktemp(f"draft-{request.param}") / "m"
    shutil.copytree(MINI, root)
    report = root / "report.yaml"
    report.write_text(report.read_text().replace("publisher: Test Press",
                                                 f"publisher: {PUBLISHER}\ntheme: {request.param}"))
    out = root.parent / "draft.pdf"
    code, printed = run("draft", str(root), "-o", str(out), "--jobs", "1")
    assert code == 0, printed
    return request.param, out


PUBLISHER = "Centre for Public Service Leadership and Local Government Innovation"  # two lines on the cover


def test_the_review_draft_box_leaves_the_cover_text_clear(themed_draft: tuple[str, Path]) -> None:
    """The box used to sit over the end of the publisher line ("CENTRE FOR PUBLIC SERVICE LEADERSI")."""
    import pikepdf

    _, out = themed_draft
    with pikepdf.open(out) as pdf:
        _, rects = painted(pdf.pages[0])
    assert rects, "no draft box on the cover"
    box = (min(r[0] for r in rects), min(r[1] for r in rects), max(r[2] for r in rects), max(r[3] for r in rects))
    # pdftotext's "words" here are runs of text (the tagged spans' /ActualText), a line or a word each.
    words = [(word.strip(), where) for word, where in _words(out, 1) if word.strip()]
    named = set(PUBLISHER.casefold().split())
    publisher = [(word, where) for word, where in words if word.isupper() and set(word.casefold().split()) <= named]
    assert " ".join(word for word, _ in publisher).casefold() == PUBLISHER.casefold()  # all of it, on 2 lines
    title = [(word, where) for word, where in words if word in ("A Small Report", "A", "Small", "Report")]
    assert title
    for word, where in publisher + title:
        assert not _overlap(box, where), f"the draft box covers {word!r}"
    assert all(where[3] < box[1] for _, where in publisher)  # below the publisher...
    assert all(box[3] < where[1] for _, where in title)  # ...and above the title
    inside = [word for word, where in words if box[0] <= where[0] and where[2] <= box[2]
              and box[1] <= where[1] and where[3] <= box[3]]
    assert " ".join(inside).startswith("Review draft Draft v0.3")


def test_the_watermark_is_centred_on_every_page_and_clear_of_its_edges(themed_draft: tuple[str, Path]) -> None:
    """It used to sit right of and below the centre, its last letter at the text's right edge, where it
    was cut off; now it is centred on the sheet, well inside the text area (where nothing is clipped)."""
    import pikepdf

    from build_report import themes

    theme, out = themed_draft
    tokens = themes.STYLES / "themes" / f"{theme}.css"
    top = float(themes.token(tokens, "page-top").removesuffix("mm")) * MM
    bottom = float(themes.token(tokens, "page-bottom").removesuffix("mm")) * MM
    left, right = 22 * MM, 40 * MM  # draft.css: --draft-margin-left, --draft-margin-right
    with pikepdf.open(out) as pdf:
        for number, page in enumerate(pdf.pages, 1):
            width, height = float(page.MediaBox[2]), float(page.MediaBox[3])
            glyphs, _ = painted(page)
            assert len(glyphs) == 5, f"page {number}: {len(glyphs)} watermark glyphs"
            x0, y0 = min(g[0] for g in glyphs), min(g[1] for g in glyphs)
            x1, y1 = max(g[2] for g in glyphs), max(g[3] for g in glyphs)
            assert abs((x0 + x1) / 2 - width / 2) < 1 * MM and abs((y0 + y1) / 2 - height / 2) < 1 * MM, \
                f"page {number}: the watermark is not centred"
            spare = min(x0 - left, width - right - x1, y0 - top, height - bottom - y1)
            assert spare > 5 * MM, f"page {number}: the watermark is {spare / MM:.1f} mm from the text area's edge"


@pytest.mark.parametrize("given, spaces, expected", [
    ("a plain note", False, "a plain note"),
    ("two\nlines\t and  spaces ", False, "two lines and spaces"),
    ("closes early <<} then {++adds++} and {~~a~>b~~}", False,
     "closes early << } then { ++adds++ } and { ~~a~ >b~~ }"),
    ("red \x1b[31mtext\x1b[0m and a NUL\x00", False, "red [31mtext [0m and a NUL"),
    ("safe\u202egnp.exe", False, "safe gnp.exe"),  # a right-to-left override would make it read "exe.png"
    (" inserted  words ", True, " inserted  words "),  # an insertion's spaces are part of the change
])
def test_a_reviewers_words_cannot_break_out_of_their_mark(given: str, spaces: bool, expected: str) -> None:
    """What import-comments and import-docx write from a reviewer's file (review.reviewer_text)."""
    text = review.reviewer_text(given, spaces)
    assert text == expected
    assert not review.scan_marks("{>>" + text + "<<}").unbalanced
    assert len(review.scan_marks("{>>" + text + "<<}").marks) == 1


def test_a_reviewers_name_ends_where_the_convention_says() -> None:
    assert review.reviewer_name("Smith, Ann: Legal\n" + "x" * 80) == "Smith Ann Legal " + "x" * 44  # 60 at most
    comment = review.attribution_comment(review.reviewer_name("Smith, Ann"), "2026-11-30", "fine")
    assert comment == "{>>Smith Ann, 2026-11-30: fine<<}"
    said = review.attribution(comment[3:-3])
    assert (said.reviewer, said.date, said.text) == ("Smith Ann", "2026-11-30", "fine")
    assert review.attribution_comment("", "", "a note") == "{>>a note<<}"
    assert review.attribution_comment("Ann", "2026-11-30") == "{>>Ann, 2026-11-30<<}"
