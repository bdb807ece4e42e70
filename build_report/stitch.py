"""Stitching part PDFs into one document with pikepdf (parallel.py renders the parts).

Each part is a complete tagged PDF from WeasyPrint, corrected by `tagging.correct`. Appending
pages is not enough for a tagged file: qpdf copies objects, not document structure. `stitch`
builds the one document a single WeasyPrint pass would have written:

- **Pages**, with their resources and annotations, in part order.
- **One structure tree.** Every part has a StructTreeRoot with one Document element holding one
  Div (the HTML body) holding the part's sections. The parts' Divs become one Div under one
  Document. Each part numbers its pages' `/StructParents` and its annotations' `/StructParent`
  from 0; they are shifted by the keys the parts before it used, and the parts' ParentTree
  number trees are concatenated with the same shift (each part's keys are already in order, so
  the result is too). Element IDs are unique per part only: a table header's ID is made from an
  object number of its part, a note's is `note-N`; notes are numbered again through the document
  and other IDs get the part's number in front (`p3-1228-0-2`), in the elements and in the
  `/Headers` of the cells that name them. The IDTrees are merged, and so are the RoleMaps.
- **Named destinations**: each part's own (`anchors`: a part also names the anchors of other parts
  that its links point to, see `parallel._declare_elsewhere`; those are left out). Links keep
  their `/Dest (name)`, which the merged name tree resolves, as in the single pass.
- **Bookmarks**: each part's outline, in order, rebuilt as one outline (counts and open/closed
  states as WeasyPrint writes them).
- **Fonts, once.** WeasyPrint subsets each font for each part, keeping glyph ids (harfbuzz's
  retain-gids), and names a font after its description, not its glyphs: the same font has the
  same name (`/AMLEXW+Source-Sans-Pro-Semi-Bold`) in every part. The subsets of one name are
  merged into one font program with fontTools (each glyph from a part that has it), and their
  widths (`/W`) and ToUnicode maps joined; every part's font resources then point to that one
  font. The stitched file carries each font once, as a single pass would (`merge_fonts`).
- The catalog of the first part: XMP metadata, `/MarkInfo`, `/Lang`, `/ViewerPreferences`.

`drop_first_page` removes a part's lead page (parallel.py) with what belongs to it: its content
and annotations, the marked content it held in the structure tree, elements left empty, its
ParentTree entries and destinations.
"""

from __future__ import annotations

import copy
import hashlib
import io
import re
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

import pikepdf

# Object streams make the file smaller; qpdf writes the same bytes for the same objects, and an /ID
# made from them (deterministic_id), so equal inputs give equal files.
_SAVE = {"deterministic_id": True, "compress_streams": True,
         "object_stream_mode": pikepdf.ObjectStreamMode.generate}


def _kids(element: pikepdf.Object) -> list[pikepdf.Object]:
    kids = element.get("/K")
    return list(kids) if isinstance(kids, pikepdf.Array) else [kids] if kids is not None else []


def _is_element(kid: object) -> bool:
    return isinstance(kid, pikepdf.Dictionary) and "/S" in kid


def _elements(root: pikepdf.Object) -> Iterator[pikepdf.Object]:
    """Every structure element under `root`, in document order (parents first)."""
    stack = [root]
    seen: set[tuple[int, int]] = set()
    while stack:
        for kid in reversed(_kids(stack.pop())):
            if _is_element(kid) and kid.objgen not in seen:
                seen.add(kid.objgen)
                yield kid
                stack.append(kid)


def _document(pdf: pikepdf.Pdf) -> pikepdf.Object:
    """The Document element under the StructTreeRoot."""
    kids = _kids(pdf.Root.StructTreeRoot)
    if len(kids) != 1 or not _is_element(kids[0]):
        raise ValueError("a part's structure tree has no single root element")
    return kids[0]


