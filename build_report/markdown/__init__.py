"""Python-Markdown set up for report chapters.

`parse_chapter_body` turns chapter Markdown into an ElementTree `<div>` whose
block elements carry `data-line` attributes. The features of the manuscript
format are Python-Markdown extensions in this package:

- lines.py     source line of every block (for diagnostics and reviewers)
- places.py    place quotes
- captions.py  figures from lone images, `Table:` captions
- boxes.py     `!!! box "Title"` boxes

The rest is Python-Markdown's own: tables, footnotes, attribute lists,
heading ids (toc), smart quotes and dashes (smarty), plus pymdown-extensions'
`critic` for review marks.
"""

from __future__ import annotations

import html.entities
import re
from typing import Callable
from xml.etree import ElementTree as etree

import markdown

from ..model import Place
from ..text import slugify
from .boxes import BoxExtension
from .captions import CaptionExtension
from .lines import SourceLinesExtension
from .places import PlaceQuoteExtension


def _slug(value: str, separator: str) -> str:
    return slugify(value) or "section"


def make_markdown(
    places: dict[str, Place] | None,
    report: Callable[[int, str], None],
    first_line: int = 1,
    critic_mode: str = "view",
) -> markdown.Markdown:
    """A Markdown instance for one chapter; `report(line, message)` receives errors.

    `places` None means the places file could not be read: attributions are left unchecked."""
    return markdown.Markdown(
        output_format="xhtml",
        extensions=[
            "tables",
            "footnotes",
            "attr_list",
            "smarty",
            "toc",
            "pymdownx.critic",
            SourceLinesExtension(first_line=first_line),
            PlaceQuoteExtension(places=places, report=report),
            CaptionExtension(),
            BoxExtension(),
        ],
        extension_configs={
            "toc": {"slugify": _slug, "permalink": False},
            "footnotes": {"BACKLINK_TEXT": "\u21a9", "SUPERSCRIPT_TEXT": "{}"},
            "smarty": {"smart_angled_quotes": False},
            "pymdownx.critic": {"mode": critic_mode},
        },
    )


_NAMED_ENTITY = re.compile(r"&([A-Za-z][A-Za-z0-9]*);")
_XML_ENTITIES = {"amp", "lt", "gt", "quot", "apos"}


def _numeric_entity(match: re.Match) -> str:
    name = match.group(1)
    if name in _XML_ENTITIES or name not in html.entities.name2codepoint:
        return match.group(0)
    return f"&#{html.entities.name2codepoint[name]};"


def html_to_tree(text: str) -> etree.Element:
    """Parse Python-Markdown's XHTML output back into a tree rooted at `<div>`."""
    return etree.fromstring(f"<div>{_NAMED_ENTITY.sub(_numeric_entity, text)}</div>")
