"""`python tests/pdfua.py FILE`: the PDF/UA-1 (Matterhorn) report on a PDF (issue 10).

A thin entry over `build_report.pdfua`, which `build-report check-pdf FILE` also uses:
exit 0 when every implemented checkpoint passes, 1 when one fails, 2 when FILE cannot be read."""

from __future__ import annotations

import sys

import pikepdf

from build_report.pdfua import CHECKS, HUMAN_ONLY, Report, check

__all__ = ["CHECKS", "HUMAN_ONLY", "Report", "check", "main"]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python tests/pdfua.py FILE", file=sys.stderr)
        return 2
    try:
        report = check(args[0])
    except (OSError, pikepdf.PdfError) as exc:
        print(f"pdfua: error: {args[0]}: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(report.text())
    return report.exit_status


if __name__ == "__main__":
    sys.exit(main())
