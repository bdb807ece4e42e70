"""`build-report import-comments DRAFT.pdf`: a reviewer's PDF annotations into the chapters as CriticMarkup.

    annotations.read_draft -> which chapter each page holds (named destinations)
        -> the draft's commit (its stamp) -> the chapter text at that commit
        -> the words under each annotation (annotations.page_texts: glyphs in /QuadPoints or /Rect)
        -> found in the chapter's Markdown by letters and digits only -> carried to today's file
        -> CriticMarkup spliced in, each file rewritten atomically with a backup (review.write_back)

Matching compares letters and digits only, case-folded and NFKC-normalised (as pagemap.letters
counts them), with a map from each letter back to its offset in the file, so the layout's
hyphens, ligatures, smart quotes and spacing, and the Markdown's emphasis, link targets,
footnote calls and attribute lists do not matter. The words around the annotation on the page
(its context) settle a phrase that occurs more than once, within the section the page holds
(the headings' named destinations); footnote definitions are always searched, as the draft
prints them at the page foot. What cannot be placed exactly (no match, two equally good
matches, text changed since the draft, a place where a mark would break the Markdown or nest
in another) is listed with its page and text, never guessed.

The CriticMarkup written (a convention shared with import-docx):

    sticky note, free text     {>>NAME, YYYY-MM-DD: text<<}   at the end of the nearest paragraph
    highlight (underline)      {==words==}{>>NAME, YYYY-MM-DD: note<<}
    strike-out                 {--words--}{>>NAME, YYYY-MM-DD<<}
    caret with text            {++text++}{>>NAME, YYYY-MM-DD<<}
    strike-out + caret group   {~~old~>new~~}{>>NAME, YYYY-MM-DD<<}   (Acrobat's "replace text")

A reply (/IRT, /RT /R or none) is appended to the comment of the annotation it answers, as
"; reply NAME: text". A highlight or strike-out over two paragraphs or table cells becomes one
mark in each (the note after the last), as a mark may not cross a block. Running it again on the
same draft adds nothing: a mark identical to the one it would write, at that place, counts as
imported already.
"""

from __future__ import annotations

import bisect
import difflib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from . import confine, review, vcs
from .annotations import (
    MAX_ANNOTATIONS,
    Annotation,
    Box,
    Draft,
    PageText,
    UnreadableDraft,
    page_texts,
    read_draft,
)
from .diagnostics import BuildReportError, Diagnostics, printable
from .model import Chapter, Location, Manuscript

CONTEXT = 48  # letters of context on each side of the annotated words
MIN_CONTEXT = 16  # letters of context that must agree to choose between occurrences
MAX_CANDIDATES = 500  # occurrences of one phrase considered
MAX_SOURCE = 2_000_000  # characters of a chapter file matched against
QUOTE = 70  # characters of an annotation's words shown in a message
NOTE = 240  # characters of its note shown


class NotThisDraft(BuildReportError):
    """The PDF is not a review draft of this manuscript."""


@dataclass
class Outcome:
    placed: int = 0
    already: int = 0
    unplaced: int = 0
    files: list[str] = field(default_factory=list)  # "path (previous text in path.bak)"


@dataclass
class _Item:
    """One thing to write: an annotation, or a strike-out and caret grouped as a replacement."""

    kind: str  # "comment", "highlight", "strike-out", "insertion", "replacement"
    main: Annotation
    text: str  # the comment's text (with replies), or the inserted / new text
    caret: Annotation | None = None  # a replacement's caret

    @property
    def label(self) -> str:
        name = _name(self.main.author)
        what = "sticky note" if self.main.kind == "Text" else \
            "free-text comment" if self.main.kind == "FreeText" else \
            f"{self.main.kind.lower()} comment" if self.kind == "comment" else self.kind
        return f"{what} by {name}" if name else what


@dataclass
class _Edit:
    start: int  # offsets in today's file
    end: int
    new: str  # the text that replaces text[start:end]
    item: _Item
    words: str  # for the message
    report: bool = True  # printed (the first piece of a mark cut at paragraphs)


@dataclass
class _Source:
    """A chapter's text as the draft showed it (`base`) and as it is now (`text`)."""

    chapter: Chapter
    file: Path
    data: bytes
    mode: int
    text: str  # today's file, as stored
    base: str  # the chapter at the draft's commit (== text when the draft is of today's file)
    letters: str = ""  # of `base`: letters and digits, case-folded
    offsets: list[int] = field(default_factory=list)  # letters[i] is at base[offsets[i]]
    letters_only: str = ""  # the same without digits
    offsets_only: list[int] = field(default_factory=list)
    line_starts: list[int] = field(default_factory=list)  # of `base`
    footnote_lines: list[tuple[int, int]] = field(default_factory=list)  # [first, last] of each definition
    # Where the layout may print letters the Markdown lacks: after each link (a cross-reference's
    # "Chapter 2, Title", "(page 4)"), as (index in letters_only, the link's start and end offsets).
    gaps: list[tuple[int, int, int]] = field(default_factory=list)
    opcodes: list | None = None  # the line diff of `base` and `text` (_carry)
    across_budget: int = 200  # searches across links left (each is ~gaps x key length): hostile input stays cheap
    marks: list[review.Mark] = field(default_factory=list)  # in `text`
    problem: str = ""  # why this file cannot be rewritten
    edits: list[_Edit] = field(default_factory=list)


