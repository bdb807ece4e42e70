"""Load stage, part 1: report.yaml and places.yaml, validated, with line numbers.

`parse_yaml` reads every YAML text of a manuscript (report.yaml, places.yaml and
each chapter's front matter). It is PyYAML's SafeLoader (no Python tags), made safe
for a manuscript from a stranger's pull request, and each refusal is a diagnostic
at a line:

- a file larger than `MAX_YAML_BYTES` is refused before it is read;
- a key given twice in one mapping is an error at the second, naming the first;
- aliases (`*name`) may add at most `MAX_ALIAS_VALUES` values and `MAX_ALIAS_CHARS`
  characters in all, so a "billion laughs" file fails at once instead of making
  every later step expand it; an alias inside the value it names is refused;
- nesting deeper than `MAX_DEPTH` is refused (it would exhaust Python's stack).

What each value must then be is declared once, in schema.py.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import yaml

from . import confine, schema
from .diagnostics import Diagnostics
from .model import Location, Place, Report

# The sample manuscript's largest YAML file (places.yaml) is 2.4 kB and has no aliases; a
# 400-page report with a few hundred places stays far below each of these.
MAX_YAML_BYTES = 1_000_000
MAX_ALIAS_VALUES = 10_000  # values (scalars, lists, mappings) that aliases may add to a document
MAX_ALIAS_CHARS = 1_000_000  # characters of text they may add (a long string repeated by aliases)
MAX_DEPTH = 100  # report.yaml needs 4 levels (links: hosts: a.org: concurrency:)


class LineMap(dict):
    """A YAML mapping that remembers the line of each key (`.lines[key]`) and its own (`.line`)."""

    lines: dict[str, int]
    line: int


class LineList(list):
    """A YAML sequence that remembers the line of each item (`.lines[i]`)."""

    lines: list[int]


class Refused(yaml.YAMLError):
    """A document the loader will not build: a message for the diagnostic, at a line of the file."""

    def __init__(self, line: int, message: str):
        super().__init__(message)
        self.line = line
        self.message = message


class _Loader(yaml.SafeLoader):
    """SafeLoader with limits (see the module docstring). Lines it records are lines of the file:
    the text's first line is `first_line` (2 for front matter, which starts below its `---`)."""

    def __init__(self, text: str, first_line: int = 1):
        super().__init__(text)
        self.first_line = first_line
        self._depth = 0
        self._open: set[str] = set()  # anchors whose value is being composed
        self._sizes: dict[int, tuple[int, int]] = {}  # id(node) -> (values, characters) once expanded
        self._aliased = [0, 0]  # values and characters that aliases have added so far

    def file_line(self, mark: yaml.Mark) -> int:  # (Reader has an attribute `line`)
        return self.first_line + mark.line

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        event = self.peek_event()
        line = self.file_line(event.start_mark)
        if isinstance(event, yaml.AliasEvent):
            if event.anchor in self._open:
                raise Refused(line, f"YAML alias '*{event.anchor}' is used inside the value it names")
            node = super().compose_node(parent, index)
            assert node is not None  # an alias names a node composed earlier
            values, chars = self._size(node)
            self._aliased[0] += values
            self._aliased[1] += chars
            if self._aliased[0] > MAX_ALIAS_VALUES:
                raise Refused(line, f"too many YAML aliases: expanding them would give more than "
                                    f"{MAX_ALIAS_VALUES} values; write the values out instead")
            if self._aliased[1] > MAX_ALIAS_CHARS:
                raise Refused(line, f"too many YAML aliases: expanding them would give more than "
                                    f"{MAX_ALIAS_CHARS // 1_000_000} MB of text; write the values out instead")
            return node
        if self._depth >= MAX_DEPTH:
            raise Refused(line, f"YAML nested more than {MAX_DEPTH} levels deep")
        anchor = getattr(event, "anchor", None)
        self._depth += 1
        if anchor:
            self._open.add(anchor)
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1
            self._open.discard(anchor)

    def _size(self, node: yaml.Node) -> tuple[int, int]:
        """(values, characters) in `node` with every alias inside it expanded; computed once per node."""
        size = self._sizes.get(id(node))
        if size is None:
            if isinstance(node, yaml.ScalarNode):
                size = (1, len(node.value))
            else:
                pairs = node.value if isinstance(node, yaml.MappingNode) else [(child,) for child in node.value]
                children = [child for pair in pairs for child in pair]
                sizes = [self._size(child) for child in children]
                size = (1 + sum(values for values, _ in sizes), sum(chars for _, chars in sizes))
            self._sizes[id(node)] = size
        return size

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        """A value PyYAML's constructors fail on with a plain exception (an integer of 5000 digits,
        `!!timestamp nonsense`) is a refusal at its line, not a crash."""
        try:
            return super().construct_object(node, deep)
        except (ValueError, TypeError, AttributeError, OverflowError) as exc:
            reason = str(exc).split(";")[0]  # Python's advice on sys.set_int_max_str_digits is not for authors
            raise Refused(self.file_line(node.start_mark),
                          f"invalid YAML: this value cannot be read ({reason})") from None


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> LineMap:
    first: dict[Any, int] = {}  # key -> the line it was first given at
    for key_node, _ in node.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
            key, line = loader.construct_object(key_node), loader.file_line(key_node.start_mark)
            if key in first:
                raise Refused(line, f"duplicate key '{key}' (first at line {first[key]})")
            first[key] = line
    mapping = LineMap(loader.construct_mapping(node, deep=True))  # merges `<<: *base` keys
    mapping.lines = {str(k.value): loader.file_line(k.start_mark) for k, _ in node.value}
    mapping.line = loader.file_line(node.start_mark)
    return mapping


