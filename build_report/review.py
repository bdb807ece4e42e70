"""Review drafts: CriticMarkup review marks, the draft stamp, and final-build checks.

Review marks (https://fletcher.github.io/MultiMarkdown-6/syntax/critic.html):

    {++added++}  {--deleted--}  {~~old~>new~~}  {==highlighted==}  {>>comment<<}

This module owns their syntax: `scan_marks` finds the complete marks and the
unbalanced openers and closers, with their lines, for `accept`/`reject` and for
the build's "unbalanced review mark" warning. A mark may span lines within a
paragraph, as CriticMarkup allows, but not a blank line or a heading; marks do
not nest.

A draft shows the marks; a final build refuses to run while any remain; `accept`
and `reject` rewrite the chapter files without them. They refuse to run while a
mark is unbalanced (a half-open `{>>` would otherwise swallow every heading and
paragraph up to the next `<<}`), keep each file's bytes outside the marks (BOM,
CRLF), its mode and its symlink, and keep the previous text in the first free
`<file>.bak`, `<file>.bak.1`, ...
"""

from __future__ import annotations

import bisect
import contextlib
import datetime as dt
import hashlib
import itertools
import os
import re
import stat
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Protocol
from xml.etree import ElementTree as etree

from . import confine, vcs
from .config import normalise_newlines
from .diagnostics import BuildReportError, Diagnostic, Diagnostics
from .model import Chapter, Location, Manuscript
from .output import source_date, write_atomic
from .text import did_you_mean

# -- The syntax -------------------------------------------------------------------------------

CLOSERS = {"{++": "++}", "{--": "--}", "{~~": "~~}", "{==": "==}", "{>>": "<<}"}  # opener -> closer
OPENERS = {closer: opener for opener, closer in CLOSERS.items()}
SUBSTITUTION = "~>"  # between the old and the new text of {~~old~>new~~}
_OPENER = re.compile(r"\{(?:\+\+|--|~~|==|>>)")
_TOKEN = re.compile(r"\{(?:\+\+|--|~~|==|>>)|(?:\+\+|--|~~|==|<<)\}")
TOKENS = _TOKEN  # every opener and closer, as scan_marks reads them (the importers test text with it)
_NEWLINE = re.compile(r"\r\n?|\n")  # as config.normalise_newlines reads them, so lines agree with the build
# A paragraph ends at a blank line (in a block quote: a line of only '>') and at a heading line.
_BLANK = re.compile(r"[ \t]*(?:>[ \t]*)*")
_HEADING = re.compile(r"[ \t]{0,3}(?:>[ \t]*)*#{1,6}(?:[ \t]|$)")


@dataclass(frozen=True)
class Mark:
    """A complete review mark: `text[start:end]` of the scanned text, opened on `line`."""

    opener: str  # '{++', '{--', '{~~', '{==' or '{>>'
    start: int
    end: int
    line: int
    content: str  # for a substitution, the old text
    new: str = ""  # a substitution's new text

    def resolved(self, accept: bool) -> str:
        """The text that replaces the mark when it is accepted (or rejected); comments are dropped."""
        if self.opener == "{++":
            return self.content if accept else ""
        if self.opener == "{--":
            return "" if accept else self.content
        if self.opener == "{~~":
            return self.new if accept else self.content
        if self.opener == "{==":
            return self.content
        return ""


class Spliced(Protocol):
    """What `splice_marks` replaces: a mark, or a review item (a change and its comment)."""

    @property
    def start(self) -> int: ...

    @property
    def end(self) -> int: ...


@dataclass(frozen=True)
class Unbalanced:
    """An opener without its closer, a closer without its opener, or a substitution without '~>'."""

    token: str
    line: int
    why: str

    def __str__(self) -> str:
        return f"unbalanced review mark '{self.token}' ({self.why})"


@dataclass(frozen=True)
class MarkScan:
    marks: list[Mark]
    unbalanced: list[Unbalanced]


