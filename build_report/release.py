"""Release: every edition of one version, checked, with checksums and a manifest (`make release`).

    dist/<slug>-<version>/
        <slug>-<version>.pdf                the screen PDF (tagged, PDF/UA-1)
        <slug>-<version>-print.pdf          the print PDF: 3 mm bleed, crop marks, chapters on rectos
        <slug>-<version>.epub               the EPUB 3
        <slug>-<version>-web/               the web edition, and the same as one zip:
        <slug>-<version>-web.zip
        <slug>-<version>-govspeak/          the GOV.UK export
        <slug>-<version>-accessibility.md   the accessibility statement, from the checks of these files
        manifest.json                       each file: name, size, pages, SHA-256; version, date, commit
        SHA256SUMS                          `sha256sum -c SHA256SUMS` checks the folder

The editions are built into a hidden folder beside the release, one layout shared by
the screen editions (build.Build). The gate (gate.py, `make check`) then checks those very
files; only if every check passes are the statement, the manifest and the checksums
written and the folder moved into place in one step. A version already released is
refused unless `force`.

Same commit, same bytes: the release is dated by SOURCE_DATE_EPOCH, else by the time of
the manuscript's git commit (else the report's date), never by the clock, so two
releases of one commit have identical SHA256SUMS.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from . import __version__, build, vcs, writers
from .diagnostics import BuildReportError, Diagnostics
from .model import Location, Manuscript, Options
from .output import TREE_MARKER, deterministic_zip, replace_folder, source_date, zip_time

if TYPE_CHECKING:
    from . import gate

# The editions, by writer: (writer name, what follows <slug>-<version> in the file name).
EDITIONS = (("pdf", ".pdf"), ("print-pdf", "-print.pdf"), ("epub", ".epub"), ("web", "-web"),
            ("govspeak", "-govspeak"))
SUMS = "SHA256SUMS"
MANIFEST = "manifest.json"
REPORT = Location("report.yaml")


class ReleaseExists(BuildReportError):
    """The version has been released into that folder already (exit 2: use --force)."""


class GateFailed(BuildReportError):
    """A check of the gate failed: nothing is released (exit 1)."""

    exit_code = 1


@dataclass
class Released:
    folder: Path
    files: list[dict]
    summary: str  # the gate's summary


def release(root: Path, dist: Path, options: Options, diagnostics: Diagnostics, timer: build.Timer,
            force: bool = False) -> Released:
    """Build, check and package every edition of the manuscript at `root` into `dist`."""
    manuscript = build.load(root, diagnostics, timer, styles=options.styles)
    version = manuscript.report.version
    if not version:
        diagnostics.error(REPORT, "a release needs the report's version: add 'version: 1.0' (say) to report.yaml")
    elif not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._+-]*", version):
        diagnostics.error(REPORT, f"version '{version}' cannot name a release folder: "
                                  "use letters, digits and . _ + - only")
    diagnostics.check()
    name = f"{manuscript.slug}-{version}"
    folder = dist / name
    if folder.exists() and not force:
        raise ReleaseExists(f"{folder} exists: version {version} has been released already; raise the version "
                            "in report.yaml, or use --force to replace it")
    with dated(manuscript.root):
        dist.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=f".{name}.", dir=dist) as tmp:
            staged = Path(tmp) / name
            outputs = {writer: staged / f"{name}{suffix}" for writer, suffix in EDITIONS}
            run = build.Build(manuscript, options, diagnostics, timer)
            for writer, out in outputs.items():
                run.write(writers.get(writer), out)
            checked = _gate(manuscript, outputs, options, timer)
            with timer.stage("package"):
                web = outputs["web"]
                (staged / f"{name}-web.zip").write_bytes(_zip_folder(web, name=web.name))
                _statement(manuscript, outputs, checked, staged / f"{name}-accessibility.md")
                files = manifest_files(staged)
                (staged / MANIFEST).write_text(_manifest(manuscript, files), encoding="utf-8")
                (staged / SUMS).write_text(checksums(staged), encoding="utf-8")
                (staged / TREE_MARKER).write_text("A release of build-report; --force replaces all of it.\n")
            replace_folder(staged, folder)
    return Released(folder, files, checked.text())


def _gate(manuscript: Manuscript, outputs: dict[str, Path], options: Options, timer: build.Timer) -> gate.GateReport:
    """Run the gate on the staged editions; raises GateFailed (and nothing is released) if a check fails."""
    from . import gate

    with timer.stage("gate"):
        report = gate.run(manuscript.root, gate.Editions(pdf=outputs["pdf"], epub=outputs["epub"],
                                                         web=outputs["web"]), options, timer)
    if not report.passed:
        raise GateFailed("the release gate failed, so nothing was released:\n" + report.text())
    return report


def _statement(manuscript: Manuscript, outputs: dict[str, Path], checked: gate.GateReport, out: Path) -> None:
    """The accessibility statement of the web edition, the PDF and the EPUB, from the results of the gate
    that has just checked them (nothing is run again; the statement names the files, never their paths)."""
    from . import gate, statement

    editions = gate.Editions(pdf=outputs["pdf"], epub=outputs["epub"], web=outputs["web"])
    out.write_text(statement.render(manuscript, *statement.from_gate(checked, editions)), encoding="utf-8")


# -- Dates and commits ------------------------------------------------------------------------

@contextlib.contextmanager
def dated(root: Path) -> Iterator[None]:
    """SOURCE_DATE_EPOCH for the release: as set, else the git commit's time, else unchanged."""
    if source_date() is not None:
        yield
        return
    commit_time = vcs.text(root, "log", "-1", "--format=%ct")
    if not commit_time:
        yield
        return
    os.environ["SOURCE_DATE_EPOCH"] = commit_time
    try:
        yield
    finally:
        os.environ.pop("SOURCE_DATE_EPOCH", None)


