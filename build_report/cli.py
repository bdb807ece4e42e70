"""The command line: `build-report VERB [MANUSCRIPT_DIR] [options]`.

`main(argv) -> int` parses arguments and calls one function per verb; the work
is done by the stages. Problems in the manuscript are printed as
`path:line: error: message`; exit codes are 0 ok, 1 checks failed, 2 bad input.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Callable, TextIO

from . import __version__, build, review
from .assemble import STYLES, Options
from .diagnostics import EXIT_BAD_INPUT, EXIT_CHECKS_FAILED, EXIT_OK, BuildReportError, Diagnostics, ManuscriptError
from .output import write_atomic
from .text import did_you_mean


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of exiting, so main() returns the code."""

    def error(self, message: str):
        raise _Usage(f"{self.prog}: error: {message}")


class _Usage(Exception):
    pass


CHAPTER_HELP = "only this chapter: its number, id or file name"
SOURCE_REFS_HELP = "print 'file:line' in the margin beside each paragraph"


def _parser() -> argparse.ArgumentParser:
    quiet = _Parser(add_help=False)
    quiet.add_argument("--strict", action="store_true", help="treat warnings as errors")
    quiet.add_argument("-q", "--quiet", action="store_true", help="print errors only")
    quiet.add_argument("-v", "--verbose", action="store_true", help="print stage timings")
    common = _Parser(add_help=False, parents=[quiet])
    common.add_argument("-o", "--output", type=Path, help="where to write the output")
    common.add_argument("--styles", type=Path, default=STYLES, help="the styles folder (default: %(default)s)")

    parser = _Parser(prog="build-report", description="Build a report manuscript into a PDF and an EPUB.")
    parser.add_argument("--version", action="version", version=f"build-report {__version__}")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", required=True, parser_class=_Parser)
    verbs.add_parser("pdf", parents=[common], help="build the PDF (default build/<slug>.pdf)")
    verbs.add_parser("html", parents=[common], help="write the self-contained print HTML that WeasyPrint renders")
    verbs.add_parser("epub", parents=[common], help="build the EPUB 3 (default build/<slug>.epub)")
    for verb, what in (("draft", "build a review draft (watermark, stamp, review marks)"),
                       ("watch", "rebuild the draft whenever a manuscript or style file changes")):
        draft = verbs.add_parser(verb, parents=[common], help=what)
        draft.add_argument("--chapter", help=CHAPTER_HELP)
        draft.add_argument("--source-refs", action="store_true", help=SOURCE_REFS_HELP)
    for verb in ("accept", "reject"):
        mark = verbs.add_parser(verb, parents=[quiet],
                                help=f"{verb} every review mark, rewriting the chapter files (keeps .bak)")
        mark.add_argument("--chapter", help=CHAPTER_HELP)
    diff = verbs.add_parser("diff", parents=[common], help="a draft showing what changed since git ref REF")
    diff.add_argument("ref", metavar="REF", help="a git commit, tag or branch")
    diff.add_argument("--source-refs", action="store_true", help=SOURCE_REFS_HELP)
    check = verbs.add_parser("check-links", parents=[common], help="check every internal and external link")
    check.add_argument("--offline", action="store_true", help="check internal links only; no network")
    check.add_argument("--format", choices=("text", "json", "junit", "markdown"), default="text")
    check.add_argument("--no-cache", action="store_true", help="ignore cached results (build/.linkcache.json)")
    check.add_argument("--pdf", type=Path, help="also check the links in this built PDF (default build/<slug>.pdf if present)")
    for verb in verbs.choices.values():
        verb.add_argument("manuscript", nargs="?", default="manuscript", type=Path, metavar="MANUSCRIPT_DIR",
                          help="the manuscript folder (default: manuscript)")
    terse = _Parser(add_help=False)
    terse.add_argument("-q", "--quiet", action="store_true", help="print errors only")
    terse.set_defaults(strict=False, verbose=False)
    new = verbs.add_parser("new", parents=[terse], help="start a manuscript in DIR: report.yaml, places.yaml, a chapter")
    new.add_argument("dir", type=Path, metavar="DIR", help="the folder to create (new or empty)")
    imp = verbs.add_parser("import", parents=[terse], help="turn a folder of Markdown (plain, MkDocs, mdBook) into a manuscript")
    imp.add_argument("src", type=Path, metavar="SRC", help="the folder of Markdown files")
    imp.add_argument("dir", type=Path, metavar="DIR", help="the manuscript folder to create (new or empty)")
    return parser


