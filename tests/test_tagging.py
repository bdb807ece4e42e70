"""The structure tree after `tagging.correct`, read back with pikepdf (issue 10)."""

from __future__ import annotations

import pikepdf
import pytest

from build_report.tagging import elements, reachable
from conftest import MINI


def marked_content(pdf: pikepdf.Pdf, page: pikepdf.Page) -> list[tuple[str, pikepdf.Object]]:
    """(tag, properties) of each BDC on the page, in order."""
    return [(str(operands[0]), operands[1]) for operands, operator in pikepdf.parse_content_stream(page)
            if str(operator) == "BDC"]


@pytest.fixture(scope="module", params=["sample", "mini"])
def tagged(request) -> pikepdf.Pdf:
    built = request.getfixturevalue(request.param)
    with pikepdf.open(built.path) as pdf:
        yield pdf


def test_every_mcid_belongs_to_an_element_in_the_tree(tagged: pikepdf.Pdf) -> None:
    """Matterhorn 01-005: tagged content is owned by a structure element reachable from the root."""
    root = tagged.Root.StructTreeRoot
    owned = reachable(root)
    nums = root.ParentTree.Nums
    parents = {int(nums[i]): nums[i + 1] for i in range(0, len(nums), 2)}
    for number, page in enumerate(tagged.pages, 1):
        mapping = parents[int(page.obj.StructParents)]
        for tag, properties in marked_content(tagged, page):
            if tag == "/Artifact":
                continue
            mcid = int(properties.MCID)
            element = mapping[mcid]
            assert isinstance(element, pikepdf.Dictionary), f"page {number}: MCID {mcid} is owned by nothing"
            assert element.objgen in owned, f"page {number}: MCID {mcid} is owned by an element outside the tree"


def test_running_heads_and_folios_are_pagination_artifacts(tagged: pikepdf.Pdf) -> None:
    """Every page with content after the cover carries a folio (most a running head too) as an
    Artifact /Pagination; blank pages before a chapter opening carry nothing."""
    for number, page in enumerate(tagged.pages[1:], 2):
        marks = marked_content(tagged, page)
        if not marks:
            continue
        kinds = [properties.get("/Type") for tag, properties in marks if tag == "/Artifact"]
        assert "/Pagination" in kinds, f"page {number} has no pagination artifact"


def test_every_header_cell_has_a_scope(tagged: pikepdf.Pdf) -> None:
    """Matterhorn 15-003: column headers in header rows, row headers beside their data."""
    cells = [e for e in elements(tagged.Root.StructTreeRoot) if e.get("/S") == "/TH"]
    assert cells
    for cell in cells:
        scope = cell.A.get("/Scope")
        assert scope in ("/Row", "/Column")
        in_header_row = cell.P.get("/S") == "/TR" and cell.P.P.get("/S") == "/THead"
        assert scope == "/Column" or not in_header_row


def test_row_headers_are_marked_as_rows(sample) -> None:
    with pikepdf.open(sample.path) as pdf:
        scopes = {str(e.A.Scope) for e in elements(pdf.Root.StructTreeRoot) if e.get("/S") == "/TH"}
    assert scopes == {"/Row", "/Column"}  # the sample has both kinds of table


def test_id_tree_names_every_element_with_an_id(tagged: pikepdf.Pdf) -> None:
    root = tagged.Root.StructTreeRoot
    with_ids = {bytes(e.ID): e.objgen for e in elements(root) if "/ID" in e}
    assert with_ids, "header cells carry IDs"
    names = root.IDTree.Names
    tree = {bytes(names[i]): names[i + 1].objgen for i in range(0, len(names), 2)}
    assert tree == with_ids
    assert list(tree) == sorted(tree)  # a name tree's keys are in order


@pytest.mark.parametrize("tag, role", [("p", "/P"), ("section", "/Sect"), ("h1", "/H1"), ("h2", "/H2"),
                                       ("table", "/Table"), ("li", "/LI")])
def test_one_structure_element_per_html_element(tag: str, role: str, sample, tmp_path) -> None:
    """A paragraph, list item, table or chapter that crosses a page break is one element, not one per
    page, and a heading holds no copy of itself (WeasyPrint tags page by page, and anonymous boxes
    repeat their element)."""
    import re

    from build_report.assemble import Options, print_html

    html = print_html(sample.manuscript, Options())
    body = html[html.index("<body"):]
    roles = {role, "/TOCI"} if role == "/LI" else {role}  # a contents entry is a TOCI
    with pikepdf.open(sample.path) as pdf:
        found = [e for e in elements(pdf.Root.StructTreeRoot) if e.get("/S") in roles]
        assert not [e for e in found if e.P.get("/S") == role], f"{role} nested in {role}"
    assert len(found) == len(re.findall(rf"<{tag}[\s>]", body))


