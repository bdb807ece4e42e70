"""The produced PDF, read back with pypdf: structure, numbering, links, fonts, text."""

from __future__ import annotations

import re

import pytest

from conftest import pdffonts


def outline(reader, items=None, depth=0):
    """[(depth, title, page index)] from the PDF bookmarks."""
    rows = []
    for item in reader.outline if items is None else items:
        if isinstance(item, list):
            rows += outline(reader, item, depth + 1)
        else:
            rows.append((depth, item.title, reader.get_destination_page_number(item)))
    return rows


def test_mini_bookmarks_nest_chapters_and_sections(mini):
    assert [(d, t) for d, t, _ in outline(mini.reader)] == [
        (0, "Contents"),
        (0, "Summary"),
        (0, "Chapter 1 The first chapter"),
        (1, "1.1 What changed"),
        (0, "Chapter 2 The second chapter"),
        (0, "Appendix A Method"),
        (1, "A.1 Sources"),
        (0, "Appendix B Places quoted in this report"),
    ]


def test_mini_page_labels_roman_then_arabic(mini):
    labels = mini.labels
    first_body = mini.dest_page("first")
    assert labels[:first_body] == ["i", "ii", "iii", "iv", "v"][:first_body]
    assert labels[first_body:] == [str(n) for n in range(1, len(labels) - first_body + 1)]
    assert first_body % 2 == 0, "page 1 must be a right-hand page"


def test_mini_metadata(mini):
    info = mini.reader.metadata
    assert info.title == "A Small Report: For tests"
    assert info.author == "Test Author"
    assert info.subject == "For tests"
    assert info["/Keywords"] == "testing, reports"
    root = mini.reader.trailer["/Root"]
    assert root["/Lang"] == "en-GB"
    assert bool(root["/MarkInfo"]["/Marked"])  # tagged
    assert "/StructTreeRoot" in root
    assert bool(root["/ViewerPreferences"]["/DisplayDocTitle"])
    xmp = mini.reader.xmp_metadata
    assert xmp.dc_title["x-default"] == "A Small Report: For tests"
    assert xmp.dc_creator == ["Test Author"] and xmp.pdf_keywords == "testing, reports"
    assert info["/CreationDate"] == "D:20260115000000Z"  # the report's date, never the build time


@pytest.fixture(params=["mini", "sample"])
def built(request):
    return request.getfixturevalue(request.param)


def test_contents_numbers_are_the_chapter_start_pages(built):
    contents = built.dest_page("contents")
    first = built.dest_page(built.manuscript.chapters[0].id)
    text = "\n".join(built.text(i) for i in range(contents, first))
    printed = dict(re.findall(r"^(?:[0-9A-Z]{1,2}(?:\.\d+)?\s+)?(\S.*?)[ .]*\.\s*([0-9ivxlc]+)\s*$", text, re.M))
    chapters = [c for c in built.manuscript.chapters]
    assert chapters
    for chapter in chapters:
        title = " ".join(chapter.title.split())
        assert title in printed, f"{title!r} not in contents: {printed}"
        assert printed[title] == built.labels[built.dest_page(chapter.id)], title
        for section in (h for h in chapter.headings if h.level == 2 and chapter.kind != "front"):
            assert printed[section.title] == built.labels[built.dest_page(f"{chapter.id}--{section.id}")], section


def test_every_internal_link_lands_on_its_target(built):
    reader = built.reader
    dests = reader.named_destinations
    count = 0
    for index, page in enumerate(reader.pages):
        for annot in page.get("/Annots") or []:
            annot = annot.get_object()
            dest = annot.get("/Dest")
            if dest is None:
                continue
            assert str(dest) in dests, f"link to missing destination {dest} on page {index}"
            count += 1
        # A printed "(page N)" must be the label of a page that a link on this page points to.
        targets = {built.labels[built.dest_page(str(a.get_object()["/Dest"]))]
                   for a in page.get("/Annots") or [] if a.get_object().get("/Dest") is not None}
        for number in re.findall(r"\(page\s+([0-9ivxlc]+)\)", built.text(index)):
            assert number in targets, f"page {built.labels[index]}: '(page {number})' has no link there"
    assert count > 10


