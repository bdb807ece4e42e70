"""Write stage: outputs are written atomically, so a failed build never
leaves a half-written file and never destroys the previous good output."""

from __future__ import annotations

import errno
import os
import re
import tempfile
from pathlib import Path

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


# SOURCE_DATE_EPOCH (reproducible-builds.org) dates the outputs instead of the clock. The latest
# value allowed is the last second a ZIP entry, and so the EPUB, can record: DOS dates count the
# years from 1980 in 7 bits, up to 2107-12-31. Values before 1980 (0 is common) are allowed: the
# PDF and the EPUB's metadata show them as given, and only the zip entries are clamped up to
# 1980-01-01 (epub.zip_time), as a ZIP file cannot hold an earlier date.
LAST_ZIP_SECOND = 4354819199  # 2107-12-31 23:59:59 UTC


class BadEnvironment(BuildReportError):
    """An environment variable with a value the build cannot use: a usage error (exit 2)."""


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
