"""The GOV.UK export: the report as govspeak, GOV.UK's Markdown, for its publisher (Whitehall).

    model -> assemble.rewrite (per chapter) -> govspeak text -> a folder (output.write_tree)

    README.md                 what to enter in the publisher's fields, the pages in order, the images
                              to upload (number, file, caption, alt text) and what cannot be carried over
    01-<chapter id>.md ...    one page (an HTML attachment's body) per chapter, places appendix last
    images/NN-<name>          each figure's image, NN being its number in the upload list

Each chapter becomes one HTML attachment of a GOV.UK publication: the chapter's
title goes in the attachment's title field (listed in README.md) and the body
starts at `##`. Markdown is never parsed again: the chapter's element tree is
walked, after `assemble.rewrite` has resolved cross-references and images.

The mapping, and why (govspeak is kramdown plus a set of regular expressions that
GOV.UK runs over the text before kramdown sees it; see docs/govspeak.md):

    Report                                    govspeak
    ## 3.4 Section, ### sub, #### deeper      ## 3.4 Section, ### sub, #### deeper; the section numbers stay
                                              in the text and the publisher ticks "Use manually numbered
                                              headings" (GOV.UK's automatic numbering would count 1., 2. in
                                              every page, and "Section 3.4" in the text would point nowhere)
    !!! box (case studies, key facts)         $CTA ... $CTA, the title in bold
    !!! note / tip / info ...                 ^one paragraph^ (information callout)
    !!! warning / caution / danger ...        %one paragraph% (warning callout)
    !!! important                             @one paragraph@ (advisory)
    !!! example                               $E ... $E
    !!! contact, !!! address                  $C ... $C, $A ... $A
      (a callout only holds one line, and $E, $C and $A cannot hold footnotes: other content becomes $CTA)
    figure                                    !!N on its own line, N counted across the whole report (HTML
                                              attachments embed the images of their publication); the upload
                                              list gives the file, "Figure 2.1: caption" and the alt text
    table with "Table:" caption               "Table 3.1: caption" above a pipe table
    place quote                               > quote, then "— Place, role (Region)" after it: GOV.UK prints
                                              quotation marks around every paragraph of a blockquote
    footnotes                                 [^1] and [^1]: text, numbered per page, each note one line
    *[ABBR]: expansion                        *[ABBR]: expansion at the end of the page, longest first
    cross-reference, same page, to a heading  [text](#anchor), the anchor GOV.UK gives that heading (only
                                              where the anchor is certain; otherwise plain text)
    cross-reference to another page           text naming the page: "Section 1.1, What changed (in Chapter 1,
                                              The first chapter)": a page's address is known only once published
    code                                      ~~~ fenced (kramdown's fence: ``` is not one in govspeak)
    raw HTML                                  converted (<kbd> to code, <q> to quotation marks, <details> to a
                                              bold line and its text...); what cannot be shown is a warning

Every text is escaped for kramdown and for govspeak's line-start markers (`$`, `%`,
`^`, `@`, `!!`, `s1.`), so the report's words never turn into markup. The words the
export adds itself are in `LABELS` (one table per language), and README.md comes
from templates/govspeak/README.md.j2. The output depends only on the manuscript.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING
from xml.etree import ElementTree as etree

import jinja2

from ..assemble import TEMPLATES, all_chapters, long_date, rewrite
from ..diagnostics import Diagnostics
from ..manuscript import target_name
from ..model import PLACES_ID, Chapter, Location, Manuscript
from ..output import write_tree
from . import Writer

if TYPE_CHECKING:
    from ..build import Build


class Govspeak(Writer):
    name = "govspeak"
    help = "write the report as govspeak for GOV.UK's publisher, one page per chapter (default build/<slug>-govspeak/)"
    suffix = "-govspeak/"
    final = True

    def write(self, build: Build, out: Path) -> None:
        with build.timer.stage("govspeak"):
            files = Export(build.manuscript, build.diagnostics).files()
        build.diagnostics.check()  # with --strict, a warning stops the export before anything is written
        with build.timer.stage("write"):
            write_tree(out, files)


WRITER = Govspeak()


# -- The words the export adds ----------------------------------------------------------------------

@dataclass(frozen=True)
class Labels:
    """Every word the export writes into the pages itself, for one language (`{}` fields are filled in).

    The names of chapters, sections and figures ("Chapter 2, ...", "Section 2.1, ...") come from the
    model, as in the other editions; README.md's words are in its template."""

    caption: str = "{label}: {text}"  # a table's caption above it; a figure's in the upload list
    attribution: str = "— {credit}"  # the line after a quotation
    place_credit: str = "{place}, {role}"
    region: str = "{credit} ({region})"
    xref_page: str = "{text} ({page})"  # the author's words, then the page they point to
    xref_in: str = "{text} (in {page})"  # the words name the target already
    xref_target: str = "{text} ({target})"  # a figure, table or quote on the same page
    xref_target_in: str = "{text} ({target}, in {page})"
    box_title: str = "{title}:"  # a callout's title before its text, unless it ends in punctuation
    task_done: str = "Done:"
    task_open: str = "To do:"
    cell_list: str = "; "  # the items of a list run together in a table cell
    places_intro: str = ("This report quotes people from {count} places. Each place is listed with its region, "
                         "its programme and the chapters where it is quoted.")
    places_intro_one: str = ("This report quotes people from 1 place. It is listed with its region, its programme "
                             "and the chapters where it is quoted.")
    places_caption: str = "Places quoted, with the chapters that quote them"
    places_columns: tuple[str, str, str, str] = ("Place", "Region", "Programme", "Quoted in")
    quote_count: str = "{chapter} ({count} quotes)"


