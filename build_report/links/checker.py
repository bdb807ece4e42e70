"""check_links: every external and mailto link of the manuscript, checked once per URL."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO
from urllib.parse import unquote, urlsplit

from ..model import Link
from .cache import LinkCache
from .policy import LinkPolicy
from .results import LinkResult, Status, Verdict

CHECKED_KINDS = ("external", "mailto")
_EMAIL = re.compile(
    r"^(?![.])(?!.*[.]{2})[\w.!#$%&'*+/=?^`{|}~-]+(?<![.])"  # local part, no leading/trailing/double dots
    r"@(?:[^\W_](?:[\w-]{0,61}[^\W_])?\.)+(?:[^\W\d_]{2,63}|xn--[a-z0-9-]+)$"  # domain and top-level name
)


def check_links(
    links: Iterable[Link],
    policy: LinkPolicy,
    cache_path: Path | str | None = None,
    use_cache: bool = True,
    progress: TextIO | None = None,
) -> list[LinkResult]:
    """Check external and mailto links (others are ignored); one result per occurrence.

    Each distinct URL is requested at most once. With `use_cache`, good verdicts
    younger than policy.cache_ttl are reused from `cache_path`; fresh verdicts
    are written back to `cache_path` either way. A progress bar is drawn on
    `progress` only when it is a terminal. Runs its own event loop (asyncio.run),
    so call it from synchronous code.
    """
    cache_path = Path(cache_path) if cache_path else None
    checked = [link for link in links if link.kind in CHECKED_KINDS]
    urls = list(dict.fromkeys(link.url.strip() for link in checked))
    now = time.time()
    cache = LinkCache.load(cache_path, policy, now) if cache_path and use_cache else LinkCache(policy)
    bar = ProgressBar(progress, len(urls))

    verdicts: dict[str, Verdict] = {}
    cached: set[str] = set()
    for url in urls:
        verdict = offline_verdict(url, policy)
        if verdict is None and (verdict := cache.get(url, now)):
            cached.add(url)
        if verdict:
            verdicts[url] = verdict
            bar.advance(verdict.status)
    to_fetch = [url for url in urls if url not in verdicts]
    if to_fetch:
        verdicts.update(asyncio.run(_probe_all(to_fetch, policy, bar)))
        if cache_path:
            for url in to_fetch:
                cache.put(url, verdicts[url], now)
            cache.save(cache_path)
    bar.close()
    return [LinkResult.of(link, verdicts[link.url.strip()], link.url.strip() in cached) for link in checked]


def offline_verdict(url: str, policy: LinkPolicy) -> Verdict | None:
    """The verdict for a URL that needs no request, or None for http(s) URLs."""
    if policy.is_excluded(url):
        return Verdict(Status.SKIPPED, "excluded by links.exclude")
    try:
        scheme = urlsplit(url).scheme.lower()
        urlsplit(url).hostname  # noqa: B018 - raises on an unparsable [IPv6] host
    except ValueError as exc:
        return Verdict(Status.BROKEN, f"invalid URL: {exc}")
    if scheme == "mailto":
        return check_mailto(url)
    if scheme not in ("http", "https"):
        return Verdict(Status.SKIPPED, f"not checked: {scheme or 'scheme-less'} links are not supported")
    return None


def check_mailto(url: str) -> Verdict:
    """mailto: syntax only (every address before any ?query); no network."""
    addresses = unquote(url.partition(":")[2].partition("?")[0]).split(",")
    for address in (a.strip() for a in addresses):
        if not _EMAIL.match(address):
            return Verdict(Status.BROKEN, f"invalid email address: {address or '(none given)'}")
    return Verdict(Status.OK)


async def _probe_all(urls: list[str], policy: LinkPolicy, bar: ProgressBar) -> dict[str, Verdict]:
    from .probe import Prober  # imports aiohttp (~0.1 s): only runs that make requests pay for it

    async with Prober(policy) as prober:

        async def probe(url: str) -> tuple[str, Verdict]:
            verdict = await prober.check(url)
            bar.advance(verdict.status)
            return url, verdict

        return dict(await asyncio.gather(*(probe(url) for url in urls)))


class ProgressBar:
    """A one-line bar on a terminal; silent on anything else."""

    WIDTH = 30

    def __init__(self, stream: TextIO | None, total: int) -> None:
        self.stream = stream if stream is not None and stream.isatty() and total else None
        self.total = total
        self.done = 0
        self.broken = 0

    def advance(self, status: Status) -> None:
        self.done += 1
        self.broken += status is Status.BROKEN
        if self.stream:
            filled = self.WIDTH * self.done // self.total
            bar = "#" * filled + "-" * (self.WIDTH - filled)
            self.stream.write(f"\rchecking links [{bar}] {self.done}/{self.total}, {self.broken} broken")
            self.stream.flush()

    def close(self) -> None:
        if self.stream:
            self.stream.write("\n")
            self.stream.flush()
