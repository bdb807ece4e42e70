"""`build-report import-docx REVIEWED.docx`: a reviewer's Word changes and comments as CriticMarkup.

The DOCX must be one `build-report docx` made from this manuscript (writers/docx.py): its
custom properties name the report and the commit, a bookmark `br_CC_LLL` starts each
paragraph that came from a chapter file, and a custom XML part keeps what each such
paragraph said as exported (its text and the tracked changes we wrote there) and the
SHA-256 of each chapter file then.

For each bookmarked paragraph of the reviewed document (body and footnotes):

1. its runs are read as Word writes them: plain text, `w:ins` (insertions), `w:del`
   (deletions, `w:delText`), comment ranges (`w:commentRangeStart/End`, or a lone
   `w:commentReference`) with their text, author and date from word/comments.xml;
2. the changes we exported (the manuscript's own open marks) are told from the reviewer's
   by kind, author, date and text; the text before the reviewer's changes must equal
   what was exported, or the paragraph has untracked edits: those are shown as a unified
   diff and nothing is written (exit 1), since they would be lost silently otherwise;
3. the exported text is aligned with the chapter's source block at the bookmark's line
   (difflib, after smart quotes and dashes are folded), through the file as it was when
   the DOCX was made: the current file if its SHA-256 is the same, else `git show
   COMMIT:path`, whose positions are carried forward to the current file with difflib;
4. each change becomes a mark under the reviewers' convention (`{++x++}{>>Ann, 2026-11-20<<}`,
   `{--x--}{>>...<<}`, `{~~old~>new~~}{>>...<<}`, `{==range==}{>>Ann, 2026-11-20: text<<}`,
   `{>>Ann: text<<}`), never nested in another mark, never crossing a link's destination,
   inline code, a `[^note]` call, an attribute list or raw HTML. What cannot be placed so is
   reported at its line (exit 1); a mark already in the file is not written again, so a
   second import of the same DOCX adds nothing.

Files are rewritten as `accept` rewrites them (review.py: backup first, atomic, same mode,
BOM and line endings kept). The DOCX is untrusted: its size, entry count and compression
ratio are bounded, XML is parsed without entities, DTDs or network, and anything
unreadable is exit 2 with one line, never a traceback.
"""

from __future__ import annotations

import difflib
import hashlib
import io
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from lxml import etree

from . import confine, review, vcs
from .diagnostics import EXIT_CHECKS_FAILED, EXIT_OK, BuildReportError, Diagnostics
from .model import Location, Manuscript

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
MAP_NS = "urn:build-report:docx-map"
PROPERTY = "build-report"
BOOKMARK = re.compile(r"br_\d+_\d+(?:_\d+)?$")

MAX_DOCX = 200 * 1024 * 1024  # bytes of the DOCX file
MAX_ENTRIES = 5000
MAX_PART = 64 * 1024 * 1024  # bytes of one XML part, uncompressed
MAX_RATIO = 200  # uncompressed / compressed, for parts over 1 MB: a zip bomb is far above


class BadDocx(BuildReportError):
    """The file is not a DOCX this tool made from this manuscript, or it cannot be read safely."""


# -- Reading Word's XML ---------------------------------------------------------------------------

@dataclass
class Segment:
    kind: str  # "text", "ins" or "del"
    text: str
    author: str = ""
    date: str = ""


@dataclass
class Anchor:
    """A comment's range in a paragraph, in offsets of all its text (insertions and deletions included)."""

    id: str
    start: int
    end: int
    crosses: bool = False  # it ends in another paragraph


@dataclass
class Paragraph:
    block: str  # the br_ bookmark, or ""
    segments: list[Segment] = field(default_factory=list)
    anchors: list[Anchor] = field(default_factory=list)
    mark: str = ""  # "ins" or "del" when its paragraph mark is a tracked change (a paragraph added or joined)

    @property
    def text(self) -> str:
        return "".join(segment.text for segment in self.segments)

    def add(self, kind: str, text: str, author: str = "", date: str = "") -> None:
        if not text:
            return
        last = self.segments[-1] if self.segments else None
        if last is not None and (last.kind, last.author, last.date) == (kind, author, date):
            last.text += text
        else:
            self.segments.append(Segment(kind, text, author, date))


def _q(tag: str) -> str:
    return f"{{{W}}}{tag}"


_PARSER_OPTIONS = dict(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                       huge_tree=False, remove_comments=True, remove_pis=True)


