"""import-comments: a reviewer's annotations on a real draft PDF come back as CriticMarkup.

The draft is built from tests/data/import_comments/manuscript (in a git repository, so it
carries a commit in its stamp) and annotated with pikepdf the way two kinds of viewer write
annotations: Acrobat (/Subj, /NM, /RC rich text, /Popup children, /CreationDate, replies,
"replace text" as a StrikeOut and a Caret grouped by /IRT /RT /Group) and Okular/Poppler
(/Contents, /T, /M only, no popup, corners in the specification's order). Each quadrilateral
is computed from the real glyph positions of known words (pdfminer), so the test is honest.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import pikepdf
import pytest
from pdfminer.high_level import extract_pages
from pdfminer.layout import LAParams, LTChar, LTTextContainer, LTTextLine
from pypdf import PdfReader

from build_report.annotations import pdf_date
from build_report.cli import main
from build_report.review import scan_marks

DATA = Path(__file__).parent / "data" / "import_comments"
ACROBAT = {"author": "Ann Smith", "date": "D:20260203101500+01'00'"}
# Okular writes no time zone; 23:30 is still 3 February in UTC.
OKULAR = {"author": "Okular Reviewer", "date": "D:20260203233000"}


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), "-c", "user.name=Test", "-c", "user.email=test@example.org",
                           *args], capture_output=True, text=True, check=True).stdout.strip()


@dataclass
class Drafted:
    repo: Path  # a git repository holding manuscript/
    pdf: Path  # its draft, built at the first commit

    def copy(self, to: Path) -> tuple[Path, Path]:
        """A fresh copy of the repository (the import rewrites files) and of the draft."""
        shutil.copytree(self.repo, to / "repo", symlinks=True)
        shutil.copy(self.pdf, to / "draft.pdf")
        return to / "repo" / "manuscript", to / "draft.pdf"


@pytest.fixture(scope="module")
def drafted(tmp_path_factory) -> Drafted:
    root = tmp_path_factory.mktemp("drafted")
    repo = root / "repo"
    shutil.copytree(DATA / "manuscript", repo / "manuscript")
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "first draft")
    pdf = root / "draft.pdf"
    code, out, err = run("draft", str(repo / "manuscript"), "-o", str(pdf), "--source-refs", "--jobs", "1")
    assert code == 0, out + err
    return Drafted(repo, pdf)


# -- Where words are on the page, read independently of build_report.annotations -----------------------


def _letters(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKC", text).casefold() if c.isalnum())


def find_words(pdf: Path, phrase: str, occurrence: int = 0) -> tuple[int, list[list[float]]]:
    """(page index, one [x0, y0, x1, y1] per line) of the glyphs of `phrase` on the draft."""
    wanted = _letters(phrase)
    hits = []
    for index, page in enumerate(extract_pages(pdf, laparams=LAParams())):
        chars: list[tuple[str, LTChar, int]] = []
        lines = [line for box in page if isinstance(box, LTTextContainer) for line in box
                 if isinstance(line, LTTextLine) and not re.fullmatch(r"\d+:\d+", line.get_text().strip())]
        lines.sort(key=lambda line: (-round(line.y1), line.x0))
        for number, line in enumerate(lines):
            for char in line:
                if isinstance(char, LTChar):
                    for letter in _letters(char.get_text()):
                        chars.append((letter, char, number))
        text = "".join(letter for letter, _, _ in chars)
        at = text.find(wanted)
        while at >= 0:
            chosen = chars[at:at + len(wanted)]
            boxes: dict[int, list[float]] = {}
            for _, char, number in chosen:
                box = boxes.setdefault(number, [char.x0, char.y0, char.x1, char.y1])
                box[:] = [min(box[0], char.x0), min(box[1], char.y0), max(box[2], char.x1), max(box[3], char.y1)]
            hits.append((index, list(boxes.values())))
            at = text.find(wanted, at + 1)
    assert len(hits) > occurrence, f"{phrase!r} not on the draft"
    return hits[occurrence]


def caret_before(pdf: Path, phrase: str) -> tuple[int, list[float]]:
    """A caret's /Rect standing just before the first glyph of `phrase`, as a viewer draws it."""
    page, boxes = find_words(pdf, phrase)
    x0, y0, _, y1 = boxes[0]
    return page, [x0 - 4, y0 - 2, x0 + 1, y0 + (y1 - y0) * 0.6]


