"""The report's fonts, from PyPI font packages (SIL Open Font License).

Source Serif Pro for text and Source Sans Pro for headings, captions and tables.
They are the only fonts the PDF may use: `font_faces()` declares every face
that the styles ask for, so WeasyPrint never falls back to a system font.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path


@dataclass(frozen=True)
class Face:
    family: str
    path: Path
    weight: int
    style: str  # "normal" or "italic"


_PACKAGES = {
    "Source Serif Pro": ("font_source_serif_pro", "SourceSerifPro"),
    "Source Sans Pro": ("font_source_sans_pro", "SourceSansPro"),
}
_STYLES = [("Regular", 400, "normal"), ("It", 400, "italic"), ("Semibold", 600, "normal"),
           ("SemiboldIt", 600, "italic"), ("Bold", 700, "normal"), ("BoldIt", 700, "italic")]


def faces() -> list[Face]:
    out = []
    for family, (package, stem) in _PACKAGES.items():
        folder = Path(str(resources.files(package))) / "files"
        for suffix, weight, style in _STYLES:
            out.append(Face(family, folder / f"{stem}-{suffix}.ttf", weight, style))
    return out


def font_dirs() -> list[Path]:
    return sorted({face.path.parent for face in faces()})


def font_face_css(url_for) -> str:
    """@font-face rules; `url_for(path)` gives the URL to use for a font file."""
    rules = []
    for face in faces():
        rules.append(
            f'@font-face {{ font-family: "{face.family}"; font-weight: {face.weight}; '
            f'font-style: {face.style}; src: url("{url_for(face.path)}") format("truetype"); }}'
        )
    return "\n".join(rules)