def parse_xml(data: bytes, name: str = "XML") -> etree._Element:
    """XML from an untrusted file: no DTD, no entities, no network."""
    if re.search(rb"<!DOCTYPE|<!ENTITY", data[:4096] + data[-4096:]) or b"<!ENTITY" in data:
        raise BadDocx(f"{name} declares a DTD or entities, which a DOCX never needs")
    try:
        return etree.fromstring(data, etree.XMLParser(**_PARSER_OPTIONS))
    except etree.XMLSyntaxError as exc:
        raise BadDocx(f"{name} is not well-formed XML ({exc})") from exc


def read_story(data: bytes, name: str = "word/document.xml") -> list[Paragraph]:
    """The paragraphs of a story part (the body, or the footnotes) with their changes and comment ranges."""
    root = parse_xml(data, name)
    paragraphs: list[Paragraph] = []
    open_comments: dict[str, tuple[Paragraph, int]] = {}
    for element in root.iter(_q("p")):
        if any(ancestor.tag == _q("p") for ancestor in element.iterancestors()):
            continue  # a text box's paragraph inside a drawing: not ours
        paragraph = Paragraph("")
        paragraphs.append(paragraph)
        properties = element.find(_q("pPr"))
        if properties is not None:
            mark = properties.find(_q("rPr"))
            if mark is not None and mark.find(_q("ins")) is not None:
                paragraph.mark = "ins"
            elif mark is not None and mark.find(_q("del")) is not None:
                paragraph.mark = "del"
        _walk(element, paragraph, ("text", "", ""), open_comments)
    for comment_id, (paragraph, start) in open_comments.items():  # never closed: to the end of its paragraph
        paragraph.anchors.append(Anchor(comment_id, start, len(paragraph.text), crosses=True))
    return paragraphs


def _walk(element, paragraph: Paragraph, state: tuple[str, str, str], open_comments: dict) -> None:
    for child in element:
        tag = child.tag
        if not isinstance(tag, str) or tag == _q("pPr") or tag == _q("p"):
            continue
        if tag == _q("bookmarkStart"):
            name = child.get(_q("name"), "")
            if BOOKMARK.match(name) and not paragraph.block:
                paragraph.block = name
        elif tag in (_q("ins"), _q("moveTo")):
            _walk(child, paragraph, ("ins", child.get(_q("author"), ""), child.get(_q("date"), "")), open_comments)
        elif tag in (_q("del"), _q("moveFrom")):
            _walk(child, paragraph, ("del", child.get(_q("author"), ""), child.get(_q("date"), "")), open_comments)
        elif tag == _q("commentRangeStart"):
            open_comments[child.get(_q("id"), "")] = (paragraph, len(paragraph.text))
        elif tag == _q("commentRangeEnd"):
            comment_id = child.get(_q("id"), "")
            started = open_comments.pop(comment_id, None)
            if started is None:
                continue
            if started[0] is paragraph:
                paragraph.anchors.append(Anchor(comment_id, started[1], len(paragraph.text)))
            else:
                started[0].anchors.append(Anchor(comment_id, started[1], len(started[0].text), crosses=True))
        elif tag == _q("r"):
            _run(child, paragraph, state)
        elif tag in (_q("hyperlink"), _q("smartTag"), _q("sdt"), _q("sdtContent"), _q("fldSimple"),
                     _q("customXml")):
            _walk(child, paragraph, state, open_comments)


def _run(run, paragraph: Paragraph, state: tuple[str, str, str]) -> None:
    kind, author, date = state
    for child in run:
        tag = child.tag
        if tag in (_q("t"), _q("delText")):
            paragraph.add(kind, child.text or "", author, date)
        elif tag == _q("tab"):
            paragraph.add(kind, "\t", author, date)
        elif tag in (_q("br"), _q("cr")):
            paragraph.add(kind, "\n", author, date)
        elif tag == _q("noBreakHyphen"):
            paragraph.add(kind, "-", author, date)
        elif tag == _q("commentReference"):
            comment_id = child.get(_q("id"), "")
            if not any(anchor.id == comment_id for anchor in paragraph.anchors):
                paragraph.anchors.append(Anchor(comment_id, len(paragraph.text), len(paragraph.text)))


@dataclass
class WordComment:
    author: str
    date: str
    text: str