def import_comments(pdf: Path, manuscript: Manuscript, diagnostics: Diagnostics, out: TextIO | None) -> Outcome:
    """Write the annotations of the draft `pdf` into `manuscript`'s chapter files (see the module doc)."""
    problem = confine.file_problem(pdf)
    if problem:
        raise UnreadableDraft(f"{pdf}: {problem}")
    with open(pdf, "rb") as handle:
        if b"%PDF-" not in handle.read(1024):
            raise UnreadableDraft(f"{pdf}: is not a PDF")
    draft = read_draft(pdf)
    chapters = {chapter.id: chapter for chapter in manuscript.chapters}
    # Every chapter-level destination, so that generated chapters (the places appendix) own their pages.
    starts = sorted((page, name) for name, page in draft.destinations.items() if "--" not in name)
    if not any(name in chapters for _, name in starts):
        raise NotThisDraft(f"{pdf}: is not a draft of this manuscript (none of its chapters is in the PDF)")
    title = manuscript.report.title
    if draft.title and title and not draft.title.startswith(title):
        diagnostics.warning(Location(str(pdf)), f"the draft's title is '{_clip(draft.title)}', this manuscript's "
                                                f"'{_clip(title)}': is it a draft of another report?")
    items, skipped = _items(draft)
    pages = {item.main.page for item in items}
    texts = page_texts(pdf, pages | {starts[0][0]})
    stamp = max((text.stamp for text in texts.values()), key=lambda s: ("commit" in s, len(s)), default="")
    if not stamp:
        raise NotThisDraft(f"{pdf}: is not a review draft made by build-report draft (its pages have no draft stamp)")
    commit_match = re.search(r"commit\s+([0-9a-f]{4,40})(\s*\+\s*uncommitted)?", stamp)
    commit, dirty = (commit_match.group(1), bool(commit_match.group(2))) if commit_match else ("", False)
    where = Location(str(pdf))
    for note in skipped:
        diagnostics.warning(where, note)
    if draft.skipped:
        diagnostics.warning(where, f"{draft.skipped} annotations were not read (malformed, or beyond the first "
                                   f"{MAX_ANNOTATIONS})")
    age, at_commit = _age(manuscript.root, commit, dirty, diagnostics, where)
    sources: dict[str, _Source] = {}
    outcome = Outcome(unplaced=draft.skipped)
    letters = {index: _Page.of(text) for index, text in texts.items() if text.glyphs}
    for item in items:
        page = item.main.page
        label = draft.labels[page] if page < len(draft.labels) else str(page + 1)
        owner = _chapter_of(page, starts)
        if owner is None or owner not in chapters:
            _unplaced(diagnostics, where, label, item, "it is not on a page of a chapter of the manuscript")
            outcome.unplaced += 1
            continue
        chapter = chapters[owner]
        if chapter.path not in sources:
            sources[chapter.path] = _source(manuscript, chapter, at_commit)
        source = sources[chapter.path]
        try:
            edit = _place(item, letters.get(page), source, draft)
        except _Unplaced as reason:
            line = reason.line
            message = str(reason) + (f" ({age})" if reason.changed and age else "")
            if line:
                diagnostics.warning(Location(chapter.path, line),
                                    f"{item.label} ({pdf.name} page {label}){_quote(item)}: not placed: {message}")
            else:
                _unplaced(diagnostics, where, label, item, message)
            outcome.unplaced += 1
            continue
        if not edit:
            outcome.already += 1
            continue
        source.edits += edit
        outcome.placed += 1
    written = {path: _spliced(source) for path, source in sources.items() if source.edits}  # all checked first
    for path, text in written.items():
        _rewrite(manuscript, sources[path], text, out, outcome)
    if out is not None:
        if outcome.already:
            print(f"{pdf}: {outcome.already} annotation{'s' * (outcome.already != 1)} already in the manuscript "
                  "(nothing added for them)", file=out)
        if not (outcome.placed or outcome.already or outcome.unplaced):
            print(f"{pdf}: no annotations to import", file=out)
    return outcome


def _unplaced(diagnostics: Diagnostics, where: Location, label: str, item: _Item, why: str) -> None:
    diagnostics.warning(where, f"page {label}: {item.label}{_quote(item)}: not placed: {why}")


def _quote(item: _Item) -> str:
    text = item.text or item.main.text
    return f': "{_clip(text)}"' if text.strip() else ""


def _clip(text: str, limit: int = QUOTE) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1] + "\u2026"


# -- The annotations as things to write ------------------------------------------------------------


def _items(draft: Draft) -> tuple[list[_Item], list[str]]:
    """The annotations to write, replies folded into their parents and replace-text groups joined."""
    by_key = {annotation.key: annotation for annotation in draft.annotations}
    replies: dict[str, list[Annotation]] = {}
    grouped: dict[str, Annotation] = {}  # a group's strike-out key -> its caret
    members: set[str] = set()
    skipped: list[str] = []
    for annotation in draft.annotations:
        parent = by_key.get(annotation.irt)
        if parent is None:
            continue
        if annotation.reply_type == "Group":
            strike, caret = (parent, annotation) if parent.kind == "StrikeOut" else (annotation, parent)
            if strike.kind == "StrikeOut" and caret.kind == "Caret":
                grouped[strike.key] = caret
                members.add(caret.key)
            continue
        root, seen = parent, {annotation.key}
        while root.irt in by_key and root.key not in seen and root.reply_type in ("", "R"):
            seen.add(root.key)
            root = by_key[root.irt]
        replies.setdefault(root.key, []).append(annotation)
        members.add(annotation.key)
    items = []
    for annotation in draft.annotations:
        if annotation.key in members:
            continue
        extra = "".join(f"; reply {_name(reply.author) or 'anonymous'}: {_plain(reply.text)}"
                        for reply in replies.get(annotation.key, []) if reply.text.strip())
        note = _plain(annotation.text)
        if annotation.kind in ("Highlight", "Underline", "Squiggly"):
            items.append(_Item("highlight", annotation, note + extra))
        elif annotation.kind == "StrikeOut":
            partner = grouped.get(annotation.key)
            if partner is not None:
                new = _plain(partner.text) or note
                items.append(_Item("replacement", annotation, new, partner))
            else:
                items.append(_Item("strike-out", annotation, note + extra))
        elif annotation.kind == "Caret":
            if not note:
                skipped.append(f"page {draft.labels[annotation.page]}: a caret without text was ignored")
                continue
            items.append(_Item("insertion", annotation, note))
        elif annotation.text.strip() or extra:
            items.append(_Item("comment", annotation, note + extra))
    return items, skipped


def _plain(text: str) -> str:
    return " ".join(text.split())


def _name(author: str) -> str:
    return review.reviewer_name(author)


def _safe(text: str) -> str:
    return review.reviewer_text(text)


