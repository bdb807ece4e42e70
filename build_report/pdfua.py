"""A PDF/UA-1 checker: the failure conditions of the Matterhorn Protocol 1.1 that a program can decide.

The Matterhorn Protocol (PDF Association) lists the ways a file can fail ISO 14289-1 (PDF/UA-1) as
numbered failure conditions, 01-001 to 31-030. About half of them are machine-checkable; the rest
need a person (is the alt text right? is the reading order logical?). This module implements the
machine-checkable ones that matter for files like ours, so that "PDF/UA-1" is claimed only for what
is checked (issue 10). The approach:

- `Document` reads the file once with pikepdf and caches what several checks share: the structure
  tree (every element, its role-mapped standard type, its parent, the marked-content ids (MCIDs)
  and objects it owns), and one walk of every page's content stream, and of each Form XObject the
  page paints, with its own context (`_ContentWalk`). The walk tracks BMC/BDC/EMC nesting: each
  painting operator must be inside content that is tagged (an MCID some element owns) or an
  /Artifact, never both; it also records the fonts and character codes that are shown.
- One function per checkpoint group (`check_content`, `check_structure_types`, `check_fonts`, ...)
  yields `Finding`s; `CHECKS` maps each Matterhorn id (and a few `ST-` ids for the Tagged PDF
  plumbing of ISO 32000-1 14.7 that Matterhorn has no number for, such as the ParentTree) to its
  description and the group that decides it.
- `check(path)` runs every group and returns a `Report`: per failing checkpoint its count and the
  first examples, a summary line "N checks passed, M failed", and an exit status (0 clean, 1 not).

`HUMAN_ONLY` lists the checkpoints a program cannot decide. `python tests/pdfua.py FILE` and
`build-report check-pdf FILE` print the report.
"""

from __future__ import annotations

import hashlib
import re
import struct
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import BinaryIO

import pikepdf
from pikepdf import Array, Dictionary, Name, Stream

EXAMPLES = 3  # examples kept per failing checkpoint in the report


@dataclass(frozen=True)
class Finding:
    checkpoint: str
    page: int | None  # 1-based page number, None for the document as a whole
    obj: str  # the object concerned, e.g. "12 0 R" or "catalog"
    message: str

    def __str__(self) -> str:
        where = f"page {self.page}, " if self.page else ""
        return f"{where}{self.obj}: {self.message}"


# ---------------------------------------------------------------------------------------------
# The registry: checkpoint id -> description. Groups register the ids they decide (see CHECKS).

DESCRIPTIONS: dict[str, str] = {
    "01-003": "content marked as Artifact is inside tagged content",
    "01-004": "tagged content is inside content marked as Artifact",
    "01-005": "content is neither tagged as real content nor marked as Artifact",
    "01-007": "the MarkInfo Suspects entry is true",
    "02-001": "a non-standard structure type is not mapped (through RoleMap) to a standard type",
    "02-003": "the RoleMap has a circular mapping",
    "02-004": "a standard structure type is remapped",
    "06-001": "the catalog has no XMP metadata stream",
    "06-002": "the XMP metadata has no PDF/UA identifier (pdfuaid:part)",
    "06-003": "the XMP metadata has no dc:title",
    "07-001": "ViewerPreferences has no DisplayDocTitle entry",
    "07-002": "ViewerPreferences DisplayDocTitle is false",
    "09-004": "a table element is nested against ISO 32000-1 Table 337 (TR, TH, TD, THead, TBody, TFoot)",
    "09-005": "a list element is nested against ISO 32000-1 Table 336 (L, LI, Lbl, LBody)",
    "09-006": "a TOC element is nested against ISO 32000-1 Table 333 (TOC, TOCI)",
    "09-007": "a Ruby element is nested against ISO 32000-1 Table 338 (Ruby, RB, RT, RP)",
    "09-008": "a Warichu element is nested against ISO 32000-1 Table 338 (Warichu, WT, WP)",
    "10-001": "a character code cannot be mapped to Unicode",
    "11-001": "the natural language of page content cannot be determined",
    "11-002": "the natural language of an Alt, ActualText or E entry cannot be determined",
    "11-003": "the natural language of the outline entries cannot be determined",
    "11-004": "the natural language of an annotation's Contents cannot be determined",
    "11-005": "the natural language of a form field's TU cannot be determined",
    "11-006": "the natural language of the document metadata cannot be determined",
    "13-004": "a Figure has neither Alt nor ActualText",
    "14-002": "numbered headings are used, but the first is not H1",
    "14-003": "a numbered heading level is skipped (H3 directly after H1)",
    "14-006": "a structure element contains more than one H",
    "14-007": "the document uses both H and H1..H6",
    "15-003": "a TH has no Scope in a table not organised with Headers and IDs",
    "17-002": "a Formula has no Alt",
    "19-003": "a Note has no ID",
    "19-004": "a Note's ID is not unique",
    "20-001": "an optional content configuration in Configs has no Name (or an empty one)",
    "20-002": "the default optional content configuration (D) has no Name (or an empty one)",
    "20-003": "an optional content configuration has an AS entry",
    "21-001": "an embedded file's file specification lacks F or UF",
    "25-001": "the XFA form has dynamicRender set to required",
    "26-001": "the file is encrypted without a P entry",
    "26-002": "the file is encrypted and P denies content extraction for accessibility (bit 10)",
    "28-002": "an annotation other than Widget, Link and PrinterMark is not a child of an Annot element",
    "28-004": "an annotation other than Widget has neither Contents nor an Alt on its element",
    "28-005": "a form field has neither TU nor an Alt on its element",
    "28-006": "an annotation's subtype is not defined in ISO 32000-1",
    "28-007": "a TrapNet annotation exists",
    "28-008": "a page with annotations has no Tabs entry",
    "28-009": "a page with annotations has Tabs other than /S",
    "28-010": "a Widget annotation is not nested in a Form element",
    "28-011": "a Link annotation is not nested in a Link element",
    "28-012": "a Link annotation has no Contents (alternate description)",
    "28-014": "a media clip data dictionary has no CT entry",
    "28-015": "a media clip data dictionary has no Alt entry",
    "28-016": "a FileAttachment annotation's file specification lacks F or UF",
    "28-017": "a PrinterMark annotation is in the logical structure",
    "30-001": "a reference XObject is present",
    "30-002": "a Form XObject that contains MCIDs is painted more than once",
    "31-001": "a Type 0 font's CMap and CIDFont have different Registry values",
    "31-002": "a Type 0 font's CMap and CIDFont have different Ordering values",
    "31-003": "a Type 0 font's CIDFont Supplement is less than its CMap's",
    "31-004": "a Type 2 CIDFont's CIDToGIDMap is neither a stream nor /Identity",
    "31-005": "a Type 2 CIDFont has no CIDToGIDMap",
    "31-006": "a CMap is neither predefined (ISO 32000-1 Table 118) nor embedded",
    "31-007": "a CMap's WMode entry differs from the WMode in its stream",
    "31-008": "a CMap uses (UseCMap) a CMap that is not predefined",
    "31-009": "a font used for rendered text is not embedded",
    "31-019": "a non-symbolic TrueType font has no Encoding",
    "31-020": "a non-symbolic TrueType font's Encoding dictionary has no BaseEncoding",
    "31-021": "a non-symbolic TrueType font's encoding is neither MacRoman nor WinAnsi",
    "31-024": "a symbolic TrueType font has an Encoding entry",
    "31-027": "a font has no ToUnicode and no encoding from which Unicode can be derived",
    "31-028": "a ToUnicode CMap maps a code to U+0000",
    "31-029": "a ToUnicode CMap maps a code to U+FEFF or U+FFFE",
    "31-030": "text shows the .notdef glyph",
    # Tagged PDF plumbing (ISO 32000-1 14.7-14.8, required by ISO 14289-1 7.1); no Matterhorn number.
    "ST-001": "the catalog has no StructTreeRoot, or MarkInfo Marked is not true",
    "ST-002": "the ParentTree does not map each page's MCIDs to the structure element that owns them",
    "ST-003": "a StructParent does not resolve to a structure element that references the object (OBJR)",
    "ST-004": "an MCID is owned by more than one structure element, or an element owns an MCID not in the content",
    "ST-005": "elements have IDs but the IDTree is missing or does not map them",
}

