"""Reviewers in review marks (review.py) and the reviewers' summary, `build-report comments` (comments.py),
with `accept`/`reject --reviewer NAME --mark N`."""

from __future__ import annotations

import csv
import io
import re
import shutil
from pathlib import Path

import pikepdf
import pytest
from pypdf import PdfReader

from build_report import pdfua
from build_report.cli import main
from build_report.review import Attribution, attribution, mark_keys, review_items, scan_marks, splice_marks

MINI = Path(__file__).parent / "data" / "mini"

# Appended to the mini manuscript's chapters: attributed changes, a highlight with a note, comments
# with and without a reviewer, a mark in a footnote, one in a table cell, and a comment a spreadsheet
# would run as a formula.
FIRST = ("\nA sentence with {++an insertion++}{>>Ann Smith, 2026-11-30<<}, "
         "{--a deletion--}{>>Bob Jones, 2026-11-29: too strong<<}, {~~old~>new~~} words, "
         "{==a highlight==}{>>Ann Smith: Check the figure<<}.\n"
         "\nAnother paragraph.{>>Carol: Is this true?<<} And {>>=HYPERLINK(\"x\")<<} here.\n")
SECOND = ("\nSecond chapter {--removes this--}{>>Ann Smith, 2026-12-01<<} words.[^n]\n"
          "\n| Place | Count |\n|---|---:|\n| Ashbury | {~~3~>4~~}{>>Bob Jones: recounted<<} |\n"
          "\n[^n]: A note with {++an added clause++}{>>Ann Smith<<}.\n")
# number, path:line, reviewer, kind, text, comment, as `comments` numbers them
EXPECTED = [
    (1, "chapters/01-first.md:36", "Ann Smith", "insertion", "an insertion", ""),
    (2, "chapters/01-first.md:36", "Bob Jones", "deletion", "a deletion", "too strong"),
    (3, "chapters/01-first.md:36", "", "substitution", "old", ""),
    (4, "chapters/01-first.md:36", "Ann Smith", "highlight", "a highlight", "Check the figure"),
    (5, "chapters/01-first.md:38", "Carol", "comment", "Is this true?", ""),
    (6, "chapters/01-first.md:38", "", "comment", '=HYPERLINK("x")', ""),
    (7, "chapters/02-second.md:9", "Ann Smith", "deletion", "removes this", ""),
    (8, "chapters/02-second.md:13", "Bob Jones", "substitution", "3", "recounted"),
    (9, "chapters/02-second.md:15", "", "insertion", "an added clause", "Ann Smith"),
]


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def marked(tmp_path: Path) -> Path:
    root = tmp_path / "m"
    shutil.copytree(MINI, root)
    for name, text in (("01-first.md", FIRST), ("02-second.md", SECOND)):
        with (root / "chapters" / name).open("a", encoding="utf-8") as handle:
            handle.write(text)
    return root


@pytest.fixture(scope="module")
def drafted(tmp_path_factory) -> tuple[Path, Path]:
    """The marked manuscript and its review draft, built once for the tests that only read them."""
    root = tmp_path_factory.mktemp("drafted") / "m"
    shutil.copytree(MINI, root)
    for name, text in (("01-first.md", FIRST), ("02-second.md", SECOND)):
        with (root / "chapters" / name).open("a", encoding="utf-8") as handle:
            handle.write(text)
    draft = root.parent / "draft.pdf"
    code, _, err = run("draft", str(root), "-o", str(draft), "-q", "--jobs", "1")
    assert code == 0, err
    return root, draft


# -- Reviewers ----------------------------------------------------------------------------------