# -- Annotating as viewers do ------------------------------------------------------------------------


class Annotator:
    """Adds annotations to a PDF with pikepdf, in the style of Acrobat or of Okular."""

    def __init__(self, path: Path):
        self.path = path
        self.pdf = pikepdf.open(path, allow_overwriting_input=True)
        self.count = 0

    def save(self) -> None:
        self.pdf.save(self.path)
        self.pdf.close()

    def _add(self, page: int, fields: dict, style: dict, acrobat: bool) -> pikepdf.Dictionary:
        self.count += 1
        annot = pikepdf.Dictionary(Type=pikepdf.Name.Annot, F=4, T=pikepdf.String(style["author"]),
                                   M=pikepdf.String(style["date"]), **fields)
        if acrobat:
            annot.NM = pikepdf.String(f"a1b2c3d4-{self.count:04d}")
            annot.CreationDate = pikepdf.String(style["date"])
            annot.P = self.pdf.pages[page].obj
        annot = self.pdf.make_indirect(annot)
        target = self.pdf.pages[page].obj
        if "/Annots" not in target:
            target.Annots = pikepdf.Array()
        target.Annots.append(annot)
        if acrobat:  # the popup window Acrobat attaches to every markup annotation
            rect = annot.Rect
            popup = self.pdf.make_indirect(pikepdf.Dictionary(
                Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Popup, Parent=annot, Open=False, F=28,
                Rect=pikepdf.Array([rect[2], rect[3] - 80, rect[2] + 180, rect[3]])))
            annot.Popup = popup
            target.Annots.append(popup)
        return annot

    @staticmethod
    def _quads(boxes: list[list[float]], acrobat: bool) -> tuple[pikepdf.Array, pikepdf.Array]:
        points = []
        for x0, y0, x1, y1 in boxes:
            if acrobat:  # upper left, upper right, lower left, lower right
                points += [x0, y1, x1, y1, x0, y0, x1, y0]
            else:  # counter-clockwise from the lower left, as the specification draws it
                points += [x0, y0, x1, y0, x1, y1, x0, y1]
        rect = [min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes),
                max(b[3] for b in boxes)]
        return pikepdf.Array(points), pikepdf.Array(rect)

    def markup(self, kind: str, phrase: str, note: str, style: dict, acrobat: bool, occurrence: int = 0,
               rich: bool = False) -> pikepdf.Dictionary:
        page, boxes = find_words(self.pdf_path, phrase, occurrence)
        quads, rect = self._quads(boxes, acrobat)
        fields = {"Subtype": pikepdf.Name("/" + kind), "QuadPoints": quads, "Rect": rect,
                  "C": pikepdf.Array([1, 0.9, 0])}
        if acrobat:
            fields["Subj"] = pikepdf.String({"Highlight": "Highlight", "StrikeOut": "Cross-Out"}.get(kind, kind))
            if rich and note:  # Acrobat's rich text; /Contents left out to read the note from /RC
                fields["RC"] = pikepdf.String(
                    '<?xml version="1.0"?><body xmlns="http://www.w3.org/1999/xhtml" '
                    'xmlns:xfa="http://www.xfa.org/schema/xfa-data/1.0/" xfa:APIVersion="Acrobat:23.0.0" '
                    f'xfa:spec="2.0.2"><p dir="ltr"><span style="font-size:10pt">{note}</span></p></body>')
                note = ""
        if note:
            fields["Contents"] = pikepdf.String(note)
        return self._add(page, fields, style, acrobat)

    def sticky(self, beside: str, note: str, style: dict, acrobat: bool, occurrence: int = 0) -> pikepdf.Dictionary:
        """A sticky note in the right margin, level with the first line of `beside`."""
        page, boxes = find_words(self.pdf_path, beside, occurrence)
        _, y0, _, y1 = boxes[0]
        width = float(self.pdf.pages[page].MediaBox[2])
        fields = {"Subtype": pikepdf.Name.Text, "Rect": pikepdf.Array([width - 60, y1 - 20, width - 40, y1]),
                  "Contents": pikepdf.String(note), "Name": pikepdf.Name.Comment}
        if acrobat:
            fields["Subj"] = pikepdf.String("Sticky Note")
            fields["Open"] = False
        return self._add(page, fields, style, acrobat)

    def caret(self, before: str, text: str, style: dict, acrobat: bool) -> pikepdf.Dictionary:
        page, rect = caret_before(self.pdf_path, before)
        fields = {"Subtype": pikepdf.Name.Caret, "Rect": pikepdf.Array(rect), "Contents": pikepdf.String(text)}
        if acrobat:
            fields["Subj"] = pikepdf.String("Inserted Text")
        return self._add(page, fields, style, acrobat)

    def replace(self, phrase: str, new: str, style: dict) -> None:
        """Acrobat's "replace text": a caret holding the new text, and a strike-out grouped with it."""
        strike = self.markup("StrikeOut", phrase, "", style, acrobat=True)
        page, boxes = find_words(self.pdf_path, phrase)
        x1, y0, y1 = boxes[-1][2], boxes[-1][1], boxes[-1][3]
        caret = self._add(page, {"Subtype": pikepdf.Name.Caret, "Rect": pikepdf.Array([x1, y0 - 2, x1 + 5, y1]),
                                 "Contents": pikepdf.String(new), "Subj": pikepdf.String("Inserted Text")},
                          style, acrobat=True)
        strike.IRT = caret
        strike.RT = pikepdf.Name.Group
        strike.Subj = pikepdf.String("Replace Text")

    def reply(self, to: pikepdf.Dictionary, text: str, author: str) -> None:
        page = next(i for i, p in enumerate(self.pdf.pages)
                    if any(a.objgen == to.objgen for a in p.obj.get("/Annots", [])))
        self._add(page, {"Subtype": pikepdf.Name.Text, "Rect": to.Rect, "Contents": pikepdf.String(text),
                         "IRT": to, "RT": pikepdf.Name.R},
                  {"author": author, "date": ACROBAT["date"]}, acrobat=True)

    @property
    def pdf_path(self) -> Path:
        return self.path