# Matterhorn 1.1 failure conditions that only a person can judge (the "human" ones), in brief.
HUMAN_ONLY: dict[str, str] = {
    "01-001/002": "artifacts tagged as real content, or real content marked as artifact",
    "01-006": "structure types not semantically appropriate for the content",
    "02-002": "a role mapping that is not semantically appropriate",
    "03-001": "flickering content",
    "04-001": "information conveyed by colour or contrast alone",
    "05-001": "sound conveyed without alternative",
    "06-004": "the title (dc:title) does not clearly identify the document",
    "08-001/002": "OCR text that is wrong or not verified",
    "09-001..003": "logical reading order; semantically correct nesting and types",
    "10-002": "Unicode values that are wrong although present",
    "11-001..005 (correct)": "whether the declared language is the right one",
    "12-001": "content relying on sensory characteristics (shape, position)",
    "13-001..003, 13-005..008": "graphics: right tag, meaningful alt text, captions, text in images",
    "14-001, 14-004, 14-005": "headings: is it really a heading, the right level, tagged at all",
    "15-001, 15-002, 15-004, 15-005": "tables: header cells, cells tagged as tables that are not tables",
    "16-001..003": "lists: list content tagged as list, right Lbl/LBody",
    "17-001": "mathematical expressions not tagged as Formula",
    "18-001..003": "page headers and footers not marked as artifacts",
    "19-001, 19-002": "footnotes and endnotes not tagged as Note",
    "22-001": "a document structure not evident from the tags",
    "23-001": "digital signatures: content understandable",
    "24-001": "non-interactive forms not tagged",
    "27-001": "navigation: outline entries not matching the structure",
    "28-001, 28-003, 28-013": "annotation purpose, order and media descriptions correct",
    "29-001": "security settings making content unavailable in practice",
    "31-010, 31-011, 31-012..018, 31-022, 31-023, 31-025, 31-026":
        "font-program checks not implemented here (glyphs, widths, CIDSet, CharSet, TrueType cmaps): "
        "machine-checkable but need the embedded font programs parsed",
}

def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


STANDARD_TYPES = _words("""
Document Part Art Sect Div BlockQuote Caption TOC TOCI Index NonStruct Private
H H1 H2 H3 H4 H5 H6 P L LI Lbl LBody Table TR TH TD THead TBody TFoot
Span Quote Note Reference BibEntry Code Link Annot Ruby RB RT RP Warichu WT WP
Figure Formula Form
""")

# Where an element may appear (its parent) and what it may contain, from ISO 32000-1 Tables 333, 336-338.
PARENTS: dict[str, tuple[str, frozenset[str]]] = {
    "TOCI": ("09-006", frozenset({"TOC"})),
    "LI": ("09-005", frozenset({"L"})),
    "LBody": ("09-005", frozenset({"LI"})),
    "TR": ("09-004", frozenset({"Table", "THead", "TBody", "TFoot"})),
    "TH": ("09-004", frozenset({"TR"})),
    "TD": ("09-004", frozenset({"TR"})),
    "THead": ("09-004", frozenset({"Table"})),
    "TBody": ("09-004", frozenset({"Table"})),
    "TFoot": ("09-004", frozenset({"Table"})),
    "RB": ("09-007", frozenset({"Ruby"})),
    "RT": ("09-007", frozenset({"Ruby"})),
    "RP": ("09-007", frozenset({"Ruby", "Warichu"})),
    "WT": ("09-008", frozenset({"Warichu"})),
    "WP": ("09-008", frozenset({"Warichu"})),
}
CHILDREN: dict[str, tuple[str, frozenset[str]]] = {
    "TOC": ("09-006", frozenset({"TOC", "TOCI", "Caption"})),
    "TOCI": ("09-006", frozenset({"Lbl", "Reference", "NonStruct", "P", "TOC"})),
    "L": ("09-005", frozenset({"L", "LI", "Caption"})),
    "LI": ("09-005", frozenset({"Lbl", "LBody"})),
    "Table": ("09-004", frozenset({"TR", "THead", "TBody", "TFoot", "Caption"})),
    "THead": ("09-004", frozenset({"TR"})),
    "TBody": ("09-004", frozenset({"TR"})),
    "TFoot": ("09-004", frozenset({"TR"})),
    "TR": ("09-004", frozenset({"TH", "TD"})),
    "Ruby": ("09-007", frozenset({"RB", "RT", "RP"})),
    "Warichu": ("09-008", frozenset({"WT", "WP"})),
}

ANNOTATION_TYPES = _words("""
Text Link FreeText Line Square Circle Polygon PolyLine Highlight Underline Squiggly StrikeOut Stamp
Caret Ink Popup FileAttachment Sound Movie Widget Screen PrinterMark TrapNet Watermark 3D
""")

# ISO 32000-1 Table 118: the predefined CMaps.
PREDEFINED_CMAPS = _words("""
GB-EUC-H GB-EUC-V GBpc-EUC-H GBpc-EUC-V GBK-EUC-H GBK-EUC-V GBKp-EUC-H GBKp-EUC-V GBK2K-H GBK2K-V
UniGB-UCS2-H UniGB-UCS2-V UniGB-UTF16-H UniGB-UTF16-V B5pc-H B5pc-V HKscs-B5-H HKscs-B5-V ETen-B5-H
ETen-B5-V ETenms-B5-H ETenms-B5-V CNS-EUC-H CNS-EUC-V UniCNS-UCS2-H UniCNS-UCS2-V UniCNS-UTF16-H
UniCNS-UTF16-V 83pv-RKSJ-H 90ms-RKSJ-H 90ms-RKSJ-V 90msp-RKSJ-H 90msp-RKSJ-V 90pv-RKSJ-H Add-RKSJ-H
Add-RKSJ-V EUC-H EUC-V Ext-RKSJ-H Ext-RKSJ-V H V UniJIS-UCS2-H UniJIS-UCS2-V UniJIS-UCS2-HW-H
UniJIS-UCS2-HW-V UniJIS-UTF16-H UniJIS-UTF16-V KSC-EUC-H KSC-EUC-V KSCms-UHC-H KSCms-UHC-V
KSCms-UHC-HW-H KSCms-UHC-HW-V KSCpc-EUC-H UniKS-UCS2-H UniKS-UCS2-V UniKS-UTF16-H UniKS-UTF16-V
Identity-H Identity-V
""")

_TEXT_OPS = frozenset({"Tj", "TJ", "'", '"'})
_PAINT_OPS = _TEXT_OPS | frozenset({"S", "s", "f", "F", "f*", "B", "B*", "b", "b*", "sh", "INLINE IMAGE"})
_LANG = re.compile(r"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$")


def _ref(obj) -> str:
    """'12 0 R' for an indirect object, else a short description."""
    try:
        if obj.is_indirect:
            return f"{obj.objgen[0]} {obj.objgen[1]} R"
    except AttributeError:
        pass
    return "direct object"


def _key(obj) -> tuple[int, int] | int:
    """An identity for an object: its object number for indirect ones, else the Python id."""
    return obj.objgen if getattr(obj, "is_indirect", False) else id(obj)


def _name(value) -> str:
    return str(value)[1:] if isinstance(value, Name) else ""


def _text(value) -> str:
    return str(value) if isinstance(value, pikepdf.String) else ""


# ---------------------------------------------------------------------------------------------
# The structure tree