def scan_marks(text: str, start: int = 0) -> MarkScan:
    """The review marks in `text` from offset `start` on, and every unbalanced opener or closer.

    A mark closes at the first closer of its kind (`{~~` at the first `~~}`, with `~>` inside),
    as in pymdownx.critic, which renders them. It is unbalanced when that closer is missing,
    lies beyond the end of the paragraph (a blank line or a heading), or comes after another
    mark's opener: marks do not nest. The scan then resumes just after the opener, so the
    marks after a half-open one are still found. Code is not exempt: the renderer does not
    exempt it either. Linear time, whatever the input (see `_next`)."""
    if not _TOKEN.search(text, start):
        return MarkScan([], [])  # the usual case, without the work below
    starts, limits = _paragraphs(text)
    marks: list[Mark] = []
    unbalanced: list[Unbalanced] = []
    next_closer = {closer: _next(partial(text.find, closer)) for closer in OPENERS}
    next_opener = _next(lambda pos: match.start() if (match := _OPENER.search(text, pos)) else -1)
    pos = start
    while token := _TOKEN.search(text, pos):
        word, at, pos = token.group(), token.start(), token.end()
        line = bisect.bisect_right(starts, at)  # 1-based: the number of lines starting at or before it
        if word in OPENERS:  # a closer outside every mark
            unbalanced.append(Unbalanced(word, line, f"no opening '{OPENERS[word]}'"))
            continue
        closer = CLOSERS[word]
        close = next_closer[closer](pos)
        if close < 0 or close + len(closer) > limits[line - 1]:
            unbalanced.append(Unbalanced(word, line, f"no closing '{closer}' in its paragraph"))
            continue
        if 0 <= next_opener(pos) < close:
            unbalanced.append(Unbalanced(word, line, f"another mark opens before its closing '{closer}'"))
            continue
        content, end = text[pos:close], close + len(closer)
        if word == "{~~":
            old, middle, new = content.partition(SUBSTITUTION)
            if not middle:
                unbalanced.append(Unbalanced(word, line, f"no '{SUBSTITUTION}' between the old and the new text"))
            else:
                marks.append(Mark(word, at, end, line, old, new))
        else:
            marks.append(Mark(word, at, end, line, content))
        pos = end
    return MarkScan(marks, unbalanced)


def _paragraphs(text: str) -> tuple[list[int], list[int]]:
    """The offset where each line starts, and for each line where its paragraph ends.

    A heading line is a paragraph of its own; a blank line ends at itself (no mark is on it)."""
    newlines = list(_NEWLINE.finditer(text))
    starts = [0, *(match.end() for match in newlines)]
    ends = [*(match.start() for match in newlines), len(text)]
    limits = [0] * len(starts)
    joins_next = False  # whether the line below continues this line's paragraph
    for index in range(len(starts) - 1, -1, -1):
        line = text[starts[index]:ends[index]]
        plain = not _BLANK.fullmatch(line) and not _HEADING.match(line)
        limits[index] = limits[index + 1] if plain and joins_next else ends[index]
        joins_next = plain
    return starts, limits


def _next(find: Callable[[int], int]) -> Callable[[int], int]:
    """`find(pos)` (the first occurrence at or after `pos`, or -1), for positions that only grow.

    The last answer is reused while it still lies ahead, so a text full of unclosed openers is
    searched once per kind of closer, not once per opener."""
    found = -2  # not searched yet

    def next_at(pos: int) -> int:
        nonlocal found
        if found == -2 or 0 <= found < pos:
            found = find(pos)
        return found

    return next_at


def body_start(text: str) -> int:
    """The offset in a chapter file's text (as stored: BOM, CRLF) where its Markdown starts,
    after the front matter, which is YAML and holds no review marks."""
    from .manuscript import FRONT_MATTER  # here: manuscript imports this module

    match = FRONT_MATTER.match(normalise_newlines(text.removeprefix("\ufeff")))
    if not match:
        return 0
    lines = match.group(0).count("\n")  # normalising kept the lines; find the same line in `text`
    return [0, *(m.end() for m in _NEWLINE.finditer(text))][lines]


def resolve_marks(text: str, accept: bool) -> str:
    """A chapter file's text with every review mark accepted (or rejected); comments are dropped.

    Everything outside the marks is kept as it is (BOM, line endings, unbalanced marks)."""
    return splice_marks(text, scan_marks(text, body_start(text)).marks, lambda mark: mark.resolved(accept))


def splice_marks(text: str, marks: Sequence[Spliced], replace: Callable[[Any], str]) -> str:
    """`text` with each of its `marks` (from `scan_marks(text)`, or review items) replaced by `replace(mark)`."""
    out, last = [], 0
    for mark in marks:
        out += [text[last:mark.start], replace(mark)]
        last = mark.end
    out.append(text[last:])
    return "".join(out)


