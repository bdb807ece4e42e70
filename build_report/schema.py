"""One declarative schema for every setting a manuscript gives.

report.yaml, places.yaml, each chapter's front matter and report.yaml's `links:`
are each described once, here, as a `Schema`: a mapping of key -> `Option`. An
option says what type its value must have and what range (as MkDocs'
`config_options` do); a schema says which keys are required, how its messages
name a key, and what an unknown key is (a warning with a "did you mean" hint, an
error, or ignored). Defaults are not repeated here: a key that is absent (or
null) is simply left out of the result, and the model's dataclass (`Report`,
`Place`, `LinkPolicy`) supplies its default.

`Schema.validate(mapping, where)` checks a mapping that the YAML loader
(`config.parse_yaml`) produced, whose `.lines` give each key's line, and reports
every problem at the line of the bad value:

    report.yaml:10: error: links.timeout must be a positive number, not nan

It returns the valid values only; the caller stops the build on errors
(`Diagnostics.check`). `Schema.parse(mapping)` is the same check for code that
builds an object from a plain mapping (`LinkPolicy.from_mapping`): it raises
`Invalid` (a ValueError) at the first problem.

Files a setting names (`places:`, `cover:`) go through `manuscript_file`, which
applies the confinement rule of `confine.py` before anything is opened.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from . import confine, images, themes
from .diagnostics import Diagnostics
from .model import RESERVED_IDS, Location


class Invalid(ValueError):
    """A value the schema refuses: the whole message, and the line of the value (0 if unknown)."""

    def __init__(self, message: str, line: int = 0):
        super().__init__(message)
        self.message = message
        self.line = line


class Problems:
    """Where a schema's findings go: a file's diagnostics, or (without them) an `Invalid` raised at once."""

    def __init__(self, diagnostics: Diagnostics | None = None, file: str = ""):
        self.diagnostics = diagnostics
        self.file = file

    def error(self, line: int, message: str) -> None:
        if self.diagnostics is None:
            raise Invalid(message, line)
        self.diagnostics.error(Location(self.file, line), message)

    def warning(self, line: int, message: str) -> None:
        if self.diagnostics is not None:
            self.diagnostics.warning(Location(self.file, line), message)


@dataclass(frozen=True)
class Where:
    """The value being checked: how messages name it, its line, where problems go, the manuscript folder."""

    problems: Problems
    label: str = ""  # "'title'", "links.timeout", "'region' of place 'ashbury'"
    line: int = 0
    root: Path | None = None  # for options that name a file
    styles: Path | None = None  # the styles folder of this build (--styles), for `theme:`

    def child(self, label: str, line: int | None) -> Where:
        return replace(self, label=label, line=line or self.line)

    def invalid(self, message: str) -> Invalid:
        return Invalid(message, self.line)


# --- How messages show values -----------------------------------------------------------


def describe(value: Any) -> str:
    """A value's kind, as a message names it: 'a list', 'a mapping', 'text'."""
    if isinstance(value, str):
        return "text"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    return show(value)


def show(value: Any) -> str:
    """A value as YAML would print it: 'soon' (quoted text), nan, inf, -1, true, null, a list."""
    if isinstance(value, str):
        value = value if len(value) <= 60 else value[:57] + "..."
        return f"'{value}'" if "'" not in value else f'"{value}"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, (Mapping, list, tuple)):
        return describe(value)
    return f"a {type(value).__name__} value"


def alternatives(choices: tuple[str, ...]) -> str:
    """('a', 'b', 'c') -> 'a, b or c'."""
    return choices[0] if len(choices) == 1 else f"{', '.join(choices[:-1])} or {choices[-1]}"


def _lines(value: Any) -> Any:
    """The loader's line numbers of a mapping (by key) or a list (by index); empty for plain values."""
    return getattr(value, "lines", None) or {}


def _is_empty(value: Any) -> bool:
    """Null, '' and [] mean "not given" (a required key that is empty is an error)."""
    return value is None or (isinstance(value, (str, list)) and not value)


# --- Options ------------------------------------------------------------------------------