def annotate_review(pdf: Path) -> None:
    """The review round the tests check: both viewers' styles, on three pages, in a footnote and a table."""
    pen = Annotator(pdf)
    a, o = ACROBAT, OKULAR
    quarter = pen.markup("Highlight", "The partnership board met every quarter", "Was it quarterly from the start?",
                         a, acrobat=True, rich=True)
    pen.reply(quarter, "No, from the second year.", "Bob Jones")
    pen.markup("StrikeOut", "pooled", "", o, acrobat=False)
    pen.sticky("Nobody in charge of the pooled budget", "Name the budget holder.", a, acrobat=True)
    pen.markup("Highlight", "Brackenfold", "Spelling?", a, acrobat=True)
    pen.markup("Highlight", "review found gaps", "Link to the report itself.", o, acrobat=False)
    pen.caret("high, and", "very", o, acrobat=False)
    pen.markup("Highlight", "published on the council\u2019s website", "Which page?", o, acrobat=False)
    pen.replace("single named lead", "named director", a)
    pen.sticky("A final report will follow", "Which autumn?", o, acrobat=False)
    pen.markup("Highlight", "Budgets (page 1) showed", "Say which budgets.", o, acrobat=False)  # a cross-reference
    pen.save()


EXPECTED_MARKS = {
    "chapters/01-findings.md": {
        3: "The partnership board met every month and kept careful minutes of its decisions.[^minutes]",
        7: "Nobody in charge of the {--pooled--}{>>Okular Reviewer, 2026-02-03<<} budget could say who approved "
           "the spending.{>>Ann Smith, 2026-02-03: Name the budget holder.<<}",
        11: "{==The partnership board met every quarter==}{>>Ann Smith, 2026-02-03: Was it quarterly from the "
            "start?; reply Bob Jones: No, from the second year.<<} in the second year.",
        16: "| {==Brackenfold==}{>>Ann Smith, 2026-02-03: Spelling?<<} | 9 |",
        23: "Staff turnover in the housing team was {++very ++}{>>Okular Reviewer, 2026-02-03<<}high, and "
            "{==[the county's review](https://example.org/review) found gaps==}{>>Okular Reviewer, 2026-02-03: "
            "Link to the report itself.<<}.",
        27: "We recommend a {~~single named lead~>named director~~}{>>Ann Smith, 2026-02-03<<} for every shared "
            "service.",
        29: "[^minutes]: The minutes were {==published on the council's website==}{>>Okular Reviewer, 2026-02-03: "
            "Which page?<<} within a week.",
    },
    "chapters/02-next-steps.md": {
        7: "A final report will follow in the autumn.{>>Okular Reviewer, 2026-02-03: Which autumn?<<}",
        9: "As {==[](01-findings.md#budgets) showed==}{>>Okular Reviewer, 2026-02-03: Say which budgets.<<}, "
           "budgets matter.",
    },
}

