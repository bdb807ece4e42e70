"""The PDF rendered in parts by several processes (parallel.py) and stitched (stitch.py), and its cache.

The parallel PDF must be the single pass's: the same pages with the same text, page labels, outline,
link targets and structure tree (read in tag order), passing the PDF/UA-1 checks. The cache of parts
(build/.cache/parts) must re-render exactly what an edit changes."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
from pathlib import Path

import pikepdf
import pytest
from pypdf import PdfReader

from build_report import build, cache, cli, pdfua, writers
from build_report.diagnostics import Diagnostics
from build_report.model import Options
from conftest import MINI, SAMPLE, Built
from test_pdf import outline
from test_tagging import tag_order_text

ROOT = Path(__file__).resolve().parent.parent


def built(root: Path, out: Path, jobs: int) -> Path:
    """`root` built to `out` by the library (no cache: no session is open)."""
    diagnostics = Diagnostics()
    timer = build.Timer()
    manuscript = build.load(root, diagnostics, timer)
    build.Build(manuscript, Options(jobs=jobs), diagnostics, timer).write(writers.get("pdf"), out)
    assert not diagnostics.errors
    return out


@pytest.fixture(scope="module")
def parallel_sample(tmp_path_factory) -> Path:
    return built(SAMPLE, tmp_path_factory.mktemp("parallel") / "sample.pdf", jobs=2)


def link_targets(reader: PdfReader) -> list[tuple[int, str, int | None]]:
    """(page, where the link goes, the page it lands on) for every link annotation, in page order."""
    names = reader.named_destinations
    found = []
    for index, page in enumerate(reader.pages):
        for annotation in page.get("/Annots") or []:
            annotation = annotation.get_object()
            if "/Dest" in annotation:
                name = str(annotation["/Dest"])
                found.append((index, name, reader.get_destination_page_number(names[name]) if name in names else None))
            else:
                found.append((index, str(annotation["/A"].get("/URI")), None))
    return found


# -- Equivalence -------------------------------------------------------------------------------

def test_the_parallel_pdf_is_the_single_pass_pdf(sample: Built, parallel_sample: Path) -> None:
    single, parallel = sample.reader, PdfReader(parallel_sample)
    assert len(parallel.pages) == len(single.pages) == 84
    for index, (one, other) in enumerate(zip(single.pages, parallel.pages, strict=True)):
        assert other.extract_text() == one.extract_text(), f"page {index + 1}"
    assert parallel.page_labels == single.page_labels
    assert dict(parallel.metadata) == dict(single.metadata)
    assert parallel.xmp_metadata.dc_title == single.xmp_metadata.dc_title
    assert outline(parallel) == outline(single)
    assert link_targets(parallel) == link_targets(single)
    assert all(target is not None for _, name, target in link_targets(parallel) if not name.startswith("http"))
    assert sorted(parallel.named_destinations) == sorted(single.named_destinations)
    assert tag_order_text(parallel_sample) == tag_order_text(sample.path)
    # The first chapter opens on a right-hand page after a blank one, left by WeasyPrint after a lead page
    # (parallel.Item.lead) that stitch.drop_first_page removed.
    first = parallel.page_labels.index("1")
    assert first % 2 == 0 and parallel.pages[first - 1].extract_text().strip() == ""


def test_the_parallel_pdf_passes_the_pdfua_checks_and_claims_pdfua(parallel_sample: Path) -> None:
    assert pdfua.check(parallel_sample).failed == []
    with pikepdf.open(parallel_sample) as pdf:
        with pdf.open_metadata() as metadata:
            assert metadata.get("pdfuaid:part") == "1"
        assert bool(pdf.Root.MarkInfo.Marked) and str(pdf.Root.Lang) == "en-GB"
        assert bool(pdf.Root.ViewerPreferences.DisplayDocTitle)


def test_one_structure_tree_with_one_document_and_unique_ids(parallel_sample: Path) -> None:
    with pikepdf.open(parallel_sample) as pdf:
        root = pdf.Root.StructTreeRoot
        (document,) = root.K
        assert document.S == "/Document"
        (body,) = document.K  # the parts' bodies are one Div, as in the single pass
        assert body.S == "/Div" and len(body.K) == 17  # cover, imprint, contents, 14 chapters and appendices
        names = root.IDTree.Names
        ids = [bytes(names[i]) for i in range(0, len(names), 2)]
        assert len(ids) == len(set(ids)) and ids == sorted(ids)
        keys = [int(page.StructParents) for page in pdf.pages]
        assert len(set(keys)) == len(keys) and int(root.ParentTreeNextKey) > max(keys)


def test_each_font_is_embedded_once(sample: Built, parallel_sample: Path) -> None:
    """WeasyPrint subsets each font per part; the stitched file has one program per font, like one pass."""
    def programs(path: Path) -> dict[str, int]:
        with pikepdf.open(path) as pdf:
            found: dict[str, set] = {}
            for obj in pdf.objects:
                if isinstance(obj, pikepdf.Dictionary) and obj.get("/Type") == "/FontDescriptor":
                    found.setdefault(str(obj.FontName), set()).add(obj.FontFile2.objgen)
            return {name: len(files) for name, files in found.items()}

    single, parallel = programs(sample.path), programs(parallel_sample)
    assert set(parallel) == set(single)
    assert all(count == 1 for count in parallel.values()), parallel
    assert parallel_sample.stat().st_size < sample.path.stat().st_size * 1.05


def test_the_parallel_build_is_deterministic(tmp_path: Path) -> None:
    """The same bytes whatever the number of processes, and so whatever order the parts finish in."""
    two = built(MINI, tmp_path / "two.pdf", jobs=2).read_bytes()
    three = built(MINI, tmp_path / "three.pdf", jobs=3).read_bytes()
    assert two == three
    single = PdfReader(built(MINI, tmp_path / "one.pdf", jobs=1))
    parallel = PdfReader(io.BytesIO(two))
    assert [p.extract_text() for p in parallel.pages] == [p.extract_text() for p in single.pages]
    assert link_targets(parallel) == link_targets(single)


# -- The command line and the cache ---------------------------------------------------------------

def run(args: list[str]) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(args, stdout=out, stderr=err)
    return code, err.getvalue()


def parts_line(err: str) -> tuple[int, int, int]:
    """(parts, rendered, from the cache) from the -v line of a parallel build."""
    match = re.search(r"parallel +(\d+) parts: (\d+) rendered in \d+ passes, (\d+) from the cache", err)
    assert match, err
    return int(match.group(1)), int(match.group(2)), int(match.group(3))


def rendered_parts(err: str) -> list[str]:
    match = re.search(r"parallel +rendered: (.*)", err)
    return match.group(1).split(", ") if match else []


@pytest.fixture
def project(tmp_path: Path, monkeypatch) -> Path:
    """A copy of the small manuscript and of the styles, built from tmp_path (so build/.cache is its own)."""
    shutil.copytree(MINI, tmp_path / "mini")
    shutil.copytree(ROOT / "styles", tmp_path / "styles")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(cache.ENV_FOLDER, raising=False)
    return tmp_path


def build_pdf(out: str = "out.pdf", *extra: str) -> tuple[str, bytes]:
    code, err = run(["pdf", "mini", "--styles", "styles", "-o", out, "--jobs", "2", "-v", *extra])
    assert code == 0, err
    return err, Path(out).read_bytes()


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_a_second_build_takes_every_part_from_the_cache(project: Path) -> None:
    err, first = build_pdf()
    assert parts_line(err) == (6, 6, 0)
    assert "measured first" in err  # a cold build measures the parts before it renders them
    assert sorted(path.suffix for path in (project / "build/.cache/parts").glob("*.pdf")) == [".pdf"] * 6
    err, second = build_pdf()
    assert parts_line(err) == (6, 0, 6) and rendered_parts(err) == []
    assert second == first


def test_an_edited_chapter_is_the_only_part_rendered_again(project: Path) -> None:
    build_pdf()
    edit(project / "mini/chapters/02-second.md", "things changed.", "things had changed.")
    err, edited = build_pdf()
    assert rendered_parts(err) == ["second"]
    assert parts_line(err) == (6, 1, 5)
    assert any("things had changed." in page.extract_text() for page in PdfReader(io.BytesIO(edited)).pages)
    # The PDF/UA-1 checks took the unchanged parts' pages from the last check (pdfua.PageMemo)...
    walked = json.loads(next((project / "build/.cache/parts").glob("walked-*.json")).read_text())
    assert len(walked) >= len(PdfReader(io.BytesIO(edited)).pages) // 2
    # ... and the result is the cold build's, PDF/UA-1 claim included.
    _, cold = build_pdf("cold.pdf", "--no-cache")
    assert edited == cold and pdfua.check(io.BytesIO(edited)).failed == []


def test_an_edited_stylesheet_renders_every_part_again(project: Path) -> None:
    build_pdf()
    edit(project / "styles/print.css", "orphans: 3;", "orphans: 2;")
    err, _ = build_pdf()
    assert parts_line(err) == (6, 6, 0)


def test_a_longer_chapter_moves_the_page_numbers_after_it(project: Path) -> None:
    """The second chapter grows by pages: the parts after it get new folios, those that print its
    pages or later ones (the contents, the summary's cross-references, the places appendix) new
    numbers; the first chapter, which refers to nothing after it, is taken from the cache."""
    def appendix_label(data: bytes) -> str:
        reader = PdfReader(io.BytesIO(data))
        return reader.page_labels[reader.get_destination_page_number(reader.named_destinations["appendix"])]

    _, before = build_pdf()
    paragraphs = "\n\n".join(f"Another paragraph, number {n}, to make the second chapter longer than it was, "
                             "so that every chapter after it starts on a later page." for n in range(40))
    edit(project / "mini/chapters/02-second.md", "things changed.", "things changed.\n\n" + paragraphs)
    err, after = build_pdf()
    assert rendered_parts(err) == ["opening", "summary", "second", "appendix", "places-quoted"]
    label = appendix_label(after)
    assert int(label) > int(appendix_label(before))
    reader = PdfReader(io.BytesIO(after))
    start = reader.get_destination_page_number(reader.named_destinations["appendix"])
    assert reader.pages[start + 1].extract_text().split()[-1] == str(int(label) + 1)  # the folio of its next page
    contents = reader.pages[reader.get_destination_page_number(reader.named_destinations["contents"])].extract_text()
    assert re.search(rf"Method[ .]*{label}\b", contents), contents
    _, cold = build_pdf("cold.pdf", "--no-cache")
    assert after == cold


def test_a_font_package_upgrade_renders_every_part_again(project: Path, monkeypatch) -> None:
    build_pdf()
    stamp = cache.stamp()
    monkeypatch.setattr(cache, "stamp", lambda: stamp + " with other font files")  # the fonts' hashes are in it
    err, _ = build_pdf()
    assert parts_line(err) == (6, 6, 0)


def test_an_edited_image_renders_the_chapter_that_shows_it(project: Path) -> None:
    build_pdf()
    edit(project / "mini/images/boxes.svg", "</svg>", "<!-- edited --></svg>")
    err, _ = build_pdf()
    assert rendered_parts(err) == ["first"]


def test_a_damaged_cache_entry_is_rendered_again_without_an_error(project: Path) -> None:
    _, first = build_pdf()
    entries = sorted((project / "build/.cache/parts").glob("*.pdf"))
    entries[0].write_bytes(b"%PDF-1.7 not really")
    entries[1].with_suffix(".json").write_text("{\"pages\": ", encoding="utf-8")
    for program in (project / "build/.cache/parts").glob("font-*.bin"):  # merged fonts (stitch.merge_fonts)
        program.write_bytes(program.read_bytes()[:-100])
    memo = next((project / "build/.cache/parts").glob("memo-*.json"))
    err, second = build_pdf()
    assert "error" not in err and "Traceback" not in err
    assert parts_line(err) == (6, 2, 4)
    assert second == first
    memo.write_text("not json", encoding="utf-8")  # a lost memo: the build measures again
    err, third = build_pdf()
    assert "measured first" in err and third == first


# -- When the parts cannot be rendered apart ----------------------------------------------------------

def test_styles_that_count_every_page_are_rendered_in_one_pass(project: Path) -> None:
    with (project / "styles/print.css").open("a", encoding="utf-8") as handle:
        handle.write("\n@page { @bottom-center { content: counter(page) ' of ' counter(pages); } }\n")
    err, data = build_pdf()
    assert "one pass: the styles use counter(pages)" in err
    assert "of 9" in PdfReader(io.BytesIO(data)).pages[5].extract_text()


def test_jobs_1_is_the_single_pass(project: Path) -> None:
    code, err = run(["pdf", "mini", "--styles", "styles", "-o", "one.pdf", "--jobs", "1", "-v"])
    assert code == 0 and "parallel" not in err and "render" in err
    code, err = run(["pdf", "mini", "--jobs", "0"])
    assert code == 2 and "must be 1 or more" in err


def test_a_draft_is_rendered_in_parts_too(project: Path, monkeypatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    code, err = run(["draft", "mini", "--styles", "styles", "-o", "draft.pdf", "--jobs", "2", "-v"])
    assert code == 0, err
    assert parts_line(err)[0] == 6
    assert pdfua.check(project / "draft.pdf").failed == []
    reader = PdfReader(project / "draft.pdf")
    assert all("DRAFT" in page.extract_text() for page in reader.pages[1:])


# -- One layout per build: the page map comes from the parts -----------------------------------------

def test_the_parallel_build_keeps_the_single_pass_page_map(project: Path, monkeypatch) -> None:
    """The page map the EPUB and the web edition use is assembled from the parts' layouts, equal to
    the one the single pass's layout gives, so that `epub` after `pdf --jobs 2` lays out nothing."""
    from test_cache import Renders

    build_pdf()
    with cache.session(deferred=False):
        manuscript = build.load(project / "mini", Diagnostics(), build.Timer(), styles=project / "styles")
        with pytest.MonkeyPatch.context() as patch:
            Renders(patch, refuse=True)
            warm = build.Build(manuscript, Options(styles=project / "styles"), Diagnostics()).page_map()
    cold = build.Build(manuscript, Options(styles=project / "styles"), Diagnostics()).page_map()  # laid out
    assert warm.anchors == cold.anchors, set(warm.anchors.items()) ^ set(cold.anchors.items())
    assert warm == cold and list(warm.anchors) == list(cold.anchors)
    assert len(warm.starts) > 5 and warm.skipped
    renders = Renders(monkeypatch, refuse=True)
    code, err = run(["epub", "mini", "--styles", "styles", "-o", "out.epub", "-v"])
    assert code == 0, err
    assert renders.count == 0 and "render" not in err


def test_a_draft_rebuilt_later_takes_its_parts_from_the_cache(project: Path, monkeypatch) -> None:
    """The draft stamp is the text's time, not the clock's: a rebuild in a later minute changes nothing."""
    import datetime as dt

    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    argv = ["draft", "mini", "--styles", "styles", "-o", "draft.pdf", "--jobs", "2", "-v"]
    code, err = run(argv)
    assert code == 0, err
    first = (project / "draft.pdf").read_bytes()

    class Later(dt.datetime):  # an hour later, as the clock would say
        @classmethod
        def now(cls, tz=None):
            return dt.datetime.fromtimestamp(dt.datetime.now(tz).timestamp() + 3600, tz)

    monkeypatch.setattr(dt, "datetime", Later)
    code, err = run(argv)
    assert code == 0, err
    assert parts_line(err) == (6, 0, 6) and (project / "draft.pdf").read_bytes() == first


def test_the_parts_walk_their_own_pages_for_the_pdfua_checks(tmp_path: Path, monkeypatch) -> None:
    """Each worker walks its part's pages (pdfua.PageMemo), so the check of the stitched file, in the
    parent, walks only the pages the memo does not keep (those painting Form XObjects: SVG figures)."""
    walked: list[int] = []
    original = pdfua._ContentWalk._recall

    def recall(self, digest, page, number):
        found = original(self, digest, page, number)
        if not found and os.getpid() == parent:
            walked.append(number)
        return found

    parent = os.getpid()
    monkeypatch.setattr(pdfua._ContentWalk, "_recall", recall)
    out = built(MINI, tmp_path / "mini.pdf", jobs=2)
    pages = len(PdfReader(out).pages)
    assert pdfua.check(out).failed == []
    assert len(walked) <= pages // 3, (walked, pages)
