"""The build benchmark (issue 12): whole `build-report` processes against their peers, as ratios.

    .venv/bin/python bench/run.py [--quick | --full] [--sizes sample,50,200,500] [--runs N] [--jobs N]
                                  [--keep] [-o bench/results.json]

Inputs: the sample report (manuscript/) and manuscripts of about 50, 200 and
500 pages made by bench/generate.py (into bench/.work/, git-ignored).

Measures, each a whole process (wall seconds; peak memory is the largest single
process of the tree, the kernel's own accounting of the reaped child, `wait4`):

  pdf_cold         `build-report pdf`, in a fresh working folder (no build/, no cache),
                   on a fresh copy of the manuscript
  pdf_edited       the same again, after appending a paragraph to the middle chapter
  pdf_unchanged    the same again, nothing changed
  epub_after_pdf   `build-report epub` in that folder, after those PDF builds
  check_links      `build-report check-links` re-run with a warm build/.linkcache.json
                   (primed against a local HTTP server that answers 200); on the largest size
Peers, in the same run:
  weasyprint_raw     the `weasyprint` command of the venv on our print HTML (`build-report html`):
                     the single-process floor
  pandoc_epub        pandoc -> EPUB on the chapter files
  pandoc_weasyprint  pandoc -> standalone HTML, then the `weasyprint` command (both processes, summed)

Ratios are taken between medians measured in this one run (absolute times on
these machines are noisy), checked against TARGETS and written with every
figure to bench/results.json, with the stage timings that `build-report -v`
printed for each build. The tables are printed as Markdown.

By default the 500-page report is built cold only (for the time per page and the
peak memory) and gets the check-links measure; `--full` runs every measure at every
size (much longer); `--quick` is the sample and 50 pages only.
If `build-report pdf --help` lists `--jobs`, the builds run with its default
(or with `--jobs N` when given here); the results record which.
"""

from __future__ import annotations

import argparse
import datetime
import http.server
import importlib.metadata
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

import generate  # noqa: E402

WORK = BENCH / ".work"
BIN = Path(sys.executable).parent
BUILD_REPORT = BIN / "build-report"
WEASYPRINT = BIN / "weasyprint"
PANDOC = shutil.which("pandoc")
# The same variant as our PDF writer, and the same image resolution as its screen render (render.SCREEN_DPI).
WEASYPRINT_ARGS = ["--pdf-variant", "pdf/ua-1", "--dpi", "150"]

SIZES = ("sample", "50", "200", "500")
QUICK_SIZES = ("sample", "50")
# What each size runs by default: "cold" (pdf_cold), "series" (pdf_edited, pdf_unchanged,
# epub_after_pdf, in the cold build's folder), "peers", "links" (check_links). `--full`: all of them.
GROUPS = ("cold", "series", "peers", "links")
DEFAULT_PLAN = {
    "sample": ("cold", "series", "peers"),
    "50": ("cold", "series", "peers"),
    "200": ("cold", "series", "peers"),
    "500": ("cold", "links"),
}
# Runs per size (the median is taken); chosen so that `make bench` fits 10 minutes on the 2-core machine.
DEFAULT_RUNS = {"sample": 1, "50": 2, "200": 2, "500": 1}
CACHED_LINK_RUNS = 5  # the cached check-links re-run is cheap: always this many
MEASURES = ("pdf_cold", "pdf_edited", "pdf_unchanged", "epub_after_pdf", "check_links",
            "weasyprint_raw", "pandoc_epub", "pandoc_weasyprint")
MIB = 1024  # ru_maxrss is in KiB


@dataclass(frozen=True)
class Target:
    """A figure from `ratios` and its bound: `value <= limit`, or `value < limit` when `strict`."""

    key: str
    what: str
    limit: float
    strict: bool = False

    def verdict(self, value: float | None) -> str:
        if value is None:
            return "not measured"
        ok = value < self.limit if self.strict else value <= self.limit
        return "PASS" if ok else "MISS"


