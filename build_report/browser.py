"""The web edition in a real browser: axe-core on every page at several widths, reflow, screenshots.

The browser is Debian's Chromium (`/usr/bin/chromium`, or `$CHROMIUM`), driven by the `playwright`
package; Playwright's own browsers are never downloaded (`playwright install` is not needed). axe-core,
the accessibility engine behind Ace and Lighthouse, comes from npm: `axe_source()` installs the
pinned `AXE_VERSION` into `.cache/axe` on first use (`$AXE_CACHE` overrides the folder).

`check_pages(site)` serves the folder on 127.0.0.1 (a random port, stdlib `http.server`, threaded:
`file://` URLs break fetches and some CSS), opens every page in one browser at each width, and returns
`Finding`s, each printed in compiler style (`page: error: [width px] rule: help (target)`):

- every axe-core violation of the WCAG 2.0, 2.1 and 2.2 A and AA rules and of axe's best practices
  (landmarks, one `h1`, heading order: a report's pages can meet them all);
- `reflow`: the page scrolls sideways (WCAG 1.4.10 asks for none at 320 CSS px; no width should), or a
  fixed-position element runs off the right of the viewport where no scrolling can reach it;
- `external-request`: any request not to the local server. Every one is blocked, so a check never
  touches the network, and a web edition that needs one (a CDN script, a web font) fails;
- `missing-file`: a local request answered with an HTTP error (a broken image or stylesheet);
- `script-error`: an uncaught JavaScript exception while the page loads.

One browser checks every page: a tab per width, the widths at once. Findings are sorted, so the output
is deterministic.
`screenshots(site, page, widths, out_dir)` writes full-page PNGs for a person to look at.
"""

from __future__ import annotations

import asyncio
import functools
import http.server
import importlib.util
import json
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

AXE_VERSION = "4.14.1"  # axe-core from npm; raise it on purpose, as new versions add rules
WIDTHS = (320, 390, 1280)  # CSS px: WCAG 1.4.10's reflow width, a common phone, a laptop
HEIGHT = 800
REFLOW_WIDTH = 320
# axe-core's tags: WCAG 2.0, 2.1 and 2.2 at levels A and AA, and axe's best practices.
AXE_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice")
SKIP_FOLDERS = ("_pagefind",)  # the search index's own files are not pages of the report
TABS = 3  # widths checked at once, each in its own tab (a tab per page load is slower)
TIMEOUT_MS = 60_000  # one page load or one axe run


class BrowserUnavailable(RuntimeError):
    """Chromium, Playwright, npm or axe-core is missing or failed to start; the message says which."""


def chromium_path() -> Path:
    return Path(os.environ.get("CHROMIUM") or "/usr/bin/chromium")


def chromium_missing() -> str:
    """Why the browser checks cannot run here, or '' when they can."""
    if importlib.util.find_spec("playwright") is None:
        return "the playwright package is not installed (pip install playwright; never `playwright install`)"
    path = chromium_path()
    if not path.is_file() or not os.access(path, os.X_OK):
        return f"Chromium is not installed at {path} (Debian: apt-get install chromium; or set CHROMIUM)"
    return ""


def cache_folder(name: str) -> Path:
    """Where a tool from npm is installed: `.cache/<name>` in a source checkout, else the user's cache."""
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / "pyproject.toml").is_file() and os.access(checkout, os.W_OK):
        return checkout / ".cache" / name
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "build-report" / name


def axe_cache() -> Path:
    return Path(os.environ.get("AXE_CACHE") or cache_folder("axe"))