def read_comments(data: bytes) -> dict[str, WordComment]:
    root = parse_xml(data, "word/comments.xml")
    comments = {}
    for comment in root.iter(_q("comment")):
        lines = ["".join(t.text or "" for t in paragraph.iter(_q("t"))) for paragraph in comment.iter(_q("p"))]
        comments[comment.get(_q("id"), "")] = WordComment(comment.get(_q("author"), ""), comment.get(_q("date"), ""),
                                                          " ".join(line.strip() for line in lines if line.strip()))
    return comments


# -- The package ----------------------------------------------------------------------------------

@dataclass
class Exported:
    """A bookmarked paragraph as the DOCX was made: its file, line and segments."""

    name: str
    path: str
    line: int
    segments: list[Segment]
    comments: list[Segment] = field(default_factory=list)  # the manuscript's own comments there (kind "comment")

    @property
    def text(self) -> str:
        return "".join(segment.text for segment in self.segments)


@dataclass
class Package:
    properties: dict[str, str]
    chapters: dict[str, str]  # path -> SHA-256 of the file when the DOCX was made
    blocks: dict[str, Exported]
    paragraphs: list[Paragraph]
    comments: dict[str, WordComment]


def read_package(path: Path) -> Package:
    problem = confine.file_problem(path)
    if problem:
        raise BadDocx(f"{path}: {problem}")
    if path.stat().st_size > MAX_DOCX:
        raise BadDocx(f"{path}: larger than {MAX_DOCX // 2 ** 20} MB; not a reviewed report")
    data = path.read_bytes()
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise BadDocx(f"{path}: not a DOCX (not a zip file: {exc})") from exc
    with archive:
        infos = archive.infolist()
        if len(infos) > MAX_ENTRIES:
            raise BadDocx(f"{path}: {len(infos)} entries in the zip; a DOCX has a few dozen")
        by_name = {info.filename: info for info in infos}

        def part(name: str, required: bool = True) -> bytes | None:
            info = by_name.get(name)
            if info is None:
                if required:
                    raise BadDocx(f"{path}: not a DOCX ({name} is missing)")
                return None
            if info.file_size > MAX_PART or (info.file_size > 2 ** 20 and
                                             info.file_size > MAX_RATIO * max(info.compress_size, 1)):
                raise BadDocx(f"{path}: {name} would unpack to {info.file_size} bytes: refused (a zip bomb?)")
            try:
                with archive.open(info) as handle:
                    content = handle.read(MAX_PART + 1)
            except (zipfile.BadZipFile, OSError, NotImplementedError, RuntimeError, EOFError) as exc:
                raise BadDocx(f"{path}: {name} cannot be unpacked ({exc})") from exc
            if len(content) > MAX_PART:
                raise BadDocx(f"{path}: {name} unpacks to more than {MAX_PART} bytes: refused")
            return content

        document = part("word/document.xml")
        assert document is not None
        custom = part("docProps/custom.xml", required=False)
        footnotes = part("word/footnotes.xml", required=False)
        comments = part("word/comments.xml", required=False)
        properties = _properties(custom) if custom else {}
        if f"{PROPERTY}-map" not in properties:
            raise BadDocx(f"{path}: not a DOCX made by `build-report docx` (it has no {PROPERTY} properties)")
        mapping = None
        for name in sorted(by_name):
            if name.startswith("customXml/item") and name.endswith(".xml") and "Props" not in name:
                content = part(name)
                if content and MAP_NS.encode() in content[:2000]:
                    mapping = content
                    break
        if mapping is None:
            raise BadDocx(f"{path}: its map of source lines (customXml) is missing; was it saved by a program "
                          "that drops custom XML? Export it again with `build-report docx`")
    chapters, blocks = _read_map(mapping)
    paragraphs = read_story(document)
    if footnotes:
        paragraphs += read_story(footnotes, "word/footnotes.xml")
    return Package(properties, chapters, blocks, paragraphs, read_comments(comments) if comments else {})


def _properties(data: bytes) -> dict[str, str]:
    root = parse_xml(data, "docProps/custom.xml")
    out = {}
    for prop in root:
        if isinstance(prop.tag, str) and prop.get("name"):
            out[prop.get("name")] = "".join(prop.itertext())
    return out


