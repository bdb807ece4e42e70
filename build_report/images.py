"""Image files: checked against their bytes before any output is built.

A PNG named `.jpg`, an empty or truncated file, a text file named `.svg` or a
picture too large to lay out would otherwise reach WeasyPrint and the EPUB,
which fail on them late, vaguely or not at all. `inspect` opens each image with
Pillow (SVG with the XML parser) and says what is wrong, or gives its size.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote
from xml.etree import ElementTree as etree

from PIL import Image, ImageFile

from . import confine

FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".svg": "SVG"}
MAX_PIXELS = 50_000_000  # 50 megapixels: larger is a scan, not a figure, and exhausts memory in layout


@dataclass(frozen=True)
class ImageInfo:
    format: str  # "PNG", "JPEG" or "SVG"
    width: float  # CSS pixels; 0 when an SVG gives no size
    height: float


class ImageProblem(ValueError):
    """Why an image file cannot be used; the message completes "image 'x' …"."""


def inspect(path: Path, root: Path | None = None) -> ImageInfo:
    """The image's real format and size; raises `ImageProblem` for a file that is not what it says.

    With `root` (the manuscript folder), an SVG's references to other files must stay inside it."""
    expected = FORMATS.get(path.suffix.lower())
    if expected is None:
        raise ImageProblem("must be PNG, JPEG or SVG")
    if path.stat().st_size == 0:
        raise ImageProblem("is an empty file (0 bytes)")
    if expected == "SVG":
        return _svg(path, root)
    # WeasyPrint sets LOAD_TRUNCATED_IMAGES for the whole process once imported; a check must not.
    lenient, ImageFile.LOAD_TRUNCATED_IMAGES = ImageFile.LOAD_TRUNCATED_IMAGES, False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                found = image.format
                size = image.size
                if size[0] * size[1] > MAX_PIXELS:
                    raise ImageProblem(f"is too large to lay out ({size[0]} x {size[1]} pixels; "
                                       f"at most {MAX_PIXELS // 1_000_000} megapixels): scale it down")
                image.load()  # decodes every byte: finds truncated and damaged files
    except ImageProblem:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageProblem(f"is too large to lay out (more than {MAX_PIXELS // 1_000_000} megapixels): "
                           "scale it down") from None
    except Exception as exc:  # Pillow raises many types for bad bytes
        raise ImageProblem(f"cannot be read as an image ({_reason(exc)})") from None
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = lenient
    if found != expected:
        right = {"PNG": ".png", "JPEG": ".jpg", "GIF": ".gif", "WEBP": ".webp"}.get(found or "", "")
        advice = f": rename it to {path.stem}{right}" if found in ("PNG", "JPEG") else ": save it as PNG or JPEG"
        raise ImageProblem(f"is a {found} file, not {expected} as its name says{advice}")
    return ImageInfo(found, float(size[0]), float(size[1]))


_XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
_CSS_URL = re.compile(r"""url\(\s*(?:'([^']*)'|"([^"]*)"|([^)'"]*))\s*\)|@import\s+(?:'([^']*)'|"([^"]*)")""", re.I)


def _svg(path: Path, manuscript: Path | None) -> ImageInfo:
    try:
        root = etree.parse(path).getroot()
    except etree.ParseError as exc:
        raise ImageProblem(f"is not a well-formed SVG file ({exc})") from None
    if root.tag not in ("{http://www.w3.org/2000/svg}svg", "svg"):
        raise ImageProblem("is not an SVG file (its root element is not <svg>)")
    if manuscript is not None:
        for reference in _svg_references(root):
            _check_reference(reference, path, manuscript)
    width, height = _length(root.get("width")), _length(root.get("height"))
    box = (root.get("viewBox") or "").replace(",", " ").split()
    if (not width or not height) and len(box) == 4:
        try:
            width, height = width or float(box[2]), height or float(box[3])
        except ValueError:
            pass
    return ImageInfo("SVG", width, height)


def _svg_references(root: etree.Element) -> Iterator[str]:
    """Every resource an SVG makes the renderer fetch: hrefs (except on links), CSS url() and @import."""
    for element in root.iter():
        if not str(element.tag).endswith("}a") and element.tag != "a":  # a link is followed by readers, not fetched
            for name in ("href", _XLINK_HREF):
                if element.get(name) is not None:
                    yield element.get(name, "")
        for css in (element.get("style"), element.text if str(element.tag).endswith("style") else None):
            for match in _CSS_URL.finditer(css or ""):
                yield next((group for group in match.groups() if group), "")


def _check_reference(reference: str, svg: Path, manuscript: Path) -> None:
    """An SVG may point into itself (#id), hold data: URLs, or name files inside the manuscript."""
    if not reference.strip() or reference.strip().startswith("#") or confine.scheme(reference) == "data":
        return
    try:
        confine.inside(manuscript, unquote(reference.split("#")[0]), confine.relative(svg, manuscript))
    except confine.Outside as reason:
        raise ImageProblem(f"refers to '{reference}', which {reason}: an SVG may only use files "
                           "in the manuscript folder") from None


def _length(value: str | None) -> float:
    """An SVG width or height in CSS pixels; 0 for percentages and what cannot be read."""
    units = {"px": 1.0, "pt": 4 / 3, "mm": 96 / 25.4, "cm": 96 / 2.54, "in": 96.0}
    value = (value or "").strip()
    for unit, factor in units.items():
        if value.endswith(unit):
            value, scale = value[: -len(unit)], factor
            break
    else:
        scale = 1.0
    try:
        return float(value) * scale
    except ValueError:
        return 0.0


def _reason(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    # Pillow names the file by its absolute path; the diagnostic already names it as written.
    return "not a format Pillow knows" if "cannot identify image file" in text else text