def test_a_paragraph_across_a_page_break_is_one_element(sample) -> None:
    """Its text runs (Span elements, each on its page) hang under one P."""
    with pikepdf.open(sample.path) as pdf:
        spanning = [e for e in elements(pdf.Root.StructTreeRoot) if e.get("/S") == "/P"
                    and len({kid.Pg.objgen for kid in e.K if isinstance(kid, pikepdf.Dictionary) and "/Pg" in kid}) > 1]
    assert spanning


def test_every_link_annotation_belongs_to_a_link_with_readable_contents(tagged: pikepdf.Pdf) -> None:
    """Matterhorn 28-011 and 28-002: each link annotation's OBJR is a kid of a Link element, and
    its /Contents is the link's text, not a bare id or URL alone."""
    owners = {}
    for element in elements(tagged.Root.StructTreeRoot):
        for kid in element.K if isinstance(element.get("/K"), pikepdf.Array) else []:
            if isinstance(kid, pikepdf.Dictionary) and kid.get("/Type") == "/OBJR":
                owners[kid.Obj.objgen] = element
    annotations = [a for page in tagged.pages for a in page.get("/Annots", []) if a.get("/Subtype") == "/Link"]
    assert annotations
    for annotation in annotations:
        assert owners[annotation.objgen].get("/S") == "/Link"
        contents = str(annotation.get("/Contents", ""))
        uri = str(annotation.A.get("/URI", "")) if "/A" in annotation else ""
        assert contents.strip() and not contents.startswith("#"), contents
        if uri:
            assert contents == uri or contents.endswith(f"({uri})")
        else:  # an internal link reads as its text, never as a print id such as 'boundaries--communities'
            assert "--" not in contents, contents


def test_footnotes_are_notes_after_their_references(sample) -> None:
    """Matterhorn 19-001/19-003: each footnote is a Note with a unique /ID, in the reading order
    right after the Reference that calls it (not in a group at the foot of the page)."""
    from build_report.assemble import Options, print_html

    html = print_html(sample.manuscript, Options())
    with pikepdf.open(sample.path) as pdf:
        notes = [e for e in elements(pdf.Root.StructTreeRoot) if e.get("/S") == "/Note"]
        assert len(notes) == html.count('<span class="footnote">') > 0
        assert len({bytes(note.ID) for note in notes}) == len(notes)
        for note in notes:
            siblings = [k for k in note.P.K if isinstance(k, pikepdf.Dictionary) and "/S" in k]
            before = siblings[[k.objgen for k in siblings].index(note.objgen) - 1]
            assert before.get("/S") == "/Reference"
            assert note.P.get("/S") != "/Document"


def test_contents_page_is_a_toc_of_items_with_one_link_each(tagged: pikepdf.Pdf, request) -> None:
    """Defect 1 of issue 10: TOC > TOCI > Reference > one Link per entry, a chapter's sections as a
    TOC inside its TOCI, and the leader dots as Layout artifacts, not link text."""
    everything = elements(tagged.Root.StructTreeRoot)
    toc = next(e for e in everything if e.get("/S") == "/TOC")
    items = [e for e in elements(toc) if e.get("/S") == "/TOCI"]
    from build_report.assemble import Options, print_html

    built = request.getfixturevalue(request.node.callspec.params["tagged"])
    assert len(items) == print_html(built.manuscript, Options()).count('<li class="toc-entry')
    for item in items:
        kids = [k for k in item.K if isinstance(k, pikepdf.Dictionary) and "/S" in k]
        assert [str(k.S) for k in kids][:1] == ["/Reference"] and {str(k.S) for k in kids[1:]} <= {"/TOC"}
        links = [e for e in elements(kids[0]) if e.get("/S") == "/Link"]
        assert len(links) == 1
    layout = [properties for page in tagged.pages[:6] for tag, properties in marked_content(tagged, page)
              if tag == "/Artifact" and properties.get("/Type") == "/Layout"]
    assert layout, "the leader dots of the contents page are not artifacts"


