"""Ace by DAISY, the EPUB accessibility checker, for `make check-epub` and the tests.

    python tests/ace.py BOOK.epub      # prints a summary; exit 1 on any violation

Ace is installed on first use with `npm install --ignore-scripts` into
.cache/ace (git-ignored): the scripts would download a Chromium, and Debian's
/usr/bin/chromium is used instead, through PUPPETEER_EXECUTABLE_PATH. Ace's
Puppeteer runner starts Chromium with --no-sandbox itself, so it runs as root
in CI containers too.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("ACE_CACHE", ROOT / ".cache" / "ace"))
VERSION = "1.4.6"  # @daisy/ace; raise it on purpose, as its rules change
CHROMIUM = os.environ.get("PUPPETEER_EXECUTABLE_PATH", "/usr/bin/chromium")
ACE = CACHE / "node_modules" / ".bin" / "ace-puppeteer"


def missing() -> str:
    """Why Ace cannot run here ('' when it can)."""
    if not shutil.which("npm") or not shutil.which("node"):
        return "node and npm are not installed"
    if not Path(CHROMIUM).is_file():
        return f"Chromium is not installed at {CHROMIUM}"
    return ""


def install() -> Path:
    """Install @daisy/ace into the cache once (again when VERSION changes); returns the command."""
    package = CACHE / "node_modules" / "@daisy" / "ace" / "package.json"
    if not ACE.exists() or json.loads(package.read_text())["version"] != VERSION:
        CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "install", "--prefix", str(CACHE), "--ignore-scripts", "--no-audit", "--no-fund",
                        "--loglevel=error", f"@daisy/ace@{VERSION}"], check=True, stdout=sys.stderr)
    return ACE


def check(epub: Path, outdir: Path) -> dict:
    """Run Ace on `epub`; returns its report.json."""
    env = dict(os.environ, PUPPETEER_EXECUTABLE_PATH=CHROMIUM)
    subprocess.run([str(install()), "--force", "--silent", "--outdir", str(outdir), str(epub)],
                   check=True, env=env)
    return json.loads((outdir / "report.json").read_text(encoding="utf-8"))


def violations(report: dict) -> list[dict]:
    """Every failed assertion: {file, rule, impact, description, target}."""
    found: list[dict] = []

    def walk(node: dict, subject: str) -> None:
        subject = node.get("earl:testSubject", {}).get("url", subject)
        for assertion in node.get("assertions", []):
            result = assertion.get("earl:result", {})
            if "earl:test" in assertion and result.get("earl:outcome") == "fail":
                test = assertion["earl:test"]
                found.append({"file": subject, "rule": test.get("dct:title", ""),
                              "impact": test.get("earl:impact", ""), "description": result.get("dct:description", ""),
                              "target": result.get("earl:pointer", {}).get("css", [])})
            walk(assertion, subject)

    walk(report, "")
    return found


def summary(report: dict) -> str:
    found = violations(report)
    impacts = Counter(v["impact"] for v in found)
    counts = ", ".join(f"{impacts[i]} {i}" for i in ("critical", "serious", "moderate", "minor") if impacts[i])
    lines = [f"Ace {VERSION}: {report['earl:result']['earl:outcome']}, {len(found)} violations"
             + (f" ({counts})" if counts else "")]
    lines += [f"  {v['impact']}: {v['rule']} in {v['file']}: {v['description']}" for v in found]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python tests/ace.py BOOK.epub", file=sys.stderr)
        return 2
    reason = missing()
    if reason:
        print(f"ace: {reason}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as outdir:
        report = check(Path(argv[0]), Path(outdir))
    print(summary(report))
    return 1 if violations(report) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
