"""`build-report new DIR`: a new manuscript to start from.

The files come from `templates/new/`: report.yaml and places.yaml with a
comment on every key, one example chapter that shows each feature of the
format, and an example figure. The scaffold builds as written, with no
warnings.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from importlib import resources
from pathlib import Path
from typing import TextIO

from .diagnostics import BuildReportError

FILES = ("report.yaml", "places.yaml", "chapters/01-introduction.md", "images/example.svg")


def require_empty(dest: Path) -> None:
    """Refuse to write into a folder that has anything in it (or is a file)."""
    if dest.is_dir() and not any(dest.iterdir()):
        return
    if dest.exists() or dest.is_symlink():
        raise BuildReportError(f"{dest} already exists and is not empty")


def title_from_folder(dest: Path) -> str:
    """'my-report' -> 'My report'."""
    words = re.sub(r"[-_\s]+", " ", dest.resolve().name).strip()
    return words[:1].upper() + words[1:] if words else "My report"


def new(dest: Path, stdout: TextIO | None = None) -> list[Path]:
    """Write the scaffold into `dest` (new or empty); print the next steps to `stdout`."""
    require_empty(dest)
    today = dt.date.today()
    values = {
        "title": json.dumps(title_from_folder(dest), ensure_ascii=False),  # a JSON string is YAML
        "date": today.isoformat(),
        "year": str(today.year),
        "uuid": str(uuid.uuid4()),
    }
    templates = resources.files(__package__) / "templates" / "new"
    written = []
    for name in FILES:
        text = (templates / name).read_text(encoding="utf-8")
        for key, value in values.items():
            text = text.replace("{{" + key + "}}", value)
        path = dest / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    if stdout is not None:
        print(f"created {dest}/ with report.yaml, places.yaml, chapters/01-introduction.md and images/example.svg\n"
              "next steps:\n"
              f"  edit {dest / 'report.yaml'} (title, authors, date) and write your chapters\n"
              f"  build-report draft {dest}   a review draft\n"
              f"  build-report pdf {dest}     the final PDF (also: epub, html)\n"
              "  the format: docs/authoring.md", file=stdout)
    return written
