"""The PDF/UA-1 checker (build_report/pdfua.py, issue 10): each check on a small PDF built here,
the built sample and mini PDFs against their known failures, and `build-report check-pdf`."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pikepdf
import pytest
from pikepdf import Array, Dictionary, Name, String

from build_report import cli, pdfua

# Defects of issue 10 still open; remove an entry when it is fixed (the test asserts equality, so a
# new failure fails it, and so does a fixed one still listed here).
KNOWN_FAILURES: set[str] = set()

XMP = """<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
 xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:pdfuaid="http://www.aiim.org/pdfua/ns/id/">
<rdf:Description rdf:about="" pdfuaid:part="1"/>
<rdf:Description rdf:about=""><dc:title><rdf:Alt><rdf:li xml:lang="en">A test</rdf:li></rdf:Alt></dc:title>
</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="r"?>"""

CONTENT = b"""/Artifact BMC 0 0 10 10 re f EMC
/H1 <</MCID 0>> BDC BT /F1 12 Tf 72 720 Td (Title) Tj ET EMC
/P <</MCID 1>> BDC BT /F1 12 Tf 72 700 Td (Text) Tj ET EMC
/Figure <</MCID 2>> BDC 72 600 50 50 re f EMC
/TH <</MCID 3>> BDC BT /F1 12 Tf 72 500 Td (Head) Tj ET EMC
/TD <</MCID 4>> BDC BT /F1 12 Tf 72 480 Td (Cell) Tj ET EMC
/Link <</MCID 5>> BDC BT /F1 12 Tf 72 400 Td (Link) Tj ET EMC
"""


def clean_pdf() -> pikepdf.Pdf:
    """A one-page tagged PDF that passes every implemented checkpoint."""
    pdf = pikepdf.new()
    font_file = pdf.make_stream(b"not a real font program")
    font = pdf.make_indirect(Dictionary(
        Type=Name.Font, Subtype=Name.TrueType, BaseFont=Name("/Test"), Encoding=Name.WinAnsiEncoding,
        FontDescriptor=Dictionary(Type=Name.FontDescriptor, FontName=Name("/Test"), Flags=32, FontFile2=font_file)))
    page = pdf.add_blank_page(page_size=(612, 792))
    page.obj.Resources = Dictionary(Font=Dictionary(F1=font))
    page.obj.Contents = pdf.make_stream(CONTENT)
    page.obj.StructParents = 0
    page.obj.Tabs = Name.S
    annot = pdf.make_indirect(Dictionary(Type=Name.Annot, Subtype=Name.Link, Rect=[72, 400, 120, 412],
                                         Contents=String("Go to the title"), StructParent=1, Border=[0, 0, 0]))
    page.obj.Annots = Array([annot])

    def element(kind: str, parent, kids, **extra) -> Dictionary:
        elem = pdf.make_indirect(Dictionary(Type=Name.StructElem, S=Name("/" + kind), P=parent, Pg=page.obj,
                                            K=Array(kids), **extra))
        if isinstance(parent, Dictionary) and parent.get("/Type") == "/StructElem":
            parent.K.append(elem)
        return elem

    root = pdf.make_indirect(Dictionary(Type=Name.StructTreeRoot))
    document = element("Document", root, [])
    root.K = Array([document])
    h1 = element("H1", document, [0])
    p = element("P", document, [1])
    figure = element("Figure", document, [2], Alt=String("A black square"))
    table = element("Table", document, [])
    tr = element("TR", table, [])
    th = element("TH", tr, [3], A=Dictionary(O=Name.Table, Scope=Name.Column))
    td = element("TD", tr, [4])
    link = element("Link", document, [5, Dictionary(Type=Name.OBJR, Obj=annot, Pg=page.obj)])
    root.ParentTree = Dictionary(Nums=Array([0, Array([h1, p, figure, th, td, link]), 1, link]))
    root.ParentTreeNextKey = 2
    pdf.Root.StructTreeRoot = root
    pdf.Root.MarkInfo = Dictionary(Marked=True)
    pdf.Root.Lang = String("en-GB")
    pdf.Root.ViewerPreferences = Dictionary(DisplayDocTitle=True)
    pdf.Root.Metadata = pdf.make_stream(XMP.encode(), Type=Name.Metadata, Subtype=Name.XML)
    return pdf


def elements(pdf: pikepdf.Pdf) -> dict[str, Dictionary]:
    """The clean PDF's structure elements by type (each type occurs once)."""
    out = {}
    todo = list(pdf.Root.StructTreeRoot.K)
    while todo:
        elem = todo.pop()
        if isinstance(elem, Dictionary) and "/S" in elem:
            out[str(elem.S)[1:]] = elem
            todo.extend(elem.K)
    return out