@dataclass(eq=False)
class Element:
    obj: Dictionary
    type: str  # as written (/S)
    std: str  # after RoleMap ('' if it does not end in a standard type)
    parent: Element | None
    page: tuple[int, int] | None  # objgen of /Pg (inherited)
    children: list[Element] = field(default_factory=list)
    mcids: list[tuple[tuple[int, int] | int, int]] = field(default_factory=list)  # (page or stream, MCID)
    objrs: list[tuple[int, int] | int] = field(default_factory=list)  # objects referenced by OBJR

    def lang(self) -> str:
        """The language that applies to this element: its own /Lang or the nearest ancestor's."""
        element: Element | None = self
        while element is not None:
            lang = _text(element.obj.get("/Lang"))
            if lang:
                return lang
            element = element.parent
        return ""


# ---------------------------------------------------------------------------------------------
# The content walk


@dataclass
class _FontUse:
    font: Dictionary
    page: int
    codes: set[int] = field(default_factory=set)
    rendered: bool = False  # shown with a rendering mode other than 3 (invisible)


class PageMemo:
    """What the content walk learnt from pages that needed nothing else: found nothing wrong, painted no
    Form XObject and named no marked-content properties. Keyed by the SHA-256 of the page's content,
    it holds the page's MCIDs and, per font resource name, the codes shown and whether visibly.

    The parallel build (parallel.py) keeps one per document in its cache: the pages of a part taken
    from the cache have the same content in the stitched file, so only the pages of parts rendered
    again are walked. A remembered page is used only if every one of its MCIDs is owned by a
    structure element of the file checked and each font name it used is a font of that page's
    resources; otherwise it is walked as any other page."""

    def __init__(self, entries: dict[str, dict] | None = None):
        self.entries: dict[str, dict] = dict(entries or {})
        self.used: set[str] = set()

    def kept(self) -> dict[str, dict]:
        """The entries this check used or made: what to keep for the next one."""
        return {key: self.entries[key] for key in sorted(self.used) if key in self.entries}


class _ContentWalk:
    """One pass over every page's content and the Form XObjects it paints.

    Records (checkpoint, page, object, message) problems of marked content, the MCIDs present
    per page or stream, the fonts and codes shown, and how often each Form XObject is painted."""

    def __init__(self, doc: Document, memo: PageMemo | None = None):
        self.doc = doc
        self.memo = memo
        self.findings: list[Finding] = []
        self.mcids: dict[tuple[int, int] | int, set[int]] = defaultdict(set)
        self.fonts: dict[tuple[int, int] | int, _FontUse] = {}
        self.form_uses: Counter = Counter()
        self.forms_with_mcids: set[tuple[int, int] | int] = set()
        self._walked: set[tuple] = set()
        self._page_fonts: dict[str, list] | None = None  # font name -> [shown visibly, codes], while memoising
        self._simple = True  # the page walked so far painted no Form XObject and named no properties

    def run(self) -> None:
        for number, page in enumerate(self.doc.pdf.pages, 1):
            digest = _content_digest(page.obj) if self.memo is not None else None
            if digest is not None and self._recall(digest, page.obj, number):
                continue
            try:
                operations = pikepdf.parse_content_stream(page)
            except pikepdf.PdfError as exc:
                self.findings.append(Finding("01-005", number, _ref(page.obj), f"content cannot be parsed: {exc}"))
                continue
            found, self._simple = len(self.findings), True
            shown: dict[str, list] | None = {} if digest is not None else None
            self._page_fonts = shown
            self._walk(operations, page.obj.get("/Resources", Dictionary()), number, page.obj.objgen, None)
            self._page_fonts = None
            if digest is not None and shown is not None and self.memo is not None and self._simple \
                    and len(self.findings) == found:
                self.memo.entries[digest] = {
                    "mcids": sorted(self.mcids.get(page.obj.objgen, ())),
                    "fonts": {name: [visible, sorted(codes)] for name, (visible, codes) in shown.items()}}
                self.memo.used.add(digest)

    def _recall(self, digest: str, page: Dictionary, number: int) -> bool:
        """Take the page's walk from the memo, if it has one that holds for this file."""
        assert self.memo is not None
        entry = self.memo.entries.get(digest)
        if not isinstance(entry, dict):
            return False
        try:
            mcids = [int(mcid) for mcid in entry["mcids"]]
            resources = page.get("/Resources", Dictionary())
            fonts = resources.get("/Font", Dictionary()) if isinstance(resources, Dictionary) else Dictionary()
            uses = [(fonts.get(Name(name)), bool(visible), [int(code) for code in codes])
                    for name, (visible, codes) in entry["fonts"].items()]
        except (KeyError, TypeError, ValueError):
            return False
        if any((page.objgen, mcid) not in self.doc.owners for mcid in mcids):
            return False
        dictionaries = [(font, visible, codes) for font, visible, codes in uses if isinstance(font, Dictionary)]
        if len(dictionaries) != len(uses):
            return False
        if mcids:
            self.mcids[page.objgen].update(mcids)
        for font, visible, codes in dictionaries:
            use = self._font_use(font, number)
            use.codes.update(codes)
            use.rendered = use.rendered or visible
        self.memo.used.add(digest)
        return True

    def _walk(self, operations, resources, page: int, owner, inherited: str | None) -> None:
        """`owner`: the page or Form XObject whose MCIDs these are; `inherited`: 'tagged' or
        'artifact' when the XObject is painted inside such content, else None."""
        stack: list[str] = []  # 'mcid', 'artifact' or 'other' per open BMC/BDC
        render_modes = [0]
        font_use: _FontUse | None = None
        shown: list | None = None  # this page's record of the current font (PageMemo)
        fonts = resources.get("/Font", Dictionary()) if isinstance(resources, Dictionary) else Dictionary()
        for operands, operator in operations:
            op = str(operator)
            if op in ("BDC", "BMC"):
                tag = _name(operands[0]) if operands else ""
                props = operands[1] if op == "BDC" and len(operands) > 1 else None
                if isinstance(props, Name):
                    self._simple = False
                    props = resources.get("/Properties", Dictionary()).get(props)
                mcid = props.get("/MCID") if isinstance(props, Dictionary) else None
                state = self._state(stack, inherited)
                if tag == "Artifact":
                    if state == "tagged":
                        self.findings.append(Finding("01-003", page, _ref(owner_obj(self.doc, owner)),
                                                     "an Artifact is opened inside tagged content"))
                    stack.append("artifact")
                elif mcid is not None:
                    if state == "artifact":
                        self.findings.append(Finding("01-004", page, _ref(owner_obj(self.doc, owner)),
                                                     f"MCID {mcid} is inside an Artifact"))
                    self.mcids[owner].add(int(mcid))
                    if not isinstance(owner, tuple) or owner not in self.doc.page_numbers:
                        self.forms_with_mcids.add(owner)
                    owned = (owner, int(mcid)) in self.doc.owners
                    stack.append("mcid" if owned else f"unowned MCID {mcid}")
                else:
                    stack.append("other")
            elif op == "EMC":
                if stack:
                    stack.pop()
            elif op == "q":
                render_modes.append(render_modes[-1])
            elif op == "Q":
                if len(render_modes) > 1:
                    render_modes.pop()
            elif op == "Tr" and operands:
                render_modes[-1] = int(operands[0])
            elif op == "Tf" and operands:
                font = fonts.get(operands[0])
                font_use = self._font_use(font, page) if isinstance(font, Dictionary) else None
                shown = None
                if self._page_fonts is not None and font_use is not None:
                    shown = self._page_fonts.setdefault(str(operands[0]), [False, set()])
            elif op == "Do" and operands:
                self._do(operands[0], resources, page, stack, inherited)
            if op in _PAINT_OPS:
                state = self._state(stack, inherited)
                if state is None or state.startswith("unowned"):
                    what = "text" if op in _TEXT_OPS else "an image" if op == "INLINE IMAGE" else "a path"
                    why = f"in {state[2:]}, which no element reachable from the StructTreeRoot owns" if state \
                        else "outside marked content"
                    self.findings.append(Finding("01-005", page, _ref(owner_obj(self.doc, owner)),
                                                 f"{what} ({op}) is painted {why}"))
                if op in _TEXT_OPS and font_use is not None:
                    codes = _codes(font_use.font, operands)
                    if render_modes[-1] != 3:
                        font_use.rendered = True
                    font_use.codes.update(codes)
                    if shown is not None:
                        shown[0] = shown[0] or render_modes[-1] != 3
                        shown[1].update(codes)

    def _state(self, stack: list[str], inherited: str | None) -> str | None:
        for entry in reversed(stack):
            if entry in ("mcid", "artifact") or entry.startswith("unowned"):
                return {"mcid": "tagged"}.get(entry, entry)
        return inherited

    def _font_use(self, font: Dictionary, page: int) -> _FontUse:
        key = _key(font)
        if key not in self.fonts:
            self.fonts[key] = _FontUse(font, page)
        return self.fonts[key]

    def _do(self, name, resources, page: int, stack: list[str], inherited: str | None) -> None:
        xobject = resources.get("/XObject", Dictionary()).get(name) if isinstance(resources, Dictionary) else None
        if not isinstance(xobject, Stream):
            return
        state = self._state(stack, inherited)
        if xobject.get("/Subtype") == "/Image":
            if state is None or state.startswith("unowned"):
                self.findings.append(Finding("01-005", page, _ref(xobject), "an image is painted outside tagged "
                                             "or artifact content"))
            return
        if xobject.get("/Subtype") != "/Form":
            return
        self._simple = False
        key = _key(xobject)
        self.form_uses[key] += 1
        context = "tagged" if state and state.startswith(("tagged", "unowned")) else state
        if (key, context) in self._walked:
            return
        self._walked.add((key, context))
        try:
            operations = pikepdf.parse_content_stream(xobject)
        except pikepdf.PdfError:
            return
        self._walk(operations, xobject.get("/Resources", resources), page, key, context)


