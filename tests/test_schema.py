"""The configuration schema (build_report/schema.py), the YAML loader's limits (config.parse_yaml)
and SOURCE_DATE_EPOCH (output.source_date), value by value.

Whole manuscripts with these problems are in tests/cases/errors/config.yaml; these tables
pin down the edges of each check.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from build_report import config, schema
from build_report.diagnostics import Diagnostics
from build_report.links import LinkPolicy
from build_report.model import RESERVED_IDS, Location
from build_report.output import BadEnvironment, source_date

TEMPLATES = Path(__file__).resolve().parent.parent / "build_report" / "templates"


# --- links: every setting, good and bad -------------------------------------------------------

@pytest.mark.parametrize("settings, field, expected", [
    ({"timeout": 2}, "timeout", 2.0),
    ({"timeout": 0.5}, "timeout", 0.5),
    ({"retries": 0}, "retries", 0),
    ({"retry_delay": 0}, "retry_delay", 0.0),
    ({"cache_ttl": "12h"}, "cache_ttl", 43200.0),
    ({"cache_ttl": "2w"}, "cache_ttl", 1209600.0),
    ({"cache_ttl": 90}, "cache_ttl", 90.0),
    ({"accept": 403}, "accept", frozenset(range(200, 300)) | {403}),
    ({"accept": ["500..502"]}, "accept", frozenset(range(200, 300)) | {500, 501, 502}),
    ({"hosts": {"Example.ORG": {"concurrency": 2}}}, "hosts", {"example.org": 2}),
    ({"hosts": {"a.org": {}}}, "hosts", {}),
    ({"user_agent": "  me/1.0 "}, "user_agent", "me/1.0"),
    ({"missing_fragment": "error"}, "missing_fragment", "error"),
    ({"timeout": None}, "timeout", 10.0),  # null is absent: the default
])
def test_good_link_settings(settings: dict, field: str, expected) -> None:
    assert getattr(LinkPolicy.from_mapping(settings), field) == expected


@pytest.mark.parametrize("settings, message", [
    ({"timeout": math.nan}, "links.timeout must be a positive number, not nan"),
    ({"timeout": math.inf}, "links.timeout must be a positive number, not inf"),
    ({"timeout": 0}, "links.timeout must be a positive number, not 0"),
    ({"timeout": "10"}, "links.timeout must be a positive number, not '10'"),
    ({"timeout": 10 ** 400}, "links.timeout must be a positive number, not a number that large"),
    ({"retry_after_max": -math.inf}, "links.retry_after_max must be a number of seconds, 0 or more, not -inf"),
    ({"per_host": 2.0}, "links.per_host must be a whole number, 1 or more, not 2.0"),
    ({"max_redirects": False}, "links.max_redirects must be a whole number, 0 or more, not false"),
    ({"cache_ttl": -1}, 'links.cache_ttl must be a duration in seconds or like "12h", "1d", not -1'),
    ({"cache_ttl": "9" * 400 + "w"}, 'links.cache_ttl must be a duration in seconds or like "12h", "1d", not'),
    ({"exclude": {"a": 1}}, "links.exclude must be a list of strings, not a mapping"),
    ({"exclude": ["ok", ["nested"]]}, "links.exclude[1] must be text, not a list"),
    ({"exclude": "(?P<"}, "links.exclude[0] is not a valid regular expression"),
    ({"accept": [99]}, "links.accept must list HTTP status codes or ranges like 200-299, not 99"),
    ({"accept": [True]}, "links.accept must list HTTP status codes or ranges like 200-299, not true"),
    ({"hosts": ["a.org"]}, "links.hosts must map host names to settings, not a list"),
    ({"hosts": {"a.org": 1}}, "links.hosts.a.org must be a mapping such as {concurrency: 1}"),
    ({"user_agent": "   "}, "links.user_agent must be a non-empty string"),
    ({"missing_fragment": True}, "links.missing_fragment must be warning or error, not true"),
    ({"timeuot": 1}, "links.timeuot is not a known setting (did you mean links.timeout?)"),
    ({"frobnicate": 1}, "links.frobnicate is not a known setting"),
    ([1, 2], "links must be a mapping (exclude, accept, timeout, ...)"),
])
def test_bad_link_settings(settings, message: str) -> None:
    with pytest.raises(schema.Invalid) as error:
        LinkPolicy.from_mapping(settings)
    assert str(error.value).startswith(message)


# --- report.yaml, places.yaml and front matter, through the loader ------------------------------

def check(which: schema.Schema, text: str, first_line: int = 1, **where) -> tuple[dict, list[str]]:
    """The values `which` accepts from YAML `text`, and every diagnostic, as printed."""
    diagnostics = Diagnostics()
    data = config.parse_yaml(text, Location("x.yaml", first_line), diagnostics)
    values = which.validate(data, schema.Where(schema.Problems(diagnostics, "x.yaml"), "x.yaml", first_line, **where))
    return values, [str(d) for d in diagnostics.items]


@pytest.mark.parametrize("text, values, problems", [
    ("title: T\nchapters: [a.md]\nversion: 1.10\n", {"title": "T", "chapters": ["a.md"], "version": "1.1"}, []),
    ("title: T\nchapters: [a.md]\nsubtitle:\nkeywords: []\n", {"title": "T", "chapters": ["a.md"]}, []),
    ("title: T\nchapters: [a.md, 7]\n", {"title": "T", "chapters": ["a.md", "7"]}, []),
    ("title: T\nchapters: [a.md]\nlanguage: no\n", {"title": "T", "chapters": ["a.md"]},
     ["x.yaml:3: error: 'language' must be text, not false (YAML reads an unquoted yes, no, on, off, true or false "
      "as true or false): put it in quotes"]),
    ("title: T\nchapters: [a.md]\nlanguage: en_GB\n", {"title": "T", "chapters": ["a.md"]},
     ["x.yaml:3: error: language 'en_GB' is not a BCP 47 tag such as en-GB"]),
    ("title: T\nchapters: [a.md]\ndate: 2026-W03-1\n", {"title": "T", "chapters": ["a.md"]},
     ["x.yaml:3: error: date '2026-W03-1' is not YYYY-MM-DD"]),
    ("title: T\nchapters: [a.md]\ndate: 2026-02-30\n", {"title": "T", "chapters": ["a.md"]},
     ["x.yaml:3: error: date '2026-02-30' is not YYYY-MM-DD"]),
    ("title: T\nchapters: a.md\n", {"title": "T"}, ["x.yaml:2: error: 'chapters' must be a list of strings, not text"]),
    ("chapters: []\n", {}, ["x.yaml:1: error: 'chapters' is empty", "x.yaml:1: error: missing required key 'title'"]),
    ("title: T\nchapters: [a.md]\ntitel: U\n", {"title": "T", "chapters": ["a.md"]},
     ["x.yaml:3: warning: unknown key 'titel' (did you mean 'title'?)"]),
    ("- a\n", {}, ["x.yaml:1: error: x.yaml must be a mapping of keys to values"]),
])
def test_report_values(text: str, values: dict, problems: list[str], tmp_path: Path) -> None:
    assert check(schema.REPORT, text, root=tmp_path) == (values, problems)


@pytest.mark.parametrize("text, values, problems", [
    ("title: T\nkind: front\nid: intro_2\n", {"title": "T", "kind": "front", "id": "intro_2"}, []),
    ("id: 2020\n", {"id": "2020"}, []),
    ("layout: page\npermalink: /x/\n", {}, []),  # other tools' keys: ignored
    ("Title: T\n", {}, ["x.yaml:2: warning: unknown front matter key 'Title' (did you mean 'title'?)"]),
    ("kind: Chapter\n", {}, ["x.yaml:2: error: 'kind' must be front, chapter or appendix, not 'Chapter'"]),
    ("id: café\n", {}, ["x.yaml:2: error: chapter id 'café' may use only ASCII letters, digits, '-' and '_'"]),
    ("title: {a: b}\n", {}, ["x.yaml:2: error: 'title' must be text, not a mapping"]),
    ("[title]\n", {}, ["x.yaml:2: error: x.yaml must be a mapping (title, id, kind)"]),
])
def test_front_matter_values(text: str, values: dict, problems: list[str]) -> None:
    assert check(schema.FRONT_MATTER, text, first_line=2) == (values, problems)


@pytest.mark.parametrize("reserved", sorted(RESERVED_IDS))
def test_no_chapter_may_take_a_reserved_id(reserved: str) -> None:
    with pytest.raises(schema.Invalid, match="is reserved for a page the build makes"):
        schema.FRONT_MATTER.parse({"id": reserved}, "front matter")


def test_ids_of_the_print_template_are_reserved() -> None:
    """Chapters share one HTML document with the template's own elements, so their ids must differ."""
    template = (TEMPLATES / "pdf" / "print.html.j2").read_text(encoding="utf-8")
    fixed = set(re.findall(r'\bid="([A-Za-z][\w-]*)"', template))
    assert fixed and fixed <= RESERVED_IDS


