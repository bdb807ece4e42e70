"""`build-report comments`: every open review mark, by chapter and reviewer, for an editor to triage.

Each review item (review.py: a change with the comment attached to it, or a comment alone)
is listed with its number (the one `accept`/`reject --mark N` take), `path:line`, the page
of the review draft it appears on, who wrote it, its kind and its text. Printed as a table,
or written as Markdown (`.md`), CSV (`.csv`, UTF-8 with a header row) or a small tagged PDF
(`.pdf`, templates/comments/comments.html.j2).

The draft page. A draft gives the first element of each mark an id (review.mark_for_review,
from the key markdown/critic.py puts on it), so the page of a mark is the page of that anchor:

- by default, from a layout of the review draft of the manuscript as it is now
  (`build.Build` with the draft options; its page map is cached like any other, so a second
  run on the same text lays out nothing);
- with `--draft DRAFT.pdf`, from that draft's named destinations and page labels, which is
  quicker but only right for a draft built from the same text: a mark the draft does not
  have gets no page, and a chapter file newer than the draft is a warning.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import textwrap
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from . import review
from .diagnostics import NO_FILE, BuildReportError, Diagnostics
from .model import Location, Manuscript

if TYPE_CHECKING:
    from .build import Timer
    from .model import Options

NOBODY = "no reviewer"  # how an item without a reviewer is listed
FORMATS = (".md", ".csv", ".pdf")


@dataclass(frozen=True)
class Entry:
    """One review item as the summary lists it."""

    number: int
    chapter_id: str
    chapter: str  # its display title: "Chapter 2, Working across boundaries"
    path: str
    line: int
    page: str  # the printed folio in the draft ("vi", "37"); "" when not known
    reviewer: str  # "" for none
    date: str
    kind: str  # insertion, deletion, substitution, highlight or comment
    text: str  # what was inserted, deleted, replaced or highlighted; a comment's text
    new: str  # a substitution's new text
    comment: str  # the text of the comment attached to a change

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass(frozen=True)
class Summary:
    title: str
    entries: list[Entry]
    pages_from: str  # where the page numbers come from, in words

    def by_chapter(self) -> list[tuple[str, str, list[Entry]]]:
        """(chapter title, path, entries) in chapter order; in each, by reviewer (named ones first, A-Z),
        then by number."""
        groups: dict[str, list[Entry]] = {}
        for entry in self.entries:
            groups.setdefault(entry.chapter_id, []).append(entry)
        return [(items[0].chapter, items[0].path,
                 sorted(items, key=lambda e: (not e.reviewer, e.reviewer.casefold(), e.number)))
                for items in groups.values()]

    def reviewers(self) -> list[tuple[str, int]]:
        """(reviewer, how many items) with the most first; items without a reviewer last."""
        counts = Counter(entry.reviewer for entry in self.entries)
        named = sorted(((name, n) for name, n in counts.items() if name), key=lambda pair: (-pair[1], pair[0]))
        return named + ([(NOBODY, counts[""])] if counts[""] else [])

    def headline(self) -> str:
        if not self.entries:
            return "No open review marks."
        chapters = len({entry.chapter_id for entry in self.entries})
        people = ", ".join(f"{name} {count}" for name, count in self.reviewers())
        return (f"{_count(len(self.entries), 'open review mark')} in {_count(chapters, 'chapter')} "
                f"({people}).")


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


# -- Collecting --------------------------------------------------------------------------------


def summarise(manuscript: Manuscript, items: list[review.Numbered], pages: dict[int, str], pages_from: str) -> Summary:
    entries = []
    for numbered in items:
        item, chapter = numbered.item, numbered.chapter
        said = item.attribution
        lone_comment = item.mark.opener == "{>>"
        entries.append(Entry(
            number=numbered.number, chapter_id=chapter.id, chapter=chapter.display_title, path=chapter.path,
            line=item.line, page=pages.get(numbered.number, ""), reviewer=said.reviewer, date=said.date,
            kind=item.kind, text=_flat(said.text if lone_comment else item.mark.content), new=_flat(item.mark.new),
            comment="" if lone_comment else _flat(said.text)))
    return Summary(manuscript.report.title, entries, pages_from)


def _flat(text: str) -> str:
    """A mark's text on one line: a mark may run over the lines of its paragraph."""
    return " ".join(text.split())


