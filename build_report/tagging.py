"""Finish stage, part 1: corrections to the structure tree WeasyPrint writes.

WeasyPrint (70.x) tags the PDF from its box tree (`weasyprint/pdf/tags.py`).
Where that tagging is wrong for PDF/UA-1, this module corrects the written file
with pikepdf (the page labels and metadata are already in it: writers/pdf.py). Each correction names
the WeasyPrint behaviour it undoes, so that it can be dropped when WeasyPrint
fixes it upstream.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from typing import Any

import pikepdf

# While WeasyPrint writes, each structure element carries the number of the HTML element it
# came from under this key, and each Link its text; `merge_fragments` and
# `links_own_their_annotations` use them, then remove them.
ELEMENT_KEY = "/BRElement"
TEXT_KEY = "/BRText"
# A footnote (`<span class="footnote">`, floated to the page foot) is a Note; WeasyPrint's
# ::footnote-call in the text is its Reference, and its ::footnote-marker the Note's label.
FOOTNOTE_ROLES = {"footnote-call": "/Reference", "footnote-marker": "/Lbl"}
# Private roles while writing, for what `leaders_as_artifacts` turns into artifacts: leader dots
# and a draft's source references in the margin are Layout, its watermark and stamp Pagination.
LEADER = "/BRLeader"
WATERMARK = "/BRWatermark"
STAMP = "/BRStamp"
PRIVATE_ARTIFACTS: dict[str, dict[str, Any]] = {
    LEADER: {"kind": pikepdf.Name.Layout},
    WATERMARK: {"kind": pikepdf.Name.Pagination, "subtype": pikepdf.Name.Watermark},
    STAMP: {"kind": pikepdf.Name.Pagination},
}


def _role(box: Any, html: Any, role: str) -> str:
    """The structure role a box should have where WeasyPrint's default is wrong."""
    classes = (html.get("class") or "").split()
    pseudo = str(getattr(box, "element_tag", "")).partition("::")[2]  # "footnote-call" of "span::footnote-call"
    if getattr(box, "is_leader", False):  # the anonymous box WeasyPrint makes for leader()
        return LEADER  # leader() dots: turned into artifacts by `leaders_as_artifacts`
    if "footnote" in classes:  # assemble.inline_footnotes
        return FOOTNOTE_ROLES.get(pseudo, "/Note")
    if pseudo and role == "/Link":  # a::after "(page 3)" is text of its link, not a second link in it
        return "/Span"
    if "draft-watermark" in classes:  # templates/pdf/print.html.j2, drafts only
        return WATERMARK
    if pseudo == "after" and html.get("data-ref"):  # a draft's "03:42" in the margin (--source-refs)
        return LEADER
    if "draft-stamp" in classes:
        return STAMP
    if getattr(html, "tag", "") == "figure":  # WeasyPrint has no role for <figure>: NonStruct
        if "figure" in classes:
            return "/Figure"  # an image with its caption (markdown/captions.py); see `figures_and_quotes`
        if {"place-quote", "quote"} & set(classes):
            return "/BlockQuote"  # a quotation with its credit (markdown/places.py)
    if "toc-list" in classes and role == "/L":  # the contents list (templates/pdf/print.html.j2)
        return "/TOC"
    if "toc-entry" in classes:  # WeasyPrint wraps an unbulleted li as LI > LBody
        return {"/LI": "/TOCI", "/LBody": "/Reference"}.get(role, role)
    return role


class Written:
    """What `element_keys` learns while WeasyPrint writes: for each page (0-based), the text that
    marked-content MCIDs ending a line should read as (`/ActualText`); and, when the writer sets
    it, the first half of the file's /ID (writers/pdf.finish: the MD5 of WeasyPrint's file; qpdf's
    static one is the second)."""

    def __init__(self) -> None:
        self.line_ends: dict[int, dict[int, str]] = {}
        self.identifier: bytes | None = None