# -- Reviewers and review items ---------------------------------------------------------------
#
# The convention every reader and writer of review marks follows (docs/reviewing.md):
#   {>>Ann Smith, 2026-11-30: text<<} or {>>Ann Smith: text<<}   a comment by a reviewer
#   {>>text<<}                                                   a comment without one
#   {--words--}{>>Ann Smith, 2026-11-30<<}                       a change, attributed
#   {==words==}{>>Ann Smith: note<<}                             a highlight with a reviewer's note
# A comment written right after a change mark (no space between) belongs to it: together they are
# one review *item*, accepted or rejected as one (the comment goes with the change).

KINDS = {"{++": "insertion", "{--": "deletion", "{~~": "substitution", "{==": "highlight", "{>>": "comment"}
NAME_LIMIT = 60  # the longest reviewer name read as one
# 'Name, 2026-11-30: text', 'Name: text' (the colon then white space or the end: 'see https://x' is text),
# or 'Name, 2026-11-30' alone. A name has no ',', ':', brace, angle bracket or line break.
_BY = re.compile(r"(?P<name>[^,:\r\n{}<>]+?)[ \t]*(?:,[ \t]*(?P<date>\d{4}-\d{2}-\d{2}))?[ \t]*"
                 r"(?::(?P<text>(?:\s.*)?)|(?P<bare>))", re.S)


@dataclass(frozen=True)
class Attribution:
    """What a comment says: who wrote it ('' for nobody), when ('' or YYYY-MM-DD), and its text."""

    reviewer: str
    date: str
    text: str


# Control characters, and the bidi embeddings, overrides and isolates that could make a comment read
# otherwise than it is written: never written into a chapter from a reviewer's file.
_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_MARK_TOKENS = re.compile(r"\{(?=\+\+|--|~~|==|>>)|(?<=\+\+|--|~~|==|<<)\}|~>")


def reviewer_text(text: str, spaces: bool = False) -> str:
    """A reviewer's words (a PDF annotation's, a Word comment's) as review-mark text: one line, without
    control or bidi-override characters or anything CriticMarkup would read as a mark's opener,
    closer or `~>`. Runs of white space become one space, unless `spaces` (inserted text, whose
    spaces are part of the change)."""
    text = _UNSAFE.sub(" ", text)
    text = text.replace("\n", " ") if spaces else " ".join(text.split())
    for _ in range(3):  # each pass breaks the tokens it finds; a break cannot form a new one
        text = _MARK_TOKENS.sub(lambda match: "{ " if match.group() == "{" else " }" if match.group() == "}"
                                else "~ >", text)
    return text


def reviewer_name(author: str) -> str:
    """A reviewer's name as a comment carries it: `reviewer_text`, with no ',' or ':' (they end the name),
    at most 60 characters (as `attribution` reads it)."""
    return reviewer_text(re.sub(r"[,:]", " ", author))[:60].strip()


def attribution_comment(name: str, date: str, text: str = "") -> str:
    """The comment that names a reviewer: `{>>NAME, DATE: TEXT<<}`; `{>>NAME, DATE<<}` after a change it
    attributes; `{>>TEXT<<}` without a name. `name` and `text` as `reviewer_name` and `reviewer_text`
    make them; "" when there is nothing to say."""
    who = ", ".join(part for part in (name, date) if part)
    if who and text:
        return f"{{>>{who}: {text}<<}}"
    return f"{{>>{who or text}<<}}" if (who or text) else ""


def attribution(comment: str) -> Attribution:
    """Read a comment's content: 'Ann Smith, 2026-11-30: Check this' -> ('Ann Smith', '2026-11-30', 'Check this').

    'Ann Smith, 2026-11-30' alone is an attribution without text; anything else is text by nobody."""
    comment = comment.strip()
    if len(re.split(r"[,:\n]", comment, maxsplit=1)[0]) > NAME_LIMIT:  # no name: and the match stays short
        return Attribution("", "", comment)
    match = _BY.fullmatch(comment)
    if match and len(match.group("name")) <= NAME_LIMIT and (match.group("bare") is None or match.group("date")):
        return Attribution(match.group("name").strip(), match.group("date") or "", (match.group("text") or "").strip())
    return Attribution("", "", comment)


