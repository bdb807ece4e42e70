"""Whole builds: the self-contained HTML, reproducibility, the Makefile, the sandbox, colours."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import weasyprint
from pypdf import PdfReader

from build_report.cli import main
from conftest import contrast

ROOT = Path(__file__).resolve().parent.parent
MINI = ROOT / "tests" / "data" / "mini"


def test_html_is_self_contained_and_renders_to_the_same_pages(tmp_path: Path, mini) -> None:
    html = tmp_path / "mini.html"
    assert main(["html", str(MINI), "-o", str(html), "-q"]) == 0
    text = html.read_text(encoding="utf-8")
    assert "file:" not in text and "data:font/ttf;base64," in text and "data:image/svg+xml;base64," in text
    # WeasyPrint alone, with no access to any file, lays it out exactly as the build did.
    moved = tmp_path / "elsewhere" / "report.html"
    moved.parent.mkdir()
    shutil.move(html, moved)
    alone = PdfReader(__import__("io").BytesIO(weasyprint.HTML(filename=str(moved)).write_pdf()))
    assert len(alone.pages) == len(mini.reader.pages)
    for ours, theirs in zip(mini.reader.pages, alone.pages, strict=True):
        assert ours.extract_text() == theirs.extract_text()


def test_same_source_date_gives_identical_bytes(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    for name in ("a", "b"):
        assert main(["pdf", str(MINI), "-o", str(tmp_path / f"{name}.pdf"), "-q"]) == 0
    assert (tmp_path / "a.pdf").read_bytes() == (tmp_path / "b.pdf").read_bytes()


def test_build_reads_nothing_outside_the_manuscript(tmp_path: Path) -> None:
    root = tmp_path / "m"
    shutil.copytree(MINI, root)
    secret = tmp_path / "secret.svg"
    secret.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>')
    chapter = root / "chapters" / "02-second.md"
    chapter.write_text(chapter.read_text() + "\n![A secret](../../secret.svg)\n")
    err = __import__("io").StringIO()
    assert main(["pdf", str(root), "-o", str(tmp_path / "x.pdf")], stderr=err) == 2
    assert "chapters/02-second.md:9: error: image '../../secret.svg' is outside the manuscript folder" in err.getvalue()


@pytest.mark.skipif(not shutil.which("make"), reason="make is not installed")
def test_make_pdf_does_no_work_when_nothing_changed(tmp_path: Path) -> None:
    env = {**os.environ, "MAKEFLAGS": ""}
    args = ["make", "-C", str(ROOT), "pdf", f"MANUSCRIPT={MINI}", f"BUILD={tmp_path}"]
    subprocess.run(args, check=True, capture_output=True, env=env)
    assert (tmp_path / "a-small-report.pdf").is_file()
    # -q: exit 0 when the target is up to date, so nothing would run
    assert subprocess.run([*args, "-q"], env=env).returncode == 0
    os.utime(MINI / "chapters" / "02-second.md")
    assert subprocess.run([*args, "-q"], env=env).returncode == 1


def _colours(path: Path) -> dict[str, str]:
    return dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{6})", path.read_text()))


# tokens.css, then each theme's own values over it (styles/themes/<name>.css).
THEMES = sorted((ROOT / "styles" / "themes").glob("*.css"))
TOKENS = {path.stem: _colours(ROOT / "styles" / "tokens.css") | _colours(path) for path in THEMES}


def test_there_are_themes_to_check() -> None:
    assert {"govuk", "book"} <= set(TOKENS)


@pytest.mark.parametrize("theme", sorted(TOKENS))
@pytest.mark.parametrize("text, background", [
    ("ink", "paper"), ("muted", "paper"), ("brand", "paper"), ("accent", "paper"),
    ("ink", "tint"), ("muted", "tint"), ("brand", "tint"), ("accent", "tint"),
    ("ink", "tint-warm"), ("accent", "tint-warm"), ("ink", "stripe"), ("muted", "stripe"),
    ("on-brand", "brand"), ("on-brand", "brand-dark"),
    # the code highlight theme, on the code background
    *[(f"code-{name}", "code-paper") for name in ("ink", "comment", "keyword", "string", "number", "name", "meta")],
    ("accent", "code-paper"),
    # links: text on the backgrounds they appear on; their underline is non-text (3:1, below)
    ("link", "paper"), ("link", "tint"), ("link", "stripe"),
])
def test_token_colours_meet_wcag_aa(theme: str, text: str, background: str) -> None:
    tokens = TOKENS[theme]
    assert contrast(tokens[text], tokens[background]) >= 4.5, (theme, text, background)


@pytest.mark.parametrize("theme", sorted(TOKENS))
@pytest.mark.parametrize("background", ["paper", "tint", "stripe"])
def test_link_underlines_are_visible(theme: str, background: str) -> None:
    """Links are underlined (WCAG 1.4.1, so their colour need not differ from the text's);
    the underline is a graphical object: at least 3:1 against the background (WCAG 1.4.11)."""
    tokens = TOKENS[theme]
    assert contrast(tokens["link-underline"], tokens[background]) >= 3, (theme, background)


def test_pdf_links_match_the_manuscript(mini, sample) -> None:
    from build_report.links.outputs import check_pdf_links

    assert check_pdf_links(mini.path, mini.manuscript) == []
    assert check_pdf_links(sample.path, sample.manuscript) == []
    problems = check_pdf_links(sample.path, mini.manuscript)  # the wrong PDF for this manuscript
    assert any("is not in the manuscript" in p for p in problems)
    assert "the manuscript's link 'https://www.gov.uk/' is missing from the PDF" in " ".join(problems)


def test_numbering_of_chapters_sections_figures_and_tables(tmp_path: Path) -> None:
    from build_report.diagnostics import Diagnostics
    from build_report.manuscript import load

    root = tmp_path / "m"
    shutil.copytree(MINI, root)
    figure = "\n![Two boxes again](../images/boxes.svg \"Again\")\n"
    for name in ("00-summary.md", "02-second.md", "03-appendix.md"):
        with (root / "chapters" / name).open("a") as handle:
            handle.write(figure)
    (root / "chapters" / "00-note.md").write_text("---\nkind: front\n---\n# A note\n" + figure)
    report = root / "report.yaml"
    report.write_text(report.read_text().replace("  - chapters/01-first.md",
                                                 "  - chapters/00-note.md\n  - chapters/01-first.md"))
    manuscript = load(root, Diagnostics())
    numbers = {c.id: ([x.number for x in c.captions], c.label, [h.number for h in c.headings])
               for c in manuscript.chapters}
    assert numbers == {
        "summary": (["1"], "", []),
        "note": (["2"], "", []),  # front matter counts on across front chapters
        "first": (["1.1", "1.1"], "1", ["1.1"]),
        "second": (["2.1"], "2", []),
        "appendix": (["A.1"], "A", ["A.1"]),
    }


def test_css_warnings_point_at_the_styles_file_and_line(tmp_path: Path) -> None:
    styles = tmp_path / "styles"
    shutil.copytree(ROOT / "styles", styles)
    tokens = styles / "tokens.css"
    lines = tokens.read_text().splitlines()
    lines.insert(9, "  colr: red;")  # becomes line 10
    tokens.write_text("\n".join(lines) + "\n")
    with (styles / "print.css").open("a") as handle:
        handle.write("p { font-weight: heavy; }\n")
    bad_line = (styles / "print.css").read_text().count("\n")
    err = __import__("io").StringIO()
    code = main(["pdf", str(MINI), "-o", str(tmp_path / "x.pdf"), "--styles", str(styles)], stderr=err)
    assert code == 0
    assert f"{styles}/tokens.css:10: warning: renderer: Ignored `colr: red`, unknown property." in err.getvalue()
    assert (f"{styles}/print.css:{bad_line}: warning: renderer: Ignored `font-weight: heavy`, invalid value."
            in err.getvalue())
    assert main(["pdf", str(MINI), "-o", str(tmp_path / "y.pdf"), "--styles", str(styles), "--strict"],
                stderr=__import__("io").StringIO()) == 2


@pytest.mark.parametrize("body, expected", [
    ("<details><p>Steps.</p></details>", "<details><summary>Details</summary><p>Steps.</p></details>"),
    ("<details>Lead <p>a</p>b<summary>Why</summary>tail</details>",
     "<details><summary>Why</summary>Lead <p>a</p>btail</details>"),
    ("<details><summary>Kept</summary>x</details>", "<details><summary>Kept</summary>x</details>"),
])
def test_details_open_with_a_summary_in_every_edition(body: str, expected: str) -> None:
    """XHTML (so the EPUB) requires <summary> first in <details>; a README often has none."""
    from xml.etree import ElementTree as etree

    from build_report.assemble import rewrite
    from build_report.model import Chapter

    chapter = Chapter(path="chapters/01.md", id="one", title="One", kind="chapter", label="1",
                      body=etree.fromstring(f"<div>{body}</div>"))
    out = rewrite(chapter, lambda chapter_id, local: "#", str, str)
    assert etree.tostring(out[0], encoding="unicode") == expected
