"""Corrupted manuscripts never crash the build: each random mutation of the small
manuscript either builds (exit 0) or is reported as bad input (exit 2), with no
traceback. The seed is fixed, so a failure is reproducible."""

from __future__ import annotations

import io
import random
import shutil
from pathlib import Path

import pytest

from build_report.cli import main

MINI = Path(__file__).parent / "data" / "mini"
SYNTAX = ["[", "]", "(", ")", "![", "](", "{#", "}", "[^", "> ", "— ", "-- ", "---\n", "|", "!!! box ",
          "\n    ", "#", "{++", "--}", "{>>", "<<}", "<div>", "</p>", "&", "&nbsp;", "\t", "\x00", "\ufeff",
          "`", "```\n", ":", "- ", "1. ", "Table: x", "{~~a~>b~~}", "***", "<", "\\", "../", "http://[",
          "mailto:", "%", "id:", "kind: x", "title: [", "\n\n", "\udcff"]


def mutate(root: Path, rng: random.Random) -> None:
    files = sorted(p for p in root.rglob("*") if p.suffix in (".md", ".yaml"))
    for _ in range(rng.randint(1, 4)):
        path = rng.choice(files)
        text = path.read_text(encoding="utf-8", errors="surrogateescape")
        at = rng.randint(0, len(text))
        choice = rng.random()
        if choice < 0.5:
            text = text[:at] + rng.choice(SYNTAX) + text[at:]
        elif choice < 0.8:
            text = text[:at] + text[at + rng.randint(1, 30):]
        else:
            lines = text.splitlines(True)
            rng.shuffle(lines)
            text = "".join(lines)
        path.write_bytes(text.encode("utf-8", errors="surrogateescape"))


@pytest.mark.parametrize("seed", range(150))
def test_a_corrupted_manuscript_is_reported_not_crashed(seed: int, tmp_path: Path) -> None:
    root = tmp_path / "m"
    shutil.copytree(MINI, root)
    mutate(root, random.Random(seed))
    err = io.StringIO()
    code = main(["html", str(root), "-o", str(tmp_path / "out.html")], stdout=io.StringIO(), stderr=err)
    assert code in (0, 2), err.getvalue()
    if code == 2:
        assert ": error: " in err.getvalue()