@dataclass(frozen=True)
class Item:
    """One review item: a change mark with the comment attached to it, a change mark alone, or a comment."""

    mark: Mark  # the change, or the comment of a lone comment
    comment: Mark | None = None  # the comment written right after a change

    @property
    def kind(self) -> str:
        return KINDS[self.mark.opener]

    @property
    def start(self) -> int:
        return self.mark.start

    @property
    def end(self) -> int:
        return (self.comment or self.mark).end

    @property
    def line(self) -> int:
        return self.mark.line

    @property
    def attribution(self) -> Attribution:
        note = self.comment if self.comment is not None else self.mark if self.mark.opener == "{>>" else None
        return attribution(note.content) if note is not None else Attribution("", "", "")

    @property
    def reviewer(self) -> str:
        return self.attribution.reviewer

    def resolved(self, accept: bool) -> str:
        """The text that replaces the whole item: its change accepted (or rejected), its comment dropped."""
        return self.mark.resolved(accept)


def review_items(marks: list[Mark]) -> list[Item]:
    """Group the marks of one text (`scan_marks`, in order) into review items."""
    items: list[Item] = []
    index = 0
    while index < len(marks):
        mark = marks[index]
        after = marks[index + 1] if index + 1 < len(marks) else None
        if mark.opener != "{>>" and after is not None and after.opener == "{>>" and after.start == mark.end:
            items.append(Item(mark, after))
            index += 2
        else:
            items.append(Item(mark))
            index += 1
    return items


def mark_keys(marks: list[Mark]) -> list[str]:
    """A key for each mark of a chapter, from its kind and text: the same in the chapter file's scan
    and in the Markdown renderer's (markdown/critic.py), which may see more marks (an included file's).
    A repeated mark gets '-2', '-3'... The draft's anchors for the marks are made from these keys."""
    seen: dict[str, int] = {}
    keys = []
    for mark in marks:
        digest = hashlib.sha1(f"{mark.opener}\0{mark.content}\0{mark.new}".encode()).hexdigest()[:10]
        seen[digest] = seen.get(digest, 0) + 1
        keys.append(digest if seen[digest] == 1 else f"{digest}-{seen[digest]}")
    return keys


@dataclass(frozen=True)
class Numbered:
    """A review item of the manuscript with its number: items are numbered from 1 in chapter order,
    then in the order they are written; `build-report comments` prints these numbers."""

    number: int
    chapter: Chapter
    item: Item
    key: str  # the key of the item's first mark (`mark_keys`)
    text: str  # the chapter file's text the item is in (for its line's context)


def numbered_items(manuscript: Manuscript, diagnostics: Diagnostics) -> list[Numbered]:
    """Every review item in the chapter files as they are now (not as loaded), numbered.

    A chapter that cannot be read (it left the manuscript, is not UTF-8 any longer) is an error."""
    problems: list[tuple[Location, str]] = []
    found: list[Numbered] = []
    for chapter in manuscript.chapters:
        plan = plan_rewrite(manuscript.root, chapter.path, problems, unbalanced=False)
        if plan is None:
            continue
        keys = dict(zip((id(mark) for mark in plan.scan.marks), mark_keys(plan.scan.marks), strict=True))
        for item in review_items(plan.scan.marks):
            found.append(Numbered(len(found) + 1, chapter, item, keys[id(item.mark)], plan.text))
    for where, message in problems:
        diagnostics.error(where, message)
    diagnostics.check()
    return found


class UnknownSelection(BuildReportError):
    """--reviewer or --mark names no review item (a usage error: exit 2)."""


