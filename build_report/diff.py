"""`build-report diff REF`: a draft that shows what changed since git ref REF.

The comparison is made on the Markdown text, word by word, and written back
as review marks ({++inserted++}, {--deleted--}) into a temporary copy of the
manuscript; that copy is then built as an ordinary draft, so the result stays
a clean, tagged PDF. Added chapters are flagged, removed chapters are shown
struck through at their old position, and moved chapters are noted.
"""

from __future__ import annotations

import difflib
import io
import re
import shutil
import subprocess
import tarfile
from dataclasses import dataclass, field
from html import escape
from pathlib import Path

import yaml

from . import confine, vcs
from .config import read_source, read_yaml
from .diagnostics import BuildReportError, Diagnostics
from .manuscript import FRONT_MATTER
from .model import Manuscript

# Words, spaces and punctuation; a link, footnote reference, attribute list or URL is one token,
# so a mark never splits Markdown syntax.
_TOKEN = re.compile(r"\[[^\]\n]*\]\([^)\n]*\)|\[\^[^\]\n]+\]|\{#[^}\n]+\}|<?https?://[^\s>]+>?|\s+|\w+|[^\w\s]")
# Block syntax at the start of a line stays outside a mark, so headings stay headings.
_BLOCK_PREFIX = re.compile(r"^(\s*(?:>\s?)*\s*(?:[-*+]\s+|\d+[.)]\s+|#{1,6}\s+)?)")


class GitError(BuildReportError):
    """REF or the repository could not be read."""


def old_manuscript(root: Path, ref: str, into: Path) -> Path:
    """Extract the manuscript folder as it was at `ref` into `into`; returns its path there.

    REF is a user's value: git gets it only after `--end-of-options`, so `--output=FILE` is a
    ref name and never an option, and `git archive` gets the commit it was verified to name."""
    root = root.resolve()
    top = vcs.text(root, "rev-parse", "--show-toplevel")
    if not top:
        raise GitError("the manuscript folder is not in a git repository: diff compares it with a git commit")
    commit = vcs.text(root, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}")
    if not commit:
        raise GitError(f"'{ref}' is not a commit, tag or branch in this repository")
    rel = root.relative_to(Path(top).resolve()).as_posix()
    archive = subprocess.run(["git", "-C", top, "archive", "--format=tar", "--end-of-options", commit, rel or "."],
                             capture_output=True)
    if archive.returncode:
        raise GitError(f"cannot read the manuscript at '{ref}': {archive.stderr.decode(errors='replace').strip()}")
    try:
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            if hasattr(tarfile, "data_filter"):  # Python 3.10.12+: refuse links and paths outside `into`
                tar.extractall(into, filter="data")
            else:
                tar.extractall(into)
    except tarfile.TarError as exc:  # a symlink out of the folder, say
        raise GitError(f"cannot read the manuscript at '{ref}': {exc}") from exc
    return into / rel if rel else into


def annotate(old: str, new: str) -> str:
    """`new` with word-level review marks showing how it differs from `old`."""
    old_front, old_body = _split_front(old)
    new_front, new_body = _split_front(new)
    a, b = _TOKEN.findall(old_body), _TOKEN.findall(new_body)
    out: list[str] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            out += b[j1:j2]
            continue
        if op in ("delete", "replace"):
            out.append(_wrap("--", a[i1:i2]))
        if op in ("insert", "replace"):
            out.append(_wrap("++", b[j1:j2]))
    return new_front + "".join(out)


def _split_front(text: str) -> tuple[str, str]:
    match = FRONT_MATTER.match(text)
    return (text[: match.end()], text[match.end():]) if match else ("", text)


def _wrap(sign: str, tokens: list[str]) -> str:
    """Mark each line's words separately, so marks never span a line break."""
    text = "".join(tokens)
    parts = re.split(r"(\n\s*)", text)
    out = []
    for part in parts:
        if not part.strip():
            out.append(part)
            continue
        prefix = _BLOCK_PREFIX.match(part)  # always matches: every part of it is optional
        lead = prefix.group(1) if prefix and ("\n" in text or not out) else ""
        lead = lead or part[: len(part) - len(part.lstrip())]
        core = part[len(lead):]
        trail = core[len(core.rstrip()):]
        if core.strip():
            out.append(f"{lead}{{{sign}{core.strip()}{sign}}}{trail}")
        else:
            out.append(part)
    return "".join(out)


@dataclass
class Changes:
    """How the chapters changed: by chapter path."""

    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    moved: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)