def _line_ends(page_box: Any, tags: dict) -> dict[int, str]:
    """MCID -> what a text run should read as (`/ActualText`), for speech, braille and search.

    Text set in capitals by CSS (`text-transform`) reads as written ("Fenbridge", which a screen
    reader says as a word, not "FENBRIDGE", which some spell out).

    A line ends where no character is drawn: WeasyPrint drops the space at a line break, so
    text taken from the tags runs the words together ("withoutpausing"); and automatic
    hyphenation draws a hyphen that is not in the text ("organisa-tions"). The run then reads
    as its text plus a space, or without the inserted hyphen (found by comparing with the
    element's own text: "organisations" is there, "organisa-tions" is not)."""
    from weasyprint.formatting_structure import boxes

    lines: list[tuple[Any, list]] = []  # (parent box, text boxes of the line in order)

    texts: dict[int, str] = {}

    def walk(box: Any) -> None:
        for child in getattr(box, "children", []):
            if isinstance(child, boxes.LineBox):
                drawn = [(leaf, dots) for leaf, dots in _leaves(child) if leaf in tags and leaf.text.strip()]
                for leaf, _ in drawn:
                    if leaf.style["text_transform"] != "none" and leaf.element is not None:
                        written = " ".join("".join(leaf.element.itertext()).split())
                        if written.casefold() == leaf.text.strip().casefold():  # "FENBRIDGE" reads "Fenbridge"
                            texts[tags[leaf]["mcid"]] = written
                for (leaf, dots), (_, before) in zip(drawn[1:], drawn[:-1], strict=True):
                    if before and not dots:  # the page number after leader dots (which become artifacts)
                        texts[tags[leaf]["mcid"]] = " " + leaf.text
                lines.append((box, [leaf for leaf, dots in drawn if not dots]))
            elif isinstance(child, boxes.ParentBox):
                walk(child)

    walk(page_box)
    for _, leaves in lines:
        if not leaves:
            continue
        last = leaves[-1]
        text = last.text.rstrip()  # a space at the end of a line is in the text but never drawn
        if text.endswith("-") and text[-2:-1].isalpha():
            source = " ".join("".join(last.element.itertext()).split()) if last.element is not None else ""
            head = text.split()[-1] if text.split() else text
            if head not in source:  # "organisa-" is not in the text: the hyphen was inserted
                texts[tags[last]["mcid"]] = text[:-1]
            continue  # a hyphen of the text ("well-known"): the word goes on, no space either
        mcid = tags[last]["mcid"]  # the last line of a paragraph gets its space too: harmless before its end
        texts[mcid] = texts.get(mcid, text).rstrip() + " "
    return texts


def _leaves(box: Any, dots: bool = False) -> Iterator[tuple[Any, bool]]:
    """The text boxes under `box`, in order, each with whether it is leader() dots."""
    from weasyprint.formatting_structure import boxes

    for child in getattr(box, "children", []):
        if isinstance(child, boxes.TextBox):
            yield child, dots
        else:
            yield from _leaves(child, dots or getattr(child, "is_leader", False))


@contextlib.contextmanager
def element_keys() -> Iterator[Written]:
    """Patch WeasyPrint 70's tagging so each structure element records its HTML element.

    Corrects nothing by itself: WeasyPrint builds the tree page by page from the boxes, and
    a box's HTML element is lost once written. Knowing it lets `merge_fragments` join what
    one element became on several pages, or through anonymous boxes. It wraps the module's
    `_build_box_tree` (called through the module global, also recursively) and restores it."""
    import pydyf
    from weasyprint.formatting_structure import boxes
    from weasyprint.pdf import tags

    original = tags._build_box_tree
    numbers: dict[int, int] = {}  # id() of an HTML element -> its number, for this write only
    written = Written()

    def build(box, *args, **kwargs):
        if isinstance(box, boxes.PageBox):  # (page_box, parent, pdf, page_number, nums, annotations, tags)
            written.line_ends[args[2]] = _line_ends(box, args[5])
        html = getattr(getattr(box, "_box", box), "element", None)
        for element in original(box, *args, **kwargs):
            if html is not None:
                element[ELEMENT_KEY[1:]] = numbers.setdefault(id(html), len(numbers))
                element["S"] = _role(box, html, str(element["S"]))
                if element["S"] == "/Link":
                    text = html.get("aria-label") or " ".join("".join(html.itertext()).split())
                    element[TEXT_KEY[1:]] = pydyf.String(text)
            yield element

    tags._build_box_tree = build
    try:
        yield written
    finally:
        tags._build_box_tree = original


