"""Fonts and glyphs: every character is drawn from a packaged font, SVG text included,
and a character that no font has is a `path:line: warning`."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import weasyprint

from build_report import fonts, glyphs
from build_report.cli import main
from build_report.diagnostics import Diagnostics
from build_report.model import Chapter, Location, Manuscript, Report
from conftest import MINI, Built, pdffonts

OURS = re.compile(r"[A-Z]{6}\+(Source-(Serif|Sans|Code)-Pro|Noto-(Sans|Sans-Symbols|Emoji)|Inter)(-|$)")

SVG = """<svg xmlns="http://www.w3.org/2000/svg" width="240" height="100" viewBox="0 0 240 100">
<title>Labels</title>
<style>.times { font-family: "Times New Roman", Times, serif; }</style>
<text x="10" y="20" font-family="Helvetica, Arial, sans-serif" font-size="14">Helvetica label</text>
<text x="10" y="40" class="times" font-size="14">Times label</text>
<text x="10" y="60" style="font-family: sans-serif; font-weight: bold" font-size="14">Generic sans</text>
<text x="10" y="80" font-family="Courier" font-size="14">Courier label</text>
<text x="10" y="98" font-size="14">No family</text>
</svg>
"""

GLYPHS = """
## Glyphs 🎉 {#glyphs}

Emoji ✅ 🚀 👍🏽 ❤️ and symbols ⚠ → ≤ ≠ ✓ ✗ ★ ½ α Ж, keys <kbd>Ctrl</kbd>+<kbd>C</kbd>, and `code()`.

- level one
    - level two
        - level three