ACCEPTED = {
    "chapters/01-findings.md": {
        7: "Nobody in charge of the  budget could say who approved the spending.",
        11: "The partnership board met every quarter in the second year.",
        16: "| Brackenfold | 9 |",
        23: "Staff turnover in the housing team was very high, and [the county's review](https://example.org/review) "
            "found gaps.",
        27: "We recommend a named director for every shared service.",
        29: "[^minutes]: The minutes were published on the council's website within a week.",
    },
    "chapters/02-next-steps.md": {7: "A final report will follow in the autumn.",
                                  9: "As [](01-findings.md#budgets) showed, budgets matter."},
}


def lines_of(manuscript: Path, path: str) -> list[str]:
    return (manuscript / path).read_text(encoding="utf-8").split("\n")


def test_both_viewers_annotations_are_written_at_their_lines(drafted: Drafted, tmp_path: Path) -> None:
    manuscript, pdf = drafted.copy(tmp_path)
    annotate_review(pdf)
    pages = {find_words(pdf, phrase)[0] for phrase in ("pooled", "Brackenfold", "single named lead",
                                                       "published on the council", "A final report")}
    assert len(pages) >= 3  # several pages
    before = {path: lines_of(manuscript, path) for path in EXPECTED_MARKS}

    code, out, err = run("import-comments", str(pdf), str(manuscript))
    assert code == 0, out + err
    assert "warning" not in err and "Traceback" not in err
    for path, expected in EXPECTED_MARKS.items():
        lines = lines_of(manuscript, path)
        assert len(lines) == len(before[path])  # marks go inside lines, never add any
        for number, text in expected.items():
            assert lines[number - 1] == text, f"{path}:{number}"
        changed = {n + 1 for n, (old, new) in enumerate(zip(before[path], lines, strict=True)) if old != new}
        assert changed == {n for n, text in expected.items() if text != before[path][n - 1]}
        assert (manuscript / (path + ".bak")).read_text(encoding="utf-8").split("\n") == before[path]
    # One compiler-style line per comment, at the line it went to.
    assert 'chapters/01-findings.md:11: note: highlight by Ann Smith: "The partnership board met every quarter" ' \
           "\u2014 Was it quarterly from the start?; reply Bob Jones: No, from the second year." in out
    assert 'chapters/01-findings.md:7: note: strike-out by Okular Reviewer: "pooled"' in out
    assert 'chapters/01-findings.md:7: note: sticky note by Ann Smith: "Name the budget holder."' in out
    assert 'chapters/01-findings.md:23: note: insertion by Okular Reviewer: "very"' in out
    assert 'chapters/01-findings.md:27: note: replacement by Ann Smith: "single named lead" \u2192 "named director"' \
        in out
    assert 'chapters/02-next-steps.md:7: note: sticky note by Okular Reviewer: "Which autumn?"' in out
    assert sum(": note: " in line for line in out.splitlines()) == 10

    # The next draft shows the marks; the final build refuses while they remain.
    redraft = tmp_path / "redraft.pdf"
    code, out, err = run("draft", str(manuscript), "-o", str(redraft), "--jobs", "1")
    assert code == 0 and "warning" not in err, out + err
    text = " ".join(page.extract_text() for page in PdfReader(redraft).pages)
    assert "named director" in text and "Review comments" in text and "Name the budget holder." in text
    code, out, err = run("pdf", str(manuscript), "-o", str(tmp_path / "final.pdf"), "--jobs", "1")
    assert code == 2 and "unresolved review mark" in err
    assert not (tmp_path / "final.pdf").exists()

    # A second import of the same draft adds nothing.
    snapshot = {path: (manuscript / path).read_bytes() for path in EXPECTED_MARKS}
    code, out, err = run("import-comments", str(pdf), str(manuscript))
    assert code == 0, out + err
    assert "10 annotations already in the manuscript" in out and ": note: " not in out
    assert {path: (manuscript / path).read_bytes() for path in EXPECTED_MARKS} == snapshot
    assert not (manuscript / "chapters/01-findings.md.bak.1").exists()

    # Accepted, the Markdown is the expected text.
    code, out, err = run("accept", str(manuscript))
    assert code == 0, out + err
    for path, expected in ACCEPTED.items():
        lines = lines_of(manuscript, path)
        for number, text in expected.items():
            assert lines[number - 1] == text, f"{path}:{number}"
        assert "{" not in "".join(lines).replace("{#", "")