def _content_digest(page: Dictionary) -> str | None:
    """SHA-256 of a page's content streams, decoded; None when they cannot be read."""
    contents = page.get("/Contents")
    streams = [contents] if isinstance(contents, Stream) else list(contents) if isinstance(contents, Array) else []
    digest = hashlib.sha256()
    try:
        for stream in streams:
            if not isinstance(stream, Stream):
                return None
            data = stream.read_bytes()
            digest.update(len(data).to_bytes(8, "big") + data)
    except pikepdf.PdfError:
        return None
    return digest.hexdigest()


def owner_obj(doc: Document, owner):
    """The page or XObject an owner key stands for (for messages)."""
    return doc.objects_by_key.get(owner, doc.pdf.Root)


def _codes(font: Dictionary, operands) -> set[int]:
    """The character codes a text-showing operator's strings hold (2 bytes each for Identity CMaps)."""
    strings: list[bytes] = []
    for operand in operands:
        if isinstance(operand, pikepdf.String):
            strings.append(bytes(operand))
        elif isinstance(operand, Array):
            strings.extend(bytes(item) for item in operand if isinstance(item, pikepdf.String))
    two = font.get("/Subtype") == "/Type0"
    codes: set[int] = set()
    for data in strings:
        if two:  # big-endian pairs; an odd last byte is no code
            pairs = len(data) // 2
            codes.update(struct.unpack(f">{pairs}H", data[:2 * pairs]))
        else:
            codes.update(data)
    return codes


# ---------------------------------------------------------------------------------------------
# The document: what the checks share, computed once


class Document:
    def __init__(self, pdf: pikepdf.Pdf, memo: PageMemo | None = None):
        self.pdf = pdf
        self.memo = memo
        self.root = pdf.Root
        self.page_numbers = {page.obj.objgen: number for number, page in enumerate(pdf.pages, 1)}
        self.objects_by_key: dict = {page.obj.objgen: page.obj for page in pdf.pages}

    @cached_property
    def role_map(self) -> Dictionary:
        tree = self.root.get("/StructTreeRoot")
        role_map = tree.get("/RoleMap") if isinstance(tree, Dictionary) else None
        return role_map if isinstance(role_map, Dictionary) else Dictionary()

    def standard(self, type_: str) -> str:
        """The standard type `type_` maps to ('' if none, or a loop)."""
        seen = set()
        while type_ not in STANDARD_TYPES:
            if type_ in seen:
                return ""
            seen.add(type_)
            target = _name(self.role_map.get("/" + type_))
            if not target:
                return ""
            type_ = target
        return type_

    @cached_property
    def elements(self) -> list[Element]:
        """Every structure element reachable from StructTreeRoot, in document (pre-)order."""
        tree = self.root.get("/StructTreeRoot")
        out: list[Element] = []
        if not isinstance(tree, Dictionary):
            return out
        seen: set = set()

        def kids(obj) -> list:
            k = obj.get("/K")
            return list(k) if isinstance(k, Array) else [] if k is None else [k]

        todo: list[tuple[object, Element | None, tuple[int, int] | None]] = [
            (kid, None, None) for kid in reversed(kids(tree))]
        while todo:
            obj, parent, page = todo.pop()
            if isinstance(obj, Dictionary) and obj.get("/Type") in ("/MCR", "/OBJR"):
                if parent is None:
                    continue
                pg = obj.get("/Pg")
                where = pg.objgen if isinstance(pg, Dictionary) else page
                if obj.get("/Type") == "/OBJR" and obj.get("/Obj") is not None:
                    parent.objrs.append(_key(obj.Obj))
                    self.objects_by_key.setdefault(_key(obj.Obj), obj.Obj)
                elif obj.get("/MCID") is not None:
                    stm = obj.get("/Stm")
                    owner = _key(stm) if isinstance(stm, Stream) else where
                    if isinstance(stm, Stream):
                        self.objects_by_key.setdefault(owner, stm)
                    if owner is not None:
                        parent.mcids.append((owner, int(obj.MCID)))
            elif isinstance(obj, Dictionary) and "/S" in obj:
                key = _key(obj)
                if key in seen:
                    continue
                seen.add(key)
                pg = obj.get("/Pg")
                where = pg.objgen if isinstance(pg, Dictionary) else page
                type_ = _name(obj.S)
                element = Element(obj, type_, self.standard(type_), parent, where)
                if parent:
                    parent.children.append(element)
                out.append(element)
                todo.extend((kid, element, where) for kid in reversed(kids(obj)))
            elif isinstance(obj, int) and parent is not None and page is not None:
                parent.mcids.append((page, int(obj)))
        return out

    @cached_property
    def owners(self) -> dict[tuple, list[Element]]:
        """(page or stream key, MCID) -> the elements that own it."""
        out: dict[tuple, list[Element]] = defaultdict(list)
        for element in self.elements:
            for owned in element.mcids:
                out[owned].append(element)
        return out

    @cached_property
    def objr_owners(self) -> dict:
        out: dict = defaultdict(list)
        for element in self.elements:
            for key in element.objrs:
                out[key].append(element)
        return out

    @cached_property
    def content(self) -> _ContentWalk:
        walk = _ContentWalk(self, self.memo)
        walk.run()
        return walk

    @cached_property
    def parent_tree(self) -> dict[int, object]:
        """The ParentTree number tree, flattened."""
        tree = self.root.get("/StructTreeRoot")
        node = tree.get("/ParentTree") if isinstance(tree, Dictionary) else None
        return _flatten_tree(node, "/Nums", int) if isinstance(node, Dictionary) else {}

    def annotations(self) -> Iterator[tuple[int, Dictionary, Dictionary]]:
        """(page number, page, annotation) for every annotation."""
        for number, page in enumerate(self.pdf.pages, 1):
            annots = page.obj.get("/Annots")
            for annot in annots if isinstance(annots, Array) else ():
                if isinstance(annot, Dictionary):
                    yield number, page.obj, annot

    def page_number(self, element: Element) -> int | None:
        return self.page_numbers.get(element.page) if element.page else None

    @cached_property
    def catalog_lang(self) -> str:
        return _text(self.root.get("/Lang"))


# ---------------------------------------------------------------------------------------------
# The checkpoint groups: one function each, yielding findings