def _comment(item: _Item, with_text: bool) -> str:
    """The attribution comment: {>>NAME, DATE: TEXT<<}, or {>>NAME, DATE<<} after a change."""
    return review.attribution_comment(_name(item.main.author), item.main.date,
                                      _safe(item.text)[:2000] if with_text else "")


# -- The chapter texts --------------------------------------------------------------------------------


def _age(root: Path, commit: str, dirty: bool, diagnostics: Diagnostics, where: Location) -> tuple[str, str]:
    """("this draft is N commits old" or "", the commit to read the chapters at, "" for today's files)."""
    if not commit:
        return "", ""
    if dirty:
        diagnostics.warning(where, f"the draft was built from commit {commit} with uncommitted changes: "
                                   "matching against the chapter files as they are now")
        return "", ""
    full = vcs.text(root, "rev-parse", "--verify", "--quiet", f"{commit}^{{commit}}")
    if not full:
        diagnostics.warning(where, f"the draft's commit {commit} is not in this manuscript's git history: "
                                   "matching against the chapter files as they are now")
        return "", ""
    count = vcs.text(root, "rev-list", "--count", f"{full}..HEAD")
    age = f"this draft is {count} commit{'s' * (count != '1')} old" if count and count != "0" else ""
    return age, full


def _source(manuscript: Manuscript, chapter: Chapter, commit: str) -> _Source:
    problems: list[tuple[Location, str]] = []
    plan = review.plan_rewrite(manuscript.root, chapter.path, problems, unbalanced=False)
    if plan is None:
        source = _Source(chapter, manuscript.root / chapter.path, b"", 0o644, "", "", problem=problems[0][1])
    else:
        base = plan.text
        old = vcs.show(manuscript.root, commit, chapter.path) if commit else None
        if old is not None:  # else a chapter added since: today's text is the draft's
            base = old.decode("utf-8", "replace")
        source = _Source(chapter, plan.file, plan.data, plan.mode, plan.text, base)
        source.marks = plan.scan.marks
        if plan.scan.unbalanced:
            source.problem = f"has an unbalanced review mark at line {plan.scan.unbalanced[0].line}; fix it first"
    _index(source)
    return source


_HIDDEN = [re.compile(pattern, flags) for pattern, flags in (
    (r"\[\^[^\]\s]{1,200}\]:?", 0),  # footnote calls and the labels of definitions
    (r"!\[[^\]\n]{0,2000}\]", 0),  # an image's alt text is not in the flow
    (r"\]\((?:[^()\s]|\([^()\s]*\))*(?:\s+(?:\"[^\"\n]*\"|'[^'\n]*'))?\s*\)", 0),  # a link's or image's target
    (r"\]\[[^\]\n]{0,200}\]", 0),  # a reference link's label
    (r"^[ \t]{0,3}\[[^\]\n^]{1,200}\]:[ \t]+\S.*$", re.M),  # a link reference definition
    (r"\{[ \t]*[:#.][^}\n]{0,500}\}", 0),  # attribute lists: {#id}, {: .class}
    (r"<!--.*?-->", re.S),  # HTML comments
    (r"</?[A-Za-z][^<>\n]{0,2000}>", 0),  # HTML tags (and the angle brackets of autolinks)
    (r"(?<=<)mailto:", re.I),  # an e-mail autolink prints without its scheme
    (r"&(?:[A-Za-z]{1,30}|#\w{1,10});", 0),  # character references
    (r"^[ \t]*!!![ \t]+[\w-]+", re.M),  # an admonition's type
    (r"^[ \t]*-{2}8<-{2}.*$", re.M),  # snippet includes
)]


def _index(source: _Source) -> None:
    """The letters and digits of the chapter's Markdown as the draft prints them, each with its offset."""
    text = source.base[:MAX_SOURCE]
    start = review.body_start(text)
    hidden = bytearray(len(text))
    hidden[:start] = b"\x01" * start
    for pattern in _HIDDEN:
        for match in pattern.finditer(text, start):
            if pattern.pattern.startswith("</?") and re.match(r"</?(?:https?|mailto|ftp)", match.group(), re.I):
                continue  # an autolink: its address is printed
            hidden[match.start():match.end()] = b"\x01" * (match.end() - match.start())
    for mark in review.scan_marks(text, start).marks:
        if mark.opener == "{>>":  # a comment prints as a marker ("C1"), left out of the page's words
            hidden[mark.start:mark.end] = b"\x01" * (mark.end - mark.start)
    letters, offsets = [], []
    for offset, char in enumerate(text):
        if hidden[offset] or not (char.isalnum() or ord(char) > 0x7F):
            continue
        for folded in unicodedata.normalize("NFKC", char).casefold():
            if folded.isalnum():
                letters.append(folded)
                offsets.append(offset)
    source.letters, source.offsets = "".join(letters), offsets
    keep = [index for index, char in enumerate(letters) if not char.isdigit()]
    source.letters_only = "".join(letters[index] for index in keep)
    source.offsets_only = [offsets[index] for index in keep]
    source.line_starts = [0, *(match.end() for match in re.finditer("\n", text))]
    for link in _CONSTRUCTS[0][0].finditer(text, start):
        if not link.group().startswith("!") and len(source.gaps) < 5000:
            source.gaps.append((bisect.bisect_left(source.offsets_only, link.end()), link.start(), link.end()))
    lines = text.split("\n")
    number = 0
    while number < len(lines):
        if re.match(r"[ \t]{0,3}\[\^[^\]\s]+\]:", lines[number]):
            first = number
            number += 1
            while number < len(lines) and (not lines[number].strip() and number + 1 < len(lines)
                                           and lines[number + 1].startswith(("    ", "\t"))
                                           or lines[number].startswith(("    ", "\t"))):
                number += 1
            source.footnote_lines.append((first + 1, number))
        else:
            number += 1


def _line(starts: list[int], offset: int) -> int:
    return bisect.bisect_right(starts, offset)


# -- Placing one annotation -----------------------------------------------------------------------