def select_items(items: list[Numbered], reviewers: Sequence[str] = (), numbers: Sequence[int] = (),
                 chapter: Chapter | None = None) -> list[Numbered]:
    """The items by one of `reviewers` (case and spacing ignored) and, if `numbers` are given, with one
    of those numbers, in `chapter` if given. A reviewer with no item, or a number out of range, is
    `UnknownSelection`, with a hint."""
    known = sorted({entry.item.reviewer for entry in items if entry.item.reviewer})
    wanted = set()
    for name in reviewers:
        match = [reviewer for reviewer in known if _same_name(reviewer, name)]
        if not match:
            hint = did_you_mean(name, known) or (f" (the reviewers are {', '.join(repr(k) for k in known)})"
                                                 if known else " (no review mark names a reviewer)")
            raise UnknownSelection(f"no review mark by '{name}'{hint}")
        wanted.update(match)
    for number in numbers:
        if not 1 <= number <= len(items):
            there = "there are none" if not items else "there is only 1" if len(items) == 1 else \
                f"they are numbered 1 to {len(items)}"
            raise UnknownSelection(f"no review mark {number}: {there} (build-report comments lists them)")
        if chapter is not None and items[number - 1].chapter is not chapter:
            raise UnknownSelection(f"review mark {number} is in {items[number - 1].chapter.path}, "
                                   f"not in {chapter.path}")
    return [entry for entry in items
            if (not reviewers or entry.item.reviewer in wanted)
            and (not numbers or entry.number in numbers)
            and (chapter is None or entry.chapter is chapter)]


def _same_name(a: str, b: str) -> bool:
    return " ".join(a.casefold().split()) == " ".join(b.casefold().split())


# -- Final builds, accept and reject ----------------------------------------------------------


def require_no_review_marks(manuscript: Manuscript, diagnostics: Diagnostics) -> None:
    """A final build fails while review marks remain: one error per line that holds any."""
    for chapter in manuscript.chapters:
        for where, count in Counter(chapter.review_marks).items():  # in order of first appearance
            marks = "unresolved review mark: accept or reject it" if count == 1 else \
                f"{count} unresolved review marks: accept or reject them"
            diagnostics.error(where, f"{marks} (build-report accept|reject)")


class Refused(BuildReportError):
    """accept/reject found a problem in a chapter it would rewrite, so it rewrote nothing."""


@dataclass(frozen=True)
class Rewrite:
    """One chapter file rewritten: its path and its backup's, relative to the manuscript."""

    path: str
    marks: int
    backup: str


@dataclass(frozen=True)
class Plan:
    path: str  # the chapter, relative to the manuscript
    file: Path  # the file to rewrite: for a chapter that is a symlink, its target
    data: bytes
    mode: int
    scan: MarkScan
    text: str


def rewrite_chapters(manuscript: Manuscript, chapters: list[Chapter], accept: bool,
                     diagnostics: Diagnostics, only: Callable[[str, str], bool] | None = None) -> Iterator[Rewrite]:
    """Accept (or reject) the review items in these chapters' files, yielding each file once it is rewritten.

    With `only`, just the items for which `only(chapter path, key)` is true (`Numbered.key`); the
    rest of the file, other items included, keeps its bytes. An item is a change with its comment
    (`review_items`): both go. `Rewrite.marks` counts items.

    Every chapter is checked before anything is written: its file must still be a regular
    UTF-8 file inside the manuscript, and no mark in it may be unbalanced. Otherwise each
    problem is an error and `Refused` is raised with nothing written. A file is then backed
    up, to a new file, and replaced atomically with the same mode; the bytes outside the
    marks stay as they were. A chapter that is a symlink keeps it: the target is rewritten."""
    verb = "accept" if accept else "reject"
    plans: list[Plan] = []
    problems: list[tuple[Location, str]] = []
    for chapter in chapters:
        plan = plan_rewrite(manuscript.root, chapter.path, problems)
        if plan is not None:
            plans.append(plan)
    for where, message in problems:
        # The build already warned about an unbalanced mark; here it is an error, printed once.
        if Diagnostic("warning", where, message) in diagnostics.items:
            diagnostics.items.remove(Diagnostic("warning", where, message))
        diagnostics.error(where, message)
    if problems:
        raise Refused(f"{verb}: nothing was rewritten (fix the problems reported, then run it again)")
    for plan in plans:
        keys = dict(zip((id(mark) for mark in plan.scan.marks), mark_keys(plan.scan.marks), strict=True))
        items = [item for item in review_items(plan.scan.marks) if only is None or only(plan.path, keys[id(item.mark)])]
        if not items:
            continue
        backup = write_back(plan.file, plan.data, plan.mode,
                            splice_marks(plan.text, items, lambda item: item.resolved(accept)))
        yield Rewrite(plan.path, len(items), confine.relative(backup, manuscript.root))


