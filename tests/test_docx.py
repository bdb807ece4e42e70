"""The Word edition (`build-report docx`) and the way back (`build-report import-docx`).

Export: the DOCX of the small manuscript, with open review marks, read with python-docx (heading
styles, footnotes, alt text, place-quote styles, comments, the draft header), built twice
byte-identically, and opened by LibreOffice, which converts it to a PDF with the headings' text.

Import: the DOCX is edited as Word writes a reviewer's work (w:ins, w:del with w:delText, a comment
in comments.xml anchored by commentRangeStart/End and a commentReference), then imported; the
exact CriticMarkup must be at the exact lines, a second import adds nothing, an untracked edit is
a diff and exit 1 with nothing written, a broken file is exit 2, and `accept` gives the text the
reviewer meant.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from lxml import etree

from build_report.cli import main

MINI = Path(__file__).parent / "data" / "mini"
W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
EPOCH = "1767225600"  # 2026-01-01

MARKED = ("\nSome {++added++}{>>Ann Smith, 2026-11-20<<} text, {--gone--} and {~~old~>new~~}, "
          "{==highlighted==}{>>Bob Jones, 2026-11-21: a note<<} and a {>>lone comment<<}.\n")


def run(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(args), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def manuscript(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "mini"
    shutil.copytree(MINI, root)
    return root


@pytest.fixture
def marked(manuscript: Path) -> Path:
    chapter = manuscript / "chapters" / "01-first.md"
    chapter.write_text(chapter.read_text(encoding="utf-8") + MARKED, encoding="utf-8")
    return manuscript


def build_docx(root: Path, out: Path) -> Path:
    code, _, err = run("docx", str(root), "-o", str(out), "-q")
    assert code == 0, err
    return out


# -- Export ---------------------------------------------------------------------------------------

@pytest.fixture
def exported(marked: Path, tmp_path: Path) -> Path:
    return build_docx(marked, tmp_path / "report.docx")


def test_headings_have_word_heading_styles(exported: Path):
    import docx

    document = docx.Document(str(exported))
    headings = [(p.style.name, p.text) for p in document.paragraphs if p.style.name.startswith("Heading")]
    assert ("Heading 1", "Chapter 1, The first chapter") in headings
    assert ("Heading 2", "1.1 What changed") in headings
    assert ("Heading 2", "A.1 Sources") in headings
    assert ("Heading 1", "Appendix B, Places quoted in this report") in headings


def test_footnotes_are_word_footnotes(exported: Path):
    import docx

    document = docx.Document(str(exported))
    parts = {rel.reltype.rsplit("/", 1)[1]: rel.target_part for rel in document.part.rels.values()
             if not rel.is_external}
    assert "The footnote text." in parts["footnotes"].blob.decode("utf-8")
    assert document.element.body.xpath(".//w:footnoteReference")


def test_every_picture_has_alt_text(exported: Path):
    import docx

    document = docx.Document(str(exported))
    pictures = document.element.body.xpath(".//wp:docPr")
    assert pictures
    assert [p.get("descr") for p in pictures] == ["A simple diagram of two boxes"]
    descriptions = {p.get("descr") for p in document.element.body.xpath(".//pic:cNvPr")}
    assert descriptions == {"A simple diagram of two boxes"}  # not the image's path
    tables = document.tables
    assert tables and tables[0].rows[0].cells[0].text == "Place"
    assert tables[0].rows[0]._tr.xpath("./w:trPr/w:tblHeader")  # a header row, repeated on each page


def test_place_quotes_have_their_styles(exported: Path):
    import docx

    styles = {p.text: p.style.name for p in docx.Document(str(exported)).paragraphs}
    assert styles["We stopped arguing about whose budget it was."] == "Place Quote"
    assert styles["— Ashbury, a director of adult social care (North West)"] == "Quote Attribution"
    assert styles["Partnership is a verb."] == "Place Quote"


def test_open_review_marks_are_tracked_changes_and_comments(exported: Path):
    import docx

    document = docx.Document(str(exported))
    comments = [(c.author, c.text) for c in document.comments]
    assert comments == [("Bob Jones", "a note"), ("Unattributed", "lone comment")]
    body = document.element.body
    insertions = [(i.get(f"{{{W}}}author"), i.get(f"{{{W}}}date"),
                   "".join(i.xpath(".//w:t/text()", namespaces={"w": W})))
                  for i in body.iter(f"{{{W}}}ins")]
    assert insertions == [("Ann Smith", "2026-11-20T00:00:00Z", "added"), ("Unattributed", None, "new")]
    deletions = ["".join(d.xpath(".//w:delText/text()", namespaces={"w": W})) for d in body.iter(f"{{{W}}}del")]
    assert deletions == ["gone", "old"]
    paragraph = next(p for p in document.paragraphs if p.text.startswith("Some"))
    assert paragraph._p.xpath(".//w:commentRangeStart")
    ids = [e.get(f"{{{W}}}id") for e in body.iter(f"{{{W}}}ins", f"{{{W}}}del")]
    assert len(ids) == len(set(ids))


def test_draft_header_and_properties(exported: Path):
    import docx

    document = docx.Document(str(exported))
    header = document.sections[0].header.paragraphs[0].text
    assert header.startswith("Draft \u2013 not for publication \u00b7 v0.3")
    assert "made 2026-01-01 00:00 UTC" in header
    with zipfile.ZipFile(exported) as archive:
        custom = archive.read("docProps/custom.xml").decode("utf-8")
        mapping = archive.read("customXml/item1.xml").decode("utf-8")
    assert 'name="build-report-title"><vt:lpwstr>A Small Report<' in custom
    assert 'name="build-report-commit"' in custom
    assert '<block name="br_01_6" path="chapters/01-first.md" line="6">' in mapping
    assert document.core_properties.title == "A Small Report"


def test_every_source_paragraph_has_a_bookmark(exported: Path):
    import docx

    document = docx.Document(str(exported))
    names = {b.get(f"{{{W}}}name") for b in document.element.body.iter(f"{{{W}}}bookmarkStart")}
    for expected in ("br_00_7", "br_01_6", "br_01_8", "br_01_10", "br_01_18", "br_01_22", "br_01_27", "br_01_29",
                     "br_02_3", "br_03_7"):
        assert expected in names


def test_two_builds_are_byte_identical(marked: Path, tmp_path: Path):
    first = build_docx(marked, tmp_path / "one.docx").read_bytes()
    second = build_docx(marked, tmp_path / "two.docx").read_bytes()
    assert first == second
    with zipfile.ZipFile(io.BytesIO(first)) as archive:
        assert {info.date_time for info in archive.infolist()} == {(2026, 1, 1, 0, 0, 0)}


def test_make_docx_target_and_verb():
    makefile = (Path(__file__).parent.parent / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^docx: \$\(OUT\)\.docx$", makefile, re.M)
    from build_report import writers

    assert "docx" in writers.names() and "Word" in writers.get("docx").help


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (libreoffice-writer-nogui) is not installed")
def test_libreoffice_converts_it_to_pdf(exported: Path, tmp_path: Path):
    from pypdf import PdfReader

    result = subprocess.run(["soffice", f"-env:UserInstallation=file://{tmp_path}/profile", "--headless",
                             "--convert-to", "pdf", "--outdir", str(tmp_path / "pdf"), str(exported)],
                            capture_output=True, text=True, timeout=240)
    pdf = tmp_path / "pdf" / "report.pdf"
    assert result.returncode == 0 and pdf.is_file(), result.stderr
    reader = PdfReader(pdf)
    assert len(reader.pages) >= 2
    text = " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)
    for heading in ("Chapter 1, The first chapter", "1.1 What changed", "Appendix A, Method",
                    "Draft \u2013 not for publication"):
        assert heading in text


# -- Import ---------------------------------------------------------------------------------------

def _paragraph(root, name: str):
    found = root.xpath(f".//w:p[w:bookmarkStart[@w:name='{name}']]", namespaces={"w": W})
    assert found, name
    return found[0]


def _split(paragraph, words: str):
    """The runs of `paragraph` split so that `words` is one run of its own; that run."""
    for t in paragraph.iter(f"{{{W}}}t", f"{{{W}}}delText"):
        text = t.text or ""
        if words not in text:
            continue
        run = t.getparent()
        before, after = text.split(words, 1)
        parent = run.getparent()
        index = parent.index(run)
        pieces = []
        for piece in (before, words, after):
            if not piece:
                pieces.append(None)
                continue
            new = etree.fromstring(f'<w:r xmlns:w="{W}"><{t.prefix}:{etree.QName(t).localname} '
                                   'xml:space="preserve"/></w:r>')
            new[0].text = piece
            pieces.append(new)
        parent.remove(run)
        for offset, new in enumerate(p for p in pieces if p is not None):
            parent.insert(index + offset, new)
        return pieces[1]
    raise AssertionError(f"{words!r} not in the paragraph")


def review_in_word(source: Path, target: Path, untracked: bool = False) -> None:
    """What a reviewer does in Word with tracking on: an insertion, a deletion, a comment on a range."""
    with zipfile.ZipFile(source) as archive:
        files = {info.filename: archive.read(info) for info in archive.infolist()}
    document = etree.fromstring(files["word/document.xml"])
    # A deletion: "test " in "... in this test report are illustrative." (chapters/00-summary.md:7)
    run = _split(_paragraph(document, "br_00_7"), "test ")
    deletion = etree.fromstring(f'<w:del xmlns:w="{W}" w:id="901" w:author="Bob Jones" '
                                f'w:date="2026-11-21T09:30:00Z"/>')
    run.addprevious(deletion)
    deletion.append(run)
    run[0].tag = f"{{{W}}}delText"
    # An insertion: "certainly " before "too." (chapters/01-first.md:18)
    before = _split(_paragraph(document, "br_01_18"), "too.")
    insertion = etree.fromstring(f'<w:ins xmlns:w="{W}" w:id="902" w:author="Ann Smith" '
                                 'w:date="2026-11-20T10:00:00Z"><w:r><w:t xml:space="preserve">certainly </w:t>'
                                 '</w:r></w:ins>')
    before.addprevious(insertion)
    # A comment on "things changed" (chapters/02-second.md:3)
    target_run = _split(_paragraph(document, "br_02_3"), "things changed")
    target_run.addprevious(etree.fromstring(f'<w:commentRangeStart xmlns:w="{W}" w:id="7"/>'))
    target_run.addnext(etree.fromstring(f'<w:commentRangeEnd xmlns:w="{W}" w:id="7"/>'))
    target_run.getnext().addnext(etree.fromstring(
        f'<w:r xmlns:w="{W}"><w:rPr><w:rStyle w:val="CommentReference"/></w:rPr><w:commentReference w:id="7"/></w:r>'))
    if untracked:
        t = next(t for t in _paragraph(document, "br_03_7").iter(f"{{{W}}}t") if "first chapter" in (t.text or ""))
        t.text = t.text.replace("first chapter", "opening chapter")
    files["word/document.xml"] = etree.tostring(document, xml_declaration=True, encoding="UTF-8", standalone=True)
    comment = (f'<w:comment xmlns:w="{W}" w:id="7" w:author="Cy Reviewer" w:date="2026-11-22T16:05:00Z" '
               'w:initials="CR">'
               '<w:p><w:pPr><w:pStyle w:val="CommentText"/></w:pPr><w:r><w:annotationRef/></w:r>'
               '<w:r><w:t>Which things?</w:t></w:r></w:p></w:comment>')
    if "word/comments.xml" in files:
        comments = etree.fromstring(files["word/comments.xml"])
    else:
        comments = etree.fromstring(f'<w:comments xmlns:w="{W}"/>')
        rels = files["word/_rels/document.xml.rels"].decode("utf-8")
        files["word/_rels/document.xml.rels"] = rels.replace("</Relationships>", (
            '<Relationship Id="rIdC1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
            'comments" Target="comments.xml"/></Relationships>')).encode("utf-8")
        types = files["[Content_Types].xml"].decode("utf-8")
        files["[Content_Types].xml"] = types.replace("</Types>", (
            '<Override PartName="/word/comments.xml" ContentType="application/vnd.openxmlformats-officedocument.'
            'wordprocessingml.comments+xml"/></Types>')).encode("utf-8")
    comments.append(etree.fromstring(comment))
    files["word/comments.xml"] = etree.tostring(comments, xml_declaration=True, encoding="UTF-8", standalone=True)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)


EXPECTED = {  # (file, line): the line after the import
    ("chapters/00-summary.md", 7):
        "The places and quotes in this {--test --}{>>Bob Jones, 2026-11-21<<}report are illustrative.",
    ("chapters/01-first.md", 18):
        "As [](#fig-boxes) shows, and [below](#tab-counts) {++certainly ++}{>>Ann Smith, 2026-11-20<<}too.",
    ("chapters/02-second.md", 3):
        "As we saw in [](01-first.md#what-changed), {==things changed==}{>>Cy Reviewer, 2026-11-22: Which things?<<}.",
}
NOTES = [
    'chapters/00-summary.md:7: note: deletion by Bob Jones: "test "',
    'chapters/01-first.md:18: note: insertion by Ann Smith: "certainly "',
    'chapters/02-second.md:3: note: comment by Cy Reviewer: "Which things?"',
]
ACCEPTED = {
    ("chapters/00-summary.md", 7): "The places and quotes in this report are illustrative.",
    ("chapters/01-first.md", 18): "As [](#fig-boxes) shows, and [below](#tab-counts) certainly too.",
    ("chapters/02-second.md", 3): "As we saw in [](01-first.md#what-changed), things changed.",
}


@pytest.fixture
def reviewed(manuscript: Path, tmp_path: Path) -> Path:
    exported = build_docx(manuscript, tmp_path / "report.docx")
    review_in_word(exported, tmp_path / "reviewed.docx")
    return tmp_path / "reviewed.docx"


def lines(root: Path) -> dict[tuple[str, int], str]:
    return {(path, line): (root / path).read_text(encoding="utf-8").split("\n")[line - 1] for path, line in EXPECTED}


def test_import_writes_the_exact_marks_at_the_exact_lines(manuscript: Path, reviewed: Path):
    before = {path: (manuscript / path).read_text(encoding="utf-8") for path, _ in EXPECTED}
    code, out, err = run("import-docx", str(reviewed), str(manuscript))
    assert code == 0, out + err
    assert out.splitlines() == NOTES
    assert lines(manuscript) == EXPECTED
    for path, text in before.items():  # everything else as it was, and a backup of the previous text
        assert (manuscript / (path + ".bak")).read_text(encoding="utf-8") == text
        assert len((manuscript / path).read_text(encoding="utf-8").split("\n")) == len(text.split("\n"))
    # the next draft renders the marks; the final PDF is refused until they are resolved
    code, _, err = run("pdf", str(manuscript), "-o", str(manuscript.parent / "final.pdf"))
    assert code == 2 and "unresolved review mark" in err


def test_a_second_import_adds_nothing(manuscript: Path, reviewed: Path):
    assert run("import-docx", str(reviewed), str(manuscript))[0] == 0
    after = {path: (manuscript / path).read_bytes() for path, _ in EXPECTED}
    code, out, err = run("import-docx", str(reviewed), str(manuscript))
    assert code == 0, err
    assert "nothing new to import (3 marks already imported)" in out
    assert {path: (manuscript / path).read_bytes() for path, _ in EXPECTED} == after


def test_accept_after_import_gives_the_reviewers_text(manuscript: Path, reviewed: Path):
    assert run("import-docx", str(reviewed), str(manuscript))[0] == 0
    code, _, err = run("accept", str(manuscript))
    assert code == 0, err
    assert lines(manuscript) == ACCEPTED


def test_untracked_edits_are_a_diff_and_nothing_is_written(manuscript: Path, tmp_path: Path):
    exported = build_docx(manuscript, tmp_path / "report.docx")
    review_in_word(exported, tmp_path / "edited.docx", untracked=True)
    before = {p: p.read_bytes() for p in (manuscript / "chapters").iterdir()}
    code, out, err = run("import-docx", str(tmp_path / "edited.docx"), str(manuscript))
    assert code == 1
    assert "--- chapters/03-appendix.md:7 (as exported)" in out
    assert "-Back to the first chapter.\n+Back to the opening chapter.\n" in out
    assert "nothing was imported" in err
    assert {p: p.read_bytes() for p in (manuscript / "chapters").iterdir()} == before


@pytest.mark.parametrize("content, message", [
    (b"not a zip at all", "not a DOCX (not a zip file"),
    (None, "not a DOCX made by `build-report docx`"),  # a DOCX, but not ours
    ("bomb", "refused (a zip bomb?)"),
    ("dtd", "declares a DTD or entities"),
])
def test_bad_files_are_exit_2(manuscript: Path, tmp_path: Path, content, message):
    bad = tmp_path / "bad.docx"
    if content is None:
        with zipfile.ZipFile(bad, "w") as archive:
            archive.writestr("[Content_Types].xml", "<Types/>")
            archive.writestr("word/document.xml", f'<w:document xmlns:w="{W}"><w:body/></w:document>')
    elif content == "bomb":
        with zipfile.ZipFile(bad, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("word/document.xml", b"<a>" + b" " * (80 * 2 ** 20) + b"</a>")
    elif content == "dtd":
        exported = build_docx(manuscript, tmp_path / "report.docx")
        with zipfile.ZipFile(exported) as source, zipfile.ZipFile(bad, "w") as archive:
            for info in source.infolist():
                data = source.read(info)
                if info.filename == "word/document.xml":
                    data = data.replace(b"?>", b'?><!DOCTYPE x [<!ENTITY a "aaaa">]>', 1)
                archive.writestr(info, data)
    else:
        bad.write_bytes(content)
    code, out, err = run("import-docx", str(bad), str(manuscript))
    assert code == 2, out + err
    assert message in err and "Traceback" not in err


def test_a_docx_of_another_report_is_refused(manuscript: Path, reviewed: Path):
    report = manuscript / "report.yaml"
    report.write_text(report.read_text(encoding="utf-8").replace("A Small Report", "Another Report"), encoding="utf-8")
    code, _, err = run("import-docx", str(reviewed), str(manuscript))
    assert code == 2 and "made from another report ('A Small Report')" in err


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_marks_are_carried_forward_when_the_manuscript_moved_on(manuscript: Path, tmp_path: Path):
    """The DOCX was made at a commit; a paragraph was added above since: the marks follow their text."""
    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(manuscript), "-c", "user.name=T", "-c", "user.email=t@example.org",
                        "-c", "commit.gpgsign=false", *args], check=True, capture_output=True)

    git("init", "-q")
    git("add", "-A")
    git("commit", "-q", "-m", "draft 1")
    exported = build_docx(manuscript, tmp_path / "report.docx")
    with zipfile.ZipFile(exported) as archive:
        assert re.search(r'name="build-report-commit"><vt:lpwstr>[0-9a-f]{7,}<', archive.read("docProps/custom.xml")
                         .decode("utf-8"))
    review_in_word(exported, tmp_path / "reviewed.docx")
    chapter = manuscript / "chapters" / "01-first.md"
    text = chapter.read_text(encoding="utf-8")
    chapter.write_text(text.replace("An opening paragraph", "A paragraph written since.\n\nAn opening paragraph"),
                       encoding="utf-8")
    code, out, err = run("import-docx", str(tmp_path / "reviewed.docx"), str(manuscript))
    assert code == 0, out + err
    assert 'chapters/01-first.md:20: note: insertion by Ann Smith: "certainly "' in out
    assert "chapters/01-first.md: note: changed since commit" in out
    assert chapter.read_text(encoding="utf-8").split("\n")[19] == EXPECTED[("chapters/01-first.md", 18)]


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (libreoffice-writer-nogui) is not installed")
def test_a_file_saved_again_by_libreoffice_still_imports(manuscript: Path, reviewed: Path, tmp_path: Path):
    """LibreOffice keeps the bookmarks, the custom properties, the map, the changes and the comments."""
    result = subprocess.run(["soffice", f"-env:UserInstallation=file://{tmp_path}/profile", "--headless",
                             "--convert-to", "docx:MS Word 2007 XML", "--outdir", str(tmp_path / "lo"), str(reviewed)],
                            capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr
    code, out, err = run("import-docx", str(tmp_path / "lo" / "reviewed.docx"), str(manuscript))
    assert code == 0, out + err
    assert out.splitlines() == NOTES
    assert lines(manuscript) == EXPECTED


# More of what reviewers do, one case each: (what, edits, the lines expected after the import, exit status).
# An edit is (kind, bookmark, words, text): "del" deletes `words`; "ins" inserts `text` before `words`;
# "after" inserts `text` just after `words` (Word puts a replacement's insertion after its deletion);
# "comment" comments `text` on `words`. Every edit is by Ann Smith on 2026-11-20; the story is the body,
# or the footnotes for a bookmark there.
ANN = ' w:author="Ann Smith" w:date="2026-11-20T08:00:00Z"'
CASES = [
    ("a replacement inside emphasis, in a box",
     [("del", "br_01_27", "bold", ""), ("after", "br_01_27", "bold", "strong")],
     {("chapters/01-first.md", 27): "    A box with **{~~bold~>strong~~}{>>Ann Smith, 2026-11-20<<}** text."}, 0),
    ("an insertion in a footnote",
     [("ins", "br_01_34", "footnote text", "short ")],
     {("chapters/01-first.md", 34): "[^one]: The {++short ++}{>>Ann Smith, 2026-11-20<<}footnote text."}, 0),
    ("a replacement in a table cell",
     [("del", "br_01_22_2", "3", ""), ("after", "br_01_22_2", "3", "5")],
     {("chapters/01-first.md", 22): "| Ashbury | {~~3~>5~~}{>>Ann Smith, 2026-11-20<<} |"}, 0),
    ("insertions beside a link and an autolink, outside their syntax",
     [("ins", "br_01_32", "GOV.UK", "the "), ("after", "br_01_32", "team@example.org", " today")],
     {("chapters/01-first.md", 32): "Visit {++the ++}{>>Ann Smith, 2026-11-20<<}[GOV.UK](https://www.gov.uk/) or "
                                    "write to <mailto:team@example.org>{++ today++}{>>Ann Smith, 2026-11-20<<}."}, 0),
    ("a point comment after a cross-reference, and Markdown typed by the reviewer",
     [("comment", "br_01_18", "", "Is *this* right?"), ("ins", "br_01_18", "shows", "[sic] ")],
     {("chapters/01-first.md", 18): "{>>Ann Smith, 2026-11-20: Is *this* right?<<}As [](#fig-boxes) "
                                    "{++\\[sic\\] ++}{>>Ann Smith, 2026-11-20<<}shows, and [below](#tab-counts) too."},
     0),
]


def edit_in_word(source: Path, target: Path, edits: list[tuple[str, str, str, str]]) -> None:
    with zipfile.ZipFile(source) as archive:
        files = {info.filename: archive.read(info) for info in archive.infolist()}
    stories = {name: etree.fromstring(files[name]) for name in ("word/document.xml", "word/footnotes.xml")}
    comments = etree.fromstring(files.get("word/comments.xml", f'<w:comments xmlns:w="{W}"/>'.encode()))
    for number, (kind, block, words, text) in enumerate(edits, 900):
        root = next(r for r in stories.values() if r.xpath(f".//w:bookmarkStart[@w:name='{block}']",
                                                           namespaces={"w": W}))
        paragraph = _paragraph(root, block)
        run = _split(paragraph, words) if words else None
        if kind == "del":
            deletion = etree.fromstring(f'<w:del xmlns:w="{W}" w:id="{number}"{ANN}/>')
            run.addprevious(deletion)
            deletion.append(run)
            run[0].tag = f"{{{W}}}delText"
        elif kind in ("ins", "after"):
            insertion = etree.fromstring(f'<w:ins xmlns:w="{W}" w:id="{number}"{ANN}><w:r><w:t xml:space="preserve">'
                                         f'{text}</w:t></w:r></w:ins>')
            anchor = run.getparent() if kind == "after" and run.getparent().tag == f"{{{W}}}del" else run
            (anchor.addnext if kind == "after" else anchor.addprevious)(insertion)
        else:
            first = run if run is not None else next(iter(paragraph.iter(f"{{{W}}}r")))
            first.addprevious(etree.fromstring(f'<w:commentRangeStart xmlns:w="{W}" w:id="{number}"/>'))
            end = etree.fromstring(f'<w:commentRangeEnd xmlns:w="{W}" w:id="{number}"/>')
            (first.addnext if run is not None else first.addprevious)(end)
            end.addnext(etree.fromstring(f'<w:r xmlns:w="{W}"><w:commentReference w:id="{number}"/></w:r>'))
            comments.append(etree.fromstring(f'<w:comment xmlns:w="{W}" w:id="{number}"{ANN}><w:p><w:r>'
                                             f'<w:t>{text}</w:t></w:r></w:p></w:comment>'))
    for name, root in stories.items():
        files[name] = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
    files["word/comments.xml"] = etree.tostring(comments, xml_declaration=True, encoding="UTF-8", standalone=True)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)


@pytest.mark.parametrize("what, edits, expected, status", CASES, ids=[case[0] for case in CASES])
def test_reviewers_edits(manuscript: Path, tmp_path: Path, what, edits, expected, status):
    (manuscript / "chapters" / "01-first.md").write_text(  # one comment already: the file has comments.xml
        (manuscript / "chapters" / "01-first.md").read_text(encoding="utf-8") + "\nEnd.{>>Editor: check<<}\n",
        encoding="utf-8")
    exported = build_docx(manuscript, tmp_path / "report.docx")
    edit_in_word(exported, tmp_path / "reviewed.docx", edits)
    code, out, err = run("import-docx", str(tmp_path / "reviewed.docx"), str(manuscript))
    assert code == status, out + err
    for (path, line), text in expected.items():
        assert (manuscript / path).read_text(encoding="utf-8").split("\n")[line - 1] == text
    assert run("import-docx", str(tmp_path / "reviewed.docx"), str(manuscript))[:2] == (
        0, "reviewed.docx: nothing new to import " f"({len(out.splitlines())} marks already imported)\n")


def test_the_manuscripts_own_marks_are_not_imported_back(marked: Path, exported: Path):
    before = (marked / "chapters" / "01-first.md").read_bytes()
    code, out, err = run("import-docx", str(exported), str(marked))
    assert (code, out) == (0, "report.docx: nothing new to import\n"), err
    assert (marked / "chapters" / "01-first.md").read_bytes() == before


def test_task_list_items_stay_list_items_with_their_marks(manuscript: Path, tmp_path: Path):
    """A task list's checkboxes become the characters a reader sees: pandoc's HTML reader split an item
    at its <input>, out of its list and away from its bookmark, so the item's own marks came back as
    changes that could not be placed (found on the real-world corpus, tests/realworld)."""
    import docx

    chapter = manuscript / "chapters" / "01-first.md"
    chapter.write_text(chapter.read_text(encoding="utf-8") + "\n- [x] Done\n- [ ] ~~Build our {==own==}"
                       "{>>Priya Shah, 2026-11-30: still?<<} widget~~ (dropped){>>Tom Reed: why?<<}\n",
                       encoding="utf-8")
    before = chapter.read_bytes()
    exported = build_docx(manuscript, tmp_path / "tasks.docx")
    items = {p.text: p._p.pPr is not None and p._p.pPr.numPr is not None  # numbered: a list item
             for p in docx.Document(str(exported)).paragraphs if p.text and p.text[0] in "\u2610\u2611"}
    assert items == {"\u2611 Done": True, "\u2610 Build our own widget (dropped)": True}, items
    code, out, err = run("import-docx", str(exported), str(manuscript))
    assert (code, out) == (0, "tasks.docx: nothing new to import\n"), err
    assert chapter.read_bytes() == before


def test_what_cannot_be_placed_is_a_warning_and_exit_1(manuscript: Path, tmp_path: Path):
    """An insertion in a quote's attribution (made from places.yaml, not written as such in a chapter) is
    reported; the insertion beside it in a chapter paragraph is still imported."""
    exported = build_docx(manuscript, tmp_path / "report.docx")
    edit_in_word(exported, tmp_path / "step.docx", [("ins", "br_01_6", "footnote", "long ")])
    with zipfile.ZipFile(tmp_path / "step.docx") as archive:
        files = {info.filename: archive.read(info) for info in archive.infolist()}
    files["word/document.xml"] = files["word/document.xml"].replace(
        "— Ashbury".encode(), f'</w:t></w:r><w:ins w:id="990"{ANN}><w:r><w:t>Mrs </w:t></w:r></w:ins><w:r><w:t>'
                              "— Ashbury".encode(), 1)
    with zipfile.ZipFile(tmp_path / "reviewed.docx", "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    code, out, err = run("import-docx", str(tmp_path / "reviewed.docx"), str(manuscript))
    assert code == 1
    assert out == 'chapters/01-first.md:6: note: insertion by Ann Smith: "long "\n'
    assert ("reviewed.docx: warning: a change or comment in a paragraph that is not written as such in a chapter "
            'file: "Mrs — Ashbury, a director of adult social care (North West)"') in err