class _Unplaced(Exception):
    def __init__(self, why: str, line: int = 0, changed: bool = False):
        super().__init__(why)
        self.line = line
        self.changed = changed


@dataclass
class _Page:
    """A page's letters and digits, each with the glyph it came from."""

    text: PageText
    letters: str
    glyph_of: list[int]

    def word_edge(self, letter: int, before: bool) -> bool:
        """Whether page letter `letter` starts (`before`) or ends a word: no letter touches it on that side."""
        glyph = self.glyph_of[letter]
        neighbour = glyph - 1 if before else glyph + 1
        glyphs = self.text.glyphs
        if not 0 <= neighbour < len(glyphs) or glyphs[neighbour].line != glyphs[glyph].line:
            return True
        if not any(char.isalnum() for char in glyphs[neighbour].text):
            return True
        this, other = glyphs[glyph].box, glyphs[neighbour].box
        gap = this.x0 - other.x1 if before else other.x0 - this.x1
        return gap > 0.15 * (this.y1 - this.y0)

    @classmethod
    def of(cls, text: PageText) -> _Page:
        letters, glyph_of = [], []
        for index, glyph in enumerate(text.glyphs):
            for char in glyph.text.casefold():
                if char.isalnum():
                    letters.append(char)
                    glyph_of.append(index)
        return cls(text, "".join(letters), glyph_of)


def _place(item: _Item, page: _Page | None, source: _Source, draft: Draft) -> list[_Edit]:
    """The edits that write `item`, none when it is in the file already; `_Unplaced` when it cannot be placed."""
    if source.problem:
        raise _Unplaced(f"{source.chapter.path} {source.problem}")
    if page is None:
        raise _Unplaced("no text could be read on its page")
    text = page.text
    annotation = item.main
    window = _window(source, draft, annotation.page)
    if item.kind == "comment":
        comment = _comment(item, with_text=True)
        try:
            line = _nearest_line(text, annotation.rect)
            chosen = [i for i, glyph in enumerate(page.glyph_of) if text.glyphs[glyph].line == line]
            if not chosen:
                raise _Unplaced("no text near it on the page")
            start, end = _find(page, chosen[0], chosen[-1] + 1, source, window)
            start, end = _carry(source, start, end)
        except _Unplaced:
            if _already_in(source, comment):  # imported before, and its paragraph edited since
                return []
            raise
        at = _paragraph_end(source.text, end)
        first, last = _paragraph_span(source.text, at)
        if comment in source.text[first:last]:
            return []
        return [_checked(source, _Edit(at, at, comment, item, source.text[start:end]))]
    if item.kind == "insertion":
        words, attribution = _safe(item.text), _comment(item, with_text=False)
        marks = ["{++" + spaced + "++}" + attribution for spaced in (words, words + " ", " " + words)]
        try:
            split = _caret_split(page, annotation.rect)
            start, end = _find(page, max(0, split - 12), min(len(page.letters), split + 12), source, window,
                               split=split)
            point, _ = _carry(source, start, start)
        except _Unplaced:
            if any(_already_in(source, mark) for mark in marks):  # its own letters moved the words apart
                return []
            raise
        first, last = _paragraph_span(source.text, point)
        if any(mark in source.text[first:last] for mark in marks):
            return []
        return [_checked(source, _insertion(source.text, point, item))]
    chosen = _under(page, annotation)
    if not chosen:
        raise _Unplaced("no text under it on the page")
    start, end = _find(page, chosen[0], chosen[-1] + 1, source, window, edges=True)
    start, end = _carry(source, start, end)
    markdown = source.text
    pieces = [_whole_constructs(markdown, *piece) for piece in _pieces(markdown, start, end)]
    if not pieces:
        raise _Unplaced("no words under it in the Markdown", _line(_starts(markdown), start))
    if item.kind == "replacement" and len(pieces) > 1:
        raise _Unplaced("a replacement cannot run over more than one paragraph or table cell",
                        _line(_starts(markdown), start))
    words = " \u2026 ".join(markdown[s:e] for s, e in pieces)
    if item.kind == "highlight" and _letters(item.text) == _letters(words.replace("\u2026", "")):
        item.text = ""  # some viewers copy the highlighted words into /Contents: no note
    edits: list[_Edit | None] = []
    for number, (s, e) in enumerate(pieces, 1):
        last = number == len(pieces)  # a note goes after the last piece; each piece names its reviewer
        piece = markdown[s:e]
        if item.kind == "highlight":
            new = "{==" + piece + "==}" + _comment(item, with_text=last and bool(item.text))
        elif item.kind == "strike-out":
            new = "{--" + piece + "--}" + _comment(item, with_text=last and bool(item.text))
        else:
            new = "{~~" + piece + "~>" + _safe(item.text) + "~~}" + _comment(item, with_text=False)
        if review.TOKENS.search(piece):
            if _marked_already(markdown, s, e, new):
                edits.append(None)
                continue
            raise _Unplaced("the words hold a review mark already", _line(_starts(markdown), s))
        edits.append(None if _marked_already(markdown, s, e, new) else
                     _Edit(s, e, new, item, words, report=number == 1))
    if all(edit is None for edit in edits):
        return []
    if any(edit is None for edit in edits):
        raise _Unplaced("part of it is in the file already, part is not", _line(_starts(markdown), start))
    return [_checked(source, edit) for edit in edits if edit is not None]