LABELS = {"en": Labels()}  # a Welsh edition adds "cy": Labels(...)


def labels_for(language: str) -> Labels:
    """The labels of a BCP 47 language tag ('en-GB' -> 'en'), English when there are none."""
    return LABELS.get(language.split("-")[0].lower(), LABELS["en"])


# Box kinds (markdown/boxes.py: `!!! kind`, GitHub alerts) -> govspeak. A kind not listed is a $CTA.
INFORMATION = {"note", "info", "tip", "hint", "abstract", "summary", "tldr", "seealso", "todo", "question",
               "success", "check", "done"}
WARNING = {"warning", "caution", "attention", "danger", "error", "failure", "fail", "missing", "bug"}
IMPORTANT = {"important"}
CALLOUTS = {**dict.fromkeys(INFORMATION, "^"), **dict.fromkeys(WARNING, "%"), **dict.fromkeys(IMPORTANT, "@")}
BLOCKS = {"example": "$E", "contact": "$C", "address": "$A"}
CTA = "$CTA"


# -- Escaping ---------------------------------------------------------------------------------------

# Characters kramdown reads as markup anywhere in a line (`$$` is kramdown's maths; `{` its attribute
# lists and extensions; `|` makes a table row). kramdown takes a backslash before each of them.
_MARKUP = re.compile(r"([\\`*\[\]{}<|$])")
_EDGE_UNDERSCORE = re.compile(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")  # snake_case stays as it is
_ENTITY = re.compile(r"&(?=#?[A-Za-z0-9]+;)")
# govspeak's devolved-content markers (`:wales:text:wales:`) match anywhere in the text.
_DEVOLVED = re.compile(r":(?=(?:england|england-wales|scotland|wales|northern-ireland|london):)")
# What makes a line something else when it starts it: kramdown's blocks, and govspeak's markers.
_LINE_START = [
    (re.compile(r"^(?=#|>|:\s|[-+*](?:\s|$)|=+\s*$|-+\s*$|!)"), r"\\"),  # heading, quote, definition, list, rule, !!1
    (re.compile(r"^(\d+)\.(?=\s|$)"), r"\1\\."),  # an ordered list item
    (re.compile(r"^s(\d+)\.(?=\s)"), r"s\1\\."),  # a govspeak step (s1. Do this)
    (re.compile(r"^%"), "&#37;"),  # warning callout; kramdown cannot escape %, ^, @ or ~: entities
    (re.compile(r"^\^"), "&#94;"),  # information callout (and kramdown's end-of-block marker)
    (re.compile(r"^@"), "&#64;"),  # advisory
    (re.compile(r"^~"), "&#126;"),  # a ~~~ code fence
]
# Code lines that govspeak's regular expressions would still read (they run before kramdown, on the
# whole text, code included).
_GOVSPEAK_IN_CODE = re.compile(r"^(?:[%^@]|\$(?:CTA|C|E|A|D|I|AI|P|!|LegislativeList|PriorityList)|!!\d|\s*s\d+\.\s)")


def escape(text: str) -> str:
    """Text as kramdown shows it literally, wherever it is in a line."""
    text = _MARKUP.sub(r"\\\1", text)
    text = _EDGE_UNDERSCORE.sub(r"\\_", text)
    text = _ENTITY.sub("&amp;", text)
    return _DEVOLVED.sub(r"\\:", text.replace(">>", r"\>\>"))


def escape_lines(text: str) -> str:
    """Each line of a block of text made safe where it starts (the text is escaped already)."""
    out = []
    for line in text.split("\n"):
        for pattern, replacement in _LINE_START:
            line = pattern.sub(replacement, line, count=1)
        if line.endswith("\\$"):  # it would end a $E, $C or $A box: "$" or "$E" at the end of a line does
            line = line[:-2] + "&#36;"
        out.append(line)
    return "\n".join(out)


def url(href: str) -> str:
    """A link target kramdown reads whole."""
    for character, code in ((" ", "%20"), ("(", "%28"), (")", "%29"), ("<", "%3C"), (">", "%3E"), ("|", "%7C")):
        href = href.replace(character, code)
    return href


def code_span(text: str) -> str:
    text = " ".join(text.split("\n"))
    ticks = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def kramdown_id(text: str) -> str:
    """The id kramdown gives a heading of this text (its basic algorithm)."""
    value = re.sub(r"^[^a-zA-Z]+", "", text)
    value = re.sub(r"[^a-zA-Z0-9 -]", "", value).replace(" ", "-").lower()
    return value or "section"


def whitehall_anchor(markdown: str, level: int) -> str | None:
    """The id GOV.UK's publisher gives a heading of this Markdown, when two ways of making it agree, else None.

    With "Use manually numbered headings", Whitehall gives a `##` or `###` heading whose first word is a
    number ("3.4") the slug of the rest; older versions kept kramdown's id, made from the whole Markdown.
    Other headings keep kramdown's."""
    match = re.match(r"(\S+)\s+(.*)$", markdown)
    if level in (2, 3) and match and re.fullmatch(r"\d+(?:\.\d+)*[.)]?", match.group(1)) and match.group(2).strip():
        slug = re.sub(r"[^a-z0-9]+", "-", match.group(2).strip().lower()).strip("-")
        return slug if slug == kramdown_id(markdown) else None
    return kramdown_id(markdown)


def heading_text(markdown: str) -> str:
    """A heading's Markdown with a `#` at either end escaped (kramdown would take it for the heading's)."""
    return re.sub(r"#$", r"\\#", re.sub(r"^#", r"\\#", markdown))


def plain(element: etree.Element) -> str:
    return " ".join("".join(element.itertext()).split())


def words(element: etree.Element) -> str:
    """The words of an element, leaving out code (where "page 3" is not about pages)."""
    if element.tag in CODE:
        return ""
    parts = [element.text or ""]
    for child in element:
        parts += [words(child), child.tail or ""]
    return " ".join("".join(parts).split())


def safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") or "image"


# -- The export -------------------------------------------------------------------------------------

@dataclass
class Upload:
    """A figure's image, uploaded to the publication, embedded as `!!number`."""

    number: int
    file_name: str  # in images/
    source: str  # manuscript-relative path
    label: str  # "Figure 2.1"
    caption: str  # "Figure 2.1: One family, six organisations"
    alt: str
    page: str  # the page file it is on


@dataclass
class Page:
    number: int
    file_name: str
    title: str  # for the attachment's title field
    chapter: Chapter
    text: str = ""


@dataclass
class Problem:
    location: Location
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.location.path else self.message


class Export:
    """The govspeak of one manuscript: its pages, images and README."""

    def __init__(self, manuscript: Manuscript, diagnostics: Diagnostics):
        self.manuscript = manuscript
        self.diagnostics = diagnostics
        self.labels = labels_for(manuscript.report.language)
        self.chapters = all_chapters(manuscript)
        self.by_id = {chapter.id: chapter for chapter in self.chapters}
        width = max(2, len(str(len(self.chapters))))
        self.pages = [Page(index, f"{index:0{width}}-{safe_name(chapter.id)}.md", chapter.display_title, chapter)
                      for index, chapter in enumerate(self.chapters, 1)]
        self.uploads: list[Upload] = []
        self.problems: list[Problem] = []

    def warn(self, location: Location, message: str) -> None:
        self.diagnostics.warning(location, message)
        self.problems.append(Problem(location, message))

    def files(self) -> dict[str, str | bytes]:
        for page in self.pages:
            if page.chapter.id == PLACES_ID:
                page.text = PlacesPage(self, page).render()
            else:
                page.text = ChapterPage(self, page).render()
        files: dict[str, str | bytes] = {page.file_name: page.text for page in self.pages}
        width = max(2, len(str(len(self.uploads))))
        for upload in self.uploads:
            upload.file_name = f"{upload.number:0{width}}-{upload.file_name}"
            files[f"images/{upload.file_name}"] = (self.manuscript.root / upload.source).read_bytes()
        files["README.md"] = self.readme()
        return files

    def upload(self, source: str, label: str, caption: str, alt: str, page: Page) -> int:
        number = len(self.uploads) + 1
        text = self.labels.caption.format(label=label, text=caption) if caption else label
        self.uploads.append(Upload(number, safe_name(PurePosixPath(source).name), source, label, text, alt,
                                   page.file_name))
        return number

    def readme(self) -> str:
        report = self.manuscript.report
        env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=False, trim_blocks=True,
                                 lstrip_blocks=True, keep_trailing_newline=True, undefined=jinja2.StrictUndefined)
        env.filters["longdate"] = long_date
        return env.get_template("govspeak/README.md.j2").render(
            report=report, pages=self.pages, uploads=self.uploads, problems=self.problems,
            places_page=next((page for page in self.pages if page.chapter.id == PLACES_ID), None))