@pytest.mark.parametrize("comment, expected", [
    ("Ann Smith, 2026-11-30: Check this", ("Ann Smith", "2026-11-30", "Check this")),
    ("Ann Smith: Check this", ("Ann Smith", "", "Check this")),
    ("Ann Smith, 2026-11-30", ("Ann Smith", "2026-11-30", "")),
    ("  Ann Smith :  two\nlines ", ("Ann Smith", "", "two\nlines")),
    ("Ann Smith:", ("Ann Smith", "", "")),
    ("Check the figure", ("", "", "Check the figure")),  # no colon, no date: a comment by nobody
    ("Ann Smith", ("", "", "Ann Smith")),
    ("see https://example.org", ("", "", "see https://example.org")),  # a colon not followed by a space
    ("Smith, J.: a name with a comma", ("", "", "Smith, J.: a name with a comma")),
    ("Ann, 30 November: not an ISO date", ("", "", "Ann, 30 November: not an ISO date")),
    ("x" * 61 + ": too long for a name", ("", "", "x" * 61 + ": too long for a name")),
    ("x" * 60 + ": a name of 60", ("x" * 60, "", "a name of 60")),
    ("Ann\nSmith: a line break", ("", "", "Ann\nSmith: a line break")),
])
def test_a_comment_names_its_reviewer(comment: str, expected: tuple[str, str, str]) -> None:
    assert attribution(comment) == Attribution(*expected)


def test_a_long_comment_is_read_in_linear_time() -> None:
    import time

    start = time.perf_counter()
    attribution("a" + " " * 50_000 + "b")
    attribution("a" * 50_000 + ":")
    assert time.perf_counter() - start < 0.5


@pytest.mark.parametrize("text, items", [
    ("{--x--}{>>Ann, 2026-01-02<<}", [("deletion", "Ann", "{--x--}{>>Ann, 2026-01-02<<}")]),
    ("{==x==}{>>Ann: note<<}", [("highlight", "Ann", "{==x==}{>>Ann: note<<}")]),
    ("{--x--} {>>Ann: apart<<}", [("deletion", "", "{--x--}"), ("comment", "Ann", "{>>Ann: apart<<}")]),
    ("{>>Ann: one<<}{>>Bob: two<<}", [("comment", "Ann", "{>>Ann: one<<}"), ("comment", "Bob", "{>>Bob: two<<}")]),
    ("{~~a~>b~~}{>>Bob<<}", [("substitution", "", "{~~a~>b~~}{>>Bob<<}")]),  # attached, but no reviewer
    ("{++x++}", [("insertion", "", "{++x++}")]),
])
def test_a_comment_right_after_a_change_belongs_to_it(text: str, items: list[tuple[str, str, str]]) -> None:
    found = review_items(scan_marks(text).marks)
    assert [(item.kind, item.reviewer, text[item.start:item.end]) for item in found] == items


def test_mark_keys_are_stable_and_unique() -> None:
    marks = scan_marks("{--a--} {++b++} {--a--} {--a--}").marks
    keys = mark_keys(marks)
    assert len(set(keys)) == 4 and keys[2] == keys[0] + "-2" and keys[3] == keys[0] + "-3"
    assert mark_keys(scan_marks("Before. {++b++}").marks) == [keys[1]]  # from the mark alone, not where it is


# -- The summary ----------------------------------------------------------------------------------

def rows(printed: str) -> list[tuple[int, str, str, str, str]]:
    """(number, where, page, reviewer, kind) of each row of the printed table."""
    found = []
    for line in printed.splitlines():
        match = re.match(r"\s+(\d+)  (\S+:\d+)\s+(\S+)  (.+?)  \s*(insertion|deletion|substitution|highlight|comment)",
                         line)
        if match:
            number, where, page, reviewer, kind = match.groups()
            found.append((int(number), where, page, reviewer.strip(), kind))
    return sorted(found)


def page_of(draft: Path, text: str) -> str:
    """The label of the first page of `draft` whose text has `text`."""
    reader = PdfReader(draft)
    for index, page in enumerate(reader.pages):
        if text in " ".join(page.extract_text().split()):
            return reader.page_labels[index]
    raise AssertionError(f"{text!r} is on no page")


