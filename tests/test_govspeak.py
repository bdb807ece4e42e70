"""The GOV.UK export (build-report govspeak): golden files, and checks of structure that hold for any
manuscript: headings from ##, footnotes defined, figures in the upload list, no HTML, callouts that
govspeak can read. No test lays out the PDF.

To accept a change in the output, regenerate the golden files and read the diff before committing:

    UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_govspeak.py
"""

from __future__ import annotations

import io
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from build_report import build
from build_report.cli import main
from build_report.diagnostics import Diagnostics, ManuscriptError
from build_report.model import Options
from build_report.output import TREE_MARKER
from build_report.writers import govspeak
from conftest import MINI, ROOT, SAMPLE

DATA = ROOT / "tests" / "data" / "govspeak"
FEATURES = DATA / "manuscript"
EXPECTED = DATA / "expected"
UPDATE = bool(os.environ.get("UPDATE_GOLDEN") or os.environ.get("REGENERATE"))


@dataclass
class Export:
    """A manuscript exported to govspeak, with what the build said."""

    root: Path
    out: Path
    diagnostics: Diagnostics
    laid_out: bool

    def files(self) -> dict[str, bytes]:
        return {path.relative_to(self.out).as_posix(): path.read_bytes()
                for path in sorted(self.out.rglob("*")) if path.is_file() and path.name != TREE_MARKER}

    def pages(self) -> dict[str, str]:
        return {name: data.decode("utf-8") for name, data in self.files().items()
                if name.endswith(".md") and name != "README.md"}

    @property
    def readme(self) -> str:
        return (self.out / "README.md").read_text(encoding="utf-8")

    def warnings(self) -> list[str]:
        return [str(item) for item in self.diagnostics.items]


def export(root: Path, out: Path, strict: bool = False) -> Export:
    diagnostics = Diagnostics(strict=strict)
    timer = build.Timer()
    manuscript = build.load(root, diagnostics, timer)
    run = build.Build(manuscript, Options(), diagnostics, timer)
    run.write(govspeak.WRITER, out)
    return Export(root, out, diagnostics, run._layout is not None)


@pytest.fixture(scope="module")
def features(tmp_path_factory) -> Export:
    return export(FEATURES, tmp_path_factory.mktemp("features") / "out")


@pytest.fixture(scope="module")
def mini(tmp_path_factory) -> Export:
    return export(MINI, tmp_path_factory.mktemp("mini") / "out")


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Export:
    return export(SAMPLE, tmp_path_factory.mktemp("sample") / "out")


@pytest.fixture(scope="module")
def realworld(tmp_path_factory) -> Export:
    return export(ROOT / "tests" / "realworld", tmp_path_factory.mktemp("realworld") / "out")


@pytest.fixture(params=["features", "mini", "sample", "realworld"])
def any_export(request) -> Export:
    return request.getfixturevalue(request.param)


# -- Golden files -----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["features", "mini"])
def test_every_file_matches_its_golden_file(name, request):
    """Every output file, text and images, is exactly the one in tests/data/govspeak/expected/<name>/."""
    made = request.getfixturevalue(name).files()
    expected_dir = EXPECTED / name
    if UPDATE:
        shutil.rmtree(expected_dir, ignore_errors=True)
        for relative, data in made.items():
            (expected_dir / relative).parent.mkdir(parents=True, exist_ok=True)
            (expected_dir / relative).write_bytes(data)
    expected = {path.relative_to(expected_dir).as_posix(): path.read_bytes()
                for path in sorted(expected_dir.rglob("*")) if path.is_file()}
    assert sorted(made) == sorted(expected), "files made differ from the golden files (UPDATE_GOLDEN=1 to accept)"
    for relative, data in made.items():
        if relative.endswith(".md"):
            assert data.decode("utf-8") == expected[relative].decode("utf-8"), relative
        else:
            assert data == expected[relative], relative


def test_the_export_is_deterministic(features, tmp_path):
    again = export(FEATURES, tmp_path / "again")
    assert again.files() == features.files()


def test_no_pdf_layout_is_made(any_export):
    assert not any_export.laid_out


# -- Structure, for any manuscript ------------------------------------------------------------------

def prose(text: str) -> str:
    """A page without its code blocks and code spans, where anything may be written."""
    text = re.sub(r"^( *)(~{3,})[^\n]*\n.*?^\1\2~*$", "", text, flags=re.S | re.M)
    return re.sub(r"(`+)(?!`).*?(?<!`)\1(?!`)", "", text)


