"""The data model that flows through every stage.

load (config.py) -> parse (manuscript.py) -> assemble (assemble.py)
-> render/finish (pdf.py, epub.py) -> write (output.py)

Every item that came from a file knows where: a `Location` of a path relative
to the manuscript folder and a 1-based line, so any stage can report a problem
in the compiler style `path:line: error: message`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as etree

from .themes import STYLES

# Ids of the pages and parts a build makes itself; a chapter may not take one (its id is an anchor
# and a file name beside them).
PLACES_ID = "places-quoted"
RESERVED_IDS = frozenset({PLACES_ID, "contents", "contents-title", "title", "toc", "toc-title", "landmarks",
                          "page-list", "cover", "titlepage", "nav", "changes-summary", "changes-title"})


@dataclass(frozen=True, order=True)
class Location:
    path: str  # relative to the manuscript folder, with forward slashes
    line: int = 0  # 1-based; 0 when the whole file is meant

    def __str__(self) -> str:
        return f"{self.path}:{self.line}" if self.line else self.path


@dataclass(frozen=True)
class Place:
    key: str
    name: str
    region: str = ""
    programme: str = ""
    source: Location = Location("places.yaml")


@dataclass
class Quote:
    id: str  # anchor id, unique within its chapter
    place: Place
    role: str
    source: Location


@dataclass
class Heading:
    id: str
    level: int  # 1 = chapter title, 2 = section, 3 = subsection, ...
    title: str  # plain text
    number: str = ""  # "2.3" for numbered sections, "" otherwise
    source: Location = Location("")


@dataclass
class Caption:
    """A numbered figure or table."""

    id: str
    kind: str  # "figure" or "table"
    number: str  # "2.1", "A.1"
    text: str
    source: Location


@dataclass
class Link:
    """A hyperlink in the manuscript, as written by the author."""

    url: str  # as written (a relative .md path, #anchor, https:, mailto:)
    text: str
    source: Location
    chapter_id: str = ""
    kind: str = "external"  # "external", "mailto", "xref", "image"


@dataclass
class Chapter:
    path: str  # manuscript-relative, e.g. "chapters/02-boundaries.md"
    id: str
    title: str
    kind: str  # "front", "chapter" or "appendix"
    label: str = ""  # "1", "2", "A"; "" for front matter
    body: etree.Element | None = None  # parsed content, local ids
    headings: list[Heading] = field(default_factory=list)
    quotes: list[Quote] = field(default_factory=list)
    captions: list[Caption] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    ids: dict[str, Location] = field(default_factory=dict)  # every id in the chapter
    review_marks: list[Location] = field(default_factory=list)  # CriticMarkup still in the text
    source_lines: int = 0

    @property
    def display_title(self) -> str:
        """"Chapter 2, Working across boundaries" style name used by cross-references."""
        if self.kind == "chapter":
            return f"Chapter {self.label}, {self.title}"
        if self.kind == "appendix":
            return f"Appendix {self.label}, {self.title}"
        return self.title


@dataclass
class Report:
    """report.yaml, validated."""

    title: str
    chapters: list[str]
    subtitle: str = ""
    authors: list[str] = field(default_factory=list)
    publisher: str = ""
    date: str = ""
    version: str = ""
    language: str = "en-GB"
    identifier: str = ""
    rights: str = ""
    description: str = ""
    keywords: list[str] = field(default_factory=list)
    cover: str = ""
    places: str = "places.yaml"  # "" when report.yaml named a file that was refused: none is read
    links: dict[str, Any] = field(default_factory=dict)
    theme: str = ""  # a file of styles/themes/ (its name without .css); "" is themes.DEFAULT
    chapter_locations: list[Location] = field(default_factory=list)  # where each chapter is listed


@dataclass
class Manuscript:
    root: Path
    report: Report
    places: dict[str, Place]  # by key
    chapters: list[Chapter] = field(default_factory=list)
    places_readable: bool = True  # False when places.yaml could not be read: quotes go unchecked

    @property
    def slug(self) -> str:
        from .text import slugify

        return slugify(self.report.title) or "report"

    def links(self) -> list[Link]:
        return [link for chapter in self.chapters for link in chapter.links]


@dataclass(frozen=True)
class Options:
    """What to build, decided once by the CLI and passed to every stage (also `assemble.Options`)."""

    draft: bool = False
    source_refs: bool = False
    self_contained: bool = False  # embed fonts and images as data: URLs
    styles: Path = STYLES
    stamp: str = ""  # draft stamp text: version, date, commit
    only: str = ""  # a chapter id: render just that chapter (per-chapter drafts)
    summary: str = ""  # HTML placed before the contents (the "what changed" summary)
    status: tuple[tuple[str, str], ...] = ()  # (chapter id, "added" | "removed") in a diff
    press: bool = False  # the press edition (writers/print_pdf.py): bleed, crop marks, chapters on rectos
    jobs: int = 1  # processes that render the PDF in parts (parallel.py); 1: one WeasyPrint pass

    def replace(self, **changes) -> Options:
        return dataclasses.replace(self, **changes)