def _pieces(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """[start, end) cut where a block ends (a blank line, a new list item, quote paragraph or heading)
    and, in a table row, at each cell's edge; each piece without the block's own syntax or spaces."""
    cuts: list[tuple[int, int]] = []
    at = start
    for newline in re.finditer("\n", text[start:end]):
        following = start + newline.end()
        if _BLOCK_START.match(text, following) or not text[following:text.find("\n", following)].strip():
            cuts.append((at, start + newline.start()))
            at = following
    cuts.append((at, end))
    pieces = []
    for s, e in cuts:
        row_start = text.rfind("\n", 0, s) + 1
        if text[row_start:s].strip() == "" and (prefix := _PREFIX.match(text, s)):
            s = max(s, prefix.end())
        parts = [(s, e)]
        if text[row_start:].lstrip().startswith("|"):
            parts, at = [], s
            for bar in re.finditer(r"(?<!\\)\|", text[s:e]):
                parts.append((at, s + bar.start()))
                at = s + bar.end()
            parts.append((at, e))
        for ps, pe in parts:
            while ps < pe and text[ps] in " \t\r\n":
                ps += 1
            while pe > ps and text[pe - 1] in " \t\r\n":
                pe -= 1
            # A mark this draft's import wrote before (the range was carried across it): its words only.
            if comment := _TRAILING_COMMENT.search(text, ps, pe):
                pe = comment.start()
            if pe - ps >= 3 and text[pe - 3:pe] in ("==}", "--}"):
                pe -= 3
            if text.startswith(("{==", "{--"), ps, pe):
                ps += 3
            if any(char.isalnum() for char in text[ps:pe]):
                pieces.append((ps, pe))
    return pieces


_TRAILING_COMMENT = re.compile(r"\{>>[^\n]*?<<\}$")
_PREFIX = re.compile(r"[ \t]*(?:>[ \t]*)*(?:[-*+][ \t]+|\d{1,9}[.)][ \t]+|#{1,6}[ \t]+|\|[ \t]*|:[ \t]+|"
                     r"\[\^[^\]]+\]:[ \t]*)?")


def _letters(text: str) -> str:
    return "".join(char for char in unicodedata.normalize("NFKC", text).casefold() if char.isalnum())


def _starts(text: str) -> list[int]:
    return [0, *(match.end() for match in re.finditer("\n", text))]


def _already_in(source: _Source, mark: str) -> bool:
    return bool(mark) and mark in source.text


def _marked_already(text: str, start: int, end: int, new: str) -> bool:
    """Whether `new` (the mark for text[start:end]) is in the file at that place already."""
    return text.find(new, max(0, start - 3), end + len(new)) >= 0


def _under(page: _Page, annotation: Annotation) -> list[int]:
    """The page letters whose glyph's centre lies in the annotation's quadrilaterals (or /Rect)."""
    boxes = annotation.quads or ([annotation.rect] if annotation.rect else [])
    if not boxes:
        return []
    union = Box(min(b.x0 for b in boxes), min(b.y0 for b in boxes), max(b.x1 for b in boxes),
                max(b.y1 for b in boxes))
    inside = []
    for index, glyph in enumerate(page.glyph_of):
        x, y = page.text.glyphs[glyph].box.centre
        if union.contains(x, y) and any(box.contains(x, y) for box in boxes):
            inside.append(index)
    return inside


def _nearest_line(text: PageText, rect: Box | None) -> int:
    if rect is None:
        raise _Unplaced("it has no /Rect")
    used = {glyph.line for glyph in text.glyphs}

    def distance(line: int) -> tuple[float, float, float]:
        """Level with the note first (notes sit in the margin), then the nearer middle, then across."""
        dx, dy = text.lines[line].gap(rect)
        return round(dy), round(abs(text.lines[line].centre[1] - rect.centre[1])), dx

    return min(used, key=distance)


def _caret_split(page: _Page, rect: Box | None) -> int:
    """The index in the page's letters where a caret stands: the first letter after it."""
    if rect is None:
        raise _Unplaced("it has no /Rect")
    x, y = rect.centre
    lines = {glyph.line for glyph in page.text.glyphs}

    def overlap(line: int) -> tuple[float, float]:
        box = page.text.lines[line]
        return -max(0.0, min(box.y1, rect.y1) - max(box.y0, rect.y0)), abs(box.centre[1] - y)

    line = min(lines, key=overlap)
    before = [i for i, g in enumerate(page.glyph_of) if page.text.glyphs[g].line == line
              and page.text.glyphs[g].box.centre[0] < x]
    on_line = [i for i, g in enumerate(page.glyph_of) if page.text.glyphs[g].line == line]
    if not on_line:
        raise _Unplaced("no text where the caret stands")
    return before[-1] + 1 if before else on_line[0]


def _window(source: _Source, draft: Draft, page: int) -> tuple[int, int]:
    """The lines of the chapter that can be on `page`, from its headings' named destinations."""
    low, high = 1, 1 << 30
    for heading in source.chapter.headings:
        at = draft.destinations.get(f"{source.chapter.id}--{heading.id}")
        if at is None or not heading.source.line:
            continue
        if at < page:
            low = max(low, heading.source.line)
        elif at > page:
            high = min(high, heading.source.line)
    return low, high


def _ref_line(page: _Page, letter: int, source: _Source) -> int:
    """The `--source-refs` line printed beside the block that holds page letter `letter`; 0 if none."""
    if not page.letters or not page.text.refs:
        return 0
    y = page.text.glyphs[page.glyph_of[min(letter, len(page.glyph_of) - 1)]].box.centre[1]
    name = Path(source.chapter.path).name
    number = digits.group(0) if (digits := re.match(r"\d+", name)) else Path(name).stem
    above = [(ref_y, line) for file, line, ref_y in page.text.refs if file == number and ref_y >= y - 3]
    return min(above)[1] if above else 0


def _paragraph_line(text: str, starts: list[int], offset: int) -> int:
    """The first line of the paragraph (block) that holds `offset`: after the blank line above it."""
    line = _line(starts, offset)
    while line > 1:
        above = text[starts[line - 2]:starts[line - 1]]
        if not above.strip() or re.fullmatch(r"[ \t]*(?:>[ \t]*)+\r?\n?", above):
            break
        line -= 1
    return line


def _find(page: _Page, first: int, end: int, source: _Source, window: tuple[int, int],
          split: int | None = None, edges: bool = False) -> tuple[int, int]:
    """The offsets in `source.base` of the page's letters [first, end), found by their letters and the
    context around them; with `split`, the offset where the page letter `split` is (an insertion point).
    With `edges`, an end of the words that is a word's edge on the page must be one in the Markdown."""
    key = page.letters[first:end]
    bounds = (page.word_edge(first, before=True), page.word_edge(end - 1, before=False)) if edges else None
    before = page.letters[max(0, first - CONTEXT):first]
    after = page.letters[end:end + CONTEXT]
    for letters, offsets, digits in ((source.letters, source.offsets, True),
                                     (source.letters_only, source.offsets_only, False)):
        wanted = key if digits else _no_digits(key)
        if not wanted:
            continue
        found = _choose(letters, wanted, before, after, source, offsets, window, _ref_line(page, first, source),
                        bounds)
        if found is None:
            continue
        start = found
        if split is not None:
            inside = len(page.letters[first:split]) if digits else len(_no_digits(page.letters[first:split]))
            if inside >= len(wanted):  # the caret is after the last letter
                point = offsets[start + len(wanted) - 1] + 1
            else:
                point = offsets[start + inside]
                if inside:  # between two letters: right after the one before, unless they are one word
                    point = offsets[start + inside - 1] + 1
            return point, point
        return _word_bounds(source.base, offsets[start], offsets[start + len(wanted) - 1] + 1)
    if split is None and source.across_budget > 0:
        source.across_budget -= 1
        across = _across_links(_no_digits(key), _no_digits(before), _no_digits(after), source, window)
        if across is not None:
            return across
    raise _Unplaced(f"its words were not found in {source.chapter.path}" +
                    (" as it was when the draft was built" if source.base is not source.text else ""))


def _across_links(key: str, before: str, after: str, source: _Source,
                  window: tuple[int, int]) -> tuple[int, int] | None:
    """Words that run into the text the layout gives a link (a cross-reference's "Chapter 2, Title",
    "(page 4)"): the key is the Markdown's letters up to a link, at most 60 letters the layout made,
    and the Markdown's letters after it. The range then covers the whole link."""
    letters, offsets = source.letters_only, source.offsets_only
    if len(key) > 300:
        return None
    found = []
    gaps = [gap for gap in source.gaps if _in_window(source, _line(source.line_starts, gap[1]), window)]
    for gap, link_start, link_end in gaps[:400]:
        head = next((h for h in range(min(len(key) - 1, gap), 0, -1) if letters.endswith(key[:h], 0, gap)), 0)
        tail = next((t for t in range(len(key) - head - 1, 0, -1) if letters.startswith(key[len(key) - t:], gap)),
                    0)
        made = len(key) - head - tail
        if 0 < made <= 60 and head + tail >= 3 and (head or tail):
            start = offsets[gap - head] if head else link_start
            end = offsets[gap + tail - 1] + 1 if tail else link_end
            found.append((head + tail, gap - head, start, max(end, link_end) if head else end))
    if not found:
        return None
    best = max(found)[0]
    found = [entry for entry in found if entry[0] == best]

    def score(entry) -> int:
        at = entry[1]
        return _common(letters[max(0, at - CONTEXT):at], before) + \
            _common(letters[at + best:at + best + CONTEXT * 2][:CONTEXT], after)

    ranked = sorted(found, key=score, reverse=True)
    if len(ranked) > 1 and not (score(ranked[0]) >= MIN_CONTEXT and score(ranked[0]) - score(ranked[1]) >= 6):
        return None
    return _word_bounds(source.base, ranked[0][2], ranked[0][3])


def _no_digits(text: str) -> str:
    return "".join(char for char in text if not char.isdigit())


def _choose(letters: str, key: str, before: str, after: str, source: _Source, offsets: list[int],
            window: tuple[int, int], ref: int, bounds: tuple[bool, bool] | None = None) -> int | None:
    """Where `key` is in `letters`: the one occurrence, or the one that its context and the page's
    section single out; None when it is not there; `_Unplaced` when it is there more than once, alike."""
    found: list[int] = []
    at = letters.find(key)
    while at >= 0 and len(found) < MAX_CANDIDATES:
        found.append(at)
        at = letters.find(key, at + 1)
    if bounds is not None:  # "a" selected as a word is not the "a" inside "research"
        text = source.base
        found = [at for at in found
                 if not (bounds[0] and offsets[at] > 0 and text[offsets[at] - 1].isalnum())
                 and not (bounds[1] and offsets[at + len(key) - 1] + 1 < len(text)
                          and text[offsets[at + len(key) - 1] + 1].isalnum())]
    if not found:
        return None
    before, after = _no_digits(before), _no_digits(after)

    def score(at: int) -> int:
        left = _no_digits(letters[max(0, at - CONTEXT * 2):at])[-CONTEXT:]
        right = _no_digits(letters[at + len(key):at + len(key) + CONTEXT * 2])[:CONTEXT]
        return _common(left, before) + _common(right, after)

    if len(found) == 1:
        if len(key) < 12 and (before or after) and score(found[0]) < min(6, len(before) + len(after)):
            raise _Unplaced("its words were found only in another context")
        return found[0]
    best_score = max(score(at) for at in found)
    if ref:  # the margin reference names the block: one candidate in it, read at least as well as any
        in_block = [at for at in found if _paragraph_line(source.base, source.line_starts, offsets[at]) == ref]
        if len(in_block) == 1 and score(in_block[0]) >= best_score:
            return in_block[0]
    in_window = [at for at in found if _in_window(source, _line(source.line_starts, offsets[at]), window)]
    if len(in_window) == 1 and score(in_window[0]) >= best_score:
        return in_window[0]
    pool = in_window or found
    ranked = sorted(pool, key=score, reverse=True)
    best, second = score(ranked[0]), score(ranked[1]) if len(ranked) > 1 else -1
    if best >= MIN_CONTEXT and best - second >= 6:
        return ranked[0]
    lines = sorted({_line(source.line_starts, offsets[at]) for at in ranked[:4]})
    raise _Unplaced(f"its words occur {len(found)} times in {source.chapter.path} (lines "
                    f"{', '.join(map(str, lines))}) and the words around them do not tell which")


def _common(a: str, b: str) -> int:
    """How many letters `a` and `b` share, in order, in runs of 3 or more."""
    if not a or not b:
        return 0
    blocks = difflib.SequenceMatcher(None, a, b, autojunk=False).get_matching_blocks()
    return sum(block.size for block in blocks if block.size >= 3)


def _in_window(source: _Source, line: int, window: tuple[int, int]) -> bool:
    return window[0] <= line <= window[1] or any(first <= line <= last for first, last in source.footnote_lines)


def _word_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    """[start, end) widened to whole words (a viewer's highlight often clips a word's first or last glyph)."""
    while start > 0 and text[start - 1].isalnum():
        start -= 1
    while end < len(text) and text[end].isalnum():
        end += 1
    return start, end


def _carry(source: _Source, start: int, end: int) -> tuple[int, int]:
    """[start, end) of the draft's text as offsets in today's file; `_Unplaced` if those words changed.

    Each end is carried on its own: through the lines the two texts share, or, in a changed
    paragraph, through the characters they share. The words between must read the same, less any
    review comments added since (a second import of the same draft finds its own marks)."""
    if source.base is source.text or source.base == source.text:
        return start, end
    old, new = source.base, source.text
    old_lines, new_lines = old.splitlines(keepends=True), new.splitlines(keepends=True)
    old_starts, new_starts = _starts_of(old_lines), _starts_of(new_lines)
    if source.opcodes is None:  # once per chapter
        source.opcodes = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False).get_opcodes()
    opcodes = source.opcodes

    def carried(offset: int, after: bool) -> int | None:
        """`offset` in today's file; `after`: the offset just after a character (the range's end)."""
        at = offset - 1 if after else offset
        line = _line_index(old_starts, at)
        for tag, i1, i2, j1, j2 in opcodes:
            if not i1 <= line < i2:
                continue
            if tag == "equal":
                return offset + new_starts[j1] - old_starts[i1]
            if tag != "replace":
                return None
            a, b = "".join(old_lines[i1:i2]), "".join(new_lines[j1:j2])
            if len(a) + len(b) > 200_000:
                return None
            inside = at - old_starts[i1]
            for ctag, c1, c2, d1, _ in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
                if ctag == "equal" and c1 <= inside < c2:
                    return new_starts[j1] + d1 + (inside - c1) + (1 if after else 0)
            return None
        return len(new) if at >= len(old) else None

    new_start = carried(start, after=False) if end > start else None
    new_end = carried(end, after=True)
    if end == start:
        new_start = new_end = carried(start, after=False) if start < len(old) else len(new)
    if new_start is None or new_end is None or new_end < new_start or \
            _letters(_COMMENT.sub("", new[new_start:new_end])) != _letters(old[start:end]):
        raise _Unplaced("the text has changed since the draft", changed=True)
    return new_start, new_end