# -- One page ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Context:
    """Where inline content is being written."""

    table: bool = False  # a table cell: one line
    heading: bool = False  # one line too
    link: bool = False  # no link inside a link
    strong: bool = False
    em: bool = False
    box: bool = False  # inside a box: a box in it loses its own markers


BREAK = "\x01"  # a hard line break, until the whitespace of the text is settled
DROPPED = "\x02"  # where an inline element was left out: no space before the punctuation after it
INLINE = {"a", "abbr", "b", "bdi", "bdo", "br", "cite", "code", "del", "dfn", "em", "i", "img", "input", "ins",
          "kbd", "label", "mark", "q", "s", "samp", "small", "span", "strike", "strong", "sub", "sup", "time",
          "tt", "u", "var", "wbr"}
PLAIN = {"span", "small", "u", "ins", "mark", "bdi", "bdo", "time", "label", "sub", "sup"}
EMPHASIS = {"em", "i", "cite", "dfn", "var"}
CODE = {"code", "kbd", "samp", "tt"}
PAGE_NUMBER = re.compile(r"\b(?:pages?|pp?\.)\s*[0-9]+", re.I)


class ChapterPage:
    """One chapter as the body of an HTML attachment."""

    def __init__(self, export: Export, page: Page):
        self.export = export
        self.page = page
        self.chapter = page.chapter
        self.labels = export.labels
        self.anchors = self._anchors()
        self.body = rewrite(self.chapter, self._href, lambda local: local, lambda rel: rel)
        self.parents = {child: parent for parent in self.body.iter() for child in parent}
        self.notes = self._notes()
        self.abbreviations: dict[str, str] = {}
        self.deferred: list[str] = []  # figures met inside a list or a quote: placed after it

    # The page

    def render(self) -> str:
        parts = self.blocks(self.body, Context(), top=True)
        notes = [f"[^{number}]: {text}" for number, text in self._note_texts()]
        if notes:
            parts.append("\n".join(notes))
        if self.abbreviations:  # longest first: govspeak applies them in order (PCSOs before PCSO)
            ordered = sorted(self.abbreviations.items(), key=lambda item: (-len(item[0]), item[0]))
            parts.append("\n".join(f"*[{name}]: {title}" for name, title in ordered))  # kramdown reads it raw
        return "\n\n".join(part for part in parts if part) + "\n"

    def _anchors(self) -> dict[str, str]:
        """Heading id -> the anchor GOV.UK will give it, for the headings whose anchor is certain and unique.

        Only headings of plain text: kramdown makes a heading's id from its Markdown, markup included."""
        assert self.chapter.body is not None
        found: dict[str, str | None] = {}
        for element in self.chapter.body.iter():
            if element.tag in ("h2", "h3", "h4", "h5", "h6") and element.get("id"):
                simple = all(child.tag == "span" and child.get("class") == "number" for child in element)
                markdown = heading_text(escape(plain(element)))
                found[element.get("id", "")] = whitehall_anchor(markdown, int(element.tag[1])) if simple else None
        counts: dict[str | None, int] = {}
        for anchor in found.values():
            counts[anchor] = counts.get(anchor, 0) + 1
        return {key: anchor for key, anchor in found.items() if anchor and counts[anchor] == 1}

    def _href(self, chapter_id: str, local: str) -> str:
        """A cross-reference's link: a heading on this page, else none (it is written as text)."""
        return f"#{self.anchors[local]}" if chapter_id == self.chapter.id and local in self.anchors else ""

    def location(self, element: etree.Element | None) -> Location:
        """The source line of an element: its own, an ancestor's, or else its first descendant's."""
        current = element
        while current is not None:
            if line := current.get("data-line"):
                return Location(self.chapter.path, int(line))
            current = self.parents.get(current)
        for inner in element.iter() if element is not None else ():
            if line := inner.get("data-line"):
                return Location(self.chapter.path, int(line))
        return Location(self.chapter.path)

    def warn(self, element: etree.Element | None, message: str) -> None:
        self.export.warn(self.location(element), message)

    # Footnotes

    def _notes(self) -> dict[str, int]:
        """Note id -> its number on this page (Python-Markdown lists them in call order)."""
        block = next((div for div in self.body.iter("div") if div.get("class") == "footnote"), None)
        items = block.findall("ol/li") if block is not None else []
        self.note_items = items
        return {item.get("id", ""): number for number, item in enumerate(items, 1)}

    def _note_texts(self) -> Iterator[tuple[int, str]]:
        """Each note on one line: govspeak reads a note in a $CTA box by its first line only."""
        for number, item in enumerate(self.note_items, 1):
            for back in [a for a in item.iter("a") if a.get("class") == "footnote-backref"]:
                parent = self.parents[back]
                parent.remove(back)
            paragraphs = [p for p in item if p.tag == "p"] or [item]
            text = " ".join(self.paragraph(p, Context()).replace("  \n", " ") for p in paragraphs)
            yield number, " ".join(text.split())

    # Blocks

    def blocks(self, container: etree.Element, context: Context, top: bool = False,
               skip: Callable[[etree.Element], bool] = lambda element: False) -> list[str]:
        """The content of `container` as blocks of govspeak; runs of inline content become paragraphs."""
        out: list[str] = []
        run: list[etree.Element] = []  # inline children waiting to be a paragraph
        text = container.text or ""

        def flush() -> None:
            nonlocal text
            parts = [self.text(text, context)]
            said = [text]
            for element in run:
                parts += [self.inline_element(element, context), self.text(element.tail, context)]
                said += [words(element), element.tail or ""]
            paragraph = self.finish(parts, " ".join(" ".join(said).split()), run[0] if run else container)
            if paragraph:
                out.append(paragraph)
            run.clear()
            text = ""

        for child in container:
            if skip(child):
                text += child.tail or ""
                continue
            if child.tag in INLINE:
                run.append(child)
                continue
            flush()
            out.extend(block for block in self.block(child, context) if block)
            if top and self.deferred:
                out.extend(self.deferred)
                self.deferred.clear()
            text = child.tail or ""
        flush()
        return out

    def block(self, element: etree.Element, context: Context) -> list[str]:
        tag, classes = element.tag, element.get("class", "").split()
        if tag == "p":
            return [self.paragraph(element, context)]
        if tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            return [self.heading(element)]
        if tag in ("ul", "ol"):
            return [self.listing(element, context)]
        if tag == "dl":
            return [self.definitions(element, context)]
        if tag == "table":
            return self.table(element)
        if tag == "div" and "footnote" in classes:
            return []  # the notes go at the end of the page
        if tag == "div" and "highlight" in classes or tag == "pre":
            return [self.code(element)]
        if tag == "blockquote":
            return [self.quote(self.blocks(element, context))]
        if tag == "figure" and "figure" in classes:
            return [self.figure(element, context)]
        if tag == "figure" and ("place-quote" in classes or "quote" in classes):
            return self.attributed(element, context)
        if tag == "aside" and "box" in classes:
            return self.box(element, classes, context)
        if tag == "aside" and "pull-quote" in classes:
            return [self.quote(self.blocks(element, context))]
        if tag == "aside":  # set off from the text: a highlighted box
            return self.box(element, ["box"], context)
        if tag == "details":
            summary = element.find("summary")
            lead = [f"**{settle(self.inline(summary, Context(strong=True)))}**"] if summary is not None else []
            return lead + self.blocks(element, context, skip=lambda child: child.tag == "summary")
        if tag in ("summary", "caption", "figcaption"):
            return [self.paragraph(element, context)]
        if tag == "hr":
            return ["---"]
        if tag not in ("div", "section", "figure", "header", "footer", "article", "main", "nav", "li", "dd", "dt"):
            self.warn(element, f"<{tag}> has no govspeak equivalent; its text is kept")
        return self.blocks(element, context)

    def paragraph(self, element: etree.Element, context: Context) -> str:
        return self.finish([self.inline(element, context)], words(element), element)

    def finish(self, parts: list[str], said: str, where: etree.Element) -> str:
        """A paragraph from its pieces of inline govspeak; `said` is its plain text, to check."""
        if match := PAGE_NUMBER.search(said):
            self.warn(where, f"the text mentions '{match.group(0)}': a GOV.UK page has no page numbers; "
                             "name the chapter or section instead")
        return escape_lines(settle("".join(parts)))

    def heading(self, element: etree.Element) -> str:
        level = max(2, int(element.tag[1]))  # a second '# ' heading in a chapter is a section here
        return f"{'#' * level} {heading_text(settle(self.inline(element, Context(heading=True))))}"

    def listing(self, element: etree.Element, context: Context) -> str:
        ordered = element.tag == "ol"
        start_text = element.get("start", "1")
        start = int(start_text) if start_text.isdigit() else 1
        if ordered and start != 1:
            self.warn(element, f"a numbered list starting at {start}: GOV.UK numbers every list from 1")
        items = [child for child in element if child.tag == "li"]
        loose = any(child.tag == "p" for item in items for child in item)
        out = []
        for index, item in enumerate(items):
            marker = f"{start + index}. " if ordered else "- "
            out.append(self.item(item, marker, context))
        return ("\n\n" if loose else "\n").join(out)

    def item(self, item: etree.Element, marker: str, context: Context) -> str:
        blocks = self.blocks(item, context) or [""]
        pad = " " * len(marker)
        text = marker + indent(blocks[0], pad)[len(pad):]
        for block in blocks[1:]:
            separator = "\n" if re.match(r"(?:- |\d+\. )", block) else "\n\n"
            text += separator + indent(block, pad)
        return text

    def definitions(self, element: etree.Element, context: Context) -> str:
        out = []
        previous = ""
        for child in element:
            if child.tag == "dt":
                out.append(("\n" if previous == "dd" else "") + self.paragraph(child, context))
            elif child.tag == "dd":
                blocks = self.blocks(child, context)
                out.append(": " + indent("\n\n".join(blocks), "  ")[2:])
            previous = child.tag
        return "\n".join(out)

    def code(self, element: etree.Element) -> str:
        pre = element if element.tag == "pre" else element.find(".//pre")
        text = "".join((pre if pre is not None else element).itertext()).rstrip("\n")
        language = next((name[9:] for name in element.get("class", "").split() if name.startswith("language-")), "")
        if any(_GOVSPEAK_IN_CODE.match(line) for line in text.split("\n")):
            self.warn(element, "a line of this code starts with a govspeak marker ($, %, ^, @, !! or s1.), which "
                               "GOV.UK reads even inside code: check the code block after pasting")
        runs = [len(match.group(0)) for match in re.finditer(r"^ {0,3}~+", text, re.M)]
        fence = "~" * max(3, max(runs, default=0) + 1)
        info = f" {language}" if language and language != "text" else ""
        return f"{fence}{info}\n{text}\n{fence}"

    def quote(self, blocks: list[str]) -> str:
        return "\n>\n".join("\n".join(f"> {guard_quote_marks(line)}" if line else ">" for line in block.split("\n"))
                            for block in blocks)

    def attributed(self, figure: etree.Element, context: Context) -> list[str]:
        """A quotation and its credit. The credit follows the quote: GOV.UK prints opening quotation
        marks before every paragraph of a blockquote, and closing ones after its last."""
        quote = figure.find("blockquote")
        caption = figure.find("figcaption")
        blocks = [self.quote(self.blocks(quote, context))] if quote is not None else []
        labels = self.labels
        place = self.export.manuscript.places.get(figure.get("data-place", ""))
        if place is not None and caption is not None:
            role = caption.find("span[@class='role']")
            credit = escape(place.name)
            if role is not None and plain(role):
                credit = labels.place_credit.format(place=credit, role=settle(self.inline(role, context)))
            if place.region:
                credit = labels.region.format(credit=credit, region=escape(place.region))
            blocks.append(escape_lines(labels.attribution.format(credit=credit)))
        elif caption is not None:
            text = settle(self.inline(caption, context))
            text = re.sub(r"^(?:—|–|-)\s*", "", text)
            blocks.append(escape_lines(labels.attribution.format(credit=text)))
        return blocks

    # Figures

    def figure(self, figure: etree.Element, context: Context) -> str:
        image = figure.find(".//img")
        label_element = figure.find("figcaption/span[@class='caption-label']")
        label = plain(label_element) if label_element is not None else ""
        caption_element = figure.find("figcaption")
        caption = plain(caption_element) if caption_element is not None else ""
        caption = caption[len(label):].strip() if caption.startswith(label) else caption
        if image is None or not image.get("src"):
            self.warn(figure, "a figure without an image file; its caption is kept as text")
            return escape_lines(escape(caption))
        number = self.export.upload(image.get("src", ""), label, caption, image.get("alt", ""), self.page)
        placeholder = f"!!{number}"
        if self.in_indented(figure):
            self.warn(figure, f"a figure inside a list or a quotation cannot be placed there on GOV.UK; "
                              f"!!{number} follows the list or quotation")
            self.deferred.append(placeholder)
            return ""
        return placeholder

    def in_indented(self, element: etree.Element) -> bool:
        current = self.parents.get(element)
        while current is not None and current is not self.body:
            if current.tag in ("li", "blockquote", "dd") or (current.tag == "figure" and
                                                               "figure" not in current.get("class", "").split()):
                return True
            current = self.parents.get(current)
        return False

    # Boxes

    def box(self, aside: etree.Element, classes: list[str], context: Context) -> list[str]:
        kinds = [kind for kind in classes if kind != "box"]
        kind = kinds[0] if kinds else "box"
        title_element = aside.find("p[@class='box-title']")
        title = settle(self.inline(title_element, Context(strong=True))) if title_element is not None else ""
        default = title.lower() == kind.lower()  # "Note", "Warning": the callout says so already
        inner = replace(context, box=True)
        body = self.blocks(aside, inner, skip=lambda child: child is title_element)
        bold = f"**{title}**" if title else ""
        if context.box:  # boxes do not nest in govspeak: the inner one is its title and its text
            return ([bold] if bold else []) + body
        notes = any(a.get("class") == "footnote-ref" for a in aside.iter("a"))
        content = [child for child in aside if child is not title_element]
        one_line = (len(content) == 1 and content[0].tag == "p" and not notes
                    and not (aside.text or "").strip() and not (content[0].tail or "").strip()
                    and content[0].find(".//br") is None and len(body) == 1 and "\n" not in body[0])
        if kind in CALLOUTS and one_line:
            mark = CALLOUTS[kind]
            lead = ""
            if title and not default:
                lead = f"**{title if title[-1] in '.:?!' else self.labels.box_title.format(title=title)}** "
            return [f"{mark}{escape_lines(lead + body[0])}{mark}"]
        if kind == "address" and not notes:
            lines = [line for child in content for line in self._lines(child)]
            text = "\n".join(line.replace("&", "&amp;").replace("<", "&lt;") for line in lines)
            return ([bold] if title and not default else []) + [f"$A\n{text}\n$A"]
        mark = BLOCKS.get(kind, CTA) if not notes else CTA
        if mark == "$A":
            mark = CTA
        lines = ([bold] if title and not (default and mark != CTA) else []) + body
        return [f"{mark}\n" + "\n\n".join(lines) + f"\n{mark}"]

    @staticmethod
    def _lines(element: etree.Element) -> list[str]:
        """An address's lines: its line breaks and source lines, without markup."""
        text = []

        def walk(node: etree.Element) -> None:
            text.append(node.text or "")
            for child in node:
                if child.tag == "br":
                    text.append("\n")
                else:
                    walk(child)
                text.append(child.tail or "")
        walk(element)
        return [" ".join(line.split()) for line in "".join(text).split("\n") if line.strip()]

    # Tables

    def table(self, table: etree.Element) -> list[str]:
        out = []
        caption = table.find("caption")
        if caption is not None:
            label_element = caption.find("span[@class='caption-label']")
            label = plain(label_element) if label_element is not None else ""
            text = plain(caption)
            rest = text[len(label):].strip() if label and text.startswith(label) else text
            out.append(escape_lines(escape(self.labels.caption.format(label=label, text=rest) if label else rest)))
        head = [row for part in table.findall("thead") for row in part.findall("tr")]
        body = [row for part in (*table.findall("tbody"), *table.findall("tfoot")) for row in part.findall("tr")]
        body += table.findall("tr")
        rows = [self.row(row) for row in head + body]
        if not rows:
            return out
        width = max(len(row) for row in rows)
        rows = [row + [""] * (width - len(row)) for row in rows]
        first = (head or body)[0]
        aligns = [self.align(cell) for cell in first if cell.tag in ("th", "td")]
        aligns += [""] * (width - len(aligns))
        lines = [f"| {' | '.join(row)} |" for row in rows]
        rule = "|" + "|".join({"left": ":---", "right": "---:", "center": ":---:"}.get(a, "---") for a in aligns) + "|"
        lines.insert(len(head), rule)
        if not head:  # kramdown: a rule before the rows, so that none becomes a header
            self.warn(table, "a table without a header row; GOV.UK's tables should have one")
        out.append("\n".join(lines))
        return out

    def row(self, row: etree.Element) -> list[str]:
        cells = []
        for cell in row:
            if cell.tag not in ("th", "td"):
                continue
            if any(child.tag in ("ul", "ol", "p", "table", "dl", "pre", "div", "blockquote") for child in cell.iter()
                   if child is not cell):
                self.warn(cell, "a table cell holding paragraphs, a list or a table: GOV.UK's cells hold one line, "
                                "so its text is run together")
            span = int(cell.get("colspan", "1")) if cell.get("colspan", "1").isdigit() else 1
            if span > 1 or cell.get("rowspan", "1") not in ("", "1"):
                self.warn(cell, "merged table cells cannot be shown on GOV.UK; the cell is shown once, "
                                "with empty cells beside it")
            text = settle(self.inline(cell, Context(table=True)))
            cells.append("\\" + text if re.fullmatch(r"[-: ]+", text) else text or " ")  # not a rule line
            cells.extend([" "] * (span - 1))
        return cells

    @staticmethod
    def align(cell: etree.Element) -> str:
        match = re.search(r"text-align:\s*(left|right|center)", cell.get("style", ""))
        return match.group(1) if match else ""

    # Inline content

    def inline(self, element: etree.Element, context: Context) -> str:
        """The content of `element` (its text, children and their tails) as govspeak."""
        parts = [self.text(element.text, context)]
        for child in element:
            parts.append(self.inline_element(child, context))
            parts.append(self.text(child.tail, context))
        return "".join(parts)

    @staticmethod
    def text(value: str | None, context: Context) -> str:
        return escape(re.sub(r"\s+", " ", value)) if value else ""

    def inline_element(self, element: etree.Element, context: Context) -> str:
        tag = element.tag
        if tag in ("strong", "b"):
            return self.inline(element, context) if context.strong else wrap(
                "**", self.inline(element, replace(context, strong=True)))
        if tag in EMPHASIS:
            return self.inline(element, context) if context.em else wrap(
                "*", self.inline(element, replace(context, em=True)))
        if tag in CODE:
            return code_span("".join(element.itertext()))
        if tag == "a":
            return self.link(element, context)
        if tag == "sup" and (ref := element.find("a[@class='footnote-ref']")) is not None:
            number = self.notes.get(ref.get("href", "").lstrip("#"))
            return f"[^{number}]" if number else ""
        if tag == "abbr":
            text = plain(element)
            if element.get("title"):
                self.abbreviations[text] = " ".join(element.get("title", "").split())
            return self.inline(element, context)
        if tag == "br":
            return " " if context.table or context.heading else BREAK
        if tag == "wbr":
            return ""
        if tag == "img":
            return self.inline_image(element)
        if tag == "input":
            if element.get("type") == "checkbox" and "task-list-item" in self.parents.get(element, element).get(
                    "class", ""):
                done = element.get("checked") is not None
                return escape(self.labels.task_done if done else self.labels.task_open)
            self.warn(element, "a form field cannot be shown on GOV.UK; it was left out")
            return DROPPED
        if tag == "q":
            return f"“{self.inline(element, context)}”"
        if tag in ("del", "s", "strike"):
            self.warn(element, "struck-through text cannot be shown on GOV.UK; its words are kept as plain text")
            return self.inline(element, context)
        if tag in PLAIN:
            return self.inline(element, context)
        if tag in ("ul", "ol"):  # a list in a table cell or a heading
            items = [settle(self.inline(item, context)) for item in element if item.tag == "li"]
            return self.labels.cell_list.join(items)
        if tag in ("p", "div", "li", "dt", "dd", "caption", "figcaption", "summary", "table", "tr", "td", "th",
                   "tbody", "thead", "blockquote", "pre", "dl", "aside", "figure", "section", "details"):
            return " " + self.inline(element, context) + " "
        self.warn(element, f"<{tag}> has no govspeak equivalent; its text is kept")
        return self.inline(element, context)

    def inline_image(self, image: etree.Element) -> str:
        alt = " ".join(image.get("alt", "").split())
        if "decorative" in image.get("class", "").split() or not alt:
            return DROPPED  # decoration: nothing to say
        if " ".join((image.tail or "").split()).lower().startswith(alt.lower()):
            return DROPPED  # an icon before the words it stands for ("✓ Done"): the words say it
        self.warn(image, f"an image inside a line of text cannot be shown on GOV.UK; its alt text '{alt}' is "
                         "written instead")
        return escape(alt)

    def link(self, anchor: etree.Element, context: Context) -> str:
        text = settle(self.inline(anchor, replace(context, link=True)), keep_breaks=False)
        target = anchor.get("data-chapter")
        href = anchor.get("href", "")
        if target:
            return self.xref(anchor, text, target, href, context)
        if context.link or not href or href.startswith("#"):
            return text
        return f"[{text or escape(href.removeprefix('mailto:'))}]({url(href)})"

    def xref(self, anchor: etree.Element, text: str, target_id: str, href: str, context: Context) -> str:
        """A cross-reference: a link on the same page when GOV.UK's anchor is certain, else words."""
        labels = self.labels
        local = anchor.get("data-id", "")
        target = self.export.by_id[target_id]
        words = plain(anchor)
        if href and not context.link:
            return f"[{text}]({href})"
        name = target_name(target, local)
        if target_id == self.chapter.id:
            return text if not local or words == name else labels.xref_target.format(text=text, target=escape(name))
        page = escape(target.display_title)
        if not local:
            return text if words == target.display_title else labels.xref_page.format(text=text, page=page)
        if words == name:
            return labels.xref_in.format(text=text, page=page)
        return labels.xref_target_in.format(text=text, target=escape(name), page=page)


