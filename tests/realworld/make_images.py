"""Regenerate the corpus's raster images (run once; the PNG/JPEG files are committed).

    .venv/bin/python tests/realworld/make_images.py
"""

import random
from pathlib import Path

from PIL import Image, ImageDraw

HERE = Path(__file__).resolve().parent
IMAGES = HERE / "images"


def icon(name: str, colour: str, draw_mark) -> None:
    image = Image.new("RGBA", (16, 16), (0, 0, 0, 0))
    pen = ImageDraw.Draw(image)
    pen.ellipse((0, 0, 15, 15), fill=colour)
    draw_mark(pen)
    image.save(IMAGES / f"icon-{name}.png", optimize=True)


def photo(path: Path, size=(1200, 800)) -> None:
    """Something photo-like: a sky gradient, two hills and a little noise."""
    width, height = size
    image = Image.new("RGB", size)
    pen = ImageDraw.Draw(image)
    for y in range(height):
        t = y / height
        pen.line([(0, y), (width, y)], fill=(int(150 + 80 * t), int(190 + 40 * t), int(235 - 20 * t)))
    pen.polygon([(0, 520), (300, 400), (650, 480), (1200, 380), (1200, 800), (0, 800)], fill=(92, 128, 70))
    pen.polygon([(0, 640), (420, 560), (900, 620), (1200, 580), (1200, 800), (0, 800)], fill=(70, 104, 52))
    pen.rectangle((760, 500, 840, 560), fill=(180, 170, 150))
    pen.polygon([(750, 500), (800, 465), (850, 500)], fill=(120, 60, 50))
    rng = random.Random(8)
    pixels = image.load()
    for _ in range(60000):
        x, y = rng.randrange(width), rng.randrange(height)
        r, g, b = pixels[x, y]
        d = rng.randint(-18, 18)
        pixels[x, y] = (max(0, min(255, r + d)), max(0, min(255, g + d)), max(0, min(255, b + d)))
    image.save(path, quality=82, optimize=True)


def screen(path: Path) -> None:
    """A small fake screenshot for existing-docs/."""
    image = Image.new("RGB", (320, 200), "white")
    pen = ImageDraw.Draw(image)
    pen.rectangle((0, 0, 319, 28), fill=(11, 12, 12))
    pen.rectangle((16, 48, 200, 60), fill=(29, 112, 184))
    for row in range(4):
        pen.rectangle((16, 80 + row * 24, 300, 90 + row * 24), fill=(200, 200, 200))
    pen.rectangle((16, 176, 100, 192), fill=(0, 112, 60))
    image.save(path, optimize=True)


def main() -> None:
    IMAGES.mkdir(exist_ok=True)
    icon("done", "#00703c", lambda p: p.line([(4, 8), (7, 11), (12, 5)], fill="white", width=2))
    icon("progress", "#1d70b8", lambda p: p.pieslice((3, 3, 12, 12), -90, 90, fill="white"))
    icon("blocked", "#d4351c", lambda p: p.line([(4, 8), (11, 8)], fill="white", width=3))
    icon("info", "#505a5f", lambda p: (p.rectangle((7, 7, 8, 12), fill="white"),
                                       p.point([(7, 4), (8, 4)], fill="white")))
    divider = Image.new("RGB", (600, 8), "white")
    ImageDraw.Draw(divider).rectangle((0, 3, 599, 4), fill=(29, 112, 184))
    divider.save(IMAGES / "divider.png", optimize=True)
    photo(IMAGES / "moor.jpg")
    screen(HERE / "existing-docs" / "docs" / "img" / "screen.png")


if __name__ == "__main__":
    main()