TARGETS = (
    Target("cold_vs_raw@200", "cold PDF build / raw WeasyPrint on the same HTML, 200 pages", 0.65),
    Target("edited_vs_cold@200", "PDF build after editing one chapter / cold build, 200 pages", 0.35),
    Target("epub_vs_cold@200", "`epub` after `pdf` / cold PDF build, 200 pages", 0.35),
    Target("check_links_cached_s", "cached `check-links` re-run of 1,000 links, whole process, seconds", 0.3,
           strict=True),
    Target("per_page_500_vs_50", "cold PDF build, seconds per page, 500 pages / 50 pages", 1.3),
    Target("peak_mib_500", "peak memory of any single process of the 500-page PDF builds, MiB", 1024, strict=True),
)
# The ratios computed at every size (name: numerator, denominator), for the table.
RATIOS = {
    "cold_vs_raw": ("pdf_cold", "weasyprint_raw"),
    "edited_vs_cold": ("pdf_edited", "pdf_cold"),
    "unchanged_vs_cold": ("pdf_unchanged", "pdf_cold"),
    "epub_vs_cold": ("epub_after_pdf", "pdf_cold"),
    "cold_vs_pandoc_weasyprint": ("pdf_cold", "pandoc_weasyprint"),
    "epub_vs_pandoc_epub": ("epub_after_pdf", "pandoc_epub"),
}


class BenchError(Exception):
    pass


# --- measuring one process ----------------------------------------------------------------------------


STAGE = re.compile(r"^build-report: (\S+) +([\d.]+) s$", re.M)  # a line of `build-report -v`


@dataclass
class Sample:
    seconds: float
    peak_kib: int
    output: str = ""

    def stages(self) -> dict[str, float]:
        """The stage timings `build-report -v` printed (a stage that ran twice is summed)."""
        found: dict[str, float] = {}
        for name, seconds in STAGE.findall(self.output):
            found[name] = round(found.get(name, 0.0) + float(seconds), 2)
        return found


def run_process(argv: Sequence[str | Path], cwd: Path, log: Path) -> Sample:
    """Run `argv` to its end; wall seconds and the peak RSS of the largest process in its tree.

    `wait4` gives the child's own rusage, whose ru_maxrss is the largest of the child and of the
    descendants it waited for (worker processes included); output goes to `log`, and into the Sample."""
    with log.open("ab") as out:
        out.write(f"$ (cd {cwd} && {' '.join(map(str, argv))})\n".encode())
        out.flush()
        offset = out.tell()
        start = time.perf_counter()
        # Each build's cache is build/.cache in its own working folder, never one named in the environment.
        env = {name: value for name, value in os.environ.items() if name != "BUILD_REPORT_CACHE_DIR"}
        process = subprocess.Popen([str(a) for a in argv], cwd=cwd, stdin=subprocess.DEVNULL, stdout=out,
                                   stderr=subprocess.STDOUT, env=env)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise BenchError(f"{' '.join(map(str, argv))} (in {cwd}) exited with {process.returncode}; see {log}")
    with log.open("rb") as written:
        written.seek(offset)
        output = written.read().decode("utf-8", "replace")
    return Sample(seconds, usage.ru_maxrss, output)


@dataclass
class Measure:
    """Every run of one measure at one size."""

    seconds: list[float] = field(default_factory=list)
    peak_kib: list[int] = field(default_factory=list)
    pages: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def add(self, sample: Sample) -> None:
        self.seconds.append(sample.seconds)
        self.peak_kib.append(sample.peak_kib)

    def as_json(self) -> dict[str, Any]:
        median = statistics.median(self.seconds)
        return {
            "seconds": [round(s, 3) for s in self.seconds],
            "median": round(median, 3),
            "peak_mib": round(max(self.peak_kib) / MIB, 1),
            "pages": self.pages,
            "s_per_page": round(median / self.pages, 4) if self.pages else None,
            **self.extra,
        }


# --- the inputs ---------------------------------------------------------------------------------------


@dataclass
class Input:
    size: str
    root: Path
    info: dict[str, Any]

    def chapters(self) -> list[str]:
        report = yaml.safe_load((self.root / "report.yaml").read_text(encoding="utf-8"))
        return [str(c) for c in report["chapters"]]

    def title(self) -> str:
        return str(yaml.safe_load((self.root / "report.yaml").read_text(encoding="utf-8"))["title"])


def make_inputs(sizes: Iterable[str], link_base: str) -> dict[str, Input]:
    inputs = {}
    for size in sizes:
        if size == "sample":
            inputs[size] = Input(size, ROOT / "manuscript", {"source": "manuscript/"})
            continue
        made = generate.generate(int(size), WORK / "manuscripts" / size, link_base=link_base)
        inputs[size] = Input(size, made.root, {"source": "bench/generate.py", "target_pages": made.pages,
                                               "chapter_files": len(made.chapters), "words": made.words,
                                               "links": made.links})
    return inputs


