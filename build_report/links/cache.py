"""The verdict cache: build/.linkcache.json.

Every verdict is recorded with the time it was reached; within links.cache_ttl
an OK or WARNING verdict is reused without a request, a BROKEN one never is.
The file carries a fingerprint of the verdict-shaping policy settings, so
changing `accept` or `missing_fragment` starts afresh. An unreadable or corrupt
file is treated as empty.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .policy import LinkPolicy
from .results import Status, Verdict

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
_REUSABLE = (Status.OK, Status.WARNING)


class LinkCache:
    """Verdicts by URL; empty unless loaded from a file."""

    def __init__(self, policy: LinkPolicy) -> None:
        self.ttl = policy.cache_ttl
        self.fingerprint = _fingerprint(policy)
        self.entries: dict[str, dict[str, Any]] = {}

    @classmethod
    def load(cls, path: Path, policy: LinkPolicy, now: float) -> LinkCache:
        """The cache at `path`, less expired and malformed entries."""
        cache = cls(policy)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return cache
        if not isinstance(data, dict) or data.get("version") != FORMAT_VERSION:
            return cache
        if data.get("policy") != cache.fingerprint or not isinstance(data.get("entries"), dict):
            return cache
        for url, entry in data["entries"].items():
            age = _entry_age(entry, now)
            if age is not None and age < cache.ttl:
                cache.entries[url] = entry
        return cache

    def get(self, url: str, now: float) -> Verdict | None:
        """A reusable verdict for `url`, or None when it must be checked."""
        entry = self.entries.get(url)
        if entry is None or entry["status"] not in _REUSABLE:
            return None
        age = _entry_age(entry, now)
        if age is None or age >= self.ttl:
            return None
        return Verdict(Status(entry["status"]), entry["reason"], entry["code"], entry["final_url"])

    def put(self, url: str, verdict: Verdict, now: float) -> None:
        self.entries[url] = {
            "status": verdict.status.value,
            "code": verdict.code,
            "reason": verdict.reason,
            "final_url": verdict.final_url,
            "checked_at": datetime.fromtimestamp(now, timezone.utc).isoformat(timespec="seconds"),
        }

    def save(self, path: Path) -> None:
        """Write atomically (temp file + rename); a failure is logged, not raised."""
        data = {"version": FORMAT_VERSION, "policy": self.fingerprint, "entries": self.entries}
        text = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        temp = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            descriptor, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.replace(temp, path)
        except OSError as exc:
            log.warning("could not write the link cache %s: %s", path, exc)
            if temp:
                Path(temp).unlink(missing_ok=True)


def _entry_age(entry: Any, now: float) -> float | None:
    """Seconds since the entry was checked; None when the entry is malformed."""
    try:
        Status(entry["status"])
        checked = datetime.fromisoformat(entry["checked_at"])
        well_formed = (
            isinstance(entry["code"], int | None)
            and isinstance(entry["reason"], str)
            and isinstance(entry["final_url"], str)
            and checked.tzinfo is not None
        )
    except (TypeError, KeyError, ValueError):
        return None
    return now - checked.timestamp() if well_formed else None


def _fingerprint(policy: LinkPolicy) -> str:
    """A short hash of the settings that decide a verdict from the same responses."""
    shape = [sorted(policy.accept), policy.missing_fragment, policy.max_redirects]
    return hashlib.sha256(json.dumps(shape).encode()).hexdigest()[:16]
