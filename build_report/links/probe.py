"""Checking http(s) URLs politely.

Each host's URLs are checked by a few workers (as many as the host may have
requests in flight), and every request also takes a per-host and a global slot.
For one URL: HEAD first; GET when HEAD is refused or inconclusive, or when a
#fragment must be found in the page. Redirects are followed by hand so that
permanent moves and loops can be reported. Timeouts, resets, 5xx and 429 are
retried with exponential backoff, honouring Retry-After. Bodies are streamed and
only read while looking for a fragment, never past FRAGMENT_READ_LIMIT.
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
import socket
import ssl
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from urllib.parse import unquote, urldefrag, urljoin

import aiohttp

from .policy import LinkPolicy, host_name
from .pools import HostSessions
from .results import Status, Verdict

log = logging.getLogger(__name__)

FRAGMENT_READ_LIMIT = 2 * 1024 * 1024  # bytes of HTML read while looking for an anchor
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
PERMANENT_STATUSES = frozenset({301, 308})
BOT_BLOCK_STATUS = 999  # LinkedIn and friends: "not for robots"
# Event-loop iterations from starting a request on a new connection to its being sent: 5 with
# aiohttp 3.14 on loopback (connect, connected, transport, protocol, send), plus one to spare.
LOOP_TURNS_TO_SEND = 6
# asyncio.TimeoutError is TimeoutError from Python 3.11 on, a class of its own before.
# ValueError: a URL that urlsplit cannot parse (aiohttp.InvalidURL is one too).
_TRANSPORT_ERRORS = (aiohttp.ClientError, TimeoutError, asyncio.TimeoutError, OSError, ValueError)
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


@dataclass
class _Host:
    """A host's request slots, and the URLs waiting for a worker to check them."""

    slots: asyncio.Semaphore
    limit: int
    queued: deque[str] = field(default_factory=deque)
    workers: int = 0  # workers taking URLs from `queued`
    wanted: int = 0  # requests waiting for or holding a slot


@dataclass
class _Worker:
    """A task that checks its host's queued URLs one after another."""

    host: str
    detached: bool = False  # its check went elsewhere; another worker took its place


_worker: ContextVar[_Worker | None] = ContextVar("link_worker", default=None)  # the one running this task


class Prober:
    """Checks URLs through a session per host, within global and per-host limits.

    Use as `async with Prober(policy) as prober: verdicts = await prober.check_all(urls)`;
    `progress`, if given, is called with each verdict as it is reached.
    """

    def __init__(self, policy: LinkPolicy, progress: Callable[[Verdict], None] | None = None) -> None:
        self.policy = policy
        self._progress = progress
        self._sessions = HostSessions(policy)
        self._all = asyncio.Semaphore(policy.concurrency)
        self._hosts: dict[str, _Host] = {}
        self._started: list[asyncio.Task[None]] = []  # the workers check_all started
        self._verdicts: dict[str, Verdict] = {}
        self._known_hosts: Mapping[str, str] = {}  # host_name(url) for the URLs check_all was given

    async def __aenter__(self) -> Prober:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._sessions.aclose()

    async def check_all(self, urls: Mapping[str, str]) -> dict[str, Verdict]:
        """The verdict for each URL of `urls`, a mapping of URL to host_name(URL).

        Each host gets as many workers as it has slots (or URLs, if fewer),
        and a worker checks the host's URLs one after another, so that its
        next request leaves as soon as the last answer is in. (A task per URL
        would have a thousand tasks take a first step, most of them only to
        queue for a slot, before the first request could leave.)
        """
        self._known_hosts = urls
        for url, host in urls.items():
            self._host(host).queued.append(url)
        await self._start_workers()
        gathered = 0
        while gathered < len(self._started):  # detached workers start others: gather those too
            batch, gathered = self._started[gathered:], len(self._started)
            await asyncio.gather(*batch)
        return self._verdicts

    async def _start_workers(self) -> None:
        """Start the workers breadth first, a turn at a time: every host's first, then every host's second...

        Between turns the event loop goes round LOOP_TURNS_TO_SEND times,
        which takes microseconds when it is only waiting for the network but
        lets the connections just opened send their requests first. Opening
        all connections at once (80 for 20 hosts) would hold back every first
        request until the last connection had been set up, on this one thread.
        """
        workers = {host: min(state.limit, len(state.queued)) for host, state in self._hosts.items()}
        for turn in range(max(workers.values(), default=0)):
            if turn:
                for _ in range(LOOP_TURNS_TO_SEND):
                    await asyncio.sleep(0)
            for host, count in workers.items():
                if turn < count and self._hosts[host].queued:
                    self._start_worker(host)

    def _start_worker(self, host: str) -> None:
        """A new worker for the host's queue."""
        self._hosts[host].workers += 1
        self._started.append(asyncio.create_task(self._work(_Worker(host))))

    async def _work(self, worker: _Worker) -> None:
        """Check the host's queued URLs in turn, until none is left or a check takes the worker elsewhere."""
        _worker.set(worker)
        state = self._hosts[worker.host]
        while state.queued and not worker.detached:
            url = state.queued.popleft()
            verdict = self._verdicts[url] = await self.check(url)
            if self._progress:
                self._progress(verdict)
        if not worker.detached:
            state.workers -= 1
            await self._close_if_idle(worker.host)

    def _detach(self) -> None:
        """The running check leaves its worker's host for a while (a redirect, a retry's wait).

        Another worker takes over the host's queue, so that the host's slots
        do not sit idle; the detached one ends with the check.
        """
        worker = _worker.get()
        if worker is None or worker.detached:
            return
        worker.detached = True
        self._hosts[worker.host].workers -= 1
        if self._hosts[worker.host].queued:
            self._start_worker(worker.host)

    async def check(self, url: str) -> Verdict:
        """The verdict for one http(s) URL."""
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
            try:
                url = urldefrag(urljoin(url, response.location)).url
            except ValueError:  # e.g. an unparsable [IPv6] host
                raise Failure(f"redirect to an invalid URL: {response.location}", url, code=response.status) from None
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
            self._detach()
            log.debug("retrying %s %s in %.2f s (attempt %d)", method, url, delay, attempt + 1)
            await asyncio.sleep(delay)
            attempt += 1

    async def _attempt(self, method: str, url: str, fragment: str) -> Response | Failure:
        try:
            host = self._known_hosts.get(url)  # saves parsing the URL again for each first request
            async with self._slot(host_name(url) if host is None else host) as session:
                return await _request(session, method, url, fragment)
        except _TRANSPORT_ERRORS as exc:
            reason, retryable = describe_error(exc, self.policy.timeout)
            return Failure(reason, url, retryable)

    @asynccontextmanager
    async def _slot(self, host: str) -> AsyncIterator[aiohttp.ClientSession]:
        """Hold a per-host slot, then a global one (always in that order); yield the host's session.

        A worker's check that turns to another host detaches it from its own.
        When neither a request nor a worker wants the host any more, its
        connections are closed.
        """
        if (worker := _worker.get()) is not None and worker.host != host:
            self._detach()
        state = self._host(host)
        state.wanted += 1
        try:
            async with state.slots, self._all:
                yield self._sessions.get(host)
        finally:
            state.wanted -= 1
            await self._close_if_idle(host)

    async def _close_if_idle(self, host: str) -> None:
        """Close the host's connections if neither a request nor a worker wants them."""
        state = self._hosts[host]
        if not state.wanted and not state.workers:
            await self._sessions.close(host)

    def _host(self, host: str) -> _Host:
        """The host's slots and queue, made on first use."""
        state = self._hosts.get(host)
        if state is None:
            limit = self.policy.host_limit(host)
            state = self._hosts[host] = _Host(asyncio.Semaphore(limit), limit)
        return state

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


