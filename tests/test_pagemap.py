"""Where print pages begin: folios, and the rules that place a page marker in a chapter body.

The layout side (reading WeasyPrint's boxes) is tested end to end in
test_epub.py, against the text of each page of the PDF."""

from __future__ import annotations

from xml.etree import ElementTree as etree

import pytest

from build_report import pagemap, render
from build_report.assemble import is_noteref
from build_report.pagemap import PageStart


def test_roman():
    assert [render.roman(n) for n in (1, 4, 9, 14, 40, 90, 400, 1987)] == [
        "i", "iv", "ix", "xiv", "xl", "xc", "cd", "mcmlxxxvii"]


def test_page_labels_are_roman_before_the_body():
    assert render.page_labels(6, 3) == ["i", "ii", "iii", "1", "2", "3"]
    assert render.page_labels(2, 0) == ["1", "2"]


def test_letters_ignore_case_space_and_punctuation():
    assert pagemap.letters("Infor-\nmation, 2!") == pagemap.letters("INFORMATION2") == 12
    assert pagemap.letters("Straße") == pagemap.letters("STRASSE")


def marked(html: str, path: tuple[int, ...] | None, offset: int = 0) -> str:
    body = etree.fromstring(f"<div>{html}</div>")
    pagemap.mark(body, [PageStart(0, "7", "c", path, offset)], lambda start: etree.Element("PB"), is_noteref)
    return etree.tostring(body, encoding="unicode")[5:-6]


@pytest.mark.parametrize("html, path, offset, expected", [
    # a block that starts the page: the marker goes before it
    ("<p>one two</p><p>three</p>", (1,), 0, "<p>one two</p><PB /><p>three</p>"),
    # a heading, even one the count would put inside
    ("<h2>A title</h2>", (0,), 3, "<PB /><h2>A title</h2>"),
    # a caption opens its table: before the table
    ("<table><caption>Cap</caption><tbody><tr><td>x</td></tr></tbody></table>", (0, 0), 0,
     "<PB /><table><caption>Cap</caption><tbody><tr><td>x</td></tr></tbody></table>"),
    # a list item in the middle of its list: at the start of the item
    ("<ul><li>a</li><li>b</li></ul>", (0, 1), 0, "<ul><li>a</li><li><PB />b</li></ul>"),
    # a quote: before its figure
    ("<figure><blockquote><p>Q</p></blockquote></figure>", (0, 0, 0), 0,
     "<PB /><figure><blockquote><p>Q</p></blockquote></figure>"),
    # a paragraph continued at a word boundary
    ("<p>alpha information beta</p>", (0,), 5, "<p>alpha <PB />information beta</p>"),
    # a hyphenated word split by the page: the next whole word
    ("<p>alpha information beta</p>", (0,), 10, "<p>alpha information <PB />beta</p>"),
    # in emphasis: inside it
    ("<p>one <em>two three</em></p>", (0,), 6, "<p>one <em>two <PB />three</em></p>"),
    # never inside a link: after it
    ('<p>see <a href="#x">the long title</a> now</p>', (0,), 6,
     '<p>see <a href="#x">the long title</a><PB /> now</p>'),
    # footnote references are not counted
    ('<p>one<sup><a class="footnote-ref">1</a></sup> two</p>', (0,), 3,
     '<p>one<sup><a class="footnote-ref">1</a></sup> <PB />two</p>'),
    # the chapter title is the caller's to place
    ("<p>x</p>", None, 0, "<p>x</p>"),
])
def test_marker_position(html, path, offset, expected):
    assert marked(html, path, offset) == expected


def test_paths_are_followed_before_markers_shift_them():
    body = etree.fromstring("<div><p>a</p><p>b</p><p>c</p></div>")
    starts = [PageStart(0, "1", "c", (1,)), PageStart(1, "2", "c", (2,))]
    pagemap.mark(body, starts, lambda start: etree.Element("PB", {"n": start.label}))
    assert etree.tostring(body, encoding="unicode") == \
        '<div><p>a</p><PB n="1" /><p>b</p><PB n="2" /><p>c</p></div>'


def test_two_pages_in_one_paragraph():
    body = etree.fromstring("<div><p>aa bb cc dd</p></div>")
    starts = [PageStart(0, "1", "c", (0,), 2), PageStart(1, "2", "c", (0,), 6)]
    pagemap.mark(body, starts, lambda start: etree.Element("PB", {"n": start.label}))
    assert etree.tostring(body, encoding="unicode") == '<div><p>aa <PB n="1" />bb cc <PB n="2" />dd</p></div>'
