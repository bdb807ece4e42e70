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

from ..review import mark_keys, scan_marks, splice_marks


class CriticPreprocessor(CriticViewPreprocessor):
    def run(self, lines: list[str]) -> list[str]:
        render = self.critic_view if self.config["mode"] == "view" else self.critic_parse
        text = "\n".join(lines)
        marks = scan_marks(text).marks
        keys = dict(zip((id(mark) for mark in marks), mark_keys(marks), strict=True))

        def shown(mark) -> str:
            # The library's kinds are the openers without their brace: '++', '--', '~~', '==', '>>'.
            first = self.critic_stash.count
            placeholder = render(mark.opener[1:], mark.content, mark.new)
            self._key(first, keys[id(mark)])
            return placeholder

        return splice_marks(text, marks, shown).split("\n")

    def _key(self, index: int, key: str) -> None:
        """Put the mark's key (review.mark_keys) on the first element rendered for it, as `data-mark`:
        a draft gives the mark an anchor from it (review.mark_for_review), so its page can be found."""
        name = self.critic_stash.stash_key % str(index)
        html = self.critic_stash.stash.get(name)
        if html is not None and self.config["mode"] == "view":
            self.critic_stash.stash[name] = html.replace(' class="critic', f' data-mark="{key}" class="critic', 1)


class CriticExtension(LibraryCriticExtension):
    """pymdownx.critic, configured the same way (`mode`: view, accept or reject)."""

    def extendMarkdown(self, md: Markdown) -> None:
        super().extendMarkdown(md)
        critic = CriticPreprocessor(self.critic_stash)
        critic.config = self.getConfigs()
        md.preprocessors.register(critic, "critic", 31.1)  # the same name and priority: replaces the library's
