"""Fuzzing the whole load -> parse -> assemble path with Hypothesis.

A chapter (front matter and body) and report.yaml are generated from the pieces
real and hostile manuscripts are made of: fences, quotes, lists, tables, raw HTML,
review marks, footnotes, places, includes, odd bytes. Whatever comes out, the
promises hold: exit 0 or 2 (never an internal error, a traceback or a hang);
every problem is a `path:line: error|warning:` naming a manuscript file and a
line inside it; a failed build keeps the previous output.

Bounded in time: FUZZ_EXAMPLES examples (default 150), each under a deadline.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings, strategies as st

from build_report.config import normalise_newlines
from test_errors import DATA, run

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "150"))

PIECES = [
    "\n", "\n\n", "  ", "    ", "\t", "# ", "## ", "### ", "> ", ">> ", "- ", "  - ", "1. ", "* ", "+ ",
    "```", "```python\n", "~~~", "`", "``", "**", "*", "_", "__", "~~", "[", "]", "(", ")", "[^1]", "\n[^1]: a note\n",
    "[^x]", "![a picture](../images/boxes.svg)", "![](../images/boxes.svg){.decorative}", "![x](../images/nope.png)",
    "[a link](#what-changed)", "[](01-first.md#nope)", "[x](https://example.org/)", "<https://a.example/>",
    "{#an-id}", "{: .class}", "|", "| a | b |\n|---|---|\n", "| 1 | 2 | 3 |\n", "Table: A caption\n",
    "<div>", "</div>", "<div markdown=\"1\">", "<b>", "</i>", "<br>", "<script>x()</script>", "<img src=x onerror=y>",
    "<a href=\"javascript:x\">j</a>", "<!--", "-->", "&amp;", "&#0;", "&#x110000;", "&nbsp;", "<table><tr><td>",
    "{++", "++}", "{--", "--}", "{>>", "<<}", "{~~", "~>", "~~}", "{==", "==}",
    "!!! note \"Title\"\n    ", "> [!WARNING]\n> ", "> — Ashbury, a director\n", "> — Ashbry, x\n", "— *A person*",
    "--8<-- \"snippets/x.md\"\n", "--8<-- \"../../etc/passwd\"\n", "Term\n: A definition\n", "*[HTML]: HyperText\n",
    "- [ ] a task\n", "- [x] done\n", "---\n", "***\n", "===\n", "\\", "\x00", "\r", "\r\n", "\u200b", "\ufeff",
    "é", "😀", "\u202e", "日本", "word ", "Ashbury ", "https://example.org/path?q=1 ", "$", "%", "{", "}", ":", "\"",
]
FRONT = [
    "", "title: A title\n", "title: [a, b]\n", "id: x\n", "id: places-quoted\n", "kind: appendix\n", "kind: odd\n",
    "titel: typo\n", "a: &a [x, x]\nb: [*a, *a]\n", "title: a\ntitle: b\n", ": :\n", "- list\n", "title: \"\\x00\"\n",
]
REPORT = [
    "", "version: 1.0\n", "date: 2026-13-45\n", "language: xx_YY\n", "authors: A\n", "keywords: [a, [b]]\n",
    "links:\n  timeout: .nan\n", "places: ../x.yaml\n", "cover: images/boxes.svg\n", "title: again\n", "unknown: 1\n",
]

chapter_bodies = st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=4)), max_size=50).map("".join)
front_matters = st.lists(st.sampled_from(FRONT), max_size=3).map("".join)
report_extras = st.lists(st.sampled_from(REPORT), max_size=3).map("".join)
DIAGNOSTIC = re.compile(r"^(?P<path>[^:]+)(?::(?P<line>\d+))?: (error|warning): .+")


@settings(max_examples=EXAMPLES, deadline=20_000, suppress_health_check=[HealthCheck.too_slow],
          derandomize=os.environ.get("FUZZ_RANDOM") != "1")
@given(body=chapter_bodies, front=front_matters, extra=report_extras, crlf=st.booleans())
def test_any_manuscript_gives_diagnostics_or_a_build(body: str, front: str, extra: str, crlf: bool) -> None:
    with tempfile.TemporaryDirectory(prefix="fuzz-") as folder:
        root = Path(folder) / "manuscript"
        shutil.copytree(DATA, root)
        text = (f"---\n{front}---\n" if front else "") + body
        (root / "chapters" / "02-second.md").write_bytes(text.replace("\n", "\r\n" if crlf else "\n")
                                                          .encode("utf-8", "surrogatepass"))
        report = root / "report.yaml"
        report.write_text(report.read_text(encoding="utf-8") + extra, encoding="utf-8")
        out = Path(folder) / "out.html"
        out.write_text("previous")
        code, _, err = run(["html", str(root), "-o", str(out)])

        assert code in (0, 2), err
        assert "Traceback" not in err and "internal error" not in err, err
        for line in err.splitlines():
            match = DIAGNOSTIC.match(line)
            assert match or line.startswith("build-report: "), f"not a diagnostic: {line!r}"
            if match and match["line"]:
                source = root / match["path"]
                assert source.is_file(), f"names no manuscript file: {line!r}"
                lines = normalise_newlines(source.read_bytes().decode("utf-8", "replace")).count("\n") + 1
                assert int(match["line"]) <= lines, f"line past the end: {line!r}"
        if code:
            assert out.read_text() == "previous"