def test_comments_lists_every_mark_with_its_draft_page(drafted: tuple[Path, Path]) -> None:
    root, draft = drafted
    code, printed, err = run("comments", str(root))
    assert code == 0, err
    assert printed.startswith("9 open review marks in 2 chapters (Ann Smith 3, Bob Jones 2, Carol 1, no reviewer 3).")
    found = rows(printed)
    assert [(n, where, reviewer or "", kind) for n, where, _, reviewer, kind in found] == \
        [(n, where, reviewer or "-", kind) for n, where, reviewer, kind, _, _ in EXPECTED]
    pages = {n: page for n, _, page, _, _ in found}
    # The pages are those of the draft `build-report draft` writes: the marks' text is on them.
    assert pages[1] == page_of(draft, "A sentence with an insertion")
    assert pages[7] == page_of(draft, "Second chapter removes this")
    assert pages[9] == page_of(draft, "A note with an added clause")  # in a footnote
    assert pages[1] != pages[7]
    # Grouped by chapter, then by reviewer: Ann Smith's marks first in chapter 1.
    assert [int(line.split()[0]) for line in printed.splitlines()
            if re.match(r"\s+\d+  chapters/01", line)] == [1, 4, 2, 5, 3, 6]


def test_the_draft_has_a_destination_for_every_mark(drafted: tuple[Path, Path]) -> None:
    root, draft = drafted
    with pikepdf.open(draft) as pdf:
        names = {str(name) for name, _ in pikepdf.NameTree(pdf.Root.Names.Dests).items()}
    # An id for the first element of each mark: a change's is its change number (the diff's summary links
    # to those), a highlight's or a comment's is made from its key.
    assert sum(1 for name in names if "--mark-" in name) == 9
    assert {"first--change-1", "first--change-2", "first--change-3", "second--change-1"} <= names
    # The pages from the draft's destinations are those of a layout.
    assert rows(run("comments", str(root), "--draft", str(draft))[1]) == rows(run("comments", str(root))[1])


def test_comments_with_an_old_draft_says_so(marked: Path, tmp_path: Path) -> None:
    draft = tmp_path / "old.pdf"
    shutil.copy(marked / "chapters" / "02-second.md", tmp_path / "keep.md")
    (marked / "chapters" / "02-second.md").write_text("# The second chapter\n\nNothing yet.\n")
    assert run("draft", str(marked), "-o", str(draft), "-q", "--jobs", "1")[0] == 0
    shutil.copy(tmp_path / "keep.md", marked / "chapters" / "02-second.md")
    code, printed, err = run("comments", str(marked), "--draft", str(draft))
    assert code == 0
    assert "3 review marks (the first: chapters/02-second.md:9) are not in this draft" in err
    assert "chapters/02-second.md: warning: changed since" in err
    assert [page for n, _, page, _, _ in rows(printed) if n >= 7] == ["-", "-", "-"]


def test_comments_csv(drafted: tuple[Path, Path], tmp_path: Path) -> None:
    root, _ = drafted
    out = tmp_path / "comments.csv"
    assert run("comments", str(root), "-o", str(out))[0] == 0
    data = out.read_bytes()
    assert b"\r\n" in data and not data.startswith(b"\xef\xbb\xbf")
    table = list(csv.DictReader(io.StringIO(data.decode("utf-8"), newline="")))
    assert list(table[0]) == ["number", "chapter", "path", "line", "page", "reviewer", "date", "kind", "text",
                              "new_text", "comment"]
    assert [(int(r["number"]), f"{r['path']}:{r['line']}", r["reviewer"], r["kind"], r["comment"]) for r in table] == \
        [(n, where, reviewer, kind, comment) for n, where, reviewer, kind, _, comment in EXPECTED]
    assert table[0]["chapter"] == "Chapter 1, The first chapter" and table[0]["date"] == "2026-11-30"
    assert (table[2]["text"], table[2]["new_text"]) == ("old", "new")
    assert table[5]["text"] == "'=HYPERLINK(\"x\")"  # not a formula in a spreadsheet
    assert all(r["page"] for r in table)