def test_text_edited_after_the_draft_is_listed_not_guessed(drafted: Drafted, tmp_path: Path) -> None:
    manuscript, pdf = drafted.copy(tmp_path)
    pen = Annotator(pdf)
    pen.markup("Highlight", "met every quarter", "Quarterly?", OKULAR, acrobat=False)
    pen.markup("Highlight", "single named lead", "Who?", OKULAR, acrobat=False)
    pen.save()
    findings = manuscript / "chapters" / "01-findings.md"
    text = findings.read_text()
    findings.write_text(text.replace("met every quarter", "met each quarter")
                        .replace("## Budgets", "An added paragraph.\n\n## Budgets"))
    git(tmp_path / "repo", "commit", "-qam", "edits")
    code, out, err = run("import-comments", str(pdf), str(manuscript))
    assert code == 1, out + err
    assert "Traceback" not in err
    assert 'draft.pdf: warning: page 1: highlight by Okular Reviewer: "Quarterly?": not placed: ' \
           "the text has changed since the draft (this draft is 1 commit old)" in err, err
    # The other annotation is carried to its line in today's file (two lines further down).
    lines = findings.read_text().split("\n")
    assert lines[28] == "We recommend a {==single named lead==}{>>Okular Reviewer, 2026-02-03: Who?<<} for every " \
                        "shared service."
    assert "chapters/01-findings.md:29: note: highlight by Okular Reviewer" in out


def test_a_phrase_that_occurs_alike_more_than_once_is_not_guessed(drafted: Drafted, tmp_path: Path) -> None:
    manuscript, pdf = drafted.copy(tmp_path)
    pen = Annotator(pdf)
    pen.markup("Highlight", "who holds the budget", "Which budget?", OKULAR, acrobat=False, occurrence=1)
    pen.save()
    before = (manuscript / "chapters" / "01-findings.md").read_bytes()
    code, out, err = run("import-comments", str(pdf), str(manuscript))
    assert code == 1
    assert "not placed: its words occur" in err and "do not tell which" in err
    assert (manuscript / "chapters" / "01-findings.md").read_bytes() == before


@pytest.mark.parametrize("content", [b"", b"not a pdf at all", b"%PDF-1.7\n1 0 obj <<", b"%PDF-1.4\n" + b"\0" * 5000])
def test_garbage_is_bad_input_without_a_traceback(drafted: Drafted, tmp_path: Path, content: bytes) -> None:
    manuscript, _ = drafted.copy(tmp_path)
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(content)
    code, out, err = run("import-comments", str(bad), str(manuscript))
    assert code == 2, out + err
    assert "Traceback" not in err and "internal error" not in err and "bad.pdf" in err