@pytest.mark.parametrize("text, values, problems", [
    ("name: A\nregion: R\n", {"name": "A", "region": "R"}, []),
    ("name: A\nregoin: R\n", {"name": "A"},
     ["x.yaml:2: warning: unknown key 'regoin' in place 'p' (did you mean 'region'?)"]),
    ("region: R\n", {"region": "R"}, ["x.yaml:1: error: place 'p' has no 'name'"]),
    ("name: ''\n", {}, ["x.yaml:1: error: 'name' of place 'p' is empty"]),
])
def test_place_values(text: str, values: dict, problems: list[str]) -> None:
    diagnostics = Diagnostics()
    data = config.parse_yaml(text, Location("x.yaml", 1), diagnostics)
    found = schema.PLACE.validate(data, schema.Where(schema.Problems(diagnostics, "x.yaml"), "place 'p'", 1), entry="p")
    assert (found, [str(d) for d in diagnostics.items]) == (values, problems)


# --- The YAML loader ----------------------------------------------------------------------------

def parse(text: str, first_line: int = 1, what: str = "") -> tuple[object, list[str]]:
    diagnostics = Diagnostics()
    data = config.parse_yaml(text, Location("x.yaml", first_line), diagnostics, what)
    return data, [str(d) for d in diagnostics.items]


