"""A build reads nothing outside the manuscript and never touches the network.

Canary files sit beside the manuscript (`test_errors.make_outside`). Each route a
manuscript has to name a file (chapter, places, cover, image, include, raw HTML
`src`/`href`, CSS `url()`, SVG `href`) points at them, in every spelling of the
scheme: relative, absolute, symlink, `file:`, `FILE:`, with a host, with control
characters, and `http:` to a server on 127.0.0.1. For each, the PDF, EPUB and HTML
builds must refuse or ignore it: the canary text is in no output (PDF streams
decompressed, EPUB entries unzipped), in nothing printed, and the server records
no request.
"""

from __future__ import annotations

import socket
import zipfile
from pathlib import Path

import pikepdf
import pytest
from pypdf import PdfReader

from linkserver import LinkServer, reply
from test_errors import CANARY, CANARY_COLOUR, edited_copy, run

LAST_CHAPTER = "- chapters/03-appendix.md"
QUOTE_LINE = "> An ordinary quotation without a place."

# Every way of writing "the canary file": {dir} is the canary folder, {http} the server's base URL.
SCHEMES = {
    "relative": "../../outside/{name}",
    "absolute": "{dir}/{name}",
    "file": "file://{dir}/{name}",
    "FILE": "FILE://{dir}/{name}",
    "FiLe, spaced": " FiLe://{dir}/{name}",
    "file, tab inside": "fi\tle://{dir}/{name}",
    "file, localhost": "file://localhost{dir}/{name}",
    "file, host": "file://127.0.0.1{dir}/{name}",
    "scheme-relative": "//127.0.0.1{dir}/{name}",
    "http": "{http}/{name}",
    "HTTPS": "HTTPS://127.0.0.1:1/{name}",
}


def _listed(path: str) -> dict:
    """An edit listing one more chapter in report.yaml."""
    return {"report.yaml": [[LAST_CHAPTER, f"{LAST_CHAPTER}\n  - {path}"]]}


def _setting(line: str) -> dict:
    """An edit adding a line to report.yaml."""
    return {"report.yaml": [["language: en-GB", f"language: en-GB\n{line}"]]}


def _in_chapter(path: str, text: str) -> dict:
    """An edit adding `text` to a chapter, where nothing refers to what it replaces."""
    if path == "chapters/01-first.md":
        return {path: [[QUOTE_LINE, text]]}
    return {path: [["things changed.", f"things changed.\n\n{text}"]]}


def _routes() -> dict[str, tuple[str, dict]]:
    """name -> (canary file name, edits to tests/data/mini), one per route and scheme."""
    first = "chapters/01-first.md"
    routes: dict[str, tuple[str, dict]] = {
        "chapter, ../": ("canary.md", _listed("../outside/canary.md")),
        "chapter, absolute": ("canary.md", _listed("{outside}/canary.md")),
        "chapter, symlink": ("canary.md", {"chapters/04-extra.md": {"symlink": "{outside}/canary.md"},
                                           **_listed("chapters/04-extra.md")}),
        "places, ../": ("canary.yaml", _setting("places: ../outside/canary.yaml")),
        "places, absolute": ("canary.yaml", _setting("places: {outside}/canary.yaml")),
        "places, symlink": ("canary.yaml", {"places.yaml": {"symlink": "{outside}/canary.yaml"}}),
        "cover, ../": ("canary.png", _setting("cover: ../outside/canary.png")),
        "cover, absolute": ("canary.png", _setting("cover: {outside}/canary.png")),
        "cover, symlink": ("canary.png", {"images/cover.png": {"symlink": "{outside}/canary.png"},
                                          **_setting("cover: images/cover.png")}),
        "image, symlink": ("canary.png", {"images/boxes.svg": {"symlink": "{outside}/canary.svg"}}),
        "include, ../": ("canary.md", _in_chapter(first, '--8<-- "../outside/canary.md"')),
        "include, absolute": ("canary.md", _in_chapter(first, '--8<-- "{outside}/canary.md"')),
        "include, symlink": ("canary.md", {"snippets/x.md": {"symlink": "{outside}/canary.md"},
                                           **_in_chapter(first, '--8<-- "snippets/x.md"')}),
    }
    for scheme, url in SCHEMES.items():
        png, svg, txt = (url.replace("{name}", name) for name in ("canary.png", "canary.svg", "canary.txt"))
        second = "chapters/02-second.md"
        routes[f"image, {scheme}"] = ("canary.png", _in_chapter(first, f"![Boxes]({png.strip()})"))
        routes[f"raw img src, {scheme}"] = ("canary.png", _in_chapter(second, f'<p><img src="{png}" alt="Boxes"></p>'))
        routes[f"raw a href attachment, {scheme}"] = (
            "canary.txt", _in_chapter(second, f'<p><a rel="attachment" href="{txt}">notes</a></p>'))
        routes[f"CSS url(), {scheme}"] = ("canary.png", _in_chapter(
            second, f"<table><tr><td style=\"background: url('{png}')\">x</td></tr></table>"
                    f"\n\n<div style=\"background-image: url({png})\">y</div>"))
        routes[f"SVG image href, {scheme}"] = ("canary.png", {"images/boxes.svg": (
            "<svg xmlns='http://www.w3.org/2000/svg' xmlns:xlink='http://www.w3.org/1999/xlink' width='20' height='20'>"
            f"<image href='{png}' width='10' height='10'/><image xlink:href='{svg}' width='10' height='10'/></svg>")})
        routes[f"SVG CSS url(), {scheme}"] = ("canary.png", {"images/boxes.svg": (
            "<svg xmlns='http://www.w3.org/2000/svg' width='20' height='20'>"
            f"<style>@import url('{txt}'); rect {{ fill: url('{svg}#p'); }}</style>"
            f"<rect width='9' height='9' style=\"filter: url('{svg}#f')\"/></svg>")})
    return routes


