"""Finish stage, part 1: corrections to the structure tree WeasyPrint writes.

WeasyPrint (70.x) tags the PDF from its box tree (`weasyprint/pdf/tags.py`).
Where that tagging is wrong for PDF/UA-1, this module corrects the written file
with pikepdf, before pypdf adds page labels and metadata. Each correction names
the WeasyPrint behaviour it undoes, so that it can be dropped when WeasyPrint
fixes it upstream.
"""

from __future__ import annotations

import io

import pikepdf


def correct(data: bytes) -> bytes:
    """The PDF with the structure corrections below applied."""
    with pikepdf.open(io.BytesIO(data)) as pdf:
        if "/StructTreeRoot" not in pdf.Root:
            return data
        pagination_as_artifacts(pdf)
        table_header_scopes(pdf)
        id_tree(pdf)
        out = io.BytesIO()
        # static_id and a fixed object order keep the bytes reproducible; pypdf sets the real /ID later.
        pdf.save(out, static_id=True, compress_streams=True, object_stream_mode=pikepdf.ObjectStreamMode.preserve)
        return out.getvalue()


def reachable(root: pikepdf.Object) -> set[tuple[int, int]]:
    """The structure elements reachable from the StructTreeRoot, by object number."""
    return {element.objgen for element in elements(root)}


def pagination_as_artifacts(pdf: pikepdf.Pdf) -> int:
    """Running heads and folios become `/Artifact <</Type /Pagination>>`; returns how many.

    Corrects: WeasyPrint marks the text of page-margin boxes (@top-left, @bottom-right...)
    as tagged content with MCIDs, then builds their structure elements without linking
    them into the tree ("it could be included in tree as Artifact, but that's only
    allowed in PDF 2.0", tags.py). Their content then belongs to no reachable element,
    which PDF/UA forbids (Matterhorn 01-005). PDF 1.7 has the right tool: page
    furniture is an Artifact of type Pagination, outside the tree."""
    root = pdf.Root.StructTreeRoot
    owned = reachable(root)
    nums = root.ParentTree.Nums
    orphans: dict[int, set[int]] = {}  # StructParents key -> MCIDs owned by no reachable element
    for index in range(0, len(nums), 2):
        mapping = nums[index + 1]
        if isinstance(mapping, pikepdf.Array):
            lost = {mcid for mcid, element in enumerate(mapping)
                    if isinstance(element, pikepdf.Dictionary) and element.objgen not in owned}
            if lost:
                orphans[int(nums[index])] = lost
                for mcid in lost:
                    mapping[mcid] = None  # null: nothing in the tree owns this MCID any more
    count = 0
    for page in pdf.pages:
        lost = orphans.get(int(page.obj.get("/StructParents", -1)), set())
        if not lost:
            continue
        operations = pikepdf.parse_content_stream(page)
        for index, instruction in enumerate(operations):
            if not isinstance(instruction, pikepdf.ContentStreamInstruction) or str(instruction.operator) != "BDC":
                continue
            properties = instruction.operands[1]
            if isinstance(properties, pikepdf.Dictionary) and int(properties.get("/MCID", -1)) in lost:
                artifact = [pikepdf.Name.Artifact, pikepdf.Dictionary(Type=pikepdf.Name.Pagination)]
                operations[index] = pikepdf.ContentStreamInstruction(artifact, instruction.operator)
                count += 1
        page.obj.Contents = pdf.make_stream(pikepdf.unparse_content_stream(operations))
    return count


def elements(root: pikepdf.Object) -> list[pikepdf.Object]:
    """Every structure element reachable from `root`, parents before children."""
    found: list[pikepdf.Object] = []
    seen: set[tuple[int, int]] = set()
    stack: list[pikepdf.Object] = [root]
    while stack:
        kids = stack.pop().get("/K")
        for kid in reversed(list(kids) if isinstance(kids, pikepdf.Array) else [kids] if kids is not None else []):
            element = isinstance(kid, pikepdf.Dictionary) and kid.get("/Type") not in ("/OBJR", "/MCR")
            if element and kid.objgen not in seen:
                seen.add(kid.objgen)
                found.append(kid)
                stack.append(kid)
    return found


def _kids(element: pikepdf.Object) -> list[pikepdf.Object]:
    kids = element.get("/K")
    listed = list(kids) if isinstance(kids, pikepdf.Array) else [kids] if kids is not None else []
    return [kid for kid in listed if isinstance(kid, pikepdf.Dictionary) and "/S" in kid]


def _headers(cell: pikepdf.Object) -> list[pikepdf.Object]:
    attributes = cell.get("/A")
    headers = attributes.get("/Headers") if isinstance(attributes, pikepdf.Dictionary) else None
    return list(headers) if isinstance(headers, pikepdf.Array) else []


def table_header_scopes(pdf: pikepdf.Pdf) -> int:
    """Every TH gets `/Scope /Row` or `/Column` in its Table attributes; returns how many.

    Corrects: WeasyPrint links data cells to their headers (`/Headers` and `/ID`) but gives
    no TH a `/Scope`, which PDF/UA checkers and some screen readers need (Matterhorn 15-003).
    A header that a data cell of its own row names is a row header; any other is a column
    header (a header row, or a header cell above its column)."""
    count = 0
    for row in (e for e in elements(pdf.Root.StructTreeRoot) if e.get("/S") == "/TR"):
        cells = _kids(row)
        named = {bytes(header) for cell in cells if cell.get("/S") == "/TD"
                 for header in _headers(cell)}
        for cell in cells:
            if cell.get("/S") != "/TH":
                continue
            attributes = cell.get("/A")
            if not isinstance(attributes, pikepdf.Dictionary):
                attributes = cell.A = pikepdf.Dictionary(O=pikepdf.Name.Table)
            row_header = "/ID" in cell and bytes(cell.ID) in named
            attributes.Scope = pikepdf.Name.Row if row_header else pikepdf.Name.Column
            count += 1
    return count


def id_tree(pdf: pikepdf.Pdf) -> int:
    """The StructTreeRoot's `/IDTree`: every element's `/ID`, so references to it resolve.

    Corrects: WeasyPrint gives header cells an `/ID` (for `/Headers`) but writes no
    `/IDTree`, which the PDF specification requires whenever elements have IDs."""
    root = pdf.Root.StructTreeRoot
    named = sorted(((bytes(e.ID), e) for e in elements(root) if "/ID" in e), key=lambda pair: pair[0])
    if named:
        names = pikepdf.Array()
        for key, element in named:
            names.append(pikepdf.String(key))
            names.append(element)
        root.IDTree = pdf.make_indirect(pikepdf.Dictionary(Names=names))
    return len(named)