def correct(data: bytes, written: Written | None = None) -> bytes:
    """The PDF with the structure corrections below applied."""
    with pikepdf.open(io.BytesIO(data)) as pdf:
        if "/StructTreeRoot" not in pdf.Root:
            return data
        marks = MarkedContent()
        if written is not None:
            line_ends_read_as_text(pdf, written.line_ends, marks)
        pagination_as_artifacts(pdf, marks)
        leaders_as_artifacts(pdf, marks)
        links_own_their_annotations(pdf)
        notes_follow_their_calls(pdf)
        merge_fragments(pdf, marks)
        figures_and_quotes(pdf)
        nested_contents_in_items(pdf)
        blocks_in_item_bodies(pdf)
        table_header_scopes(pdf)
        id_tree(pdf)
        marks.apply(pdf)
        identifier = getattr(written, "identifier", None)
        if identifier is not None:
            pdf.trailer.ID = pikepdf.Array([pikepdf.String(identifier), pikepdf.String(identifier)])
        out = io.BytesIO()
        # static_id and a fixed object order keep the bytes reproducible; the /ID is the one set above.
        pdf.save(out, static_id=True, compress_streams=True, object_stream_mode=pikepdf.ObjectStreamMode.preserve)
        return out.getvalue()


class MarkedContent:
    """Changes to the pages' marked-content sequences, by page and MCID, made in one pass over
    each content stream (parsing and writing a page's stream is the costly part)."""

    def __init__(self) -> None:
        self.artifacts: dict[tuple[int, int], dict[int, pikepdf.Dictionary]] = {}
        self.actual: dict[tuple[int, int], dict[int, str]] = {}

    def artifact(self, marked: dict[tuple[int, int], set[int]], kind: pikepdf.Name,
                 subtype: pikepdf.Name | None = None) -> int:
        """These MCIDs (by page) become artifacts of `kind`; returns how many."""
        for page, mcids in marked.items():
            described = pikepdf.Dictionary(Type=kind)
            if subtype is not None:
                described.Subtype = subtype
            self.artifacts.setdefault(page, {}).update(dict.fromkeys(mcids, described))
        return sum(map(len, marked.values()))

    def apply(self, pdf: pikepdf.Pdf) -> None:
        for page in pdf.pages:
            artifacts = self.artifacts.get(page.obj.objgen, {})
            texts = self.actual.get(page.obj.objgen, {})
            if not artifacts and not texts:
                continue
            operations = pikepdf.parse_content_stream(page)
            for index, instruction in enumerate(operations):
                if not isinstance(instruction, pikepdf.ContentStreamInstruction) or str(instruction.operator) != "BDC":
                    continue
                tag, properties = instruction.operands[0], instruction.operands[1]
                mcid = int(properties.get("/MCID", -1)) if isinstance(properties, pikepdf.Dictionary) else -1
                if mcid in artifacts:
                    operands = [pikepdf.Name.Artifact, artifacts[mcid]]
                elif mcid in texts:
                    # UTF-16BE with its byte order mark: the text string encoding every reader decodes
                    actual = pikepdf.String(b"\xfe\xff" + texts[mcid].encode("utf-16-be"))
                    operands = [tag, pikepdf.Dictionary(MCID=mcid, ActualText=actual)]
                else:
                    continue
                operations[index] = pikepdf.ContentStreamInstruction(operands, instruction.operator)
            page.obj.Contents = pdf.make_stream(pikepdf.unparse_content_stream(operations))


def line_ends_read_as_text(pdf: pikepdf.Pdf, line_ends: dict[int, dict[int, str]], marks: MarkedContent) -> int:
    """Give the last run of each line its `/ActualText` (see `_line_ends`); returns how many.

    Corrects: WeasyPrint writes no space at a line break and a hard hyphen where it hyphenates,
    so speech, braille and search met "withoutpausing" and "organisa-tions"."""
    for index, page in enumerate(pdf.pages):
        if line_ends.get(index):
            marks.actual[page.obj.objgen] = line_ends[index]
    return sum(map(len, line_ends.values()))


def without_pdfua_claim(data: bytes) -> bytes:
    """The PDF without `pdfuaid:part` in its XMP: what a file that fails the checks must not claim."""
    with pikepdf.open(io.BytesIO(data)) as pdf:
        with pdf.open_metadata(set_pikepdf_as_editor=False, update_docinfo=False) as metadata:
            for key in [k for k in metadata if "pdfua" in k]:
                del metadata[key]
        out = io.BytesIO()
        pdf.save(out, static_id=True, compress_streams=True, object_stream_mode=pikepdf.ObjectStreamMode.preserve)
        return out.getvalue()


