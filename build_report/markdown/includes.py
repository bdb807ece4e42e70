"""Includes: `--8<-- "snippets/contact.md"` with pymdownx.snippets, confined.

Paths are relative to the manuscript folder. A path that leaves it (`../`,
an absolute path, a symbolic link pointing outside) or a file that does not
exist is reported at the include's line, and nothing is included. Nothing is
ever fetched from a URL.

Included lines take the line number of their include, so the source-lines
extension reports a problem inside an included file at the line that includes
it (`md.source_line_numbers`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from markdown import Extension
from pymdownx.snippets import SnippetPreprocessor

from .. import confine

_DEFAULTS = {
    "base_path": ["."], "restrict_base_path": True, "encoding": "utf-8", "check_paths": False, "auto_append": [],
    "url_download": False, "url_max_size": 0, "url_timeout": 0, "url_request_headers": {},
    "dedent_subsections": False, "max_retries": 0, "backoff_factor": 0,
}


class IncludePreprocessor(SnippetPreprocessor):
    def __init__(self, md, root: Path, first_line: int, report: Callable[[int, str], None]):
        super().__init__({**_DEFAULTS, "base_path": [str(root)]}, md)
        self.md = md  # SnippetPreprocessor does not keep it
        self.root = root.resolve()
        self.first_line = first_line
        self.report = report
        self.current = 0

    def get_snippet_path(self, path: str) -> str | None:
        try:
            target = confine.inside(self.root, path)
        except confine.Outside as reason:
            self.report(self.current, f"include '{path}' {reason}")
            return None
        problem = confine.file_problem(target)
        if problem == "not found":
            problem += " (paths are relative to the manuscript folder)"
        if problem:
            self.report(self.current, f"include '{path}' {problem}")
            return None
        return str(target)

    def run(self, lines: list[str]) -> list[str]:
        if not any("8<" in line for line in lines):
            self.md.source_line_numbers = None
            return lines
        self.seen: set[str] = set()
        self.failed: set[str] = set()
        self.bases = None
        out: list[str] = []
        numbers: list[int] = []
        for index, line in enumerate(lines):
            self.current = self.first_line + index
            expanded = self.parse_snippets([line]) if "8<" in line else [line]
            out.extend(expanded)
            numbers.extend([self.current] * len(expanded))
        self.md.source_line_numbers = numbers
        return out


class IncludeExtension(Extension):
    def __init__(self, **kwargs):
        self.config = {
            "root": [".", "The manuscript folder: includes are relative to it and confined to it"],
            "first_line": [1, "Line number of the first line given to Markdown"],
            "report": [lambda line, message: None, "Called with (line, message) for each error"],
        }
        super().__init__(**kwargs)

    def extendMarkdown(self, md):
        md.source_line_numbers = None
        processor = IncludePreprocessor(md, Path(self.getConfig("root")), self.getConfig("first_line"),
                                        self.getConfig("report"))
        md.preprocessors.register(processor, "snippet", 32)
