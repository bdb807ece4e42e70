"""Raw HTML in chapters: checked, sanitised, and parsed as HTML5.

Authors bring HTML with their Markdown: `<div class="note">`, `<aside>`, `<br>`,
`<kbd>`, `&nbsp;`, comments. Python-Markdown passes it through as written
(block HTML from its stash, inline tags one by one), so the chapter's output is
HTML5, not XML. This extension handles it in three steps:

1. `RawHtmlCheck`, a postprocessor, scans the output with the standard
   library's HTML parser and reports, at the source line, what the sanitiser is
   about to remove (scripts, frames, event handlers, `javascript:` URLs, tags a
   report cannot hold) and HTML that is not well formed (a closing tag that
   closes nothing, an element never closed).
2. The same postprocessor sanitises the output with nh3 to the allow-list
   below. nh3 (ammonia, on html5ever) parses as a browser does and writes
   balanced, escaped HTML; comments are dropped.
3. `html_to_tree` parses that canonical HTML into an ElementTree.

Lines: the line of a raw HTML block comes from the `data-line` attribute that
`lines.mark` adds to its opening tag; a tag inside a block is counted on from
there.

Markdown inside HTML blocks is read as GitHub reads it: once a blank line follows
the opening tag of a container (`<details>`, `<div>`, `<section>`...), what comes
next is Markdown again (`MarkdownInsideHtml` marks such tags `markdown="1"` for
Python-Markdown's md_in_html), so headings and code in a README's `<details>`
are headings and code, not literal `#` and backticks.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from html.parser import HTMLParser
from urllib.parse import urlsplit
from xml.etree import ElementTree as etree

import nh3
from markdown import Extension
from markdown.postprocessors import Postprocessor
from markdown.preprocessors import Preprocessor

from .lines import CodeTracker

# What a report can hold: text structure, tables, figures, notes, review marks,
# code (Pygments spans), task-list checkboxes. Everything else is removed.
TAGS = {
    "a", "abbr", "aside", "b", "bdi", "bdo", "blockquote", "br", "caption", "cite", "code", "col",
    "colgroup", "dd", "del", "details", "dfn", "div", "dl", "dt", "em", "figcaption", "figure",
    "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "input", "ins", "kbd", "label", "li",
    "mark", "ol", "p", "pre", "q", "s", "samp", "section", "small", "span", "strong", "sub",
    "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "time", "tr", "u", "ul",
    "var", "wbr",
}
# Removed with their content, and worth a warning: they run code or pull in other documents.
DANGEROUS = {"script", "style", "iframe", "frame", "frameset", "object", "embed", "applet", "noscript",
             "template", "form", "button", "textarea", "select", "link", "meta", "base", "svg", "math",
             "audio", "video", "canvas"}
ATTRIBUTES = {
    "*": {"id", "class", "title", "lang", "dir", "role"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan", "style"},
    "th": {"colspan", "rowspan", "scope", "style"},
    "col": {"span"},
    "colgroup": {"span"},
    "ol": {"start", "reversed"},
    "li": {"value"},
    "details": {"open"},
    "time": {"datetime"},
    "blockquote": {"cite"},
    "q": {"cite"},
    "abbr": {"title"},
    "input": {"checked", "disabled"},
}
TAG_ATTRIBUTE_VALUES = {"input": {"type": {"checkbox"}}}
URL_SCHEMES = {"http", "https", "mailto"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
# Python-Markdown's own output is closed properly; these close implicitly in authored HTML.
IMPLIED_END = {"p", "li", "dt", "dd", "tr", "td", "th", "thead", "tbody", "tfoot", "option", "colgroup", "caption"}
_SCHEME = re.compile(r"^\s*([a-z][a-z0-9+.\-]*)\s*:", re.I)
_INVISIBLE = re.compile(r"[\x00-\x20\x7f]+")


def url_scheme(url: str) -> str:
    """The scheme of a URL as a browser reads it: case and embedded control characters ignored."""
    match = _SCHEME.match(_INVISIBLE.sub("", url))
    return match.group(1).lower() if match else ""


# The one style a chapter may set: table cell alignment (Python-Markdown's own `| --: |` writes it too).
# Anything else would fight the report's design, and `url()` would fetch files.
ALIGNMENTS = ("left", "right", "center", "justify", "start", "end")
STYLE_RULE = "a chapter's style may only set text-align to " + ", ".join(ALIGNMENTS[:-1]) + f" or {ALIGNMENTS[-1]}"


def _declarations(value: str) -> list[tuple[str, str]]:
    pairs = (declaration.partition(":") for declaration in value.split(";") if declaration.strip())
    return [(name.strip().lower(), setting.strip().lower()) for name, _, setting in pairs]


def _allowed(tag: str, name: str, setting: str) -> bool:
    return tag in ("td", "th") and name == "text-align" and setting in ALIGNMENTS


def kept_style(tag: str, value: str) -> str:
    """What is left of a `style` attribute: its last valid text-align, on table cells only."""
    kept = [f"text-align: {setting}" for name, setting in _declarations(value) if _allowed(tag, name, setting)]
    return kept[-1] if kept else ""


def style_removes_something(tag: str, value: str) -> bool:
    return not all(_allowed(tag, name, setting) for name, setting in _declarations(value))


def _filter_attribute(tag: str, name: str, value: str) -> str | None:
    if name == "style":
        return kept_style(tag, value) or None
    return value


def sanitise(html: str) -> str:
    return nh3.clean(
        html,
        tags=TAGS,
        clean_content_tags=DANGEROUS - {"svg", "math"},
        attributes=ATTRIBUTES,
        generic_attribute_prefixes={"data-", "aria-"},
        tag_attribute_values=TAG_ATTRIBUTE_VALUES,
        url_schemes=URL_SCHEMES,
        link_rel=None,
        filter_style_properties={"text-align"},
        attribute_filter=_filter_attribute,
        strip_comments=True,
    )


class _Checker(HTMLParser):
    """Walks Markdown's output and reports what is ill-formed or about to be removed."""

    def __init__(self, report: Callable[[int, str], None], error: Callable[[int, str], None]):
        super().__init__(convert_charrefs=True)
        self.report = report
        self.error = error
        self.stack: list[tuple[str, int, int]] = []  # (tag, source line, output line)
        self.base = (0, 1)  # (source line, output line) of the nearest tag with data-line

    def line(self) -> int:
        source, output = self.base
        return source + self.getpos()[0] - output if source else 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._start(tag, attrs)
        if tag not in VOID:
            self.stack.append((tag, self.line(), self.getpos()[0]))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._start(tag, attrs)

    def _start(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        marked = dict(attrs).get("data-line") or ""
        if marked.isdigit():
            self.base = (int(marked), self.getpos()[0])
        line = self.line()
        if tag in DANGEROUS:
            self.report(line, f"<{tag}> is not allowed in a report and was removed, with its content")
        elif tag not in TAGS and tag not in VOID:
            self.report(line, f"<{tag}> is not supported and was removed (its text is kept)")
        for name, value in attrs:
            if name.startswith("on"):
                self.report(line, f"event handler '{name}' on <{tag}> was removed: a report runs no scripts")
            elif name == "style" and value and style_removes_something(tag, value):
                kept = kept_style(tag, value)
                change = f"was cut to '{kept}'" if kept else "was removed"
                self.report(line, f"style='{value[:60]}' on <{tag}> {change}: {STYLE_RULE}")
            elif name in ("href", "src", "cite", "action", "formaction", "xlink:href") and value:
                scheme = url_scheme(value)
                try:
                    urlsplit(value).hostname  # noqa: B018 - raises on an unparsable [IPv6] host
                except ValueError as exc:
                    self.error(line, f"link '{value}' is not a valid URL ({exc}); it was removed")
                    continue
                if scheme and scheme not in URL_SCHEMES:
                    self.report(line, f"{name}='{value[:60]}' on <{tag}> was removed: '{scheme}:' URLs are not allowed")

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        if not any(open_tag == tag for open_tag, _, _ in self.stack):
            self.report(self.line(), f"HTML closing tag </{tag}> has no opening tag; it was ignored")
            return
        while self.stack:
            open_tag, line, _ = self.stack.pop()
            if open_tag == tag:
                break
            if open_tag not in IMPLIED_END:
                self.report(line, f"HTML <{open_tag}> is not closed before </{tag}>; it was closed there")

    def finish(self) -> None:
        self.close()
        for tag, line, _ in self.stack:
            if tag not in IMPLIED_END:
                self.report(line, f"HTML <{tag}> is never closed; it was closed at the end of the chapter")


class RawHtmlPostprocessor(Postprocessor):
    def __init__(self, md, report: Callable[[int, str], None], error: Callable[[int, str], None]):
        super().__init__(md)
        self.report = report
        self.error = error

    def run(self, text: str) -> str:
        if "<" in text:
            checker = _Checker(self.report, self.error)
            checker.feed(text)
            checker.finish()
        return sanitise(text)


# Containers whose content GitHub reads as Markdown after a blank line (a CommonMark HTML block of
# type 6 ends at the first blank line): an opening tag alone on its line, with no markdown= of its own.
_CONTAINER_OPENING = re.compile(
    r"^ {0,3}<(?P<tag>details|div|section|article|aside|blockquote|figure|center|main|header|footer|nav)\b"
    r"(?![^>]*\bmarkdown=)[^>]*?(?=>\s*$)", re.IGNORECASE)


class MarkdownInsideHtml(Preprocessor):
    """`markdown="1"` on a container's opening tag when its element is still open at the first blank
    line after it, and closed later: GitHub reads what follows as Markdown (see the module docstring)."""

    def run(self, lines: list[str]) -> list[str]:
        code = CodeTracker()
        out = []
        for index, line in enumerate(lines):
            is_code, _ = code.step(line)
            opening = None if is_code else _CONTAINER_OPENING.match(line)
            if opening and _open_at_blank_line(lines, index, opening.group("tag")):
                line = f'{line[:opening.end()]} markdown="1"{line[opening.end():]}'
            out.append(line)
        return out


def _open_at_blank_line(lines: list[str], start: int, tag: str) -> bool:
    """Whether the `tag` opened on lines[start] is still open at the first blank line after it, and
    closed later. One never closed is left as raw HTML, for the checker to report at its line."""
    opens, closes = re.compile(rf"<{tag}\b", re.IGNORECASE), re.compile(rf"</{tag}\s*>", re.IGNORECASE)
    depth, blank = 0, False
    for line in lines[start:]:
        if not line.strip():
            blank = True
        depth += len(opens.findall(line)) - len(closes.findall(line))
        if depth <= 0:
            return blank
    return False


class RawHtmlExtension(Extension):
    def __init__(self, **kwargs):
        self.config = {
            "report": [lambda line, message: None, "Called with (line, message) for each warning"],
            "error": [lambda line, message: None, "Called with (line, message) for each error"],
        }
        super().__init__(**kwargs)

    def extendMarkdown(self, md):
        # Last: after raw HTML (30), footnotes and critic (25) and `&` substitution (20) have run.
        processor = RawHtmlPostprocessor(md, self.getConfig("report"), self.getConfig("error"))
        md.postprocessors.register(processor, "sanitise", 0)
        # After the line marks (27), before md_in_html reads HTML blocks (20).
        md.preprocessors.register(MarkdownInsideHtml(md), "markdown_inside_html", 21)


class _TreeBuilder(HTMLParser):
    """nh3's output (balanced, escaped HTML5) -> an ElementTree under `<div>`."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = etree.Element("div")
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = etree.SubElement(self.stack[-1], tag, {k: ("" if v is None else v) for k, v in attrs})
        if tag not in VOID:
            self.stack.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.stack.pop()

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self.stack) - 1, 0, -1):
            if self.stack[index].tag == tag:
                del self.stack[index:]
                return

    def handle_data(self, data: str) -> None:
        parent = self.stack[-1]
        if len(parent):
            parent[-1].tail = (parent[-1].tail or "") + data
        else:
            parent.text = (parent.text or "") + data


def html_to_tree(text: str) -> etree.Element:
    """Parse sanitised chapter HTML into a tree rooted at `<div>`."""
    builder = _TreeBuilder()
    builder.feed(text)
    builder.close()
    return builder.root