def _content(pdf: pikepdf.Pdf, data: bytes) -> None:
    pdf.pages[0].obj.Contents = pdf.make_stream(data)


def _set(path: str, value) -> Callable[[pikepdf.Pdf], None]:
    """A mutation setting `path` (e.g. 'P./S', 'Root./MarkInfo') to `value` (None deletes it)."""
    def mutate(pdf: pikepdf.Pdf) -> None:
        where, key = path.split(".")
        obj = pdf.Root if where == "Root" else pdf.pages[0].obj if where == "Page" else elements(pdf)[where]
        if value is None:
            del obj[key]
        else:
            obj[key] = value(pdf) if callable(value) else value
    return mutate


def _break_parent_tree(pdf: pikepdf.Pdf) -> None:
    nums = pdf.Root.StructTreeRoot.ParentTree.Nums
    nums[1][1] = elements(pdf)["H1"]  # MCID 1 belongs to the P, not the H1


def _own_twice(pdf: pikepdf.Pdf) -> None:
    elements(pdf)["H1"].K.append(1)


def _square(pdf: pikepdf.Pdf) -> None:
    pdf.pages[0].obj.Annots.append(pdf.make_indirect(Dictionary(
        Type=Name.Annot, Subtype=Name.Square, Rect=[0, 0, 10, 10], Contents=String("a square"))))


def _without_pdfuaid(pdf: pikepdf.Pdf) -> None:
    pdf.Root.Metadata = pdf.make_stream(XMP.replace(' pdfuaid:part="1"', "").encode())


# (mutation, the checkpoints it must make fail)
MUTATIONS: dict[str, tuple[Callable[[pikepdf.Pdf], None], set[str]]] = {
    "no MarkInfo": (_set("Root./MarkInfo", None), {"ST-001"}),
    "Suspects true": (_set("Root./MarkInfo", Dictionary(Marked=True, Suspects=True)), {"01-007"}),
    # One catalog /Lang serves page content, Alt text and annotation Contents alike.
    "no catalog Lang": (_set("Root./Lang", None), {"11-001", "11-002", "11-004"}),
    "bad catalog Lang": (_set("Root./Lang", String("english!")), {"11-001", "11-002", "11-004"}),
    "no Metadata": (_set("Root./Metadata", None), {"06-001"}),
    "no pdfuaid": (_without_pdfuaid, {"06-002"}),
    "no ViewerPreferences": (_set("Root./ViewerPreferences", None), {"07-001"}),
    "DisplayDocTitle false": (_set("Root./ViewerPreferences", Dictionary(DisplayDocTitle=False)), {"07-002"}),
    "Figure without Alt": (_set("Figure./Alt", None), {"13-004"}),
    "TH without Scope": (_set("TH./A", Dictionary(O=Name.Table)), {"15-003"}),
    "untagged text": (lambda pdf: _content(pdf, CONTENT + b"BT /F1 12 Tf (loose) Tj ET\n"), {"01-005"}),
    "artifact in tagged": (lambda pdf: _content(pdf, CONTENT.replace(b"(Text) Tj ET", b"(Text) Tj ET "
                                                                     b"/Artifact BMC EMC")), {"01-003"}),
    "tagged in artifact": (lambda pdf: _content(pdf, CONTENT.replace(b"re f EMC\n/H1", b"re f\n/H1", 1)
                                                .replace(b"(Title) Tj ET EMC", b"(Title) Tj ET EMC EMC", 1)),
                           {"01-004"}),
    "broken ParentTree": (_break_parent_tree, {"ST-002"}),
    "MCID owned twice": (_own_twice, {"ST-004"}),
    "ID without IDTree": (_set("TH./ID", String("th-1")), {"ST-005"}),
    "H3 after H1": (_set("P./S", Name("/H3")), {"14-003"}),
    "first heading H2": (_set("H1./S", Name("/H2")), {"14-002"}),
    "LI outside L": (_set("P./S", Name("/LI")), {"09-005"}),
    "TOCI outside TOC": (_set("P./S", Name("/TOCI")), {"09-006"}),
    "cells outside TR": (_set("TR./S", Name("/Div")), {"09-004"}),
    "non-standard type": (_set("P./S", Name("/Para")), {"02-001"}),
    "standard type remapped": (lambda pdf: pdf.Root.StructTreeRoot.__setitem__("/RoleMap", Dictionary(P=Name.Span)),
                               {"02-004"}),
    "Note without ID": (_set("P./S", Name("/Note")), {"19-003"}),
    "Link annotation outside Link": (_set("Link./S", Name("/Span")), {"28-011"}),
    "Link without Contents": (lambda pdf: pdf.pages[0].obj.Annots[0].__delitem__("/Contents"), {"28-012"}),
    "no Tabs": (_set("Page./Tabs", None), {"28-008"}),
    "Tabs R": (_set("Page./Tabs", Name.R), {"28-009"}),
    "untagged Square annotation": (_square, {"28-002"}),
    "font not embedded": (lambda pdf: pdf.pages[0].Resources.Font.F1.FontDescriptor.__delitem__("/FontFile2"),
                          {"31-009"}),
    "TrueType without Encoding": (lambda pdf: pdf.pages[0].Resources.Font.F1.__delitem__("/Encoding"),
                                  {"31-019"}),
}


