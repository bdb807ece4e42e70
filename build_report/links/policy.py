"""The link-checking policy: the `links:` section of report.yaml.

What each setting may hold (types, ranges, the known keys) is declared in
`schema.LINKS`, which also checks report.yaml when it is loaded; this class holds
the defaults and builds the policy from a checked mapping.

Every knob that affects timing (timeout, retry delays, Retry-After cap) lives
here, so tests inject small values through the policy instead of patching
sleeps.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from .. import __version__, schema

DEFAULT_USER_AGENT = f"build-report/{__version__} (+link checker)"
DEFAULT_ACCEPT = frozenset(range(200, 300))


@dataclass(frozen=True)
class LinkPolicy:
    """How external links are checked. Defaults are polite and patient."""

    exclude: tuple[re.Pattern[str], ...] = ()
    accept: frozenset[int] = DEFAULT_ACCEPT  # final statuses treated as OK
    timeout: float = 10.0  # seconds per request, connect to last byte read
    concurrency: int = 64  # requests in flight overall
    per_host: int = 4  # requests in flight to one host
    hosts: Mapping[str, int] = field(default_factory=dict)  # host -> concurrency
    retries: int = 3  # extra attempts after a timeout, reset, 5xx or 429
    retry_delay: float = 0.5  # base of the exponential backoff, seconds
    retry_after_max: float = 30.0  # cap on a server's Retry-After, seconds
    max_redirects: int = 10
    cache_ttl: float = 86400.0  # seconds a good verdict is trusted
    user_agent: str = DEFAULT_USER_AGENT
    missing_fragment: str = "warning"  # or "error"

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any] | None) -> LinkPolicy:
        """Build a policy from report.yaml's `links:`; `schema.Invalid` (a ValueError) names a bad key."""
        values = schema.LINKS.parse(mapping or {}, "links")
        if "accept" in values:  # the codes listed count as fine on top of every 2xx
            values["accept"] = DEFAULT_ACCEPT | values["accept"]
        return cls(**values)

    def host_limit(self, host: str) -> int:
        """Concurrency for `host`: the most specific `hosts:` entry, else per_host."""
        matches = [name for name in self.hosts if host == name or host.endswith("." + name)]
        return self.hosts[max(matches, key=len)] if matches else self.per_host

    def is_excluded(self, url: str) -> bool:
        return any(pattern.search(url) for pattern in self.exclude)


def host_name(url: str) -> str:
    """The host that per-host limits and connection pools apply to ("" if none); ValueError if unparsable."""
    return urlsplit(url).hostname or ""