def test_pages_are_listed_in_reading_order(any_export):
    pages = any_export.pages()
    names = list(pages)
    assert names == sorted(names)
    assert [int(name.split("-")[0]) for name in names] == list(range(1, len(names) + 1))
    rows = re.findall(r"^\| (\d+) \| (.+?) \| (\S+\.md) \|$", any_export.readme, re.M)
    assert [file for _, _, file in rows] == names
    assert all(title.strip() for _, title, _ in rows)


def test_headings_start_at_level_two(any_export):
    for name, text in any_export.pages().items():
        levels = [len(hashes) for hashes in re.findall(r"^(#+) ", prose(text), re.M)]
        assert all(level >= 2 for level in levels), name


def test_every_footnote_call_has_a_definition(any_export):
    for name, text in any_export.pages().items():
        body = prose(text)
        calls = set(re.findall(r"\[\^(\d+)\](?!:)", body))
        definitions = re.findall(r"^\[\^(\d+)\]: \S", body, re.M)
        assert sorted(calls, key=int) == definitions, name
        assert definitions == [str(n) for n in range(1, len(definitions) + 1)], f"{name}: numbered from 1"


def test_every_figure_is_in_the_upload_list_with_its_alt_text(any_export):
    placeholders = [int(n) for text in any_export.pages().values() for n in re.findall(r"^!!(\d+)$", text, re.M)]
    assert placeholders == list(range(1, len(placeholders) + 1)), "numbered across the report, in reading order"
    entries = re.findall(r"^### !!(\d+): images/(\S+)\n\n- In: .+\n- Caption: (.+)\n- Alt text: (.+)$",
                         any_export.readme, re.M)
    assert [int(number) for number, *_ in entries] == placeholders
    files = any_export.files()
    for number, file_name, caption, alt in entries:
        assert file_name.startswith(f"{int(number):02}-")
        assert f"images/{file_name}" in files
        assert caption.strip() and alt.strip()
    assert sorted(name for name in files if name.startswith("images/")) == sorted(
        f"images/{name}" for _, name, _, _ in entries)


def test_no_html_is_left(any_export):
    for name, text in any_export.pages().items():
        assert not re.search(r"</?[A-Za-z][^>]*>|<!--", prose(text)), name


def test_govspeak_markers_are_only_where_they_are_meant(any_export):
    """A line that starts with a govspeak marker is a whole callout or a box's delimiter, and delimiters pair up."""
    for name, text in any_export.pages().items():
        lines = prose(text).split("\n")
        for line in lines:
            if line[:1] in ("^", "%", "@"):
                assert len(line) > 2 and line.endswith(line[0]), f"{name}: {line!r}"
            if line.startswith("$"):
                assert line in ("$CTA", "$E", "$C", "$A"), f"{name}: {line!r}"
            assert not re.match(r"!!(?!\d+$)|s\d+\. ", line), f"{name}: {line!r}"
        for mark in ("$CTA", "$E", "$C", "$A"):
            assert lines.count(mark) % 2 == 0, f"{name}: {mark} unpaired"


def test_the_readme_says_what_cannot_be_carried_over(any_export):
    readme = any_export.readme
    assert "## 4. What cannot be carried over" in readme
    for subject in ("cover", "contents page", "Page numbers and running heads", "Page numbers in cross-references",
                    "Draft marks", "Use manually numbered headings"):
        assert subject in readme, subject


# -- What the features manuscript shows ------------------------------------------------------------

def page(export_: Export, stem: str) -> str:
    return next(text for name, text in export_.pages().items() if name.endswith(f"-{stem}.md"))


def test_boxes_become_callouts_by_kind(features):
    text = page(features, "features")
    assert "$CTA\n**Key facts**\n\nA box with **bold** text.\n\n- one\n- two\n$CTA" in text
    assert "^**Before you start:** Check the NHS number first.^" in text  # a note: an information callout
    assert "\n%Do not share passwords.%\n" in text  # the default title "Warning" is the callout's own
    assert "$CTA\n**Three tips**\n\n- first\n- second\n$CTA" in text  # a callout is one line: a list is a $CTA
    assert "$E\n**Worked example**\n\nOpen the pod bay doors.\n\nThen close them.\n$E" in text
    assert "\n@Register by 31 March.@\n" in text
    assert ("$C\n**Contact the team**\n\nPolicy Team  \nEmail: [policy@example.org](mailto:policy@example.org)\n"
            "$C") in text
    assert "**Write to us**\n\n$A\nTest Department\n1 Example Street\nLondon SW1A 1AA\n$A" in text
    assert "$CTA\n**A note with a footnote**\n\nSee the footnote.[^3]\n$CTA" in text  # govspeak's callouts lose notes