def aliases(count: int, width: int) -> str:
    """`count` aliases to a list of `width` items."""
    return "a: &a [" + ", ".join(["x"] * width) + "]\nb: [" + ", ".join(["*a"] * count) + "]\n"


@pytest.mark.parametrize("text, problem", [
    ("a: 1\nb: 2\na: 3\n", "x.yaml:3: error: duplicate key 'a' (first at line 1)"),
    ("a:\n  b: 1\n  c: {d: 1, d: 2}\n", "x.yaml:3: error: duplicate key 'd' (first at line 3)"),
    ("yes: 1\ntrue: 2\n", "x.yaml:2: error: duplicate key 'True' (first at line 1)"),
    (aliases(1001, 9), "x.yaml:2: error: too many YAML aliases: expanding them would give more than 10000 values; "
                       "write the values out instead"),
    ("a: &a " + "x" * 10_001 + "\nb: [" + ", ".join(["*a"] * 100) + "]\n",
     "x.yaml:2: error: too many YAML aliases: expanding them would give more than 1 MB of text; "
     "write the values out instead"),
    ("a: &a {b: *a}\n", "x.yaml:1: error: YAML alias '*a' is used inside the value it names"),
    ("a: " + "[" * 101 + "]" * 101 + "\n", "x.yaml:1: error: YAML nested more than 100 levels deep"),
    ("version: " + "1" * 5000 + "\n", "x.yaml:1: error: invalid YAML: this value cannot be read (Exceeds the limit "
                                     "(4300 digits) for integer string conversion: value has 5000 digits)"),
    ("date: !!timestamp soon\n", "x.yaml:1: error: invalid YAML: this value cannot be read ('NoneType' object has "
                                 "no attribute 'groupdict')"),
    ("a: !!python/name:os.system\n", "x.yaml:1: error: invalid YAML: could not determine a constructor for the tag "
                                     "'tag:yaml.org,2002:python/name:os.system'"),
    ("a: \x00\n", "x.yaml:1: error: invalid YAML: the character U+0000 ('\\x00') is not allowed in YAML"),
    ("a: 1\nb: \x1b[31m\n", "x.yaml:2: error: invalid YAML: the character U+001B ('\\x1b') is not allowed in YAML"),
    ("# x\n" * 250_001, "x.yaml:1: error: x.yaml is 1.1 MB; a YAML file here may be at most 1 MB"),
])
def test_loader_refuses(text: str, problem: str) -> None:
    assert parse(text) == (None, [problem])


