"""Keep-alive connections per host name: an aiohttp session for each host in use."""

from __future__ import annotations

import aiohttp

from .policy import LinkPolicy

# httpcore (behind httpx, which the checker used before) took response heads of up to
# 100 KiB; aiohttp's default, 8 KiB a line, fails sites with long cookie or CSP headers.
MAX_HEADER_LINE = 100 * 1024


class HostSessions:
    """One aiohttp session, and so one connection pool, per host name.

    The prober closes a host's session as soon as no request wants that host,
    so a manuscript linking thousands of hosts never holds thousands of idle
    sockets (one shared connector would keep each for its 15 s keep-alive
    timeout). The sessions share one cookie jar, as one browser would.
    """

    def __init__(self, policy: LinkPolicy) -> None:
        self._headers = {"User-Agent": policy.user_agent, "Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
        self._timeout = aiohttp.ClientTimeout(total=policy.timeout)  # connect to last byte read
        self._cookies = aiohttp.CookieJar()
        self._sessions: dict[str, aiohttp.ClientSession] = {}

    def get(self, host: str) -> aiohttp.ClientSession:
        """The session for `host`, opened on first use."""
        session = self._sessions.get(host)
        if session is None:
            # No connection limit: the prober's semaphores bound requests in flight.
            # The threaded resolver is getaddrinfo, whatever else is installed.
            connector = aiohttp.TCPConnector(limit=0, resolver=aiohttp.ThreadedResolver())
            session = self._sessions[host] = aiohttp.ClientSession(
                connector=connector,
                headers=self._headers,
                timeout=self._timeout,
                cookie_jar=self._cookies,
                max_line_size=MAX_HEADER_LINE,
                max_field_size=MAX_HEADER_LINE,
            )
        return session

    async def close(self, host: str) -> None:
        session = self._sessions.pop(host, None)
        if session is not None:
            await session.close()

    async def aclose(self) -> None:
        sessions, self._sessions = list(self._sessions.values()), {}
        for session in sessions:
            await session.close()
