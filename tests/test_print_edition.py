"""The press edition (`build-report print-pdf`, writers/print_pdf.py), read back with pypdf and pikepdf.

Page boxes, crop marks and the cover's bleed, chapters opening on right-hand pages, blank
left-hand pages, page labels, the PDF/UA-1 checks, images at full resolution (and the screen
PDF's downsampled), the same bytes from the same input.
"""

from __future__ import annotations

import functools
import io
import shutil
import subprocess
from pathlib import Path

import pikepdf
import pytest
from PIL import Image, ImageDraw
from pypdf import PdfReader

from build_report import build, pdfua, writers
from build_report.assemble import Options, all_chapters
from build_report.cli import main
from build_report.diagnostics import Diagnostics
from build_report.render import SCREEN_DPI, body_start, page_labels
from build_report.writers.print_pdf import BLEED, MM
from conftest import MINI, ROOT, SAMPLE

A4 = (595.2756, 841.8898)  # the trim, in points
MARKS = 10 * MM  # press.css: `bleed: 10mm`, the area outside the trim that holds the crop marks
EPOCH = "1767225600"
# Two raster images larger than they are drawn (136 mm wide at most: 2400 px is 448 dpi there).
PHOTO = ("photo.jpg", (2400, 1600))
CHART = ("chart.png", (1200, 800))


