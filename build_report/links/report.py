"""Link-check reports: text (terminal), json, junit and markdown, grouped by chapter."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from xml.etree import ElementTree as etree

from .results import LinkResult, Status

Group = tuple[str, str, list[LinkResult]]  # chapter id, file, results in line order
_TABLE_HEAD = ["| Location | URL | Verdict | HTTP | Reason | Final URL |", "|---|---|---|---|---|---|"]


def render_report(results: list[LinkResult], fmt: str) -> str:
    """The report in `fmt`: "text", "json", "junit" or "markdown"."""
    try:
        renderer = _RENDERERS[fmt]
    except KeyError:
        raise ValueError(f"unknown link report format {fmt!r} (use {', '.join(_RENDERERS)})") from None
    return renderer(results)


def exit_code(results: list[LinkResult]) -> int:
    """1 when any link is broken, else 0."""
    return int(any(result.status is Status.BROKEN for result in results))


def summarise(results: list[LinkResult]) -> dict[str, int]:
    counts = Counter(result.status for result in results)
    return {"total": len(results), **{status.value: counts[status] for status in Status}}


def summary_line(results: list[LinkResult]) -> str:
    s = summarise(results)
    return (
        f"{s['total']} {_plural(s['total'], 'link')}: {s['ok']} ok, "
        f"{s['warning']} {_plural(s['warning'], 'warning')}, {s['broken']} broken, {s['skipped']} skipped"
    )


def group_by_chapter(results: list[LinkResult]) -> list[Group]:
    """Results grouped by (chapter, file) in order of first appearance, by line within."""
    groups: dict[tuple[str, str], list[LinkResult]] = {}
    for result in results:
        groups.setdefault((result.link.chapter_id, result.link.source.path), []).append(result)
    return [
        (chapter, path, sorted(members, key=lambda r: (r.link.source.line, r.url)))
        for (chapter, path), members in groups.items()
    ]


def _ordered(results: list[LinkResult]) -> list[LinkResult]:
    return [result for _, _, members in group_by_chapter(results) for result in members]


def render_text(results: list[LinkResult]) -> str:
    """Compiler-style lines for warnings and broken links, then a summary line."""
    lines = []
    for result in _ordered(results):
        if result.status in (Status.BROKEN, Status.WARNING):
            severity = "error" if result.status is Status.BROKEN else "warning"
            lines.append(f"{result.link.source}: {severity}: {result.url} — {result.reason}")
    lines.append(summary_line(results))
    return "\n".join(lines) + "\n"


def render_json(results: list[LinkResult]) -> str:
    links = [
        {
            "url": r.url,
            "file": r.link.source.path,
            "line": r.link.source.line,
            "chapter": r.link.chapter_id,
            "status": r.status.value,
            "code": r.code,
            "reason": r.reason,
            "final_url": r.final_url,
        }
        for r in _ordered(results)
    ]
    return json.dumps({"links": links, "summary": summarise(results)}, indent=2, ensure_ascii=False) + "\n"


def render_junit(results: list[LinkResult]) -> str:
    """JUnit XML: a testsuite per chapter, a testcase per link; warnings go to system-out."""
    totals = summarise(results)
    root = etree.Element(
        "testsuites",
        name="links",
        tests=str(totals["total"]),
        failures=str(totals["broken"]),
        skipped=str(totals["skipped"]),
    )
    for chapter, path, members in group_by_chapter(results):
        counts = summarise(members)
        suite = etree.SubElement(
            root,
            "testsuite",
            name=chapter or path,
            tests=str(counts["total"]),
            failures=str(counts["broken"]),
            skipped=str(counts["skipped"]),
            errors="0",
        )
        for result in members:
            _junit_case(suite, result)
    etree.indent(root)
    return etree.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _junit_case(suite: etree.Element, result: LinkResult) -> None:
    case = etree.SubElement(
        suite,
        "testcase",
        classname=result.link.source.path,
        name=f"{result.link.source}: {result.url}",
        file=result.link.source.path,
        line=str(result.link.source.line),
    )
    details = f"{result.url}\nHTTP status: {result.code or '-'}\nfinal URL: {result.final_url or '-'}"
    if result.status is Status.BROKEN:
        etree.SubElement(case, "failure", message=result.reason, type="broken").text = details
    elif result.status is Status.SKIPPED:
        etree.SubElement(case, "skipped", message=result.reason)
    elif result.status is Status.WARNING:
        etree.SubElement(case, "system-out").text = f"warning: {result.reason}\n{details}"


def render_markdown(results: list[LinkResult]) -> str:
    """A table per chapter, ready to paste into a review."""
    out = ["## Link check", "", summary_line(results)]
    for chapter, path, members in group_by_chapter(results):
        title = f"{chapter} (`{path}`)" if chapter else f"`{path}`"
        out += ["", f"### {title}", "", *_TABLE_HEAD]
        for r in members:
            verdict = f"**{r.status.value}**" if r.status is Status.BROKEN else r.status.value
            final = r.final_url if r.final_url and r.final_url != r.url else ""
            cells = [str(r.link.source), r.url, verdict, str(r.code or ""), r.reason, final]
            out.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(out) + "\n"


def _cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _plural(count: int, word: str) -> str:
    return word if count == 1 else word + "s"


_RENDERERS: dict[str, Callable[[list[LinkResult]], str]] = {
    "text": render_text,
    "json": render_json,
    "junit": render_junit,
    "markdown": render_markdown,
}
