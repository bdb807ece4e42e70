"""Load stage, part 1: report.yaml and places.yaml, validated, with line numbers."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import fields
from pathlib import Path
from typing import Any

import yaml

from .diagnostics import Diagnostics
from .model import Location, Place, Report
from .text import did_you_mean


class LineMap(dict):
    """A YAML mapping that remembers the line of each key (`.lines[key]`)."""

    lines: dict[str, int]
    line: int


class _Loader(yaml.SafeLoader):
    pass


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> LineMap:
    mapping = LineMap(loader.construct_mapping(node, deep=True))
    mapping.lines = {str(k.value): k.start_mark.line + 1 for k, _ in node.value}
    mapping.line = node.start_mark.line + 1
    return mapping


class LineList(list):
    """A YAML sequence that remembers the line of each item (`.lines[i]`)."""

    lines: list[int]


def _construct_sequence(loader: _Loader, node: yaml.SequenceNode) -> LineList:
    sequence = LineList(loader.construct_sequence(node, deep=True))
    sequence.lines = [item.start_mark.line + 1 for item in node.value]
    return sequence


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)
# Dates stay strings: "2026-11-02" is metadata text, not a datetime to reformat.
_Loader.yaml_implicit_resolvers = {
    key: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def parse_yaml(text: str, location: Location, diagnostics: Diagnostics) -> Any:
    """Parse YAML text; a syntax error becomes a diagnostic at its line."""
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = location.line + (mark.line if mark else 0)
        problem = getattr(exc, "problem", None) or str(exc)
        diagnostics.error(Location(location.path, max(line, 1)), f"invalid YAML: {problem}")
        return None


def read_source(path: Path, rel: str, diagnostics: Diagnostics) -> str | None:
    """A manuscript file's text; a missing file or bytes that are not UTF-8 become diagnostics."""
    if not path.is_file():
        diagnostics.error(Location(rel), "is a folder, not a file" if path.is_dir() else "file not found")
        return None
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        diagnostics.error(Location(rel, line), f"not UTF-8 text: byte 0x{data[exc.start]:02x} cannot be read; "
                                               "save the file as UTF-8")
        return None
    return normalise_newlines(text.removeprefix("\ufeff"))


def normalise_newlines(text: str) -> str:
    """Windows (CRLF) and old Mac (CR) line endings read as LF; line numbers stay the same."""
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


def read_yaml(root: Path, name: str, diagnostics: Diagnostics) -> Any:
    text = read_source(root / name, name, diagnostics)
    return None if text is None else parse_yaml(text, Location(name, 1), diagnostics)


_LIST_FIELDS = {"chapters", "authors", "keywords"}
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