def _number_tree(node: pikepdf.Object) -> list[tuple[int, pikepdf.Object]]:
    """The (key, value) pairs of a number tree, flat or with /Kids, in order."""
    pairs: list[tuple[int, pikepdf.Object]] = []
    nums = node.get("/Nums")
    if nums is not None:
        pairs += [(int(nums[i]), nums[i + 1]) for i in range(0, len(nums), 2)]
    for kid in node.get("/Kids", []):
        pairs += _number_tree(kid)
    return pairs


def _name_tree(node: pikepdf.Object | None) -> list[tuple[bytes, pikepdf.Object]]:
    if node is None:
        return []
    pairs: list[tuple[bytes, pikepdf.Object]] = []
    names = node.get("/Names")
    if names is not None:
        pairs += [(bytes(names[i]), names[i + 1]) for i in range(0, len(names), 2)]
    for kid in node.get("/Kids", []):
        pairs += _name_tree(kid)
    return pairs


def _flat_names(pdf: pikepdf.Pdf, pairs: list[tuple[bytes, pikepdf.Object]]) -> pikepdf.Object:
    """A name tree of one node, keys sorted as PDF requires (byte order); the first of equal keys wins."""
    seen: set[bytes] = set()
    names = pikepdf.Array()
    for key, value in sorted(pairs, key=lambda pair: pair[0]):
        if key not in seen:
            seen.add(key)
            names.append(pikepdf.String(key))
            names.append(value)
    return pdf.make_indirect(pikepdf.Dictionary(Names=names))


# -- Outlines ----------------------------------------------------------------------------------

@dataclass
class _Bookmark:
    title: pikepdf.Object | None
    dest: pikepdf.Object | None
    closed: bool
    children: list[_Bookmark] = field(default_factory=list)


def _read_outline(first: pikepdf.Object | None) -> list[_Bookmark]:
    items = []
    node = first
    while node is not None:
        items.append(_Bookmark(node.get("/Title"), node.get("/Dest"), int(node.get("/Count", 0)) < 0,
                               _read_outline(node.get("/First"))))
        node = node.get("/Next")
    return items


def _write_outline(pdf: pikepdf.Pdf, items: list[_Bookmark], parent: pikepdf.Object) -> int:
    """Write `items` under `parent` as WeasyPrint does (pdf/anchors.py add_outlines); returns the count of
    visible descendants that `parent` shows."""
    count = len(items)
    nodes: list[pikepdf.Object] = []
    for item in items:
        node = pdf.make_indirect(pikepdf.Dictionary(Title=item.title, Dest=item.dest, Parent=parent))
        children = _write_outline(pdf, item.children, node)
        node.Count = -children if item.closed else children
        if not item.closed:
            count += children
        if nodes:
            node.Prev = nodes[-1]
            nodes[-1].Next = node
        nodes.append(node)
    if nodes:
        parent.First, parent.Last = nodes[0], nodes[-1]
    return count


# -- Stitching ---------------------------------------------------------------------------------