PAGE = b"<!doctype html><title>bench</title><p>ok</p>"


class LinkServer:
    """A local HTTP/1.1 server on 127.0.0.1 that answers every request with 200, counting them."""

    def __init__(self) -> None:
        counter = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_HEAD(self) -> None:
                self.answer(with_body=False)

            def do_GET(self) -> None:
                self.answer(with_body=True)

            def answer(self, with_body: bool) -> None:
                counter.requests += 1
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(PAGE)))
                self.end_headers()
                if with_body:
                    self.wfile.write(PAGE)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.requests = 0
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# --- the measures ---------------------------------------------------------------------------------------


@dataclass
class Context:
    """What every measure needs: the extra arguments of `build-report pdf`, the log and where to work."""

    build_args: list[str]
    log: Path
    keep: bool = False

    def fresh(self, name: str) -> Path:
        folder = WORK / "runs" / name
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        return folder

    def done(self, folder: Path) -> None:
        if not self.keep:
            shutil.rmtree(folder, ignore_errors=True)


def pdf_pages(path: Path) -> int:
    from pypdf import PdfReader

    return len(PdfReader(path).pages)


def the_output(folder: Path, suffix: str) -> Path:
    found = sorted((folder / "build").glob(f"*{suffix}"), key=lambda p: p.stat().st_mtime)
    if not found:
        raise BenchError(f"no build/*{suffix} in {folder}")
    return found[-1]


def measure_pdf_cold(ctx: Context, work: Path) -> tuple[Sample, int]:
    """`build-report pdf` in `work` (a fresh folder with a copy of the manuscript)."""
    sample = run_process([BUILD_REPORT, "pdf", "manuscript", "-v", *ctx.build_args], work, ctx.log)
    return sample, pdf_pages(the_output(work, ".pdf"))


def measure_pdf_edited(ctx: Context, work: Path) -> tuple[Sample, int]:
    """A paragraph appended to the middle chapter, then `build-report pdf` again."""
    generate.edit_one_chapter(work / "manuscript")
    sample = run_process([BUILD_REPORT, "pdf", "manuscript", "-v", *ctx.build_args], work, ctx.log)
    return sample, pdf_pages(the_output(work, ".pdf"))


def measure_pdf_unchanged(ctx: Context, work: Path) -> tuple[Sample, int]:
    sample = run_process([BUILD_REPORT, "pdf", "manuscript", "-v", *ctx.build_args], work, ctx.log)
    return sample, pdf_pages(the_output(work, ".pdf"))


def measure_epub_after_pdf(ctx: Context, work: Path) -> Sample:
    """`build-report epub` in the folder of the PDF builds (their cache, if any, is there)."""
    return run_process([BUILD_REPORT, "epub", "manuscript", "-v"], work, ctx.log)


def measure_weasyprint_raw(ctx: Context, work: Path, source: Input) -> tuple[Sample, int, dict[str, Any]]:
    """Our self-contained print HTML (`build-report html`, not timed), then the `weasyprint` command on it."""
    html = work / "print.html"
    run_process([BUILD_REPORT, "html", source.root, "-o", html, "-q"], work, ctx.log)
    sample = run_process([WEASYPRINT, *WEASYPRINT_ARGS, html, work / "raw.pdf"], work, ctx.log)
    return sample, pdf_pages(work / "raw.pdf"), {"html_mib": round(html.stat().st_size / 2**20, 1)}


def pandoc_args(source: Input) -> list[str]:
    """The chapters in order, each its own scope (footnote labels repeat across chapters), run from chapters/."""
    files = [str((source.root / c).relative_to(source.root / "chapters")) for c in source.chapters()]
    return ["--from", "markdown", "--file-scope", "-M", f"title={source.title()}", "-M", "lang=en-GB", *files]


def measure_pandoc_epub(ctx: Context, work: Path, source: Input) -> Sample:
    assert PANDOC
    return run_process([PANDOC, *pandoc_args(source), "--to", "epub3", "-o", work / "pandoc.epub"],
                       source.root / "chapters", ctx.log)