def check_content(doc: Document) -> Iterable[Finding]:
    """01-003, 01-004, 01-005: every painted thing is tagged or an artifact, never both; 01-007 Suspects."""
    yield from doc.content.findings
    mark_info = doc.root.get("/MarkInfo")
    if isinstance(mark_info, Dictionary) and mark_info.get("/Suspects") is True:
        yield Finding("01-007", None, "catalog", "MarkInfo /Suspects is true")


def check_tagged(doc: Document) -> Iterable[Finding]:
    """ST-001..ST-005: the Tagged PDF plumbing: StructTreeRoot, Marked, ParentTree, OBJR, IDTree."""
    mark_info = doc.root.get("/MarkInfo")
    if not isinstance(doc.root.get("/StructTreeRoot"), Dictionary):
        yield Finding("ST-001", None, "catalog", "no StructTreeRoot: the file is not tagged")
    if not (isinstance(mark_info, Dictionary) and mark_info.get("/Marked") is True):
        yield Finding("ST-001", None, "catalog", "MarkInfo /Marked is not true")
    parent_tree = doc.parent_tree
    # Each page's (and each XObject's) MCIDs: the ParentTree array entry names the owning element.
    for owner, mcids in doc.content.mcids.items():
        obj = owner_obj(doc, owner)
        page = doc.page_numbers.get(owner) if isinstance(owner, tuple) else None
        index = obj.get("/StructParents") if isinstance(obj, Dictionary) else None
        if index is None:
            yield Finding("ST-002", page, _ref(obj), "has MCIDs but no /StructParents")
            continue
        entry = parent_tree.get(int(index))
        if not isinstance(entry, Array):
            yield Finding("ST-002", page, _ref(obj), f"/StructParents {index} has no array in the ParentTree")
            continue
        for mcid in sorted(mcids):
            owners = doc.owners.get((owner, mcid), [])
            listed = entry[mcid] if mcid < len(entry) else None
            if owners and not (isinstance(listed, Dictionary) and any(_key(listed) == _key(e.obj) for e in owners)):
                yield Finding("ST-002", page, _ref(obj), f"ParentTree {index}[{mcid}] is not the element "
                                                         f"that owns MCID {mcid}")
    # StructParent of annotations and XObjects: the element must reference the object back.
    for key, obj in _struct_parent_objects(doc):
        index = obj.get("/StructParent")
        entry = parent_tree.get(int(index))
        owners = doc.objr_owners.get(key, [])
        if not isinstance(entry, Dictionary) or not any(_key(entry) == _key(e.obj) for e in owners):
            yield Finding("ST-003", None, _ref(obj), f"/StructParent {index} does not resolve to an element "
                                                     "with an OBJR to this object")
    # Ownership: once per MCID, and only MCIDs the content has.
    for (owner, mcid), owners in doc.owners.items():
        if len(owners) > 1:
            yield Finding("ST-004", doc.page_numbers.get(owner) if isinstance(owner, tuple) else None,
                          _ref(owners[0].obj), f"MCID {mcid} is owned by {len(owners)} elements")
        elif mcid not in doc.content.mcids.get(owner, ()):
            yield Finding("ST-004", doc.page_numbers.get(owner) if isinstance(owner, tuple) else None,
                          _ref(owners[0].obj), f"MCID {mcid} owned by a {owners[0].type} is not in the content")
    # IDTree
    with_ids = [e for e in doc.elements if isinstance(e.obj.get("/ID"), pikepdf.String)]
    if with_ids:
        tree = doc.root.StructTreeRoot.get("/IDTree")
        names = _name_tree(tree) if isinstance(tree, Dictionary) else {}
        for element in with_ids:
            target = names.get(bytes(element.obj.ID))
            if target is None or _key(target) != _key(element.obj):
                yield Finding("ST-005", doc.page_number(element), _ref(element.obj),
                              f"ID {str(element.obj.ID)!r} is not mapped to its element by the IDTree")


def _struct_parent_objects(doc: Document) -> Iterator[tuple]:
    for _, _, annot in doc.annotations():
        if annot.get("/StructParent") is not None:
            yield _key(annot), annot
    for key in doc.content.form_uses:
        obj = doc.objects_by_key.get(key)
        if isinstance(obj, Stream) and obj.get("/StructParent") is not None:
            yield key, obj


def _name_tree(node: Dictionary) -> dict[bytes, object]:
    return _flatten_tree(node, "/Names", bytes)


def _flatten_tree(node: Dictionary, entries: str, key: Callable) -> dict:
    """A number tree (`/Nums`) or name tree (`/Names`) as one mapping, its /Kids followed once each."""
    out: dict = {}
    todo, seen = [node], set()
    while todo:
        node = todo.pop()
        if _key(node) in seen:
            continue
        seen.add(_key(node))
        pairs = node.get(entries)
        if isinstance(pairs, Array):
            for index in range(0, len(pairs) - 1, 2):
                out[key(pairs[index])] = pairs[index + 1]
        todo.extend(kid for kid in node.get("/Kids", Array()) if isinstance(kid, Dictionary))
    return out


def check_role_map(doc: Document) -> Iterable[Finding]:
    """02-001, 02-003, 02-004: every type ends in a standard type; no loops; no standard type remapped."""
    for key, value in doc.role_map.items():
        source = key[1:]
        if source in STANDARD_TYPES:
            yield Finding("02-004", None, "RoleMap", f"standard type {source} is remapped to {value}")
            continue
        seen, type_ = {source}, _name(value)
        while type_ and type_ not in STANDARD_TYPES and type_ not in seen:
            seen.add(type_)
            type_ = _name(doc.role_map.get("/" + type_))
        if type_ in seen:
            yield Finding("02-003", None, "RoleMap", f"{source} maps round in a circle")
    for element in doc.elements:
        if not element.std and not _loops(doc, element.type):  # a loop is 02-003's
            yield Finding("02-001", doc.page_number(element), _ref(element.obj),
                          f"{element.type} does not map to a standard type")


def _loops(doc: Document, type_: str) -> bool:
    seen = set()
    while type_ and type_ not in STANDARD_TYPES:
        if type_ in seen:
            return True
        seen.add(type_)
        type_ = _name(doc.role_map.get("/" + type_))
    return False


def check_metadata(doc: Document) -> Iterable[Finding]:
    """06-001..003 XMP (PDF/UA identifier, dc:title); 07-001/002 DisplayDocTitle."""
    metadata = doc.root.get("/Metadata")
    if not isinstance(metadata, Stream):
        yield Finding("06-001", None, "catalog", "no /Metadata stream")
    else:
        xmp = metadata.read_bytes().decode("utf-8", "replace")
        if not re.search(r"pdfuaid:part\s*(=\s*[\"']1[\"']|>\s*1\s*<)", xmp):
            yield Finding("06-002", None, _ref(metadata), "no pdfuaid:part 1 in the XMP")
        if not re.search(r"<dc:title\b", xmp):
            yield Finding("06-003", None, _ref(metadata), "no dc:title in the XMP")
    preferences = doc.root.get("/ViewerPreferences")
    display = preferences.get("/DisplayDocTitle") if isinstance(preferences, Dictionary) else None
    if display is None:
        yield Finding("07-001", None, "catalog", "no ViewerPreferences /DisplayDocTitle")
    elif display is not True:
        yield Finding("07-002", None, "catalog", "ViewerPreferences /DisplayDocTitle is false")


def check_structure_types(doc: Document) -> Iterable[Finding]:
    """09-004..008: table, list, TOC, Ruby and Warichu nesting (ISO 32000-1 Tables 333, 336-338)."""
    for element in doc.elements:
        parent = element.parent.std if element.parent else ""
        rule = PARENTS.get(element.std)
        if rule and parent not in rule[1]:
            yield Finding(rule[0], doc.page_number(element), _ref(element.obj),
                          f"{element.std} is inside {parent or 'the StructTreeRoot'}, not {'/'.join(sorted(rule[1]))}")
        rule = CHILDREN.get(element.std)
        if rule:
            for child in element.children:
                if child.std and child.std not in rule[1]:
                    yield Finding(rule[0], doc.page_number(child), _ref(child.obj),
                                  f"{child.std} is inside {element.std}, which may contain only "
                                  f"{', '.join(sorted(rule[1]))}")


