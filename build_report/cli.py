"""The command line: `build-report VERB [MANUSCRIPT_DIR] [options]`.

`main(argv) -> int` parses arguments and calls one function per verb; the work
is done by the stages. Problems in the manuscript are printed as
`path:line: error: message`; exit codes are 0 ok, 1 checks failed, 2 bad input.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from . import __version__, build, cache, confine, signals, writers
from .diagnostics import (
    EXIT_BAD_INPUT,
    EXIT_CHECKS_FAILED,
    EXIT_OK,
    EXIT_SOFTWARE,
    BuildReportError,
    Diagnostics,
    ManuscriptError,
    bug_report,
    printable,
)
from .output import source_date, write_atomic
from .text import did_you_mean
from .themes import STYLES

if TYPE_CHECKING:
    from .model import Options


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of exiting, so main() returns the code."""

    def error(self, message: str):
        raise _Usage(f"{self.prog}: error: {message}")


class _Usage(Exception):
    pass


CHAPTER_HELP = "only this chapter: its number, id or file name"
NO_CACHE_HELP = "ignore cached results (build/.cache; for check-links also build/.linkcache.json)"
SOURCE_REFS_HELP = "print 'file:line' in the margin beside each paragraph"


def _parser(verb: str | None = None) -> argparse.ArgumentParser:
    """The command line. Given the `verb` about to run, only that writer's module is imported (the
    PDF's and the EPUB's import WeasyPrint, half a second); the others' verbs are still known."""
    quiet = _Parser(add_help=False)
    quiet.add_argument("--strict", action="store_true", help="treat warnings as errors")
    quiet.add_argument("-q", "--quiet", action="store_true", help="print errors only")
    quiet.add_argument("-v", "--verbose", action="store_true", help="print stage timings")
    common = _Parser(add_help=False, parents=[quiet])
    common.add_argument("-o", "--output", type=Path, help="where to write the output")
    common.add_argument("--styles", type=Path, default=STYLES, help="the styles folder (default: %(default)s)")
    common.add_argument("--no-cache", action="store_true", help=NO_CACHE_HELP)

    parser = _Parser(prog="build-report", description="Build a report manuscript into a PDF and an EPUB.")
    parser.add_argument("--version", action="version", version=f"build-report {__version__}")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", required=True, parser_class=_Parser)
    for name in writers.names():  # a verb for each output format: build-report pdf, epub, web...
        if verb is not None and name != verb:
            verbs.add_parser(name, parents=[common])  # not the one running: its help is never shown
            continue
        writer = writers.get(name)
        writer.add_arguments(verbs.add_parser(name, parents=[common], help=writer.help))
    _add_jobs(verbs.choices["pdf"])
    for verb, what in (("draft", "build a review draft (watermark, stamp, review marks)"),
                       ("watch", "rebuild the draft whenever a manuscript or style file changes")):
        draft = verbs.add_parser(verb, parents=[common], help=what)
        draft.add_argument("--chapter", help=CHAPTER_HELP)
        draft.add_argument("--source-refs", action="store_true", help=SOURCE_REFS_HELP)
        _add_jobs(draft)
    for name in ("accept", "reject"):
        mark = verbs.add_parser(name, parents=[quiet],
                                help=f"{name} every review mark, rewriting the chapter files (keeps .bak)")
        mark.add_argument("--chapter", help=CHAPTER_HELP)
        _add_selection(mark, f"only the marks to {name}")
    comments = verbs.add_parser("comments", parents=[quiet],
                                help="list every open review mark by chapter and reviewer, with its draft page")
    comments.add_argument("-o", "--output", type=Path, help="write it to a .md, .csv or .pdf file instead")
    comments.add_argument("--draft", type=Path, metavar="DRAFT.pdf",
                          help="take the pages from this draft, built from the same text (default: lay out a draft)")
    comments.add_argument("--chapter", help=CHAPTER_HELP)
    _add_selection(comments, "only these marks")
    comments.add_argument("--styles", type=Path, default=STYLES, help="the styles folder (default: %(default)s)")
    comments.add_argument("--no-cache", action="store_true", help=NO_CACHE_HELP)
    annotated = verbs.add_parser("import-comments", parents=[quiet],
                                 help="write a reviewed draft PDF's annotations into the chapters as review marks")
    annotated.add_argument("pdf", type=Path, metavar="DRAFT.pdf", help="the draft PDF with the reviewer's annotations")
    word = verbs.add_parser("import-docx", parents=[quiet],
                            help="write a reviewed DOCX's tracked changes and comments into the chapters "
                                 "as review marks")
    word.add_argument("docx", type=Path, metavar="REVIEWED.docx", help="the DOCX from `build-report docx`, reviewed")
    diff = verbs.add_parser("diff", parents=[common], help="a draft showing what changed since git ref REF")
    diff.add_argument("ref", metavar="REF", help="a git commit, tag or branch")
    diff.add_argument("--source-refs", action="store_true", help=SOURCE_REFS_HELP)
    check = verbs.add_parser("check-links", parents=[common], help="check every internal and external link")
    check.add_argument("--offline", action="store_true", help="check internal links only; no network")
    check.add_argument("--format", choices=("text", "json", "junit", "markdown"), default="text")
    check.add_argument("--pdf", type=Path,
                       help="also check the links in this built PDF (default build/<slug>.pdf if present)")
    statement = verbs.add_parser("statement", parents=[quiet],
                                 help="write an accessibility statement from checks of the built editions")
    statement.add_argument("-o", "--output", type=Path,
                           help="where to write it (default build/<slug>-accessibility.md)")
    statement.add_argument("--pdf", type=Path, help="the PDF edition (default build/<slug>.pdf if present)")
    statement.add_argument("--epub", type=Path, help="the EPUB edition (default build/<slug>.epub if present)")
    statement.add_argument("--web", type=Path, metavar="DIR",
                           help="the web edition's folder (default build/<slug>-web if present)")
    gate_verb = verbs.add_parser("check", parents=[quiet],
                                 help="the release gate: build the PDF, EPUB and web edition, run every check")
    gate_verb.add_argument("--styles", type=Path, default=STYLES, help="the styles folder (default: %(default)s)")
    gate_verb.add_argument("--no-cache", action="store_true", help=NO_CACHE_HELP)
    gate_verb.add_argument("--pdf", type=Path, help="check this PDF instead of building one")
    gate_verb.add_argument("--epub", type=Path, help="check this EPUB instead of building one")
    gate_verb.add_argument("--web", type=Path, metavar="DIR", help="check this web edition instead of building one")
    release = verbs.add_parser("release", parents=[quiet],
                               help="build, check and package every edition into DIST/<slug>-<version>/")
    release.add_argument("-o", "--output", type=Path, default=Path("dist"), metavar="DIST",
                         help="the folder of releases (default: %(default)s)")
    release.add_argument("--styles", type=Path, default=STYLES, help="the styles folder (default: %(default)s)")
    release.add_argument("--no-cache", action="store_true", help=NO_CACHE_HELP)
    release.add_argument("--force", action="store_true", help="replace a release of the same version")
    for subparser in verbs.choices.values():
        subparser.add_argument("manuscript", nargs="?", default="manuscript", type=Path, metavar="MANUSCRIPT_DIR",
                          help="the manuscript folder (default: manuscript)")
    terse = _Parser(add_help=False)
    terse.add_argument("-q", "--quiet", action="store_true", help="print errors only")
    terse.set_defaults(strict=False, verbose=False)
    new = verbs.add_parser("new", parents=[terse],
                           help="start a manuscript in DIR: report.yaml, places.yaml, a chapter")
    new.add_argument("dir", type=Path, metavar="DIR", help="the folder to create (new or empty)")
    imp = verbs.add_parser("import", parents=[terse],
                           help="turn a folder of Markdown (plain, MkDocs, mdBook) into a manuscript")
    imp.add_argument("src", type=Path, metavar="SRC", help="the folder of Markdown files")
    imp.add_argument("dir", type=Path, metavar="DIR", help="the manuscript folder to create (new or empty)")
    check_pdf = verbs.add_parser("check-pdf", parents=[terse],
                                 help="check a PDF against the machine-checkable PDF/UA-1 (Matterhorn) conditions")
    check_pdf.add_argument("file", type=Path, metavar="FILE", help="the PDF to check")
    return parser