def reachable(root: pikepdf.Object) -> set[tuple[int, int]]:
    """The structure elements reachable from the StructTreeRoot, by object number."""
    return {element.objgen for element in elements(root)}


def pagination_as_artifacts(pdf: pikepdf.Pdf, marks: MarkedContent) -> int:
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
    keys = {int(page.obj.get("/StructParents", -1)): page.obj.objgen for page in pdf.pages}
    orphans: dict[tuple[int, int], set[int]] = {}  # page -> MCIDs owned by no reachable element
    for index in range(0, len(nums), 2):
        mapping = nums[index + 1]
        if isinstance(mapping, pikepdf.Array) and int(nums[index]) in keys:
            lost = {mcid for mcid, element in enumerate(mapping)
                    if isinstance(element, pikepdf.Dictionary) and element.objgen not in owned}
            if lost:
                orphans[keys[int(nums[index])]] = lost
                for mcid in lost:
                    mapping[mcid] = None  # null: nothing in the tree owns this MCID any more
    return marks.artifact(orphans, pikepdf.Name.Pagination)


def leaders_as_artifacts(pdf: pikepdf.Pdf, marks: MarkedContent) -> int:
    """Leader dots, and a draft's watermark and stamp, become artifacts; returns how many runs.

    Corrects: WeasyPrint tags the dots of CSS `leader()` as text, inside the link of each
    contents entry, so a screen reader read out rows of full stops (4,860 runs on the sample);
    they become `/Artifact <</Type /Layout>>`. A draft's "DRAFT" watermark and its stamp are
    fixed elements, drawn and tagged again on every page; they become Pagination artifacts
    (the watermark of subtype Watermark); the draft box on the first page still says it all."""
    count = 0
    # One walk for the three roles: this only takes elements out of the tree, so what a fresh walk
    # would find for a later role is what this one found, less what lies inside an element taken out.
    found = elements(pdf.Root.StructTreeRoot)
    removed: set[tuple[int, int]] = set()
    for role, properties in PRIVATE_ARTIFACTS.items():
        marked: dict[tuple[int, int], set[int]] = {}
        for element in [e for e in found if e.get("/S") == role and not _within(e, removed)]:
            _collect_mcids(element, marked)
            # a link annotation inside (the stretch of a contents entry's dots) stays with the link
            kept = [kid for each in [element, *elements(element)] for kid in _kid_list(each)
                    if isinstance(kid, pikepdf.Dictionary) and kid.get("/Type") == "/OBJR"]
            parent = element.P
            parent.K = pikepdf.Array([k for k in _kid_list(parent) if not _is(k, element)] + kept)
            removed.add(element.objgen)
        count += marks.artifact(marked, **properties)
    return count


def _within(element: pikepdf.Object, removed: set[tuple[int, int]]) -> bool:
    """Whether an ancestor of `element` (by /P) is one of `removed`."""
    seen: set[tuple[int, int]] = set()
    parent = element.get("/P")
    while isinstance(parent, pikepdf.Dictionary) and parent.objgen not in seen:
        if parent.objgen in removed:
            return True
        seen.add(parent.objgen)
        parent = parent.get("/P")
    return False


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
    """The structure elements among an element's kids (no MCIDs or object references)."""
    return [kid for kid in _kid_list(element) if isinstance(kid, pikepdf.Dictionary) and "/S" in kid]


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


def _adopt(pdf: pikepdf.Pdf, into: pikepdf.Object, kids: list[pikepdf.Object], page: pikepdf.Object | None) -> list:
    """`kids` of another element (on `page`), made kids of `into`: a bare MCID refers to its
    element's page, so one from another page becomes a marked-content reference."""
    adopted = []
    for kid in kids:
        if isinstance(kid, int):  # pikepdf gives PDF integers as Python ints
            if page is not None and into.get("/Pg") is not None and page.objgen != into.Pg.objgen:
                kid = pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.MCR, Pg=page, MCID=int(kid)))
        elif isinstance(kid, pikepdf.Dictionary) and "/S" in kid:
            kid.P = into
        elif isinstance(kid, pikepdf.Dictionary) and kid.get("/Type") == "/MCR" and "/Pg" not in kid:
            kid.Pg = page
        adopted.append(kid)
    return adopted


def _kid_list(element: pikepdf.Object) -> list[pikepdf.Object]:
    kids = element.get("/K")
    return list(kids) if isinstance(kids, pikepdf.Array) else [kids] if kids is not None else []