def test_the_pdf_claims_pdfua_only_when_the_checker_passes(sample, tmp_path, monkeypatch) -> None:
    """With the corrections, the sample passes and says pdfuaid:part 1. Without them (WeasyPrint's
    own tagging), it fails, so the claim is removed and the build warns; --strict would fail it."""
    from build_report import tagging
    from test_errors import run

    with pikepdf.open(sample.path) as pdf, pdf.open_metadata() as metadata:
        assert str(metadata.get("pdfuaid:part")) == "1"
    monkeypatch.setattr(tagging, "correct", lambda data, written=None: data)
    out = tmp_path / "raw.pdf"
    code, _, err = run(["pdf", str(MINI), "-o", str(out), "--no-cache"])  # no part from an earlier build
    assert code == 0
    assert "build-report: warning: the PDF fails PDF/UA-1 checkpoints 01-005, " in err
    with pikepdf.open(out) as pdf, pdf.open_metadata() as metadata:
        assert "pdfuaid:part" not in metadata
    code, _, err = run(["pdf", str(MINI), "-o", str(tmp_path / "strict.pdf"), "--strict", "--no-cache"])
    assert code == 2 and not (tmp_path / "strict.pdf").exists()


def tag_order_text(path) -> str:
    """The document's text read through the structure tree, in tag order, as assistive technology
    reads it: each marked-content sequence's text (its /ActualText when it has one)."""
    from pypdf import PdfReader

    reader = PdfReader(path)
    runs: dict[tuple[int, int], str] = {}  # (page index, MCID) -> text
    for index, page in enumerate(reader.pages):
        stack: list[tuple[int, str | None]] = []

        def before(operator, operands, cm, tm, stack=stack, index=index):
            if operator == b"BDC":
                properties = operands[1] if isinstance(operands[1], dict) else {}
                mcid = int(properties.get("/MCID", -1))
                actual = properties.get("/ActualText")
                stack.append((mcid, None if actual is None else str(actual)))
                if mcid >= 0 and actual is not None:
                    runs[(index, mcid)] = str(actual)
            elif operator == b"BMC":
                stack.append((-1, None))
            elif operator == b"EMC" and stack:
                stack.pop()

        def text(value, cm, tm, font, size, stack=stack, index=index):
            mcid, actual = next(((m, a) for m, a in reversed(stack) if m >= 0), (-1, None))
            if mcid >= 0 and actual is None:  # pypdf adds a newline where the text moves down a line
                runs[(index, mcid)] = runs.get((index, mcid), "") + value.replace("\n", "")

        page.extract_text(visitor_operand_before=before, visitor_text=text)
    pages = {page.indirect_reference.idnum: index for index, page in enumerate(reader.pages)}
    out: list[str] = []
    with pikepdf.open(path) as pdf:

        def visit(element, page) -> None:
            page = element.get("/Pg", page)
            if element.get("/S") == "/Figure":  # read as its alternative text, not the drawing's letters
                out.append(f" {element.get('/Alt', '')} ")
                return
            kids = element.get("/K")
            for kid in list(kids) if isinstance(kids, pikepdf.Array) else [kids] if kids is not None else []:
                if isinstance(kid, int):
                    out.append(runs.get((pages[page.objgen[0]], kid), ""))
                elif isinstance(kid, pikepdf.Dictionary) and kid.get("/Type") == "/MCR":
                    out.append(runs.get((pages[kid.get("/Pg", page).objgen[0]], int(kid.MCID)), ""))
                elif isinstance(kid, pikepdf.Dictionary) and "/S" in kid:
                    visit(kid, page)
                    if kid.S in ("/P", "/H1", "/H2", "/H3", "/LI", "/TD", "/TH", "/Caption", "/Note", "/TOCI"):
                        out.append("\n")

        visit(pdf.Root.StructTreeRoot, None)
    return "".join(out)


@pytest.mark.parametrize("theme", ["govuk", "book"])
def test_text_in_tag_order_reads_like_the_source(theme: str, tmp_path) -> None:
    """No word run together at a line end, none split by a hyphenation hyphen: every word read from
    the tags is a word of the print HTML (which has the text without line breaks or hyphenation)."""
    import re
    import shutil
    from html import unescape

    from build_report.assemble import Options, print_html
    from conftest import SAMPLE, Built

    root = tmp_path / "m"
    shutil.copytree(SAMPLE, root)
    report = root / "report.yaml"
    report.write_text(report.read_text(encoding="utf-8") + f"theme: {theme}\n", encoding="utf-8")
    built = Built(root, tmp_path / "out.pdf")
    html = print_html(built.manuscript, Options())
    body = html[html.index("<body"):]
    said = " ".join(re.findall(r'(?:alt|aria-label)="([^"]*)"', body))  # figures read as their alt text
    text = unescape(re.sub(r"<[^>]+>", " ", body) + " " + said)
    vocabulary = {w.lower() for w in re.findall(r"[^\W\d_]+(?:['’][^\W\d_]+)*", text)}
    read = tag_order_text(built.path)
    words = re.findall(r"[^\W\d_]+(?:['’][^\W\d_]+)*", read)
    assert len(words) > 15000
    # Capitals set by CSS read as written: "Chapter 1", "Fenbridge," (not "CHAPTER 1", "FENBRIDGE ,").
    assert "CHAPTER" not in read and not re.search(r"\b[A-Z]{4,} ,", read)
    folios = re.compile(r"[ivxlc]+")  # front-matter page numbers in the contents
    strangers = sorted({w for w in words if w.lower() not in vocabulary and not folios.fullmatch(w)})
    assert strangers == [], f"{len(strangers)} words not in the source: {strangers[:30]}"