def main(argv: list[str] | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except _Usage as exc:
        print(exc, file=stderr)
        return EXIT_BAD_INPUT
    except SystemExit as exc:  # --help and --version print and exit 0
        return int(exc.code or 0)
    diagnostics = Diagnostics(strict=args.strict)
    timer = build.Timer(stderr if args.verbose else None)
    try:
        return VERBS[args.verb](args, diagnostics, timer, stdout)
    except ManuscriptError:
        return EXIT_BAD_INPUT
    except BuildReportError as exc:
        print(f"build-report: error: {exc}", file=stderr)
        return exc.exit_code
    except OSError as exc:  # an unwritable output folder, a file that vanished mid-build
        print(f"build-report: error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), file=stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("build-report: interrupted", file=stderr)
        return 130
    finally:
        if not args.quiet or diagnostics.errors:
            diagnostics.report(stderr)


def _default_output(args: argparse.Namespace, manuscript, suffix: str) -> Path:
    return args.output or Path("build") / f"{manuscript.slug}{suffix}"


def _options(args: argparse.Namespace, **changes) -> Options:
    return Options(styles=args.styles, **changes)


def _final_build(args, diagnostics: Diagnostics, timer: build.Timer, stdout: TextIO,
                 suffix: str, builder: Callable, **options) -> int:
    """A final output: refused while review marks remain; nothing is written on errors."""
    manuscript = build.load(args.manuscript, diagnostics, timer)
    review.require_no_review_marks(manuscript, diagnostics)
    diagnostics.check()
    out = _default_output(args, manuscript, suffix)
    builder(manuscript, out, _options(args, **options), diagnostics, timer)
    diagnostics.check()
    _done(args, out, stdout)
    return EXIT_OK


def cmd_pdf(args, diagnostics: Diagnostics, timer: build.Timer, stdout: TextIO) -> int:
    return _final_build(args, diagnostics, timer, stdout, ".pdf", build.build_pdf)


def cmd_html(args, diagnostics: Diagnostics, timer: build.Timer, stdout: TextIO) -> int:
    return _final_build(args, diagnostics, timer, stdout, ".html", build.build_html, self_contained=True)


def cmd_epub(args, diagnostics: Diagnostics, timer: build.Timer, stdout: TextIO) -> int:
    from . import epub

    return _final_build(args, diagnostics, timer, stdout, ".epub", epub.build_epub)


def cmd_draft(args, diagnostics: Diagnostics, timer: build.Timer, stdout: TextIO) -> int:
    manuscript = build.load(args.manuscript, diagnostics, timer)
    only = select_chapter(manuscript, args.chapter).id if args.chapter else ""
    suffix = f"-draft-{only}.pdf" if only else "-draft.pdf"
    out = _default_output(args, manuscript, suffix)
    stamp = str(review.draft_stamp(manuscript.root, manuscript.report.version))
    options = _options(args, draft=True, stamp=stamp, only=only, source_refs=args.source_refs)
    build.build_pdf(manuscript, out, options, diagnostics, timer)
    diagnostics.check()
    _done(args, out, stdout)
    return EXIT_OK


def cmd_accept(args, diagnostics: Diagnostics, timer: build.Timer, stdout: TextIO, accept: bool = True) -> int:
    manuscript = build.load(args.manuscript, diagnostics, timer)
    chapters = [select_chapter(manuscript, args.chapter)] if args.chapter else manuscript.chapters
    for path, count in review.rewrite_chapters(manuscript, chapters, accept):
        if not args.quiet:
            print(f"{path}: {'accepted' if accept else 'rejected'} {count} review mark{'s' * (count != 1)} "
                  f"(previous text in {path}.bak)", file=stdout)
    return EXIT_OK


def cmd_reject(args, diagnostics: Diagnostics, timer: build.Timer, stdout: TextIO) -> int:
    return cmd_accept(args, diagnostics, timer, stdout, accept=False)


def cmd_diff(args, diagnostics: Diagnostics, timer: build.Timer, stdout: TextIO) -> int:
    from . import diff

    with tempfile.TemporaryDirectory(prefix="build-report-diff-") as tmp:
        with timer.stage("git"):
            old = diff.old_manuscript(args.manuscript, args.ref, Path(tmp) / "old")
            changes = diff.annotated_copy(old, args.manuscript.resolve(), Path(tmp) / "changes")
        manuscript = build.load(Path(tmp) / "changes", diagnostics, timer)
        status = tuple((c.id, "added" if c.path in changes.added else "removed")
                       for c in manuscript.chapters if c.path in changes.added + changes.removed)
        options = _options(args, draft=True, source_refs=args.source_refs, status=status,
                           stamp=f"Changes since {args.ref} \u00b7 {review.draft_stamp(args.manuscript, manuscript.report.version)}",
                           summary=diff.summary_html(manuscript, changes, args.ref))
        out = args.output or Path("build") / f"{manuscript.slug}-changes.pdf"
        build.build_pdf(manuscript, out, options, diagnostics, timer)
    diagnostics.check()
    _done(args, out, stdout)
    return EXIT_OK


def cmd_watch(args, diagnostics: Diagnostics, timer: build.Timer, stdout: TextIO, stop_event=None) -> int:
    """Build the draft, then again after every change; problems are printed, never fatal."""
    import watchfiles

    def rebuild() -> None:
        fresh = Diagnostics(strict=args.strict)
        try:
            cmd_draft(args, fresh, timer, stdout)
        except BuildReportError as exc:
            if not isinstance(exc, ManuscriptError):
                print(f"build-report: error: {exc}", file=stdout)
        fresh.report(stdout)
        if not args.quiet:
            print("watching for changes (Ctrl-C to stop)", file=stdout, flush=True)

    rebuild()
    ignore = watchfiles.DefaultFilter(ignore_entity_patterns=(r"\.bak$", r"\.tmp$", r"^\."))
    for _ in watchfiles.watch(args.manuscript, args.styles, watch_filter=ignore, stop_event=stop_event,
                              raise_interrupt=False):
        rebuild()
    return EXIT_OK


def cmd_check_links(args, diagnostics: Diagnostics, timer: build.Timer, stdout: TextIO) -> int:
    """Internal links are checked while loading (errors exit 2); then the PDF's, then external ones."""
    from . import links
    from .links.outputs import check_pdf_links

    manuscript = build.load(args.manuscript, diagnostics, timer)
    try:
        policy = links.LinkPolicy.from_mapping(manuscript.report.links)
    except ValueError as exc:
        raise BuildReportError(f"report.yaml: {exc}") from exc
    code = EXIT_OK
    pdf = args.pdf or Path("build") / f"{manuscript.slug}.pdf"
    if args.pdf or pdf.is_file():
        with timer.stage("pdf links"):
            problems = check_pdf_links(pdf, manuscript)
        for problem in problems:
            print(f"{problem}", file=stdout)
        code = EXIT_CHECKS_FAILED if problems else code
    if args.offline:
        return code
    with timer.stage("external"):
        results = links.check_links(manuscript.links(), policy, cache_path=Path("build") / ".linkcache.json",
                                    use_cache=not args.no_cache, progress=sys.stderr)
    text = links.render_report(results, args.format)
    if args.output:
        write_atomic(args.output, text)
    else:
        stdout.write(text)
    return max(code, links.exit_code(results))


def cmd_new(args, diagnostics: Diagnostics, timer: build.Timer, stdout: TextIO) -> int:
    from . import scaffold

    scaffold.new(args.dir, None if args.quiet else stdout)
    return EXIT_OK


def cmd_import(args, diagnostics: Diagnostics, timer: build.Timer, stdout: TextIO) -> int:
    """What could not be carried over is printed as warnings (paths relative to SRC); they do not fail it."""
    from . import importer

    importer.import_markdown(args.src, args.dir, diagnostics, None if args.quiet else stdout)
    return EXIT_OK


def select_chapter(manuscript, spec: str):
    """A chapter by its number ('3', 'A'), id ('boundaries') or file name ('04-boundaries.md')."""
    for chapter in manuscript.chapters:
        name = Path(chapter.path).name
        if spec in (chapter.label, chapter.id, name, Path(name).stem, chapter.path):
            return chapter
    choices = [c.id for c in manuscript.chapters]
    raise UsageError(f"no chapter '{spec}'{did_you_mean(spec, choices)}; use a number, an id or a file name")


class UsageError(BuildReportError):
    """Bad command-line arguments noticed after parsing."""


def _done(args, out: Path, stdout: TextIO) -> None:
    if not args.quiet:
        print(f"wrote {out}", file=stdout)


VERBS: dict[str, Callable[..., int]] = {
    "pdf": cmd_pdf, "html": cmd_html, "epub": cmd_epub, "draft": cmd_draft,
    "accept": cmd_accept, "reject": cmd_reject, "diff": cmd_diff, "check-links": cmd_check_links,
    "watch": cmd_watch, "new": cmd_new, "import": cmd_import,
}


def main_entry() -> None:
    """The `build-report` console script."""
    sys.exit(main())