def _read_map(data: bytes) -> tuple[dict[str, str], dict[str, Exported]]:
    root = parse_xml(data, "customXml/item1.xml")
    chapters = {}
    blocks = {}
    for element in root:
        if element.tag == f"{{{MAP_NS}}}chapter":
            chapters[element.get("path", "")] = element.get("sha256", "")
        elif element.tag == f"{{{MAP_NS}}}block":
            parts = [Segment(part.tag.split("}")[1], part.text or "", part.get("author", ""), part.get("date", ""))
                     for part in element if isinstance(part.tag, str)]
            segments = [part for part in parts if part.kind in ("text", "ins", "del")]
            try:
                line = int(element.get("line", "0"))
            except ValueError:
                line = 0
            blocks[element.get("name", "")] = Exported(element.get("name", ""), element.get("path", ""), line,
                                                       segments, [part for part in parts if part.kind == "comment"])
    return chapters, blocks


# -- What the reviewer did, in terms of the exported text -----------------------------------------

@dataclass
class Edit:
    """One mark to write: offsets in the exported paragraph text ("base")."""

    kind: str  # "ins", "del", "sub", "comment"
    start: int
    end: int
    author: str
    date: str
    text: str = ""  # inserted text, or a comment's
    order: int = 0


@dataclass
class Reviewed:
    edits: list[Edit]
    untracked: str  # the exported text as the reviewer left it (differs from the export: untracked edits)
    problems: list[str]


def changes(paragraph: Paragraph, exported: Exported, comments: dict[str, WordComment]) -> Reviewed:
    """The reviewer's changes and comments in `paragraph`, against what was `exported` there."""
    ours = [(s.kind, s.text, s.author, s.date) for s in exported.segments if s.kind != "text"]
    edits: list[Edit] = []
    problems: list[str] = []
    base = []  # the paragraph as exported, as far as the reviewer's tracked changes tell
    position = 0
    to_base: list[int] = []  # offset in the paragraph's whole text -> offset in base
    for segment in paragraph.segments:
        # ours: a change we exported, unchanged (a program that adds a date to an undated change still matches)
        mine = next((key for key in ours if key[:3] == (segment.kind, segment.text, segment.author)
                     and key[3] in ("", segment.date)), None)
        if segment.kind == "text" or mine is not None:
            if mine is not None:
                ours.remove(mine)
            to_base += range(position, position + len(segment.text))
            base.append(segment.text)
            position += len(segment.text)
        elif segment.kind == "ins":
            to_base += [position] * len(segment.text)
            edits.append(Edit("ins", position, position, segment.author, segment.date, segment.text))
        else:  # a deletion by the reviewer: its text was there
            to_base += range(position, position + len(segment.text))
            edits.append(Edit("del", position, position + len(segment.text), segment.author, segment.date))
            base.append(segment.text)
            position += len(segment.text)
    to_base.append(position)
    merged: list[Edit] = []
    for edit in edits:  # a deletion then an insertion at its end, by one author: a substitution
        last = merged[-1] if merged else None
        if last is not None and last.kind == "del" and edit.kind == "ins" and edit.start == last.end and \
                (last.author, day(last.date)) == (edit.author, day(edit.date)):
            merged[-1] = Edit("sub", last.start, last.end, last.author, last.date, edit.text)
        else:
            merged.append(edit)
    own = [(c.author, c.date, c.text) for c in exported.comments]
    for order, anchor in enumerate(paragraph.anchors):
        comment = comments.get(anchor.id)
        if comment is None:
            problems.append(f"comment {anchor.id} has no text in word/comments.xml")
            continue
        if (comment.author, comment.date, comment.text) in own:  # one the manuscript had: not the reviewer's
            own.remove((comment.author, comment.date, comment.text))
            continue
        start = to_base[min(anchor.start, len(to_base) - 1)]
        end = to_base[min(anchor.end, len(to_base) - 1)]
        if anchor.crosses:
            problems.append(f"the comment by {comment.author or 'an unnamed reviewer'} runs into the next paragraph; "
                            "it is anchored at the end of this one")
            start = end
        merged.append(Edit("comment", start, end, comment.author, comment.date, comment.text, order=1 + order))
    return Reviewed(merged, "".join(base), problems)


def day(date: str) -> str:
    """Word's `2026-11-20T10:15:00Z` -> `2026-11-20` (the convention keeps the day)."""
    match = re.match(r"\d{4}-\d{2}-\d{2}", date or "")
    return match.group(0) if match else ""


# -- Aligning exported text with the Markdown source ----------------------------------------------

_FOLD = str.maketrans({"\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2018": "'", "\u2019": "'", "\u2013": "-",
                       "\u2014": "-", "\u2011": "-", "\u00a0": " ", "\u202f": " ", "\n": " ", "\r": " ", "\t": " "})