def test_captions_belong_to_their_figure_table_or_quotation(sample) -> None:
    """A figure is one Figure (alt text, image, Caption); a place quote one BlockQuote (its words
    and the Caption crediting the place), not a NonStruct group with a Figure inside."""
    from build_report.assemble import Options, print_html

    html = print_html(sample.manuscript, Options())
    with pikepdf.open(sample.path) as pdf:
        found = elements(pdf.Root.StructTreeRoot)
        captions = [e for e in found if e.get("/S") == "/Caption"]
        assert captions and {str(c.P.S) for c in captions} <= {"/Figure", "/Table", "/BlockQuote"}
        figures = [e for e in found if e.get("/S") == "/Figure" and e.P.get("/S") != "/Figure"]
        assert all("/Alt" in f and not any(isinstance(k, pikepdf.Dictionary) and k.get("/S") == "/Figure"
                                           for k in f.K) for f in figures)
        quotes = [e for e in found if e.get("/S") == "/BlockQuote"]
    assert len(quotes) == html.count('<figure class="place-quote"') + html.count('<figure class="quote"')
    assert len([f for f in figures if any(isinstance(k, pikepdf.Dictionary) and k.get("/S") == "/Caption"
                                          for k in f.K)]) == html.count('<figure class="figure"')


def test_a_drafts_watermark_and_stamp_are_artifacts(tmp_path) -> None:
    """Drawn on every page, they are Pagination artifacts (the watermark of subtype Watermark), so
    a screen reader meets them once, in the draft box, not on every page."""
    from build_report.model import Options
    from conftest import Built

    built = Built(MINI, tmp_path / "draft.pdf", Options(draft=True, stamp="Draft v0.3 · built 2026-01-15"))
    with pikepdf.open(built.path) as pdf:
        for number, page in enumerate(pdf.pages, 1):
            kinds = [(str(p.get("/Type")), str(p.get("/Subtype"))) for tag, p in marked_content(pdf, page)
                     if tag == "/Artifact"]
            assert ("/Pagination", "/Watermark") in kinds, f"page {number}"
    text = tag_order_text(built.path)
    assert text.count("DRAFT") <= 1 and text.count("built 2026-01-15") <= 1  # the draft box says it once


ITEMS_WITH_BLOCKS = """# Steps

1. Check out the code:

    ```bash
    git clone https://example.org/repo.git
    ```

2. Compare the options:

    | Option | Meaning |
    |---|---|
    | `--fast` | skip the checks |

3. A plain step.
"""


def test_blocks_inside_list_items_are_in_the_item_body(tmp_path) -> None:
    """Code or a table inside a list item (common in READMEs) is part of the item's LBody, never a
    kid of the LI beside it (PDF/UA-1 checkpoint 09-005)."""
    import shutil

    from build_report import pdfua
    from conftest import Built

    root = tmp_path / "m"
    shutil.copytree(MINI, root)
    (root / "chapters" / "02-second.md").write_text(ITEMS_WITH_BLOCKS, encoding="utf-8")
    built = Built(root, tmp_path / "out.pdf")
    with pikepdf.open(built.path) as pdf:
        items = [e for e in elements(pdf.Root.StructTreeRoot) if e.get("/S") == "/LI"]
        roles = {str(kid.S) for item in items for kid in item.K if isinstance(kid, pikepdf.Dictionary)}
        assert roles <= {"/Lbl", "/LBody"}
        bodies = [kid for item in items for kid in item.K if kid.get("/S") == "/LBody"]
        inside = {str(k.S) for body in bodies for k in (body.K if isinstance(body.K, pikepdf.Array) else [body.K])
                  if isinstance(k, pikepdf.Dictionary) and "/S" in k}
        assert {"/Table"} <= inside
    assert "09-005" not in pdfua.check(built.path).failed