_COMMENT = re.compile(r"\{>>.*?<<\}", re.S)


def _starts_of(lines: list[str]) -> list[int]:
    starts, at = [], 0
    for line in lines:
        starts.append(at)
        at += len(line)
    starts.append(at)
    return starts


def _line_index(starts: list[int], offset: int) -> int:
    return max(0, bisect.bisect_right(starts, offset) - 1)


# -- Where a mark may go ------------------------------------------------------------------------------

# Constructs a mark must not cut: (pattern, group of the part a mark may lie inside, or 0 for none).
_CONSTRUCTS = [
    (re.compile(r"!?\[((?:[^\[\]\n]|\[[^\[\]\n]*\])*)\](?:\((?:[^()\s]|\([^()\s]*\))*(?:\s+(?:\"[^\"\n]*\"|'[^'\n]*'))?"
                r"\s*\)|\[[^\]\n]*\])(?:\{[^}\n]*\})?"), 1),  # a link or image, with its attribute list
    (re.compile(r"(`+)(?!`).+?(?<!`)\1(?!`)"), 0),  # inline code
    (re.compile(r"<(?:https?:|mailto:|ftp:)[^<>\s]*>", re.I), 0),  # an autolink
    (re.compile(r"</?[A-Za-z][^<>\n]*>"), 0),  # an HTML tag
    (re.compile(r"\[\^[^\]\s]+\]"), 0),  # a footnote call
    (re.compile(r"\{[ \t]*[:#.][^}\n]*\}"), 0),  # an attribute list
]