def main(argv: list[str] | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    argv = sys.argv[1:] if argv is None else argv
    parser = _parser(_verb(argv))
    try:
        args = parser.parse_args(argv)
    except _Usage as exc:
        print(exc, file=stderr)
        return EXIT_BAD_INPUT
    except SystemExit as exc:  # --help and --version print and exit 0
        return int(exc.code or 0)
    diagnostics = Diagnostics(strict=args.strict)
    timer = build.Timer(stderr if args.verbose else None)
    # Libraries' own log lines (pypdf on a damaged file, fontTools) are not diagnostics: shown only at -v.
    libraries = logging.StreamHandler(stderr) if args.verbose else logging.NullHandler()
    logging.getLogger().addHandler(libraries)
    try:
        with signals.stopped_cleanly():
            return run_verb(args, diagnostics, timer, stdout, stderr)
    finally:
        logging.getLogger().removeHandler(libraries)
        if not args.quiet or diagnostics.errors:
            diagnostics.report(stderr)


def run_verb(args: argparse.Namespace, diagnostics: Diagnostics, timer: build.Timer, stdout: TextIO,
             stderr: TextIO) -> int:
    """The error boundary every verb shares: bad input is a message and exit 2, never a traceback.

    An error that is not the input's fault is a bug: one line asking for a report, the
    traceback only with -v, and exit 70 (EX_SOFTWARE)."""
    try:
        source_date()  # a bad SOURCE_DATE_EPOCH is a usage error before any work, whatever the verb
        # The build cache (cache.py) keeps what this verb makes only if it succeeds (exit 0, or 1:
        # checks failed), so a failed build leaves build/ as it was.
        with cache.session(enabled=not getattr(args, "no_cache", False)) as used:
            code = VERBS[args.verb](args, diagnostics, timer, stdout)
            used.commit = code in (EXIT_OK, EXIT_CHECKS_FAILED)
        return code
    except ManuscriptError:
        return EXIT_BAD_INPUT
    except BuildReportError as exc:
        print(printable(f"build-report: error: {exc}"), file=stderr)
        return exc.exit_code
    except OSError as exc:  # an unwritable output folder, a full disk, a file that vanished mid-build
        print(printable(f"build-report: error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": ")), file=stderr)
        return EXIT_BAD_INPUT
    except signals.Stopped as stop:
        print(f"build-report: {stop}", file=stderr)
        return stop.exit_code
    except KeyboardInterrupt:
        print("build-report: interrupted", file=stderr)
        return 130
    except (Exception, RecursionError) as exc:  # noqa: BLE001 - the boundary: anything else is our bug
        print(printable(bug_report(exc)), file=stderr)
        if args.verbose:
            traceback.print_exception(exc, file=stderr)
        return EXIT_SOFTWARE


def _verb(argv: list[str]) -> str | None:
    """The verb of a command line, if it names one before any top-level option; "" for --version,
    which needs no writer; None otherwise (-h lists every writer)."""
    first = next((arg for arg in argv if arg.startswith("-") or arg in VERBS), None)
    return first if first in VERBS else "" if first == "--version" else None


def _load(args: argparse.Namespace, diagnostics: Diagnostics, timer: build.Timer):
    """The manuscript of the command line, with `theme:` checked against its styles folder."""
    return build.load(args.manuscript, diagnostics, timer, styles=getattr(args, "styles", None))


def _default_output(args: argparse.Namespace, manuscript, suffix: str) -> Path:
    return args.output or Path("build") / f"{manuscript.slug}{suffix}"


def _options(args: argparse.Namespace, **changes) -> Options:
    from .model import Options

    return Options(styles=args.styles, jobs=getattr(args, "jobs", None) or 1, **changes)


def _add_jobs(parser: argparse.ArgumentParser) -> None:
    """--jobs N: the PDF rendered in parts by N processes (parallel.py); 1 is one WeasyPrint pass."""
    parser.add_argument("--jobs", "-j", type=_positive, default=os.cpu_count() or 1, metavar="N",
                        help="render the PDF in parts with N processes (default: the number of CPUs, "
                             "%(default)s); 1 renders it in one pass")


def _add_selection(parser: argparse.ArgumentParser, what: str) -> None:
    """--reviewer NAME and --mark N (numbers as `build-report comments` prints them), each repeatable."""
    parser.add_argument("--reviewer", action="append", default=[], metavar="NAME",
                        help=f"{what}: by this reviewer (repeatable)")
    parser.add_argument("--mark", action="append", type=_numbers, default=[], metavar="N",
                        help=f"{what}: with these numbers, as `comments` prints them: 3, 3,5 or 3-7 (repeatable)")


def _numbers(value: str) -> list[int]:
    """'3', '3,5', '3-7' -> the numbers."""
    numbers: list[int] = []
    for part in value.split(","):
        first, dash, last = part.strip().partition("-")
        try:
            low, high = int(first), int(last if dash else first)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a mark number or range: '{part.strip()}'") from None
        if low < 1 or high < low or high - low > 100_000:
            raise argparse.ArgumentTypeError(f"not a mark number or range: '{part.strip()}'")
        numbers += range(low, high + 1)
    return numbers


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: '{value}'") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more: {number}")
    return number


def cmd_write(args, diagnostics: Diagnostics, timer: build.Timer, stdout: TextIO) -> int:
    """An output format (writers/): a final output, refused while review marks remain."""
    writer = writers.get(args.verb).configured(vars(args))
    manuscript = _load(args, diagnostics, timer)
    out = args.output or writer.default_output(manuscript.slug)
    build.Build(manuscript, _options(args), diagnostics, timer).write(writer, out)
    _done(args, out, stdout)
    return EXIT_OK


def cmd_draft(args, diagnostics: Diagnostics, timer: build.Timer, stdout: TextIO) -> int:
    manuscript = _load(args, diagnostics, timer)
    only = select_chapter(manuscript, args.chapter).id if args.chapter else ""
    suffix = f"-draft-{only}.pdf" if only else "-draft.pdf"
    out = _default_output(args, manuscript, suffix)
    from . import review

    stamp = str(review.draft_stamp(manuscript.root, manuscript.report.version))
    options = _options(args, draft=True, stamp=stamp, only=only, source_refs=args.source_refs)
    build.Build(manuscript, options, diagnostics, timer).write(writers.get("pdf"), out)
    _done(args, out, stdout)
    return EXIT_OK


def cmd_accept(args, diagnostics: Diagnostics, timer: build.Timer, stdout: TextIO, accept: bool = True) -> int:
    """Accept (or reject) every review mark in the chapter files, keeping a numbered backup of each.

    Nothing is rewritten while a mark is unbalanced in a chapter it would touch (review.rewrite_chapters)."""
    from . import review

    manuscript = _load(args, diagnostics, timer)
    chapter = select_chapter(manuscript, args.chapter) if args.chapter else None
    chapters = [chapter] if chapter else manuscript.chapters
    only = None
    if args.reviewer or args.mark:  # just these items, numbered as `comments` numbers them
        chosen = review.select_items(review.numbered_items(manuscript, diagnostics), args.reviewer,
                                     [n for numbers in args.mark for n in numbers], chapter)
        keys = {(entry.chapter.path, entry.key) for entry in chosen}
        only = lambda path, key: (path, key) in keys  # noqa: E731
    done = "accepted" if accept else "rejected"
    rewritten = 0
    for rewrite in review.rewrite_chapters(manuscript, chapters, accept, diagnostics, only):
        rewritten += 1
        if not args.quiet:  # printed as each file is written, so a failure later still shows what was done
            print(f"{rewrite.path}: {done} {rewrite.marks} review mark{'s' * (rewrite.marks != 1)} "
                  f"(previous text in {rewrite.backup})", file=stdout, flush=True)
    if not rewritten and not args.quiet:
        print(f"no review marks to {'accept' if accept else 'reject'}", file=stdout)
    return EXIT_OK


def cmd_comments(args, diagnostics: Diagnostics, timer: build.Timer, stdout: TextIO) -> int:
    """Every open review mark, numbered, with its draft page (comments.py): a table, or -o FILE."""
    from . import comments, review

    if args.output and args.output.suffix.lower() not in comments.FORMATS:
        raise UsageError(f"-o {args.output}: write the summary to a .md, .csv or .pdf file (or leave out -o)")
    if args.draft and (problem := confine.file_problem(args.draft)):
        raise UsageError(f"--draft {args.draft}: {problem}")
    manuscript = _load(args, diagnostics, timer)
    chapter = select_chapter(manuscript, args.chapter) if args.chapter else None
    items = review.numbered_items(manuscript, diagnostics)
    shown = review.select_items(items, args.reviewer, [n for numbers in args.mark for n in numbers], chapter)
    options = _options(args)
    if not shown:
        pages, source = {}, ""
    elif args.draft:
        pages = comments.pages_from_draft(manuscript, shown, args.draft, options, diagnostics, timer)
        source = f"those of {args.draft.name}"
    else:
        pages = comments.pages_from_layout(manuscript, shown, options, diagnostics, timer)
        source = "those of a review draft of the text as it is now (build-report draft)"
    summary = comments.summarise(manuscript, shown, pages, source)
    if args.output:
        comments.write(summary, args.output, manuscript, options, diagnostics)
        _done(args, args.output, stdout)
    else:
        try:
            stdout.writelines(printable(line) + "\n" for line in comments.render_text(summary).split("\n"))
            stdout.flush()
        except BrokenPipeError:  # `comments | head`: the reader has what it wanted
            if stdout is sys.stdout:  # Python would report the pipe again when it flushes stdout at exit
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return EXIT_OK


def cmd_reject(args, diagnostics: Diagnostics, timer: build.Timer, stdout: TextIO) -> int:
    return cmd_accept(args, diagnostics, timer, stdout, accept=False)


def cmd_import_comments(args, diagnostics: Diagnostics, timer: build.Timer, stdout: TextIO) -> int:
    """A draft PDF's annotations into the chapter files as CriticMarkup (comments_import.py); exit 1 when
    an annotation could not be placed (each is a warning with its page)."""
    from . import comments_import

    manuscript = _load(args, diagnostics, timer)
    outcome = comments_import.import_comments(args.pdf, manuscript, diagnostics, None if args.quiet else stdout)
    for written in outcome.files:
        if not args.quiet:
            print(f"rewrote {written}", file=stdout)
    return EXIT_CHECKS_FAILED if outcome.unplaced else EXIT_OK


def cmd_import_docx(args, diagnostics: Diagnostics, timer: build.Timer, stdout: TextIO) -> int:
    """A reviewed DOCX's tracked changes and comments into the chapter files (docx_import.py); exit 1 when
    something could not be placed or the reviewer made untracked edits (shown as a diff; nothing written)."""
    from . import docx_import

    manuscript = _load(args, diagnostics, timer)
    diagnostics.check()
    return docx_import.import_docx(args.docx, manuscript, diagnostics, stdout)


def cmd_diff(args, diagnostics: Diagnostics, timer: build.Timer, stdout: TextIO) -> int:
    """A draft of the manuscript with the changes since git ref REF marked (build.changes_draft)."""
    options = _options(args, source_refs=args.source_refs)
    out = build.changes_draft(args.manuscript, args.ref, options, diagnostics, timer, args.output, args.strict)
    _done(args, out, stdout)
    return EXIT_OK


def cmd_watch(args, diagnostics: Diagnostics, timer: build.Timer, stdout: TextIO, stop_event=None) -> int:
    """Build the draft, then again after every change to the manuscript or the styles.

    Only Ctrl-C (or SIGTERM, or `stop_event`) ends it. Each build goes through the error
    boundary every command has (`run_verb`), so bad input prints its diagnostics, an OSError
    or a bug prints one line, and watching goes on; a failing watcher is retried.

    Its own output is not a change: any folder named `build` below a watched folder, the
    `-o` file, and temporary, backup and hidden files (the atomic writer's `.x.tmp`, accept's
    `.bak.N`). Otherwise `watch .` in the manuscript folder would rebuild forever."""
    import re
    import time

    import watchfiles

    draft = argparse.Namespace(**{**vars(args), "verb": "draft"})
    roots = [Path(args.manuscript).resolve(), Path(args.styles).resolve()]
    output = Path(args.output).resolve() if args.output else None
    default_filter = watchfiles.DefaultFilter()  # editors' swap files, .git, __pycache__ ...

    def is_change(change: watchfiles.Change, name: str) -> bool:
        path = Path(name)
        if not default_filter(change, name) or (output and (path == output or path in output.parents)):
            return False
        root = next((root for root in roots if path.is_relative_to(root)), None)
        parts = path.relative_to(root).parts if root else ()  # below the root: it may be inside a 'build' itself
        return not any(part == "build" or part.startswith(".") for part in parts) and \
            not re.search(r"\.(tmp|bak(\.\d+)?)$", path.name)

    def rebuild() -> int:
        fresh = Diagnostics(strict=args.strict)
        code = run_verb(draft, fresh, timer, stdout, stdout)
        if not args.quiet or fresh.errors:  # as main() reports a command's
            fresh.report(stdout)
        if code < 128 and not args.quiet:  # 128 + a signal number: interrupted, so no longer watching
            print("watching for changes (Ctrl-C to stop)", file=stdout, flush=True)
        return code

    code = rebuild()
    reported = ""
    while code < 128 and not (stop_event and stop_event.is_set()):
        try:
            for _ in watchfiles.watch(*roots, watch_filter=is_change, stop_event=stop_event, raise_interrupt=False):
                reported = ""
                code = rebuild()
                if code >= 128:
                    break
            else:
                break  # the watcher stops only for Ctrl-C or stop_event
        except Exception as exc:  # the watcher failed (a folder vanished, too many watches): retry each second
            message = f"build-report: error: cannot watch for changes ({exc}); trying again"
            if message != reported:
                print(message, file=stdout, flush=True)
                reported = message
            (stop_event.wait if stop_event else time.sleep)(1)
    return code if code >= 128 else EXIT_OK


def cmd_check_links(args, diagnostics: Diagnostics, timer: build.Timer, stdout: TextIO) -> int:
    """Internal links are checked while loading (errors exit 2); then the PDF's, then external ones."""
    pdf = args.pdf
    if pdf and (problem := confine.file_problem(pdf)):
        raise UsageError(f"--pdf {pdf}: {problem}")
    try:
        checked = build.check_links(args.manuscript, _options(args), diagnostics, timer, pdf=pdf,
                                    offline=args.offline, use_cache=not args.no_cache, progress=sys.stderr)
    except build.UnreadablePdf as exc:
        raise UsageError(f"--pdf {exc}") from exc
    for problem in checked.pdf_problems:
        print(problem, file=stdout)
    if checked.results is not None:
        from . import links

        text = links.render_report(checked.results, args.format)
        if args.output:
            write_atomic(args.output, text)
        else:
            stdout.write(text)
    return checked.exit_status


def cmd_check_pdf(args, diagnostics: Diagnostics, timer: build.Timer, stdout: TextIO) -> int:
    """The machine-checkable PDF/UA-1 failure conditions (pdfua.py): the report on stdout, exit 1 on findings."""
    import pikepdf

    from . import pdfua

    problem = confine.file_problem(args.file)
    if problem:
        raise UsageError(f"{args.file}: {problem}")
    try:
        report = pdfua.check(args.file)
    except pikepdf.PdfError as exc:
        raise UsageError(f"{args.file}: cannot be read as a PDF ({exc})") from exc
    stdout.write(report.text())
    return report.exit_status


def cmd_statement(args, diagnostics: Diagnostics, timer: build.Timer, stdout: TextIO) -> int:
    """The accessibility statement (statement.py), from every check of the editions that can run here
    (epubcheck, Ace and the browser checks only where their tools are installed; the statement says
    which did not run): written even when a check fails, then exit 1."""
    import pikepdf

    from . import statement

    manuscript = _load(args, diagnostics, timer)
    diagnostics.check()
    editions = {}
    for option, suffix in (("pdf", ".pdf"), ("epub", ".epub"), ("web", "-web")):
        given = getattr(args, option)
        path = given or Path("build") / f"{manuscript.slug}{suffix}"
        if given or path.exists():
            if option == "web":
                problem = None if path.is_dir() else "not found" if not path.exists() else "is not a folder"
            else:
                problem = confine.file_problem(path)
            if problem:
                raise UsageError(f"--{option} {path}: {problem}")
        editions[option] = path
    with timer.stage("check editions"):
        try:
            found = statement.assess(editions["pdf"], editions["epub"], editions["web"])
        except pikepdf.PdfError as exc:
            raise UsageError(f"--pdf {editions['pdf']}: cannot be read as a PDF ({exc})") from exc
    out = args.output or Path("build") / f"{manuscript.slug}-accessibility.md"
    write_atomic(out, statement.render(manuscript, *found))
    _done(args, out, stdout)
    return EXIT_CHECKS_FAILED if statement.failed(*found) else EXIT_OK


def cmd_check(args, diagnostics: Diagnostics, timer: build.Timer, stdout: TextIO) -> int:
    """The release gate (gate.py): build the editions not given, run every check, print a one-screen
    summary; exit 1 when a check fails or cannot run."""
    from . import gate

    for option in ("pdf", "epub", "web"):
        given = getattr(args, option)
        if given is None:
            continue
        problem = ("is not a folder" if not given.is_dir() else "") if option == "web" else confine.file_problem(given)
        if problem:
            raise UsageError(f"--{option} {given}: {problem}")
    editions = gate.Editions(pdf=args.pdf, epub=args.epub, web=args.web)
    return gate.check(args.manuscript, _options(args), timer, stdout, editions, diagnostics)


def cmd_release(args, diagnostics: Diagnostics, timer: build.Timer, stdout: TextIO) -> int:
    """Every edition, checked by the gate, with checksums and a manifest (release.py)."""
    from . import release

    released = release.release(args.manuscript, args.output, _options(args), diagnostics, timer, force=args.force)
    if not args.quiet:
        print(released.summary, file=stdout)
        for entry in released.files:
            pages = f", {entry['pages']} pages" if "pages" in entry else ""
            if "/" not in entry["name"]:
                print(f"  {entry['name']}  ({_size(entry['size'])}{pages})", file=stdout)
    _done(args, released.folder, stdout)
    return EXIT_OK


def _size(size: int) -> str:
    return f"{size / 1e6:.1f} MB" if size >= 1e6 else f"{size / 1e3:.0f} kB"


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
    **{name: cmd_write for name in writers.names()}, "draft": cmd_draft,
    "accept": cmd_accept, "reject": cmd_reject, "comments": cmd_comments, "import-comments": cmd_import_comments,
    "import-docx": cmd_import_docx,
    "diff": cmd_diff, "check-links": cmd_check_links,
    "watch": cmd_watch, "new": cmd_new, "import": cmd_import, "check-pdf": cmd_check_pdf,
    "statement": cmd_statement, "check": cmd_check,
    "release": cmd_release,
}


def main_entry() -> None:
    """The `build-report` console script."""
    sys.exit(main())
