"""Golden tests for the Markdown extensions: each tests/cases/markdown/NAME.md
is converted and compared with NAME.html beside it.

Regenerate an expected file after a deliberate change with
`REGENERATE=1 .venv/bin/python -m pytest tests/test_markdown.py` and review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from xml.etree import ElementTree as etree

from build_report.markdown import make_markdown, parse
from build_report.model import Place

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
    ("<div>\n\nText <script>x()</script> here.\n\n</div>\n", 3, "<script> is not allowed in a report and was removed, with its content"),
    ("Intro.\n\n<p>A <a href=\"jAvAsCrIpT:x()\">link</a></p>\n", 3, "href='jAvAsCrIpT:x()' on <a> was removed: 'javascript:' URLs are not allowed"),
    ("Intro.\n\nSee <img src=\"a.png\" alt=\"A\" onerror=\"x()\"> here.\n", 3, "event handler 'onerror' on <img> was removed: a report runs no scripts"),
    ("Intro.\n\n<iframe src=\"https://example.org\"></iframe>\n", 3, "<iframe> is not allowed in a report and was removed, with its content"),
    ("One.\n\n<div class=\"note\">\nnever closed\n", 3, "HTML <div> is never closed; it was closed at the end of the chapter"),
    ("One.\n\nStray </span> tag.\n", 3, "HTML closing tag </span> has no opening tag; it was ignored"),
    ("One.\n\n<center>Old</center>\n", 3, "<center> is not supported and was removed (its text is kept)"),
])
def test_raw_html_problems_are_warnings_at_their_line(source: str, line: int, message: str) -> None:
    html, errors = convert(source)
    assert errors == [(line, message)]
    assert "script" not in html and "iframe" not in html and "onerror" not in html and "javascript" not in html.lower()