def test_a_pdf_that_is_not_a_draft_of_this_manuscript_is_refused(drafted: Drafted, tmp_path: Path) -> None:
    manuscript, _ = drafted.copy(tmp_path)
    other = tmp_path / "other.pdf"
    assert run("pdf", str(Path(__file__).parent / "data" / "mini"), "-o", str(other), "--jobs", "1")[0] == 0
    code, out, err = run("import-comments", str(other), str(manuscript))
    assert code == 2 and "not a draft of this manuscript" in err, out + err
    missing = run("import-comments", str(tmp_path / "nowhere.pdf"), str(manuscript))
    assert missing[0] == 2 and "not found" in missing[2]


def test_malformed_annotations_neither_crash_nor_hang(drafted: Drafted, tmp_path: Path) -> None:
    manuscript, pdf = drafted.copy(tmp_path)
    with pikepdf.open(pdf, allow_overwriting_input=True) as doc:
        page = doc.pages[4].obj
        junk = pikepdf.Array()
        junk.append(pikepdf.Dictionary(Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Highlight))  # no /Rect
        junk.append(pikepdf.Dictionary(Subtype=pikepdf.Name.Highlight, Rect=[0, 0, 99999999, "x"],
                                       QuadPoints=["a", 1, 2], Contents=pikepdf.String("x" * 1_000_000)))
        junk.append(pikepdf.Dictionary(Subtype=pikepdf.Name.StrikeOut, Rect=[0, 0, 10, 10],
                                       QuadPoints=[99999999.5] * 8))
        junk.append(pikepdf.Dictionary(Subtype=pikepdf.Name.Caret, Rect=[1, 2, 3], Contents=pikepdf.String("a")))
        junk.append(pikepdf.Dictionary(Subtype=pikepdf.Name.Text, Rect=[0, 0, 5, 5], T=5, M=pikepdf.String("D:9"),
                                       Contents=pikepdf.String("{>> <<} {== a note")))
        loop = doc.make_indirect(pikepdf.Dictionary(Subtype=pikepdf.Name.Text, Rect=[0, 0, 5, 5],
                                                    Contents=pikepdf.String("loop")))
        loop.IRT = loop  # a reply to itself
        junk.append(loop)
        junk.append(5)
        for number in range(5000):
            junk.append(pikepdf.Dictionary(Subtype=pikepdf.Name.Highlight, Rect=[0, 0, 1, 1],
                                           QuadPoints=[0, 0, 1, 0, 1, 1, 0, 1] * 50,
                                           Contents=pikepdf.String(str(number))))
        page.Annots = doc.make_indirect(junk)
        doc.save(pdf)
    started = time.monotonic()
    code, out, err = run("import-comments", str(pdf), str(manuscript))
    assert time.monotonic() - started < 60
    assert code == 1, out + err
    assert "Traceback" not in err and "internal error" not in err
    assert "were not read" in err
    text = (manuscript / "chapters" / "01-findings.md").read_text()
    assert not scan_marks(text).unbalanced


def test_pdf_dates_are_read_as_utc_days() -> None:
    assert pdf_date("D:20260203101500+01'00'") == "2026-02-03"
    assert pdf_date("D:20260204003000+02'00'") == "2026-02-03"
    assert pdf_date("D:20260203233000-05'00'") == "2026-02-04"
    assert pdf_date("D:2026") == "2026-01-01"
    assert pdf_date("D:20261340") == "" and pdf_date("yesterday") == ""


def test_encrypted_draft_is_bad_input(drafted: Drafted, tmp_path: Path) -> None:
    manuscript, pdf = drafted.copy(tmp_path)
    locked = tmp_path / "locked.pdf"
    with pikepdf.open(pdf) as doc:
        doc.save(locked, encryption=pikepdf.Encryption(owner="owner", user="", R=6))
    code, out, err = run("import-comments", str(locked), str(manuscript))
    assert code == 2 and "encrypted" in err and "Traceback" not in err


