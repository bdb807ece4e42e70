"""The build cache: what one build made that the next can reuse, in `build/.cache/` (docs/caching.md).

Three things are cached, each under a key that is a hash of everything it was made from:

- `parse`: the parsed manuscript (`manuscript.load`), with the warnings found while parsing,
  keyed by the bytes of every file of the manuscript folder, the theme names of the styles
  folder and the critic mode. `check-links` and `draft --chapter` then start without parsing
  Markdown, or even importing it.
- `pagemap`: where each print page begins (`pagemap.PageMap`), with the renderer's warnings,
  keyed by the print HTML (which holds the CSS and the font URLs), the bytes of every file it
  links to, and the styles folder. The PDF writer stores it after its layout, so `epub` or
  `web` after `pdf` does not lay out again (nor import WeasyPrint).
- `epubcheck`: epubcheck's verdict on an EPUB, keyed by the EPUB's bytes and the epubcheck
  and Java that judged it: a rebuild with nothing changed is not validated again, and the
  conformance claim still stands only on a pass of that very package.

Every key also holds `stamp()`: the cache format, the Python, build_report's version and the
hash of its code and templates, the versions of the libraries that shape the results
(WeasyPrint, Markdown...), and the hash of every packaged font file. An upgrade of any of
them is a miss. Entries are files named by their key (`<kind>-<hash>.bin`), written
atomically. Each one starts with a header line that records its kind, its full key and
the hash of its payload: an entry whose header does not match what was looked up, or whose
payload is cut short or changed, is ignored, as is one that cannot be read or decoded. A
cache problem never fails a build; at worst the work is done again.

The cache is off unless a `session()` is open: the command line opens one for each verb
(`--no-cache` or BUILD_REPORT_CACHE=off turns it off), and writes the entries the verb made
only when the verb succeeds (exit 0 or 1), so a failed build leaves `build/` as it was.
The library (and so the test suite) reads and writes nothing here unless it asks to.

Trust: the parse entry is a pickle, and unpickling runs code, so an entry is only ever read
from `build/.cache` below the current folder, which only build_report writes; `build/` is
git-ignored, so a pull request cannot plant an entry in a CI checkout without committing it.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import pickle
import stat
import sys
import weakref
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.etree import ElementTree as etree

if TYPE_CHECKING:
    from .diagnostics import Diagnostic, Diagnostics
    from .model import Manuscript
    from .pagemap import PageMap

FORMAT = 1  # raise it when an entry's layout changes
MAGIC = b"build-report-cache"
# Entries kept of each kind (else 16), the most recently used; older ones are removed as new ones are written.
KEEP = {"parse": 4, "chapter": 1024}
HASHED_SIZE = 1 << 20  # files up to this size are keyed by their bytes; larger ones by size and times
# Libraries whose versions change what is cached (the parse, the layout, the finished files).
LIBRARIES = ("weasyprint", "pydyf", "tinycss2", "cssselect2", "markdown", "pymdown-extensions", "pyyaml", "pillow",
             "fonttools", "jinja2", "ebooklib")
ENV_FOLDER = "BUILD_REPORT_CACHE_DIR"  # where the cache is, instead of build/.cache
ENV_SWITCH = "BUILD_REPORT_CACHE"  # "off" (or 0, no, false): no cache, as --no-cache


def folder() -> Path:
    """build/.cache below the current folder (as the link cache's build/.linkcache.json), or the folder
    BUILD_REPORT_CACHE_DIR names (the test suite's own, so that it neither reads nor fills yours)."""
    return Path(os.environ.get(ENV_FOLDER) or Path("build") / ".cache")


# -- Sessions ---------------------------------------------------------------------------------------

@dataclass
class Session:
    enabled: bool
    deferred: bool  # entries are kept in `pending` until the session ends with `commit` set
    commit: bool = False
    pending: dict[Path, bytes] = field(default_factory=dict)


_sessions: list[Session] = []


@contextmanager
def session(enabled: bool = True, deferred: bool = True) -> Iterator[Session]:
    """Use the cache inside the block. With `deferred`, new entries are written at the end of the
    block, and only if the caller set `session.commit` (the command line: when the verb succeeded).
    Sessions nest (watch's rebuilds): each one writes its own entries."""
    current = Session(enabled and os.environ.get(ENV_SWITCH, "").lower() not in ("off", "0", "no", "false"),
                      deferred)
    _sessions.append(current)
    try:
        yield current
    finally:
        _sessions.remove(current)
        if current.commit:
            for path, data in current.pending.items():
                _write(path, data)


def enabled() -> bool:
    return bool(_sessions) and _sessions[-1].enabled


# -- Keys ---------------------------------------------------------------------------------------------

def digest(*parts: bytes | str) -> str:
    """A hash of `parts`, each length-prefixed (so ("ab", "c") and ("a", "bc") differ)."""
    hasher = hashlib.sha256()
    for part in parts:
        data = part.encode("utf-8", "surrogateescape") if isinstance(part, str) else part
        hasher.update(len(data).to_bytes(8, "little"))
        hasher.update(data)
    return hasher.hexdigest()


_stamp: list[str] = []


def stamp() -> str:
    """What every key holds: the format, Python, build_report (version and code), the libraries'
    versions, the packaged fonts. Computed once per process (about 15 ms)."""
    if not _stamp:
        from importlib import metadata

        from . import __version__
        from .fonts import faces

        package = Path(__file__).resolve().parent
        versions = []
        for name in LIBRARIES:
            try:
                versions.append(f"{name}={metadata.version(name)}")
            except metadata.PackageNotFoundError:
                versions.append(f"{name}=none")
        code = tree_digest(package, skip=lambda path: path.name == "__pycache__")
        fonts = digest(*(part for face in faces() for part in (str(face.path), file_digest(face.path, hashed=True))))
        _stamp.append(digest(str(FORMAT), sys.version, __version__, code, *versions, fonts))
    return _stamp[0]


def file_digest(path: Path, hashed: bool = False) -> str:
    """A regular file's bytes as a hash; a file larger than HASHED_SIZE by its size, inode and times
    unless `hashed` (a change to it still changes its times)."""
    info = path.stat()
    if not stat.S_ISREG(info.st_mode):
        return f"not a file: {stat.S_IFMT(info.st_mode)}"
    if info.st_size > HASHED_SIZE and not hashed:
        return f"{info.st_size}:{info.st_ino}:{info.st_mtime_ns}:{info.st_ctime_ns}"
    hasher = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            hasher.update(block)
    return hasher.hexdigest()


def tree_digest(root: Path, skip: Callable[[Path], bool] = lambda path: False) -> str:
    """A hash of every file below `root`: names, and the bytes of each (`file_digest`).

    A symbolic link is followed only when it stays inside `root`; one that leaves it counts by
    its target's name, so nothing outside is ever read. Folders for which `skip(path)` is true,
    hidden folders (.git) and folders the build writes (build/, those holding output.TREE_MARKER)
    are left out, as is the current folder's build/ wherever it is."""
    from .output import TREE_MARKER

    root = root.resolve()
    own = Path("build").resolve()
    seen = {root}  # folders walked (a link to one already walked, or to a parent, is not followed)
    parts: list[str] = []
    for here, folders, files in os.walk(root, followlinks=True):
        base = Path(here)
        kept = []
        for name in sorted(folders):
            path = base / name
            target = _resolved(path)
            if (target is None or name.startswith(".") or skip(path) or target == own or target in seen
                    or not target.is_relative_to(root) or (path / TREE_MARKER).exists()):
                parts.append(f"folder {path.relative_to(root).as_posix()} skipped")
                continue
            seen.add(target)
            kept.append(name)
        folders[:] = kept
        for name in sorted(files):
            path = base / name
            rel = path.relative_to(root).as_posix()
            try:
                target = _resolved(path)
                if target is None or not target.is_relative_to(root):
                    parts.append(f"{rel} -> {os.readlink(path) if path.is_symlink() else target}")
                    continue
                parts.append(f"{rel} {file_digest(target)}")
            except OSError as exc:
                parts.append(f"{rel} unreadable {exc.errno}")
    return digest(*parts)


def _resolved(path: Path) -> Path | None:
    """The path with every link followed; None for a link loop."""
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # RuntimeError: Python 3.11's "Symlink loop"
        return None


# -- Entries ------------------------------------------------------------------------------------------

def _path(kind: str, key: str) -> Path:
    return folder() / f"{kind}-{key[:40]}.bin"


def get(kind: str, key: str) -> bytes | None:
    """The payload stored under (kind, key), or None: no session, no entry, or a bad one."""
    if not enabled():
        return None
    path = _path(kind, key)
    for current in reversed(_sessions):  # made earlier in this run, not written yet
        if path in current.pending:
            return _payload(current.pending[path], kind, key)
    try:
        data = path.read_bytes()
    except OSError:
        return None
    with contextlib.suppress(OSError):  # a cache that cannot be touched (read-only) still serves
        os.utime(path)  # recently used: kept longest (_write)
    return _payload(data, kind, key)


def put(kind: str, key: str, payload: bytes) -> None:
    """Store `payload` under (kind, key): now, or at the end of a deferred session."""
    if not enabled():
        return
    header = json.dumps({"kind": kind, "key": key, "size": len(payload),
                         "sha256": hashlib.sha256(payload).hexdigest()}, sort_keys=True).encode()
    data = MAGIC + b" " + str(FORMAT).encode() + b"\n" + header + b"\n" + payload
    current = _sessions[-1]
    if current.deferred:
        current.pending[_path(kind, key)] = data
    else:
        _write(_path(kind, key), data)


def _payload(data: bytes, kind: str, key: str) -> bytes | None:
    """The payload of an entry, if its header is ours and matches (kind, key) and its hash is right."""
    try:
        first, header, payload = data.split(b"\n", 2)
        meta = json.loads(header)
        if first != MAGIC + b" " + str(FORMAT).encode() or meta.get("kind") != kind or meta.get("key") != key:
            return None
        if meta.get("size") != len(payload) or meta.get("sha256") != hashlib.sha256(payload).hexdigest():
            return None
        return payload
    except (ValueError, AttributeError):
        return None


def _write(path: Path, data: bytes) -> None:
    """Write atomically (output.write_atomic); then keep only the KEEP newest entries of its kind.
    Failures are ignored: the cache only ever saves time."""
    from .output import write_atomic

    try:
        write_atomic(path, data)
        kind = path.name.rpartition("-")[0]
        entries = sorted(path.parent.glob(f"{kind}-*.bin"), key=lambda entry: entry.stat().st_mtime_ns, reverse=True)
        for old in entries[KEEP.get(kind, 16):]:
            old.unlink(missing_ok=True)
    except OSError:
        pass


# -- Diagnostics --------------------------------------------------------------------------------------

def encode_diagnostics(items: Iterable[Diagnostic]) -> list[list[Any]]:
    return [[item.severity, item.location.path, item.location.line, item.message] for item in items]


def replay(diagnostics: Diagnostics, items: list[list[Any]]) -> None:
    """Add the stored diagnostics again, as the work that found them would have."""
    from .diagnostics import Diagnostic
    from .model import Location

    for severity, path, line, message in items:
        diagnostics.items.append(Diagnostic(severity, Location(path, line), message))


# -- The parsed manuscript ------------------------------------------------------------------------------

def parse_key(root: Path, styles: Path | None, critic_mode: str, checks: str) -> str:
    """Everything `manuscript.load` reads: the manuscript folder's files and the styles folder's themes
    (`theme:` must name one), with the critic mode and the checks run after the parse."""
    from . import themes

    styles = styles or themes.STYLES
    try:
        return digest("parse", stamp(), str(root), tree_digest(root), str(styles.resolve()),
                      *themes.available(styles), critic_mode, checks)
    except (OSError, RuntimeError, ValueError):  # a folder that cannot be read as a whole: no cache, no failure
        return ""


def chapter_key(path: str, lines: int, body: str, first_line: int, critic_mode: str, places: Any) -> str:
    """Everything a chapter's Markdown parse reads, when it includes no file: its path (which the
    diagnostics name) and length, its text, where that starts, the critic mode and the places."""
    try:
        return digest("chapter", stamp(), path, str(lines), str(first_line), critic_mode,
                      pickle.dumps(places, protocol=pickle.HIGHEST_PROTOCOL), body)
    except (OSError, RuntimeError, ValueError, pickle.PicklingError):
        return ""


def store_chapter(key: str, tree: etree.Element, reported: list[Diagnostic]) -> None:
    """Keep a chapter's parsed Markdown (manuscript._markdown) with what its extensions reported."""
    if key:
        put("chapter", key, pickle.dumps((tree, encode_diagnostics(reported)), protocol=pickle.HIGHEST_PROTOCOL))


def cached_chapter(key: str) -> tuple[etree.Element, list[list[Any]]] | None:
    payload = get("chapter", key)
    if payload is None:
        return None
    try:
        tree, reported = pickle.loads(payload)  # noqa: S301 - our own entry, hash-checked (above)
    except Exception:  # noqa: BLE001 - a stale or damaged entry is a miss, never a failure
        return None
    return (tree, reported) if isinstance(tree, etree.Element) else None


class _Pickler(pickle.Pickler):
    """Pickles config's YAML containers (lists and dicts that remember their lines, used only while
    loading) as plain ones, so that a cached manuscript loads without importing the YAML loader."""

    def reducer_override(self, obj: Any) -> Any:
        kind = type(obj)
        if kind.__module__ == "build_report.config":
            if isinstance(obj, list):
                return list, (list(obj),)
            if isinstance(obj, dict):
                return dict, (dict(obj),)
        return NotImplemented


_sources: dict[int, tuple[weakref.ref, str]] = {}


def note_source(manuscript: Manuscript, key: str) -> None:
    """Remember that `manuscript` was loaded from the files of the parse key `key`."""
    for number, (ref, _) in list(_sources.items()):
        if ref() is None:
            del _sources[number]
    _sources[id(manuscript)] = (weakref.ref(manuscript), key)


def source_of(manuscript: Manuscript) -> str:
    """The parse key of the files `manuscript` was loaded from ('' when unknown: no cache session)."""
    ref, key = _sources.get(id(manuscript), (None, ""))
    return key if ref is not None and ref() is manuscript else ""


def store_parse(key: str, manuscript: Manuscript, parsed: list[Diagnostic], checked: list[Diagnostic]) -> None:
    """Keep a manuscript just loaded, with the diagnostics of its parse and of the checks after it."""
    if not enabled():
        return
    out = io.BytesIO()
    _Pickler(out, protocol=pickle.HIGHEST_PROTOCOL).dump(
        (manuscript, encode_diagnostics(parsed), encode_diagnostics(checked)))
    put("parse", key, out.getvalue())


def cached_parse(key: str) -> tuple[Manuscript, list[list[Any]], list[list[Any]]] | None:
    """(manuscript, the parse's diagnostics, the checks' diagnostics) stored under `key`, or None."""
    payload = get("parse", key)
    if payload is None:
        return None
    try:
        manuscript, parsed, checked = pickle.loads(payload)  # noqa: S301 - our own entry, hash-checked (above)
    except Exception:  # noqa: BLE001 - a stale or damaged entry is a miss, never a failure
        return None
    from .model import Manuscript

    return (manuscript, parsed, checked) if isinstance(manuscript, Manuscript) else None


# -- The page map ---------------------------------------------------------------------------------------

def page_map_key(html: str, root: Path, styles: Path, press: bool) -> str:
    """The print HTML (its CSS, font URLs and the text), every local file it links to (images), the
    styles folder (its path and its files) and whether it is the press edition (which keeps images'
    resolution)."""
    import re
    from urllib.parse import unquote, urlsplit

    linked = []
    for url in sorted(set(re.findall(r"file://[^\"'()\s<>]+", html))):
        path = Path(unquote(urlsplit(url).path))
        try:
            linked.append(f"{url} {file_digest(path)}")
        except OSError:
            linked.append(f"{url} unreadable")
    try:
        # The styles folder's path too: the renderer's warnings stored with the page map name its files.
        return digest("pagemap", stamp(), html, *linked, str(styles.resolve()), tree_digest(styles), str(press),
                      str(root))
    except (OSError, RuntimeError, ValueError):
        return ""


def store_page_map(key: str, pages: PageMap, rendered: list[Diagnostic]) -> None:
    if not enabled():
        return
    data = {"starts": [[s.index, s.label, s.chapter_id, None if s.path is None else list(s.path), s.offset]
                       for s in pages.starts],
            "skipped": pages.skipped, "anchors": pages.anchors, "diagnostics": encode_diagnostics(rendered)}
    put("pagemap", key, json.dumps(data, ensure_ascii=False).encode("utf-8"))  # in the page map's own order


def cached_page_map(key: str) -> tuple[PageMap, list[list[Any]]] | None:
    """(the page map, the renderer's diagnostics) stored under `key`, or None."""
    payload = get("pagemap", key)
    if payload is None:
        return None
    from .pagemap import PageMap, PageStart

    try:
        data = json.loads(payload)
        starts = [PageStart(int(index), str(label), str(chapter), None if path is None else tuple(map(int, path)),
                            int(offset)) for index, label, chapter, path, offset in data["starts"]]
        anchors = {str(name): str(label) for name, label in data["anchors"].items()}
        pages = PageMap(starts, [str(label) for label in data["skipped"]], anchors)
        return pages, [list(item) for item in data["diagnostics"]]
    except (ValueError, TypeError, KeyError, AttributeError):
        return None


# -- Verdicts -------------------------------------------------------------------------------------------

def remembered_json(kind: str, key: str) -> Any:
    """A JSON value stored under (kind, key), or None."""
    payload = get(kind, key)
    if payload is None:
        return None
    try:
        return json.loads(payload)
    except ValueError:
        return None


def remember_json(kind: str, key: str, value: Any) -> None:
    put(kind, key, json.dumps(value, ensure_ascii=False, sort_keys=True).encode("utf-8"))