def check_alternatives(doc: Document) -> Iterable[Finding]:
    """13-004 Figure and 17-002 Formula alternatives; 19-003/004 Note IDs."""
    for element in doc.elements:
        if element.std == "Figure" and not (_text(element.obj.get("/Alt")) or _text(element.obj.get("/ActualText"))):
            yield Finding("13-004", doc.page_number(element), _ref(element.obj), "Figure without Alt or ActualText")
        if element.std == "Formula" and not _text(element.obj.get("/Alt")):
            yield Finding("17-002", doc.page_number(element), _ref(element.obj), "Formula without Alt")
    ids = Counter(bytes(e.obj.ID) for e in doc.elements if isinstance(e.obj.get("/ID"), pikepdf.String))
    for element in doc.elements:
        if element.std != "Note":
            continue
        note_id = element.obj.get("/ID")
        if not isinstance(note_id, pikepdf.String) or not bytes(note_id):
            yield Finding("19-003", doc.page_number(element), _ref(element.obj), "Note without /ID")
        elif ids[bytes(note_id)] > 1:
            yield Finding("19-004", doc.page_number(element), _ref(element.obj),
                          f"Note /ID {str(note_id)!r} is used {ids[bytes(note_id)]} times")


def check_headings(doc: Document) -> Iterable[Finding]:
    """14-002, 14-003 numbered heading order; 14-006, 14-007 H."""
    numbered = [e for e in doc.elements if re.fullmatch(r"H[1-6]", e.std)]
    if numbered and numbered[0].std != "H1":
        yield Finding("14-002", doc.page_number(numbered[0]), _ref(numbered[0].obj),
                      f"the first heading is {numbered[0].std}, not H1")
    for before, after in zip(numbered, numbered[1:], strict=False):
        if int(after.std[1]) > int(before.std[1]) + 1:
            yield Finding("14-003", doc.page_number(after), _ref(after.obj),
                          f"{after.std} follows {before.std}")
    for element in doc.elements:
        if sum(child.std == "H" for child in element.children) > 1:
            yield Finding("14-006", doc.page_number(element), _ref(element.obj),
                          f"{element.std} contains more than one H")
    plain = next((e for e in doc.elements if e.std == "H"), None)
    if plain and numbered:
        yield Finding("14-007", doc.page_number(plain), _ref(plain.obj), "H is used with H1..H6")


def check_tables(doc: Document) -> Iterable[Finding]:
    """15-003: in a table not organised with Headers and IDs, every TH has a Scope."""
    for table in (e for e in doc.elements if e.std == "Table"):
        cells = list(_descendants(table, {"TH", "TD"}))
        if cells and all(_attribute(c, "/Headers") is not None for c in cells if c.std == "TD"):
            continue  # organised with Headers and IDs
        for cell in cells:
            if cell.std == "TH" and _attribute(cell, "/Scope") is None:
                yield Finding("15-003", doc.page_number(cell), _ref(cell.obj), "TH without a /Scope attribute")


def _descendants(element: Element, types: set[str]) -> Iterator[Element]:
    for child in element.children:
        if child.std in types:
            yield child
        if child.std != "Table":
            yield from _descendants(child, types)


def _attribute(element: Element, key: str):
    """An attribute (owner Table) of an element: from /A (a dictionary or an array of them)."""
    attributes = element.obj.get("/A")
    for item in attributes if isinstance(attributes, Array) else [attributes]:
        if isinstance(item, Dictionary) and item.get(key) is not None:
            return item.get(key)
    return None


def check_language(doc: Document) -> Iterable[Finding]:
    """11-001..006: the natural language can be determined (a valid /Lang applies)."""
    catalog = doc.catalog_lang
    if doc.root.get("/Lang") is not None and not _LANG.match(catalog):
        yield Finding("11-001", None, "catalog", f"/Lang {catalog!r} is not a language tag")
        catalog = ""
    for element in doc.elements:
        own = element.obj.get("/Lang")
        if own is not None and not _LANG.match(_text(own)):
            yield Finding("11-001", doc.page_number(element), _ref(element.obj), f"/Lang {_text(own)!r} is not a "
                                                                                 "language tag")
    if catalog:
        return
    for element in doc.elements:
        if element.mcids and not element.lang():
            yield Finding("11-001", doc.page_number(element), _ref(element.obj),
                          "no /Lang on the element, its ancestors or the catalog")
        if any(_text(element.obj.get(k)) for k in ("/Alt", "/ActualText", "/E")) and not element.lang():
            yield Finding("11-002", doc.page_number(element), _ref(element.obj), "Alt, ActualText or E without a "
                                                                                 "language")
    if isinstance(doc.root.get("/Outlines"), Dictionary) and doc.root.Outlines.get("/First") is not None:
        yield Finding("11-003", None, "catalog", "outline entries and no catalog /Lang")
    for number, _, annot in doc.annotations():
        if _text(annot.get("/Contents")):
            owners = doc.objr_owners.get(_key(annot), [])
            if not any(owner.lang() for owner in owners):
                yield Finding("11-004", number, _ref(annot), "annotation /Contents without a language")
        if annot.get("/Subtype") == "/Widget" and _text(annot.get("/TU")):
            yield Finding("11-005", number, _ref(annot), "form field /TU without a language")
    metadata = doc.root.get("/Metadata")
    if isinstance(metadata, Stream) and 'xml:lang="x-default"' in metadata.read_bytes().decode("utf-8", "replace"):
        yield Finding("11-006", None, _ref(metadata), "x-default metadata text and no catalog /Lang")


def check_optional_content(doc: Document) -> Iterable[Finding]:
    """20-001..003: optional content configurations are named and have no AS."""
    properties = doc.root.get("/OCProperties")
    if not isinstance(properties, Dictionary):
        return
    configs = [("20-002", properties.get("/D"))] + [("20-001", c) for c in properties.get("/Configs", Array())]
    for checkpoint, config in configs:
        if not isinstance(config, Dictionary):
            continue
        if not _text(config.get("/Name")):
            yield Finding(checkpoint, None, _ref(config), "optional content configuration without a /Name")
        if config.get("/AS") is not None:
            yield Finding("20-003", None, _ref(config), "optional content configuration with /AS")


def check_files(doc: Document) -> Iterable[Finding]:
    """21-001 embedded files, 25-001 XFA dynamicRender, 28-014/015 media clips, 30-001 reference XObjects."""
    for obj in doc.pdf.objects:
        if not isinstance(obj, (Dictionary, Stream)):
            continue
        if obj.get("/EF") is not None and not (obj.get("/F") is not None and obj.get("/UF") is not None):
            yield Finding("21-001", None, _ref(obj), "embedded file specification without /F and /UF")
        if obj.get("/Type") == "/MediaClip" or obj.get("/S") == "/MCD":
            if obj.get("/CT") is None:
                yield Finding("28-014", None, _ref(obj), "media clip data without /CT")
            if obj.get("/Alt") is None:
                yield Finding("28-015", None, _ref(obj), "media clip data without /Alt")
        if isinstance(obj, Stream) and obj.get("/Subtype") == "/Form" and obj.get("/Ref") is not None:
            yield Finding("30-001", None, _ref(obj), "reference XObject")
    form = doc.root.get("/AcroForm")
    xfa = form.get("/XFA") if isinstance(form, Dictionary) else None
    parts = [xfa] if isinstance(xfa, Stream) else [p for p in xfa if isinstance(p, Stream)] \
        if isinstance(xfa, Array) else []
    for part in parts:
        if re.search(rb"dynamicRender[^<]*>\s*required", part.read_bytes()):
            yield Finding("25-001", None, _ref(part), "XFA dynamicRender is required")
    for key, uses in doc.content.form_uses.items():
        if key in doc.content.forms_with_mcids and uses > 1:
            yield Finding("30-002", None, _ref(doc.objects_by_key.get(key, doc.root)),
                          f"Form XObject with MCIDs painted {uses} times")


