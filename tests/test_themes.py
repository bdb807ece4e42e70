"""Themes (styles/themes/<name>.css): the GOV.UK default and `theme: book`.

GOV.UK's "Publishing accessible documents": body text at least 12pt in a sans serif,
left-aligned, no automatic hyphenation, links not told apart by colour alone. The
book theme keeps the typeset look (serif, 10.5pt, justified, hyphenated) but its links
are underlined too. Checked on the PDF itself: its fonts and text sizes (pypdf's text
matrix), its extracted text, and its pixels (pdftoppm) under each link.
"""

from __future__ import annotations

import collections
import io
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfReader

from build_report import themes
from build_report.cli import main
from build_report.model import Options
from conftest import MINI, ROOT, Built

STYLES = ROOT / "styles"


def _in_book_theme(source: Path, folder: Path) -> Built:
    root = folder / source.name
    shutil.copytree(source, root)
    report = root / "report.yaml"
    report.write_text(report.read_text().replace("language: en-GB", "language: en-GB\ntheme: book"))
    return Built(root, folder / "book.pdf")


@pytest.fixture(scope="module")
def book(tmp_path_factory) -> Built:
    """The small manuscript in `theme: book`."""
    return _in_book_theme(MINI, tmp_path_factory.mktemp("book"))


@pytest.fixture(scope="module")
def book_sample(tmp_path_factory) -> Built:
    """The sample report in `theme: book` (the small one has too little text to hyphenate)."""
    return _in_book_theme(ROOT / "manuscript", tmp_path_factory.mktemp("book-sample"))


def text_runs(reader: PdfReader) -> collections.Counter:
    """Characters of text by (font size in pt, font name without its subset tag)."""
    runs: collections.Counter = collections.Counter()
    for page in reader.pages:
        def visit(text, cm, tm, font, size):
            if text.strip():
                name = str((font or {}).get("/BaseFont", "?")).split("+")[-1]
                runs[(round(size * tm[3] * (cm[3] or 1), 2), name)] += len(text.strip())
        page.extract_text(visitor_text=visit)
    return runs


def body_font(reader: PdfReader) -> tuple[float, str]:
    """The size and font of most of the text."""
    return text_runs(reader).most_common(1)[0][0]


def test_the_default_theme_is_govuk() -> None:
    assert themes.DEFAULT == "govuk"
    assert {"govuk", "book"} <= set(themes.available())


def test_default_body_text_is_sans_and_12pt(mini, sample) -> None:
    assert body_font(sample.reader) == (12, "Source-Sans-Pro")
    for built in (mini, sample):
        assert not any("Serif" in name for (_, name) in text_runs(built.reader)), "a serif font in the default theme"


def test_book_body_text_is_serif_10_5pt(book_sample) -> None:
    assert body_font(book_sample.reader) == (10.5, "Source-Serif-Pro")


def _broken_words(built: Built) -> list[str]:
    """Words split across two lines by a hyphen the manuscript does not have (automatic hyphenation)."""
    source = " ".join(p.read_text() for p in (built.manuscript.root / "chapters").glob("*.md"))
    source = re.sub(r"\s+", " ", source)
    broken = []
    for page in built.reader.pages[2:]:
        lines = page.extract_text().splitlines()
        for line, following in zip(lines, lines[1:], strict=False):
            start = re.search(r"(\w+)-$", line.rstrip())
            end = re.match(r"\s*([a-z]\w*)", following)
            if start and end and f"{start.group(1)}-{end.group(1)}" not in source:
                broken.append(f"{start.group(1)}-/{end.group(1)}")
    return broken


def test_default_theme_never_hyphenates_automatically(mini, sample) -> None:
    assert _broken_words(mini) == []
    assert _broken_words(sample) == []


def test_book_theme_hyphenates(book_sample) -> None:
    """The check above finds automatic hyphenation where there is some."""
    assert _broken_words(book_sample), "the book theme should hyphenate (else the check above proves nothing)"