class Option:
    """One key's value: `validate` returns it (converted) or raises `Invalid`."""

    def __init__(self, *, required: bool = False):
        self.required = required

    def validate(self, value: Any, where: Where) -> Any:
        raise NotImplementedError


class Text(Option):
    """A single value, as text. Numbers are text too (`version: 0.3` is "0.3"); a boolean is not,
    since YAML reads an unquoted `yes`, `no`, `on`, `off` as one. `check(text, where)` may refuse it;
    `strip` removes surrounding spaces and refuses text that is only spaces."""

    def __init__(self, *, required: bool = False, check: Callable[[str, Where], None] | None = None,
                 strip: bool = False):
        super().__init__(required=required)
        self.check = check
        self.strip = strip

    def validate(self, value: Any, where: Where) -> str:
        if isinstance(value, bool):
            raise where.invalid(f"{where.label} must be text, not {show(value)} (YAML reads an unquoted yes, no, "
                                "on, off, true or false as true or false): put it in quotes")
        if isinstance(value, (int, float)):
            value = str(value)
        if not isinstance(value, str):
            raise where.invalid(f"{where.label} must be text, not {describe(value)}")
        if self.strip:
            value = value.strip()
            if not value:
                raise where.invalid(f"{where.label} must be a non-empty string")
        if self.check:
            self.check(value, where)
        return value


class TextList(Option):
    """A list of text items, each checked by `item` and reported at its own line.

    `single`: a lone value counts as a list of one (links.exclude: "^x")."""

    def __init__(self, item: Option | None = None, *, required: bool = False, single: bool = False,
                 item_label: str = "{label} item {number}", what: str = "a list of strings"):
        super().__init__(required=required)
        self.item = item or Text()
        self.single = single
        self.item_label = item_label
        self.what = what

    def validate(self, value: Any, where: Where) -> list[Any]:
        if self.single and not isinstance(value, (list, Mapping)):
            value = [value]
        if not isinstance(value, list):
            raise where.invalid(f"{where.label} must be {self.what}, not {describe(value)}")
        lines = _lines(value)
        items = []
        for index, item in enumerate(value):
            at = where.child(self.item_label.format(label=where.label, number=index + 1, index=index),
                             lines[index] if index < len(lines) else None)
            if item is None:
                raise at.invalid(f"{at.label} is empty")
            items.append(self.item.validate(item, at))
        return items


class Choice(Option):
    """One of a few words."""

    def __init__(self, choices: tuple[str, ...]):
        super().__init__()
        self.choices = choices

    def validate(self, value: Any, where: Where) -> str:
        if value not in self.choices:
            raise where.invalid(f"{where.label} must be {alternatives(self.choices)}, not {show(value)}")
        return str(value)


class Number(Option):
    """A finite number (never nan or inf, never a boolean), at least `minimum` or above `above`.

    `what` completes "links.timeout must be ...": "a positive number"."""

    def __init__(self, what: str, *, minimum: float | None = None, above: float | None = None,
                 whole: bool = False):
        super().__init__()
        self.what, self.minimum, self.above, self.whole = what, minimum, above, whole

    def validate(self, value: Any, where: Where) -> int | float:
        if (not isinstance(value, int if self.whole else (int, float)) or isinstance(value, bool)
                or (isinstance(value, float) and not math.isfinite(value))
                or (self.minimum is not None and value < self.minimum)
                or (self.above is not None and value <= self.above)):
            raise where.invalid(f"{where.label} must be {self.what}, not {show(value)}")
        if self.whole:
            return value
        try:
            return float(value)
        except OverflowError:  # an integer of hundreds of digits
            raise where.invalid(f"{where.label} must be {self.what}, not a number that large") from None


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


class Duration(Option):
    """Seconds, as a number or as text such as "90", "30m", "12h", "1d", "2w"."""

    def validate(self, value: Any, where: Where) -> float:
        match = _DURATION.match(value) if isinstance(value, str) else None
        try:
            seconds = float(match[1]) * _UNIT_SECONDS[match[2]] if match else _SECONDS.validate(value, where)
        except Invalid:
            seconds = math.inf
        if not math.isfinite(seconds):
            raise where.invalid(f'{where.label} must be a duration in seconds or like "12h", "1d", '
                                f"not {show(value)}")
        return seconds


