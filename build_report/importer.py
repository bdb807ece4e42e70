"""`build-report import SRC DIR`: a folder of existing Markdown -> a manuscript.

The chapter order comes from, in priority, an MkDocs `mkdocs.yml` nav, an
mdBook `SUMMARY.md`, or the Markdown files themselves in natural order
(README.md or index.md first). Each page is copied to `chapters/NN-slug.md`
(with a `title:` when it has none), the images it uses to `images/`, and links
between pages are pointed at the new file names.

What cannot be carried over is a checklist of `path:line: warning:` lines,
paths relative to SRC. Markup that would stop the build (a remote or missing
image, a link to a page that was not imported, an anchor that does not exist)
is replaced by its text, or the link by its chapter, so the manuscript builds
as imported while the checklist says what to fix.

Nothing outside SRC is read or copied: every path is resolved, symlinks
included, and one that leads out of SRC is skipped with a warning.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO
from urllib.parse import unquote, urlsplit

import yaml

from .diagnostics import BuildReportError, Diagnostics
from .markdown.lines import fence_step
from .model import Location
from .scaffold import require_empty
from .text import slugify

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: book.toml is not read (title, src folder default)
    tomllib = None

BUILD_IMAGES = {".png", ".jpg", ".jpeg", ".svg"}
OTHER_IMAGES = {".gif", ".webp", ".bmp", ".tif", ".tiff", ".avif", ".ico"}
INDEX_NAMES = ("index.md", "README.md", "readme.md", "Readme.md")
SKIP_DIRS = {"node_modules", "_site", "_includes", "_layouts", "__pycache__"}
LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")

FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?\n)?---[ \t]*\n", re.DOTALL)
ATX = re.compile(r"^(#{1,6})(?!#)[ \t]*(.*?)[ \t#]*$")  # as Python-Markdown: no space needed
SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
EXPLICIT_ID = re.compile(r"\{:?[ \t]*#([^\s}]+)[^}\n]*\}")
HTML_ID = re.compile(r"<[A-Za-z][^>]*?\sid=[\"']([^\"']+)[\"']")
TEXT = r"\[((?:[^\[\]\n]|\[[^\[\]\n]*\])*)\]"
DEST = r"\(\s*(<[^<>\n]*>|(?:[^\s()]|\([^\s()]*\))*)(\s+(?:\"[^\"\n]*\"|'[^'\n]*'|\([^()\n]*\)))?\s*\)"
IMAGE = re.compile(r"!" + TEXT + DEST + r"(\{[^}\n]*\})?")
LINK = re.compile(r"(?<!!)" + TEXT + DEST)
REF_DEF = re.compile(r"^( {0,3}\[(?!\^)[^\]\n]+\]:[ \t]*)(<[^<>\n]*>|\S+)(.*)$")
HTML_IMG = re.compile(r"<img\b[^>]*>", re.IGNORECASE)
HTML_HREF = re.compile(r"(<a\b[^>]*?)\s+href=(\"[^\"]*\"|'[^']*')", re.IGNORECASE)
TEMPLATE_TAG = re.compile(r"\{%.*?%\}|\{\{.*?\}\}")
MDBOOK_TAG = re.compile(r"\{\{#.*?\}\}")
TABS = re.compile(r"^\s*===\+?[ \t]+[\"']")
COLLAPSIBLE = re.compile(r"^\s*\?\?\?\+?[ \t]+([\w-]+)")
SNIPPET = re.compile(r"^\s*-{2,}8<-{2,}.*$")
SNIPPET_LINE = re.compile(r"^(\s*)-{2,}8<-{2,}[ \t]+([\"']?)([^\"'\s]+)\2[ \t]*$")
MDBOOK_INCLUDE = re.compile(r"^(\s*)\{\{#include[ \t]+([^}:\s]+)[ \t]*\}\}[ \t]*$")
RESERVED = ("chapters/", "images/", "report.yaml", "places.yaml")
ICON = re.compile(r":(?:material|fontawesome|octicons|simple)-[a-z0-9-]+:")
CODE_TICKS = re.compile(r"`+")
MASK = "\ue000"


@dataclass
class Page:
    source: Path  # resolved, inside SRC
    rel: str  # relative to SRC, for messages
    nav_title: str = ""
    text: str = ""
    body_start: int = 0  # index of the first line after the front matter
    has_fm_title: bool = False
    heading: str = ""  # the text of the '# ' heading that is the page's title
    heading_id: str = ""
    ids: set[str] = field(default_factory=set)
    title: str = ""
    name: str = ""  # NN-slug.md

    @property
    def chapter_id(self) -> str:
        return re.sub(r"^\d+-", "", self.name[:-3])


def import_markdown(src: Path, dest: Path, diagnostics: Diagnostics, stdout: TextIO | None = None) -> list[Page]:
    """Import SRC into DIR; checklist items go to `diagnostics` as warnings."""
    if not src.is_dir():
        raise BuildReportError(f"{src} is not a folder of Markdown files")
    require_empty(dest)
    importer = _Importer(src, dest, diagnostics)
    pages = importer.run()
    if stdout is not None:
        count = len([d for d in diagnostics.items if d.severity == "warning"])
        print(f"imported {len(pages)} page{'s' * (len(pages) != 1)} from {src} into {dest} "
              f"(order from {importer.order_from}):", file=stdout)
        for page in pages:
            print(f"  chapters/{page.name:<32} {page.rel}", file=stdout)
        if importer.images:
            print(f"copied {len(importer.images)} image{'s' * (len(importer.images) != 1)} into {dest / 'images'}",
                  file=stdout)
        if importer.includes:
            print(f"copied {len(importer.includes)} included file{'s' * (len(importer.includes) != 1)}: "
                  + ", ".join(importer.includes.values()), file=stdout)
        if count:
            print(f"{count} thing{'s' * (count != 1)} to finish by hand: see the warnings below "
                  f"(paths relative to {src})", file=stdout)
        print(f"next: build-report draft {dest}  (or pdf, epub, html); the format: docs/authoring.md", file=stdout)
    return pages


class _Importer:
    def __init__(self, src: Path, dest: Path, diagnostics: Diagnostics):
        self.src = src
        self.root = src.resolve()
        self.docs = self.root  # the site root: MkDocs docs_dir, mdBook src, or SRC
        self.dest = dest
        self.dest_resolved = dest.resolve()
        self.diagnostics = diagnostics
        self.meta: dict[str, object] = {}
        self.order_from = "file names"
        self.listing = "SRC"  # where an imported page is listed: for "not imported" messages
        self.nav_name = "nav"
        self.pages: list[Page] = []
        self.by_source: dict[Path, Page] = {}
        self.images: dict[Path, str] = {}  # resolved source -> token, then -> images/... path
        self.includes: dict[Path, str] = {}  # resolved source -> path in the manuscript

    # -- where things are ------------------------------------------------------

    def warn(self, rel: str, line: int, message: str) -> None:
        self.diagnostics.warning(Location(rel, line), message)

    def inside(self, path: Path) -> Path | None:
        """The resolved path if it is inside SRC, else None."""
        resolved = path.resolve()
        return resolved if resolved == self.root or self.root in resolved.parents else None

    def rel(self, path: Path) -> str:
        try:
            return Path(os.path.normpath(path)).relative_to(self.root).as_posix()
        except ValueError:
            return path.as_posix()

    # -- the order of the pages --------------------------------------------------

    def run(self) -> list[Page]:
        entries = self._entries()
        for path, title, where in entries:
            self._add_page(path, title, where)
        if not self.pages:
            raise BuildReportError(f"no Markdown pages to import in {self.src}")
        for page in self.pages:
            self._scan(page)
        self._name_pages()
        texts = [self._convert(page) for page in self.pages]
        self._name_images()
        self._write(texts)
        return self.pages

    def _entries(self) -> list[tuple[Path, str, Location | None]]:
        for name in ("mkdocs.yml", "mkdocs.yaml"):
            if (self.root / name).is_file() and self.inside(self.root / name):
                return self._mkdocs(self.root / name)
        book: dict = {}
        if (self.root / "book.toml").is_file() and self.inside(self.root / "book.toml") and tomllib is not None:
            try:
                book = tomllib.loads((self.root / "book.toml").read_text(encoding="utf-8")).get("book", {})
            except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
                self.warn("book.toml", 0, f"could not be read ({exc}); the title is taken from the first page")
        for folder in (self.root / str(book.get("src", "src")), self.root):
            summary = folder / "SUMMARY.md"
            if summary.is_file() and self.inside(summary):
                self.meta.update({k: book[k] for k in ("title", "authors", "description", "language") if k in book})
                return self._mdbook(summary)
        config = self.root / "_config.yml"  # Jekyll's site title
        if config.is_file() and self.inside(config):
            node = self._compose(config)
            title = _scalar(_get(node, "title"))
            if title:
                self.meta["title"] = title
        return [(path, "", None) for path in self._walk(self.root)]

    def _compose(self, path: Path) -> yaml.Node | None:
        """YAML as a node tree: tags such as `!!python/name:` and `!ENV` are kept, never constructed."""
        try:
            return yaml.compose(path.read_text(encoding="utf-8-sig"), Loader=yaml.SafeLoader)
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            mark = getattr(exc, "problem_mark", None)
            self.warn(self.rel(path), mark.line + 1 if mark else 0,
                      f"invalid YAML ({getattr(exc, 'problem', None) or exc}); it was not read")
            return None

    def _mkdocs(self, config: Path) -> list[tuple[Path, str, Location | None]]:
        self.order_from = f"{config.name} nav"
        self.listing = f"the {config.name} nav"
        rel = config.name
        node = self._compose(config)
        for key, meta in (("site_name", "title"), ("site_description", "description"), ("site_author", "authors")):
            value = _scalar(_get(node, key))
            if value:
                self.meta[meta] = [value] if meta == "authors" else value
        docs_node = _get(node, "docs_dir")
        docs = self.root / (_scalar(docs_node) or "docs")
        if not self.inside(docs) or not docs.is_dir():
            line = docs_node.start_mark.line + 1 if docs_node is not None else 0
            self.warn(rel, line, f"docs_dir '{_scalar(docs_node) or 'docs'}' is not a folder inside SRC; "
                                 "importing the Markdown files in SRC instead")
            docs = self.root
        self.docs = docs
        nav = _get(node, "nav")
        if not isinstance(nav, yaml.SequenceNode):
            self.order_from = f"file names in {self.rel(docs) or '.'}/, as mkdocs.yml has no nav"
            self.listing = f"{self.rel(docs) or '.'}/"
            return [(path, "", None) for path in self._walk(docs)]
        entries: list[tuple[Path, str, Location | None]] = []

        def item(value: yaml.Node, title: str) -> None:
            if isinstance(value, yaml.ScalarNode):
                target = str(value.value)
                if not target or urlsplit(target).scheme or target.startswith("//"):
                    return  # a link to a web site in the nav
                entries.append((docs / unquote(target), title, Location(rel, value.start_mark.line + 1)))
            elif isinstance(value, yaml.SequenceNode):
                for child in value.value:
                    item(child, "")
            elif isinstance(value, yaml.MappingNode):
                for key, child in value.value:
                    item(child, str(key.value) if isinstance(child, yaml.ScalarNode) else "")

        item(nav, "")
        return entries

    def _mdbook(self, summary: Path) -> list[tuple[Path, str, Location | None]]:
        rel = self.rel(summary)
        self.order_from = self.listing = rel
        self.nav_name = "summary"
        self.docs = summary.parent
        entries: list[tuple[Path, str, Location | None]] = []
        link = re.compile(TEXT + r"\(([^()\n]*)\)")
        for number, line in enumerate(_read(summary).split("\n"), 1):
            for match in link.finditer(line):
                title, target = match.group(1).strip(), match.group(2).strip()
                if not target:
                    self.warn(rel, number, f"draft chapter '{title}' has no file; skipped")
                elif not (urlsplit(target).scheme or target.startswith("//")):
                    path = unquote(urlsplit(target).path)
                    entries.append((summary.parent / path, title, Location(rel, number)))
        return entries

    def _walk(self, top: Path) -> list[Path]:
        found: list[Path] = []
        for folder, dirnames, filenames in os.walk(top):
            here = Path(folder)
            keep = []
            for name in dirnames:
                path = here / name
                if name.startswith(".") or name in SKIP_DIRS or path.resolve() == self.dest_resolved:
                    continue
                if path.is_symlink():
                    if self.inside(path) is None:
                        self.warn(self.rel(path) + "/", 0, "a link to a folder outside SRC; skipped")
                    continue  # a link inside SRC: its pages are found where they are
                keep.append(name)
            dirnames[:] = keep
            found += [here / name for name in filenames if name.lower().endswith((".md", ".markdown"))]
        return sorted(found, key=lambda path: _natural_path(path.relative_to(top)))

    def _add_page(self, path: Path, title: str, where: Location | None) -> None:
        rel = self.rel(path)
        source = self.inside(path)
        if source is None:
            self.warn(rel, 0, "leads outside SRC (a symbolic link, or '..'); skipped")
            return
        if not source.is_file():
            if where is not None:
                self.warn(where.path, where.line, f"page '{rel}' in the {self.nav_name} does not exist")
            return
        if source.suffix.lower() not in (".md", ".markdown"):
            self.warn(where.path if where else rel, where.line if where else 0,
                      f"'{rel}' is not a Markdown page; skipped")
            return
        if source in self.by_source:
            return
        page = Page(source, rel, title)
        try:
            text = source.read_bytes().decode("utf-8")
        except UnicodeDecodeError:
            text = source.read_bytes().decode("utf-8", errors="replace")
            self.warn(rel, 0, "not UTF-8 text: unreadable bytes were replaced by \ufffd; "
                              "save it as UTF-8 and import again")
        page.text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
        self.pages.append(page)
        self.by_source[source] = page

    # -- what each page has: title, ids ------------------------------------------

    def _scan(self, page: Page) -> None:
        match = FRONT_MATTER.match(page.text)
        if match:
            page.body_start = match.group(0).count("\n")
            try:
                meta = yaml.load(match.group(1) or "", Loader=_TolerantLoader)
            except yaml.YAMLError:
                meta = None
            if isinstance(meta, dict) and meta.get("title"):
                page.has_fm_title = True
                page.title = str(meta["title"])
        lines = page.text.split("\n")
        explicit: set[str] = set()
        headings: list[tuple[int, str, str]] = []  # level, text, explicit id
        for index, line in _prose_lines(lines, page.body_start):
            explicit.update(EXPLICIT_ID.findall(line))
            explicit.update(HTML_ID.findall(line))
            atx = ATX.match(line)
            previous = lines[index - 1] if index > page.body_start else ""
            if atx:
                headings.append((len(atx.group(1)), atx.group(2) or "", ""))
            elif SETEXT.match(line) and _paragraph_line(previous) and not ATX.match(previous):
                headings.append((1 if line.strip()[0] == "=" else 2, previous.strip(), ""))
        used = set(explicit)
        first = True
        for level, text, _ in headings:
            custom = EXPLICIT_ID.search(text)
            plain = _plain(EXPLICIT_ID.sub("", text))
            if custom:
                heading_id = custom.group(1)
            else:
                heading_id = base = slugify(plain) or "section"
                number = 0
                while heading_id in used:
                    number += 1
                    heading_id = f"{base}_{number}"
            used.add(heading_id)
            if first and level == 1 and (not page.has_fm_title or plain == page.title):
                page.heading, page.heading_id = plain, heading_id
            else:
                page.ids.add(heading_id)
            first = False
        page.ids |= explicit
        if not page.title:
            root_index = self._is_root_index(page) and isinstance(self.meta.get("title"), str)
            page.title = page.heading or page.nav_title or (str(self.meta["title"]) if root_index else "") \
                or _title_from_name(page, self._is_root_index(page))

    def _is_root_index(self, page: Page) -> bool:
        """README.md or index.md at the top of the site (SRC, docs_dir or mdBook's src)."""
        return Path(page.rel).name in INDEX_NAMES and (self.root / page.rel).parent == self.docs

    def _name_pages(self) -> None:
        width = max(2, len(str(len(self.pages))))
        taken: set[str] = set()
        for number, page in enumerate(self.pages, 1):
            path = Path(page.rel)
            if path.name in INDEX_NAMES:
                slug = slugify(page.title if self._is_root_index(page) or page.heading else path.parent.name)
            else:
                slug = slugify(re.sub(r"^\d+[-_. ]*", "", path.stem)) or slugify(path.stem)
            slug = _shorten(slug or "page")
            if slug in taken and path.parent != Path("."):
                slug = _shorten(f"{slugify(path.parent.name)}-{slug}")
            unique, count = slug, 1
            while unique in taken:
                count += 1
                unique = f"{slug}-{count}"
            taken.add(unique)
            page.name = f"{number:0{width}d}-{unique}.md"
        if "title" not in self.meta:
            self.meta["title"] = self.pages[0].title

    # -- rewriting a page ----------------------------------------------------------

    def _convert(self, page: Page) -> str:
        lines = page.text.split("\n")
        fence = ""
        in_comment = False
        for index in range(page.body_start, len(lines)):
            line, number = lines[index], index + 1
            include = self._include(page, number, line)
            if include is not None:
                lines[index] = line = include
            for tag in MDBOOK_TAG.findall(line):
                self.warn(page.rel, number, f"mdBook tag '{_short(tag)}' is not carried over: "
                                            "paste in the text it includes")
            if SNIPPET.match(line) and include is None:
                self.warn(page.rel, number, f"snippet '{_short(line.strip())}' is not carried over: copy the file "
                                            "into the manuscript and give its path from the manuscript folder")
            if fence or not in_comment:
                fence, fenced = fence_step(fence, line)
                if fenced:
                    continue
            masked, after = _mask(line, in_comment)
            self._check_syntax(page, masked, number)
            at = (page, number)
            definition = REF_DEF.match(masked)
            if definition:
                line = self._reference(at, line, definition)
            else:
                line = self._rewrite_links(at, line, in_comment)
            in_comment = after
            lines[index] = line
        if not page.has_fm_title and not page.heading:
            title = yaml.safe_dump({"title": page.title}, allow_unicode=True, width=10_000)
            if page.body_start:
                lines.insert(1, title.rstrip("\n"))
            else:
                lines[:0] = ["---", title.rstrip("\n"), "---"]
        return "\n".join(lines)

    def _rewrite_links(self, at: tuple[Page, int], line: str, in_comment: bool) -> str:
        """The images, links, <img> and <a href> of one line, outside code, rewritten for the manuscript."""
        text = _sub(IMAGE, line, in_comment, lambda groups, start: self._image(at, groups, line, start))
        text = _sub(LINK, text, in_comment, lambda groups, start: self._link(at, groups))
        text = _sub(HTML_IMG, text, in_comment, lambda groups, start: self._html_image(at, groups[0]))
        return _sub(HTML_HREF, text, in_comment, lambda groups, start: self._html_link(at, groups))

    def _include(self, page: Page, number: int, line: str) -> str | None:
        """An include line (`--8<-- "file"`, mdBook `{{#include file}}`) rewritten to copy its file, or None.

        The file keeps its path from SRC in the manuscript (snippets are relative to the
        manuscript folder); a file that is missing or outside SRC drops the line."""
        snippet, mdbook = SNIPPET_LINE.match(line), MDBOOK_INCLUDE.match(line)
        if snippet:
            indent, written = snippet.group(1), snippet.group(3)
            candidates = [self.root / written, self.docs / written]  # pymdownx's base_path: where mkdocs runs
        elif mdbook:
            indent, written = mdbook.group(1), mdbook.group(2)
            candidates = [(self.root / page.rel).parent / written]
        else:
            return None
        for candidate in candidates:
            source = self.inside(Path(os.path.normpath(candidate)))
            if source is None:
                self.warn(page.rel, number, f"include '{written}' is outside SRC; not copied (the line was removed)")
                return ""
            if source.is_file():
                rel = source.relative_to(self.root).as_posix()
                self.includes[source] = f"includes/{rel}" if rel.startswith(RESERVED) else rel
                return f'{indent}--8<-- "{self.includes[source]}"'
        self.warn(page.rel, number, f"include '{written}' not found (the line was removed)")
        return ""

    def _check_syntax(self, page: Page, masked: str, number: int) -> None:
        if TABS.match(masked):
            self.warn(page.rel, number, "content tabs ('=== \"Tab\"') are MkDocs-only: make each tab a "
                                        "'### ' subsection, or a table")
        collapsible = COLLAPSIBLE.match(masked)
        if collapsible:
            self.warn(page.rel, number, f"collapsible block '??? {collapsible.group(1)}' is MkDocs-only: "
                                        f"use '!!! {collapsible.group(1)}'")
        for tag in TEMPLATE_TAG.findall(masked):
            if not tag.startswith("{{#"):
                self.warn(page.rel, number, f"template tag '{_short(tag)}' is not carried over: replace it with "
                                            "the text it stands for")
        for icon in ICON.findall(masked):
            self.warn(page.rel, number, f"icon '{icon}' is MkDocs-only: use a character or an image")

    def _image(self, at: tuple[Page, int], groups: list, line: str, start: int) -> str | None:
        _, alt, dest, title, attrs = groups
        url = dest[1:-1] if dest.startswith("<") else dest
        in_link = start > 0 and line[start - 1] == "["
        path = self._image_path(at, url)
        if path is None:
            return alt
        if path == "remote":
            return alt if in_link else f"[{alt or url}]({url})"
        if not alt.strip() and ".decorative" not in (attrs or ""):
            self.warn(at[0].rel, at[1], f"image '{url}' has no alt text: describe it in ![...], "
                                        "or mark a decorative image ![](...){.decorative}")
        return f"![{alt}]({path}{title or ''}){attrs or ''}"

    def _image_path(self, at: tuple[Page, int], url: str) -> str | None:
        """The new path of a local image ('../images/..' token), 'remote', or None when it was dropped."""
        page, number = at
        split = urlsplit(url)
        if split.scheme in ("http", "https") or url.startswith("//"):
            self.warn(page.rel, number, f"remote image '{_short(url)}': a build has no network; download it into "
                                        "images/ and link it from there (it is a link for now)")
            return "remote"
        if split.scheme:
            self.warn(page.rel, number, f"image '{_short(url)}' is not a file: save it into images/ "
                                        "(replaced by its alt text)")
            return None
        target = self._resolve(page, unquote(split.path))
        source = self.inside(target)
        if source is None:
            self.warn(page.rel, number, f"image '{url}' is outside SRC; not copied (replaced by its alt text)")
            return None
        if not source.is_file():
            self.warn(page.rel, number, f"image '{url}' not found (replaced by its alt text)")
            return None
        token = self.images.setdefault(source, f"{MASK}{len(self.images)}{MASK}")
        if source.suffix.lower() not in BUILD_IMAGES:
            self.warn(page.rel, number, f"image '{url}' must be PNG, JPEG or SVG: convert it (copied as it is, "
                                        "and replaced by its alt text)")
            return None
        return token

    def _reference(self, at: tuple[Page, int], line: str, definition: re.Match) -> str:
        """`[label]: target "title"`: an image or a page; a target that is gone drops the definition."""
        start, target = definition.group(1), line[definition.start(2):definition.end(2)]
        url = target[1:-1] if target.startswith("<") else target
        split = urlsplit(url)
        if split.scheme or url.startswith(("//", "#")):
            return line
        if os.path.splitext(split.path)[1].lower() in BUILD_IMAGES | OTHER_IMAGES:
            new = self._image_path(at, url)
        else:
            new = self._page_link(at, url)
        return "" if new in (None, "remote") else start + new + line[definition.end(2):]

    def _link(self, at: tuple[Page, int], groups: list) -> str | None:
        _, text, dest, title = groups
        url = dest[1:-1] if dest.startswith("<") else dest
        split = urlsplit(url)
        if split.scheme or url.startswith("//"):
            return None
        new = self._page_link(at, url)
        return text if new is None else f"[{text}]({new}{title or ''})"

    def _html_image(self, at: tuple[Page, int], tag: str) -> str | None:
        src = _attribute(tag, "src")
        if src is None:
            return None
        alt = _attribute(tag, "alt") or ""
        path = self._image_path(at, src)
        if path == "remote":
            return f'<a href="{src}">{alt or src}</a>'
        if path is None:
            return alt
        if not alt.strip():
            self.warn(at[0].rel, at[1], f"image '{src}' has no alt text: describe it in alt=\"...\"")
        return re.sub(r"(\ssrc=)(\"[^\"]*\"|'[^']*'|[^\s>]+)", lambda m: f'{m.group(1)}"{path}"', tag, count=1,
                      flags=re.IGNORECASE)

    def _html_link(self, at: tuple[Page, int], groups: list) -> str | None:
        _, before, quoted = groups
        url = quoted[1:-1]
        if urlsplit(url).scheme or url.startswith("//"):
            return None
        new = self._page_link(at, url)
        return before if new is None else f'{before} href="{new}"'

    def _page_link(self, at: tuple[Page, int], url: str) -> str | None:
        """The new target of a link to a page (`02-setup.md#anchor`), or None: the link is dropped."""
        page, number = at
        split = urlsplit(url)
        fragment = unquote(split.fragment)
        if not split.path:
            if fragment and fragment not in page.ids and fragment not in (page.chapter_id, page.heading_id):
                self.warn(page.rel, number, f"link to '{url}': no heading '#{fragment}' on this page "
                                            "(the link was removed, its text kept)")
                return None
            return page.name if fragment == page.heading_id else url
        target = self._resolve(page, unquote(split.path))
        candidates = [target]
        if split.path.endswith("/") or target.suffix == "":
            candidates += [target / name for name in INDEX_NAMES] + [target.with_name(target.name + ".md")]
        elif target.suffix.lower() in (".html", ".htm"):
            candidates.append(target.with_suffix(".md"))
            if target.stem == "index":
                candidates += [target.with_name(name) for name in INDEX_NAMES]
        for candidate in candidates:
            source = self.inside(candidate)
            if source is None:
                self.warn(page.rel, number, f"link to '{url}' leads outside SRC (the link was removed, its text kept)")
                return None
            found = self.by_source.get(source)
            if found is not None:
                if fragment and fragment not in found.ids and fragment != found.chapter_id:
                    if fragment != found.heading_id:
                        self.warn(page.rel, number, f"link to '{url}': no heading '#{fragment}' in {found.rel} "
                                                    "(the link now points to the chapter)")
                    fragment = ""
                return found.name + (f"#{fragment}" if fragment else "")
        for candidate in candidates:
            source = self.inside(candidate)
            if source is not None and source.is_file():
                if source.suffix.lower() in (".md", ".markdown"):
                    self.warn(page.rel, number, f"link to '{url}': that page was not imported (it is not in "
                                                f"{self.listing}); the link was removed, its text kept")
                else:
                    self.warn(page.rel, number, f"link to '{url}' is not a page: a report cannot carry the file; "
                                                "link to its web address (the link was removed, its text kept)")
                return None
        self.warn(page.rel, number, f"link to '{url}': no such page (the link was removed, its text kept)")
        return None

    def _resolve(self, page: Page, path: str) -> Path:
        base = self.docs if path.startswith("/") else (self.root / page.rel).parent
        return Path(os.path.normpath(base / path.lstrip("/")))

    # -- images and output ---------------------------------------------------------

    def _name_images(self) -> None:
        names: dict[Path, str] = {}
        for source in self.images:
            names[source] = re.sub(r"[^\w.-]+", "-", source.name)
        counts: dict[str, int] = {}
        for name in names.values():
            counts[name] = counts.get(name, 0) + 1
        for source, name in names.items():
            if counts[name] > 1:  # the same file name in two folders: keep the folders
                base = self.docs if self.docs in source.parents else self.root
                name = "/".join(re.sub(r"[^\w.-]+", "-", part) for part in source.relative_to(base).parts)
            names[source] = name
        self.images = {source: names[source] for source in self.images}
        self.tokens = {f"{MASK}{index}{MASK}": f"../images/{name}" for index, name in enumerate(self.images.values())}

    def _write(self, texts: list[str]) -> None:
        chapters = self.dest / "chapters"
        chapters.mkdir(parents=True, exist_ok=True)

        def replace(match: re.Match) -> str:
            return self.tokens[match.group(0)]

        for page, text in zip(self.pages, texts, strict=True):
            (chapters / page.name).write_text(re.sub(f"{MASK}\\d+{MASK}", replace, text), encoding="utf-8")
        for source, rel in self.includes.items():
            (self.dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, self.dest / rel)
        for source, name in self.images.items():
            target = self.dest / "images" / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
        report: dict[str, object] = {"title": str(self.meta["title"])}
        if isinstance(self.meta.get("description"), str):
            report["description"] = self.meta["description"]
        authors = self.meta.get("authors")
        if isinstance(authors, list) and authors and all(isinstance(a, str) for a in authors):
            report["authors"] = authors
        if isinstance(self.meta.get("language"), str) and LANGUAGE.match(str(self.meta["language"])):
            report["language"] = self.meta["language"]
        report["chapters"] = [f"chapters/{page.name}" for page in self.pages]
        (self.dest / "report.yaml").write_text(
            f"# Imported by build-report import; chapter order from {self.order_from}.\n"
            "# Every key is explained in docs/authoring.md.\n"
            + yaml.safe_dump(report, sort_keys=False, allow_unicode=True, width=10_000), encoding="utf-8")


# -- helpers -----------------------------------------------------------------------


class _TolerantLoader(yaml.SafeLoader):
    """Safe YAML in which an unknown tag (`!!python/name:...`) reads as None instead of failing."""


_TolerantLoader.add_multi_constructor("", lambda loader, suffix, node: None)


def _get(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for name, value in node.value:
            if isinstance(name, yaml.ScalarNode) and name.value == key:
                return value
    return None


def _scalar(node: yaml.Node | None) -> str:
    return str(node.value).strip() if isinstance(node, yaml.ScalarNode) and node.value is not None else ""


def _read(path: Path) -> str:
    return path.read_bytes().decode("utf-8", errors="replace").lstrip("\ufeff").replace("\r\n", "\n")


def _natural(text: str) -> list:
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", text)]


def _natural_path(rel: Path) -> list:
    """README.md / index.md first in their folder, then natural order: 2-x before 10-x."""
    parts = rel.parts
    key = [(1, _natural(part)) for part in parts[:-1]]
    return key + [(0 if parts[-1].lower() in ("readme.md", "index.md") else 1, _natural(parts[-1]))]


def _prose_lines(lines: list[str], start: int):
    """(index, line) of the lines outside fenced code."""
    fence = ""
    for index in range(start, len(lines)):
        fence, fenced = fence_step(fence, lines[index])
        if not fenced:
            yield index, lines[index]


def _paragraph_line(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not line.startswith("    ") and not re.match(r"([-*+>|#]|\d+[.)])(\s|$)", stripped) \
        and not stripped.startswith(("|", "<", "!!!"))


def _plain(text: str) -> str:
    """Heading text without Markdown: what the heading id is made from."""
    text = re.sub(r"!\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"<[^>]+>", "", text)
    return re.sub(r"[`*_]", "", text).strip()


def _title_from_name(page: Page, root_index: bool) -> str:
    """'02-getting_started.md' -> 'Getting started'; 'guide/index.md' -> 'Guide'."""
    path = Path(page.rel)
    if root_index:
        return "Introduction"
    stem = path.parent.name if path.name in INDEX_NAMES and path.parent.name else path.stem
    words = re.sub(r"[-_\s]+", " ", re.sub(r"^\d+[-_. ]*", "", stem) or stem).strip()
    return words[:1].upper() + words[1:]


def _shorten(slug: str, limit: int = 40) -> str:
    if len(slug) <= limit:
        return slug
    return slug[:limit].rsplit("-", 1)[0] or slug[:limit]


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _attribute(tag: str, name: str) -> str | None:
    match = re.search(rf"\s{name}=(\"[^\"]*\"|'[^']*'|[^\s>]+)", tag, re.IGNORECASE)
    if not match:
        return None
    value = match.group(1)
    return value[1:-1] if value[:1] in "\"'" else value


def _mask(line: str, in_comment: bool) -> tuple[str, bool]:
    """The line with code spans and HTML comments blanked out (same length); the comment state after it."""
    chars = list(line)
    index = 0
    while index < len(line):
        if in_comment:
            end = line.find("-->", index)
            stop = len(line) if end < 0 else end + 3
            chars[index:stop] = MASK * (stop - index)
            index, in_comment = stop, end < 0
            continue
        if line.startswith("<!--", index):
            in_comment = True
            continue
        ticks = CODE_TICKS.match(line, index)
        if ticks:
            close = re.compile(rf"(?<!`){ticks.group(0)}(?!`)").search(line, ticks.end())
            if close:
                chars[index:close.end()] = MASK * (close.end() - index)
                index = close.end()
            else:
                index = ticks.end()
            continue
        index += 1
    return "".join(chars), in_comment


def _sub(pattern: re.Pattern, line: str, in_comment: bool, replace: Callable[[list, int], str | None]) -> str:
    """Replace the matches of `pattern` outside code spans and comments; `replace` returning None keeps one."""
    masked, _ = _mask(line, in_comment)
    out, last = [], 0
    for match in pattern.finditer(masked):
        groups = [None if match.start(i) < 0 else line[match.start(i):match.end(i)] for i in range(pattern.groups + 1)]
        new = replace(groups, match.start())
        if new is None:
            continue
        out += [line[last:match.start()], new]
        last = match.end()
    out.append(line[last:])
    return "".join(out)