def annotated_copy(old_root: Path, new_root: Path, into: Path, ref: str) -> Changes:
    """A copy of the new manuscript with review marks for every change since the old one (at `ref`).

    The new manuscript has been loaded without errors; the old one is only read, and what
    cannot be read there is an error naming `ref`. Texts are compared as the build reads
    them (UTF-8, LF line endings, no BOM)."""
    shutil.copytree(new_root, into)
    new_report = yaml.safe_load(_read(new_root, "report.yaml", None)) or {}
    old_list, new_list = _old_chapters(old_root, ref), list(new_report.get("chapters") or [])
    changes = Changes()
    for path in new_list:
        if path not in old_list:
            changes.added.append(path)
            continue
        old_text = _read(old_root, path, ref) if (old_root / path).is_file() else ""
        new_text = _read(new_root, path, None)
        if old_text != new_text:
            (into / path).write_text(annotate(old_text, new_text), encoding="utf-8")
            changes.changed.append(path)
    common_old = [p for p in old_list if p in new_list]
    common_new = [p for p in new_list if p in old_list]
    matcher = difflib.SequenceMatcher(None, common_old, common_new, autojunk=False)
    kept = {common_new[j] for block in matcher.get_matching_blocks() for j in range(block.b, block.b + block.size)}
    changes.moved = [p for p in common_new if p not in kept]
    # Removed chapters go back in at their old position, to be shown struck through.
    merged = list(new_list)
    for index, path in enumerate(old_list):
        if path in new_list:
            continue
        changes.removed.append(path)
        previous = next((old_list[i] for i in range(index - 1, -1, -1) if old_list[i] in merged), None)
        merged.insert(merged.index(previous) + 1 if previous else 0, path)
        target = into / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(_read(old_root, path, ref), encoding="utf-8")
    new_report["chapters"] = merged
    (into / "report.yaml").write_text(yaml.safe_dump(new_report, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return changes


def _old_chapters(old_root: Path, ref: str) -> list[str]:
    """The chapter list of report.yaml at `ref`."""
    problems = Diagnostics()
    data = read_yaml(old_root, "report.yaml", problems)
    chapters = data.get("chapters") if isinstance(data, dict) else None
    if problems.errors:
        raise _unreadable(ref, problems)
    if not isinstance(chapters, list) or not all(isinstance(path, str) for path in chapters):
        raise GitError(f"report.yaml at '{ref}' has no list of chapters: it cannot be compared with")
    for path in chapters:
        try:
            confine.inside(old_root, path)
        except confine.Outside as reason:
            raise GitError(f"report.yaml at '{ref}': chapter '{path}' {reason}") from None
    return chapters


def _read(root: Path, path: str, ref: str | None) -> str:
    """A manuscript file's text as the build reads it; `ref` names the commit an old file is from."""
    problems = Diagnostics()
    text = read_source(root / path, path, problems)
    if text is None:
        raise _unreadable(ref, problems)
    return text


def _unreadable(ref: str | None, problems: Diagnostics) -> GitError:
    """The first problem as one message: 'report.yaml at 'v1', line 3: invalid YAML: ...'."""
    first = problems.errors[0]
    where = first.location.path + (f" at '{ref}'" if ref else "")
    return GitError(f"{where}{f', line {first.location.line}' if first.location.line else ''}: {first.message}")


def summary_html(manuscript: Manuscript, changes: Changes, ref: str) -> str:
    """The front page: per chapter, what happened and a link to each change."""
    rows = []
    for chapter in manuscript.chapters:
        if chapter.body is None:  # not parsed: nothing to show
            continue
        marks = [e for e in chapter.body.iter() if e.tag in ("ins", "del") and "critic" in e.get("class", "")]
        status = ("added" if chapter.path in changes.added else "removed" if chapter.path in changes.removed
                  else "moved" if chapter.path in changes.moved else "changed" if marks else "")
        if not status:
            continue
        style = "change-link front" if chapter.kind == "front" else "change-link"
        links = " ".join(f'<a class="{style}" href="#{chapter.id}--change-{n}">{n}</a>'
                         for n in range(1, len(marks) + 1))
        inserted = sum(1 for e in marks if e.tag == "ins")
        rows.append(f"<tr><th scope=\"row\"><a href=\"#{chapter.id}\">{escape(chapter.display_title)}</a></th>"
                    f"<td>{status}</td><td>{inserted}</td><td>{len(marks) - inserted}</td><td>{links}</td></tr>")
    body = "".join(rows) or '<tr><td colspan="5">No changes.</td></tr>'
    return (f'<h1 id="changes-title">What changed since {escape(ref)}</h1>'
            "<p>Insertions are underlined in green, deletions struck through in red, and a bar in the "
            "margin marks every changed block. Each number below links to one change.</p>"
            "<table><thead><tr><th scope=\"col\">Chapter</th><th scope=\"col\">Status</th>"
            "<th scope=\"col\">Insertions</th><th scope=\"col\">Deletions</th>"
            "<th scope=\"col\">Changes</th></tr></thead>"
            f"<tbody>{body}</tbody></table>")
