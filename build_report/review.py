"""Review drafts: CriticMarkup review marks, the draft stamp, and final-build checks.

Review marks (https://fletcher.github.io/MultiMarkdown-6/syntax/critic.html):

    {++added++}  {--deleted--}  {~~old~>new~~}  {==highlighted==}  {>>comment<<}

A draft shows them; a final build refuses to run while any remain; `accept`
and `reject` rewrite the chapter files without them, keeping a `.bak` copy.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .diagnostics import Diagnostics
from xml.etree import ElementTree as etree

from .model import Chapter, Manuscript
from .output import source_date, write_atomic

MARK = re.compile(
    r"\{\+\+(?P<add>.*?)\+\+\}"
    r"|\{--(?P<delete>.*?)--\}"
    r"|\{~~(?P<old>.*?)~>(?P<new>.*?)~~\}"
    r"|\{==(?P<highlight>.*?)==\}"
    r"|\{>>(?P<comment>.*?)<<\}",
    re.S,
)


def require_no_review_marks(manuscript: Manuscript, diagnostics: Diagnostics) -> None:
    """A final build fails while review marks remain: one error per mark."""
    for chapter in manuscript.chapters:
        for where in chapter.review_marks:
            diagnostics.error(where, "unresolved review mark: accept or reject it (build-report accept|reject)")


def resolve_marks(text: str, accept: bool) -> str:
    """The text with every review mark accepted (or rejected); comments are dropped."""

    def replace(match: re.Match) -> str:
        kind = match.lastgroup if match.lastgroup != "new" else "old"
        if kind == "add":
            return match.group("add") if accept else ""
        if kind == "delete":
            return "" if accept else match.group("delete")
        if kind == "old":
            return match.group("new") if accept else match.group("old")
        if kind == "highlight":
            return match.group("highlight")
        return ""

    return MARK.sub(replace, text)


def rewrite_chapters(manuscript: Manuscript, chapters: list[Chapter], accept: bool) -> list[tuple[str, int]]:
    """Accept or reject the marks in these chapters' files; returns (path, marks) changed."""
    changed = []
    for chapter in chapters:
        path = manuscript.root / chapter.path
        text = path.read_bytes().decode("utf-8")  # as written: a BOM and CRLF line endings are kept
        count = len(MARK.findall(text))
        if not count:
            continue
        shutil.copy2(path, path.with_name(path.name + ".bak"))
        write_atomic(path, resolve_marks(text, accept))
        changed.append((chapter.path, count))
    return changed


@dataclass(frozen=True)
class Stamp:
    """What a draft says about itself: version, build date and git commit."""

    version: str
    date: str
    commit: str  # short hash, "" outside git
    dirty: bool

    def __str__(self) -> str:
        parts = [f"Draft {self.version}".strip(), f"built {self.date}"]
        if self.commit:
            parts.append(f"commit {self.commit}" + (" + uncommitted changes" if self.dirty else ""))
        return " \u00b7 ".join(parts)


def draft_stamp(root: Path, version: str) -> Stamp:
    """The stamp for a draft of the manuscript in `root` (the git state is that folder's)."""
    epoch = source_date()
    moment = dt.datetime.fromtimestamp(epoch, dt.timezone.utc) if epoch is not None else dt.datetime.now(dt.timezone.utc)
    commit, dirty = git_state(root)
    version = f"v{version}" if version else ""
    return Stamp(version, moment.strftime("%Y-%m-%d %H:%M UTC"), commit, dirty)


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
        if source_refs and element.get("data-line") and element.tag in _BLOCKS:
            if not any(p.tag in ("figure", "li", "aside", "blockquote") for p in _ancestors(element, parents)):
                element.set("data-ref", source_ref(chapter, int(element.get("data-line"))))
    if comments:
        notes = etree.SubElement(body, "aside", {"class": "review-comments", "aria-label": "Review comments"})
        etree.SubElement(notes, "p", {"class": "box-title"}).text = "Review comments"
        listing = etree.SubElement(notes, "ol")
        for number, comment in enumerate(comments, 1):
            item = etree.SubElement(listing, "li")
            item.text = "".join(comment.itertext())
            block = _enclosing_block(comment, parents)
            if block is not None and block.get("data-line"):
                item.text += f" ({source_ref(chapter, int(block.get('data-line')))})"
            comment.text, comment[:] = str(number), []


def _ancestors(element: etree.Element, parents: dict):
    while element in parents:
        element = parents[element]
        yield element


def _enclosing_block(element: etree.Element, parents: dict) -> etree.Element | None:
    return next((p for p in _ancestors(element, parents) if p.tag in _BLOCKS), None)