def axe_source() -> Path:
    """axe.min.js of the pinned axe-core, installed with npm on first use (and when AXE_VERSION changes).

    It is installed into a fresh folder beside the cache and renamed into place, so two checks
    starting at once never see half an installation. Raises BrowserUnavailable when npm is missing
    or the install fails."""
    cache = axe_cache()
    script = cache / "node_modules" / "axe-core" / "axe.min.js"
    if _installed_version(cache) == AXE_VERSION and script.is_file():
        return script
    npm = shutil.which("npm")
    if npm is None:
        raise BrowserUnavailable("npm is not installed, so axe-core cannot be installed (Debian: apt-get install npm)")
    cache.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{cache.name}-", dir=cache.parent) as tmp:
        fresh = Path(tmp) / "axe"
        command = [npm, "install", "--prefix", str(fresh), "--no-audit", "--no-fund", "--loglevel=error",
                   "--ignore-scripts", f"axe-core@{AXE_VERSION}"]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise BrowserUnavailable(f"npm could not install axe-core {AXE_VERSION}: {exc}") from exc
        if done.returncode != 0 or _installed_version(fresh) != AXE_VERSION:
            detail = " ".join((done.stderr or done.stdout).split())[:300]
            raise BrowserUnavailable(f"npm could not install axe-core {AXE_VERSION}: {detail or 'no output'}")
        if cache.exists() and _installed_version(cache) != AXE_VERSION:
            shutil.rmtree(cache, ignore_errors=True)  # an old version
        try:
            fresh.rename(cache)
        except OSError:
            if _installed_version(cache) != AXE_VERSION:  # not another process's identical install
                raise
    return script