def test_quotes_carry_their_credit_after_them(features):
    text = page(features, "features")
    assert ("> We stopped arguing about whose budget it was.\n\n"
            "— Ashbury, a director of adult social care (North West)") in text
    assert "> Partnership is a verb.\n>\n> And a noun.\n\n— Brackenfold (Yorkshire and the Humber)" in text
    assert "> All the world’s a stage.\n\n— William Shakespeare, As You Like It" in text


def test_abbreviations_are_defined_at_the_end_longest_first(features):
    text = page(features, "features")
    assert text.endswith("*[NHSE]: NHS England\n*[DWP]: Department for Work and Pensions\n"
                         "*[NHS]: National Health Service\n")
    assert "The NHS, NHSE and the DWP work together.[^1]" in text


def test_footnotes_are_numbered_per_page_on_one_line(features):
    text = page(features, "features")
    assert ("[^1]: The first note, with a [link](https://www.gov.uk/).\n"
            "[^2]: A second note. Its second paragraph.") in text


def test_cross_references_name_the_page_or_link_within_it(features):
    elsewhere = page(features, "elsewhere")
    assert "As we saw in Section 1.1, What changed (in Chapter 1, Every feature), things changed." in elsewhere
    assert "the diagram (Figure 1.1, in Chapter 1, Every feature)" in elsewhere
    assert "the first chapter (Chapter 1, Every feature)" in elsewhere
    assert "[Section 2.1, Later](#later) has none" in elsewhere  # GOV.UK's anchor for "## 2.1 Later"
    assert "Section 2.2, Children’s health has an apostrophe" in elsewhere  # anchor uncertain: words
    summary = page(features, "summary")
    assert "[How to read this report](#how-to-read-this-report)" in summary
    assert "the method (Section A.1, Sources, in Appendix A, Method)" in summary


def test_headings_keep_the_section_numbers(features):
    text = page(features, "features")
    assert re.findall(r"^#+ .*$", text, re.M) == [
        "## 1.1 What changed", "### Boxes of every kind", "#### A fourth-level heading", "## 1.2 Code and lists",
        "## 1.3 Raw HTML"]


def test_tables_keep_their_caption_and_alignment(features):
    text = page(features, "features")
    assert ("Table 1.1: Counts by place\n\n| Place | Count | Note |\n|---|---:|:---:|\n"
            "| Ashbury | 3 | a \\| b |\n| Brackenfold | 4 | **bold** |") in text


def test_text_cannot_turn_into_markup(features):
    text = page(features, "features")
    assert r"It costs £5 \* 2 and uses snake_case_names, \[square brackets\] and a pipe \| in the text." in text
    assert "\n&#37; of people, at the start of a line.\n" in text
    assert "\n\\$CTA at the start of a line.\n" in text
    assert "\nPriced in dollars: 5&#36;\n" in text  # "$" at the end of a line would close a $E box
    assert "\n| \\- | a dash |\n" in text  # not a rule line


def test_quotation_marks_at_the_ends_of_a_quote_are_kept(features):
    """GOV.UK removes them there (its styles add their own): a quoted word stays quoted."""
    assert "> &#8220;Later” is how it felt. It took time." in page(features, "elsewhere")


def test_code_is_fenced_with_tildes(features):
    text = page(features, "features")
    assert "~~~ python\ndef total(values):\n    return sum(values)  # ~~~ not a fence\n~~~" in text
    assert "~~~\nindented code\nkeeps its spaces\n~~~" in text


def test_the_places_appendix_names_chapters_not_pages(features):
    text = page(features, "places-quoted")
    assert "| Brackenfold | Yorkshire and the Humber | Shared Futures | Chapter 1, Every feature; " \
           "Chapter 2, Elsewhere |" in text
    assert "page" not in text.lower()


def test_a_figure_in_a_list_follows_the_list(features):
    text = page(features, "elsewhere")
    assert "- A list item with a figure in it:\n\n- Another item.\n\n!!3" in text


def test_what_cannot_be_shown_is_a_warning_at_its_line(features):
    assert features.warnings() == [
        "chapters/01-features.md:110: warning: a line of this code starts with a govspeak marker ($, %, ^, @, !! or "
        "s1.), which GOV.UK reads even inside code: check the code block after pasting",
        "chapters/01-features.md:135: warning: struck-through text cannot be shown on GOV.UK; its words are kept as "
        "plain text",
        "chapters/01-features.md:147: warning: a table cell holding paragraphs, a list or a table: GOV.UK's cells hold "
        "one line, so its text is run together",
        "chapters/01-features.md:147: warning: a table without a header row; GOV.UK's tables should have one",
        "chapters/01-features.md:149: warning: an image inside a line of text cannot be shown on GOV.UK; its alt text "
        "'a tick' is written instead",
        "chapters/02-elsewhere.md:3: warning: the text mentions 'page 12': a GOV.UK page has no page numbers; name "
        "the chapter or section instead",
        "chapters/02-elsewhere.md:18: warning: a figure inside a list or a quotation cannot be placed there on "
        "GOV.UK; !!3 follows the list or quotation",
    ]
    assert "## 5. Check before publishing" in features.readme
    assert "- chapters/02-elsewhere.md:18: a figure inside a list" in features.readme


