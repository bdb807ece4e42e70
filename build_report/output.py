"""Write stage: outputs are written atomically, so a failed build never
leaves a half-written file and never destroys the previous good output."""

from __future__ import annotations

import datetime as dt
import errno
import io
import os
import re
import shutil
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

from .diagnostics import BuildReportError


def write_atomic(path: Path, data: bytes | str, mode: int = 0o644) -> None:
    """Replace `path` with `data` in one step; the new file gets `mode` (a rewritten source keeps its own)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except FileExistsError as exc:  # a file where a folder should be: say which, plainly
        raise NotADirectoryError(errno.ENOTDIR, "Not a directory", exc.filename) from None
    if isinstance(data, str):
        data = data.encode("utf-8")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except OSError as exc:  # name the output, not the hidden temporary file (a full disk, say)
        Path(tmp).unlink(missing_ok=True)
        raise OSError(exc.errno, exc.strerror, str(path)) from exc
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_tree(folder: Path, files: dict[str, bytes | str]) -> None:
    """Replace the folder `folder` with exactly `files` (relative POSIX path -> content), in one step.

    The new tree is written beside it in a hidden temporary folder, then swapped in
    (`replace_folder`). A failed build leaves the previous folder as it was."""
    folder = Path(folder)
    _check_replaceable(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".tmp", dir=folder.parent))
    try:
        for name, data in sorted({**files, TREE_MARKER: TREE_MARKER_TEXT}.items()):
            parts = PurePosixPath(name).parts
            if not parts or PurePosixPath(name).is_absolute() or ".." in parts:
                raise ValueError(f"output file name outside its folder: {name!r}")
            path = tmp.joinpath(*parts)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
            os.chmod(path, 0o644)
        os.chmod(tmp, 0o755)
        replace_folder(tmp, folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def replace_folder(new: Path, folder: Path) -> None:
    """Put the folder `new` where `folder` is, in one rename; the previous `folder` is removed after.

    `folder` must be a folder this tool made (it has TREE_MARKER), or empty, or not exist:
    a file there, or someone else's folder, is refused."""
    _check_replaceable(folder)
    old = folder.with_name(f".{folder.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    try:
        if folder.is_dir():
            os.replace(folder, old)
        os.replace(new, folder)
    except OSError as exc:
        if old.exists() and not folder.exists():
            os.replace(old, folder)
        raise OSError(exc.errno, exc.strerror, str(folder)) from exc
    shutil.rmtree(old, ignore_errors=True)


def _check_replaceable(folder: Path) -> None:
    if folder.exists() and not folder.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, "Not a directory", str(folder))
    if folder.is_dir() and any(folder.iterdir()) and not (folder / TREE_MARKER).is_file():
        raise BuildReportError(f"{folder}: not an output folder of build-report (it has no {TREE_MARKER}); "
                               "refusing to replace it: choose another output folder")


def deterministic_zip(files: dict[str, bytes], timestamp: tuple[int, int, int, int, int, int],
                      first: tuple[str, ...] = (), stored: tuple[str, ...] = ()) -> bytes:
    """A zip whose bytes depend only on `files` and `timestamp` (Y, M, D, h, m, s): the entries in
    `first` in that order, then the rest by name, each with the same time and attributes,
    deflated (those in `stored` are not compressed, as an EPUB's mimetype must not be)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for name in [*first, *sorted(set(files) - set(first))]:
            info = zipfile.ZipInfo(name, date_time=timestamp)
            info.compress_type = zipfile.ZIP_STORED if name in stored else zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix, on every platform
            info.external_attr = 0o644 << 16
            target.writestr(info, files[name], compresslevel=9)
    return out.getvalue()


TREE_MARKER = ".build-report"  # in every folder write_tree made: it may be replaced
TREE_MARKER_TEXT = "This folder is an output of build-report; the next build replaces all of it.\n"


# SOURCE_DATE_EPOCH (reproducible-builds.org) dates the outputs instead of the clock. The latest
# value allowed is the last second a ZIP entry, and so the EPUB, can record: DOS dates count the
# years from 1980 in 7 bits, up to 2107-12-31. Values before 1980 (0 is common) are allowed: the
# PDF and the EPUB's metadata show them as given, and only the zip entries are clamped up to
# 1980-01-01 (zip_time), as a ZIP file cannot hold an earlier date.
LAST_ZIP_SECOND = 4354819199  # 2107-12-31 23:59:59 UTC


class BadEnvironment(BuildReportError):
    """An environment variable with a value the build cannot use: a usage error (exit 2)."""


def document_date(date: str, default: dt.datetime) -> dt.datetime:
    """The date a document says it was made or modified: SOURCE_DATE_EPOCH, else the report's
    `date`, else `default` (never the clock, unless the caller passes it)."""
    epoch = source_date()
    if epoch is not None:
        return dt.datetime.fromtimestamp(epoch, dt.timezone.utc)
    if date:
        return dt.datetime.fromisoformat(date).replace(tzinfo=dt.timezone.utc)
    return default


def source_date(default: int | None = None) -> int | None:
    """SOURCE_DATE_EPOCH in seconds since 1970, or `default` when it is not set.

    Every reader of the variable comes here. `cli` calls it before any verb runs, so a bad
    value stops the command at once, whatever the verb, with `BadEnvironment`."""
    value = os.environ.get("SOURCE_DATE_EPOCH")
    if value is None:
        return default
    seconds = "whole seconds since 1970 (as `date +%s` prints)"
    if not value:  # as from SOURCE_DATE_EPOCH=$(git log -1 --format=%ct) outside a repository
        raise BadEnvironment(f"SOURCE_DATE_EPOCH is set but empty: unset it, or give {seconds}")
    if not re.fullmatch(r"[0-9]+", value):  # no sign, fraction, exponent, spaces or non-ASCII digits
        raise BadEnvironment(f"SOURCE_DATE_EPOCH={value!r} must be {seconds}")
    if len(value.lstrip("0")) > len(str(LAST_ZIP_SECOND)) or int(value) > LAST_ZIP_SECOND:
        raise BadEnvironment(f"SOURCE_DATE_EPOCH={value!r} is after 2107-12-31, "
                             "the last day a ZIP file (an EPUB) can record")
    return int(value)


ZIP_EPOCH = dt.datetime(1980, 1, 1, tzinfo=dt.timezone.utc)  # the earliest time a zip can record


def zip_time() -> dt.datetime:
    """The time every zip entry records: SOURCE_DATE_EPOCH, else the earliest a zip can hold."""
    epoch = source_date()
    return max(dt.datetime.fromtimestamp(epoch, dt.timezone.utc), ZIP_EPOCH) if epoch is not None else ZIP_EPOCH
