"""Tables: Python-Markdown's, with a warning for a row that has more cells than the header.

Python-Markdown drops the extra cells without a word, and with them the text the
author wrote there. A row with fewer cells is ordinary Markdown (it is filled with
empty cells) and needs no message. The line of each row is counted from the token
`lines.mark` puts in the first cell of a row.
"""

from __future__ import annotations

from collections.abc import Callable

from markdown.extensions import tables

from .lines import TOKEN

Report = Callable[[int, str], None]


class TableProcessor(tables.TableProcessor):
    def __init__(self, parser, config: dict, warn: Report):
        super().__init__(parser, config)
        self.warn = warn

    def run(self, parent, blocks: list[str]) -> None:
        rows = blocks[0].split("\n")
        # The rows of a table are consecutive lines: any row with a token gives the line of all of them.
        known = next(((index, int(m.group(1))) for index, row in enumerate(rows) if (m := TOKEN.search(row))), None)
        columns = len(self.separator)
        for index, row in enumerate(rows[2:], 2):
            cells = len(self._split_row(row.strip(" ")))  # type: ignore[attr-defined]  # not in the stubs
            if cells > columns:
                extra = "the extra cell is" if cells - columns == 1 else "the extra cells are"
                self.warn(known[1] + index - known[0] if known else 0,
                          f"table row has {cells} cells but the header has {columns}; {extra} dropped "
                          "(write a | inside a cell as \\|)")
        super().run(parent, blocks)


class TableExtension(tables.TableExtension):
    def __init__(self, warn: Report, **kwargs):
        self.warn = warn
        super().__init__(**kwargs)

    def extendMarkdown(self, md):
        super().extendMarkdown(md)
        md.parser.blockprocessors.register(TableProcessor(md.parser, self.getConfigs(), self.warn), "table", 75)
