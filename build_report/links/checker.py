"""check_links: every external and mailto link of the manuscript, checked once per URL."""

from __future__ import annotations

import asyncio
import gc
import re
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
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
    to_fetch: dict[str, str] = {}  # URL -> host name
    for url in urls:
        verdict, host = triage(url, policy)
        if verdict is None and (verdict := cache.get(url, now)):
            cached.add(url)
        if verdict:
            verdicts[url] = verdict
            bar.advance(verdict.status)
        else:
            to_fetch[url] = host
    if to_fetch:
        with _frozen_heap():
            verdicts.update(asyncio.run(_probe_all(to_fetch, policy, bar)))
        if cache_path:
            for url in to_fetch:
                cache.put(url, verdicts[url], now)
            cache.save(cache_path)
    bar.close()
    return [LinkResult.of(link, verdicts[link.url.strip()], link.url.strip() in cached) for link in checked]


@contextmanager
def _frozen_heap() -> Iterator[None]:
    """Keep the objects that exist now out of garbage collections until the block ends.

    The requests allocate enough for the collector to run, and a full
    collection walks the whole heap (the manuscript and everything else
    loaded): 10-20 ms, enough to hold up a round of requests.
    """
    if gc.get_freeze_count() or not gc.isenabled():  # someone else manages the collector
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def triage(url: str, policy: LinkPolicy) -> tuple[Verdict | None, str]:
    """(verdict, "") for a URL that needs no request; (None, host_name(url)) for http(s) URLs.

    One parse serves both: parsing again for the host took another 1 ms per
    1,000 URLs, all of it before the first request could leave.
    """
    if policy.is_excluded(url):
        return Verdict(Status.SKIPPED, "excluded by links.exclude"), ""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""  # as host_name(url); raises on an unparsable [IPv6] host
    except ValueError as exc:
        return Verdict(Status.BROKEN, f"invalid URL: {exc}"), ""
    scheme = parts.scheme.lower()
    if scheme == "mailto":
        return check_mailto(url), ""
    if scheme not in ("http", "https"):
        return Verdict(Status.SKIPPED, f"not checked: {scheme or 'scheme-less'} links are not supported"), ""
    return None, host


def check_mailto(url: str) -> Verdict:
    """mailto: syntax only (every address before any ?query); no network."""
    addresses = unquote(url.partition(":")[2].partition("?")[0]).split(",")
    for address in (a.strip() for a in addresses):
        if not _EMAIL.match(address):
            return Verdict(Status.BROKEN, f"invalid email address: {address or '(none given)'}")
    return Verdict(Status.OK)


async def _probe_all(urls: dict[str, str], policy: LinkPolicy, bar: ProgressBar) -> dict[str, Verdict]:
    """Verdicts for `urls` (URL -> host name), from the network."""
    from .probe import Prober  # imports aiohttp (~0.1 s): only runs that make requests pay for it

    async with Prober(policy, progress=lambda verdict: bar.advance(verdict.status)) as prober:
        return await prober.check_all(urls)


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
