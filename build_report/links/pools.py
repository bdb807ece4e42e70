"""Connection pools per host name, behind the one httpx client of a run."""

from __future__ import annotations

import httpx

from .policy import LinkPolicy


class HostPools(httpx.AsyncBaseTransport):
    """A keep-alive connection pool per host name, sharing one TLS context.

    httpcore does bookkeeping quadratic in the size of a pool on every request,
    so one shared pool of ~80 connections (20 busy hosts x 4) burnt more CPU
    than the requests themselves; a pool per host holds a few connections. The
    checker closes a host's pool as soon as no request wants that host, so a
    manuscript linking thousands of hosts never holds thousands of idle sockets.
    """

    def __init__(self, policy: LinkPolicy) -> None:
        self._policy = policy
        self._tls = httpx.create_ssl_context()
        self._pools: dict[str, httpx.AsyncHTTPTransport] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self._pool(request.url.host).handle_async_request(request)

    async def close_host(self, host: str) -> None:
        pool = self._pools.pop(host, None)
        if pool is not None:
            await pool.aclose()

    async def aclose(self) -> None:
        pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            await pool.aclose()

    def _pool(self, host: str) -> httpx.AsyncHTTPTransport:
        if host not in self._pools:
            # The checker's semaphores bound requests in flight, so the pool needn't.
            limits = httpx.Limits(max_connections=None, max_keepalive_connections=self._policy.host_limit(host))
            self._pools[host] = httpx.AsyncHTTPTransport(verify=self._tls, limits=limits)
        return self._pools[host]