def test_crlf_bom_file_keeps_its_bytes_and_a_note_beside_a_heading_goes_below_it(
        drafted: Drafted, tmp_path: Path) -> None:
    """A chapter with a BOM and CRLF line ends, drafted on its own (--chapter); a sticky note beside a
    heading goes to the end of the paragraph under it, not into the heading (the contents would show it)."""
    manuscript, _ = drafted.copy(tmp_path)
    repo = tmp_path / "repo"
    findings = manuscript / "chapters" / "01-findings.md"
    findings.write_bytes(b"\xef\xbb\xbf" + findings.read_bytes().replace(b"\n", b"\r\n"))
    git(repo, "commit", "-qam", "CRLF")
    pdf = tmp_path / "chapter.pdf"
    code, out, err = run("draft", str(manuscript), "--chapter", "1", "-o", str(pdf), "--jobs", "1")
    assert code == 0, out + err
    pen = Annotator(pdf)
    pen.sticky("Staffing", "Add the 2025 figures.", OKULAR, acrobat=False, occurrence=1)  # 0: the contents
    pen.markup("Highlight", "Ashbury", "", ACROBAT, acrobat=True)
    page, boxes = find_words(pdf, "We recommend a single")
    x0, y0, _, y1 = boxes[0]
    pen._add(page, {"Subtype": pikepdf.Name.FreeText, "Rect": pikepdf.Array([x0 + 40, y0 - 3, x0 + 160, y1 + 3]),
                    "Contents": pikepdf.String("Too vague."), "DA": pikepdf.String("/Helv 10 Tf 1 0 0 rg")},
             OKULAR, acrobat=False)  # a text box typed over the line
    pen.save()
    code, out, err = run("import-comments", str(pdf), str(manuscript))
    assert code == 0, out + err
    data = findings.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and data.count(b"\r\n") == data.count(b"\n")
    lines = data.decode("utf-8-sig").split("\r\n")
    assert lines[20] == "## Staffing {#staffing}"
    assert lines[22].endswith("found gaps.{>>Okular Reviewer, 2026-02-03: Add the 2025 figures.<<}")
    assert lines[14] == "| {==Ashbury==}{>>Ann Smith, 2026-02-03<<} | 12 |"
    assert lines[26] == "We recommend a single named lead for every shared service." \
                        "{>>Okular Reviewer, 2026-02-03: Too vague.<<}"
    assert "chapters/01-findings.md:23: note: sticky note by Okular Reviewer" in out


def test_a_highlight_over_two_paragraphs_or_two_cells_is_one_mark_in_each(drafted: Drafted, tmp_path: Path) -> None:
    manuscript, pdf = drafted.copy(tmp_path)
    pen = Annotator(pdf)
    pen.markup("Highlight", "the spending. Councils described", "Split this?", OKULAR, acrobat=False)
    pen.markup("StrikeOut", "Ashbury 12", "", ACROBAT, acrobat=True)
    pen.save()
    code, out, err = run("import-comments", str(pdf), str(manuscript))
    assert code == 0, out + err
    lines = lines_of(manuscript, "chapters/01-findings.md")
    assert lines[6] == "Nobody in charge of the pooled budget could say who approved " \
                       "{==the spending.==}{>>Okular Reviewer, 2026-02-03<<}"
    assert lines[8].startswith("{==Councils described==}{>>Okular Reviewer, 2026-02-03: Split this?<<} the same")
    assert lines[14] == "| {--Ashbury--}{>>Ann Smith, 2026-02-03<<} | {--12--}{>>Ann Smith, 2026-02-03<<} |"
    assert out.count(": note: ") == 2  # one line per annotation, at its first line
    assert 'chapters/01-findings.md:7: note: highlight by Okular Reviewer: "the spending. \u2026 Councils described"' \
        in out
    assert run("draft", str(manuscript), "-o", str(tmp_path / "again.pdf"), "--jobs", "1")[0] == 0
    code, out, err = run("import-comments", str(pdf), str(manuscript))
    assert code == 0 and out.startswith(f"{pdf}: 2 annotations already"), out + err