def test_comments_markdown(drafted: tuple[Path, Path], tmp_path: Path) -> None:
    root, _ = drafted
    out = tmp_path / "comments.md"
    assert run("comments", str(root), "-o", str(out), "--reviewer", "ann smith")[0] == 0
    text = out.read_text(encoding="utf-8")
    assert text.startswith("# Review marks: A Small Report\n")
    assert "## Chapter 1, The first chapter" in text and "## Chapter 2, The second chapter" in text
    lines = [line for line in text.splitlines() if re.match(r"\| \d+ \|", line)]
    assert [int(line.split("|")[1]) for line in lines] == [1, 4, 7]  # Ann Smith's, numbered as in the full list
    assert all(line.count("|") == 9 for line in lines)
    assert "| 4 | `chapters/01-first.md:36` |" in text and "| Ann Smith |  | highlight | a highlight | " \
        "Check the figure |" in text


def test_comments_pdf_is_tagged_and_passes_the_pdfua_checks(drafted: tuple[Path, Path], tmp_path: Path,
                                                            monkeypatch) -> None:
    root, _ = drafted
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    first, second = tmp_path / "a.pdf", tmp_path / "b.pdf"
    assert run("comments", str(root), "-o", str(first))[0] == 0
    assert run("comments", str(root), "-o", str(second), "--no-cache")[0] == 0
    assert first.read_bytes() == second.read_bytes()  # the same input, the same bytes
    assert pdfua.check(first).failed == []
    code, report, _ = run("check-pdf", str(first))
    assert code == 0, report
    with pikepdf.open(first) as pdf:
        assert str(pdf.Root.Lang) == "en-GB" and pdf.Root.MarkInfo.Marked
        assert str(pdf.docinfo.Title) == "Review marks: A Small Report"
        kinds = set()

        def walk(node) -> None:
            if isinstance(node, pikepdf.Dictionary) and "/S" in node:
                kinds.add(str(node.S))
            children = node.get("/K") if isinstance(node, pikepdf.Dictionary) else None
            for child in (children if isinstance(children, pikepdf.Array) else [children] if children else []):
                walk(child)

        walk(pdf.Root.StructTreeRoot)
    assert {"/H1", "/H2", "/Table", "/TH", "/TD"} <= kinds
    text = " ".join(" ".join(page.extract_text().split()) for page in PdfReader(first).pages)
    assert "Chapter 1, The first chapter" in text and "Bob Jones" in text and "too strong" in text
    assert "9 open review marks in 2 chapters" in text