def draft_options(options: Options) -> Options:
    """The options of `build-report draft` for the whole report, with an empty stamp: the stamp and the
    draft box are out of the flow, so the pages are the same, and the layout can come from the cache."""
    return options.replace(draft=True, stamp="", only="", summary="", status=(), press=False)


def pages_from_layout(manuscript: Manuscript, items: list[review.Numbered], options: Options,
                      diagnostics: Diagnostics, timer: Timer) -> dict[int, str]:
    """item number -> page label in a layout of the review draft of the manuscript as it is now."""
    from .build import Build

    run = Build(manuscript, draft_options(options), diagnostics, timer)
    anchors = review.mark_anchors(run.html())
    labels = run.page_map().anchors
    return _pages(items, anchors, labels)


class UnreadableDraft(BuildReportError):
    """--draft names a file that is not a PDF this tool can read."""


def pages_from_draft(manuscript: Manuscript, items: list[review.Numbered], draft: Path, options: Options,
                     diagnostics: Diagnostics, timer: Timer) -> dict[int, str]:
    """item number -> page label in DRAFT.pdf, by its named destinations (a draft has one per mark)."""
    from .build import Build

    anchors = review.mark_anchors(Build(manuscript, draft_options(options), diagnostics, timer).html())
    with timer.stage("read draft"):
        labels = _destinations(draft)
    pages = _pages(items, anchors, labels)
    missing = [entry for entry in items if entry.number not in pages]
    if missing:
        diagnostics.warning(NO_FILE, f"{draft}: {_count(len(missing), 'review mark')} (the first: "
                                     f"{missing[0].chapter.path}:{missing[0].item.line}) "
                                     "are not in this draft, which was built before them: their page is left "
                                     "blank (build a new draft, or leave out --draft)")
    made = draft.stat().st_mtime
    newer = [chapter.path for chapter in manuscript.chapters if (manuscript.root / chapter.path).stat().st_mtime > made]
    if newer:
        diagnostics.warning(Location(newer[0]), f"changed since {draft} was built: its pages may no longer be "
                                                "those of this text")
    return pages


def _destinations(draft: Path) -> dict[str, str]:
    """Named destination -> page label of a PDF."""
    from pypdf import PdfReader

    try:
        reader = PdfReader(draft)
        labels = reader.page_labels
        pages = {str(name): reader.get_destination_page_number(dest)
                 for name, dest in reader.named_destinations.items()}
        return {name: labels[page] for name, page in pages.items() if page is not None and 0 <= page < len(labels)}
    except Exception as exc:  # pypdf raises many types for a damaged or foreign file
        raise UnreadableDraft(f"--draft {draft}: cannot be read as a PDF ({type(exc).__name__}: {exc})") from exc


def _pages(items: list[review.Numbered], anchors: dict[tuple[str, str], str], labels: dict[str, str]) -> dict[int, str]:
    pages = {}
    for entry in items:
        name = anchors.get((entry.chapter.id, entry.key))
        if name and name in labels:
            pages[entry.number] = labels[name]
    return pages


# -- Writing -----------------------------------------------------------------------------------

TABLE = ("No.", "Where", "Page", "Reviewer", "Kind", "Text")


def render_text(summary: Summary, width: int = 60) -> str:
    """A plain table per chapter, for the terminal."""
    out = [summary.headline(), *([f"Pages: {summary.pages_from}."] if summary.entries else []), ""]
    for title, path, entries in summary.by_chapter():
        out.append(f"{title} ({path})")
        rows = [TABLE] + [(str(e.number), e.where, e.page or "-", e.reviewer or "-", e.kind,
                           textwrap.shorten(_described(e), width, placeholder=" ...")) for e in entries]
        widths = [max(len(row[column]) for row in rows) for column in range(len(TABLE))]
        for row in rows:
            cells = [cell.rjust(w) if column in (0, 2) else cell.ljust(w)
                     for column, (cell, w) in enumerate(zip(row, widths, strict=True))]
            out.append(("  " + "  ".join(cells)).rstrip())
        out.append("")
    return "\n".join(out)


