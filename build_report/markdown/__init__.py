"""Python-Markdown set up for report chapters.

`make_markdown` gives a Markdown instance for one chapter, and `parse` turns
the chapter's Markdown into an ElementTree `<div>` whose block elements carry
`data-line` attributes. The features of the manuscript format are
Python-Markdown extensions in this package:

- lines.py     source line of every block (for diagnostics and reviewers)
- places.py    place quotes, and quotations credited to people
- captions.py  figures from lone images, `Table:` captions
- boxes.py     `!!! box "Title"`, admonitions and GitHub alerts as boxes
- rawhtml.py   raw HTML: checked, sanitised with nh3, parsed as HTML5
- includes.py  `--8<-- "file"` includes, confined to the manuscript
- lists.py     nested lists indented by two or three spaces, as on GitHub
- critic.py    review marks: pymdownx.critic's rendering, finding marks with review.scan_marks
- prescan.py   bounds on line length and nesting, unclosed code fences, before parsing
- footnotes.py footnotes defined twice or never used; notes numbered in call order
- tables.py    a warning for a table row with more cells than its header
- longwords.py break opportunities in words too long to lay out quickly

The rest comes from the libraries: Python-Markdown's tables and footnotes (the
base of tables.py and footnotes.py), attribute lists, definition lists, abbreviations, md_in_html, heading ids
(toc) and smart quotes (smarty); pymdown-extensions' superfences and highlight
(fenced code, Pygments), tilde (strikethrough), tasklist, magiclink (bare URLs)
and critic (review marks).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from xml.etree import ElementTree as etree

import markdown

from ..model import Place
from ..text import slugify
from .boxes import BoxExtension
from .captions import CaptionExtension
from .critic import CriticExtension
from .footnotes import FootnoteExtension
from .includes import IncludeExtension
from .lines import SourceLinesExtension, finish_lines
from .lists import ListIndentExtension
from .longwords import LongWordExtension
from .places import PlaceQuoteExtension
from .prescan import PrescanExtension
from .rawhtml import RawHtmlExtension, html_to_tree
from .tables import TableExtension


def _slug(value: str, separator: str) -> str:
    return slugify(value) or "section"


Report = Callable[[int, str], None]


def make_markdown(
    places: dict[str, Place] | None,
    report: Report,
    first_line: int = 1,
    critic_mode: str = "view",
    root: Path | None = None,
    warn: Report | None = None,
) -> markdown.Markdown:
    """A Markdown instance for one chapter; `report(line, message)` receives errors
    and `warn(line, message)` warnings (by default, errors too).

    `places` None means the places file could not be read: attributions are left unchecked.
    `root` is the manuscript folder, for includes; without it there are none."""
    warn = warn or report
    lines = SourceLinesExtension(first_line=first_line)
    md = markdown.Markdown(
        output_format="html",
        extensions=[
            TableExtension(warn=warn),
            FootnoteExtension(report=report, warn=warn, BACKLINK_TEXT="\u21a9", SUPERSCRIPT_TEXT="{}"),
            "attr_list",
            "def_list",
            "sane_lists",
            "abbr",
            "md_in_html",
            "smarty",
            "toc",
            CriticExtension(mode=critic_mode),
            "pymdownx.superfences",
            "pymdownx.highlight",
            "pymdownx.tilde",
            "pymdownx.tasklist",
            "pymdownx.magiclink",
            lines,
            ListIndentExtension(),
            PrescanExtension(first_line=first_line, report=report, warn=warn),
            LongWordExtension(),
            PlaceQuoteExtension(places=places, report=report),
            CaptionExtension(),
            BoxExtension(),
            RawHtmlExtension(report=warn, error=report),
            *([IncludeExtension(root=str(root), first_line=first_line, report=report)] if root else []),
        ],
        extension_configs={
            "toc": {"slugify": _slug, "permalink": False},
            "smarty": {"smart_angled_quotes": False},
            # Pygments classes, no inline styles: the colours are design tokens (styles/).
            "pymdownx.highlight": {"use_pygments": True, "noclasses": False, "guess_lang": False,
                                   "pygments_lang_class": True},
            "pymdownx.tilde": {"subscript": False},
            "pymdownx.tasklist": {"custom_checkbox": False},
            # Bare URLs only; no GitHub-style @mentions or #123 references.
            "pymdownx.magiclink": {"hide_protocol": False, "repo_url_shortener": False},
        },
    )
    md.line_marker = lines.marker  # type: ignore[attr-defined]
    return md


def parse(md: markdown.Markdown, source: str) -> etree.Element:
    """Chapter Markdown -> a `<div>` tree whose blocks carry `data-line`."""
    tree = html_to_tree(md.convert(source))
    finish_lines(tree, md.line_marker.fences)  # type: ignore[attr-defined]
    return tree
