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

from .diagnostics import BuildReportError
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
    """Extract the manuscript folder as it was at `ref` into `into`; returns its path there."""
    root = root.resolve()
    top = _git(root, "rev-parse", "--show-toplevel").strip()
    rel = root.relative_to(Path(top).resolve()).as_posix()
    archive = subprocess.run(["git", "-C", top, "archive", "--format=tar", ref, "--", rel or "."],
                             capture_output=True)
    if archive.returncode:
        raise GitError(f"cannot read the manuscript at '{ref}': {archive.stderr.decode().strip()}")
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        if hasattr(tarfile, "data_filter"):  # Python 3.10.12+: refuse links and paths outside `into`
            tar.extractall(into, filter="data")
        else:
            tar.extractall(into)
    return into / rel if rel else into


def _git(folder: Path, *args: str) -> str:
    result = subprocess.run(["git", "-C", str(folder), *args], capture_output=True, text=True)
    if result.returncode:
        raise GitError(f"git {' '.join(args)}: {result.stderr.strip() or 'failed'}")
    return result.stdout


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
        lead = _BLOCK_PREFIX.match(part).group(1) if "\n" in text or not out else ""
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


def annotated_copy(old_root: Path, new_root: Path, into: Path) -> Changes:
    """A copy of the new manuscript with review marks for every change since the old one."""
    shutil.copytree(new_root, into)
    old_report = yaml.safe_load((old_root / "report.yaml").read_text(encoding="utf-8")) or {}
    new_report = yaml.safe_load((new_root / "report.yaml").read_text(encoding="utf-8")) or {}
    old_list, new_list = list(old_report.get("chapters") or []), list(new_report.get("chapters") or [])
    changes = Changes()
    for path in new_list:
        if path not in old_list:
            changes.added.append(path)
            continue
        old_text = (old_root / path).read_text(encoding="utf-8") if (old_root / path).is_file() else ""
        new_text = (new_root / path).read_text(encoding="utf-8")
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
        shutil.copy2(old_root / path, target)
    new_report["chapters"] = merged
    (into / "report.yaml").write_text(yaml.safe_dump(new_report, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return changes


def summary_html(manuscript: Manuscript, changes: Changes, ref: str) -> str:
    """The front page: per chapter, what happened and a link to each change."""
    rows = []
    for chapter in manuscript.chapters:
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
            "<th scope=\"col\">Insertions</th><th scope=\"col\">Deletions</th><th scope=\"col\">Changes</th></tr></thead>"
            f"<tbody>{body}</tbody></table>")