def links_own_their_annotations(pdf: pikepdf.Pdf) -> int:
    """Each link annotation belongs to its Link element and says where it goes; returns how many moved.

    Corrects: WeasyPrint attaches a link's annotation (its OBJR) to the element of the box that
    carries it, which for a link made of several text runs is a Span inside the Link
    (Matterhorn 28-011), and sets `/Contents` to the bare URL or fragment id. The OBJR moves up
    to the nearest Link, and `/Contents` becomes the link's text ("Section 3.2, Five kinds of
    boundary"), followed by the address for a link that leaves the document."""
    moved = 0
    found = elements(pdf.Root.StructTreeRoot)  # moving OBJRs moves no element: one walk serves both loops
    for element in found:
        kids = _kid_list(element)
        objrs = [kid for kid in kids if isinstance(kid, pikepdf.Dictionary) and kid.get("/Type") == "/OBJR"]
        if not objrs:
            continue
        link: pikepdf.Object | None = element
        while link is not None and link.get("/S") != "/Link":
            link = link.get("/P")
        if link is None:
            continue
        if link is not element:
            ids = {objr.objgen for objr in objrs}
            element.K = pikepdf.Array([kid for kid in kids
                                       if not (isinstance(kid, pikepdf.Dictionary) and kid.objgen in ids)])
            link.K = pikepdf.Array(_kid_list(link) + objrs)
            moved += len(objrs)
        text = str(link.get(TEXT_KEY, ""))
        for objr in objrs:
            annotation = objr.Obj
            action = annotation.get("/A")
            uri = str(action.get("/URI", "")) if isinstance(action, pikepdf.Dictionary) else ""
            contents = f"{text} ({uri})" if text and uri and uri != text else text or uri
            if contents:
                annotation.Contents = pikepdf.String(contents)
    for element in found:
        if TEXT_KEY in element:
            del element[TEXT_KEY]
    return moved


def notes_follow_their_calls(pdf: pikepdf.Pdf) -> int:
    """Each footnote is a Note with an /ID, placed right after its Reference; returns how many.

    Corrects: WeasyPrint tags a footnote as a Span in an untyped group at the foot of the
    page, far from the sentence that calls it, and its call as NonStruct (Matterhorn 19-001,
    19-003). With the roles set while writing (`element_keys`), the Note moves into the
    reading order after its call, as a screen reader should meet it."""
    found = elements(pdf.Root.StructTreeRoot)
    calls = {int(e[ELEMENT_KEY]): e for e in found if e.get("/S") == "/Reference" and ELEMENT_KEY in e}
    moved = 0
    for note in (e for e in found if e.get("/S") == "/Note" and ELEMENT_KEY in e):
        call = calls.get(int(note[ELEMENT_KEY]))
        moved += 1
        note.ID = pikepdf.String(f"note-{moved}")
        if call is None:
            continue
        old_parent, new_parent = note.P, call.P
        old_parent.K = pikepdf.Array([k for k in _kid_list(old_parent) if not _is(k, note)])
        siblings = _kid_list(new_parent)
        position = next(i for i, k in enumerate(siblings) if _is(k, call)) + 1
        new_parent.K = pikepdf.Array(siblings[:position] + [note] + siblings[position:])
        note.P = new_parent
        _prune(old_parent)
    return moved


def _is(kid: pikepdf.Object, element: pikepdf.Object) -> bool:
    return isinstance(kid, pikepdf.Dictionary) and kid.is_indirect and kid.objgen == element.objgen


def _prune(element: pikepdf.Object) -> None:
    """Remove an element left with no kids (a footnote area emptied of its notes), and so upwards."""
    while element.get("/S") not in (None, "/Document") and not _kid_list(element) and "/P" in element:
        parent = element.P
        parent.K = pikepdf.Array([k for k in _kid_list(parent) if not _is(k, element)])
        element = parent