![Labels set in fonts that the report does not have](../images/labels.svg){#fig-labels}
"""


def copy_mini(tmp_path: Path) -> Path:
    root = tmp_path / "manuscript"
    shutil.copytree(MINI, root)
    return root


def append(path: Path, text: str) -> int:
    """Append `text` to a chapter, after a blank line; returns the line number of its first line."""
    old = path.read_text(encoding="utf-8").rstrip("\n")
    path.write_text(old + "\n\n" + text, encoding="utf-8")
    return old.count("\n") + 3


def run(argv: list[str]) -> tuple[int, str]:
    err = io.StringIO()
    code = main(argv, stdout=io.StringIO(), stderr=err)
    return code, err.getvalue()


# -- Coverage ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("char", list("◦▪•✓✗★☆→≤≥≠±½€αΩЖяŁ♪⚠⌘⏎◇🎉✅🚀👍❌💡▶●□"))
def test_common_characters_have_a_packaged_glyph(char):
    assert glyphs.missing(char) == [], glyphs.describe(char)


@pytest.mark.parametrize("char", ["\U00013000", "\u2718", "\u279c"])  # hieroglyph, heavy ballot x, arrow
def test_characters_without_a_glyph_are_found(char):
    assert glyphs.missing(f"a{char}b{char}") == [char]


@pytest.mark.parametrize("char", ["\u00ad", "\u200d", "\ufe0f", "\ufe0e", "\u200b", "\u2060", "\t", "\n", "\u00a0"])
def test_invisible_characters_are_never_reported(char):
    assert glyphs.missing(char) == []


def test_every_stack_ends_with_the_fallbacks():
    tokens = (Path(__file__).parent.parent / "styles" / "tokens.css").read_text(encoding="utf-8")
    # --font-text is the theme's choice of one of these (styles/themes/*.css)
    for name, first in (("serif", fonts.TEXT), ("display", fonts.DISPLAY), ("mono", fonts.MONO)):
        families = re.findall(r'"([^"]+)"', re.search(rf"--font-{name}:\s*([^;]+);", tokens).group(1))
        assert families == [first, *(family for family in fonts.FALLBACKS if family != first)]


def test_face_files_exist_and_lie_in_the_fetchers_folders():
    for face in fonts.faces():
        assert face.path.is_file(), face.path
        assert face.path.parent in fonts.font_dirs()
        assert "[" not in face.file_name


# -- SVG text ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("families, first", [
    ("Helvetica", fonts.DISPLAY), ("Arial, sans-serif", fonts.DISPLAY), ("sans-serif", fonts.DISPLAY),
    ("'Times New Roman', serif", fonts.TEXT), ("Times", fonts.TEXT), ("serif", fonts.TEXT), ("Georgia", fonts.TEXT),
    ("Courier New", fonts.MONO), ("monospace", fonts.MONO), ("Roboto, monospace", fonts.MONO),
    ("Some Unknown Face", fonts.DISPLAY),
])
def test_svg_families_map_to_our_stacks(families, first):
    stack = fonts.stack(families)
    assert stack.split(", ")[0] == first
    assert stack.split(", ")[1:] == [family for family in fonts.FALLBACKS if family != first]


def test_svg_font_families_are_rewritten_everywhere():
    out = fonts.svg_with_our_fonts(SVG)
    values = re.findall(r'font-family(?:="|: )([^";]+)', out)
    assert len(values) == SVG.count("font-family") + 1  # the root gets our sans stack
    assert set(values) == {fonts.stack("serif"), fonts.stack("sans-serif"), fonts.stack("monospace")}
    assert out.startswith(f'<svg font-family="{fonts.stack("sans-serif")}" xmlns=')


# -- Variable fonts in WeasyPrint -------------------------------------------------------------------

def test_variable_fonts_are_shaped_at_the_weight_asked_for(tmp_path):
    """A bold word is wider than a regular one: Pango shaped it with the bold instance."""
    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext (poppler-utils) is not installed")
    css = fonts.font_face_css(lambda path: path.as_uri())
    html = (f"<style>{css} p {{ font: 20pt 'Noto Sans' }}</style>"
            + "".join(f'<p style="font-weight: {w}">Wallpaper</p>' for w in (400, 600, 700)))
    weasyprint.HTML(string=html).write_pdf(tmp_path / "weights.pdf")
    boxes = subprocess.run(["pdftotext", "-bbox", str(tmp_path / "weights.pdf"), "-"],
                           capture_output=True, text=True, check=True).stdout
    widths = [float(b) - float(a) for a, b in re.findall(r'xMin="([\d.]+)" yMin="[\d.]+" xMax="([\d.]+)"', boxes)]
    assert len(widths) == 3 and widths[0] < widths[1] < widths[2], widths
    names = [row["name"].split("+")[1] for row in pdffonts(tmp_path / "weights.pdf")]
    assert names == ["Noto-Sans", "Noto-Sans-Semi-Bold", "Noto-Sans-Bold"]


# -- A whole report ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def glyph_report(tmp_path_factory) -> Built:
    root = copy_mini(tmp_path_factory.mktemp("glyphs"))
    (root / "images" / "labels.svg").write_text(SVG, encoding="utf-8")
    append(root / "chapters" / "01-first.md", GLYPHS)
    return Built(root, root.parent / "glyphs.pdf")


def test_report_uses_only_packaged_fonts(glyph_report):
    rows = pdffonts(glyph_report.path)
    for row in rows:
        assert row["emb"] == "yes" and row["sub"] == "yes", row
        assert OURS.match(row["name"]), f"a font we did not package: {row['name']}"
    names = {row["name"].split("+")[1] for row in rows}
    assert {"Source-Code-Pro", "Noto-Emoji", "Inter"} <= names  # <kbd> and `code` in mono, emoji, ★ from Inter


def test_report_has_no_glyph_or_font_warnings(glyph_report):
    problems = [str(d) for d in glyph_report.diagnostics.items if "glyph" in d.message or "font" in d.message.lower()]
    assert problems == []


def test_report_draws_the_emoji_and_the_svg_text(glyph_report):
    # without spaces: pypdf guesses the spaces of SVG text from the glyph gaps, which depend on its scale
    text = "".join(page.extract_text() for page in glyph_report.reader.pages).replace(" ", "")
    for expected in ("🎉", "✅", "🚀", "Ctrl", "Helvetica label", "Times label", "Courier label", "No family"):
        assert expected.replace(" ", "") in text


def test_missing_glyph_is_a_warning_at_its_first_line(tmp_path):
    root = copy_mini(tmp_path)
    chapter = root / "chapters" / "02-second.md"
    line = append(chapter, "A hieroglyph \U00013000 here.\n\nAnd \U00013000 again.\n")
    code, err = run(["pdf", str(root), "-o", str(tmp_path / "out.pdf")])
    expected = (f"chapters/02-second.md:{line}: warning: no font has a glyph for '\U00013000' "
                "(U+13000 EGYPTIAN HIEROGLYPH A001); it would print as an empty box")
    assert code == 0, err
    assert [line for line in err.splitlines() if "no font has a glyph" in line] == [expected]
    # WeasyPrint's own warning, logged while the PDF is written, is collected too (once).
    assert len([line for line in err.splitlines() if "renderer: .notdef glyph rendered" in line]) == 1, err


def test_missing_glyph_fails_a_strict_build(tmp_path):
    root = copy_mini(tmp_path)
    append(root / "chapters" / "02-second.md", "A hieroglyph \U00013000 here.\n")
    out = tmp_path / "out.pdf"
    code, err = run(["pdf", "--strict", str(root), "-o", str(out)])
    assert code == 2 and "no font has a glyph" in err
    assert not out.exists()


def test_title_and_subtitle_are_checked(tmp_path):
    root = copy_mini(tmp_path)
    report = root / "report.yaml"
    text = report.read_text(encoding="utf-8")
    report.write_text(text.replace("subtitle: For tests", "subtitle: For tests \u2718"), encoding="utf-8")
    line = text.splitlines().index("subtitle: For tests") + 1
    code, err = run(["html", str(root), "-o", str(tmp_path / "out.html")])
    assert code == 0
    assert (f"report.yaml:{line}: warning: no font has a glyph for '\u2718' (U+2718 HEAVY BALLOT X); "
            "it would print as an empty box") in err.splitlines()


def test_glyph_check_finds_characters_in_any_block():
    """Unit test of the walk: lines from data-line, the last known line for blocks without one."""
    from xml.etree import ElementTree as etree

    body = etree.fromstring('<div><p data-line="3">ok <em>\u2718</em></p><table><tr><td>\U00013000</td></tr></table>'
                            '<ul><li data-line="9">\u2718 <a class="footnote-backref">\u279c</a></li></ul></div>')
    manuscript = Manuscript(Path("."), Report(title="T", chapters=[]), {},
                            chapters=[Chapter(path="c.md", id="c", title="T", kind="chapter", body=body)])
    diagnostics = Diagnostics()
    glyphs.check_glyphs(manuscript, diagnostics)
    assert [(d.location, d.message.split("'")[1]) for d in diagnostics.items] == [
        (Location("c.md", 3), "\u2718"), (Location("c.md", 3), "\U00013000")]
