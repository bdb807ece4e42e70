"""The structure tree after `tagging.correct`, read back with pikepdf (issue 10)."""

from __future__ import annotations

import pikepdf
import pytest

from build_report.tagging import reachable


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
