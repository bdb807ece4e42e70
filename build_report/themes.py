"""Themes: token files in `styles/themes/<name>.css` that give a report its look.

`styles/tokens.css` holds what every theme shares (colours, code colours, spacing,
font fallbacks); a theme sets the rest as CSS custom properties on `:root`: the text
font and the type scale, line spacing, alignment, hyphenation, paragraph style, the
page margins (and so the line length) and how links look. print.css and epub.css
read those tokens. A theme file may also hold the few rules that must differ. It is
added after every other styles file (`assemble.stylesheet`), so it wins.

`report.yaml` chooses one with `theme:`; without it the report gets DEFAULT, the
GOV.UK accessible-documents theme. An organisation adds its own theme by copying a
theme file to `styles/themes/<name>.css` (a name of lowercase letters, digits, `-`
and `_`) and editing it.
"""

from __future__ import annotations

import re
from pathlib import Path

STYLES = Path(__file__).resolve().parent.parent / "styles"
THEMES = "themes"  # the folder of theme files inside a styles folder
DEFAULT = "govuk"
NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


def available(styles: Path = STYLES) -> tuple[str, ...]:
    """The themes of a styles folder, sorted: the names of its `themes/*.css` files."""
    folder = styles / THEMES
    if not folder.is_dir():
        return ()
    return tuple(sorted(path.stem for path in folder.glob("*.css") if NAME.match(path.stem) and path.is_file()))


def file_name(theme: str) -> str:
    """The theme's file, relative to the styles folder: 'themes/govuk.css'."""
    return f"{THEMES}/{theme or DEFAULT}.css"


def token(path: Path, name: str) -> str | None:
    """The value a theme file gives the custom property `--name` (the last one), or None."""
    found = re.findall(rf"--{re.escape(name)}\s*:\s*([^;}}]+)", path.read_text(encoding="utf-8"))
    return found[-1].strip() if found else None