# Markdown a mark must not cross or sit inside: inline code, a link's or image's destination, a note call, an
# attribute list, an autolink, raw HTML. (Link text is fine: `[{++new ++}words](url)` is still a link.)
_PROTECTED = re.compile(r"`+[^`]*`+|\]\([^)\n]*\)|\]\[[^\]\n]*\]|\[\^[^\]\n]+\]|\{[#.:][^}\n]*\}"
                        r"|<(?:https?:|mailto:)[^>\n]*>|</?[A-Za-z][^>\n]*>")
_LINE_SYNTAX = re.compile(r"\r?\n[ \t]*(?:>|[-+*][ \t]|\d+[.)][ \t]|\|)")


class Alignment:
    """Offsets of the exported text -> offsets of a source region (difflib over folded characters)."""

    def __init__(self, exported: str, view: str):
        matcher = difflib.SequenceMatcher(None, exported.translate(_FOLD), view.translate(_FOLD), autojunk=False)
        ops = matcher.get_opcodes()
        # A lone matched character between two changes is a coincidence ("i" of "Figure" in "[](#fig)"): not kept.
        whole = len(exported)
        self.equal = [(i1, i2, j1, j2) for index, (tag, i1, i2, j1, j2) in enumerate(ops) if tag == "equal" and not (
            i2 - i1 < 2 and (i1, i2) != (0, whole) and 0 < index < len(ops) - 1 and ops[index - 1][0] != "equal"
            and ops[index + 1][0] != "equal")]

    def points(self, i: int) -> list[int]:
        """Where an insertion at exported offset `i` may go: inside matched text; else just after the text
        before it, then just before the text after it (the first that is not inside Markdown syntax wins)."""
        inside = [j1 + i - i1 for i1, i2, j1, _ in self.equal if i1 < i < i2]
        after = [j2 for _, i2, _, j2 in self.equal if i == i2]
        before = [j1 for i1, _, j1, _ in self.equal if i == i1]
        return inside + after + before

    def start(self, i: int) -> int | None:
        return next((j1 + i - i1 for i1, i2, j1, _ in self.equal if i1 <= i < i2), None)

    def end(self, k: int) -> int | None:
        return next((j1 + k - i1 for i1, i2, j1, _ in self.equal if i1 < k <= i2), None)

    def matched(self, j_from: int, j_to: int) -> set[int]:
        out: set[int] = set()
        for _, _, j1, j2 in self.equal:
            out.update(range(max(j1, j_from), min(j2, j_to)))
        return out


def source_view(text: str, start: int, end: int, marks: list[review.Mark]) -> tuple[str, list[int]]:
    """The region `text[start:end]` as the DOCX shows it: marks' contents kept, their syntax and comments left
    out; with the offset in `text` of each character."""
    chars: list[str] = []
    where: list[int] = []
    position = start
    inside = [mark for mark in marks if start <= mark.start < end]
    for mark in inside:
        for index in range(position, mark.start):
            chars.append(text[index])
            where.append(index)
        content_at = mark.start + 3
        if mark.opener != "{>>":
            for index in range(len(mark.content)):
                chars.append(text[content_at + index])
                where.append(content_at + index)
        if mark.opener == "{~~":
            new_at = content_at + len(mark.content) + len(review.SUBSTITUTION)
            for index in range(len(mark.new)):
                chars.append(text[new_at + index])
                where.append(new_at + index)
        position = mark.end
    for index in range(position, end):
        chars.append(text[index])
        where.append(index)
    return "".join(chars), where


# -- Source files ---------------------------------------------------------------------------------

@dataclass
class Source:
    """A chapter file: its current text, the text the DOCX was made from, and how to carry offsets over."""

    path: str
    file: Path
    data: bytes
    mode: int
    text: str  # current (as stored: BOM, CRLF)
    base: str  # as exported
    carry: Callable[[int], int | None]
    marks: list[review.Mark] = field(default_factory=list)  # in the current text
    base_marks: list[review.Mark] = field(default_factory=list)
    writes: list[tuple[int, int, str, str]] = field(default_factory=list)  # (start, end, replacement, note)
    note: str = ""  # how the base was found

    _lines: tuple[list[int], list[int]] | None = None

    def lines(self) -> tuple[list[int], list[int]]:
        """Where each line of the base text starts, and where its paragraph ends (computed once)."""
        if self._lines is None:
            starts = [0, *(match.end() for match in review._NEWLINE.finditer(self.base))]
            self._lines = (starts, review._paragraphs(self.base)[1])
        return self._lines