QUOTE_MARKS = "\"“”„‟″‶"  # those GOV.UK removes from the ends of a blockquote's lines


def guard_quote_marks(line: str) -> str:
    """A blockquote line whose quotation marks GOV.UK will keep.

    GOV.UK removes quotation marks at the start and end of a blockquote's lines (its styles add their
    own), which is right for a quotation wrapped in them, and breaks one that starts or ends with a
    quoted word ("“Integration” is ..."). Those marks are written as entities, which it leaves alone."""
    marks = sum(line.count(mark) for mark in QUOTE_MARKS)
    if not line or (marks == 2 and line[0] in QUOTE_MARKS and line[-1] in QUOTE_MARKS):
        return line
    if line[0] in QUOTE_MARKS:
        line = f"&#{ord(line[0])};{line[1:]}"
    if line[-1] in QUOTE_MARKS:
        line = f"{line[:-1]}&#{ord(line[-1])};"
    return line


def replace(context: Context, **changes: bool) -> Context:
    return dataclasses.replace(context, **changes)


def wrap(mark: str, text: str) -> str:
    """`text` emphasised; spaces at its edges go outside the marks, where kramdown needs them."""
    core = text.strip(" ")
    if not core.strip(BREAK + " "):
        return text
    lead = text[: len(text) - len(text.lstrip(" "))]
    trail = text[len(text.rstrip(" ")):]
    return f"{lead}{mark}{core}{mark}{trail}"