def commit(root: Path) -> dict:
    """The manuscript's git commit, and whether its folder had uncommitted changes."""
    sha, dirty = vcs.state(root, short=False)
    return {"commit": sha or None, "uncommitted_changes": dirty}


# -- Packaging ---------------------------------------------------------------------------------

def _files(folder: Path) -> list[Path]:
    """Every file below `folder`, in a stable order, without the output-folder markers."""
    return sorted((path for path in folder.rglob("*") if path.is_file() and path.name != TREE_MARKER),
                  key=lambda path: path.relative_to(folder).as_posix())


def _zip_folder(folder: Path, name: str) -> bytes:
    files = {f"{name}/{path.relative_to(folder).as_posix()}": path.read_bytes() for path in _files(folder)}
    return deterministic_zip(files, zip_time().timetuple()[:6])


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def checksums(folder: Path) -> str:
    """`sha256sum` lines for every file of the release but this one."""
    return "".join(f"{_sha256(path)}  {path.relative_to(folder).as_posix()}\n"
                   for path in _files(folder) if path.name != SUMS)


def manifest_files(folder: Path) -> list[dict]:
    """Name, size, SHA-256 and (for PDFs) page count of each file."""
    from pypdf import PdfReader

    files = []
    for path in _files(folder):
        entry = {"name": path.relative_to(folder).as_posix(), "size": path.stat().st_size, "sha256": _sha256(path)}
        if path.suffix == ".pdf":
            entry["pages"] = len(PdfReader(path).pages)
        files.append(entry)
    return files


def _manifest(manuscript: Manuscript, files: list[dict]) -> str:
    report = manuscript.report
    epoch = source_date()
    built = dt.datetime.fromtimestamp(epoch, dt.timezone.utc).isoformat() if epoch is not None else report.date
    data = {"title": report.title, "version": report.version, "date": report.date, "build_date": built,
            **commit(manuscript.root), "build_report": __version__, "files": files}
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