def _underlined(png: Image.Image, box: tuple[float, float, float, float]) -> bool:
    """Whether a row of pixels in the lower half of `box` (or just below it) is dark across 90% of it."""
    x0, y0, x1, y1 = (round(v) for v in box)
    grey = png.convert("L")
    for y in range((y0 + y1) // 2, min(y1 + 3, png.height)):
        row = [grey.getpixel((x, y)) for x in range(x0 + 1, x1 - 1)]
        if row and sum(value < 160 for value in row) >= 0.9 * len(row):
            return True
    return False


def _link_boxes(built: Built, dpi: int) -> list[tuple[int, tuple[float, float, float, float], str]]:
    """(page index, pixel box, target) of every link after the contents pages."""
    contents = built.dest_page("contents") if "contents" in built.reader.named_destinations else 2
    scale = dpi / 72
    boxes = []
    for index, page in enumerate(built.reader.pages):
        if index <= contents:
            continue
        height = float(page.mediabox.height)
        for annotation in page.get("/Annots") or []:
            annotation = annotation.get_object()
            if annotation.get("/Subtype") != "/Link":
                continue
            rect = [float(v) for v in annotation["/Rect"]]
            (x0, x1), (y0, y1) = sorted(rect[0::2]), sorted(rect[1::2])
            target = str(annotation.get("/A", {}).get("/URI", "") or annotation.get("/Dest", "") or "internal")
            boxes.append((index, (x0 * scale, (height - y1) * scale, x1 * scale, (height - y0) * scale), target))
    return boxes


@pytest.mark.skipif(not shutil.which("pdftoppm"), reason="pdftoppm (poppler-utils) is not installed")
@pytest.mark.parametrize("theme", ["govuk", "book"])
def test_links_in_the_text_are_underlined(theme, mini, book) -> None:
    built = mini if theme == "govuk" else book
    dpi = 150
    boxes = _link_boxes(built, dpi)
    targets = {target for _, _, target in boxes}
    assert "https://www.gov.uk/" in targets and "mailto:team@example.org" in targets
    assert any(not t.startswith(("http", "mailto")) for t in targets), "no cross-reference found"
    pages: dict[int, Image.Image] = {}
    missing = []
    for index, box, target in boxes:
        if index not in pages:
            png = subprocess.run(["pdftoppm", "-png", "-r", str(dpi), "-f", str(index + 1), "-l", str(index + 1),
                                  str(built.path)], capture_output=True, check=True).stdout
            pages[index] = Image.open(io.BytesIO(png))
        if not _underlined(pages[index], box):
            missing.append(f"page {index + 1}: {target}")
    assert missing == []


def test_the_print_html_underlines_links(tmp_path: Path) -> None:
    out = tmp_path / "mini.html"
    assert main(["html", str(MINI), "-o", str(out), "-q"]) == 0
    css = out.read_text(encoding="utf-8")
    assert re.search(r"a\[href\] \{[^}]*text-decoration: underline", css)
    assert "/* themes/govuk.css */" in css


def test_every_theme_sets_every_theme_token() -> None:
    """A theme missing a token would leave print.css with an invalid value: each sets what govuk sets."""
    def names(path: Path) -> set[str]:
        return set(re.findall(r"(--[\w-]+)\s*:", path.read_text()))

    wanted = names(STYLES / "themes" / "govuk.css")
    for theme in themes.available():
        assert wanted <= names(STYLES / "themes" / f"{theme}.css") | names(STYLES / "tokens.css"), theme


def _token(path: Path, name: str) -> str:
    value = themes.token(path, name)
    assert value is not None, (path, name)
    return value


@pytest.mark.parametrize("theme", themes.available())
def test_theme_meets_the_accessibility_rules(theme: str) -> None:
    """govuk meets every rule; book every rule but the font size and the alignment."""
    path = STYLES / "themes" / f"{theme}.css"
    assert 1.4 <= float(_token(path, "leading")) <= 1.5
    assert _token(path, "hyphens") in ({"manual", "none"} if theme != "book" else {"auto"})
    if theme != "book":
        assert float(_token(path, "size-text").removesuffix("pt")) >= 12
        assert _token(path, "text-align") in {"left", "start"}
        assert "sans" in _token(path, "font-text").lower() or _token(path, "font-text") == "var(--font-display)"


def test_a_theme_missing_from_the_styles_folder_is_an_error(tmp_path: Path) -> None:
    styles = tmp_path / "styles"
    shutil.copytree(STYLES, styles)
    (styles / "themes" / "govuk.css").unlink()
    err = io.StringIO()
    assert main(["html", str(MINI), "-o", str(tmp_path / "x.html"), "--styles", str(styles)], stderr=err) == 2
    assert f"build-report: error: theme 'govuk': the styles folder {styles} has no themes/govuk.css" in err.getvalue()
    assert not (tmp_path / "x.html").exists()


def styles_with_theme(tmp_path: Path, name: str) -> Path:
    """A copy of the styles folder with theme `name`: govuk's tokens, with 14pt body text."""
    styles = tmp_path / "styles"
    shutil.copytree(STYLES, styles)
    own = (styles / "themes" / "govuk.css").read_text().replace("--size-text: 12pt;", "--size-text: 14pt;")
    (styles / "themes" / f"{name}.css").write_text(own)
    return styles


def test_an_organisation_theme_is_a_file_in_styles_themes(tmp_path: Path) -> None:
    styles = styles_with_theme(tmp_path, "govuk")
    root = tmp_path / "m"
    shutil.copytree(MINI, root)
    built = Built(root, tmp_path / "own.pdf", Options(styles=styles))
    assert (14, "Source-Sans-Pro") in text_runs(built.reader)


# -- Labels in the markup, not in CSS `content:` (WCAG F87) ------------------------------------

# Generated text that may stay in CSS: page numbers of cross-references (known only after
# layout; the EPUB has a page-list instead) and the review marks of drafts.
ALLOWED_CONTENT_TEXT = {'" (page\\00a0"', '"\\00a0(p.\\00a0"', '"C"'}


def test_no_label_text_in_css_content() -> None:
    found = set()
    for path in [*STYLES.glob("*.css"), *STYLES.glob("themes/*.css")]:
        for value in re.findall(r"content:([^;}]*)", path.read_text()):
            found |= {s for s in re.findall(r'"[^"]*"', value) if re.search(r"[A-Za-z]", s)}
    assert found <= ALLOWED_CONTENT_TEXT


def test_region_label_is_in_the_text(mini) -> None:
    text = "\n".join(page.extract_text() for page in mini.reader.pages)
    assert "Region: North West" in text


def test_a_theme_only_in_the_styles_folder_of_the_build_can_be_chosen(tmp_path: Path) -> None:
    """`theme: org` is checked against the --styles folder the build uses, not the repository's."""
    styles = styles_with_theme(tmp_path, "org")
    root = tmp_path / "m"
    shutil.copytree(MINI, root)
    (root / "report.yaml").write_text((root / "report.yaml").read_text() + "theme: org\n")
    err = io.StringIO()
    out = tmp_path / "org.pdf"
    assert main(["pdf", str(root), "-o", str(out), "--styles", str(styles)], stderr=err) == 0, err.getvalue()
    assert main(["pdf", str(root), "-o", str(tmp_path / "x.pdf")], stderr=err) == 2  # not a theme of styles/
    assert "report.yaml:14: error: unknown theme 'org'" in err.getvalue()

    assert (14, "Source-Sans-Pro") in text_runs(PdfReader(out))