def settle(text: str, keep_breaks: bool = True) -> str:
    """Inline text with its spaces settled and hard line breaks written as govspeak's (two spaces)."""
    text = re.sub(f" *{DROPPED} *(?=[.,;:!?)])", "", text).replace(DROPPED, "")
    text = re.sub(r" {2,}", " ", text)
    lines = [line.strip() for line in text.split(BREAK)]
    if not keep_breaks:
        return " ".join(line for line in lines if line)
    return "  \n".join(line for line in lines if line)


def indent(text: str, pad: str) -> str:
    return "\n".join(pad + line if line else line for line in text.split("\n"))


# -- The places appendix ----------------------------------------------------------------------------

@dataclass
class PlacesPage:
    """'Places quoted in this report': the chapters that quote each place, instead of the print pages."""

    export: Export
    page: Page
    rows: list[list[str]] = field(default_factory=list)

    def render(self) -> str:
        manuscript, labels = self.export.manuscript, self.export.labels
        quotes: dict[str, dict[str, int]] = {}  # place key -> chapter id -> quotes
        for chapter in manuscript.chapters:
            for quote in chapter.quotes:
                counts = quotes.setdefault(quote.place.key, {})
                counts[chapter.id] = counts.get(chapter.id, 0) + 1
        count = len(quotes)
        intro = labels.places_intro_one if count == 1 else labels.places_intro.format(count=count)
        lines = [f"| {' | '.join(escape(name) for name in labels.places_columns)} |", "|---|---|---|---|"]
        for key in sorted(quotes, key=lambda k: manuscript.places[k].name.lower()):
            place = manuscript.places[key]
            where = [labels.quote_count.format(chapter=self.export.by_id[chapter].display_title, count=number)
                     if number > 1 else self.export.by_id[chapter].display_title
                     for chapter, number in quotes[key].items()]
            cells = [place.name, place.region, place.programme, labels.cell_list.join(where)]
            lines.append(f"| {' | '.join(escape(cell) or ' ' for cell in cells)} |")
        return "\n\n".join([escape_lines(escape(intro)), escape_lines(escape(labels.places_caption)),
                            "\n".join(lines)]) + "\n"
