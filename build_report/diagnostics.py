"""Errors, warnings and exit codes.

Logging policy (one place, as in WeasyPrint's logger.py):
- a problem in the manuscript is a `Diagnostic`, printed as
  `path:line: error: message` (or `warning:`) on stderr, paths relative to the
  manuscript folder, so editors make them clickable;
- all problems of a stage are collected and reported together; a stage that
  found errors raises `ManuscriptError` and nothing is written;
- progress and stage timings go to stderr at `-v`; nothing else is printed;
- a user never sees a traceback for bad input.

Exit codes: 0 ok, 1 checks failed, 2 bad input or usage, 70 an internal error
(a bug: one line asking for a report; the traceback only at -v), 130/143/129
interrupted by SIGINT/SIGTERM/SIGHUP (outputs and temporary files cleaned up).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TextIO

from .model import Location

EXIT_OK = 0
EXIT_CHECKS_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_SOFTWARE = 70  # sysexits.h EX_SOFTWARE: an internal error

NO_FILE = Location("build-report")  # a problem of the build, not of a file: "build-report: warning: ..."


def bug_report(exc: BaseException) -> str:
    """The one line an internal error prints (its traceback is printed only at -v)."""
    return (f"build-report: internal error: {type(exc).__name__}: {exc}; this is a bug in build-report, "
            "not in your manuscript: please report it to the maintainers with the output of -v")


@dataclass(frozen=True)
class Diagnostic:
    severity: str  # "error" or "warning"
    location: Location
    message: str

    def __str__(self) -> str:
        return printable(f"{self.location}: {self.severity}: {self.message}")


# Control characters from a manuscript (a NUL, an ANSI escape that would recolour or rewrite the
# terminal, a newline that would forge a second diagnostic) are shown escaped, as Python writes them.
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """`text` with control characters written as escapes (`\\x1b`), so a message is one honest line."""
    return _CONTROLS.sub(lambda match: repr(match.group(0))[1:-1], text)


class BuildReportError(Exception):
    """Base of every error the CLI turns into a message and an exit code."""

    exit_code = EXIT_BAD_INPUT


class ManuscriptError(BuildReportError):
    """The manuscript has errors; `diagnostics` lists every one of them."""

    def __init__(self, diagnostics: list[Diagnostic]):
        self.diagnostics = diagnostics
        super().__init__("\n".join(map(str, diagnostics)))


class RenderError(BuildReportError):
    """An output could not be produced from a valid manuscript."""


class Diagnostics:
    """Collects the problems found while building; decides whether to stop."""

    def __init__(self, strict: bool = False):
        self.items: list[Diagnostic] = []
        self.strict = strict
        self._reported = 0

    def error(self, location: Location, message: str) -> None:
        self.items.append(Diagnostic("error", location, message))

    def warning(self, location: Location, message: str) -> None:
        self.items.append(Diagnostic("warning", location, message))

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.items if d.severity == "error" or self.strict]

    def check(self) -> None:
        """Raise `ManuscriptError` if any error (or, when strict, warning) was found."""
        if self.errors:
            raise ManuscriptError(self.items)

    def report(self, stream: TextIO) -> None:
        """Print the problems not printed yet, in file and line order."""
        fresh = self.items[self._reported :]
        self._reported = len(self.items)
        for diagnostic in sorted(fresh, key=lambda d: d.location):
            print(diagnostic, file=stream)
