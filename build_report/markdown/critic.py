"""Review marks (CriticMarkup), rendered by pymdownx.critic but found by `review.scan_marks`.

pymdownx.critic finds marks with rules of its own: a mark runs to the first closer
of its kind, across blank lines and headings. A half-open `{>>` then swallows every
paragraph up to the next comment, in the draft, while accept and reject (which use
`review.scan_marks`) refuse to touch it. Here the library's preprocessor is replaced
by one that renders exactly the marks `scan_marks` finds, so the draft, the build's
"unbalanced review mark" warning and accept/reject agree on what is a mark; the
library still does the rendering (stash, placeholders, `<ins>`/`<del>`/`<mark>`).
"""

from __future__ import annotations

from markdown import Markdown
from pymdownx.critic import CriticExtension as LibraryCriticExtension, CriticViewPreprocessor

from ..review import scan_marks, splice_marks


class CriticPreprocessor(CriticViewPreprocessor):
    def run(self, lines: list[str]) -> list[str]:
        render = self.critic_view if self.config["mode"] == "view" else self.critic_parse
        text = "\n".join(lines)
        # The library's kinds are the openers without their brace: '++', '--', '~~', '==', '>>'.
        return splice_marks(text, scan_marks(text).marks,
                            lambda mark: render(mark.opener[1:], mark.content, mark.new)).split("\n")


class CriticExtension(LibraryCriticExtension):
    """pymdownx.critic, configured the same way (`mode`: view, accept or reject)."""

    def extendMarkdown(self, md: Markdown) -> None:
        super().extendMarkdown(md)
        critic = CriticPreprocessor(self.critic_stash)
        critic.config = self.getConfigs()
        md.preprocessors.register(critic, "critic", 31.1)  # the same name and priority: replaces the library's