def test_cross_reference_targets_are_on_the_linked_page(mini):
    target = mini.dest_page("first--what-changed")
    assert "What changed" in mini.text(target)
    # the space after "page" is a no-break space (print.css), extracted as one with Source Sans Pro
    assert "Section 1.1, What changed (page 1)" in mini.text(mini.dest_page("second")).replace("\xa0", " ")


def test_quotes_and_attributions_present(built):
    text = " ".join(built.text(i) for i in range(len(built.reader.pages)))
    text = " ".join(text.split())
    quotes = [q for c in built.manuscript.chapters for q in c.quotes]
    assert quotes
    for quote in quotes:
        assert quote.place.name.upper() in text
        assert quote.role.split()[-1] in text


def test_places_appendix_lists_every_quoted_place(built):
    start = built.dest_page("places-quoted")
    text = " ".join(" ".join(built.text(i) for i in range(start, len(built.reader.pages))).split())  # cells wrap
    quoted = {q.place for c in built.manuscript.chapters for q in c.quotes}
    for place in quoted:
        assert place.name in text and place.region in text and place.programme in text
    # each page reference is a link to the quote's page
    links = {str(a.get_object().get("/Dest")) for i in range(start, len(built.reader.pages))
             for a in built.reader.pages[i].get("/Annots") or []}
    assert all(f"{c.id}--{q.id}" in links for c in built.manuscript.chapters for q in c.quotes)


def test_fonts_are_embedded_subset_and_only_ours(built):
    rows = pdffonts(built.path)
    assert rows
    for row in rows:
        assert row["emb"] == "yes" and row["sub"] == "yes", row
        assert re.match(r"[A-Z]{6}\+(Source-(Serif|Sans|Code)-Pro|Noto-|Inter)", row["name"]), \
            f"fallback font {row['name']}"


def test_sample_is_a_long_report(sample):
    assert len(sample.reader.pages) >= 50
    assert len([q for c in sample.manuscript.chapters for q in c.quotes]) >= 50
    assert len(sample.manuscript.places) >= 24
    assert not [d for d in sample.diagnostics.items], sample.diagnostics.items
    external = {link.url for link in sample.manuscript.links() if link.kind == "external"}
    assert len(external) >= 30
    kinds = [c.kind for c in sample.manuscript.chapters]
    assert kinds.count("chapter") >= 8 and "appendix" in kinds and kinds[0] == "front"


def test_sample_figures_are_vector(sample):
    """SVG figures stay vector: no image XObjects on the figure pages."""
    for chapter in sample.manuscript.chapters:
        for caption in (c for c in chapter.captions if c.kind == "figure"):
            page = sample.reader.pages[sample.dest_page(f"{chapter.id}--{caption.id}")]
            xobjects = page["/Resources"].get("/XObject") or {}
            images = [x for x in xobjects.values() if x.get_object().get("/Subtype") == "/Image"]
            assert not images, f"{caption.id} was rasterised"


def test_nothing_overflows_the_page(built, tmp_path):
    """Every word lies inside the page, clear of the paper's edge (pdftotext -bbox)."""
    import shutil
    import subprocess

    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext (poppler-utils) is not installed")
    out = tmp_path / "bbox.html"
    subprocess.run(["pdftotext", "-bbox", str(built.path), str(out)], check=True)
    pages = out.read_text(encoding="utf-8").split("<page ")[1:]
    words = 0
    for number, page in enumerate(pages[1:], 2):  # the cover is full-bleed by design
        width, height = map(float, re.search(r'width="([\d.]+)" height="([\d.]+)"', page).groups())
        for match in re.finditer(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">', page):
            x0, y0, x1, y1 = map(float, match.groups())
            words += 1
            assert 40 < x0 and x1 < width - 40 and 20 < y0 and y1 < height - 20, \
                f"page {number}: word at {match.groups()}"
    assert words > 100