def carry_over(base: str, current: str) -> Callable[[int], int | None]:
    """Offsets in `base` -> offsets in `current`, where the text around them did not change (None where it did)."""
    if base == current:
        return lambda offset: offset
    old_lines = base.splitlines(keepends=True)
    new_lines = current.splitlines(keepends=True)
    old_starts = [0]
    for line in old_lines:
        old_starts.append(old_starts[-1] + len(line))
    new_starts = [0]
    for line in new_lines:
        new_starts.append(new_starts[-1] + len(line))
    blocks = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False).get_matching_blocks()

    def carry(offset: int) -> int | None:
        for a, b, size in blocks:
            if size and old_starts[a] <= offset <= old_starts[a + size]:
                return new_starts[b] + offset - old_starts[a]
        return None

    return carry


# -- The import -----------------------------------------------------------------------------------

@dataclass
class Outcome:
    written: list[str] = field(default_factory=list)  # "path:line: note: ..." lines
    unplaced: list[tuple[Location, str]] = field(default_factory=list)
    diff: list[str] = field(default_factory=list)
    already: int = 0


def import_docx(docx: Path, manuscript: Manuscript, diagnostics: Diagnostics, out: TextIO) -> int:
    """Write the reviewer's changes and comments in `docx` into the chapter files; the exit status."""
    package = read_package(docx)
    props = package.properties
    title = props.get(f"{PROPERTY}-title", "")
    if title != manuscript.report.title:
        raise BadDocx(f"{docx}: made from another report ('{title}'), not from '{manuscript.report.title}'")
    chapter_paths = {chapter.path for chapter in manuscript.chapters}
    unknown = sorted(set(package.chapters) - chapter_paths)
    if unknown and not set(package.chapters) & chapter_paths:
        raise BadDocx(f"{docx}: made from chapters this manuscript does not have ({', '.join(unknown)})")
    commit = props.get(f"{PROPERTY}-commit", "")
    sources: dict[str, Source] = {}
    outcome = Outcome()
    for path in unknown:
        outcome.unplaced.append((Location(path), "this chapter is no longer in report.yaml: its changes are not "
                                                 "imported"))
    for path, digest in package.chapters.items():
        if path in chapter_paths:
            source = _source(manuscript.root, path, digest, commit, diagnostics)
            if source is not None:
                sources[path] = source
    diagnostics.check()
    name = docx.name
    for paragraph in package.paragraphs:
        _paragraph(paragraph, package, sources, outcome, name)
    if outcome.diff:
        out.write("".join(outcome.diff))
        diagnostics.warning(Location(name), "the reviewer changed text without tracking it (the diff above); "
                                            "nothing was imported: make those edits by hand or ask for them as "
                                            "tracked changes, then import again")
        return EXIT_CHECKS_FAILED
    _write(manuscript.root, sources, outcome, out)
    for location, message in outcome.unplaced:
        diagnostics.warning(location, message)
    if not outcome.written and not outcome.unplaced:
        print(f"{name}: nothing new to import" + (f" ({outcome.already} marks already imported)"
                                                  if outcome.already else ""), file=out)
    return EXIT_CHECKS_FAILED if outcome.unplaced else EXIT_OK


def _source(root: Path, path: str, digest: str, commit: str, diagnostics: Diagnostics) -> Source | None:
    problems: list[tuple[Location, str]] = []
    plan = review.plan_rewrite(root, path, problems)  # unbalanced marks are problems too
    for where, message in problems:
        diagnostics.error(where, message)
    if plan is None:
        return None
    file, data, text, scan = plan.file, plan.data, plan.text, plan.scan
    base, note = text, ""
    if hashlib.sha256(data).hexdigest() != digest:
        old = vcs.show(root, commit, path) if commit else None
        if old is not None and hashlib.sha256(old).hexdigest() == digest:
            base, note = old.decode("utf-8", "replace"), f"changed since commit {commit}, when the DOCX was made"
        else:
            note = "changed since the DOCX was made, and that version is not in git: placed by its text"
    base_scan = review.scan_marks(base, review.body_start(base)) if base is not text else scan
    return Source(path, file, data, plan.mode, text, base, carry_over(base, text),
                  scan.marks, base_scan.marks, note=note)