def plan_rewrite(root: Path, path: str, problems: list[tuple[Location, str]], unbalanced: bool = True) -> Plan | None:
    """What rewriting chapter `path` involves; None, after adding to `problems`, when it must not be.
    `accept`/`reject` and the review importers (comments_import.py, docx_import.py) read a chapter
    they will rewrite only through this, and write it back through `write_back`."""
    try:
        file = confine.inside(root, path)  # a symlink's target, if it stays inside the manuscript
    except confine.Outside as reason:
        problems.append((Location(path), f"cannot be rewritten: it {reason}"))
        return None
    problem = confine.file_problem(file)  # before reading: a FIFO would block
    if problem:
        problems.append((Location(path), f"cannot be rewritten: {problem}"))
        return None
    data = file.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:  # the load read it as UTF-8: it changed since
        problems.append((Location(path, data[: exc.start].count(b"\n") + 1), "cannot be rewritten: not UTF-8 text"))
        return None
    scan = scan_marks(text, body_start(text))
    if unbalanced:
        problems += [(Location(path, problem.line), str(problem)) for problem in scan.unbalanced]
    return Plan(path, file, data, stat.S_IMODE(file.stat().st_mode), scan, text)


def write_back(file: Path, data: bytes, mode: int, text: str) -> Path:
    """Keep a chapter's previous bytes, `data`, in a new backup, then replace `file` (as `plan_rewrite`
    found it: a symlinked chapter's target) atomically with `text`, in `mode`; the backup's path."""
    backup = _backup(file, data, mode)
    write_atomic(file, text.encode("utf-8"), mode)
    return backup


