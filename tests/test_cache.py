"""The build cache (build_report/cache.py, docs/caching.md): one layout per build, a parse that is
read back instead of redone, epubcheck verdicts reused for the same bytes, and a cache that can
never make a build wrong: any input edit is a miss, and a damaged or foreign entry is ignored."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree as etree

import pytest

from build_report import build, cache, render, validators, writers
from build_report.cli import main
from build_report.diagnostics import Diagnostics, ManuscriptError
from build_report.model import Options
from build_report.writers import epub

ROOT = Path(__file__).resolve().parent.parent
MINI = ROOT / "tests" / "data" / "mini"
STYLES = ROOT / "styles"
EPOCH = "1767225600"


@pytest.fixture
def here(tmp_path: Path, monkeypatch) -> Path:
    """A fresh current folder (so a fresh build/.cache), a copy of the mini manuscript in it, and
    the environment's cache switch cleared."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(cache.ENV_SWITCH, raising=False)
    monkeypatch.delenv(cache.ENV_FOLDER, raising=False)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    shutil.copytree(MINI, tmp_path / "mini")
    return tmp_path


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main([*argv], stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def entries(kind: str = "") -> list[Path]:
    folder = cache.folder()
    return sorted(folder.glob(f"{kind}*.bin")) if folder.is_dir() else []


class Renders:
    """Counts WeasyPrint layouts (render.render), or refuses them."""

    def __init__(self, monkeypatch, refuse: bool = False):
        self.count = 0
        original = render.render

        def counted(*args, **kwargs):
            self.count += 1
            if refuse:
                raise AssertionError("laid out again")
            return original(*args, **kwargs)

        monkeypatch.setattr(render, "render", counted)


def load(root: Path, diagnostics: Diagnostics | None = None, styles: Path | None = None):
    return build.load(root, diagnostics or Diagnostics(), build.Timer(), styles=styles)


def build_pdf(root: Path, out: Path, styles: Path = STYLES) -> Diagnostics:
    """The PDF in one WeasyPrint pass (as `build-report pdf --jobs 1`), with the cache on: the PDF
    writer stores the page map of its layout."""
    diagnostics = Diagnostics()
    with cache.session(deferred=False):
        run_ = build.Build(load(root, diagnostics, styles), Options(styles=styles), diagnostics)
        run_.write(writers.get("pdf"), out)
    return diagnostics


# -- One layout per build: epub and web after pdf ----------------------------------------------------

def test_epub_after_pdf_does_not_lay_out_and_is_the_same_book(here, monkeypatch):
    monkeypatch.setattr(validators, "missing", lambda: validators.NO_JAVA)  # the same book either way; fast
    build_pdf(here / "mini", here / "out/mini.pdf")
    assert entries("pagemap") and entries("parse")
    with pytest.MonkeyPatch.context() as patch:
        renders = Renders(patch, refuse=True)
        code, _, err = run("epub", "mini", "-o", "out/warm.epub", "-v")
    assert code == 0, err
    assert renders.count == 0 and "render" not in err and "paginate" in err
    cold = Renders(monkeypatch)
    assert run("epub", "mini", "-o", "out/cold.epub", "--no-cache")[0] == 0
    assert cold.count == 1
    assert (here / "out/warm.epub").read_bytes() == (here / "out/cold.epub").read_bytes()


def test_the_cached_page_map_is_the_one_laid_out(here, monkeypatch):
    build_pdf(here / "mini", here / "out/mini.pdf")
    with pytest.MonkeyPatch.context() as patch:
        Renders(patch, refuse=True)
        with cache.session(deferred=False):
            warm = build.Build(load(here / "mini"), Options(), Diagnostics()).page_map()
    cold = build.Build(load(here / "mini"), Options(), Diagnostics()).page_map()  # no session: laid out
    assert warm == cold and list(warm.anchors) == list(cold.anchors) and warm.starts


def test_web_after_pdf_does_not_lay_out(here, monkeypatch):
    build_pdf(here / "mini", here / "out/mini.pdf")
    renders = Renders(monkeypatch, refuse=True)
    code, _, err = run("web", "mini", "-o", "out/web", "--no-search")
    assert code == 0, err
    assert renders.count == 0 and (here / "out/web/index.html").is_file()


def test_a_warm_epub_build_does_not_import_weasyprint(here):
    """The EPUB and web writers need WeasyPrint only to lay out: with the page map cached, not at all."""
    env = {name: value for name, value in os.environ.items() if name != cache.ENV_SWITCH}
    env["PATH"] = "/nonexistent"  # no Java, so no epubcheck: this is about the page map
    python = [sys.executable, "-c", "import sys; from build_report.cli import main; code = main(sys.argv[1:]); "
              "print('weasyprint' in sys.modules, 'markdown' in sys.modules); sys.exit(code)"]
    pdf = ("import sys; from pathlib import Path; sys.path.insert(0, sys.argv[1]); import test_cache; "
           "test_cache.build_pdf(Path('mini'), Path('out/mini.pdf'))")  # in a process of its own too: the same code
    first = subprocess.run([sys.executable, "-c", pdf, str(Path(__file__).parent)], env=env, capture_output=True,
                           text=True, cwd=here)
    assert first.returncode == 0, first.stderr
    warm = subprocess.run([*python, "epub", "mini", "-o", "out/mini.epub"], env=env, capture_output=True, text=True,
                          cwd=here)
    assert warm.returncode == 0, warm.stderr
    assert warm.stdout.splitlines()[-1] == "False False"


def test_the_renderers_warnings_are_repeated_from_the_cache(here, monkeypatch):
    css = here / "styles"
    shutil.copytree(STYLES, css)
    with (css / "print.css").open("a", encoding="utf-8") as handle:
        handle.write("\np { colour: red; }\n")
    first = build_pdf(here / "mini", here / "out/mini.pdf", css)
    warned = [str(d) for d in first.items if "renderer" in str(d)]
    assert any("colour" in line for line in warned)
    again = Diagnostics()
    Renders(monkeypatch, refuse=True)
    with cache.session(deferred=False):
        run_ = build.Build(load(here / "mini", again, css), Options(styles=css), again)
        run_.page_map()
    assert [str(d) for d in again.items if "renderer" in str(d)] == warned


def page_map_key(root: Path, styles: Path = STYLES) -> str:
    diagnostics = Diagnostics()
    with cache.session(deferred=False):
        run_ = build.Build(load(root, diagnostics, styles), Options(styles=styles), diagnostics)
        return cache.page_map_key(run_.html(), run_.manuscript.root, styles, False)


def test_what_changes_the_layout_changes_the_page_map_key(here):
    root = here / "mini"
    css = here / "styles"
    shutil.copytree(STYLES, css)
    keys = [page_map_key(root, css)]
    assert page_map_key(root, css) == keys[0]  # the same inputs, the same key
    chapter = root / "chapters/01-first.md"
    chapter.write_text(chapter.read_text(encoding="utf-8").replace("An opening paragraph", "An opening line"),
                       encoding="utf-8")
    keys.append(page_map_key(root, css))
    with (css / "print.css").open("a", encoding="utf-8") as handle:
        handle.write("\nh2 { margin-top: 3em; }\n")
    keys.append(page_map_key(root, css))
    report = root / "report.yaml"
    report.write_text(report.read_text(encoding="utf-8") + "theme: book\n", encoding="utf-8")
    keys.append(page_map_key(root, css))
    image = root / "images/boxes.svg"  # the HTML only links to it: its bytes count
    image.write_text(image.read_text(encoding="utf-8").replace("<svg", "<svg data-edited='1'", 1), encoding="utf-8")
    keys.append(page_map_key(root, css))
    assert len(set(keys)) == len(keys)


def test_an_edited_chapter_is_laid_out_again(here, monkeypatch):
    monkeypatch.setattr(validators, "missing", lambda: validators.NO_JAVA)
    build_pdf(here / "mini", here / "out/mini.pdf")
    chapter = here / "mini/chapters/02-second.md"
    chapter.write_text(chapter.read_text(encoding="utf-8") + "\nOne more paragraph.\n", encoding="utf-8")
    renders = Renders(monkeypatch)
    assert run("epub", "mini", "-o", "out/mini.epub")[0] == 0
    assert renders.count == 1


def test_a_damaged_cache_entry_is_ignored(here, monkeypatch):
    monkeypatch.setattr(validators, "missing", lambda: validators.NO_JAVA)
    build_pdf(here / "mini", here / "out/mini.pdf")
    assert run("epub", "mini", "-o", "out/clean.epub")[0] == 0
    for entry in entries():
        data = entry.read_bytes()
        entry.write_bytes(data[:-7] + b"garbage")  # the payload no longer matches its hash
    renders = Renders(monkeypatch)
    code, _, err = run("epub", "mini", "-o", "out/damaged.epub")
    assert code == 0, err
    assert renders.count == 1
    assert (here / "out/damaged.epub").read_bytes() == (here / "out/clean.epub").read_bytes()
    for entry in entries():
        entry.write_bytes(b"\x00not a cache entry at all")
    assert run("epub", "mini", "-o", "out/again.epub")[0] == 0
    assert (here / "out/again.epub").read_bytes() == (here / "out/clean.epub").read_bytes()


# -- The parse ---------------------------------------------------------------------------------------

def summary(manuscript) -> list:
    return [(c.path, c.id, c.title, c.kind, c.label, c.headings, c.links, c.quotes, c.captions, c.ids,
             c.review_marks, etree.tostring(c.body)) for c in manuscript.chapters] + \
        [manuscript.report, manuscript.places, manuscript.root]


@pytest.fixture
def warned(here) -> Path:
    """The mini manuscript with an include and with warnings (a skipped heading level, a glyph no font has)."""
    root = here / "mini"
    (root / "snippets").mkdir()
    (root / "snippets/contact.md").write_text("Write to the team.\n", encoding="utf-8")
    chapter = root / "chapters/02-second.md"
    chapter.write_text(chapter.read_text(encoding="utf-8")
                       + '\n#### Too deep\n\n--8<-- "snippets/contact.md"\n\nA sign: \u0f00.\n', encoding="utf-8")
    return root


def test_a_second_load_is_the_same_model_with_the_same_warnings(warned, monkeypatch):
    first = Diagnostics()
    with cache.session(deferred=False):
        cold = load(warned, first)
    assert entries("parse")
    lines = [str(d) for d in first.items]
    assert any("skips a level" in line for line in lines), lines
    assert any("no font has a glyph" in line for line in lines), lines

    from build_report import manuscript as manuscript_stage

    monkeypatch.setattr(manuscript_stage, "_read_chapters", lambda *args: pytest.fail("parsed again"))
    again = Diagnostics()
    with cache.session(deferred=False):
        warm = load(warned, again)
    assert [str(d) for d in again.items] == lines
    assert summary(warm) == summary(cold)


def test_strict_fails_on_cached_warnings_as_on_fresh_ones(warned):
    with pytest.raises(ManuscriptError) as fresh:
        load(warned, Diagnostics(strict=True))
    with cache.session(deferred=False):
        load(warned)
        with pytest.raises(ManuscriptError) as cached:
            load(warned, Diagnostics(strict=True))
    assert [str(d) for d in cached.value.diagnostics] == [str(d) for d in fresh.value.diagnostics]


@pytest.mark.parametrize("edit", ["chapter", "include", "places", "report", "image"])
def test_any_input_edit_is_a_fresh_parse(warned, edit):
    with cache.session(deferred=False):
        before = load(warned)
    if edit == "chapter":
        path, old, new = warned / "chapters/01-first.md", "An opening paragraph", "A changed paragraph"
    elif edit == "include":
        path, old, new = warned / "snippets/contact.md", "Write to the team.", "Telephone the team."
    elif edit == "places":
        path, old, new = warned / "places.yaml", "North West", "North East"
    elif edit == "report":
        path, old, new = warned / "report.yaml", "A Small Report", "A Smaller Report"
    else:
        path, old, new = warned / "images/boxes.svg", "<svg", "<svg data-edited='1'"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with cache.session(deferred=False):
        after = load(warned)
    assert len(entries("parse")) == 2
    seen = "\n".join(etree.tostring(c.body, encoding="unicode") for c in after.chapters)
    if edit in ("chapter", "include"):
        assert new in seen and old not in seen
    elif edit == "places":
        assert after.places["ashbury"].region == "North East" != before.places["ashbury"].region
    elif edit == "report":
        assert after.report.title == "A Smaller Report"


def test_an_edit_parses_again_only_the_chapter_edited_and_those_that_include_files(warned, monkeypatch):
    """Chapters are cached one by one too (manuscript._markdown): after an edit, the whole-manuscript
    entry misses, and only the edited chapter's Markdown (and a chapter with an include, whose
    included file is not in its key) is parsed again, with the same model and warnings as a fresh load."""
    from build_report import markdown

    appendix = warned / "chapters/03-appendix.md"  # a warning in a chapter that comes from the cache
    appendix.write_text(appendix.read_text(encoding="utf-8") + "\n#### Too deep as well\n", encoding="utf-8")
    with cache.session(deferred=False):
        load(warned)
    chapter = warned / "chapters/01-first.md"
    chapter.write_text(chapter.read_text(encoding="utf-8").replace("An opening paragraph", "An edited paragraph"),
                       encoding="utf-8")
    parsed: list[str] = []
    original = markdown.parse

    def counted(md, source):
        parsed.append(source)
        return original(md, source)

    monkeypatch.setattr(markdown, "parse", counted)
    warm = Diagnostics()
    with cache.session(deferred=False):
        after = load(warned, warm)
    assert len(parsed) == 2 and "An edited paragraph" in parsed[0] and "8<" in parsed[1]
    assert len(entries("chapter")) == len(after.chapters)  # and the edited one's new entry
    fresh = Diagnostics()
    assert summary(load(warned, fresh)) == summary(after)  # no session: no cache
    assert [str(d) for d in warm.items] == [str(d) for d in fresh.items]
    assert [d.location.path for d in warm.items if "skips a level" in d.message] == \
        ["chapters/02-second.md", "chapters/03-appendix.md"]


def test_an_entry_under_another_key_is_ignored(warned):
    with cache.session(deferred=False):
        load(warned)
    (stored,) = entries("parse")
    chapter = warned / "chapters/01-first.md"
    chapter.write_text(chapter.read_text(encoding="utf-8").replace("An opening paragraph", "Edited"),
                       encoding="utf-8")
    with cache.session(deferred=False):
        key = cache.parse_key(warned.resolve(), None, "view", "build_report.build.check_glyphs")
        planted = cache.folder() / f"parse-{key[:40]}.bin"
        planted.write_bytes(stored.read_bytes())  # an old manuscript under the new files' name
        assert cache.get("parse", key) is None  # its header names the old key
        manuscript = load(warned)
    assert "Edited" in etree.tostring(manuscript.chapters[1].body, encoding="unicode")


def test_nothing_outside_the_manuscript_is_read_for_the_key(here):
    outside = here / "outside.md"
    outside.write_text("secret\n", encoding="utf-8")
    (here / "mini/link.md").symlink_to(outside)
    before = cache.tree_digest(here / "mini")
    outside.write_text("changed secret\n", encoding="utf-8")
    assert cache.tree_digest(here / "mini") == before  # counted by its name only


def test_the_cache_is_off_without_a_session_and_with_no_cache(here):
    load(here / "mini")
    assert not cache.folder().exists()
    assert run("html", "mini", "-o", "out/mini.html", "--no-cache")[0] == 0
    assert not cache.folder().exists()
    assert run("html", "mini", "-o", "out/mini.html")[0] == 0
    assert entries("parse")


def test_the_environment_can_turn_it_off(here, monkeypatch):
    monkeypatch.setenv(cache.ENV_SWITCH, "off")
    assert run("html", "mini", "-o", "out/mini.html")[0] == 0
    assert not cache.folder().exists()


def test_a_failed_run_writes_no_cache(here):
    """build/ stays as it was when a verb fails, even after a parse that succeeded."""
    chapter = here / "mini/chapters/01-first.md"
    chapter.write_text(chapter.read_text(encoding="utf-8") + "\nA {++new++} word.\n", encoding="utf-8")
    code, _, err = run("pdf", "mini", "-o", "out/mini.pdf")
    assert code == 2 and "review mark" in err
    assert not (here / "build").exists()


# -- check-links -----------------------------------------------------------------------------------

def test_a_cached_check_links_imports_no_markdown_and_prints_the_same_warnings(warned, here):
    env = dict(os.environ)
    env.pop(cache.ENV_SWITCH, None)
    command = [sys.executable, "-X", "importtime", "-m", "build_report", "check-links", "mini", "--offline"]
    cold = subprocess.run(command, env=env, capture_output=True, text=True, cwd=here)
    warm = subprocess.run(command, env=env, capture_output=True, text=True, cwd=here)
    assert cold.returncode == warm.returncode == 0, cold.stderr

    def imported(stderr: str) -> set[str]:
        return {line.rpartition("|")[2].strip() for line in stderr.splitlines() if line.startswith("import time:")}

    def messages(stderr: str) -> list[str]:
        return [line for line in stderr.splitlines() if not line.startswith("import time:")]

    assert "markdown" in imported(cold.stderr)
    assert not {"markdown", "weasyprint", "pymdownx", "fontTools.ttLib", "pypdf"} & imported(warm.stderr)
    assert messages(warm.stderr) == messages(cold.stderr) and any("skips a level" in m for m in messages(warm.stderr))


def test_the_built_pdfs_links_are_checked_once_for_the_same_pdf(here, monkeypatch):
    build_pdf(here / "mini", here / "build/a-small-report.pdf")  # where check-links looks for it
    from build_report.links import outputs

    calls = []
    original = outputs.check_pdf_links
    monkeypatch.setattr(outputs, "check_pdf_links", lambda *args: calls.append(args) or original(*args))
    first = run("check-links", "mini", "--offline")
    second = run("check-links", "mini", "--offline")
    assert first == second and first[0] == 0
    assert len(calls) == 1


# -- epubcheck verdicts ------------------------------------------------------------------------------

def test_an_epubcheck_verdict_is_reused_only_for_the_same_bytes(here, monkeypatch):
    monkeypatch.setattr(validators, "missing", lambda: "")
    calls = []

    def fake_run(command, **kwargs):
        calls.append(command)
        assert "-XX:TieredStopAtLevel=1" in command
        report = {"checker": {"checkerVersion": "5.3.0", "nFatal": 0, "nError": 0, "nWarning": 0}, "messages": []}
        return subprocess.CompletedProcess(command, 0, json.dumps(report).encode(), b"")

    monkeypatch.setattr(validators.subprocess, "run", fake_run)
    monkeypatch.setattr(validators, "epubcheck_jar", lambda: here / "mini/report.yaml")  # any file: its identity
    book = here / "book.epub"
    book.write_bytes(b"PK one book")
    with cache.session(deferred=False):
        first = validators.run_epubcheck(book)
        assert validators.run_epubcheck(book) == first and first.passed
        assert len(calls) == 1
        book.write_bytes(b"PK another book")
        validators.run_epubcheck(book)
        assert len(calls) == 2
    validators.run_epubcheck(book)  # no session: always run
    assert len(calls) == 3


def test_a_verdict_not_reached_is_not_kept(here, monkeypatch):
    monkeypatch.setattr(validators, "missing", lambda: "")
    monkeypatch.setattr(validators, "epubcheck_jar", lambda: here / "mini/report.yaml")
    calls = []

    def broken_java(command, **kwargs):
        calls.append(command)
        return subprocess.CompletedProcess(command, 1, b"not json", b"Error: could not start")

    monkeypatch.setattr(validators.subprocess, "run", broken_java)
    book = here / "book.epub"
    book.write_bytes(b"PK")
    with cache.session(deferred=False):
        assert not validators.run_epubcheck(book).ran
        assert not validators.run_epubcheck(book).ran
    assert len(calls) == 2 and not entries("epubcheck")


def test_the_epub_claims_conformance_only_on_a_pass_of_that_package(here, monkeypatch):
    """A cached pass is for the same bytes only: an edited book is checked again."""
    monkeypatch.setattr(validators, "missing", lambda: "")
    monkeypatch.setattr(validators, "epubcheck_jar", lambda: here / "mini/report.yaml")
    verdicts = iter([0, 1])  # the first book passes, the edited one has an error

    def fake_run(command, **kwargs):
        errors = next(verdicts)
        report = {"checker": {"checkerVersion": "5.3.0", "nFatal": 0, "nError": errors, "nWarning": 0},
                  "messages": [{"ID": "RSC-005", "severity": "ERROR", "message": "bad", "locations": []}] * errors}
        return subprocess.CompletedProcess(command, 0, json.dumps(report).encode(), b"")

    monkeypatch.setattr(validators.subprocess, "run", fake_run)
    assert run("epub", "mini", "-o", "out/a.epub")[0] == 0
    assert epub.CONFORMANCE.encode() in _opf(here / "out/a.epub")
    assert run("epub", "mini", "-o", "out/b.epub")[0] == 0  # the same bytes: the verdict is reused
    chapter = here / "mini/chapters/02-second.md"
    chapter.write_text(chapter.read_text(encoding="utf-8") + "\nEdited.\n", encoding="utf-8")
    code, _, err = run("epub", "mini", "-o", "out/c.epub")
    assert code == 0 and "does not claim" in err
    assert epub.CONFORMANCE.encode() not in _opf(here / "out/c.epub")


def _opf(path: Path) -> bytes:
    import zipfile

    with zipfile.ZipFile(path) as book:
        return book.read("EPUB/content.opf")