def _described(entry: Entry) -> str:
    """'"old" -> "new" (note)' and the like: the text of an item in one line."""
    if entry.kind == "comment":
        return entry.text
    text = f'"{entry.text}" -> "{entry.new}"' if entry.kind == "substitution" else f'"{entry.text}"'
    return text + (f" ({entry.comment})" if entry.comment else "")


def render_markdown(summary: Summary) -> str:
    out = [f"# Review marks: {_md(summary.title)}", "", summary.headline(), ""]
    if summary.entries:
        out += [f"Pages: {_md(summary.pages_from)}. Numbers are those `build-report accept --mark N` takes.", ""]
    for title, _, entries in summary.by_chapter():
        out += [f"## {_md(title)}", "", "| No. | Where | Page | Reviewer | Date | Kind | Text | Comment |",
                "|---:|---|---:|---|---|---|---|---|"]
        for e in entries:
            text = f"{e.text} → {e.new}" if e.kind == "substitution" else e.text
            out.append(f"| {e.number} | `{e.where}` | {e.page} | {_md(e.reviewer)} | {e.date} | {e.kind} | "
                       f"{_md(text)} | {_md(e.comment)} |")
        out.append("")
    return "\n".join(out)


def _md(text: str) -> str:
    """Text for a Markdown table cell: no HTML, no cell breaks, no emphasis or links from it."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    for char in "\\|*_`[]#":
        text = text.replace(char, "\\" + char)
    return text


CSV_COLUMNS = ("number", "chapter", "path", "line", "page", "reviewer", "date", "kind", "text", "new_text", "comment")


def render_csv(summary: Summary) -> str:
    """One row per item, in number order, with a header row."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for e in summary.entries:
        writer.writerow([e.number, _cell(e.chapter), e.path, e.line, e.page, _cell(e.reviewer), e.date, e.kind,
                         _cell(e.text), _cell(e.new), _cell(e.comment)])
    return buffer.getvalue()


def _cell(text: str) -> str:
    """A reviewer's text that a spreadsheet would run as a formula ('=HYPERLINK(...)') starts with a
    quote mark instead, as OWASP advises for CSV files: the text comes from outside."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def render_pdf(summary: Summary, manuscript: Manuscript, options: Options, diagnostics: Diagnostics) -> bytes:
    """The summary as a tagged PDF, in the report's theme: a table of the items per chapter."""
    import weasyprint

    from .assemble import environment, file_url, stylesheet
    from .fonts import font_dirs
    from .render import ManuscriptFetcher
    from .writers.pdf import finish

    css = stylesheet(["tokens.css"], options, file_url, theme=manuscript.report.theme)
    html = environment().get_template("comments/comments.html.j2").render(
        summary=summary, report=manuscript.report, css=css, chapters=summary.by_chapter(),
        reviewers=summary.reviewers())
    fetcher = ManuscriptFetcher([options.styles, *font_dirs()])
    document = weasyprint.HTML(string=html, base_url=str(options.styles), url_fetcher=fetcher).render()
    title = f"Review marks: {manuscript.report.title}"
    report = dataclasses.replace(manuscript.report, title=title, subtitle="", description="", keywords=[])
    return finish(document, dataclasses.replace(manuscript, report=report), diagnostics, options)


def write(summary: Summary, out: Path, manuscript: Manuscript, options: Options, diagnostics: Diagnostics) -> None:
    from .output import write_atomic

    suffix = out.suffix.lower()
    if suffix == ".csv":
        write_atomic(out, render_csv(summary))
    elif suffix == ".md":
        write_atomic(out, render_markdown(summary))
    elif suffix == ".pdf":
        data = render_pdf(summary, manuscript, options, diagnostics)
        diagnostics.check()
        write_atomic(out, data)
    else:
        raise BuildReportError(f"-o {out}: write the summary to a .md, .csv or .pdf file (or leave out -o)")