@pytest.mark.parametrize("argv, message", [
    (["--reviewer", "Ann Smth"], "no review mark by 'Ann Smth' (did you mean 'Ann Smith'?)"),
    (["--mark", "10"], "no review mark 10: they are numbered 1 to 9 (build-report comments lists them)"),
    (["--mark", "7", "--chapter", "1"], "review mark 7 is in chapters/02-second.md, not in chapters/01-first.md"),
    (["--mark", "0"], "argument --mark: not a mark number or range: '0'"),
    (["--mark", "3-x"], "argument --mark: not a mark number or range: '3-x'"),
    (["-o", "comments.txt"], "-o comments.txt: write the summary to a .md, .csv or .pdf file"),
    (["--draft", "missing.pdf"], "--draft missing.pdf: "),
])
def test_bad_selections_are_usage_errors(marked: Path, argv: list[str], message: str, monkeypatch,
                                         tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    verbs = ["comments"] if argv[0] in ("-o", "--draft") else ["comments", "accept", "reject"]
    before = {path: path.read_bytes() for path in (marked / "chapters").iterdir()}
    for verb in verbs:
        code, out, err = run(verb, str(marked), *argv)
        assert code == 2 and message in err and "Traceback" not in err, (verb, err)
    assert {path: path.read_bytes() for path in (marked / "chapters").iterdir()} == before


def test_a_damaged_draft_is_a_usage_error(marked: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(b"%PDF-1.7\nnot really")
    code, _, err = run("comments", str(marked), "--draft", str(bad))
    assert code == 2 and "cannot be read as a PDF" in err and "Traceback" not in err


# -- Accepting and rejecting some marks -----------------------------------------------------------

@pytest.mark.parametrize("verb, argv, changed, expected", [
    ("accept", ["--mark", "2"], {"01-first.md"}, "A sentence with {++an insertion++}{>>Ann Smith, 2026-11-30<<}, , "),
    ("reject", ["--mark", "2"], {"01-first.md"}, "A sentence with {++an insertion++}{>>Ann Smith, 2026-11-30<<}, "
                                                 "a deletion, {~~old~>new~~}"),
    ("accept", ["--mark", "1,3"], {"01-first.md"}, "A sentence with an insertion, {--a deletion--}{>>Bob Jones, "
                                                   "2026-11-29: too strong<<}, new words"),
    ("accept", ["--reviewer", "Bob Jones"], {"01-first.md", "02-second.md"}, "| Ashbury | 4 |"),
    ("reject", ["--reviewer", "ann smith", "--chapter", "2"], {"02-second.md"}, "Second chapter removes this words."),
    ("accept", ["--reviewer", "Ann Smith", "--mark", "4-6"], {"01-first.md"}, "words, a highlight.\n\nAnother"),
])
def test_accept_and_reject_only_the_selected_marks(marked: Path, verb: str, argv: list[str], changed: set[str],
                                                   expected: str) -> None:
    chapters = marked / "chapters"
    (chapters / "01-first.md").write_bytes((chapters / "01-first.md").read_bytes().replace(b"\n", b"\r\n"))
    before = {path.name: path.read_bytes() for path in chapters.glob("*.md")}
    listed = rows(run("comments", str(marked))[1])
    code, out, err = run(verb, str(marked), *argv)
    assert code == 0, err
    after = {path.name: path.read_bytes() for path in chapters.glob("*.md")}
    assert {name for name in after if after[name] != before[name]} == changed
    assert all((chapters / f"{name}.bak").read_bytes() == before[name] for name in changed)
    text = "".join(after[name].decode("utf-8").replace("\r\n", "\n") for name in sorted(changed))
    assert expected in text
    # The items not selected are still there, and every byte around the selected ones is as it was.
    assert len(rows(run("comments", str(marked))[1])) < len(listed)
    assert out.count("review mark") == len(changed)
    for name in changed:
        old, new = before[name].decode("utf-8"), after[name].decode("utf-8")
        kept = [new[item.start:item.end] for item in review_items(scan_marks(new).marks)]
        selected, index = [], 0
        for item in review_items(scan_marks(old).marks):
            if index < len(kept) and old[item.start:item.end] == kept[index]:
                index += 1
            else:
                selected.append(item)
        assert index == len(kept) and selected
        assert new == splice_marks(old, selected, lambda item: item.resolved(verb == "accept"))


def test_no_marks_no_layout(tmp_path: Path) -> None:
    """Without review marks there is nothing to lay out: the summary says so, in every format."""
    code, printed, err = run("comments", str(MINI), "-v")
    assert code == 0 and printed == "No open review marks.\n\n" and "render" not in err
    out = tmp_path / "none.csv"
    assert run("comments", str(MINI), "-o", str(out))[0] == 0
    assert list(csv.reader(io.StringIO(out.read_text(encoding="utf-8")))) == [
        ["number", "chapter", "path", "line", "page", "reviewer", "date", "kind", "text", "new_text", "comment"]]
    out = tmp_path / "none.pdf"
    assert run("comments", str(MINI), "-o", str(out))[0] == 0
    assert pdfua.check(out).failed == []
    assert "No open review marks." in PdfReader(out).pages[0].extract_text()
