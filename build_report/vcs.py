"""The manuscript's git history, as drafts, diffs, releases and the review importers read it.

Every call is `git -C FOLDER ...` with a time limit, reading its output; git missing, failing or
hanging is "no history" (None or ""), never an error of the build."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

TIMEOUT = 60  # seconds; a repository on a stalled network drive must not hang a build


def output(folder: Path, *args: str) -> bytes | None:
    """git's standard output in `folder`, or None when git is missing, fails or runs too long."""
    try:
        result = subprocess.run(["git", "-C", str(folder), *args], capture_output=True, timeout=TIMEOUT)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout if result.returncode == 0 else None


def text(folder: Path, *args: str) -> str:
    """git's output as stripped text; "" when it fails (see `output`)."""
    found = output(folder, *args)
    return found.decode("utf-8", "replace").strip() if found is not None else ""


def show(folder: Path, commit: str, path: str) -> bytes | None:
    """The bytes of `path` (relative to `folder`) at `commit`, a hash; None if that file or commit is not there."""
    if not re.fullmatch(r"[0-9a-f]{4,40}", commit):
        return None
    return output(folder, "show", f"{commit}:./{path}")


def state(folder: Path, short: bool = True) -> tuple[str, bool]:
    """(the commit hash, short or full; whether `folder` has uncommitted changes); ("", False) outside git."""
    commit = text(folder, "rev-parse", *(["--short"] if short else []), "HEAD")
    if not commit:
        return "", False
    return commit, bool(text(folder, "status", "--porcelain", "--untracked-files=all", "--", "."))