_SECONDS = Number("a number of seconds, 0 or more", minimum=0)


class Regex(Option):
    """A regular expression, compiled."""

    def validate(self, value: Any, where: Where) -> re.Pattern[str]:
        pattern = Text().validate(value, where)
        try:
            return re.compile(pattern)
        except re.error as exc:
            raise where.invalid(f"{where.label} is not a valid regular expression: {exc}") from None


class Patterns(Option):
    """links.exclude: a regular expression or a list of them, compiled."""

    _list = TextList(Regex(), single=True, item_label="{label}[{index}]")

    def validate(self, value: Any, where: Where) -> tuple[re.Pattern[str], ...]:
        return tuple(self._list.validate(value, where))


_STATUS_RANGE = re.compile(r"^\s*(\d{3})\s*(?:-|\.\.)\s*(\d{3})\s*$")


class StatusCode(Option):
    """An HTTP status code (100-999), or a range such as "500-599"; gives the set of codes."""

    def validate(self, value: Any, where: Where) -> frozenset[int]:
        if isinstance(value, int) and not isinstance(value, bool) and 100 <= value <= 999:
            return frozenset({value})
        match = _STATUS_RANGE.match(value) if isinstance(value, str) else None
        if match and 100 <= int(match[1]) <= int(match[2]):
            return frozenset(range(int(match[1]), int(match[2]) + 1))
        raise where.invalid(f"{where.label} must list HTTP status codes or ranges like 200-299, not {show(value)}")


class StatusCodes(Option):
    """links.accept: a code, a range, or a list of them; the union of all."""

    _list = TextList(StatusCode(), single=True, item_label="{label}", what="a list of HTTP status codes")

    def validate(self, value: Any, where: Where) -> frozenset[int]:
        return frozenset().union(*self._list.validate(value, where))


class Section(Option):
    """A nested mapping checked by its own schema (report.yaml's `links:`).

    The result is the mapping as written (a plain dict): its consumer builds its own
    object from it with the same schema (`LinkPolicy.from_mapping`)."""

    def __init__(self, schema: Schema):
        super().__init__()
        self.schema = schema

    def validate(self, value: Any, where: Where) -> dict[str, Any]:
        if not isinstance(value, Mapping):
            raise where.invalid(f"{where.label} must be {self.schema.what}")
        self.schema.validate(value, where)
        return dict(value)


class Hosts(Option):
    """links.hosts: host name -> {concurrency: N}; gives host (lower case) -> N."""

    def validate(self, value: Any, where: Where) -> dict[str, int]:
        if not isinstance(value, Mapping):
            raise where.invalid(f"{where.label} must map host names to settings, not {describe(value)}")
        limits = {}
        lines = _lines(value)
        for host, settings in value.items():
            at = where.child(f"{where.label}.{host}", lines.get(str(host)))
            if not isinstance(settings, Mapping):
                raise at.invalid(f"{at.label} must be a mapping such as {{concurrency: 1}}")
            checked = HOST.validate(settings, at, entry=f"{where.label}.{host}")
            if "concurrency" in checked:
                limits[str(host).lower()] = checked["concurrency"]
        return limits


# --- Files named by a setting --------------------------------------------------------------


def manuscript_file(root: Path, name: str, what: str, line: int = 0) -> Path:
    """The resolved path of the file `name` (relative to the manuscript folder `root`).

    Raises `Invalid` ("places file '../x.yaml' is outside the manuscript folder") when it
    leads outside the folder, is missing, or is not a regular file (a FIFO would block
    the build when opened). Nothing is opened here."""
    try:
        path = confine.inside(root, name)
    except confine.Outside as reason:
        raise Invalid(f"{what} '{name}' {reason}", line) from None
    problem = confine.file_problem(path)
    if problem:
        raise Invalid(f"{what} '{name}' {problem}", line)
    return path