ROUTES = _routes()


@pytest.fixture(scope="module")
def server():
    with LinkServer() as srv:
        for name in ("canary.png", "canary.svg", "canary.txt"):
            srv.routes[f"/{name}"] = reply(200, CANARY.encode())
        yield srv


def _texts(path: Path) -> list[bytes]:
    """Everything in an output a reader could get at: a PDF's decompressed streams, its text and a
    mark for each image showing the canary colour; an EPUB's entries and their names."""
    data = path.read_bytes()
    if path.suffix == ".pdf":
        with pikepdf.open(path) as pdf:
            streams = [obj.read_bytes() for obj in pdf.objects if isinstance(obj, pikepdf.Stream)]
            images = [pikepdf.PdfImage(obj).as_pil_image() for obj in pdf.objects
                      if isinstance(obj, pikepdf.Stream) and obj.get("/Subtype") == "/Image"]
        text = "".join(page.extract_text() for page in PdfReader(path).pages).replace("\n", "")
        seen = [CANARY.encode() for image in images if CANARY_COLOUR in image.convert("RGB").getdata()]
        return [data, *streams, text.encode(), *seen]
    if path.suffix == ".epub":
        with zipfile.ZipFile(path) as epub:
            return [data, *(epub.read(name) for name in epub.namelist()), *(n.encode() for n in epub.namelist())]
    return [data]


def _published(out: Path) -> list[bytes]:
    """What an output makes public: a file's texts, or every file of an output folder and its name."""
    if out.is_dir():
        files = [path for path in sorted(out.rglob("*")) if path.is_file()]
        return [text for path in files for text in _texts(path)] + [str(p.relative_to(out)).encode() for p in files]
    return _texts(out)


@pytest.mark.parametrize("route", ROUTES, ids=list(ROUTES))
def test_no_route_reads_outside(route: str, tmp_path: Path, server, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    lookups: list[tuple] = []

    def no_lookup(*args, **kwargs):  # a file://HOST URL would resolve HOST: a DNS query
        lookups.append(args)
        raise OSError("name lookups are not allowed in this test")

    monkeypatch.setattr(socket, "getaddrinfo", no_lookup)
    monkeypatch.setattr(socket, "gethostbyname", no_lookup)
    name, edits = ROUTES[route]
    root = edited_copy(tmp_path, _fill(edits, server.base, tmp_path / "outside"))
    for verb, options in (("html", []), ("pdf", []), ("epub", []), ("web", ["--no-search"]), ("govspeak", [])):
        out = tmp_path / "build" / f"out.{verb}"
        code, stdout, stderr = run([verb, str(root), "-o", str(out), *options])
        assert "Traceback" not in stderr and code in (0, 2), stderr
        assert CANARY not in stdout + stderr
        if code == 0:
            assert all(CANARY.encode() not in text for text in _published(out)), f"{verb}: the canary was published"
        else:
            assert not out.exists()
            assert any(": error: " in line or line.startswith("build-report: error:") for line in stderr.splitlines())
    assert server.hits() == [], "a build made a network request"
    assert lookups == [], "a build looked up a host name"


def _fill(value, http: str, outside: Path):
    if isinstance(value, str):
        return value.replace("{http}", http).replace("{dir}", str(outside))
    if isinstance(value, list):
        return [_fill(v, http, outside) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, http, outside) for k, v in value.items()}
    return value


def test_routes_cover_every_kind_and_scheme() -> None:
    kinds = {route.split(",")[0] for route in ROUTES}
    assert kinds >= {"chapter", "places", "cover", "image", "include", "raw img src", "raw a href attachment",
                     "CSS url()", "SVG image href", "SVG CSS url()"}
    assert len(ROUTES) >= 13 + 6 * len(SCHEMES)