def stitch(parts: list[bytes], anchors: list[set[str]], programs: Programs | None = None,
           describe: Callable[[pikepdf.Pdf], None] | None = None) -> bytes:
    """One PDF of the part PDFs `parts`, in order; `anchors[i]`: the anchors part i itself has;
    `programs`: merged font programs of earlier builds (`merge_fonts`); `describe` adds what else the
    document needs before it is saved (writers/pdf.describe: page labels, document info). Its /ID is
    derived from its content (qpdf's deterministic ID)."""
    out = pikepdf.Pdf.new()
    sources = [pikepdf.open(io.BytesIO(data)) for data in parts]  # open until saved: qpdf copies lazily
    try:
        document: pikepdf.Object | None = None
        body: pikepdf.Object | None = None
        nums = pikepdf.Array()
        ids: list[tuple[bytes, pikepdf.Object]] = []
        role_map = pikepdf.Dictionary()
        dests: list[tuple[bytes, pikepdf.Object]] = []
        outline: list[_Bookmark] = []
        next_key = 0
        notes = 0
        for number, (src, own) in enumerate(zip(sources, anchors, strict=True)):
            if "/StructTreeRoot" not in src.Root:
                raise ValueError(f"part {number} is not tagged")
            tree = src.Root.StructTreeRoot
            used = _shift_struct_parents(src, next_key)
            notes = _rename_ids(src, number, notes)
            for key, value in (tree.get("/RoleMap") or pikepdf.Dictionary()).items():
                role_map[key] = _copy(out, src, value)
            part_doc = _document(src)
            del part_doc["/P"]
            names = src.Root.get("/Names")
            part_dests = [(key, value) for key, value in _name_tree(names.get("/Dests") if names is not None else None)
                          if key.decode("utf-8", "surrogateescape") in own]
            outlines = src.Root.get("/Outlines")
            part_outline = _read_outline(outlines.get("/First") if outlines is not None else None)
            holder = src.make_indirect(pikepdf.Array([
                part_doc, pikepdf.Array([value for _, value in _number_tree(tree.ParentTree)]),
                pikepdf.Array([value for _, value in _name_tree(tree.get("/IDTree"))]),
                pikepdf.Array([value for _, value in part_dests]),
                pikepdf.Array([item.dest for item in _flatten(part_outline)])]))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # pikepdf warns that named destinations are not carried: we do
                out.pages.extend(src.pages)
            copied = out.copy_foreign(holder)
            for number_key, value in zip([key for key, _ in _number_tree(tree.ParentTree)], copied[1], strict=True):
                nums.append(number_key)
                nums.append(value)
            ids += zip([key for key, _ in _name_tree(tree.get("/IDTree"))], copied[2], strict=True)
            dests += zip([key for key, _ in part_dests], copied[3], strict=True)
            for item, dest in zip(_flatten(part_outline), copied[4], strict=True):
                item.dest = dest
            outline += part_outline
            next_key += used
            part_doc = copied[0]
            if document is None:
                document = part_doc
                body = _only_kid(part_doc)
                continue
            part_body = _only_kid(part_doc)
            if body is not None and part_body is not None and part_body.get("/S") == body.get("/S"):
                _adopt(body, _kids(part_body))
            else:
                _adopt(document, _kids(part_doc))
                body = None
        if document is None:
            raise ValueError("nothing to stitch")
        root = out.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.StructTreeRoot, K=pikepdf.Array([document]),
                                                    ParentTree=out.make_indirect(pikepdf.Dictionary(Nums=nums)),
                                                    ParentTreeNextKey=next_key))
        document.P = root
        if ids:
            root.IDTree = _flat_names(out, ids)
        if len(role_map):
            root.RoleMap = role_map
        out.Root.StructTreeRoot = root
        first = sources[0].Root
        for key in ("/MarkInfo", "/ViewerPreferences", "/Lang", "/Metadata"):
            if key in first:
                out.Root[key] = _copy(out, sources[0], first[key])
        if dests:
            out.Root.Names = pikepdf.Dictionary(Dests=_flat_names(out, dests))
        if outline:
            outlines = out.make_indirect(pikepdf.Dictionary())
            outlines.Count = _write_outline(out, outline, outlines)
            out.Root.Outlines = outlines
        if "/Info" in sources[0].trailer:
            out.trailer.Info = out.make_indirect(_copy(out, sources[0], sources[0].trailer.Info))
        merge_fonts(out, programs)
        if describe is not None:
            describe(out)
        buffer = io.BytesIO()
        out.save(buffer, min_version=max(src.pdf_version for src in sources), **_SAVE)
        return buffer.getvalue()
    finally:
        for src in sources:
            src.close()
        out.close()