def measure_pandoc_weasyprint(ctx: Context, work: Path, source: Input) -> tuple[Sample, int, dict[str, Any]]:
    """pandoc -> standalone HTML (its default template and CSS), then `weasyprint` with the chapters as base URL."""
    assert PANDOC
    html, pdf = work / "pandoc.html", work / "pandoc.pdf"
    to_html = run_process([PANDOC, *pandoc_args(source), "--to", "html5", "--standalone", "-o", html],
                          source.root / "chapters", ctx.log)
    base = (source.root / "chapters").as_uri() + "/"
    to_pdf = run_process([WEASYPRINT, *WEASYPRINT_ARGS, "--base-url", base, html, pdf], work, ctx.log)
    total = Sample(to_html.seconds + to_pdf.seconds, max(to_html.peak_kib, to_pdf.peak_kib))
    return total, pdf_pages(pdf), {"pandoc_s": [round(to_html.seconds, 3)], "weasyprint_s": [round(to_pdf.seconds, 3)]}


def measure_check_links(ctx: Context, work: Path, server: LinkServer, runs: int) -> tuple[Measure, Measure]:
    """Prime build/.linkcache.json against the local server, then time cached re-runs (which must make
    no request). No PDF is in the folder, so the run checks the manuscript's links only."""
    argv = [BUILD_REPORT, "check-links", "manuscript"]
    before = server.requests
    primed = Measure()
    primed.add(run_process(argv, work, ctx.log))
    primed.extra["requests"] = server.requests - before
    cached = Measure()
    for _ in range(runs):
        cached.add(run_process(argv, work, ctx.log))
    cached.extra["requests"] = server.requests - before - primed.extra["requests"]
    if cached.extra["requests"]:
        raise BenchError(f"the cached check-links runs made {cached.extra['requests']} requests")
    return primed, cached


# --- one size -----------------------------------------------------------------------------------------


def progress(size: str, name: str, sample: Sample) -> None:
    print(f"  {size:>6} {name:<18} {sample.seconds:7.2f} s  {sample.peak_kib / MIB:7.0f} MiB", file=sys.stderr,
          flush=True)


def bench_size(ctx: Context, source: Input, plan: Sequence[str], runs: int,
               server: LinkServer | None) -> dict[str, Measure]:
    measures: dict[str, Measure] = {}

    def record(name: str, sample: Sample, pages: int | None = None, extra: dict[str, Any] | None = None) -> None:
        measure = measures.setdefault(name, Measure())
        measure.add(sample)
        measure.pages = pages if pages is not None else measure.pages
        if sample.stages():
            measure.extra.setdefault("stages", []).append(sample.stages())
        for key, value in (extra or {}).items():  # lists accumulate over runs
            measure.extra[key] = measure.extra.get(key, []) + value if isinstance(value, list) else value
        progress(source.size, name, sample)

    size = source.size
    for _ in range(runs):
        work = ctx.fresh(f"{size}-build")
        shutil.copytree(source.root, work / "manuscript")
        record("pdf_cold", *measure_pdf_cold(ctx, work))
        if "series" in plan:
            record("pdf_edited", *measure_pdf_edited(ctx, work))
            record("pdf_unchanged", *measure_pdf_unchanged(ctx, work))
            record("epub_after_pdf", measure_epub_after_pdf(ctx, work))
        ctx.done(work)
        if "peers" in plan:
            work = ctx.fresh(f"{size}-peers")
            record("weasyprint_raw", *measure_weasyprint_raw(ctx, work, source))
            if PANDOC:
                record("pandoc_epub", measure_pandoc_epub(ctx, work, source))
                record("pandoc_weasyprint", *measure_pandoc_weasyprint(ctx, work, source))
            ctx.done(work)
    if "links" in plan and server is not None:
        work = ctx.fresh(f"{size}-links")
        shutil.copytree(source.root, work / "manuscript")
        primed, cached = measure_check_links(ctx, work, server, CACHED_LINK_RUNS)
        cached.extra["links"] = source.info.get("links")
        cached.extra["prime_seconds"] = round(primed.seconds[0], 3)
        cached.extra["prime_requests"] = primed.extra["requests"]
        measures["check_links"] = cached
        progress(size, "check_links (prime)", Sample(primed.seconds[0], primed.peak_kib[0]))
        progress(size, "check_links", Sample(statistics.median(cached.seconds), max(cached.peak_kib)))
        ctx.done(work)
    return measures


