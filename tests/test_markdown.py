"""Golden tests for the Markdown extensions: each tests/cases/markdown/NAME.md
is converted and compared with NAME.html beside it.

Regenerate an expected file after a deliberate change with
`REGENERATE=1 .venv/bin/python -m pytest tests/test_markdown.py` and review the diff.
"""

from __future__ import annotations

import copy
import os
import re
import shutil
import subprocess
from pathlib import Path
from xml.etree import ElementTree as etree

import pytest

from build_report.markdown import make_markdown, parse
from build_report.model import Place
from conftest import MINI, Built, words_off_page

CASES = Path(__file__).parent / "cases" / "markdown"
PLACES = {
    "ashbury": Place("ashbury", "Ashbury", "North West", "Local Vision"),
    "brackenfold": Place("brackenfold", "Brackenfold", "Yorkshire and the Humber", "Shared Futures"),
}


def convert(source: str) -> tuple[str, list[tuple[int, str]]]:
    errors: list[tuple[int, str]] = []
    md = make_markdown(PLACES, lambda line, message: errors.append((line, message)))
    tree = parse(md, source)
    return "".join(etree.tostring(child, encoding="unicode") for child in tree).strip(), errors


@pytest.mark.parametrize("case", sorted(p.stem for p in CASES.glob("*.md")))
def test_markdown_case(case: str) -> None:
    html, errors = convert((CASES / f"{case}.md").read_text(encoding="utf-8"))
    expected = CASES / f"{case}.html"
    if os.environ.get("REGENERATE"):
        expected.write_text(html + "\n", encoding="utf-8")
    assert errors == []
    assert html == expected.read_text(encoding="utf-8").rstrip("\n")


@pytest.mark.parametrize("source, line, message", [
    ("> Text.\n>\n> — Ashbry, a nurse\n", 3, "unknown place 'Ashbry' (did you mean 'Ashbury'?)"),
    ("Intro.\n\n> Text.\n>\n> -- Brakenfold, a nurse\n", 5, "unknown place 'Brakenfold' (did you mean 'Brackenfold'?)"),
])
def test_unknown_place_reported_at_its_line(source: str, line: int, message: str) -> None:
    html, errors = convert(source)
    assert [(at, text[: len(message)]) for at, text in errors] == [(line, message)]
    assert "place-quote" not in html  # left as an ordinary blockquote
    assert "— *Name*" in errors[0][1]  # and says how to credit a person of that name


@pytest.mark.parametrize("source, line, message", [
    ("<div>\n\nText <script>x()</script> here.\n\n</div>\n", 3,
     "<script> is not allowed in a report and was removed, with its content"),
    ("Intro.\n\n<p>A <a href=\"jAvAsCrIpT:x()\">link</a></p>\n", 3,
     "href='jAvAsCrIpT:x()' on <a> was removed: 'javascript:' URLs are not allowed"),
    ("Intro.\n\nSee <img src=\"a.png\" alt=\"A\" onerror=\"x()\"> here.\n", 3,
     "event handler 'onerror' on <img> was removed: a report runs no scripts"),
    ("Intro.\n\n<iframe src=\"https://example.org\"></iframe>\n", 3,
     "<iframe> is not allowed in a report and was removed, with its content"),
    ("One.\n\n<div class=\"note\">\nnever closed\n", 3,
     "HTML <div> is never closed; it was closed at the end of the chapter"),
    ("One.\n\nStray </span> tag.\n", 3, "HTML closing tag </span> has no opening tag; it was ignored"),
    ("One.\n\n<center>Old</center>\n", 3, "<center> is not supported and was removed (its text is kept)"),
])
def test_raw_html_problems_are_warnings_at_their_line(source: str, line: int, message: str) -> None:
    html, errors = convert(source)
    assert errors == [(line, message)]
    assert "script" not in html and "iframe" not in html and "onerror" not in html and "javascript" not in html.lower()


def convert_with_warnings(source: str) -> tuple[etree.Element, list[tuple[int, str]], list[tuple[int, str]]]:
    """(the tree, errors, warnings) for one chapter's Markdown."""
    errors: list[tuple[int, str]] = []
    warnings: list[tuple[int, str]] = []
    md = make_markdown(PLACES, lambda line, message: errors.append((line, message)),
                       warn=lambda line, message: warnings.append((line, message)))
    return parse(md, source), errors, warnings