def _copy(out: pikepdf.Pdf, src: pikepdf.Pdf, obj: pikepdf.Object) -> pikepdf.Object:
    """`obj` of `src` copied into `out` (qpdf copies only indirect objects: a direct one goes in a holder)."""
    if not isinstance(obj, pikepdf.Object):  # a number, a string, a name given as a Python value
        return obj
    return out.copy_foreign(src.make_indirect(pikepdf.Array([obj])))[0]


def _flatten(items: list[_Bookmark]) -> Iterator[_Bookmark]:
    for item in items:
        yield item
        yield from _flatten(item.children)


def _only_kid(element: pikepdf.Object) -> pikepdf.Object | None:
    kids = [kid for kid in _kids(element) if _is_element(kid)]
    return kids[0] if len(kids) == 1 and len(_kids(element)) == 1 else None


def _adopt(parent: pikepdf.Object, kids: list[pikepdf.Object]) -> None:
    for kid in kids:
        if _is_element(kid):
            kid.P = parent
    parent.K = pikepdf.Array(_kids(parent) + kids)


def _shift_struct_parents(pdf: pikepdf.Pdf, offset: int) -> int:
    """Add `offset` to every StructParent(s) key of the part, in its pages, its annotations and its
    ParentTree; returns how many keys the part uses (its ParentTreeNextKey)."""
    tree = pdf.Root.StructTreeRoot
    used = int(tree.get("/ParentTreeNextKey", 0))
    pairs = _number_tree(tree.ParentTree)
    used = max([used, *(key + 1 for key, _ in pairs)])
    if offset:
        for page in pdf.pages:
            if "/StructParents" in page.obj:
                page.obj.StructParents = int(page.obj.StructParents) + offset
            for annotation in page.obj.get("/Annots", []):
                if "/StructParent" in annotation:
                    annotation.StructParent = int(annotation.StructParent) + offset
        nums = pikepdf.Array()
        for key, value in pairs:
            nums.append(key + offset)
            nums.append(value)
        tree.ParentTree = pdf.make_indirect(pikepdf.Dictionary(Nums=nums))
    return used


_NOTE = re.compile(rb"note-(\d+)")


def _rename_ids(pdf: pikepdf.Pdf, number: int, notes_before: int) -> int:
    """Make the part's element IDs unique in the document (see the module docstring); returns the number
    of notes so far. The IDTree and the cells' /Headers follow."""
    tree = pdf.Root.StructTreeRoot
    renamed: dict[bytes, bytes] = {}
    notes = notes_before
    cells = []
    for element in _elements(tree):
        if "/ID" in element:
            old = bytes(element.ID)
            match = _NOTE.fullmatch(old)
            if element.get("/S") == "/Note" and match:
                new = b"note-%d" % (int(match.group(1)) + notes_before)
                notes = max(notes, int(match.group(1)) + notes_before)
            else:
                new = b"p%d-" % number + old
            renamed[old] = new
            element.ID = pikepdf.String(new)
        attributes = element.get("/A")
        for attribute in attributes if isinstance(attributes, pikepdf.Array) else [attributes]:
            if isinstance(attribute, pikepdf.Dictionary) and "/Headers" in attribute:
                cells.append(attribute)
    for attribute in cells:
        attribute.Headers = pikepdf.Array([pikepdf.String(renamed.get(bytes(h), bytes(h)))
                                           for h in attribute.Headers])
    if "/IDTree" in tree:
        pairs = [(renamed.get(key, key), value) for key, value in _name_tree(tree.IDTree)]
        tree.IDTree = _flat_names(pdf, pairs)
    return notes


# -- A lead page -------------------------------------------------------------------------------