class ManuscriptFile(Text):
    """A file in the manuscript folder, named relative to it (see `manuscript_file`).
    `check(path, root)` may refuse its content with a ValueError whose text completes
    "cover image 'x' ..." (`images.inspect` raises `ImageProblem`)."""

    def __init__(self, what: str, check: Callable[[Path, Path], Any] | None = None):
        super().__init__()
        self.what = what
        self.content_check = check

    def validate(self, value: Any, where: Where) -> str:
        name = super().validate(value, where)
        assert where.root is not None, "a schema with file options needs the manuscript folder"
        path = manuscript_file(where.root, name, self.what, where.line)
        if self.content_check:
            try:
                self.content_check(path, where.root)
            except ValueError as problem:
                raise where.invalid(f"{self.what} '{name}' {problem}") from None
            except OSError as exc:  # unreadable (permissions): the path is not worth printing
                raise where.invalid(f"{self.what} '{name}' cannot be read ({exc.strerror or exc})") from None
        return name


# --- Checks of single values ------------------------------------------------------------------


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
_ID = re.compile(r"^[A-Za-z0-9_-]+$")


def _date(value: str, where: Where) -> None:
    try:
        if _DATE.match(value):  # fromisoformat alone also takes 20260115 and 2026-W03
            dt.date.fromisoformat(value)
            return
    except ValueError:
        pass
    raise where.invalid(f"date '{value}' is not YYYY-MM-DD")


def _language(value: str, where: Where) -> None:
    if not _LANGUAGE.match(value):
        raise where.invalid(f"language '{value}' is not a BCP 47 tag such as en-GB")


def _chapter_id(value: str, where: Where) -> None:
    """A chapter id is an anchor in the print HTML and a file name in the EPUB."""
    if not _ID.match(value):
        raise where.invalid(f"chapter id '{value}' may use only ASCII letters, digits, '-' and '_'")
    if "--" in value:  # assemble.rewrite() names a section '<chapter>--<section>'
        raise where.invalid(f"chapter id '{value}' may not contain '--' "
                            "(the print edition joins chapter and section ids with it)")
    if value in RESERVED_IDS:
        raise where.invalid(f"chapter id '{value}' is reserved for a page the build makes; "
                            "give the chapter another 'id:' in its front matter")


def _theme(value: str, where: Where) -> None:
    """A theme is a file of the styles folder's themes/ (styles/themes/<name>.css)."""
    found = themes.available(where.styles or themes.STYLES)
    if value in found:
        return
    close = difflib.get_close_matches(value.lower(), list(found), n=1, cutoff=0.6)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    raise where.invalid(f"unknown theme {show(value)}{hint}: the themes are the files in styles/{themes.THEMES}/: "
                        f"{alternatives(found) if found else 'none'}")


# --- Schemas --------------------------------------------------------------------------------


class Schema:
    """The keys of one mapping, each with its `Option`, and how messages about them read.

    Message templates may use {key}, {label} (the key as messages name it, from `label`),
    {entry} (the enclosing entry: a place's key) and {hint} (" (did you mean ...?)").
    `unknown` is the message for a key the schema does not know; `unknown_error` makes it
    an error rather than a warning; `near_misses_only` ignores unknown keys that resemble
    no known one (front matter shares its block with other tools' keys)."""

    def __init__(self, options: dict[str, Option], *, what: str = "a mapping",
                 label: str = "'{key}'", hint: str = "'{key}'", hint_cutoff: float = 0.6,
                 unknown: str = "unknown key {label}{hint}", unknown_error: bool = False,
                 near_misses_only: bool = False, missing: str = "missing required key '{key}'"):
        self.options = options
        self.what = what
        self.label, self.hint, self.hint_cutoff = label, hint, hint_cutoff
        self.unknown, self.unknown_error, self.near_misses_only = unknown, unknown_error, near_misses_only
        self.missing = missing

    def validate(self, mapping: Any, where: Where, entry: str = "") -> dict[str, Any]:
        """The valid values of `mapping` by key; each problem goes to `where.problems` at its line."""
        if not isinstance(mapping, Mapping):
            where.problems.error(where.line, f"{where.label} must be {self.what}")
            return {}
        values: dict[str, Any] = {}
        lines = _lines(mapping)
        for key, value in mapping.items():
            name = str(key)
            at = where.child(self.label.format(key=name, entry=entry), lines.get(name))
            option = self.options.get(name)
            if option is None:
                self._unknown(name, at, entry)
            elif _is_empty(value):
                if option.required:
                    at.problems.error(at.line, f"{at.label} is empty")
            else:
                try:
                    values[name] = option.validate(value, at)
                except Invalid as problem:
                    at.problems.error(problem.line, problem.message)
        given = {str(key) for key in mapping}
        for name, option in self.options.items():
            if option.required and name not in given:
                where.problems.error(where.line, self.missing.format(key=name, entry=entry))
        return values

    def parse(self, mapping: Any, label: str) -> dict[str, Any]:
        """The values of a plain mapping; raises `Invalid` at the first problem (warnings are dropped)."""
        return self.validate(mapping, Where(Problems(), label))

    def _unknown(self, name: str, at: Where, entry: str) -> None:
        known = {key.lower(): key for key in self.options}
        close = difflib.get_close_matches(name.lower(), list(known), n=1, cutoff=self.hint_cutoff)
        if self.near_misses_only and not close:
            return
        hint = f" (did you mean {self.hint.format(key=known[close[0]])}?)" if close else ""
        message = self.unknown.format(label=at.label, key=name, entry=entry, hint=hint)
        (at.problems.error if self.unknown_error else at.problems.warning)(at.line, message)