# --- ratios, verdicts, tables ---------------------------------------------------------------------------


def compute_ratios(sizes: dict[str, dict[str, Any]]) -> dict[str, float]:
    """Every ratio the tables and TARGETS use, from the JSON measures of each size (`median`,
    `s_per_page`, `peak_mib`). A ratio whose inputs were not measured is left out."""
    ratios: dict[str, float] = {}
    for size, entry in sizes.items():
        measures = entry["measures"]
        for name, (top, bottom) in RATIOS.items():
            if top in measures and bottom in measures and measures[bottom]["median"] > 0:
                ratios[f"{name}@{size}"] = round(measures[top]["median"] / measures[bottom]["median"], 3)
    per_page = {size: entry["measures"]["pdf_cold"]["s_per_page"] for size, entry in sizes.items()
                if entry["measures"].get("pdf_cold", {}).get("s_per_page")}
    if "500" in per_page and "50" in per_page:
        ratios["per_page_500_vs_50"] = round(per_page["500"] / per_page["50"], 3)
    if "200" in per_page and "50" in per_page:
        ratios["per_page_200_vs_50"] = round(per_page["200"] / per_page["50"], 3)
    pdf_500 = [m["peak_mib"] for name, m in sizes.get("500", {}).get("measures", {}).items() if name.startswith("pdf_")]
    if pdf_500:
        ratios["peak_mib_500"] = max(pdf_500)
    links = [entry["measures"]["check_links"] for entry in sizes.values() if "check_links" in entry["measures"]]
    if links and (links[0].get("links") or 0) >= 1000:  # the target is about 1,000 links
        ratios["check_links_cached_s"] = links[0]["median"]
    return ratios


def verdicts(ratios: dict[str, float], targets: Sequence[Target] = TARGETS) -> list[dict[str, Any]]:
    return [{"key": t.key, "what": t.what, "limit": t.limit, "comparison": "<" if t.strict else "<=",
             "value": ratios.get(t.key), "verdict": t.verdict(ratios.get(t.key))} for t in targets]


