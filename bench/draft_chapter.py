"""Per-chapter draft time against the full draft, on the sample report.

    .venv/bin/python bench/draft_chapter.py [--runs 3] [--chapter 3]

Times whole `build-report draft` processes (median of the runs) and prints the
ratio. Target (issue 5): a one-chapter draft takes at most 25% of a full draft.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def median_time(argv: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--chapter", default="3")
    args = parser.parse_args()
    tool = [sys.executable, "-m", "build_report", "draft", str(ROOT / "manuscript"), "-q"]
    with tempfile.TemporaryDirectory() as tmp:
        full = median_time(tool + ["-o", f"{tmp}/full.pdf"], args.runs)
        one = median_time(tool + ["--chapter", args.chapter, "-o", f"{tmp}/one.pdf"], args.runs)
    print(f"full draft:          {full:6.2f} s (median of {args.runs})")
    print(f"chapter {args.chapter} draft:     {one:6.2f} s")
    print(f"ratio chapter/full:  {one / full:6.1%}  (target <= 25%)")


if __name__ == "__main__":
    main()
