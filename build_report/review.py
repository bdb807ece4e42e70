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
import itertools
import os
import re
import stat
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from xml.etree import ElementTree as etree

from . import confine
from .config import normalise_newlines
from .diagnostics import BuildReportError, Diagnostic, Diagnostics
from .model import Chapter, Location, Manuscript
from .output import source_date, write_atomic

# -- The syntax -------------------------------------------------------------------------------

CLOSERS = {"{++": "++}", "{--": "--}", "{~~": "~~}", "{==": "==}", "{>>": "<<}"}  # opener -> closer
OPENERS = {closer: opener for opener, closer in CLOSERS.items()}
SUBSTITUTION = "~>"  # between the old and the new text of {~~old~>new~~}
_OPENER = re.compile(r"\{(?:\+\+|--|~~|==|>>)")
_TOKEN = re.compile(r"\{(?:\+\+|--|~~|==|>>)|(?:\+\+|--|~~|==|<<)\}")
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


def splice_marks(text: str, marks: list[Mark], replace: Callable[[Mark], str]) -> str:
    """`text` with each of its `marks` (from `scan_marks(text)`) replaced by `replace(mark)`."""
    out, last = [], 0
    for mark in marks:
        out += [text[last:mark.start], replace(mark)]
        last = mark.end
    out.append(text[last:])
    return "".join(out)


# -- Final builds, accept and reject ----------------------------------------------------------


def require_no_review_marks(manuscript: Manuscript, diagnostics: Diagnostics) -> None:
    """A final build fails while review marks remain: one error per mark."""
    for chapter in manuscript.chapters:
        for where in chapter.review_marks:
            diagnostics.error(where, "unresolved review mark: accept or reject it (build-report accept|reject)")


class Refused(BuildReportError):
    """accept/reject found a problem in a chapter it would rewrite, so it rewrote nothing."""


@dataclass(frozen=True)
class Rewrite:
    """One chapter file rewritten: its path and its backup's, relative to the manuscript."""

    path: str
    marks: int
    backup: str


@dataclass(frozen=True)
class _Plan:
    path: str  # the chapter, relative to the manuscript
    file: Path  # the file to rewrite: for a chapter that is a symlink, its target
    data: bytes
    mode: int
    scan: MarkScan
    text: str


def rewrite_chapters(manuscript: Manuscript, chapters: list[Chapter], accept: bool,
                     diagnostics: Diagnostics) -> Iterator[Rewrite]:
    """Accept (or reject) the marks in these chapters' files, yielding each file once it is rewritten.

    Every chapter is checked before anything is written: its file must still be a regular
    UTF-8 file inside the manuscript, and no mark in it may be unbalanced. Otherwise each
    problem is an error and `Refused` is raised with nothing written. A file is then backed
    up, to a new file, and replaced atomically with the same mode; the bytes outside the
    marks stay as they were. A chapter that is a symlink keeps it: the target is rewritten."""
    verb = "accept" if accept else "reject"
    plans: list[_Plan] = []
    problems: list[tuple[Location, str]] = []
    for chapter in chapters:
        plan = _plan(manuscript.root, chapter.path, problems)
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
        if not plan.scan.marks:
            continue
        backup = _backup(plan.file, plan.data, plan.mode)
        text = splice_marks(plan.text, plan.scan.marks, lambda mark: mark.resolved(accept))
        write_atomic(plan.file, text.encode("utf-8"), plan.mode)
        yield Rewrite(plan.path, len(plan.scan.marks), confine.relative(backup, manuscript.root))


def _plan(root: Path, path: str, problems: list[tuple[Location, str]]) -> _Plan | None:
    """What rewriting chapter `path` involves; None, after adding to `problems`, when it must not be."""
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
    problems += [(Location(path, unbalanced.line), str(unbalanced)) for unbalanced in scan.unbalanced]
    return _Plan(path, file, data, stat.S_IMODE(file.stat().st_mode), scan, text)


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
        result = subprocess.run(["git", "-C", str(root), "log", "-1", "--format=%ct", "--", "."],
                                capture_output=True, text=True)
        if result.returncode == 0 and result.stdout.strip().isdigit():
            return int(result.stdout.strip())
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

    def git(*args: str) -> str:
        result = subprocess.run(["git", "-C", str(folder), *args], capture_output=True, text=True)
        return result.stdout.strip() if result.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD")
    if not commit:
        return "", False
    return commit, bool(git("status", "--porcelain", "--untracked-files=all", "--", "."))


# -- Showing marks in a draft -----------------------------------------------------------------

_BLOCKS = ("p", "li", "h2", "h3", "h4", "h5", "h6", "table", "figure", "blockquote", "aside")


def source_ref(chapter: Chapter, line: int) -> str:
    """'03:42': the chapter file's number (its leading digits) and the line."""
    digits = re.match(r"\d+", Path(chapter.path).name)
    return f"{digits.group(0) if digits else Path(chapter.path).stem}:{line}"


def mark_for_review(body: etree.Element, chapter: Chapter, source_refs: bool) -> None:
    """Number comments, flag changed blocks for change bars, and add source references."""
    parents = {child: parent for parent in body.iter() for child in parent}
    comments = []
    changes = 0
    for element in list(body.iter()):
        classes = element.get("class", "").split()
        if "critic" in classes:
            if element.tag in ("ins", "del"):
                changes += 1
                element.set("id", f"{chapter.id}--change-{changes}")
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
            item.text = "".join(comment.itertext())
            block = _enclosing_block(comment, parents)
            line = block.get("data-line") if block is not None else None
            if line:
                item.text += f" ({source_ref(chapter, int(line))})"
            comment.text, comment[:] = str(number), []


def _ancestors(element: etree.Element, parents: dict):
    while element in parents:
        element = parents[element]
        yield element


def _enclosing_block(element: etree.Element, parents: dict) -> etree.Element | None:
    return next((p for p in _ancestors(element, parents) if p.tag in _BLOCKS), None)