def figures_and_quotes(pdf: pikepdf.Pdf) -> int:
    """A figure is one Figure (its image, alt text and Caption); a quotation one BlockQuote (its
    paragraphs and the Caption that credits it). Returns how many were joined.

    Corrects: WeasyPrint tags `<figure>` as NonStruct, so a caption hung under an untyped
    group, and the image inside it was a Figure of its own. With `<figure>` given its role while
    writing (`_role`), the inner Figure (or BlockQuote) is dissolved into the outer one: the
    outer takes its content, its /Alt and its layout attributes."""
    joined = 0
    for outer in [e for e in elements(pdf.Root.StructTreeRoot) if e.get("/S") in ("/Figure", "/BlockQuote")]:
        kids = _kid_list(outer)
        inner = [k for k in kids if isinstance(k, pikepdf.Dictionary) and k.get("/S") == outer.get("/S")]
        if len(inner) != 1:
            continue
        (copy,) = inner
        for key in ("/Alt", "/A", "/ActualText"):
            if key in copy and key not in outer:
                outer[key] = copy[key]
        position = next(i for i, k in enumerate(kids) if _is(k, copy))
        adopted = _adopt(pdf, outer, _kid_list(copy), copy.get("/Pg"))
        outer.K = pikepdf.Array(kids[:position] + adopted + kids[position + 1:])
        joined += 1
    _rebuild_parent_tree(pdf)
    return joined


def nested_contents_in_items(pdf: pikepdf.Pdf) -> int:
    """A chapter's list of sections (a TOC) is a kid of its TOCI, after the entry's Reference.

    Corrects: WeasyPrint puts a list nested in a list item inside that item's body, which
    for the contents page (TOCI > Reference) would put a TOC inside a Reference."""
    moved = 0
    for reference in [e for e in elements(pdf.Root.StructTreeRoot) if e.get("/S") == "/Reference"]:
        item = reference.get("/P")
        if item is None or item.get("/S") != "/TOCI":
            continue
        nested = [k for k in _kid_list(reference) if isinstance(k, pikepdf.Dictionary) and k.get("/S") == "/TOC"]
        if not nested:
            continue
        reference.K = pikepdf.Array([k for k in _kid_list(reference) if not any(_is(k, toc) for toc in nested)])
        for toc in nested:
            toc.P = item
        kids = _kid_list(item)
        position = next(i for i, k in enumerate(kids) if _is(k, reference)) + 1
        item.K = pikepdf.Array(kids[:position] + nested + kids[position:])
        moved += len(nested)
    return moved


def blocks_in_item_bodies(pdf: pikepdf.Pdf) -> int:
    """A list item holds only its label and its body (LI: Lbl, LBody; ISO 32000-1 Table 336);
    returns how many elements moved into a body.

    Corrects: WeasyPrint tags a list item's text as its LBody, but a block inside the item (code,
    a table, a box, details) as a kid of the LI beside it. Each such kid moves, in order, into the
    LBody before it, else into a new one. Marked content stays with its elements, so the
    ParentTree is unchanged."""
    moved = 0
    for item in [e for e in elements(pdf.Root.StructTreeRoot) if e.get("/S") == "/LI"]:
        kids = _kid_list(item)
        if all(not isinstance(k, pikepdf.Dictionary) or k.get("/S") in ("/Lbl", "/LBody") for k in kids):
            continue
        body: pikepdf.Object | None = None
        kept: list[pikepdf.Object] = []
        for kid in kids:
            role = kid.get("/S") if isinstance(kid, pikepdf.Dictionary) else None
            if role in (None, "/Lbl"):
                kept.append(kid)
            elif role == "/LBody":
                body = kid
                kept.append(kid)
            else:
                if body is None:
                    body = pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.StructElem, S=pikepdf.Name.LBody,
                                                                P=item, K=pikepdf.Array()))
                    kept.append(body)
                body.K = pikepdf.Array([*_kid_list(body), kid])
                kid.P = body
                moved += 1
        item.K = pikepdf.Array(kept)
    return moved


