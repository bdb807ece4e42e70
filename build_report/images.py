"""Image files: checked against their bytes before any output is built.

A PNG named `.jpg`, an empty or truncated file, a text file named `.svg` or a
picture too large to lay out would otherwise reach WeasyPrint and the EPUB,
which fail on them late, vaguely or not at all. `inspect` opens each image with
Pillow (SVG with the XML parser) and says what is wrong, or gives its size.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree as etree

from PIL import Image, ImageFile

FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".svg": "SVG"}
MAX_PIXELS = 50_000_000  # 50 megapixels: larger is a scan, not a figure, and exhausts memory in layout


@dataclass(frozen=True)
class ImageInfo:
    format: str  # "PNG", "JPEG" or "SVG"
    width: float  # CSS pixels; 0 when an SVG gives no size
    height: float


class ImageProblem(ValueError):
    """Why an image file cannot be used; the message completes "image 'x' …"."""


def inspect(path: Path) -> ImageInfo:
    """The image's real format and size; raises `ImageProblem` for a file that is not what it says."""
    expected = FORMATS.get(path.suffix.lower())
    if expected is None:
        raise ImageProblem("must be PNG, JPEG or SVG")
    if path.stat().st_size == 0:
        raise ImageProblem("is an empty file (0 bytes)")
    if expected == "SVG":
        return _svg(path)
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


def _svg(path: Path) -> ImageInfo:
    try:
        root = etree.parse(path).getroot()
    except etree.ParseError as exc:
        raise ImageProblem(f"is not a well-formed SVG file ({exc})") from None
    if root.tag not in ("{http://www.w3.org/2000/svg}svg", "svg"):
        raise ImageProblem("is not an SVG file (its root element is not <svg>)")
    width, height = _length(root.get("width")), _length(root.get("height"))
    box = (root.get("viewBox") or "").replace(",", " ").split()
    if (not width or not height) and len(box) == 4:
        try:
            width, height = width or float(box[2]), height or float(box[3])
        except ValueError:
            pass
    return ImageInfo("SVG", width, height)


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
