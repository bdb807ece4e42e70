"""Ace by DAISY, the EPUB accessibility checker, for `make check-epub` and the tests.

    python tests/ace.py BOOK.epub      # prints a summary; exit 1 on any violation, 2 when Ace cannot run

The runner is `build_report.validators` (run_ace, which the release gate uses too): Ace is
installed on first use with `npm install --ignore-scripts` into .cache/ace (git-ignored; ACE_CACHE
overrides it), and Debian's /usr/bin/chromium runs it. This module is a thin command line over it.
"""

from __future__ import annotations

import sys
from pathlib import Path

from build_report import validators

VERSION = validators.ACE_VERSION


def missing() -> str:
    """Why Ace cannot run here ('' when it can)."""
    return validators.ace_missing()


def check(epub: Path, outdir: Path) -> dict:
    """Run Ace on `epub`; returns its report.json."""
    return validators.ace_report(epub, outdir)


def violations(report: dict) -> list[validators.AceViolation]:
    return validators.ace_violations(report)


def summary(report: dict) -> str:
    found = violations(report)
    result = validators.AceResult(True, outcome=report["earl:result"]["earl:outcome"], violations=found)
    return "\n".join([result.describe(), *(f"  {v}" for v in found)])


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python tests/ace.py BOOK.epub", file=sys.stderr)
        return 2
    result = validators.run_ace(Path(argv[0]))
    if not result.ran:
        print(f"ace: {result.not_run}", file=sys.stderr)
        return 2
    print("\n".join([result.describe(), *(f"  {v}" for v in result.violations)]))
    return 1 if result.violations else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