def _num(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def size_label(size: str) -> str:
    return "sample" if size == "sample" else f"{size} p."


def tables(results: dict[str, Any]) -> str:
    """The three Markdown tables: measures, ratios by size, targets."""
    sizes: dict[str, dict[str, Any]] = results["sizes"]
    lines = ["| input | measure | runs | median s | pages | s/page | peak MiB |", "|---|---|---:|---:|---:|---:|---:|"]
    for size, entry in sizes.items():
        for name in MEASURES:
            m = entry["measures"].get(name)
            if m is None:
                continue
            label = name + (f" ({m['links']:,} links)" if name == "check_links" and m.get("links") else "")
            lines.append(f"| {size_label(size)} | {label} | {len(m['seconds'])} | {_num(m['median'])} | "
                         f"{m['pages'] or '–'} | {_num(m['s_per_page'], 3)} | {_num(m['peak_mib'], 0)} |")
    ratios = results["ratios"]
    shown = [s for s in sizes]
    lines += ["", "| ratio (of medians) | " + " | ".join(size_label(s) for s in shown) + " |",
              "|---|" + "---:|" * len(shown)]
    for name in RATIOS:
        row = [ratios.get(f"{name}@{s}") for s in shown]
        if any(v is not None for v in row):
            lines.append(f"| {name} | " + " | ".join(_num(v) for v in row) + " |")
    lines += ["", "| target | limit | measured | verdict |", "|---|---:|---:|---|"]
    for v in results["targets"]:
        lines.append(f"| {v['what']} | {v['comparison']} {v['limit']:g} | {_num(v['value'])} | {v['verdict']} |")
    return "\n".join(lines)


# --- the run --------------------------------------------------------------------------------------------


def option_help(text: str, option: str) -> str | None:
    """The description of `option` in argparse's help `text`, on one line; None when it is not listed."""
    match = re.search(rf"^  +(?:-\w[ \w]*, )?{option}\b[^\n]*?(?: {{2,}}|\n)(.*?)(?=^  +-|^\S|\Z)", text, re.M | re.S)
    return " ".join(match.group(1).split()) if match else None


def build_features() -> dict[str, Any]:
    """What the current build-report offers, from `build-report pdf --help`: the builds run with its
    defaults whatever they are; these are recorded with the results."""
    text = subprocess.run([BUILD_REPORT, "pdf", "--help"], capture_output=True, text=True, check=True).stdout
    jobs, cache = option_help(text, "--jobs"), option_help(text, "--no-cache")
    return {"jobs": jobs is not None, "jobs_help": jobs, "no_cache_option": cache is not None}


def machine() -> dict[str, Any]:
    def out(argv: list[str]) -> str | None:
        try:
            return subprocess.run(argv, capture_output=True, text=True, check=True, cwd=ROOT).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return None

    pandoc = out([PANDOC, "--version"]) if PANDOC else None
    return {
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "weasyprint": importlib.metadata.version("weasyprint"),
        "pandoc": pandoc.splitlines()[0] if pandoc else None,
        "java": shutil.which("java") is not None,
        "git_commit": out(["git", "rev-parse", "HEAD"]),
        "git_dirty": bool(out(["git", "status", "--porcelain", "--untracked-files=no"])),
        "load_average_start": [round(x, 2) for x in os.getloadavg()],
    }


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--quick", action="store_true", help="the sample and 50 pages only")
    which.add_argument("--sizes", help=f"comma-separated, of {','.join(SIZES)}")
    parser.add_argument("--full", action="store_true", help="every measure at every size (much longer)")
    parser.add_argument("--runs", type=int, help=f"runs per size (default {DEFAULT_RUNS})")
    parser.add_argument("--jobs", type=int, help="pass --jobs N to the builds (when they take it)")
    parser.add_argument("--keep", action="store_true", help="keep the working folders in bench/.work/runs")
    parser.add_argument("-o", "--output", type=Path, default=BENCH / "results.json")
    args = parser.parse_args(argv)
    args.sizes = QUICK_SIZES if args.quick else tuple(args.sizes.split(",")) if args.sizes else SIZES
    unknown = [s for s in args.sizes if s not in SIZES]
    if unknown:
        parser.error(f"unknown size {unknown[0]!r}: choose from {', '.join(SIZES)}")
    return args


def plan_for(size: str, sizes: Sequence[str], full: bool) -> tuple[str, ...]:
    """The groups to run at `size`; check-links goes to the largest size run (1,000 links at 500 pages)."""
    plan = [g for g in (GROUPS if full else DEFAULT_PLAN[size]) if g != "links"]
    largest = max((s for s in sizes if s != "sample"), key=int, default=None)
    return (*plan, "links") if size == largest else tuple(plan)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    features = build_features()
    build_args = []
    if args.jobs is not None:
        if features["jobs"]:
            build_args = ["--jobs", str(args.jobs)]
        else:
            print("run.py: build-report pdf has no --jobs option; --jobs ignored", file=sys.stderr)
    WORK.mkdir(exist_ok=True)
    ctx = Context(build_args, WORK / "run.log", args.keep)
    ctx.log.write_text("")
    server = LinkServer()
    results: dict[str, Any] = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(),
        "features": {**features, "build_args": build_args},
        "sizes": {},
    }
    print(f"build-report --jobs: {'yes: ' + features['jobs_help'] if features['jobs'] else 'no'}; "
          f"log: {ctx.log}", file=sys.stderr)
    try:
        inputs = make_inputs(args.sizes, server.base)
        for size in args.sizes:
            plan = plan_for(size, args.sizes, args.full)
            runs = args.runs or DEFAULT_RUNS[size]
            print(f"{size}: {', '.join(plan)}, {runs} run(s)", file=sys.stderr, flush=True)
            measures = bench_size(ctx, inputs[size], plan, runs, server)
            results["sizes"][size] = {"input": inputs[size].info, "plan": list(plan), "runs": runs,
                                      "measures": {n: m.as_json() for n, m in measures.items()}}
    except BenchError as error:
        print(f"run.py: {error}", file=sys.stderr)
        return 1
    finally:
        server.close()
    if build_features() != features:
        results["features_end"] = build_features()
        print("run.py: build-report's options changed during the run (see features_end)", file=sys.stderr)
    results["ratios"] = compute_ratios(results["sizes"])
    results["targets"] = verdicts(results["ratios"])
    results["machine"]["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    results["elapsed_s"] = round(time.perf_counter() - started, 1)
    args.output.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(tables(results))
    print(f"\n{results['elapsed_s'] / 60:.1f} min; results in {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
