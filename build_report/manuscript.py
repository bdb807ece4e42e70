"""Load and parse stages: the manuscript folder -> a `Manuscript` of `Chapter`s.

1. report.yaml and places.yaml (config.py);
2. each chapter's front matter, which decides its kind and so its label
   (1, 2, 3 for chapters; A, B for appendices; none for front matter);
3. each chapter's Markdown, through the extensions in `markdown/`;
4. a pass over each chapter's tree that numbers sections, figures and tables
   and collects headings, quotes, links and ids into the model;
5. cross-references resolved against the whole manuscript.

Every problem is collected in `Diagnostics`; errors stop the build after the
whole manuscript has been read, so an author sees them all at once.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit
from xml.etree import ElementTree as etree

from . import cache, confine, images, schema
from .config import load_places, load_report, parse_yaml, read_source
from .diagnostics import Diagnostics
from .model import RESERVED_IDS, Caption, Chapter, Heading, Link, Location, Manuscript, Quote
from .review import scan_marks
from .text import did_you_mean, letter, slugify

FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?\n)?---[ \t]*\n", re.S)
MISSING_FOOTNOTE = re.compile(r"\[\^([^\]\s]+)\]")

# Attributes that `_collect` and later stages set (cross-references, checked images, draft marks).
# Raw HTML keeps an author's data-* attributes, so these are removed first: an author's own
# `<a data-xref>` would otherwise be taken for a link, or `data-src` for a checked image.
LATER_MARKERS = frozenset({"data-xref", "data-chapter", "data-id", "data-src", "data-size", "data-ref", "data-n"})

def load(root: Path, diagnostics: Diagnostics, critic_mode: str = "view", styles: Path | None = None,
         after: Callable[[Manuscript, Diagnostics], None] | None = None) -> Manuscript:
    """Read and parse a whole manuscript; raise `ManuscriptError` on errors. `styles` is the
    styles folder of the build (its themes are what `theme:` may name); `after(manuscript,
    diagnostics)` checks a manuscript that loaded (build.load: the glyphs).

    With the build cache on (cache.py), a manuscript none of whose files changed is the one
    parsed before, with the same diagnostics; Markdown is then not even imported."""
    root = root.resolve()
    if not root.is_dir():
        diagnostics.error(Location(str(root)), "manuscript folder not found")
        diagnostics.check()
    checks = f"{after.__module__}.{after.__qualname__}" if after else ""
    key = cache.parse_key(root, styles, critic_mode, checks) if cache.enabled() else ""
    found = cache.cached_parse(key) if key else None
    if found is not None:
        cached, found_in_parse, found_after = found
        cache.replay(diagnostics, found_in_parse)
        diagnostics.check()
        cache.replay(diagnostics, found_after)
        cache.note_source(cached, key)
        return cached
    start = len(diagnostics.items)
    report = load_report(root, diagnostics, styles)
    places = load_places(root, report.places if report else "places.yaml", diagnostics)
    manuscript = Manuscript(root, report, places or {}, places_readable=places is not None)  # type: ignore[arg-type]
    if report is not None:
        _read_chapters(manuscript, diagnostics, critic_mode)
        resolve_references(manuscript, diagnostics)
    diagnostics.check()
    parsed = len(diagnostics.items)
    if after is not None:
        after(manuscript, diagnostics)
    if key:
        cache.store_parse(key, manuscript, diagnostics.items[start:parsed], diagnostics.items[parsed:])
        cache.note_source(manuscript, key)
    return manuscript


def _read_chapters(manuscript: Manuscript, diagnostics: Diagnostics, critic_mode: str) -> None:
    """Fill `manuscript.chapters`, in report.yaml order."""
    sources: list[tuple[Chapter, str, int]] = []
    counters = {"chapter": 0, "appendix": 0}
    seen: dict[str, str] = {}
    listed: dict[str, Location] = {}
    # load_report gives one location per listed chapter (the validated list is the YAML list, item for item).
    for entry, listed_at in zip(manuscript.report.chapters, manuscript.report.chapter_locations, strict=True):
        try:
            path = confine.inside(manuscript.root, entry)
        except confine.Outside as reason:
            diagnostics.error(listed_at, f"chapter '{entry}' {reason}")
            continue
        rel = confine.relative(path, manuscript.root)  # a symlink inside the folder reads as its target
        if rel in listed:
            diagnostics.error(listed_at, f"chapter '{entry}' is listed twice (first at line {listed[rel].line})")
            continue
        listed[rel] = listed_at
        problem = confine.file_problem(path)
        if problem == "not found":
            others = [p.name for p in path.parent.glob("*.md") if p.name != path.name] if path.parent.is_dir() else []
            hint = did_you_mean(PurePosixPath(entry).name, others, 0.8)
            diagnostics.error(listed_at, f"chapter file '{entry}' not found{hint}")
            continue
        if problem:
            diagnostics.error(listed_at, f"chapter '{entry}' {problem.replace('a file', 'a Markdown file')}")
            continue
        text = read_source(path, rel, diagnostics)
        if text is None:
            continue
        meta, body, first_line = _front_matter(text, rel, diagnostics)
        chapter = Chapter(path=rel, id=meta.get("id") or _default_id(path), title=meta.get("title", ""),
                          kind=meta.get("kind", "chapter"), source_lines=text.count("\n") + 1)
        if chapter.id in seen:
            diagnostics.error(Location(rel, 1),
                              f"duplicate chapter id '{chapter.id}' (also used by {seen[chapter.id]})")
        elif chapter.id in RESERVED_IDS:
            diagnostics.error(Location(rel, 1), f"chapter id '{chapter.id}' is reserved for a page the build makes; "
                                                "give the chapter another 'id:' in its front matter")
        seen[chapter.id] = rel
        if chapter.kind == "front" and any(c.kind != "front" for c, _, _ in sources):
            diagnostics.warning(listed_at, f"front matter '{entry}' comes after the body; list it before the chapters")
        if chapter.kind in counters:
            counters[chapter.kind] += 1
            n = counters[chapter.kind]
            chapter.label = str(n) if chapter.kind == "chapter" else letter(n - 1)
        sources.append((chapter, body, first_line))
    for chapter, body, first_line in sources:
        _parse(chapter, body, first_line, manuscript, diagnostics, critic_mode)
        manuscript.chapters.append(chapter)


def _default_id(path: Path) -> str:
    return slugify(re.sub(r"^\d+[-_ ]*", "", path.stem)) or slugify(path.stem) or "chapter"


def _front_matter(text: str, rel: str, diagnostics: Diagnostics) -> tuple[dict[str, str], str, int]:
    """(the valid front-matter values: title, id, kind; the body; the body's first line).

    What the keys may hold, and which other keys are warned about, is `schema.FRONT_MATTER`."""
    match = FRONT_MATTER.match(text)
    if not match:
        return {}, text, 1
    # The YAML starts at file line 2, below the opening '---'.
    meta = parse_yaml(match.group(1) or "", Location(rel, 2), diagnostics, what="front matter")
    where = schema.Where(schema.Problems(diagnostics, rel), "front matter", 2)
    values = {} if meta is None else schema.FRONT_MATTER.validate(meta, where)
    body = text[match.end():]
    return values, body, text[: match.end()].count("\n") + 1


def _parse(chapter: Chapter, body: str, first_line: int, manuscript: Manuscript,
           diagnostics: Diagnostics, critic_mode: str) -> None:
    # A line an extension counts on from its block's line (raw HTML after a box's added title, say) may
    # run past the end of the file; the last line is then the nearest true one.
    def report(line: int, message: str) -> None:
        diagnostics.error(Location(chapter.path, min(line, chapter.source_lines)), message)

    def warn(line: int, message: str) -> None:
        diagnostics.warning(Location(chapter.path, min(line, chapter.source_lines)), message)

    tree = _markdown(chapter, body, first_line, manuscript, diagnostics, critic_mode, report, warn)
    chapter.body = tree
    _take_title(chapter, tree, diagnostics)
    # Lines as Markdown counts them: split at \n only (str.splitlines would split at U+0085 and U+2028 too).
    _collect(chapter, tree, manuscript, diagnostics, ([""] * (first_line - 1)) + body.split("\n"))
    # The same scan as accept/reject, which refuse to run while one of these remains.
    for problem in scan_marks("\n" * (first_line - 1) + body).unbalanced:
        warn(problem.line, str(problem))


def _markdown(chapter: Chapter, body: str, first_line: int, manuscript: Manuscript, diagnostics: Diagnostics,
              critic_mode: str, report: Callable[[int, str], None], warn: Callable[[int, str], None]) -> etree.Element:
    """The chapter's Markdown as a tree (markdown.parse), with what the extensions reported.

    With the build cache on, a chapter whose text and inputs are those of an earlier parse is read
    back with its diagnostics (cache.py), so an edit parses again only the chapter edited. A chapter
    that includes files (`--8<--`) is always parsed: what it includes is not in the key."""
    places = manuscript.places if manuscript.places_readable else None
    key = ""
    if cache.enabled() and "8<" not in body:
        key = cache.chapter_key(chapter.path, chapter.source_lines, body, first_line, critic_mode, places)
        found = cache.cached_chapter(key)
        if found is not None:
            tree, reported = found
            cache.replay(diagnostics, reported)
            return tree
    start = len(diagnostics.items)
    from .markdown import make_markdown, parse  # here: a cached manuscript (cache.py) never needs Markdown

    tree = parse(make_markdown(places, report, first_line, critic_mode, root=manuscript.root, warn=warn), body)
    if key:
        cache.store_chapter(key, tree, diagnostics.items[start:])
    return tree


def _take_title(chapter: Chapter, tree: etree.Element, diagnostics: Diagnostics) -> None:
    """Without a front-matter title, the first `# Heading` is the chapter title."""
    first = tree.find("h1")
    if not chapter.title and first is not None:
        chapter.title = _text(first)
        tree.remove(first)
    elif first is not None and _text(first) == chapter.title:
        tree.remove(first)
    if not chapter.title:
        diagnostics.error(Location(chapter.path, 1),
                          "chapter has no title: add 'title:' to the front matter or a '# Heading'")
        chapter.title = chapter.id


def _text(element: etree.Element) -> str:
    return " ".join("".join(element.itertext()).split())


def line_of(element: etree.Element | None, parents: dict) -> int:
    """The source line of an element: its own `data-line` or its nearest block's."""
    while element is not None:
        if line := element.get("data-line"):
            return int(line)
        element = parents.get(element)
    return 0


def _collect(chapter: Chapter, tree: etree.Element, manuscript: Manuscript, diagnostics: Diagnostics,
             lines: list[str]) -> None:
    """Number sections, figures and tables; gather ids, quotes and links into the model."""
    parents = {child: parent for parent in tree.iter() for child in parent}
    for element in tree.iter():  # markers that only this stage and later ones set: never an author's raw HTML
        for name in LATER_MARKERS.intersection(element.keys()):
            del element.attrib[name]
    # Text in code spans and code blocks is literal: a `[^x]` there is not a footnote.
    code = {inner for element in tree.iter() if element.tag in ("code", "pre") for inner in element.iter()}

    def at(element: etree.Element, needle: str = "") -> Location:
        """The element's block line; with `needle`, the line in that block where it is written."""
        line = line_of(element, parents)
        if needle and line:
            line = next((n for n in range(line, min(line + 60, len(lines) + 1)) if needle in lines[n - 1]), line)
        return Location(chapter.path, line)

    numbered = chapter.kind != "front"
    sections = 0
    # Numbered chapters count from 1 ("2.1"); front matter counts across all front chapters ("1", "2").
    counters = {kind: sum(1 for c in manuscript.chapters if c.kind == "front" for x in c.captions if x.kind == kind)
                if chapter.kind == "front" else 0 for kind in ("figure", "table")}
    for element in tree.iter():
        tag = element.tag
        element_id = element.get("id")
        if element_id:
            if element_id in chapter.ids:
                first = chapter.ids.get(element_id, Location("", 1)).line
                diagnostics.error(at(element), f"duplicate id '{element_id}' (first used at line {first})")
            else:
                chapter.ids[element_id] = at(element)
        if tag in ("h2", "h3", "h4", "h5", "h6"):
            number = ""
            if tag == "h2" and numbered:
                sections += 1
                number = f"{chapter.label}.{sections}"
                span = etree.Element("span", {"class": "number"})
                span.text, span.tail = number, " " + (element.text or "")
                element.text = None
                element.insert(0, span)
            title = _text(element).removeprefix(number).strip()
            level = int(tag[1])
            above = chapter.headings[-1].level if chapter.headings else 1  # 1: the chapter's title
            if level > above + 1:
                diagnostics.warning(at(element), f"a '{'#' * level} ' heading after a '{'#' * above} ' one skips "
                                                 f"a level; use '{'#' * (above + 1)} ' (readers move by heading "
                                                 "levels, and PDF/UA-1 allows no skipped level)")
            chapter.headings.append(Heading(element_id or "", level, title, number, at(element)))
        elif tag == "h1":
            diagnostics.warning(at(element), "a second '# ' heading in a chapter; use '## ' for sections")
        elif tag == "figure" and "place-quote" in element.get("class", ""):
            # places.py sets data-place to a known key; raw HTML may give none, or an unknown one.
            place = manuscript.places.get(element.get("data-place", ""))
            if place is not None:
                role = element.find("./figcaption/span[@class='role']")
                quote = Quote(element_id or "", place, _text(role) if role is not None else "", at(element))
                chapter.quotes.append(quote)
        elif ((tag == "figure" and "figure" in element.get("class", "").split())
              or (tag == "table" and element.find("caption") is not None)):
            kind = "figure" if tag == "figure" else "table"
            counters[kind] += 1
            number = f"{chapter.label}.{counters[kind]}" if chapter.label else str(counters[kind])
            caption = element.find("figcaption" if kind == "figure" else "caption")
            if caption is None:
                caption = etree.SubElement(element, "figcaption")
            label = etree.Element("span", {"class": "caption-label"})
            label.text, label.tail = f"{kind.capitalize()} {number}", " " + (caption.text or "")
            caption.text = None
            caption.insert(0, label)
            chapter.captions.append(Caption(element_id or "", kind, number, _text(caption), at(element)))
        elif _is_review_mark(element, parents):
            chapter.review_marks.append(at(element))
        elif tag == "img":
            _check_image(chapter, element, at(element, element.get("src", "")), manuscript, diagnostics)
        elif tag == "a" and element.get("href") is not None:
            _collect_link(chapter, element, at(element, element.get("href", "")), diagnostics)
        for value, owner in ((element.text, element), (element.tail, parents.get(element, element))):
            if value and owner not in code:
                for match in MISSING_FOOTNOTE.finditer(value):
                    diagnostics.error(at(owner, match.group()), f"footnote '[^{match.group(1)}]' has no definition")


def _is_review_mark(element: etree.Element, parents: dict) -> bool:
    """CriticMarkup rendered by pymdownx.critic; a substitution (del + ins) counts once."""
    classes = element.get("class", "").split()
    if "critic" not in classes or element.tag not in ("ins", "del", "mark", "span"):
        return False
    if element.tag == "ins":
        siblings = list(parents[element])
        index = siblings.index(element)
        previous = siblings[index - 1] if index else None
        if previous is not None and previous.tag == "del" and not (previous.tail or "").strip():
            return False
    return True


def _check_image(chapter: Chapter, image: etree.Element, where: Location, manuscript: Manuscript,
                 diagnostics: Diagnostics) -> None:
    src = image.get("src", "")
    decorative = "decorative" in image.get("class", "").split()
    if decorative and image.get("alt", "").strip():
        diagnostics.warning(where, f"image '{src}' is marked {{.decorative}} but has alt text; "
                                   "a decorative image has none (remove one or the other)")
    elif not decorative and not image.get("alt", "").strip():
        diagnostics.error(where, f"image '{src}' has no alt text: describe it in ![...], "
                                 "or mark a purely decorative image with {.decorative}")
    if decorative:
        image.set("alt", "")
    if urlsplit(src).scheme:
        diagnostics.error(where, f"image '{src}' must be a file in the manuscript, not a URL "
                                 "(a build never downloads): save it in images/")
        return
    if not src.strip():  # none given, or raw HTML's src removed as unsafe (warned about at its line)
        diagnostics.error(where, "image without a file: give its path, as in ![Alt text](../images/figure.png)")
        return
    try:
        target = confine.inside(manuscript.root, unquote(src), chapter.path)
    except confine.Outside as reason:
        diagnostics.error(where, f"image '{src}' {reason}")
        chapter.links.append(Link(src, image.get("alt", ""), where, chapter.id, "image"))
        return
    rel = confine.relative(target, manuscript.root)
    problem = confine.file_problem(target)
    if problem == "not found":
        names = [p.name for p in target.parent.glob("*")] if target.parent.is_dir() else []
        diagnostics.error(where, f"image '{src}' not found{did_you_mean(target.name, names)}")
    elif problem:
        diagnostics.error(where, f"image '{src}' {problem}")
    else:
        try:
            info = images.inspect(target, manuscript.root)
        except images.ImageProblem as problem:
            diagnostics.error(where, f"image '{src}' {problem}")
        except OSError as exc:
            diagnostics.error(where, f"image '{src}' cannot be read ({exc.strerror or exc})")
        else:
            image.set("data-src", rel)
            if info.width and info.height:
                image.set("data-size", f"{info.width:g}x{info.height:g}")
    chapter.links.append(Link(src, image.get("alt", ""), where, chapter.id, "image"))


def _collect_link(chapter: Chapter, anchor: etree.Element, where: Location, diagnostics: Diagnostics) -> None:
    href = anchor.get("href", "")
    text = _text(anchor)
    cls = anchor.get("class", "")
    if "footnote-ref" in cls or "footnote-backref" in cls:
        return
    try:
        scheme = urlsplit(href).scheme.lower()
        urlsplit(href).hostname  # noqa: B018 - raises on an unparsable [IPv6] host
    except ValueError as exc:
        diagnostics.error(where, f"link '{href}' is not a valid URL ({exc})")
        return
    if scheme in ("http", "https"):
        chapter.links.append(Link(href, text, where, chapter.id, "external"))
    elif scheme == "mailto":
        chapter.links.append(Link(href, text, where, chapter.id, "mailto"))
    elif scheme:
        diagnostics.warning(where, f"link '{href}' uses an unsupported scheme '{scheme}'")
    else:
        chapter.links.append(Link(href, text, where, chapter.id, "xref"))
        anchor.set("data-xref", href)


def resolve_references(manuscript: Manuscript, diagnostics: Diagnostics) -> None:
    """Point every cross-reference at a chapter and a local id; fill empty link text.

    A resolved `<a>` gets `data-chapter` (target chapter id) and, for a target
    inside the chapter, `data-id`. Writers turn these into hrefs for their format.
    """
    by_path = {c.path: c for c in manuscript.chapters}
    listed = {_normalise(entry) for entry in manuscript.report.chapters}
    for chapter in manuscript.chapters:
        if chapter.body is None:
            continue  # not parsed, so it has no links either
        anchors = [a for a in chapter.body.iter("a") if a.get("data-xref") is not None]
        links = [link for link in chapter.links if link.kind == "xref"]
        # One anchor per xref Link: `_collect` removed any data-xref an author wrote in raw HTML.
        for anchor, link in zip(anchors, links, strict=True):
            split = urlsplit(link.url)
            target = chapter
            if split.path:
                target_path = _normalise((PurePosixPath(chapter.path).parent / unquote(split.path)).as_posix())
                found = by_path.get(target_path)
                if found is None and target_path in listed:
                    continue  # a listed chapter that failed to load is reported already
                if found is None:
                    hint = did_you_mean(PurePosixPath(split.path).name, [PurePosixPath(p).name for p in by_path], 0.8)
                    diagnostics.error(link.source, f"cross-reference to '{link.url}': "
                                                   f"no chapter '{split.path}' in report.yaml{hint}")
                    continue
                target = found
            fragment = unquote(split.fragment)
            if fragment == target.id:
                fragment = ""
            if fragment and fragment not in target.ids:
                hint = did_you_mean(fragment, sorted(target.ids))
                diagnostics.error(link.source, f"cross-reference to '{link.url}': "
                                               f"no heading, figure or table '#{fragment}' in {target.path}{hint}")
                continue
            _point(anchor, target, fragment)


def _point(anchor: etree.Element, target: Chapter, fragment: str) -> None:
    anchor.set("data-chapter", target.id)
    if fragment:
        anchor.set("data-id", fragment)
    anchor.set("class", (anchor.get("class", "") + " xref").strip())
    if not _text(anchor) and len(anchor) == 0:
        anchor.text = target_name(target, fragment)


def target_name(chapter: Chapter, fragment: str) -> str:
    """The text an empty cross-reference shows: 'Chapter 2, Working across boundaries'."""
    if not fragment:
        return chapter.display_title
    for heading in chapter.headings:
        if heading.id == fragment:
            return f"Section {heading.number}, {heading.title}" if heading.number else heading.title
    for caption in chapter.captions:
        if caption.id == fragment:
            return f"{caption.kind.capitalize()} {caption.number}"
    for quote in chapter.quotes:
        if quote.id == fragment:
            return f"the quote from {quote.place.name}"
    return chapter.display_title


def _normalise(path: str) -> str:
    parts: list[str] = []
    for part in path.split("/"):
        if part == "..":
            if parts:
                parts.pop()
        elif part not in ("", "."):
            parts.append(part)
    return "/".join(parts)