def drop_first_page(data: bytes) -> bytes:
    """The PDF without its first page, nor anything of the structure tree that belongs to it."""
    with pikepdf.open(io.BytesIO(data)) as pdf:
        page = pdf.pages[0].obj
        gone = page.objgen
        annotations = {annotation.objgen for annotation in page.get("/Annots", [])}
        tree = pdf.Root.StructTreeRoot
        for element in list(_elements(tree)):
            on_page = element.get("/Pg") is not None and element.Pg.objgen == gone
            kept = []
            for kid in _kids(element):
                if isinstance(kid, int) and on_page:
                    continue  # marked content of the lead page
                if isinstance(kid, pikepdf.Dictionary) and kid.get("/Type") == "/MCR":
                    target = kid.get("/Pg", element.get("/Pg"))
                    if target is not None and target.objgen == gone:
                        continue
                is_objr = isinstance(kid, pikepdf.Dictionary) and kid.get("/Type") == "/OBJR"
                if is_objr and kid.Obj.objgen in annotations:
                    continue
                kept.append(kid)
            if len(kept) != len(_kids(element)):
                element.K = pikepdf.Array(kept)
            if on_page and not any(isinstance(kid, int) for kid in kept):
                del element["/Pg"]
        _prune(tree)
        for element in _elements(tree):  # an element whose only page was the lead page, with kids elsewhere
            if element.get("/Pg") is not None and element.Pg.objgen == gone:
                del element["/Pg"]
        lost = {int(page.get("/StructParents", -1))} | {int(a.get("/StructParent", -1))
                                                        for a in page.get("/Annots", [])}
        nums = pikepdf.Array()
        for key, value in _number_tree(tree.ParentTree):
            if key not in lost:
                nums.append(key)
                nums.append(value)
        tree.ParentTree = pdf.make_indirect(pikepdf.Dictionary(Nums=nums))
        names = pdf.Root.get("/Names", {}).get("/Dests")
        if names is not None:
            pdf.Root.Names.Dests = _flat_names(pdf, [(key, value) for key, value in _name_tree(names)
                                                     if not _points_to(value, gone)])
        del pdf.pages[0]
        out = io.BytesIO()
        pdf.save(out, static_id=True, compress_streams=True, object_stream_mode=pikepdf.ObjectStreamMode.preserve)
        return out.getvalue()


def _points_to(dest: pikepdf.Object, objgen: tuple[int, int]) -> bool:
    return isinstance(dest, pikepdf.Array) and len(dest) > 0 and getattr(dest[0], "objgen", None) == objgen


def _prune(root: pikepdf.Object) -> None:
    """Remove elements left without kids, bottom up (the Document is kept)."""
    changed = True
    while changed:
        changed = False
        for element in list(_elements(root)):
            kids = _kids(element)
            empty = [kid for kid in kids if _is_element(kid) and not _kids(kid) and kid.get("/S") != "/Document"]
            if empty:
                ids = {kid.objgen for kid in empty}
                element.K = pikepdf.Array([kid for kid in kids if not (_is_element(kid) and kid.objgen in ids)])
                changed = True


# -- Fonts ---------------------------------------------------------------------------------------

class Programs(Protocol):
    """Where merged font programs are kept between builds (a dict will do)."""

    def get(self, key: str) -> bytes | None: ...

    def __setitem__(self, key: str, value: bytes) -> None: ...


def merge_fonts(pdf: pikepdf.Pdf, programs: Programs | None = None) -> int:
    """One font per name: the subsets of each part merged (see the module docstring); returns how many
    font dictionaries now share another's program."""
    groups: dict[bytes, list[pikepdf.Object]] = {}
    holders: list[pikepdf.Object] = []  # the /Font resource dictionaries
    seen: set[tuple[int, int]] = set()
    for resources in _resources(pdf):
        fonts = resources.get("/Font")
        if not isinstance(fonts, pikepdf.Dictionary):
            continue
        if fonts.is_indirect and fonts.objgen in seen:
            continue
        if fonts.is_indirect:
            seen.add(fonts.objgen)
        holders.append(fonts)
        for font in fonts.values():
            if not (isinstance(font, pikepdf.Dictionary) and font.get("/Subtype") == "/Type0" and font.is_indirect):
                continue
            group = groups.setdefault(bytes(font.BaseFont), [])
            if all(other.objgen != font.objgen for other in group):
                group.append(font)
    canonical: dict[tuple[int, int], pikepdf.Object] = {}
    for group in groups.values():
        if len(group) > 1 and _merge_group(pdf, group, programs):
            for font in group[1:]:
                canonical[font.objgen] = group[0]
    for fonts in holders:
        for key, font in list(fonts.items()):
            if isinstance(font, pikepdf.Dictionary) and font.is_indirect and font.objgen in canonical:
                fonts[key] = canonical[font.objgen]
    return len(canonical)