def check_security(doc: Document) -> Iterable[Finding]:
    """26-001, 26-002: encryption leaves content available to assistive technology."""
    if not doc.pdf.is_encrypted:
        return
    encrypt = doc.pdf.trailer.get("/Encrypt")
    permissions = encrypt.get("/P") if isinstance(encrypt, Dictionary) else None
    if permissions is None and isinstance(encrypt, Dictionary):
        yield Finding("26-001", None, "trailer", "encryption dictionary without /P")
    elif not doc.pdf.allow.accessibility:
        yield Finding("26-002", None, "trailer", "encryption denies content extraction for accessibility")


def check_annotations(doc: Document) -> Iterable[Finding]:
    """28-002..012, 28-016, 28-017: annotations are tagged, described and in tab order."""
    pages_with_annots: dict[int, Dictionary] = {}
    for number, page, annot in doc.annotations():
        subtype = _name(annot.get("/Subtype"))
        owners = doc.objr_owners.get(_key(annot), [])
        flags = int(annot.get("/F", 0))
        hidden = bool(flags & 2)
        if subtype != "Popup":
            pages_with_annots[number] = page
        if subtype not in ANNOTATION_TYPES:
            yield Finding("28-006", number, _ref(annot), f"annotation subtype {subtype or '(none)'} is not in "
                                                         "ISO 32000-1")
        if subtype == "TrapNet":
            yield Finding("28-007", number, _ref(annot), "TrapNet annotation")
        if subtype == "PrinterMark":
            if owners:
                yield Finding("28-017", number, _ref(annot), "PrinterMark annotation in the structure tree")
            continue
        if subtype == "Link":
            if not any(o.std == "Link" for o in owners):
                yield Finding("28-011", number, _ref(annot), "Link annotation not in a Link element"
                              + (f" (in {owners[0].type})" if owners else " (not in the structure tree)"))
            if not _text(annot.get("/Contents")):
                yield Finding("28-012", number, _ref(annot), "Link annotation without /Contents")
        elif subtype == "Widget":
            if not any(o.std == "Form" for o in owners):
                yield Finding("28-010", number, _ref(annot), "Widget annotation not in a Form element")
            field_ = annot if annot.get("/T") is not None or annot.get("/Parent") is None else annot.Parent
            if not _text(field_.get("/TU")) and not any(_text(o.obj.get("/Alt")) for o in owners):
                yield Finding("28-005", number, _ref(annot), "form field without /TU or an Alt on its element")
        elif subtype != "Popup" and not hidden:
            if not any(o.std == "Annot" for o in owners):
                yield Finding("28-002", number, _ref(annot), f"{subtype} annotation not in an Annot element")
            if not _text(annot.get("/Contents")) and not any(_text(o.obj.get("/Alt")) for o in owners):
                yield Finding("28-004", number, _ref(annot), f"{subtype} annotation without /Contents or Alt")
        if subtype == "FileAttachment":
            spec = annot.get("/FS")
            if isinstance(spec, Dictionary) and not (spec.get("/F") is not None and spec.get("/UF") is not None):
                yield Finding("28-016", number, _ref(annot), "file attachment specification without /F and /UF")
    for number, page in sorted(pages_with_annots.items()):
        tabs = page.get("/Tabs")
        if tabs is None:
            yield Finding("28-008", number, _ref(page), "page with annotations has no /Tabs")
        elif tabs != "/S":
            yield Finding("28-009", number, _ref(page), f"page with annotations has /Tabs {tabs}")


def check_fonts(doc: Document) -> Iterable[Finding]:
    """31-001..009, 31-019..021, 31-024, 31-027..030 and 10-001: fonts are embedded and map to Unicode."""
    for use in doc.content.fonts.values():
        font, page = use.font, use.page
        subtype = _name(font.get("/Subtype"))
        where = f"{_ref(font)} ({_name(font.get('/BaseFont')) or subtype})"
        descendant = None
        if subtype == "Type0":
            kids = font.get("/DescendantFonts")
            descendant = kids[0] if isinstance(kids, Array) and len(kids) else None
            yield from _cmap_findings(font, descendant, page, where)
        program = descendant if isinstance(descendant, Dictionary) else font
        descriptor = program.get("/FontDescriptor")
        if subtype != "Type3" and use.rendered and not (isinstance(descriptor, Dictionary) and any(
                descriptor.get(k) is not None for k in ("/FontFile", "/FontFile2", "/FontFile3"))):
            yield Finding("31-009", page, where, "font program not embedded")
        if isinstance(descendant, Dictionary) and descendant.get("/Subtype") == "/CIDFontType2":
            cid_to_gid = descendant.get("/CIDToGIDMap")
            if cid_to_gid is None:
                yield Finding("31-005", page, where, "CIDFontType2 without /CIDToGIDMap")
            elif not (isinstance(cid_to_gid, Stream) or cid_to_gid == "/Identity"):
                yield Finding("31-004", page, where, f"/CIDToGIDMap is {cid_to_gid}")
        if subtype == "TrueType" and isinstance(descriptor, Dictionary):
            yield from _truetype_findings(font, descriptor, page, where)
        yield from _unicode_findings(use, descendant, page, where)


def _cmap_findings(font: Dictionary, descendant, page: int, where: str) -> Iterable[Finding]:
    encoding = font.get("/Encoding")
    if isinstance(encoding, Name):
        if _name(encoding) not in PREDEFINED_CMAPS:
            yield Finding("31-006", page, where, f"CMap {encoding} is neither predefined nor embedded")
        return
    if not isinstance(encoding, Stream):
        yield Finding("31-006", page, where, "no CMap")
        return
    info = encoding.get("/CIDSystemInfo")
    theirs = descendant.get("/CIDSystemInfo") if isinstance(descendant, Dictionary) else None
    if isinstance(info, Dictionary) and isinstance(theirs, Dictionary):
        if info.get("/Registry") != theirs.get("/Registry"):
            yield Finding("31-001", page, where, "CIDSystemInfo Registry differs between CMap and CIDFont")
        if info.get("/Ordering") != theirs.get("/Ordering"):
            yield Finding("31-002", page, where, "CIDSystemInfo Ordering differs between CMap and CIDFont")
        if int(theirs.get("/Supplement", 0)) < int(info.get("/Supplement", 0)):
            yield Finding("31-003", page, where, "the CIDFont's Supplement is less than the CMap's")
    match = re.search(rb"/WMode\s+(\d)\s+def", encoding.read_bytes())
    if match and int(encoding.get("/WMode", 0)) != int(match.group(1)):
        yield Finding("31-007", page, where, "CMap /WMode differs from the WMode in its stream")
    used = encoding.get("/UseCMap")
    if isinstance(used, Name) and _name(used) not in PREDEFINED_CMAPS:
        yield Finding("31-008", page, where, f"CMap uses {used}, which is not predefined")


def _truetype_findings(font: Dictionary, descriptor: Dictionary, page: int, where: str) -> Iterable[Finding]:
    flags = int(descriptor.get("/Flags", 0))
    encoding = font.get("/Encoding")
    if flags & 4:  # symbolic
        if encoding is not None:
            yield Finding("31-024", page, where, "symbolic TrueType font with /Encoding")
        return
    if encoding is None:
        yield Finding("31-019", page, where, "non-symbolic TrueType font without /Encoding")
        return
    if isinstance(encoding, Dictionary) and encoding.get("/BaseEncoding") is None:
        yield Finding("31-020", page, where, "Encoding dictionary without /BaseEncoding")
        return
    base = encoding.get("/BaseEncoding") if isinstance(encoding, Dictionary) else encoding
    if base not in ("/MacRomanEncoding", "/WinAnsiEncoding"):
        yield Finding("31-021", page, where, f"encoding {base} is neither MacRoman nor WinAnsi")