def merge_fragments(pdf: pikepdf.Pdf, marks: MarkedContent) -> int:
    """One structure element per HTML element; returns how many fragments were merged.

    Corrects: WeasyPrint tags page by page, so a section, paragraph, list or table that
    crosses a page break becomes one element per page (every page its own section; a table's
    header, repeated on each page, is read again there: the repeats become artifacts), and
    an element with block-level children nests a copy of itself for its anonymous boxes
    (an H1 inside an H1). Fragments of one element under one parent are joined into the
    first, in order; a copy nested directly in itself is dissolved into its parent.
    The ParentTree is then rebuilt from the tree."""
    root = pdf.Root.StructTreeRoot
    identity: dict[tuple[int, int], tuple[int, str]] = {}  # element -> (HTML element number, role)
    for element in elements(root):
        if ELEMENT_KEY in element:
            identity[element.objgen] = (int(element[ELEMENT_KEY]), str(element.get("/S")))
            del element[ELEMENT_KEY]

    def same(kid: pikepdf.Object) -> tuple[int, str] | None:
        is_element = isinstance(kid, pikepdf.Dictionary) and kid.is_indirect
        return identity.get(kid.objgen) if is_element else None

    merged = 0
    repeated: dict[tuple[int, int], set[int]] = {}  # page -> MCIDs of repeated table headers
    stack = [root]
    while stack:
        parent = stack.pop()
        kids = _kid_list(parent)
        own = identity.get(parent.objgen) if parent is not root else None
        dissolved = True
        while dissolved:  # a dissolved copy may bring up kids that are copies too
            dissolved = False
            joined: list[pikepdf.Object] = []
            firsts: dict[tuple[int, str], pikepdf.Object] = {}
            for kid in kids:
                key = same(kid)
                if key is not None and key == own:  # a copy of the parent inside it: its kids take its place
                    joined.extend(_adopt(pdf, parent, _kid_list(kid), kid.get("/Pg")))
                    merged += 1
                    dissolved = True
                elif key is not None and key in firsts and key[1] == "/THead":
                    _collect_mcids(kid, repeated)  # a table header repeated on the next page: page furniture
                elif key is not None and key in firsts:  # a later fragment of an element already here
                    first = firsts[key]
                    first.K = pikepdf.Array(_kid_list(first) + _adopt(pdf, first, _kid_list(kid), kid.get("/Pg")))
                    merged += 1
                else:
                    if key is not None:
                        firsts[key] = kid
                    joined.append(kid)
            kids = joined
        parent.K = pikepdf.Array(kids)
        stack.extend(kid for kid in kids if isinstance(kid, pikepdf.Dictionary) and "/S" in kid)
    marks.artifact(repeated, pikepdf.Name.Pagination)
    _rebuild_parent_tree(pdf)
    return merged


def _collect_mcids(element: pikepdf.Object, into: dict[tuple[int, int], set[int]]) -> None:
    """Every MCID under `element`, by page."""
    for each in [element, *elements(element)]:
        for kid in _kid_list(each):
            if isinstance(kid, int) and each.get("/Pg") is not None:
                into.setdefault(each.Pg.objgen, set()).add(kid)
            elif isinstance(kid, pikepdf.Dictionary) and kid.get("/Type") == "/MCR":
                page = kid.get("/Pg", each.get("/Pg"))
                if page is not None:
                    into.setdefault(page.objgen, set()).add(int(kid.MCID))


def _rebuild_parent_tree(pdf: pikepdf.Pdf) -> None:
    """The ParentTree from the tree: each page's MCIDs, and each annotation, to its owner."""
    root = pdf.Root.StructTreeRoot
    pages: dict[tuple[int, int], dict[int, pikepdf.Object]] = {}
    annotations: dict[int, pikepdf.Object] = {}
    for element in elements(root):
        for kid in _kid_list(element):
            if isinstance(kid, pikepdf.Dictionary) and kid.get("/Type") == "/MCR":
                on_page = kid.get("/Pg", element.get("/Pg"))
                if on_page is not None:
                    pages.setdefault(on_page.objgen, {})[int(kid.MCID)] = element
            elif isinstance(kid, pikepdf.Dictionary) and kid.get("/Type") == "/OBJR":
                if "/StructParent" in kid.Obj:
                    annotations[int(kid.Obj.StructParent)] = element
            elif not isinstance(kid, pikepdf.Dictionary) and element.get("/Pg") is not None:
                pages.setdefault(element.Pg.objgen, {})[int(kid)] = element
    nums = pikepdf.Array()
    for page in pdf.pages:
        if "/StructParents" not in page.obj:
            continue
        owners = pages.get(page.obj.objgen, {})
        mapping = pikepdf.Array([owners.get(mcid) for mcid in range(max(owners, default=-1) + 1)])
        nums.append(int(page.obj.StructParents))
        nums.append(mapping)
    for key in sorted(annotations):
        nums.append(key)
        nums.append(annotations[key])
    root.ParentTree = pdf.make_indirect(pikepdf.Dictionary(Nums=nums))
    keys = [int(page.obj.get("/StructParents", -1)) for page in pdf.pages] + list(annotations)
    root.ParentTreeNextKey = max(keys) + 1