def _whole_constructs(text: str, start: int, end: int) -> tuple[int, int]:
    """[start, end) widened so that neither end cuts a link, code span, autolink, tag or footnote call;
    a range inside one link's text is fine as it is."""
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line_end = len(text) if line_end < 0 else line_end
    for _ in range(4):
        changed = False
        for pattern, inner in _CONSTRUCTS:
            for match in pattern.finditer(text, line_start, line_end):
                if match.end() <= start or match.start() >= end:
                    continue
                if inner and match.start(inner) <= start and end <= match.end(inner):
                    continue  # inside the link's text: the link is unharmed
                cuts = match.start() < start < match.end() or match.start() < end < match.end()
                if cuts:
                    if pattern is _CONSTRUCTS[-1][0]:
                        raise _Unplaced("the words run into an attribute list", _line(_starts(text), start))
                    start, end = min(start, match.start()), max(end, match.end())
                    changed = True
        if not changed:
            return start, end
    return start, end


_BLOCK_START = re.compile(r"[ \t]*(?:>[ \t]*)*(?:[-*+][ \t]|\d{1,9}[.)][ \t]|#{1,6}(?:[ \t]|$)|\||:[ \t]|"
                          r"\[\^[^\]]+\]:|```|~~~|!!!|Table:|$)")


def _checked(source: _Source, edit: _Edit) -> _Edit:
    """`edit`, if it keeps the Markdown whole and nests in no mark; `_Unplaced` otherwise."""
    text = source.text
    line = _line(_starts(text), edit.start)
    words = text[edit.start:edit.end]
    for newline in re.finditer("\n", words):
        if _BLOCK_START.match(words, newline.end()) or newline.end() == len(words):
            raise _Unplaced("its words run over more than one paragraph, list item or table row", line)
    row_end = text.find("\n", edit.start)
    row = text[text.rfind("\n", 0, edit.start) + 1:row_end if row_end >= 0 else len(text)]
    if row.lstrip().startswith("|") and "|" in words:
        raise _Unplaced("its words run over more than one table cell", line)
    if edit.start < review.body_start(text):
        raise _Unplaced("it falls in the chapter's front matter", line)
    for mark in source.marks:
        if _overlap(mark.start, mark.end, edit.start, edit.end):
            raise _Unplaced(f"it would overlap the review mark at line {mark.line} (marks cannot nest)", line)
    for other in source.edits:
        if _overlap(other.start, other.end, edit.start, edit.end):
            raise _Unplaced("it overlaps another annotation of this draft", line)
    return edit