def _backup(file: Path, data: bytes, mode: int) -> Path:
    """Write `data` to the first free name of `<file>.bak`, `.bak.1`, `.bak.2`, ... with `mode`.

    The name is claimed with O_EXCL, so an existing backup (or a symlink there) is never written through."""
    for number in itertools.count():
        backup = file.with_name(file.name + (".bak" if number == 0 else f".bak.{number}"))
        try:
            handle = os.open(backup, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            continue
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            os.chmod(backup, mode)
        except BaseException:
            backup.unlink(missing_ok=True)
            raise
        return backup
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class Stamp:
    """What a draft says about itself: version, the time of its text (draft_stamp) and git commit."""

    version: str
    date: str
    commit: str  # short hash, "" outside git
    dirty: bool

    def __str__(self) -> str:
        parts = [f"Draft {self.version}".strip(), f"as of {self.date}"]
        if self.commit:
            parts.append(f"commit {self.commit}" + (" + uncommitted changes" if self.dirty else ""))
        return " \u00b7 ".join(parts)


def draft_stamp(root: Path, version: str) -> Stamp:
    """The stamp for a draft of the manuscript in `root` (the git state is that folder's).

    Its time is the text's, not the clock's: `SOURCE_DATE_EPOCH` if set; else, for a manuscript
    without uncommitted changes, the time of the last commit that changed it; else the time of its
    most recently modified file. Two drafts of the same text have the same stamp, so a rebuild
    (`watch`, `make draft`) in a later minute renders only what changed (parallel.py's cache)."""
    epoch = source_date()
    commit, dirty = git_state(root)
    if epoch is None:
        epoch = _text_time(root, commit, dirty)
    moment = dt.datetime.fromtimestamp(epoch, dt.timezone.utc)
    version = f"v{version}" if version else ""
    return Stamp(version, moment.strftime("%Y-%m-%d %H:%M UTC"), commit, dirty)


def _text_time(root: Path, commit: str, dirty: bool, limit: int = 20000) -> int:
    """When the manuscript in `root` was last changed (see `draft_stamp`); the clock if nothing says."""
    if commit and not dirty:
        committed = vcs.text(root, "log", "-1", "--format=%ct", "--", ".")
        if committed.isdigit():
            return int(committed)
    newest = 0.0
    seen = 0
    for folder, folders, files in os.walk(root):  # symlinks are not followed; hidden folders (.git) skipped
        folders[:] = sorted(name for name in folders if not name.startswith("."))
        for name in files:
            seen += 1
            if seen > limit:  # a manuscript is a few hundred files; bounded for one that is not
                break
            with contextlib.suppress(OSError):
                newest = max(newest, os.lstat(os.path.join(folder, name)).st_mtime)
    return int(newest) if newest else int(dt.datetime.now(dt.timezone.utc).timestamp())


def git_state(folder: Path) -> tuple[str, bool]:
    """(short commit hash, whether the manuscript folder has uncommitted changes)."""
    return vcs.state(folder)


# -- Showing marks in a draft -----------------------------------------------------------------

_BLOCKS = ("p", "li", "h2", "h3", "h4", "h5", "h6", "table", "figure", "blockquote", "aside")


def source_ref(chapter: Chapter, line: int) -> str:
    """'03:42': the chapter file's number (its leading digits) and the line."""
    digits = re.match(r"\d+", Path(chapter.path).name)
    return f"{digits.group(0) if digits else Path(chapter.path).stem}:{line}"


def mark_for_review(body: etree.Element, chapter: Chapter, source_refs: bool) -> None:
    """Number comments, flag changed blocks for change bars, and add source references.

    Each mark's first element keeps its key (`mark_keys`, set by markdown/critic.py) as
    `data-mark="CHAPTER/KEY"` and has an id, so the layout knows its page (`mark_anchors`): an
    insertion or deletion `CHAPTER--change-N` (the changes summary of a diff links to those), any
    other `CHAPTER--mark-KEY`."""
    parents = {child: parent for parent in body.iter() for child in parent}
    comments = []
    changes = 0
    for element in list(body.iter()):
        classes = element.get("class", "").split()
        if "critic" in classes:
            if element.tag in ("ins", "del"):
                changes += 1
                element.set("id", f"{chapter.id}--change-{changes}")
            if key := element.get("data-mark"):
                element.set("data-mark", f"{chapter.id}/{key}")
                if element.get("id") is None:
                    element.set("id", f"{chapter.id}--mark-{key}")
            if "comment" in classes:
                comments.append(element)
                element.set("class", "review-comment")
                element.set("data-n", str(len(comments)))
            block = _enclosing_block(element, parents)
            if block is not None:
                block.set("class", (block.get("class", "") + " changed").strip())
        line = element.get("data-line")
        if source_refs and line and element.tag in _BLOCKS and \
                not any(p.tag in ("figure", "li", "aside", "blockquote") for p in _ancestors(element, parents)):
            element.set("data-ref", source_ref(chapter, int(line)))
    if comments:
        notes = etree.SubElement(body, "aside", {"class": "review-comments", "aria-label": "Review comments"})
        etree.SubElement(notes, "p", {"class": "box-title"}).text = "Review comments"
        listing = etree.SubElement(notes, "ol")
        for number, comment in enumerate(comments, 1):
            item = etree.SubElement(listing, "li")
            said = attribution("".join(comment.itertext()))
            if said.reviewer:  # 'Ann Smith (2026-11-30): text'
                name = etree.SubElement(item, "strong")
                name.text = said.reviewer
                name.tail = (f" ({said.date})" if said.date else "") + (f": {said.text}" if said.text else "")
            else:
                item.text = said.text
            block = _enclosing_block(comment, parents)
            line = block.get("data-line") if block is not None else None
            if line:
                last = item[-1] if len(item) else None
                if last is not None:
                    last.tail = (last.tail or "") + f" ({source_ref(chapter, int(line))})"
                else:
                    item.text = (item.text or "") + f" ({source_ref(chapter, int(line))})"
            comment.text, comment[:] = str(number), []


def _ancestors(element: etree.Element, parents: dict):
    while element in parents:
        element = parents[element]
        yield element


def _enclosing_block(element: etree.Element, parents: dict) -> etree.Element | None:
    return next((p for p in _ancestors(element, parents) if p.tag in _BLOCKS), None)


def mark_anchors(html: str) -> dict[tuple[str, str], str]:
    """(chapter id, mark key) -> the id of the mark's first element, in a draft's print HTML
    (`mark_for_review`): the name of its destination in the draft PDF and of its anchor in the layout."""
    from html.parser import HTMLParser

    found: dict[tuple[str, str], str] = {}

    class Anchors(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            values = dict(attrs)
            mark, name = values.get("data-mark"), values.get("id")
            if mark and name and "/" in mark:
                chapter, _, key = mark.partition("/")
                found.setdefault((chapter, key), name)

    parser = Anchors(convert_charrefs=True)
    parser.feed(html)
    parser.close()
    return found
