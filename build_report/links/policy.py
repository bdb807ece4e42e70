"""The link-checking policy: the `links:` section of report.yaml, validated.

Every knob that affects timing (timeout, retry delays, Retry-After cap) lives
here, so tests inject small values through the policy instead of patching
sleeps.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from .. import __version__

DEFAULT_USER_AGENT = f"build-report/{__version__} (+link checker)"
DEFAULT_ACCEPT = frozenset(range(200, 300))
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_RANGE = re.compile(r"^\s*(\d{3})\s*(?:-|\.\.)\s*(\d{3})\s*$")


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
        """Build a policy from report.yaml's `links:`; ValueError names the bad key."""
        mapping = mapping or {}
        if not isinstance(mapping, Mapping):
            raise ValueError("links must be a mapping of settings")
        unknown = sorted(set(mapping) - set(_PARSERS))
        if unknown:
            key = str(unknown[0])
            hint = difflib.get_close_matches(key, _PARSERS, n=1)
            suggestion = f" (did you mean links.{hint[0]}?)" if hint else ""
            raise ValueError(f"links.{key} is not a known setting{suggestion}")
        return cls(**{key: _PARSERS[key](f"links.{key}", value) for key, value in mapping.items()})

    def host_limit(self, host: str) -> int:
        """Concurrency for `host`: the most specific `hosts:` entry, else per_host."""
        matches = [name for name in self.hosts if host == name or host.endswith("." + name)]
        return self.hosts[max(matches, key=len)] if matches else self.per_host

    def is_excluded(self, url: str) -> bool:
        return any(pattern.search(url) for pattern in self.exclude)


def host_name(url: str) -> str:
    """The host that per-host limits and connection pools apply to ("" if none); ValueError if unparsable."""
    return urlsplit(url).hostname or ""


def parse_duration(name: str, value: Any) -> float:
    """Seconds from a number or a string such as "90", "30m", "12h", "1d", "2w"."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
        return float(value)
    match = _DURATION.match(value) if isinstance(value, str) else None
    if not match:
        raise ValueError(f'{name} must be a duration in seconds or like "12h", "1d"')
    return float(match[1]) * _UNIT_SECONDS[match[2]]


def _positive_number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ValueError(f"{name} must be a positive number")
    return float(value)


def _non_negative_number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ValueError(f"{name} must be a number of seconds, 0 or more")
    return float(value)


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a whole number, 1 or more")
    return value


def _non_negative_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be a whole number, 0 or more")
    return value


def _string_list(name: str, value: Any) -> list[str]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise ValueError(f"{name} must be a list of strings")
    return items


def _patterns(name: str, value: Any) -> tuple[re.Pattern[str], ...]:
    compiled = []
    for index, pattern in enumerate(_string_list(name, value)):
        try:
            compiled.append(re.compile(pattern))
        except re.error as exc:
            raise ValueError(f"{name}[{index}] is not a valid regular expression: {exc}") from None
    return tuple(compiled)


def _accept(name: str, value: Any) -> frozenset[int]:
    """Status codes (or "200-299" / "200..299" ranges) accepted on top of 2xx."""
    codes = set(DEFAULT_ACCEPT)
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, int) and not isinstance(item, bool) and 100 <= item <= 999:
            codes.add(item)
        elif isinstance(item, str) and (match := _RANGE.match(item)):
            codes.update(range(int(match[1]), int(match[2]) + 1))
        else:
            raise ValueError(f"{name} must list HTTP status codes or ranges like 200-299, not {item!r}")
    return frozenset(codes)


def _hosts(name: str, value: Any) -> dict[str, int]:
    """`hosts: {example.org: {concurrency: 1}}` -> {"example.org": 1}."""
    if not isinstance(value, Mapping):
        raise ValueError(f"{name} must map host names to settings")
    limits = {}
    for host, settings in value.items():
        where = f"{name}.{host}"
        if not isinstance(settings, Mapping):
            raise ValueError(f"{where} must be a mapping such as {{concurrency: 1}}")
        for key in settings:
            if key != "concurrency":
                raise ValueError(f"{where}.{key} is not a known setting (only concurrency)")
        if "concurrency" in settings:
            limits[str(host).lower()] = _positive_int(f"{where}.concurrency", settings["concurrency"])
    return limits


def _user_agent(name: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} must be a non-empty string")
    return value.strip()


def _missing_fragment(name: str, value: Any) -> str:
    if value not in ("warning", "error"):
        raise ValueError(f"{name} must be warning or error")
    return str(value)


_PARSERS: dict[str, Callable[[str, Any], Any]] = {
    "exclude": _patterns,
    "accept": _accept,
    "timeout": _positive_number,
    "concurrency": _positive_int,
    "per_host": _positive_int,
    "hosts": _hosts,
    "retries": _non_negative_int,
    "retry_delay": _non_negative_number,
    "retry_after_max": _non_negative_number,
    "max_redirects": _non_negative_int,
    "cache_ttl": parse_duration,
    "user_agent": _user_agent,
    "missing_fragment": _missing_fragment,
}