def failing(pdf: pikepdf.Pdf) -> set[str]:
    buffer = io.BytesIO()
    pdf.save(buffer)
    with pikepdf.open(io.BytesIO(buffer.getvalue())) as reopened:
        return set(pdfua.check_pdf(reopened).failed)


def test_the_clean_pdf_passes():
    report = pdfua.check_pdf(clean_pdf())
    assert report.failed == [], report.text()
    assert report.summary == f"{len(pdfua.CHECKS)} checks passed, 0 failed"
    assert report.exit_status == 0


@pytest.mark.parametrize("case", sorted(MUTATIONS))
def test_a_mutation_fails_exactly_its_checkpoint(case):
    mutate, expected = MUTATIONS[case]
    pdf = clean_pdf()
    mutate(pdf)
    assert failing(pdf) == expected


def test_every_checkpoint_has_an_id_a_description_and_a_group():
    for checkpoint, (description, group) in pdfua.CHECKS.items():
        assert checkpoint[:2].isdigit() or checkpoint.startswith("ST-"), checkpoint
        assert description and callable(group)


def test_sample_fails_only_the_known_checkpoints(sample):
    report = pdfua.check(sample.path)
    assert set(report.failed) == KNOWN_FAILURES, report.text()


def test_mini_fails_only_the_known_checkpoints(mini):
    report = pdfua.check(mini.path)
    assert set(report.failed) == KNOWN_FAILURES, report.text()


