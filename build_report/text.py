"""Small text helpers shared by several stages."""

from __future__ import annotations

import difflib
import re
import unicodedata


def slugify(text: str) -> str:
    """'Working across boundaries!' -> 'working-across-boundaries'; "Nobody's" -> 'nobodys'."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().replace("'", "")
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def did_you_mean(word: str, choices: list[str], cutoff: float = 0.6) -> str:
    """A ' (did you mean 'X'?)' hint, or '' when nothing is close."""
    lowered = {choice.lower(): choice for choice in choices}
    match = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=cutoff)
    return f" (did you mean '{lowered[match[0]]}'?)" if match else ""


def letter(index: int) -> str:
    """0 -> 'A', 25 -> 'Z', 26 -> 'AA' (appendix labels)."""
    label = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        label = chr(65 + rest) + label
    return label