def test_images_are_copied_from_the_manuscript(features):
    files = features.files()
    assert files["images/01-boxes.svg"] == (FEATURES / "images" / "boxes.svg").read_bytes()
    assert files["images/02-bar-chart.png"] == (FEATURES / "images" / "bar chart.png").read_bytes()


def test_an_icon_before_its_words_is_left_out(realworld):
    text = page(realworld, "icons")
    assert "| Done | Finished and checked by someone else | 12 |" in text  # ![Done](icon-done.png) Done
    assert "| Harrowby | Done | Done | In progress |" in text  # icons alone: their alt text


def test_the_sample_exports_without_warnings(sample):
    assert sample.warnings() == []
    assert len(sample.pages()) == 14  # 13 chapters and the places appendix


# -- The command line and failures ------------------------------------------------------------------

def test_the_verb_writes_the_folder(tmp_path):
    out = tmp_path / "gs"
    stdout, stderr = io.StringIO(), io.StringIO()
    assert main(["govspeak", str(MINI), "-o", str(out)], stdout=stdout, stderr=stderr) == 0, stderr.getvalue()
    assert (out / "README.md").is_file() and (out / "02-first.md").is_file() and (out / TREE_MARKER).is_file()


def test_strict_warnings_write_nothing(tmp_path):
    out = tmp_path / "out"
    with pytest.raises(ManuscriptError):
        export(FEATURES, out, strict=True)
    assert not out.exists()


def test_review_marks_stop_the_export(tmp_path):
    root = tmp_path / "mini"
    shutil.copytree(MINI, root)
    chapter = root / "chapters" / "02-second.md"
    chapter.write_text(chapter.read_text(encoding="utf-8").replace("things changed", "things {++really ++}changed"),
                       encoding="utf-8")
    out = tmp_path / "out"
    stderr = io.StringIO()
    assert main(["govspeak", str(root), "-o", str(out)], stdout=io.StringIO(), stderr=stderr) == 2
    assert "unresolved review mark" in stderr.getvalue()
    assert not out.exists()


# -- Escaping and anchors ---------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("a*b_c [x] {y} <z> | $5", r"a\*b_c \[x\] \{y\} \<z> \| \$5"),
    ("a >> b", r"a \>\> b"),
    ("_lead and trail_", r"\_lead and trail\_"),
    ("&amp; & more", "&amp;amp; & more"),
    ("go :wales:here:wales:", r"go \:wales:here\:wales:"),
])
def test_escape(text, expected):
    assert govspeak.escape(text) == expected


@pytest.mark.parametrize(("line", "expected"), [
    ("# not a heading", r"\# not a heading"),
    ("> not a quote", r"\> not a quote"),
    ("- not a list", r"\- not a list"),
    ("1. not a list", r"1\. not a list"),
    ("s1. not a step", r"s1\. not a step"),
    ("%not a warning%", "&#37;not a warning%"),
    ("^not information^", "&#94;not information^"),
    ("@not advisory@", "&#64;not advisory@"),
    ("!!1", r"\!!1"),
    ("~~~", "&#126;~~"),
    ("---", r"\---"),
    (": not a definition", r"\: not a definition"),
    ("plain text", "plain text"),
])
def test_escape_lines(line, expected):
    assert govspeak.escape_lines(line) == expected


@pytest.mark.parametrize(("markdown", "level", "anchor"), [
    ("1.1 What changed", 2, "what-changed"),  # Whitehall's slug and kramdown's id agree
    ("How to read this report", 2, "how-to-read-this-report"),  # not numbered: kramdown's id
    ("A.1 Sources", 2, "a1-sources"),  # "A.1" is not a number to Whitehall
    ("3.2 Children’s health", 2, None),  # "children-s-health" or "childrens-health": uncertain
    ("Children’s health", 4, "childrens-health"),
])
def test_heading_anchors(markdown, level, anchor):
    assert govspeak.whitehall_anchor(markdown, level) == anchor


def test_labels_follow_the_language():
    assert govspeak.labels_for("en-GB") is govspeak.LABELS["en"]
    assert govspeak.labels_for("cy") is govspeak.LABELS["en"]  # until a Welsh table is added
