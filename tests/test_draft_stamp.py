"""The draft stamp's time is the text's (review.draft_stamp): the same text gives the same stamp, so
that a draft rebuilt later renders only what changed, and reviewers can tell two texts apart."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from build_report import review
from conftest import MINI

EPOCH = 1767225600  # 2026-01-01 00:00 UTC


def git(repo: Path, *args: str, when: int | None = None) -> str:
    env = {**os.environ}
    if when is not None:
        env.update(GIT_COMMITTER_DATE=f"@{when} +0000", GIT_AUTHOR_DATE=f"@{when} +0000")
    return subprocess.run(["git", "-C", str(repo), "-c", "user.name=Test", "-c", "user.email=test@example.org",
                           *args], capture_output=True, text=True, check=True, env=env).stdout.strip()


@pytest.fixture
def manuscript(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    root = tmp_path / "repo" / "manuscript"
    shutil.copytree(MINI, root)
    git(root.parent, "init", "-q")
    git(root.parent, "add", "-A")
    git(root.parent, "commit", "-qm", "first draft", when=EPOCH)
    return root


def test_a_committed_manuscript_is_stamped_with_its_last_commit(manuscript: Path) -> None:
    stamp = review.draft_stamp(manuscript, "0.3")
    assert stamp.date == "2026-01-01 00:00 UTC" and not stamp.dirty
    assert str(stamp) == f"Draft v0.3 \u00b7 as of 2026-01-01 00:00 UTC \u00b7 commit {stamp.commit}"
    (manuscript.parent / "elsewhere.txt").write_text("not the manuscript\n")
    git(manuscript.parent, "add", "-A")
    git(manuscript.parent, "commit", "-qm", "a file outside the manuscript", when=EPOCH + 86400)
    assert review.draft_stamp(manuscript, "0.3").date == "2026-01-01 00:00 UTC"  # the manuscript's last change


def test_uncommitted_changes_are_stamped_with_the_newest_file(manuscript: Path) -> None:
    chapter = manuscript / "chapters" / "02-second.md"
    chapter.write_text("# The second chapter\n\nEdited.\n", encoding="utf-8")
    os.utime(chapter, (EPOCH + 3600, EPOCH + 3600))
    for path in manuscript.rglob("*"):
        if path != chapter and path.is_file():
            os.utime(path, (EPOCH, EPOCH))
    stamp = review.draft_stamp(manuscript, "0.3")
    assert stamp.dirty and stamp.date == "2026-01-01 01:00 UTC"
    assert review.draft_stamp(manuscript, "0.3") == stamp  # no clock in it


def test_source_date_epoch_wins(manuscript: Path, monkeypatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(EPOCH + 60))
    assert review.draft_stamp(manuscript, "").date == "2026-01-01 00:01 UTC"


def test_outside_git_the_newest_file_counts(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    root = tmp_path / "m"
    shutil.copytree(MINI, root)
    for path in root.rglob("*"):
        if path.is_file():
            os.utime(path, (EPOCH, EPOCH))
    stamp = review.draft_stamp(root, "")
    assert (stamp.commit, stamp.date) == ("", "2026-01-01 00:00 UTC")
    assert str(stamp) == "Draft \u00b7 as of 2026-01-01 00:00 UTC"