def _picture(size: tuple[int, int]) -> Image.Image:
    """A busy picture of `size` pixels (same every time), which compresses like a photograph."""
    width, height = size
    image = Image.new("RGB", size)
    draw = ImageDraw.Draw(image)
    for y in range(height):
        draw.line([(0, y), (width, y)], fill=(40 + 200 * y // height, 90, 160 - 120 * y // height))
    for n in range(200):
        x, y, r = (n * 7919) % width, (n * 104729) % height, 10 + (n * 31) % 110
        draw.ellipse([x - r, y - r, x + r, y + r], fill=((n * 53) % 256, (n * 97) % 256, (n * 151) % 256))
    return image


def with_images(folder: Path) -> Path:
    """A copy of the small manuscript whose second chapter has a JPEG and a PNG figure."""
    root = folder / "mini"
    shutil.copytree(MINI, root)
    _picture(PHOTO[1]).save(root / "images" / PHOTO[0], quality=90)
    _picture(CHART[1]).save(root / "images" / CHART[0])
    with (root / "chapters" / "02-second.md").open("a", encoding="utf-8") as chapter:
        chapter.write(f"\n![Coloured discs](../images/{PHOTO[0]} \"A photograph\"){{#fig-photo}}\n"
                      f"\n![Coloured discs, smaller](../images/{CHART[0]} \"A chart\"){{#fig-chart}}\n")
    return root


class Editions:
    """One manuscript built to the screen PDF and the print PDF in one build (as `release` does)."""

    def __init__(self, root: Path, out: Path):
        self.diagnostics = Diagnostics()
        timer = build.Timer()
        self.manuscript = build.load(root, self.diagnostics, timer)
        run = build.Build(self.manuscript, Options(), self.diagnostics, timer)
        self.screen_pdf, self.print_pdf = out / "screen.pdf", out / "print.pdf"
        run.write(writers.get("pdf"), self.screen_pdf)
        run.write(writers.get("print-pdf"), self.print_pdf)
        self.reader = PdfReader(self.print_pdf)

    def dest_page(self, name: str) -> int:
        return self.reader.get_destination_page_number(self.reader.named_destinations[name])

    def openings(self) -> dict[str, int]:
        """Page index where the contents and each chapter (the places appendix too) open."""
        ids = ["contents", *(chapter.id for chapter in all_chapters(self.manuscript))]
        return {name: self.dest_page(name) for name in ids}

    @functools.cached_property
    def blank(self) -> list[int]:
        """Indexes of the pages with no text."""
        return [index for index, page in enumerate(self.reader.pages) if not page.extract_text().strip()]


@pytest.fixture(scope="module")
def mini_press(tmp_path_factory) -> Editions:
    folder = tmp_path_factory.mktemp("press")
    return Editions(with_images(folder), folder)


@pytest.fixture(scope="module")
def sample_press(tmp_path_factory) -> Editions:
    return Editions(SAMPLE, tmp_path_factory.mktemp("sample-press"))


@pytest.fixture(params=["mini_press", "sample_press"])
def press(request) -> Editions:
    return request.getfixturevalue(request.param)


def box(page: pikepdf.Page, name: str) -> list[float]:
    return [float(value) for value in page.obj[name]]


def around(rect: tuple[float, float, float, float], by: float) -> list[float]:
    left, bottom, right, top = rect
    return [left - by, bottom - by, right + by, top + by]


def test_the_writer_is_registered():
    writer = writers.get("print-pdf")
    assert "print-pdf" in writers.names()
    assert writer.suffix == "-print.pdf" and writer.final
    assert writer.default_output("a-report") == Path("build") / "a-report-print.pdf"


def test_every_page_is_a4_trim_with_3mm_bleed_and_room_for_the_marks(press):
    trim = (0.0, 0.0, *A4)
    with pikepdf.open(press.print_pdf) as pdf:
        for number, page in enumerate(pdf.pages, 1):
            assert box(page, "/TrimBox") == pytest.approx(trim, abs=0.01), f"page {number}"
            assert box(page, "/BleedBox") == pytest.approx(around(trim, 8.504), abs=0.01), f"page {number}"
            assert box(page, "/MediaBox") == pytest.approx(around(trim, MARKS), abs=0.01), f"page {number}"
            assert "/CropBox" not in page.obj or box(page, "/CropBox") == box(page, "/MediaBox")
    assert BLEED == pytest.approx(8.504, abs=0.001)


def test_the_screen_pdf_has_no_bleed(mini_press):
    with pikepdf.open(mini_press.screen_pdf) as pdf:
        for page in pdf.pages:
            assert box(page, "/MediaBox") == box(page, "/TrimBox") == box(page, "/BleedBox") == \
                pytest.approx([0, 0, *A4], abs=0.01)


def test_contents_and_every_chapter_open_on_a_right_hand_page(press):
    openings = press.openings()
    assert len(openings) >= 6
    wrong = {name: index + 1 for name, index in openings.items() if index % 2}
    assert not wrong, f"opening on a left-hand (even) page: {wrong}"
    first = next(c.id for c in press.manuscript.chapters if c.kind != "front")
    assert press.reader.page_labels[openings[first]] == "1"


def test_blank_pages_are_left_hand_pages_before_an_opening_and_carry_nothing(press):
    blank = press.blank
    assert blank, "the press edition of this manuscript needs blank pages"
    openings = set(press.openings().values())
    with pikepdf.open(press.print_pdf) as pdf:
        for index in blank:
            assert index % 2 == 1 and index + 1 in openings, f"page {index + 1} is blank for no reason"
            page = pdf.pages[index]
            operators = [(str(op), [str(o) for o in operands]) for operands, op in pikepdf.parse_content_stream(page)]
            assert not [o for o in operators if o[0] in ("Tj", "TJ", "BDC")], f"page {index + 1}: {operators}"
            assert ("BMC", ["/Artifact"]) in operators  # the crop marks, as an artifact


def test_page_labels_roman_front_matter_then_arabic_from_the_first_chapter(press):
    labels = press.reader.page_labels
    first = press.dest_page(next(c.id for c in press.manuscript.chapters if c.kind != "front"))
    assert first % 2 == 0
    assert labels == page_labels(len(labels), first)
    assert labels[0] == "i" and labels[first] == "1" and labels[-1] == str(len(labels) - first)


def test_the_print_pdf_passes_the_pdfua_checks_as_the_screen_pdf_does(press):
    assert pdfua.check(press.print_pdf).failed == []
    assert pdfua.check(press.screen_pdf).failed == []
    assert press.diagnostics.items == []  # press.css draws no renderer warning either


def test_the_print_pdf_has_the_same_structure_as_the_screen_pdf(mini_press):
    """Same bookmarks and named destinations, the same pages but for the blank ones."""
    screen = PdfReader(mini_press.screen_pdf)
    assert [item.title for item in mini_press.reader.outline if not isinstance(item, list)] == \
        [item.title for item in screen.outline if not isinstance(item, list)]
    assert set(mini_press.reader.named_destinations) == set(screen.named_destinations)
    assert len(mini_press.reader.pages) == len(screen.pages) + len(mini_press.blank) - len(
        [p for p in screen.pages if not p.extract_text().strip()])


def _images(path: Path) -> list[tuple[int, int, bytes]]:
    """(width, height, stream bytes as stored) of every image XObject in the file."""
    with pikepdf.open(path) as pdf:
        return sorted((int(obj.Width), int(obj.Height), obj.read_raw_bytes()) for obj in pdf.objects
                      if isinstance(obj, pikepdf.Stream) and obj.get("/Subtype") == "/Image")


def test_print_images_keep_their_pixels_and_screen_images_are_downsampled(mini_press):
    root = mini_press.manuscript.root / "images"
    sources = sorted(Image.open(root / name).size for name, _ in (PHOTO, CHART))
    printed = _images(mini_press.print_pdf)
    assert [(w, h) for w, h, _ in printed] == sources
    assert (root / PHOTO[0]).read_bytes() in [data for *_, data in printed]  # the JPEG as it is, not re-encoded
    screen = _images(mini_press.screen_pdf)
    for (width, height, _), (source_width, source_height) in zip(screen, sources, strict=True):  # both by size
        assert width <= source_width and height <= source_height
    # drawn at most 136 mm (5.35 in, the govuk text block) wide, so at most SCREEN_DPI x 5.35 pixels across
    assert max(width for width, _, _ in screen) <= SCREEN_DPI * 136 / 25.4 + 1
    assert mini_press.screen_pdf.stat().st_size < mini_press.print_pdf.stat().st_size


def _render(path: Path, page: int, tmp_path: Path) -> Image.Image:
    """Page `page` (1-based) at 72 dpi, one pixel a point from the MediaBox's corner (pdftoppm)."""
    if not shutil.which("pdftoppm"):
        pytest.skip("pdftoppm (poppler-utils) is not installed")
    subprocess.run(["pdftoppm", "-png", "-r", "72", "-f", str(page), "-l", str(page), "-singlefile", str(path),
                    str(tmp_path / "page")], check=True)
    return Image.open(tmp_path / "page.png").convert("RGB")


def test_crop_marks_lie_outside_the_bleed(mini_press, tmp_path):
    """On a blank page, the only ink is the crop marks: in each corner, outside the BleedBox."""
    index = mini_press.blank[0]
    image = _render(mini_press.print_pdf, index + 1, tmp_path)
    width, data = image.width, image.tobytes()  # RGB, a row after another
    inked = [(n % width, n // width) for n in range(len(data) // 3) if sum(data[3 * n:3 * n + 3]) < 600]
    assert inked
    margin = MARKS - BLEED  # the band between the BleedBox and the MediaBox, in points
    for x, y in inked:
        assert min(x, y, image.width - 1 - x, image.height - 1 - y) < margin, f"ink at {x},{y} inside the bleed"
    corners = {(x < image.width / 2, y < image.height / 2) for x, y in inked}
    assert len(corners) == 4


def test_the_cover_runs_into_the_bleed_and_not_over_the_marks(mini_press, tmp_path):
    image = _render(mini_press.print_pdf, 1, tmp_path)
    width, height = image.size

    def teal(x: float, y: float) -> bool:
        red, green, blue = image.getpixel((round(x), round(y)))
        return blue > red + 30 and blue < 200

    inner, outer = MARKS - BLEED + 3, MARKS - BLEED - 3  # 1 mm into the bleed; 1 mm outside it
    for x, y, out_x, out_y in ((inner, height / 2, outer, height / 2), (width - inner, height / 2, width - outer,
                               height / 2), (width / 2, inner, width / 2, outer), (width / 2, height - inner,
                               width / 2, height - outer)):
        assert teal(x, y), f"the cover does not reach {x:.0f},{y:.0f} in the bleed"
        assert not teal(out_x, out_y), f"the cover runs past the bleed at {out_x:.0f},{out_y:.0f}"


def test_same_input_same_bytes(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    root = with_images(tmp_path)
    outputs = [tmp_path / "one.pdf", tmp_path / "two.pdf"]
    for out in outputs:
        assert main(["print-pdf", str(root), "-o", str(out), "-q"]) == 0
    assert outputs[0].read_bytes() == outputs[1].read_bytes()


def test_a_styles_folder_without_press_css_is_refused(tmp_path):
    styles = tmp_path / "styles"
    shutil.copytree(ROOT / "styles", styles)
    (styles / "press.css").unlink()
    err = io.StringIO()
    code = main(["print-pdf", str(MINI), "-o", str(tmp_path / "x.pdf"), "--styles", str(styles)], stderr=err)
    assert code == 2
    assert "press.css" in err.getvalue() and not (tmp_path / "x.pdf").exists()


def test_a_css_warning_in_press_css_names_its_line(tmp_path):
    styles = tmp_path / "styles"
    shutil.copytree(ROOT / "styles", styles)
    with (styles / "press.css").open("a", encoding="utf-8") as handle:
        handle.write(".cover { colr: red; }\n")
    line = (styles / "press.css").read_text(encoding="utf-8").count("\n")
    err = io.StringIO()
    assert main(["print-pdf", str(MINI), "-o", str(tmp_path / "x.pdf"), "--styles", str(styles)], stderr=err) == 0
    assert f"{styles}/press.css:{line}: warning: renderer: Ignored `colr: red`" in err.getvalue()


def test_body_start_agrees_with_the_layout(mini_press):
    """`finish` labels pages from render.body_start: in the press layout, the first chapter's page."""
    run = build.Build(mini_press.manuscript, Options(press=True), Diagnostics())
    assert body_start(run.layout(), mini_press.manuscript) == mini_press.dest_page("first")