def _resources(pdf: pikepdf.Pdf) -> Iterator[pikepdf.Object]:
    """Every resource dictionary of the pages and of the forms they paint."""
    seen: set[tuple[int, int]] = set()
    stack = [page.obj.get("/Resources") for page in pdf.pages]
    while stack:
        resources = stack.pop()
        if not isinstance(resources, pikepdf.Dictionary):
            continue
        if resources.is_indirect:
            if resources.objgen in seen:
                continue
            seen.add(resources.objgen)
        yield resources
        for group in ("/XObject", "/Pattern"):
            for value in (resources.get(group) or pikepdf.Dictionary()).values():
                if isinstance(value, (pikepdf.Stream, pikepdf.Dictionary)) and "/Resources" in value:
                    stack.append(value.Resources)


def _merge_group(pdf: pikepdf.Pdf, group: list[pikepdf.Object], programs: Programs | None) -> bool:
    """Merge the Type0 fonts of `group` (one name) into group[0]; False when they cannot be merged.
    `programs` keeps merged font programs by the hash of their parts' programs (parallel.PartStore)."""
    descendants = [font.DescendantFonts[0] for font in group]
    if any(str(d.get("/Subtype")) != "/CIDFontType2" or d.get("/CIDToGIDMap") != pikepdf.Name.Identity
           or "/FontFile2" not in d.FontDescriptor for d in descendants):
        return False
    sources = [d.FontDescriptor.FontFile2.read_bytes() for d in descendants]
    maps = [_to_unicode(font.get("/ToUnicode")) for font in group]
    hasher = hashlib.sha256()
    for source in sources:
        hasher.update(len(source).to_bytes(8, "little") + source)
    hasher.update(repr([max(mapping, default=-1) for mapping in maps]).encode())
    key = hasher.hexdigest()
    program = programs.get(key) if programs is not None else None
    if program is None:
        program = _merged_program(sources, maps)
        if programs is not None:
            programs[key] = program
    if not program:
        return False
    widths: dict[int, float] = {}
    for descendant in reversed(descendants):  # the first part's values win
        widths.update(_widths(descendant.get("/W")))
    unicode: dict[int, str] = {}
    for mapping in reversed(maps):  # the first part that used a glyph says what it reads as, as in one pass
        unicode.update(mapping)
    target = descendants[0]
    target.FontDescriptor.FontFile2 = pdf.make_stream(program, Length1=len(program))
    target.W = _w_array(widths)
    group[0].ToUnicode = pdf.make_stream(_cmap(unicode))
    return True


def _merged_program(sources: list[bytes], maps: list[dict[int, str]]) -> bytes:
    """One TrueType program with every glyph of `sources` (subsets of one font, glyph ids kept); b""
    when they cannot be merged."""
    from fontTools.ttLib import TTFont

    # recalcTimestamp=False: the merged font keeps its parts' date (fontTools would write the time of the build)
    programs = [TTFont(io.BytesIO(source), recalcTimestamp=False) for source in sources]
    if any(gid >= len(program.getGlyphOrder()) for program, mapping in zip(programs, maps, strict=True)
           for gid in mapping):
        return b""  # glyphs WeasyPrint added for characters no font has: numbered per part
    base = max(programs, key=lambda program: len(program.getGlyphOrder()))
    order = base.getGlyphOrder()
    glyf, hmtx = base["glyf"], base["hmtx"]
    for program in programs:
        if program is base:
            continue
        for gid, name in enumerate(program.getGlyphOrder()):
            other = program["glyf"][name]
            if other.numberOfContours == 0 or glyf[order[gid]].numberOfContours != 0:
                continue
            if other.isComposite():  # its components are named in the other font's glyph order
                other = copy.deepcopy(other)
                for component in other.components:
                    component.glyphName = order[program.getGlyphID(component.glyphName)]
            glyf[order[gid]] = other
            hmtx[order[gid]] = program["hmtx"][name]
    data = io.BytesIO()
    base.save(data)
    return data.getvalue()