def _run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(argv, stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_check_pdf_clean_exits_0(tmp_path: Path):
    path = tmp_path / "clean.pdf"
    clean_pdf().save(path)
    code, out, err = _run(["check-pdf", str(path)])
    assert (code, err) == (0, "")
    assert out == f"{len(pdfua.CHECKS)} checks passed, 0 failed\n"


def test_check_pdf_findings_exit_1(tmp_path: Path):
    path = tmp_path / "bad.pdf"
    pdf = clean_pdf()
    del elements(pdf)["Figure"]["/Alt"]
    pdf.save(path)
    code, out, err = _run(["check-pdf", str(path)])
    assert (code, err) == (1, "")
    lines = out.splitlines()
    assert lines[0] == "13-004 FAIL (1) a Figure has neither Alt nor ActualText"
    assert lines[1].startswith("    page 1, ") and lines[1].endswith(": Figure without Alt or ActualText")
    assert lines[-1] == f"{len(pdfua.CHECKS) - 1} checks passed, 1 failed"


@pytest.mark.parametrize("name, content, message", [
    ("missing.pdf", None, "not found"),
    ("folder", "dir", "is a folder, not a file"),
    ("text.pdf", b"hello", "cannot be read as a PDF"),
])
def test_check_pdf_bad_input_exits_2(tmp_path: Path, name, content, message):
    path = tmp_path / name
    if content == "dir":
        path.mkdir()
    elif content is not None:
        path.write_bytes(content)
    code, out, err = _run(["check-pdf", str(path)])
    assert (code, out) == (2, "")
    assert err.startswith(f"build-report: error: {path}: {message}")


@pytest.mark.parametrize("theme", ["govuk", "book"])
@pytest.mark.parametrize("name", ["sample", "mini", "realworld", "new"])
def test_every_test_manuscript_passes_in_both_themes(name: str, theme: str, tmp_path: Path) -> None:
    """Issue 10: 0 failures on the sample, the mini manuscript and every other test manuscript
    (the real-world corpus, and what `build-report new` writes), in both themes."""
    import re
    import shutil

    from build_report import scaffold
    from conftest import MINI, ROOT, SAMPLE, Built

    root = tmp_path / "m"
    if name == "new":
        scaffold.new(root, None)
    else:
        shutil.copytree({"sample": SAMPLE, "mini": MINI, "realworld": ROOT / "tests" / "realworld"}[name], root)
    report = root / "report.yaml"
    text = report.read_text(encoding="utf-8")
    report.write_text(re.sub(r"(?m)^theme:.*\n", "", text) + f"theme: {theme}\n", encoding="utf-8")
    built = Built(root, tmp_path / "out.pdf")
    result = pdfua.check(built.path)
    assert result.failed == [], result.text()


# -- The page memo (pdfua.PageMemo): pages walked before are not walked again --------------------------

def failing_with(pdf: pikepdf.Pdf, memo: pdfua.PageMemo | None) -> set[str]:
    buffer = io.BytesIO()
    pdf.save(buffer)
    with pikepdf.open(io.BytesIO(buffer.getvalue())) as reopened:
        return set(pdfua.check_pdf(reopened, memo).failed)


def _unown_mcid(pdf: pikepdf.Pdf) -> None:
    elements(pdf)["P"].K = Array([])  # MCID 1 is painted, but no element owns it any more


@pytest.mark.parametrize("case", [*sorted(MUTATIONS), "MCID no longer owned"])
def test_a_memo_of_the_clean_page_never_hides_a_failure(case):
    """Primed with the clean PDF's page, the memo gives exactly the failures a fresh check finds: a page
    whose content changed is walked again, and a remembered page is used only while its MCIDs are owned."""
    memo = pdfua.PageMemo()
    assert failing_with(clean_pdf(), memo) == set() and len(memo.entries) == 1
    mutate = MUTATIONS[case][0] if case in MUTATIONS else _unown_mcid
    pdf = clean_pdf()
    mutate(pdf)
    primed = pdfua.PageMemo(memo.kept())
    assert failing_with(pdf, primed) == failing_with(pdf, None)
    if case == "MCID no longer owned":
        assert failing_with(pdf, None) == {"01-005"} and not primed.used  # refused, then walked and failed
    if case == "broken ParentTree":  # same content, other structure: the page comes from the memo
        assert primed.used


def test_a_memo_gives_the_walk_a_fresh_check_makes(sample):
    fresh = pdfua.Document(pikepdf.open(sample.path))
    memo = pdfua.PageMemo()
    pdfua.check(sample.path, memo)
    assert len(memo.entries) >= len(fresh.pdf.pages) * 0.8  # the pages with Form XObjects (SVG figures) are not kept
    with pikepdf.open(sample.path) as pdf:
        again = pdfua.Document(pdf, pdfua.PageMemo(memo.kept()))
        assert dict(again.content.mcids) == dict(fresh.content.mcids)
        assert {key: (use.page, use.codes, use.rendered) for key, use in again.content.fonts.items()} == \
            {key: (use.page, use.codes, use.rendered) for key, use in fresh.content.fonts.items()}
        assert again.memo is not None and again.memo.used == set(memo.entries)