def _paragraph_span(text: str, offset: int) -> tuple[int, int]:
    """From the blank line before `offset` to the blank line after it."""
    before = max(text.rfind("\n\n", 0, offset), text.rfind("\n\r\n", 0, offset))
    after = [at for at in (text.find("\n\n", offset), text.find("\n\r\n", offset)) if at >= 0]
    return before + 1, min(after) if after else len(text)


def _overlap(start: int, end: int, other_start: int, other_end: int) -> bool:
    """Whether two ranges share a character, or an insertion point falls strictly inside the other."""
    if start == end:
        return other_start < start < other_end
    if other_start == other_end:
        return start < other_start < end
    return start < other_end and other_start < end


def _paragraph_end(text: str, offset: int) -> int:
    """Where a comment about the words at `offset` goes: the end of their paragraph (of their cell in a
    table row; for a heading, of the paragraph below it)."""
    starts = _starts(text)
    number = _line(starts, offset)  # 1-based
    lines = text.split("\n")

    def content_end(index: int) -> int:
        line = lines[index].rstrip("\r")
        end = len(line.rstrip())
        if re.match(r"[ \t]{0,3}#{1,6}[ \t]", line):
            stripped = re.sub(r"(?:[ \t]+\{[^}\n]*\})?(?:[ \t]+#+)?[ \t]*$", "", line)
            end = len(stripped)
        return starts[index] + end

    row = lines[number - 1]
    if row.lstrip().startswith("|"):
        bar = text.find("|", offset, starts[number - 1] + len(row))
        if bar > 0:
            at = bar
            while at > starts[number - 1] and text[at - 1] in " \t":
                at -= 1
            return at
    index = number - 1
    if re.match(r"[ \t]{0,3}#{1,6}[ \t]", row):
        # Not in the heading, where it would join the contents and the bookmarks: the paragraph below it.
        below = index + 1
        while below < len(lines) and not lines[below].strip():
            below += 1
        if below == len(lines) or _BLOCK_START.match(lines[below]) and not lines[below].lstrip().startswith(
                ("- ", "* ", "+ ", ">")) and not re.match(r"[ \t]*\d{1,9}[.)][ \t]", lines[below]):
            raise _Unplaced("it is beside a heading that no paragraph follows", number)
        return _paragraph_end(text, starts[below])
    while index + 1 < len(lines) and lines[index + 1].strip() and not _BLOCK_START.match(lines[index + 1]) \
            and not re.match(r"[ \t]*(?:>[ \t]*)+$", lines[index + 1]):
        index += 1
    return content_end(index)


def _insertion(text: str, point: int, item: _Item) -> _Edit:
    """The insertion mark at `point`, with a space on the side that keeps the words apart."""
    words = _safe(item.text)
    before = text[point - 1] if point else " "
    after = text[point] if point < len(text) else " "
    if before.isalnum() and after.isalnum():  # inside a word: exactly there
        new = words
    elif after in " \t" and before.isalnum():  # at the end of a word: after the space, the space after it
        point += 1
        new = words + ("" if words.endswith(" ") else " ")
    elif before in " \t":
        new = words + ("" if words.endswith(" ") else " ")
    else:  # before punctuation or the end of a line
        new = ("" if words[:1] in ",.;:!?) " else " ") + words
    mark = "{++" + new + "++}" + _comment(item, with_text=False)
    return _Edit(point, point, mark, item, new.strip())


# -- Writing -------------------------------------------------------------------------------------------


def _spliced(source: _Source) -> str:
    """The chapter's text with its edits made; `BuildReportError` if its marks would not balance."""
    source.edits.sort(key=lambda edit: (edit.start, edit.end))
    text = source.text
    pieces, last = [], 0
    for edit in source.edits:
        pieces += [text[last:edit.start], edit.new]
        last = edit.end
    pieces.append(text[last:])
    new = "".join(pieces)
    scan = review.scan_marks(new, review.body_start(new))
    if scan.unbalanced:  # a last line of defence: never write a file that accept/reject would refuse
        raise BuildReportError(f"{source.chapter.path}: the marks would not balance "
                               f"(line {scan.unbalanced[0].line}); nothing was written. This is a bug")
    return new


def _rewrite(manuscript: Manuscript, source: _Source, new: str, out: TextIO | None, outcome: Outcome) -> None:
    edits = source.edits
    if source.file.read_bytes() != source.data:
        raise BuildReportError(f"{source.chapter.path}: changed while its comments were being imported; "
                               "run import-comments again")
    backup = review.write_back(source.file, source.data, source.mode, new)
    relative = confine.relative(backup, manuscript.root)
    outcome.files.append(f"{source.chapter.path} (previous text in {relative})")
    shift = 0
    starts = _starts(new)
    for edit in edits:
        line = _line(starts, edit.start + shift)
        shift += len(edit.new) - (edit.end - edit.start)
        if out is not None and edit.report:
            print(printable(f"{source.chapter.path}:{line}: note: {_describe(edit)}"), file=out)


def _describe(edit: _Edit) -> str:
    item = edit.item
    words = _clip(edit.words)
    if item.kind == "comment":
        return f"{item.label}: \"{_clip(item.text, NOTE)}\""
    if item.kind == "insertion":
        return f"{item.label}: \"{words}\""
    if item.kind == "replacement":
        return f"{item.label}: \"{words}\" \u2192 \"{_clip(item.text)}\""
    return f"{item.label}: \"{words}\"" + (f" \u2014 {_clip(item.text, NOTE)}" if item.text else "")


def _chapter_of(page: int, starts: Iterable[tuple[int, str]]) -> str | None:
    owner = None
    for first, name in starts:
        if first <= page:
            owner = name
    return owner