def _paragraph(paragraph: Paragraph, package: Package, sources: dict[str, Source], outcome: Outcome,
               name: str) -> None:
    exported = package.blocks.get(paragraph.block) if paragraph.block else None
    reviewer_changes = any(segment.kind != "text" for segment in paragraph.segments) or paragraph.anchors
    if exported is None:  # a title, caption, attribution, the places appendix, or a paragraph the reviewer added
        if reviewer_changes or paragraph.mark:
            outcome.unplaced.append((Location(name), f"a change or comment in a paragraph that is not written as such "
                                                     f"in a chapter file: {_quote(paragraph.text)}"))
        return
    source = sources.get(exported.path)
    where = Location(exported.path, exported.line)
    if source is None:
        return
    reviewed = changes(paragraph, exported, package.comments)
    if reviewed.untracked != exported.text:
        outcome.diff += _diff(exported, reviewed.untracked, name)
        return
    for problem in reviewed.problems:
        outcome.unplaced.append((where, problem))
    if paragraph.mark == "ins":
        outcome.unplaced.append((where, "the reviewer split this paragraph or added one after it: "
                                        "CriticMarkup cannot mark a new paragraph; add it by hand"))
    if not reviewed.edits:
        return
    _place(reviewed.edits, exported, source, outcome, where)


def _place(edits: list[Edit], exported: Exported, source: Source, outcome: Outcome, where: Location) -> None:
    base = source.base
    starts, limits = source.lines()
    if not 1 <= exported.line <= len(starts):
        outcome.unplaced.append((where, "its line is not in the file any more"))
        return
    region_start = starts[exported.line - 1]
    region_end = limits[exported.line - 1]
    view, offsets = source_view(base, region_start, region_end, source.base_marks)
    offsets.append(region_end)
    alignment = Alignment(exported.text, view)
    protected = [(m.start() + region_start, m.end() + region_start) for m in _PROTECTED.finditer(base[region_start:
                                                                                                     region_end])]
    current_start = source.carry(region_start)
    current_end = source.carry(region_end)
    current_region = source.text[current_start:current_end] if current_start is not None and current_end is not None \
        else source.text
    for edit in sorted(edits, key=lambda e: (e.start, e.order)):
        what = _describe(edit)
        mark, span, why = _mark(edit, alignment, offsets, base, protected, source.base_marks)
        if span is not None and mark in current_region:
            outcome.already += 1
            continue
        if span is None or why:
            outcome.unplaced.append((where, f"cannot place the {what}: {why}"))
            continue
        start, end = source.carry(span[0]), source.carry(span[1])
        if start is None or end is None or source.text[start:end] != base[span[0]:span[1]]:
            outcome.unplaced.append((where, f"cannot place the {what}: the text there has changed since the DOCX "
                                            "was made"))
            continue
        if any(s < end and start < e or (start == end and s < start < e) for s, e, _, _ in source.writes) or \
                any(m.start < end and start < m.end and not (start == end and start in (m.start, m.end))
                    for m in source.marks):
            outcome.unplaced.append((where, f"cannot place the {what}: it overlaps another mark"))
            continue
        source.writes.append((start, end, mark, what))


def _mark(edit: Edit, alignment: Alignment, offsets: list[int], base: str, protected: list[tuple[int, int]],
          marks: list[review.Mark]) -> tuple[str, tuple[int, int] | None, str]:
    """The CriticMarkup for `edit`, the span of the base text it replaces, and why it cannot go there ("" if
    it can). Without a span, the mark is "" and the reason says why."""
    note = attribution_comment(edit.author, edit.date, edit.text if edit.kind == "comment" else None)
    if edit.kind == "ins" or (edit.kind == "comment" and edit.start == edit.end):
        candidates = alignment.points(edit.start)
        if not candidates:
            return "", None, "its place in the Markdown is not certain (the words around it are not in the source)"
        mark = "{++" + _inserted(edit.text) + "++}" + note if edit.kind == "ins" else note
        why = ""
        for at in candidates:
            position = offsets[at]
            if any(s < position < e for s, e in protected):
                why = "it falls inside Markdown syntax (a link's address, code, a note call or an attribute list)"
            elif any(m.start < position < m.end for m in marks):
                why = "it falls inside another review mark"
            else:
                return mark, (position, position), ""
        return mark, (offsets[candidates[0]], offsets[candidates[0]]), why
    first = alignment.start(edit.start)
    last = alignment.end(edit.end)
    if first is None or last is None:
        return "", None, "the words it concerns are not in the Markdown as such"
    start, end = offsets[first], offsets[last - 1] + 1
    words = base[start:end]
    if edit.kind == "del":
        mark = "{--" + words + "--}" + note
    elif edit.kind == "sub":
        mark = "{~~" + words + review.SUBSTITUTION + _inserted(edit.text) + "~~}" + note
    else:
        mark = "{==" + words + "==}" + note
    matched = {offsets[k] for k in alignment.matched(first, last)}
    unmatched = [base[j] for j in range(start, end) if j not in matched]
    why = ""
    if any(s < start < e or s < end < e for s, e in protected):
        why = "it would cross Markdown syntax (a link's address, code, a note call or an attribute list)"
    elif any(m.start < end and start < m.end for m in marks):
        why = "it overlaps another review mark"
    elif _LINE_SYNTAX.search(words) or unmatched.count("*") % 2 or unmatched.count("_") % 2 or \
            any(c in "[]()`<>{}|" for c in unmatched):
        why = "it would cross Markdown syntax (emphasis, a link, a line of a list, quotation or table)"
    return mark, (start, end), why


