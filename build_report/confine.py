"""One confinement rule: every path and URL a manuscript names stays inside it.

A manuscript may come from a stranger's pull request, so nothing it names may
make a build read another file: not a chapter listed as `/etc/passwd`, not
`places: ../other.yaml`, not a symlink out of the folder, not `FILE:///…` in raw
HTML, CSS or an SVG. Every route goes through `inside()` (paths as written) or
`local_path()` (URLs, for the renderer's fetcher):

- a path is resolved relative to the file that names it, symlinks included, and
  must end up inside the manuscript folder;
- a URL scheme is compared case-insensitively, after removing the control and
  space characters a browser ignores; `file:` URLs may name no host (a host
  would mean a network share, and a DNS query);
- a file that is not a regular file (a FIFO, a device) is refused before it is
  opened, since reading one can block forever.

The reasons are phrased to follow the path in a diagnostic:
`chapters/01.md:4: error: image '../../x.png' is outside the manuscript folder`.
"""

from __future__ import annotations

import re
import stat
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit
from urllib.request import url2pathname

# Characters a browser strips from a URL before reading its scheme (WHATWG URL: C0 controls and space,
# and tab/newline anywhere), so "java\nscript:" and " FILE:" are what they look like.
_IGNORED = re.compile(r"[\x00-\x20\x7f]+")
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.\-]*):")


class Outside(ValueError):
    """A path or URL that leads out of the allowed folders, or cannot be followed at all
    (a NUL byte, a symlink loop, a name too long); str() is the reason."""


def scheme(url: str) -> str:
    """The URL's scheme as a browser reads it, lower case ('' for a relative URL)."""
    match = _SCHEME.match(_IGNORED.sub("", url))
    return match.group(1).lower() if match else ""


def inside(root: Path, name: str, base: str = "") -> Path:
    """The resolved path of `name` (as written in manuscript file `base`'s folder) inside `root`.

    Raises `Outside` when it is absolute, carries a URL scheme, or resolves (through
    `..` or a symlink) to somewhere outside `root`."""
    root = root.resolve()
    if not name.strip():
        raise Outside("is empty")
    if scheme(name) or name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):  # a URL, root, UNC or drive
        raise Outside("is outside the manuscript folder (name files relative to it)")
    resolved = _resolve(root / PurePosixPath(base).parent / name)
    if not resolved.is_relative_to(root):
        raise Outside("is outside the manuscript folder")
    return resolved


def _resolve(path: Path) -> Path:
    """`path.resolve()`, with the ways a hostile name makes it fail turned into reasons."""
    if "\0" in str(path):
        raise Outside("contains a NUL character")
    try:
        return path.resolve()
    except RuntimeError:  # Python < 3.13 raises this for a loop of symbolic links
        raise Outside("is a symbolic link that points back to itself (a loop)") from None
    except OSError as exc:
        raise Outside(f"cannot be followed ({exc.strerror or exc})") from None


def relative(path: Path, root: Path) -> str:
    """`path` (resolved, inside `root`) as a manuscript-relative POSIX path."""
    return path.relative_to(root.resolve()).as_posix()


def file_problem(path: Path) -> str | None:
    """Why `path` cannot be read as a file ('not found', 'is a folder', ...), or None."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return "not found"
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the name
        return f"cannot be read ({getattr(exc, 'strerror', None) or exc})"
    if stat.S_ISDIR(mode):
        return "is a folder, not a file"
    if not stat.S_ISREG(mode):
        return "is not a regular file (a FIFO, socket or device cannot be read)"
    return None


def local_path(url: str, roots: list[Path]) -> Path | None:
    """For the renderer: the file a `file:` URL names, if inside one of `roots`.

    Returns None for a `data:` URL. Raises `Outside` for any other scheme, a `file:`
    URL with a host, or a path outside every root."""
    kind = scheme(url)
    if kind == "data":
        return None
    if kind != "file":
        raise Outside(f"'{url}' is not a local file: a build never uses the network")
    split = urlsplit(_IGNORED.sub("", url))
    if split.netloc:
        raise Outside(f"'{url}' names a host ('{split.netloc}'): a build never uses the network")
    path = _resolve(Path(url2pathname(split.path)))  # url2pathname unquotes %XX
    if not any(path.is_relative_to(root.resolve()) for root in roots):
        raise Outside(f"'{url}' is outside the manuscript, the styles and the fonts")
    return path
