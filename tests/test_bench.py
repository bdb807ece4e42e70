"""The build benchmark's own logic (bench/generate.py, bench/run.py) on tiny inputs; nothing here is timed."""

from __future__ import annotations

import importlib.util
import io
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

from build_report.cli import main

BENCH = Path(__file__).resolve().parent.parent / "bench"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


generate = _load("generate")
run = _load("run")


def _files(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): p.read_text("utf-8") for p in sorted(root.rglob("*.md"))} | {
        "report.yaml": (root / "report.yaml").read_text("utf-8")}


def test_generate_is_deterministic(tmp_path: Path) -> None:
    a = generate.generate(12, tmp_path / "a", seed=3, links=30)
    b = generate.generate(12, tmp_path / "b", seed=3, links=30)
    c = generate.generate(12, tmp_path / "c", seed=4, links=30)
    assert _files(a.root) == _files(b.root)
    assert _files(a.root) != _files(c.root)
    assert (a.words, a.links, a.chapters) == (b.words, b.links, b.chapters)


def test_generated_manuscript_has_every_feature_and_builds_without_warnings(tmp_path: Path) -> None:
    made = generate.generate(12, tmp_path / "m", links=25, link_base="http://127.0.0.1:9/")
    chapters = [(made.root / "chapters" / name).read_text("utf-8") for name in made.chapters]
    text = "\n".join(chapters)
    assert made.chapters[0] == "00-foreword.md" and "kind: front" in chapters[0]
    assert "kind: appendix" in chapters[-1]
    assert len(re.findall(r"\]\(http://127\.0\.0\.1:9/", text)) == made.links == 25
    for body in chapters[1:-1]:
        assert "\n## " in body and "\n- " in body and "\nTable: " in body and "\n> — " in body
        assert re.search(r"\[\]\(\d\d-chapter-\d+\.md#c\d+-s\d\)", body)  # a cross-reference
    assert "[^n1]:" in text and "![" in text and "!!! box" in text
    out, err = io.StringIO(), io.StringIO()
    code = main(["html", str(made.root), "-o", str(tmp_path / "m.html"), "--strict"], stdout=out, stderr=err)
    assert code == 0, err.getvalue()
    assert "warning" not in err.getvalue()


def test_more_pages_more_words(tmp_path: Path) -> None:
    small = generate.generate(10, tmp_path / "s")
    large = generate.generate(40, tmp_path / "l")
    assert large.words > 3 * small.words
    assert large.links == 40 * generate.LINKS_PER_PAGE
    assert abs(small.words - (10 - generate.FIXED_PAGES) * generate.WORDS_PER_PAGE) < 0.35 * small.words


def test_edit_one_chapter_appends_to_the_middle_chapter_only(tmp_path: Path) -> None:
    made = generate.generate(10, tmp_path / "m")
    before = _files(made.root)
    edited = generate.edit_one_chapter(made.root)
    after = _files(made.root)
    middle = f"chapters/{made.chapters[len(made.chapters) // 2]}"
    assert edited == made.root / middle
    assert [k for k in before if before[k] != after[k]] == [middle]
    assert after[middle].startswith(before[middle]) and len(after[middle]) > len(before[middle]) + 100


def _measure(median: float, pages: int | None = None, peak: float = 100.0, **extra) -> dict:
    return {"seconds": [median], "median": median, "peak_mib": peak, "pages": pages,
            "s_per_page": round(median / pages, 4) if pages else None, **extra}


def _results() -> dict:
    return {
        "50": {"measures": {"pdf_cold": _measure(5.0, 50), "weasyprint_raw": _measure(4.0, 50)}},
        "200": {"measures": {
            "pdf_cold": _measure(20.0, 200, peak=400), "pdf_edited": _measure(7.0, 200),
            "pdf_unchanged": _measure(1.0, 200), "epub_after_pdf": _measure(8.0),
            "weasyprint_raw": _measure(40.0, 200), "pandoc_epub": _measure(0.5),
            "pandoc_weasyprint": _measure(10.0, 180)}},
        "500": {"measures": {"pdf_cold": _measure(65.0, 500, peak=1100),
                             "check_links": _measure(0.25, links=1000)}},
    }