def load_report(root: Path, diagnostics: Diagnostics) -> Report | None:
    """Read and validate report.yaml."""
    if not (root / "report.yaml").exists():
        diagnostics.error(Location("report.yaml"), "file not found: a manuscript folder needs report.yaml")
        return None
    errors = len(diagnostics.errors)
    data = read_yaml(root, "report.yaml", diagnostics)
    if data is None and len(diagnostics.errors) > errors:
        return None
    if data is None:
        diagnostics.error(Location("report.yaml", 1), "report.yaml is empty: give at least 'title' and 'chapters'")
        return None
    if not isinstance(data, LineMap):
        diagnostics.error(Location("report.yaml", 1), "report.yaml must be a mapping of keys to values")
        return None

    def at(key: str) -> Location:
        return Location("report.yaml", data.lines.get(key, 1))

    known = {f.name for f in fields(Report)} - {"chapter_locations"}
    values: dict[str, Any] = {}
    for key, value in data.items():
        key = str(key)
        if key not in known:
            diagnostics.warning(at(key), f"unknown key '{key}'{did_you_mean(key, sorted(known))}")
        elif key in _LIST_FIELDS:
            if not isinstance(value, list) or not all(isinstance(v, (str, int, float)) for v in value):
                diagnostics.error(at(key), f"'{key}' must be a list of strings")
            else:
                values[key] = [str(v) for v in value]
        elif key == "links":
            if not isinstance(value, dict):
                diagnostics.error(at(key), "'links' must be a mapping (exclude, accept, timeout, ...)")
                continue
            from .links import LinkPolicy

            try:
                LinkPolicy.from_mapping(value)
            except ValueError as exc:
                bad = next((k for k in value.lines if f"links.{k}" in str(exc)), None) if isinstance(value, LineMap) else None
                diagnostics.error(Location("report.yaml", value.lines[bad]) if bad else at(key), str(exc))
                continue
            values[key] = value
        elif value is not None:
            if isinstance(value, (dict, list)):
                diagnostics.error(at(key), f"'{key}' must be a single value, not a {type(value).__name__}")
            else:
                values[key] = str(value)

    for key in ("title", "chapters"):
        if not data.get(key):
            diagnostics.error(Location("report.yaml", 1), f"missing required key '{key}'")
    if "date" in values:
        try:
            dt.date.fromisoformat(values["date"])
        except ValueError:
            diagnostics.error(at("date"), f"date '{values['date']}' is not YYYY-MM-DD")
    if "language" in values and not _LANGUAGE.match(values["language"]):
        diagnostics.error(at("language"), f"language '{values['language']}' is not a BCP 47 tag such as en-GB")
    if "cover" in values:
        _check_cover(root, values["cover"], at("cover"), diagnostics)
    if "title" not in values or "chapters" not in values:
        return None
    report = Report(**values)
    report.links = dict(values.get("links", {}))
    report.chapter_locations = [Location("report.yaml", line) for line in data["chapters"].lines]
    return report


def _check_cover(root: Path, cover: str, where: Location, diagnostics: Diagnostics) -> None:
    from . import images

    path = (root / cover).resolve()
    if not path.is_relative_to(root.resolve()):
        diagnostics.error(where, f"cover image '{cover}' is outside the manuscript folder")
    elif not path.is_file():
        diagnostics.error(where, f"cover image '{cover}' not found")
    else:
        try:
            images.inspect(path)
        except images.ImageProblem as problem:
            diagnostics.error(where, f"cover image '{cover}' {problem}")


def load_places(root: Path, name: str, diagnostics: Diagnostics) -> dict[str, Place] | None:
    """Read and validate places.yaml: key -> name (required), region, programme.

    None when the file could not be read at all (so quotes are not checked against it)."""
    if not (root / name).exists() and name == "places.yaml":
        return {}  # a report without place quotes needs no places file
    errors = len(diagnostics.errors)
    data = read_yaml(root, name, diagnostics)
    if data is None:
        return None if len(diagnostics.errors) > errors else {}
    if not isinstance(data, LineMap):
        diagnostics.error(Location(name, 1), "places file must map each place key to its details")
        return None
    places: dict[str, Place] = {}
    seen_names: dict[str, str] = {}
    for key, entry in data.items():
        where = Location(name, data.lines.get(str(key), 1))
        if not isinstance(entry, LineMap):
            diagnostics.error(where, f"place '{key}' must be a mapping with at least 'name'")
            continue
        for unknown in sorted(set(map(str, entry)) - {"name", "region", "programme"}):
            diagnostics.warning(Location(name, entry.lines[unknown]), f"unknown key '{unknown}' in place '{key}'")
        if not entry.get("name"):
            diagnostics.error(where, f"place '{key}' has no 'name'")
            continue
        place = Place(str(key), str(entry["name"]), str(entry.get("region") or ""),
                      str(entry.get("programme") or ""), where)
        if place.name.lower() in seen_names:
            diagnostics.error(where, f"duplicate place name '{place.name}' (also '{seen_names[place.name.lower()]}')")
        seen_names[place.name.lower()] = place.key
        places[place.key] = place
    return places