def _widths(array: pikepdf.Object | None) -> dict[int, float]:
    widths: dict[int, float] = {}
    if not isinstance(array, pikepdf.Array):
        return widths
    items = list(array)
    index = 0
    while index < len(items):
        first = int(items[index])
        if isinstance(items[index + 1], pikepdf.Array):
            for offset, value in enumerate(items[index + 1]):
                widths[first + offset] = float(value)
            index += 2
        else:
            last, same = int(items[index + 1]), float(items[index + 2])
            for gid in range(first, last + 1):
                widths[gid] = same
            index += 3
    return widths


def _w_array(widths: dict[int, float]) -> pikepdf.Array:
    """`[first [w w ...] first [w ...]]`, one run per range of consecutive glyph ids."""
    out = pikepdf.Array()
    run: list[float] = []
    start = previous = None
    for gid in sorted(widths):
        if previous is not None and gid == previous + 1:
            run.append(widths[gid])
        else:
            if run:
                out.append(start)
                out.append(pikepdf.Array([_number(w) for w in run]))
            start, run = gid, [widths[gid]]
        previous = gid
    if run:
        out.append(start)
        out.append(pikepdf.Array([_number(w) for w in run]))
    return out


def _number(value: float) -> int | float:
    return int(value) if value == int(value) else value


_BFCHAR = re.compile(rb"<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]*)>")
_BFBLOCK = re.compile(rb"beginbfchar(.*?)endbfchar", re.S)


def _to_unicode(stream: pikepdf.Object | None) -> dict[int, str]:
    """glyph id -> text of a ToUnicode CMap as WeasyPrint writes it (bfchar entries only)."""
    mapping: dict[int, str] = {}
    if not isinstance(stream, pikepdf.Stream):
        return mapping
    data = stream.read_bytes()
    if b"beginbfrange" in data:
        raise ValueError("a ToUnicode CMap with ranges")
    for block in _BFBLOCK.findall(data):
        for code, text in _BFCHAR.findall(block):
            mapping[int(code, 16)] = bytes.fromhex(text.decode()).decode("utf-16-be", "surrogatepass")
    return mapping


def _cmap(mapping: dict[int, str]) -> bytes:
    """A ToUnicode CMap in WeasyPrint's form (pdf/fonts.py), glyphs in ascending order."""
    lines = [b"/CIDInit /ProcSet findresource begin", b"12 dict begin", b"begincmap", b"/CIDSystemInfo",
             b"<< /Registry (Adobe)", b"/Ordering (UCS)", b"/Supplement 0", b">> def",
             b"/CMapName /Adobe-Identity-UCS def", b"/CMapType 2 def", b"1 begincodespacerange",
             b"<0000> <ffff>", b"endcodespacerange"]
    items = sorted(mapping.items())
    for start in range(0, len(items), 100):
        batch = items[start:start + 100]
        lines.append(f"{len(batch)} beginbfchar".encode())
        for gid, text in batch:
            lines.append(f"<{gid:04x}> <{text.encode('utf-16-be', 'surrogatepass').hex()}>".encode())
        lines.append(b"endbfchar")
    lines += [b"endcmap", b"CMapName currentdict /CMap defineresource pop", b"end", b"end"]
    return b"\n".join(lines)