def test_ratios_and_verdicts() -> None:
    ratios = run.compute_ratios(_results())
    assert ratios["cold_vs_raw@200"] == 0.5
    assert ratios["cold_vs_raw@50"] == 1.25
    assert ratios["edited_vs_cold@200"] == 0.35
    assert ratios["unchanged_vs_cold@200"] == 0.05
    assert ratios["epub_vs_cold@200"] == 0.4
    assert ratios["epub_vs_pandoc_epub@200"] == 16.0
    assert ratios["per_page_500_vs_50"] == 1.3
    assert ratios["peak_mib_500"] == 1100
    assert ratios["check_links_cached_s"] == 0.25
    assert "edited_vs_cold@50" not in ratios  # not measured: left out, not zero
    verdict = {v["key"]: v["verdict"] for v in run.verdicts(ratios)}
    assert verdict == {
        "cold_vs_raw@200": "PASS",
        "edited_vs_cold@200": "PASS",  # "at most": the bound itself passes
        "epub_vs_cold@200": "MISS",
        "check_links_cached_s": "PASS",
        "per_page_500_vs_50": "PASS",
        "peak_mib_500": "MISS",
    }


def test_strict_bounds_and_missing_inputs() -> None:
    target = run.Target("x", "x", 0.3, strict=True)
    assert (target.verdict(0.3), target.verdict(0.29), target.verdict(None)) == ("MISS", "PASS", "not measured")
    results = _results()
    results["500"]["measures"]["check_links"]["links"] = 100  # the target is about 1,000 links
    del results["50"]
    ratios = run.compute_ratios(results)
    assert "check_links_cached_s" not in ratios and "per_page_500_vs_50" not in ratios
    verdict = {v["key"]: v["verdict"] for v in run.verdicts(ratios)}
    assert verdict["check_links_cached_s"] == verdict["per_page_500_vs_50"] == "not measured"


def test_tables_show_measures_ratios_and_verdicts() -> None:
    sizes = {size: {"measures": m["measures"]} for size, m in _results().items()}
    ratios = run.compute_ratios(sizes)
    table = run.tables({"sizes": sizes, "ratios": ratios, "targets": run.verdicts(ratios)})
    assert "| 200 p. | pdf_cold | 1 | 20.00 | 200 | 0.100 | 400 |" in table
    assert "| 500 p. | check_links (1,000 links) | 1 | 0.25 |" in table
    assert "| cold_vs_raw | 1.25 | 0.50 | – |" in table
    assert re.search(r"\| `epub` after `pdf` .* \| <= 0.35 \| 0.40 \| MISS \|", table)


def test_plans() -> None:
    assert run.plan_for("500", run.SIZES, full=False) == ("cold", "links")
    assert run.plan_for("200", run.SIZES, full=False) == ("cold", "series", "peers")
    assert run.plan_for("200", run.SIZES, full=True) == ("cold", "series", "peers")
    assert run.plan_for("50", run.QUICK_SIZES, full=False) == ("cold", "series", "peers", "links")
    assert run.parse_args(["--quick"]).sizes == run.QUICK_SIZES
    with pytest.raises(SystemExit):
        run.parse_args(["--sizes", "sample,100"])


def test_run_process_reports_time_memory_and_failure(tmp_path: Path) -> None:
    log = tmp_path / "log"
    sample = run.run_process([sys.executable, "-c", "x = bytearray(64 * 2**20); print('done')"], tmp_path, log)
    assert sample.seconds > 0 and sample.peak_kib > 64 * 1024
    assert "done" in log.read_text() and sample.output == "done\n"
    assert run.Sample(1.0, 1, "build-report: render       3.78 s\nx\nbuild-report: render  0.22 s\n"
                           "build-report: finish       4.02 s\n").stages() == {"render": 4.0, "finish": 4.02}
    with pytest.raises(run.BenchError, match="exited with 3"):
        run.run_process([sys.executable, "-c", "raise SystemExit(3)"], tmp_path, log)


def test_option_help_reads_argparse_help() -> None:
    text = """usage: build-report pdf [-h] [--strict] [--jobs N]

options:
  -h, --help            show this help message and exit
  -o OUTPUT, --output OUTPUT
                        where to write the output
  --jobs N, -j N        render the PDF in parts with N processes (default: the
                        number of CPUs, 2); 1 renders it in one pass
  --strict              treat warnings as errors
"""
    assert run.option_help(text, "--jobs") == (
        "render the PDF in parts with N processes (default: the number of CPUs, 2); 1 renders it in one pass")
    assert run.option_help(text, "--output") == "where to write the output"
    assert run.option_help(text, "--strict") == "treat warnings as errors"
    assert run.option_help(text, "--no-cache") is None