def test_footnotes_are_numbered_in_call_order_and_unused_ones_left_out_of_both_editions() -> None:
    from build_report.assemble import inline_footnotes
    from build_report.writers.epub import footnotes

    source = "First.[^b] Second.[^a]\n\n[^a]: Note a.\n\n[^unused]: Never called.\n\n[^b]: Note b.\n"
    tree, errors, warnings = convert_with_warnings(source)
    assert errors == []
    assert warnings == [(5, "footnote '[^unused]' is defined but never used; it is left out")]
    calls = [(a.get("href"), a.text) for a in tree.iter("a") if a.get("class") == "footnote-ref"]
    assert calls == [("#fn:b", "1"), ("#fn:a", "2")]  # as the print edition's CSS counter numbers them

    epub_body = copy.deepcopy(tree)
    notes = footnotes(epub_body)
    assert [(note.get("id"), note.find(".//span[@class='footnote-number']").text) for note in notes] == \
           [("fn:b", "1."), ("fn:a", "2.")]
    print_body = copy.deepcopy(tree)
    inline_footnotes(print_body)
    assert ["".join(span.itertext()).strip() for span in print_body.iter("span") if span.get("class") == "footnote"] \
        == ["Note b.", "Note a."]
    assert "Never called" not in "".join(epub_body.itertext()) + "".join(print_body.itertext())


def test_a_chapter_whose_only_footnote_is_unused_has_no_footnote_list() -> None:
    tree, errors, warnings = convert_with_warnings("Text.\n\n[^x]: Never called.\n")
    assert (errors, warnings) == ([], [(3, "footnote '[^x]' is defined but never used; it is left out")])
    assert not [div for div in tree.iter("div") if div.get("class") == "footnote"]


LONG = "0123456789" * 300  # 3,000 characters without a break opportunity
MEDIUM = "0123456789" * 19  # 190: too long for a line, short enough to get no <wbr> (markdown/longwords.py)


def test_long_words_wrap_instead_of_running_off_the_page(tmp_path: Path) -> None:
    """A word or URL wider than the line (body text, a heading, a quote, a list, a table cell, a link,
    a footnote) is broken where it must be: every character is on the page, inside the margins."""
    words = {tag: f"{tag}{LONG if tag in 'PHQITUL' else MEDIUM}{tag.lower()}" for tag in "PHQITULABCDEGJ"}
    note = f"F{MEDIUM}f"  # a footnote is never split: WeasyPrint lost a 1,000-character one called at a page's foot
    root = tmp_path / "mini"
    shutil.copytree(MINI, root)
    (root / "chapters" / "02-second.md").write_text(
        f"# The second chapter\n\nAs we saw in [](01-first.md#what-changed), things changed.\n\n"
        f"Text {words['P']} end {words['A']} end.\n\n## Heading {words['H']}\n\n### Heading {words['B']}\n\n"
        f"> {words['Q']} {words['C']}\n\n- Item {words['I']} {words['D']}\n\n"
        f"| Place | Note |\n|---|---|\n| {words['T']} | Short. |\n| A. | {words['U']} |\n\n"
        f"| Place | Note |\n|---|---|\n| {words['E']} | Short. |\n| A. | {words['G']} |\n\n"
        f"See [{words['L']}](https://example.org/{LONG}) and [{words['J']}](https://example.org/) and a note.[^long]"
        f"\n\n[^long]: {note}\n",
        encoding="utf-8")
    built = Built(root, tmp_path / "long.pdf")
    assert built.diagnostics.items == []
    problems, _ = words_off_page(built.path)
    assert problems == []
    # pdftotext splits each long word into its lines: put the pieces together again, leaving out what a
    # page break puts between them (running heads, folios, a table's repeated header, footnotes). No row
    # has two long words, which pdftotext would interleave.
    text = subprocess.run(["pdftotext", str(built.path), "-"], capture_output=True, text=True, check=True).stdout
    pieces = "".join(word for word in text.replace("\u200b", "").split()
                     if re.fullmatch(r"[A-Z]?\d{10,}[a-z]?|\d*[a-z]", word))
    for word in [*words.values(), note]:
        assert word in pieces, f"{word[:12]}... is not all on the page"
