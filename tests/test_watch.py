"""`build-report watch`: it survives every error (CR-3) and ignores its own output (CR-7).

Each test runs `cmd_watch` in a thread with a `stop_event`, against a copy of the small
manuscript and of the styles (so that nobody else's edits start a rebuild), and waits for
what it expects with a deadline. A rebuild is counted when it starts (a wrapper around
`build.Build.write`) and when it ends (the "watching for changes" line).
"""

from __future__ import annotations

import argparse
import errno
import io
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from build_report import build
from build_report.cli import cmd_watch
from build_report.diagnostics import Diagnostics
from build_report.themes import STYLES

MINI = Path(__file__).parent / "data" / "mini"
WATCHING = "watching for changes"
QUIET_PERIOD = 3.5  # watchfiles waits 1.6 s for changes to settle; a rebuild would have started by then


class Watch:
    """A running `watch`: its printed log and the number of builds started."""

    def __init__(self, log: io.StringIO):
        self.log = log
        self.builds = 0

    @property
    def done(self) -> int:
        return self.log.getvalue().count(WATCHING)

    def wait_until(self, condition: Callable[[], bool], seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while not condition():
            assert time.monotonic() < deadline, f"timed out; the log so far:\n{self.log.getvalue()}"
            time.sleep(0.05)


@pytest.fixture
def manuscript(tmp_path: Path) -> Path:
    shutil.copytree(MINI, tmp_path / "m")
    shutil.copytree(STYLES, tmp_path / "styles")
    return tmp_path / "m"


@contextmanager
def watching(manuscript: Path, monkeypatch, output: Path | None = None,
             failures: tuple[BaseException, ...] = ()) -> Iterator[Watch]:
    """Run `watch` on `manuscript` (chapter 2 only, to be quick) until the block ends.

    The first builds raise `failures`, in order, instead of building."""
    log = io.StringIO()
    watch = Watch(log)
    real_write = build.Build.write
    pending = list(failures)

    def counted_write(*args, **kwargs):
        watch.builds += 1
        if pending:
            raise pending.pop(0)
        return real_write(*args, **kwargs)

    monkeypatch.setattr(build.Build, "write", counted_write)
    args = argparse.Namespace(manuscript=manuscript, output=output, styles=manuscript.resolve().parent / "styles",
                              strict=False, quiet=False, verbose=False, chapter="2", source_refs=False)
    stop = threading.Event()
    thread = threading.Thread(target=cmd_watch, args=(args, Diagnostics(), build.Timer(), log, stop))
    thread.start()
    try:
        watch.wait_until(lambda: watch.done >= 1)
        time.sleep(0.5)  # the watcher starts after the first build
        yield watch
    finally:
        stop.set()
        thread.join(timeout=30)
    assert not thread.is_alive(), "watch did not stop"


def edit(chapter: Path, old: str, new: str) -> None:
    chapter.write_text(chapter.read_text().replace(old, new))


def test_watch_survives_an_oserror_and_a_bug_in_a_rebuild(manuscript: Path, monkeypatch) -> None:
    out = manuscript.parent / "draft.pdf"
    failures = (OSError(errno.ENOSPC, "No space left on device", str(out)), RuntimeError("boom"))
    with watching(manuscript, monkeypatch, out, failures) as watch:
        assert f"build-report: error: No space left on device: {out}" in watch.log.getvalue()
        chapter = manuscript / "chapters" / "02-second.md"
        edit(chapter, "things changed", "things changed a little")
        watch.wait_until(lambda: watch.done >= 2)
        assert "build-report: internal error: RuntimeError: boom; " in watch.log.getvalue()
        assert not out.exists()
        edit(chapter, "a little", "a lot")
        watch.wait_until(lambda: watch.done >= 3)
        assert out.exists() and f"wrote {out}" in watch.log.getvalue()
    assert "Traceback" not in watch.log.getvalue()


def test_watch_survives_a_failing_watcher(manuscript: Path, monkeypatch) -> None:
    import watchfiles

    real_watch = watchfiles.watch
    calls = []

    def flaky_watch(*args, **kwargs):
        calls.append(args)
        if len(calls) == 1:
            raise OSError(errno.ENOSPC, "inotify watch limit reached")
        yield from real_watch(*args, **kwargs)

    monkeypatch.setattr(watchfiles, "watch", flaky_watch)
    monkeypatch.chdir(manuscript.parent)  # the draft goes to ./build: the test's folder, not the repository's
    with watching(manuscript, monkeypatch) as watch:
        watch.wait_until(lambda: len(calls) >= 2)
        time.sleep(0.5)
        edit(manuscript / "chapters" / "02-second.md", "things changed", "things changed again")
        watch.wait_until(lambda: watch.done >= 2)
    assert "build-report: error: cannot watch for changes ([Errno 28] inotify watch limit reached); trying again" \
        in watch.log.getvalue().splitlines()


def test_watch_in_the_manuscript_folder_ignores_its_own_output(manuscript: Path, monkeypatch) -> None:
    """`watch .` inside the manuscript: the draft goes to ./build, inside the watched folder."""
    monkeypatch.chdir(manuscript)
    with watching(Path("."), monkeypatch) as watch:
        drafts = list((manuscript / "build").glob("*-draft-second.pdf"))
        assert len(drafts) == 1
        chapter = manuscript / "chapters" / "02-second.md"
        edit(chapter, "things changed", "things changed twice")
        watch.wait_until(lambda: watch.done >= 2)
        time.sleep(QUIET_PERIOD)
        assert watch.builds == 2, "writing the draft into ./build started another build"

        (manuscript / "build" / "notes.txt").write_text("ignored")
        (manuscript / "chapters" / "build").mkdir()
        (manuscript / "chapters" / "build" / "x.md").write_text("ignored")
        (manuscript / "chapters" / "02-second.md.bak").write_text("ignored")
        (manuscript / "chapters" / "02-second.md.bak.3").write_text("ignored")
        (manuscript / "chapters" / ".02-second.md.x1y2.tmp").write_text("ignored")
        (manuscript / "chapters" / "scratch.tmp").write_text("ignored")
        (manuscript / ".hidden").write_text("ignored")
        time.sleep(QUIET_PERIOD)
        assert watch.builds == 2, "a temporary, backup or hidden file, or a file in a build folder, started a build"

        edit(chapter, "twice", "three times")
        watch.wait_until(lambda: watch.done >= 3)
        assert watch.builds == 3


def test_watch_ignores_its_output_file_inside_the_manuscript(manuscript: Path, monkeypatch) -> None:
    out = manuscript / "drafts" / "draft.pdf"
    with watching(manuscript, monkeypatch, out) as watch:
        edit(manuscript / "chapters" / "02-second.md", "things changed", "things changed twice")
        watch.wait_until(lambda: watch.done >= 2)
        time.sleep(QUIET_PERIOD)
        assert watch.builds == 2, "writing -o FILE inside the manuscript started another build"


def test_a_manuscript_inside_a_folder_named_build_is_still_watched(tmp_path: Path, monkeypatch) -> None:
    root = tmp_path / "build" / "m"
    shutil.copytree(MINI, root)
    shutil.copytree(STYLES, root.parent / "styles")
    with watching(root, monkeypatch, tmp_path / "draft.pdf") as watch:
        edit(root / "chapters" / "02-second.md", "things changed", "things changed twice")
        watch.wait_until(lambda: watch.done >= 2)
