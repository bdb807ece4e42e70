"""Checking one http(s) URL politely.

HEAD first; GET when HEAD is refused or inconclusive, or when a #fragment must
be found in the page. Redirects are followed by hand so that permanent moves
and loops can be reported. Timeouts, resets, 5xx and 429 are retried with
exponential backoff, honouring Retry-After. Bodies are streamed and only read
while looking for a fragment, never past FRAGMENT_READ_LIMIT.
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
import socket
import ssl
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from urllib.parse import unquote, urldefrag, urljoin

import httpx

from .policy import LinkPolicy
from .pools import HostPools
from .results import Status, Verdict

log = logging.getLogger(__name__)

FRAGMENT_READ_LIMIT = 2 * 1024 * 1024  # bytes of HTML read while looking for an anchor
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
PERMANENT_STATUSES = frozenset({301, 308})
BOT_BLOCK_STATUS = 999  # LinkedIn and friends: "not for robots"
_TRANSPORT_ERRORS = (httpx.HTTPError, httpx.InvalidURL, TimeoutError, asyncio.TimeoutError, OSError)
_NOT_FOUND_ERRNOS = {socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME)}


@dataclass(frozen=True)
class Response:
    """What one request found; the body is never kept."""

    url: str
    status: int
    location: str | None = None
    retry_after: float | None = None  # seconds, when the server asked
    bot_blocked: bool = False  # a bot-protection layer (Cloudflare) answered
    anchor_found: bool | None = None  # None when the page was not searched


@dataclass
class Failure(Exception):
    """A request that got no HTTP answer (or a redirect chain that went wrong)."""

    reason: str
    url: str
    retryable: bool = False
    code: int | None = None


class Prober:
    """Checks URLs through one client, within global and per-host limits.

    Use as `async with Prober(policy) as prober: await prober.check(url)`.
    """

    def __init__(self, policy: LinkPolicy) -> None:
        self.policy = policy
        self._pools = HostPools(policy)
        self.client = httpx.AsyncClient(
            transport=self._pools,
            headers={"User-Agent": policy.user_agent, "Accept": "text/html,application/xhtml+xml,*/*;q=0.8"},
            timeout=httpx.Timeout(policy.timeout),
            follow_redirects=False,
        )
        self._all = asyncio.Semaphore(policy.concurrency)
        self._hosts: dict[str, asyncio.Semaphore] = {}
        self._wanted: Counter[str] = Counter()  # requests waiting for or holding each host

    async def __aenter__(self) -> Prober:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.client.aclose()

    async def check(self, url: str) -> Verdict:
        target, raw_fragment = urldefrag(url)
        fragment = unquote(raw_fragment) if _checkable(raw_fragment) else ""
        try:
            chain = await self._follow(target, "GET" if fragment else "HEAD", fragment)
            if not fragment and _head_inconclusive(chain[-1].status):
                chain = await self._follow(target, "GET", "")
        except Failure as failure:
            return Verdict(Status.BROKEN, failure.reason, failure.code, failure.url)
        return self._judge(chain, raw_fragment, fragment)

    async def _follow(self, url: str, method: str, fragment: str) -> list[Response]:
        """Request `url`, then each redirect target, up to policy.max_redirects."""
        chain: list[Response] = []
        while True:
            response = await self._fetch(method, url, fragment)
            chain.append(response)
            if response.status not in REDIRECT_STATUSES or not response.location:
                return chain
            url = urldefrag(urljoin(url, response.location)).url
            if any(earlier.url == url for earlier in chain):
                raise Failure("redirect loop", url, code=response.status)
            if len(chain) > self.policy.max_redirects:
                raise Failure(f"too many redirects (more than {self.policy.max_redirects})", url)

    async def _fetch(self, method: str, url: str, fragment: str) -> Response:
        """One request, retried while the failure looks temporary."""
        attempt = 0
        while True:
            outcome = await self._attempt(method, url, fragment)
            if attempt >= self.policy.retries or not _worth_retrying(outcome):
                if isinstance(outcome, Failure):
                    raise outcome
                return outcome
            delay = self._delay(attempt, outcome)
            log.debug("retrying %s %s in %.2f s (attempt %d)", method, url, delay, attempt + 1)
            await asyncio.sleep(delay)
            attempt += 1

    async def _attempt(self, method: str, url: str, fragment: str) -> Response | Failure:
        try:
            async with self._slot(httpx.URL(url).host):
                # asyncio.wait_for, not asyncio.timeout: the latter needs Python 3.11.
                return await asyncio.wait_for(self._request(method, url, fragment), self.policy.timeout)
        except _TRANSPORT_ERRORS as exc:
            reason, retryable = describe_error(exc, self.policy.timeout)
            return Failure(reason, url, retryable)

    async def _request(self, method: str, url: str, fragment: str) -> Response:
        async with self.client.stream(method, url) as response:
            found = None
            if method == "HEAD":
                await response.aread()  # no body: finishing the exchange keeps the connection alive
            elif fragment and response.is_success and _is_html(response):
                found = await _find_anchor(response, fragment)
            return Response(
                url=url,
                status=response.status_code,
                location=response.headers.get("location"),
                retry_after=parse_retry_after(response.headers.get("retry-after")),
                bot_blocked="cf-mitigated" in response.headers,
                anchor_found=found,
            )

    @asynccontextmanager
    async def _slot(self, host: str) -> AsyncIterator[None]:
        """Hold a per-host slot, then a global one (always in that order).

        When no request wants the host any more, its connections are closed.
        """
        if host not in self._hosts:
            self._hosts[host] = asyncio.Semaphore(self.policy.host_limit(host))
        self._wanted[host] += 1
        try:
            async with self._hosts[host], self._all:
                yield
        finally:
            self._wanted[host] -= 1
            if not self._wanted[host]:
                await self._pools.close_host(host)

    def _delay(self, attempt: int, outcome: Response | Failure) -> float:
        """Retry-After when the server gave one, else exponential backoff with jitter."""
        cap = self.policy.retry_after_max
        if isinstance(outcome, Response) and outcome.retry_after is not None:
            return min(outcome.retry_after, cap)
        base = self.policy.retry_delay
        return min(base * 2.0**attempt + random.uniform(0, base), cap)

    def _judge(self, chain: list[Response], raw_fragment: str, fragment: str) -> Verdict:
        final = chain[-1]
        final_url = _with_fragment(final.url, raw_fragment)
        code = final.status
        if code not in self.policy.accept:
            return Verdict(*_refusal(final), code, final_url)
        notes = []
        if final.anchor_found is False:
            note = f"fragment #{fragment} not found in page"
            if self.policy.missing_fragment == "error":
                return Verdict(Status.BROKEN, note, code, final_url)
            notes.append(note)
        if moved := _permanent_target(chain):
            notes.append(f"permanent redirect: use {_with_fragment(moved, raw_fragment)}")
        return Verdict(Status.WARNING if notes else Status.OK, "; ".join(notes), code, final_url)


def describe_error(exc: BaseException, timeout: float) -> tuple[str, bool]:
    """A sentence for a request that failed, and whether trying again could help."""
    if isinstance(exc, (httpx.TimeoutException, TimeoutError, asyncio.TimeoutError)):
        return f"timed out after {timeout:g} s", True
    causes = list(_causes(exc))
    for cause in causes:
        if isinstance(cause, socket.gaierror):
            if cause.errno in _NOT_FOUND_ERRNOS:
                return "DNS lookup failed: host not found", False
            return f"DNS lookup failed: {cause.strerror}", False
        if isinstance(cause, ssl.SSLError):
            return f"TLS error: {_tls_reason(cause)}", False
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused", False
    if isinstance(exc, (httpx.InvalidURL, httpx.UnsupportedProtocol)):
        return f"invalid URL: {exc}", False
    if isinstance(exc, (httpx.ReadError, httpx.WriteError)) or any(isinstance(c, ConnectionResetError) for c in causes):
        return "connection reset by server", True
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"protocol error: {exc}", True
    return f"request failed: {str(exc) or type(exc).__name__}", False


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _refusal(response: Response) -> tuple[Status, str]:
    """Status and reason for a final response whose code is not accepted."""
    code = response.status
    if code == BOT_BLOCK_STATUS:
        return Status.WARNING, f"unverified: blocked by bot protection (HTTP {code})"
    if code == 403 and response.bot_blocked:
        return Status.WARNING, "unverified: blocked by bot protection (HTTP 403 cf-mitigated)"
    if code == 429:
        return Status.WARNING, "unverified: rate limited (HTTP 429 Too Many Requests)"
    return Status.BROKEN, describe_status(code)


def describe_status(code: int) -> str:
    try:
        return f"HTTP {code} {HTTPStatus(code).phrase}"
    except ValueError:
        return f"HTTP {code}"


def _worth_retrying(outcome: Response | Failure) -> bool:
    if isinstance(outcome, Failure):
        return outcome.retryable
    return outcome.status == 429 or (outcome.status >= 500 and outcome.status != 501)


def _head_inconclusive(status: int) -> bool:
    """HEAD refused (405, 501, 403...) or a 4xx that GET may well contradict."""
    return status == 501 or (400 <= status < 500 and status not in (404, 410, 429))


def _checkable(fragment: str) -> bool:
    """Fragments that name an element (not "#top", text fragments or JS routes)."""
    return bool(fragment) and fragment != "top" and not fragment.startswith((":~:", "/", "!"))


def _is_html(response: httpx.Response) -> bool:
    return "html" in response.headers.get("content-type", "").lower()


async def _find_anchor(response: httpx.Response, fragment: str) -> bool:
    """Stream the page until an element with id/name == fragment shows up."""
    name = re.escape(fragment.encode())
    pattern = re.compile(rb"(?<![\w-])(?i:id|name)\s*=\s*[\"']?" + name + rb"(?=[\"'\s>/])")
    overlap = len(fragment.encode()) + 32
    tail, read = b"", 0
    async for chunk in response.aiter_bytes():
        window = tail + chunk
        if pattern.search(window):
            return True
        read += len(chunk)
        if read >= FRAGMENT_READ_LIMIT:
            break
        tail = window[-overlap:]
    return False


def _permanent_target(chain: list[Response]) -> str:
    """Where the link should point: the end of its leading run of permanent redirects."""
    target = ""
    for response in chain:
        if response.status not in PERMANENT_STATUSES or not response.location:
            break
        target = urldefrag(urljoin(response.url, response.location)).url
    return target


def _with_fragment(url: str, raw_fragment: str) -> str:
    return f"{url}#{raw_fragment}" if raw_fragment else url


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """The exception, its causes and contexts, and members of exception groups."""
    pending, seen = [exc], set()
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        pending.extend(e for e in (current.__cause__, current.__context__) if e is not None)
        pending.extend(getattr(current, "exceptions", ()))  # exception groups (Python 3.11+)


def _tls_reason(error: ssl.SSLError) -> str:
    if isinstance(error, ssl.SSLCertVerificationError) and error.verify_message:
        return error.verify_message
    return re.sub(r"^\[SSL: \w+\] | \(_ssl\.c:\d+\)$", "", str(error))