HOST = Schema({"concurrency": Number("a whole number, 1 or more", minimum=1, whole=True)},
              label="{entry}.{key}", unknown="{label} is not a known setting (only concurrency)",
              unknown_error=True)

# report.yaml's `links:`, read by the link checker (links/policy.py holds the defaults).
LINKS = Schema(
    {
        "exclude": Patterns(),
        "accept": StatusCodes(),
        "timeout": Number("a positive number", above=0),
        "concurrency": Number("a whole number, 1 or more", minimum=1, whole=True),
        "per_host": Number("a whole number, 1 or more", minimum=1, whole=True),
        "hosts": Hosts(),
        "retries": Number("a whole number, 0 or more", minimum=0, whole=True),
        "retry_delay": Number("a number of seconds, 0 or more", minimum=0),
        "retry_after_max": Number("a number of seconds, 0 or more", minimum=0),
        "max_redirects": Number("a whole number, 0 or more", minimum=0, whole=True),
        "cache_ttl": Duration(),
        "user_agent": Text(strip=True),
        "missing_fragment": Choice(("warning", "error")),
    },
    what="a mapping (exclude, accept, timeout, ...)",
    label="links.{key}", hint="links.{key}", unknown="{label} is not a known setting{hint}", unknown_error=True,
)

# report.yaml (model.Report holds the defaults).
REPORT = Schema(
    {
        "title": Text(required=True),
        "chapters": TextList(required=True),
        "subtitle": Text(),
        "authors": TextList(),
        "publisher": Text(),
        "date": Text(check=_date),
        "version": Text(),
        "language": Text(check=_language),
        "identifier": Text(),
        "rights": Text(),
        "description": Text(),
        "keywords": TextList(),
        "cover": ManuscriptFile("cover image", check=images.inspect),
        "places": ManuscriptFile("places file"),
        "links": Section(LINKS),
        "theme": Text(check=_theme, strip=True),
    },
    what="a mapping of keys to values",
)

# One entry of places.yaml (model.Place).
PLACE = Schema(
    {"name": Text(required=True), "region": Text(), "programme": Text()},
    what="a mapping with at least 'name'", label="'{key}' of place '{entry}'",
    unknown="unknown key '{key}' in place '{entry}'{hint}", missing="place '{entry}' has no '{key}'",
)

KINDS = ("front", "chapter", "appendix")

# A chapter's front matter. Other tools' keys (Jekyll's layout, permalink, MkDocs'
# description...) are ignored; a near miss of one of ours ("titel") is most likely a typo.
FRONT_MATTER = Schema(
    {"title": Text(), "id": Text(check=_chapter_id), "kind": Choice(KINDS)},
    what="a mapping (title, id, kind)",
    unknown="unknown front matter key {label}{hint}", hint_cutoff=0.75, near_misses_only=True,
)