async def _request(session: aiohttp.ClientSession, method: str, url: str, fragment: str) -> Response:
    """One request; the body is read only while looking for `fragment`.

    Leaving the response unread is what stops a download: aiohttp then closes
    the connection instead of returning it to the pool.
    """
    async with session.request(method, url, allow_redirects=False) as response:
        found = None
        if fragment and 200 <= response.status < 300 and _is_html(response):
            found = await _find_anchor(response, fragment)
        return Response(
            url=url,
            status=response.status,
            location=response.headers.get("Location"),
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
            bot_blocked="cf-mitigated" in response.headers,
            anchor_found=found,
        )


def describe_error(exc: BaseException, timeout: float) -> tuple[str, bool]:
    """A sentence for a request that failed, and whether trying again could help."""
    if isinstance(exc, (TimeoutError, asyncio.TimeoutError)):
        return f"timed out after {timeout:g} s", True
    causes = list(_causes(exc))
    for cause in causes:
        if isinstance(cause, socket.gaierror):
            if cause.errno in _NOT_FOUND_ERRNOS:
                return "DNS lookup failed: host not found", False
            return f"DNS lookup failed: {cause.strerror}", False
        if isinstance(cause, ssl.SSLError) and not isinstance(cause, aiohttp.ClientError):  # not the wrapper
            return f"TLS error: {_tls_reason(cause)}", False
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused", False
    if isinstance(exc, (ValueError, aiohttp.NonHttpUrlClientError)):
        return f"invalid URL: {exc}", False
    if any(isinstance(cause, ConnectionResetError) for cause in causes):
        return "connection reset by server", True
    if isinstance(exc, (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError, aiohttp.ClientResponseError)):
        return f"protocol error: {_parser_message(causes)}", True
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


def _is_html(response: aiohttp.ClientResponse) -> bool:
    return "html" in response.headers.get("Content-Type", "").lower()


async def _find_anchor(response: aiohttp.ClientResponse, fragment: str) -> bool:
    """Stream the page until an element with id/name == fragment shows up."""
    name = re.escape(fragment.encode())
    pattern = re.compile(rb"(?<![\w-])(?i:id|name)\s*=\s*[\"']?" + name + rb"(?=[\"'\s>/])")
    overlap = len(fragment.encode()) + 32
    tail, read = b"", 0
    async for chunk in response.content.iter_any():
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


def _parser_message(causes: list[BaseException]) -> str:
    """The first line of aiohttp's own message, e.g. "Bad status line" or "Server disconnected"."""
    for cause in causes:
        message = getattr(cause, "message", None)
        if isinstance(message, str) and message.strip():
            return message.strip().splitlines()[0].rstrip(":")
    return str(causes[0])


def _tls_reason(error: ssl.SSLError) -> str:
    if isinstance(error, ssl.SSLCertVerificationError) and error.verify_message:
        return error.verify_message
    return re.sub(r"^\[SSL: \w+\] | \(_ssl\.c:\d+\)$", "", str(error))