def _unicode_findings(use: _FontUse, descendant, page: int, where: str) -> Iterable[Finding]:
    font = use.font
    to_unicode = font.get("/ToUnicode")
    if not isinstance(to_unicode, Stream):
        if not _unicode_derivable(font, descendant):
            yield Finding("31-027", page, where, "no /ToUnicode, and Unicode cannot be derived from the encoding")
        return
    chars, ranges = _parse_to_unicode(to_unicode.read_bytes())
    values = list(chars.values()) + [start for _, _, start in ranges]
    if any("\x00" in value for value in values):
        yield Finding("31-028", page, where, "ToUnicode maps a code to U+0000")
    if any("\ufeff" in value or "\ufffe" in value for value in values):
        yield Finding("31-029", page, where, "ToUnicode maps a code to U+FEFF or U+FFFE")
    unmapped = sorted(code for code in use.codes
                      if not chars.get(code) and not any(lo <= code <= hi for lo, hi, _ in ranges))
    if unmapped:
        shown = ", ".join(f"{code:#06x}" for code in unmapped[:5])
        yield Finding("10-001", page, where, f"{len(unmapped)} code(s) shown have no ToUnicode mapping: {shown}")
    if font.get("/Subtype") == "/Type0" and _name(font.get("/Encoding")) in ("Identity-H", "Identity-V"):
        notdef = sorted(code for code in use.codes if _gid(descendant, code) == 0)
        if notdef:
            yield Finding("31-030", page, where, f"CID {notdef[0]} shows the .notdef glyph")


def _gid(descendant, cid: int) -> int | None:
    if not isinstance(descendant, Dictionary):
        return None
    cid_to_gid = descendant.get("/CIDToGIDMap")
    if isinstance(cid_to_gid, Stream):
        data = cid_to_gid.read_bytes()
        return int.from_bytes(data[2 * cid:2 * cid + 2], "big") if 2 * cid + 2 <= len(data) else 0
    return cid


def _unicode_derivable(font: Dictionary, descendant) -> bool:
    """The exceptions of 31-027: a standard encoding, a known CID collection, a non-symbolic TrueType font."""
    subtype = _name(font.get("/Subtype"))
    encoding = font.get("/Encoding")
    base = encoding.get("/BaseEncoding") if isinstance(encoding, Dictionary) else encoding
    if base in ("/MacRomanEncoding", "/MacExpertEncoding", "/WinAnsiEncoding"):
        return True
    if subtype in ("Type1", "Type3", "MMType1") and isinstance(encoding, Dictionary) \
            and encoding.get("/Differences") is None:
        return True  # glyph names from the font's built-in encoding: assumed standard
    if subtype == "Type0" and isinstance(descendant, Dictionary):
        info = descendant.get("/CIDSystemInfo")
        return isinstance(info, Dictionary) and _text(info.get("/Registry")) == "Adobe" and \
            _text(info.get("/Ordering")) in ("GB1", "CNS1", "Japan1", "Korea1")
    if subtype == "TrueType":
        descriptor = font.get("/FontDescriptor")
        return isinstance(descriptor, Dictionary) and not int(descriptor.get("/Flags", 0)) & 4
    return False


_HEX = rb"<([0-9A-Fa-f\s]*)>"


def _parse_to_unicode(data: bytes) -> tuple[dict[int, str], list[tuple[int, int, str]]]:
    """A ToUnicode CMap's bfchar entries (code -> text) and bfrange entries (low, high, first text)."""
    def text(hex_: bytes) -> str:
        raw = bytes.fromhex(re.sub(rb"\s", b"", hex_).decode())
        return raw.decode("utf-16-be", "replace")

    def number(hex_: bytes) -> int:
        return int(re.sub(rb"\s", b"", hex_) or b"0", 16)

    chars: dict[int, str] = {}
    ranges: list[tuple[int, int, str]] = []
    for block in re.findall(rb"beginbfchar(.*?)endbfchar", data, re.S):
        items = re.findall(_HEX, block)
        for src, dst in zip(items[::2], items[1::2], strict=False):
            chars[number(src)] = text(dst)
    for block in re.findall(rb"beginbfrange(.*?)endbfrange", data, re.S):
        for lo, hi, rest in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*(<[0-9A-Fa-f\s]*>|\[[^\]]*\])", block):
            low, high = number(lo), number(hi)
            if rest.startswith(b"["):
                for offset, dst in enumerate(re.findall(_HEX, rest)):
                    chars[low + offset] = text(dst)
            else:
                ranges.append((low, high, text(rest[1:-1])))
    return chars, ranges


# ---------------------------------------------------------------------------------------------
# The registry and the report

GROUPS: list[tuple[Callable[[Document], Iterable[Finding]], tuple[str, ...]]] = [
    (check_content, ("01-003", "01-004", "01-005", "01-007")),
    (check_tagged, ("ST-001", "ST-002", "ST-003", "ST-004", "ST-005")),
    (check_role_map, ("02-001", "02-003", "02-004")),
    (check_metadata, ("06-001", "06-002", "06-003", "07-001", "07-002")),
    (check_structure_types, ("09-004", "09-005", "09-006", "09-007", "09-008")),
    (check_language, ("11-001", "11-002", "11-003", "11-004", "11-005", "11-006")),
    (check_alternatives, ("13-004", "17-002", "19-003", "19-004")),
    (check_headings, ("14-002", "14-003", "14-006", "14-007")),
    (check_tables, ("15-003",)),
    (check_optional_content, ("20-001", "20-002", "20-003")),
    (check_files, ("21-001", "25-001", "28-014", "28-015", "30-001", "30-002")),
    (check_security, ("26-001", "26-002")),
    (check_annotations, ("28-002", "28-004", "28-005", "28-006", "28-007", "28-008", "28-009", "28-010",
                         "28-011", "28-012", "28-016", "28-017")),
    (check_fonts, ("10-001", "31-001", "31-002", "31-003", "31-004", "31-005", "31-006", "31-007", "31-008",
                   "31-009", "31-019", "31-020", "31-021", "31-024", "31-027", "31-028", "31-029", "31-030")),
]

# Checkpoint id -> (description, the group function that decides it).
CHECKS: dict[str, tuple[str, Callable[[Document], Iterable[Finding]]]] = {
    checkpoint: (DESCRIPTIONS[checkpoint], group) for group, ids in GROUPS for checkpoint in ids}


@dataclass
class Report:
    findings: dict[str, list[Finding]]  # every implemented checkpoint -> its findings (empty: passed)

    @property
    def failed(self) -> list[str]:
        return sorted(checkpoint for checkpoint, found in self.findings.items() if found)

    @property
    def summary(self) -> str:
        failed = len(self.failed)
        return f"{len(self.findings) - failed} checks passed, {failed} failed"

    @property
    def exit_status(self) -> int:
        return 1 if self.failed else 0

    def rows(self) -> list[tuple[str, int, list[Finding]]]:
        """(checkpoint, count, first examples) per failing checkpoint."""
        return [(c, len(self.findings[c]), self.findings[c][:EXAMPLES]) for c in self.failed]

    def text(self) -> str:
        lines = []
        for checkpoint, count, examples in self.rows():
            lines.append(f"{checkpoint} FAIL ({count}) {DESCRIPTIONS[checkpoint]}")
            lines.extend(f"    {example}" for example in examples)
        lines.append(self.summary)
        return "\n".join(lines) + "\n"


def check_pdf(pdf: pikepdf.Pdf, memo: PageMemo | None = None) -> Report:
    doc = Document(pdf, memo)
    findings: dict[str, list[Finding]] = {checkpoint: [] for checkpoint in CHECKS}
    for group, _ in GROUPS:
        for finding in group(doc):
            findings[finding.checkpoint].append(finding)
    return Report(findings)


def check(path: str | Path | BinaryIO, memo: PageMemo | None = None) -> Report:
    """Check the PDF at `path` (or in a binary stream). Raises pikepdf.PdfError (or OSError) when
    it cannot be read. `memo`: pages walked before (PageMemo), updated with this file's."""
    with pikepdf.open(path) as pdf:
        return check_pdf(pdf, memo)