def _construct_sequence(loader: _Loader, node: yaml.SequenceNode) -> LineList:
    sequence = LineList(loader.construct_sequence(node, deep=True))
    sequence.lines = [loader.file_line(item.start_mark) for item in node.value]
    return sequence


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)
# Dates stay strings: "2026-11-02" is metadata text, not a datetime to reformat.
_Loader.yaml_implicit_resolvers = {
    key: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _too_large(size: int, what: str) -> str | None:
    """The message for YAML of `size` bytes above the limit ("report.yaml is 10.3 MB; ..."), else None."""
    if size <= MAX_YAML_BYTES:
        return None
    megabytes = math.ceil(size / 100_000) / 10  # rounded up: 1.04 MB shows as 1.1, never as the limit
    limit = MAX_YAML_BYTES // 1_000_000
    if what == "front matter":
        return f"front matter is {megabytes} MB; it may be at most {limit} MB"
    return f"{what} is {megabytes} MB; a YAML file here may be at most {limit} MB"


def parse_yaml(text: str, location: Location, diagnostics: Diagnostics, what: str = "") -> Any:
    """Parse YAML text that starts at `location` (path and first line); None on a problem,
    which becomes a diagnostic at its line. `what` names the text in the size message."""
    too_large = _too_large(len(text.encode("utf-8")), what or location.path)
    if too_large:
        diagnostics.error(location, too_large)
        return None
    loader = None
    try:
        loader = _Loader(text, location.line)  # the reader refuses control characters here already
        return loader.get_single_data()
    except Refused as exc:
        diagnostics.error(Location(location.path, exc.line), exc.message)
    except yaml.reader.ReaderError as exc:  # a character YAML forbids: say which, at its line
        line = location.line + text[: exc.position].count("\n")
        character = exc.character if isinstance(exc.character, str) else chr(exc.character)
        diagnostics.error(Location(location.path, line),
                          f"invalid YAML: the character U+{ord(character):04X} ({character!r}) is not allowed in YAML")
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = location.line + (mark.line if mark else 0)
        problem = getattr(exc, "problem", None) or str(exc)
        diagnostics.error(Location(location.path, max(line, 1)), f"invalid YAML: {problem}")
    finally:
        if loader is not None:
            loader.dispose()
    return None


def read_source(path: Path, rel: str, diagnostics: Diagnostics) -> str | None:
    """A manuscript file's text; a missing file or bytes that are not UTF-8 become diagnostics."""
    problem = confine.file_problem(path)
    if problem:
        diagnostics.error(Location(rel), "file not found" if problem == "not found" else problem)
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


def read_yaml(root: Path, name: str, diagnostics: Diagnostics, what: str = "file") -> Any:
    """The YAML file `name` of the manuscript, parsed. It is refused before it is opened when it
    is outside the folder, not a regular file, or larger than MAX_YAML_BYTES."""
    try:
        path = schema.manuscript_file(root, name, what)
    except schema.Invalid as problem:
        diagnostics.error(Location(name), problem.message)
        return None
    too_large = _too_large(path.stat().st_size, name)
    if too_large:
        diagnostics.error(Location(name, 1), too_large)
        return None
    text = read_source(path, name, diagnostics)
    return None if text is None else parse_yaml(text, Location(name, 1), diagnostics)


def load_report(root: Path, diagnostics: Diagnostics, styles: Path | None = None) -> Report | None:
    """Read report.yaml and validate it against `schema.REPORT`; None without a title or chapters.

    A `places:` file that was refused becomes `places=""`, so that it is never read."""
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
    where = schema.Where(schema.Problems(diagnostics, "report.yaml"), "report.yaml", 1, root, styles)
    values = schema.REPORT.validate(data, where)
    if isinstance(data, dict) and data.get("places") and "places" not in values:
        values["places"] = ""
    if "title" not in values or "chapters" not in values:
        return None
    report = Report(**values)
    report.chapter_locations = [Location("report.yaml", line) for line in data["chapters"].lines]
    return report


def load_places(root: Path, name: str, diagnostics: Diagnostics) -> dict[str, Place] | None:
    """Read places.yaml (or the file report.yaml names), each entry validated against `schema.PLACE`.

    None when the file could not be read at all (so quotes are not checked against it), or
    when `name` is "" (report.yaml named a file that was refused)."""
    if not name:
        return None
    if not (root / name).exists() and name == "places.yaml":
        return {}  # a report without place quotes needs no places file
    errors = len(diagnostics.errors)
    data = read_yaml(root, name, diagnostics, "places file")
    if data is None:
        return None if len(diagnostics.errors) > errors else {}
    if not isinstance(data, LineMap):
        diagnostics.error(Location(name, 1), "places file must map each place key to its details")
        return None
    problems = schema.Problems(diagnostics, name)
    places: dict[str, Place] = {}
    seen_names: dict[str, str] = {}
    for key, entry in data.items():
        where = schema.Where(problems, f"place '{key}'", data.lines.get(str(key), 1))
        values = schema.PLACE.validate(entry, where, entry=str(key))
        place = Place(str(key), values.get("name", str(key)), values.get("region", ""), values.get("programme", ""),
                      Location(name, where.line))
        places[place.key] = place  # even when refused (an error already), so quotes of it are not errors too
        if "name" not in values:
            continue
        other = seen_names.setdefault(place.name.lower(), place.key)
        if other != place.key:
            diagnostics.error(place.source, f"duplicate place name '{place.name}' (also '{other}')")
    return places