def _installed_version(cache: Path) -> str:
    try:
        package = json.loads((cache / "node_modules" / "axe-core" / "package.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ""
    return str(package.get("version", "")) if isinstance(package, dict) else ""


@dataclass(frozen=True, order=True)
class Finding:
    """One problem on one page at one viewport width."""

    page: str  # relative to the site folder, with '/'
    width: int  # CSS px
    rule: str  # an axe-core rule id, or reflow, external-request, missing-file, script-error
    impact: str = ""  # axe-core's: minor, moderate, serious, critical ('' for our own rules)
    help: str = ""
    targets: tuple[str, ...] = ()  # CSS selectors of the elements concerned

    def __str__(self) -> str:
        shown = ", ".join(self.targets[:3]) + (", ..." if len(self.targets) > 3 else "")
        target = f" ({shown})" if shown else ""
        return f"{self.page}: error: [{self.width} px] {self.rule}: {self.help}{target}"


def site_pages(site: Path) -> list[str]:
    """Every HTML page of the site, relative and sorted, outside the search index's folder."""
    pages = []
    for path in site.rglob("*.html"):
        relative = path.relative_to(site)
        if path.is_file() and not any(part in SKIP_FOLDERS for part in relative.parts[:-1]):
            pages.append(relative.as_posix())
    return sorted(pages)


def check_pages(site: Path, pages: list[str] | None = None, widths: Sequence[int] = WIDTHS,
                tags: Sequence[str] = AXE_TAGS) -> list[Finding]:
    """Every page of `site` (default: `site_pages`) at every width: axe-core, reflow and requests.

    Raises BrowserUnavailable when Chromium, Playwright or axe-core cannot be had."""
    reason = chromium_missing()
    if reason:
        raise BrowserUnavailable(reason)
    script = axe_source().read_text(encoding="utf-8")
    names = site_pages(site) if pages is None else list(pages)
    return sorted(asyncio.run(_check_all(site, names, tuple(widths), script, list(tags))))


def screenshots(site: Path, page: str, widths: Sequence[int], out_dir: Path) -> list[Path]:
    """Full-page PNGs of one page of `site`, one per width: `<out_dir>/<page stem>-<width>.png`."""
    reason = chromium_missing()
    if reason:
        raise BrowserUnavailable(reason)
    out_dir.mkdir(parents=True, exist_ok=True)
    return asyncio.run(_screenshots(site, page, tuple(widths), out_dir))


# -- The local server ---------------------------------------------------------------------------


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serves the site folder; quiet, and never cached, so a rebuilt site is what is checked."""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        super().end_headers()


@contextmanager
def serve(site: Path) -> Iterator[str]:
    """Serve `site` on 127.0.0.1 at a random free port; yields the origin (`http://127.0.0.1:PORT`)."""
    handler = functools.partial(_Handler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="build-report-site", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _url(origin: str, page: str) -> str:
    return f"{origin}/{quote(page)}"


# -- The browser --------------------------------------------------------------------------------


@asynccontextmanager
async def _browser():
    from playwright.async_api import Error as PlaywrightError, async_playwright

    async with async_playwright() as playwright:
        try:
            browser = await playwright.chromium.launch(executable_path=str(chromium_path()), args=["--no-sandbox"])
        except PlaywrightError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise BrowserUnavailable(f"Chromium at {chromium_path()} did not start: {first}") from exc
        try:
            yield browser
        finally:
            await browser.close()


class _Tab:
    """One browser tab at one width, reused page after page. Every request not to the local server is
    blocked and recorded, with local HTTP errors and uncaught script errors, for the page loaded last."""

    def __init__(self, context, page, origin: str):
        self.context, self.page, self.origin = context, page, origin
        self.external: list[str] = []
        self.missing: list[str] = []
        self.errors: list[str] = []

    @classmethod
    async def open(cls, browser, origin: str, width: int) -> _Tab:
        context = await browser.new_context(viewport={"width": width, "height": HEIGHT}, device_scale_factor=1,
                                            service_workers="block", reduced_motion="reduce")
        page = await context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        tab = cls(context, page, origin)
        await page.route("**/*", tab._route)
        page.on("pageerror", tab._error)
        page.on("response", tab._response)
        return tab

    def _local(self, url: str) -> bool:
        return url == self.origin or url.startswith(self.origin + "/")

    async def _route(self, route) -> None:
        if self._local(route.request.url):
            await route.continue_()
        else:
            self.external.append(route.request.url)
            await route.abort("blockedbyclient")

    def _error(self, error) -> None:
        self.errors.append((str(getattr(error, "message", error)).strip().splitlines() or ["?"])[0])

    def _response(self, response) -> None:
        if response.status >= 400 and self._local(response.url):
            self.missing.append(f"{response.status} {unquote(urlsplit(response.url).path)}")

    async def goto(self, name: str):
        self.external.clear()
        self.missing.clear()
        self.errors.clear()
        return await self.page.goto(_url(self.origin, name), wait_until="load")

    async def close(self) -> None:
        await self.context.close()


async def _check_all(site: Path, pages: list[str], widths: tuple[int, ...], script: str,
                     tags: list[str]) -> list[Finding]:
    findings: list[Finding] = []
    with serve(site) as origin:
        async with _browser() as browser:
            slots = asyncio.Semaphore(TABS)

            async def one_width(width: int) -> None:
                async with slots:
                    tab = await _Tab.open(browser, origin, width)
                    try:
                        for page in pages:
                            findings.extend(await _check_page(tab, page, width, script, tags))
                    finally:
                        await tab.close()

            await asyncio.gather(*(one_width(width) for width in widths))
    return _first_sighting(findings)


def _first_sighting(findings: Iterable[Finding]) -> list[Finding]:
    """A request problem is a property of the page, not of the width: keep it at its smallest width."""
    kept: dict[tuple, Finding] = {}
    for finding in sorted(findings):
        per_page = finding.rule in ("external-request", "missing-file", "script-error")
        key = (finding.page, finding.rule, finding.help) if per_page else (finding,)
        kept.setdefault(key, finding)
    return list(kept.values())


async def _check_page(tab: _Tab, name: str, width: int, script: str, tags: list[str]) -> list[Finding]:
    from playwright.async_api import Error as PlaywrightError

    try:
        response = await tab.goto(name)
    except PlaywrightError as exc:
        return [Finding(name, width, "load", help=f"the page did not load: {_first_line(exc)}")]
    if response is not None and response.status >= 400:
        return [Finding(name, width, "missing-file", help=f"the page itself is missing (HTTP {response.status})")]
    found = await _axe(tab.page, name, width, script, tags)
    found += await _reflow(tab.page, name, width)
    found += [Finding(name, width, "external-request", help=f"external request to {url} (blocked)")
              for url in dict.fromkeys(tab.external)]
    found += [Finding(name, width, "missing-file", help=f"HTTP {status} for {path}")
              for status, path in (item.split(" ", 1) for item in dict.fromkeys(tab.missing))]
    found += [Finding(name, width, "script-error", help=f"uncaught error: {message}")
              for message in dict.fromkeys(tab.errors)]
    return found


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


_RUN_AXE = """async ([tags]) => {
  const results = await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
  return results.violations.map(v => ({
    id: v.id, impact: v.impact || '', help: v.help,
    targets: v.nodes.map(n => n.target.map(t => Array.isArray(t) ? t.join(' >>> ') : t).join(' '))}));
}"""


async def _axe(page, name: str, width: int, script: str, tags: list[str]) -> list[Finding]:
    """axe-core's violations on the loaded page. Injected through the DevTools protocol, which a page's
    Content-Security-Policy does not govern, and after the page's own scripts have run."""
    if not await page.evaluate("() => typeof window.axe === 'object'"):
        await page.evaluate(script)
    violations = await page.evaluate(_RUN_AXE, [tags])
    return [Finding(name, width, v["id"], v["impact"], v["help"], tuple(v["targets"])) for v in violations]


_REFLOW = """() => {
  const root = document.documentElement, width = root.clientWidth;
  const name = (e) => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
    + Array.from(e.classList).slice(0, 2).map(c => '.' + c).join('');
  const path = (e) => { const parts = []; for (; e && e !== root && parts.length < 3; e = e.parentElement)
    parts.unshift(name(e)); return parts.join(' > '); };
  const clipped = (e) => { for (let a = e.parentElement; a && a !== root && a !== document.body; a = a.parentElement) {
      const o = getComputedStyle(a).overflowX; if (o !== 'visible') return true; } return false; };
  const wide = [], fixed = [];
  for (const e of document.body ? document.body.querySelectorAll('*') : []) {
    const r = e.getBoundingClientRect();
    if (r.width < 2 || r.height < 2 || r.right <= width + 1 || clipped(e)) continue;
    const style = getComputedStyle(e);
    if (style.visibility === 'hidden') continue;
    if (style.position === 'fixed') { if (r.left < width) fixed.push(path(e)); continue; }
    const parent = e.parentElement, p = parent && parent !== document.body ? parent.getBoundingClientRect() : null;
    if (!p || p.right <= width + 1) wide.push(path(e));
  }
  return {scrolls: root.scrollWidth > width, scrollWidth: root.scrollWidth, width,
          wide: wide.slice(0, 5), fixed: fixed.slice(0, 5)};
}"""


async def _reflow(page, name: str, width: int) -> list[Finding]:
    """Horizontal scrolling of the whole page (content in a scrollable region of its own does not widen
    the document, so a wide table in a focusable scroll box passes), and fixed boxes cut off."""
    result = await page.evaluate(_REFLOW)
    found = []
    if result["scrolls"]:
        found.append(Finding(name, width, "reflow", help=f"the page scrolls sideways at {width} px (WCAG 1.4.10): "
                                                         f"its content is {result['scrollWidth']} px wide",
                             targets=tuple(result["wide"])))
    if result["fixed"]:
        found.append(Finding(name, width, "reflow", help=f"a fixed-position element runs off the screen at "
                                                         f"{width} px (WCAG 1.4.10)", targets=tuple(result["fixed"])))
    return found


async def _screenshots(site: Path, page: str, widths: tuple[int, ...], out_dir: Path) -> list[Path]:
    written = []
    stem = page.replace("/", "-").removesuffix(".html")
    with serve(site) as origin:
        async with _browser() as browser:
            for width in widths:
                tab = await _Tab.open(browser, origin, width)
                try:
                    await tab.goto(page)
                    await tab.page.evaluate("() => document.fonts.ready.then(() => true)")
                    out = out_dir / f"{stem}-{width}.png"
                    await tab.page.screenshot(path=str(out), full_page=True, animations="disabled", caret="hide")
                    written.append(out)
                finally:
                    await tab.close()
    return written