@pytest.mark.parametrize("text, expected", [
    (aliases(999, 9), 999),  # 9990 values from aliases: within the limit
    ("base: &b {timeout: 5, retries: 1}\nlinks:\n  <<: *b\n  timeout: 6\n", {"timeout": 6, "retries": 1}),
])
def test_loader_accepts(text: str, expected) -> None:
    data, problems = parse(text)
    assert problems == []
    assert (len(data["b"]) if isinstance(expected, int) else data["links"]) == expected


def test_front_matter_lines_are_file_lines() -> None:
    data, _ = parse("title: T\nkeywords:\n  - a\n  - b\n", first_line=2)
    assert data.lines == {"title": 2, "keywords": 3} and data["keywords"].lines == [4, 5]
    assert parse("a: 1\na: 2\n", first_line=2)[1] == ["x.yaml:3: error: duplicate key 'a' (first at line 2)"]


def test_front_matter_size() -> None:
    assert parse("# x\n" * 250_001, first_line=2, what="front matter") == \
        (None, ["x.yaml:2: error: front matter is 1.1 MB; it may be at most 1 MB"])


def test_a_large_file_is_refused_before_it_is_read(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "places.yaml").write_bytes(b"#" * 1_000_001)
    monkeypatch.setattr(config, "read_source", lambda *args: pytest.fail("the file was read"))
    diagnostics = Diagnostics()
    assert config.read_yaml(tmp_path, "places.yaml", diagnostics, "places file") is None
    assert [str(d) for d in diagnostics.items] == \
        ["places.yaml:1: error: places.yaml is 1.1 MB; a YAML file here may be at most 1 MB"]


# --- SOURCE_DATE_EPOCH -------------------------------------------------------------------------------

@pytest.mark.parametrize("value, expected", [
    (None, None),
    ("0", 0),  # before 1980: the zip entries are clamped to 1980, the PDF keeps 1970
    ("1700000000", 1700000000),
    ("000000000001700000000", 1700000000),
    ("4354819199", 4354819199),  # 2107-12-31 23:59:59, the last second a ZIP can record
])
def test_source_date(value: str | None, expected: int | None, monkeypatch) -> None:
    if value is None:
        monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    else:
        monkeypatch.setenv("SOURCE_DATE_EPOCH", value)
    assert source_date() == expected


@pytest.mark.parametrize("value, message", [
    ("1.7e9", "must be whole seconds since 1970"),
    ("-5", "must be whole seconds since 1970"),
    ("+5", "must be whole seconds since 1970"),
    (" 1700000000", "must be whole seconds since 1970"),
    ("\u0661\u0667\u0660\u0660", "must be whole seconds since 1970"),  # Arabic-Indic digits
    ("4354819200", "is after 2107-12-31"),
    ("9" * 5000, "is after 2107-12-31"),
    ("", "is set but empty"),
])
def test_bad_source_date(value: str, message: str, monkeypatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", value)
    with pytest.raises(BadEnvironment, match=re.escape(message)):
        source_date()