def attribution_comment(author: str, date: str, text: str | None) -> str:
    """`{>>NAME, YYYY-MM-DD<<}` naming a change, or `{>>NAME, YYYY-MM-DD: TEXT<<}` for a comment."""
    return review.attribution_comment(review.reviewer_name(author) or "Reviewer", day(date),
                                      review.reviewer_text(text or "") if text is not None else "")


def _inserted(text: str) -> str:
    """Inserted words as literal Markdown on one line."""
    text = " ".join(text.replace("\n", " ").split(" "))
    text = re.sub(r"([\\`*_\[\]<>])", r"\\\1", text)
    return review.reviewer_text(text, spaces=True)


def _describe(edit: Edit) -> str:
    by = f"by {edit.author}" if edit.author else "by an unnamed reviewer"
    kind = {"ins": "insertion", "del": "deletion", "sub": "replacement", "comment": "comment"}[edit.kind]
    return f"{kind} {by}"


def _quote(text: str, limit: int = 60) -> str:
    text = re.sub(r"\s", " ", text)
    return '"' + (text if len(text) <= limit else text[:limit - 1] + "\u2026") + '"'


def _diff(exported: Exported, reviewed: str, name: str) -> list[str]:
    def sentences(text: str) -> list[str]:
        return [line + "\n" for line in re.split(r"(?<=[.!?;])\s+", text.strip()) if line]

    where = f"{exported.path}:{exported.line}"
    return list(difflib.unified_diff(sentences(exported.text), sentences(reviewed),
                                     fromfile=f"{where} (as exported)", tofile=f"{where} (in {name}, untracked)",
                                     lineterm="\n"))


def _write(root: Path, sources: dict[str, Source], outcome: Outcome, out: TextIO) -> None:
    """Each chapter with marks to write: backed up, then rewritten atomically; one note per mark."""
    for source in sources.values():
        if not source.writes:
            continue
        pieces: list[str] = []
        placed = []
        last = length = 0
        for start, end, mark, what in sorted(source.writes, key=lambda w: (w[0], w[1])):
            pieces.append(source.text[last:start])
            length += start - last
            placed.append((length, what, mark))
            pieces.append(mark)
            length += len(mark)
            last = end
        pieces.append(source.text[last:])
        text = "".join(pieces)
        review.write_back(source.file, source.data, source.mode, text)
        for offset, what, mark in placed:
            number = text.count("\n", 0, offset) + 1
            outcome.written.append(f"{source.path}:{number}: note: {what}: {_quote(_shown(mark))}")
        if source.note:
            outcome.written.append(f"{source.path}: note: {source.note}")
    for line in outcome.written:
        print(line, file=out)


def _shown(mark: str) -> str:
    """The words of a mark, for its note: an insertion's, a comment's text, a deletion's."""
    scan = review.scan_marks(mark)
    if not scan.marks:
        return mark
    first = scan.marks[0]
    if first.opener == "{++":
        return first.content
    if first.opener == "{~~":
        return f"{first.content} \u2192 {first.new}"
    if first.opener == "{>>":
        return first.content.partition(": ")[2] or first.content
    if first.opener == "{==" and len(scan.marks) > 1:
        return scan.marks[1].content.partition(": ")[2]
    return first.content
