"""Generate a deterministic manuscript of about N pages, for the build benchmark (bench/run.py).

    .venv/bin/python bench/generate.py 200 [-o bench/.work/manuscripts/200] [--seed 12]
                                          [--links N] [--link-base http://127.0.0.1:8000]

The text is made up from a small vocabulary (no copied prose), seeded, so the
same arguments give the same files. Each chapter has sections, paragraphs, a
list, one or two numbered tables, a place quote (places.yaml is the sample's), footnotes,
cross-references to other chapters and external links; every third chapter has
a figure (the sample's SVGs) and every other one a box. A foreword (front
matter) comes first and a method appendix last.

The page count is for the default govuk theme (A4, 12pt): `WORDS_PER_PAGE` and
`FIXED_PAGES` were calibrated by laying out 50-, 200- and 500-page manuscripts,
which came to 51, 199 and 492 pages (about 250 words a page in all, counting
headings, tables, quotes and notes; see bench/README.md).
External links (default: 2 per page, so 1,000 at 500 pages) go to
`<link-base>/<chapter>/<n>`; bench/run.py points them at a local server.
"""

from __future__ import annotations

import argparse
import random
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "manuscript"
WORK = Path(__file__).resolve().parent / ".work"

# Calibration for the govuk theme (bench/README.md): pages ~= FIXED_PAGES + words / WORDS_PER_PAGE.
# The words are the ones `generate` counts (prose, list items, quotes, table cells, captions).
WORDS_PER_PAGE = 233
FIXED_PAGES = 2
PAGES_PER_CHAPTER = 10
LINKS_PER_PAGE = 2
DEFAULT_LINK_BASE = "http://127.0.0.1:8000"

# A small vocabulary. The sentences it makes are grammatical and meaningless enough to be nobody's prose.
SUBJECTS = [
    "the partnership", "the council", "the care board", "each place", "front-line staff", "the voluntary sector",
    "residents", "the joint board", "the neighbourhood team", "a joint lead", "the housing service",
    "the school trust", "the police", "the finance team", "the citizen panel", "local charities",
    "the programme team", "most partners", "the health visitors", "the youth service",
]
VERBS = [
    "agreed", "tested", "reviewed", "funded", "shared", "measured", "questioned", "simplified", "changed",
    "supported", "rebuilt", "dropped", "published", "mapped", "renewed", "explained", "delayed", "widened",
]
OBJECTS = [
    "a shared budget", "the referral route", "its data sharing", "a common set of measures",
    "the weekly meeting", "the front door", "a pooled fund", "the case review", "a small grant scheme",
    "the annual plan", "the risk share", "a joint post", "the outcomes framework", "the waiting list",
    "its terms of reference", "a training day", "the service map", "the complaints process",
]
MODIFIERS = [
    "within a year", "after some delay", "with little fuss", "once trust had grown", "in the second round",
    "before the money ran out", "without a new structure", "at the request of residents",
    "for the first time", "in every neighbourhood", "with help from the programme", "by the end of the pilot",
    "under a single manager", "across the whole borough", "in two of its wards",
]
CONNECTORS = [
    "In practice,", "Over time,", "By contrast,", "Even so,", "In most places,", "At first,", "Later,",
    "As a result,", "For a while,", "In the end,", "Meanwhile,", "Where it worked,",
]
ADJECTIVES = ["Shared", "Local", "Joint", "Early", "Slow", "Visible", "Practical", "Quiet", "Common", "Open"]
NOUNS = [
    "budgets", "teams", "decisions", "measures", "meetings", "leadership", "data", "money", "trust", "plans",
    "panels", "posts", "services", "risks", "lessons", "records",
]
ROLES = [
    "a director of adult care", "a neighbourhood team manager", "a head teacher", "a community organiser",
    "a finance officer", "a district nurse", "a youth worker", "a housing officer", "a council leader",
    "a resident", "a programme lead", "a police inspector",
]
FIGURES = [
    ("accountability-map.svg", "Diagram of a family at the centre of overlapping circles, one for each service.",
     "One family and the services around it"),
    ("outcomes-chart.svg", "Bar chart comparing outcome measures before and after the programme.",
     "Outcome measures before and after"),
    ("partnership-timeline.svg", "Timeline of milestones in four places over six years.",
     "How partnerships developed over time"),
    ("trust-curve.svg", "Line chart of a trust index rising and falling over the years of the programme.",
     "Trust between partners over time"),
]


@dataclass
class Generated:
    """What `generate` wrote: the folder, its chapters and the counts it aimed at."""

    root: Path
    pages: int
    chapters: list[str] = field(default_factory=list)
    words: int = 0
    links: int = 0


class Writer:
    """Makes text from the vocabulary with one seeded random generator, counting words as it goes."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.words = 0

    def count(self, text: str) -> str:
        self.words += len(text.split())
        return text

    def sentence(self) -> str:
        rng = self.rng
        parts = []
        if rng.random() < 0.35:
            parts.append(rng.choice(CONNECTORS))
        parts += [rng.choice(SUBJECTS), rng.choice(VERBS), rng.choice(OBJECTS)]
        if rng.random() < 0.7:
            parts.append(rng.choice(MODIFIERS))
        if rng.random() < 0.25:
            parts.append(f"in {rng.randint(2019, 2025)}")
        if rng.random() < 0.3:
            parts += ["and", rng.choice(VERBS), rng.choice(OBJECTS)]
        text = " ".join(parts)
        return self.count(text[0].upper() + text[1:] + ".")

    def paragraph(self, sentences: int | None = None) -> str:
        return " ".join(self.sentence() for _ in range(sentences or self.rng.randint(3, 6)))

    def phrase(self) -> str:
        return self.count(f"{self.rng.choice(ADJECTIVES)} {self.rng.choice(NOUNS)}")

    def title(self) -> str:
        return self.count(f"{self.rng.choice(ADJECTIVES)} {self.rng.choice(NOUNS)} and {self.rng.choice(NOUNS)}")


def _places(path: Path) -> list[str]:
    """The place names of a places.yaml (its `name:` lines; the file is the sample's)."""
    return re.findall(r"^\s+name:\s*(.+?)\s*$", path.read_text(encoding="utf-8"), re.M)


def chapter_files(count: int) -> list[str]:
    """File names: a foreword, `count` chapters and a method appendix."""
    return ["00-foreword.md", *(f"{n:02d}-chapter-{n}.md" for n in range(1, count + 1)),
            f"{count + 1:02d}-appendix-method.md"]


SLOT = "\x00link\x00"  # where a paragraph may take external links; filled in by `place_links`


def place_links(w: Writer, texts: dict[str, str], total: int, base: str) -> dict[str, str]:
    """Spread `total` links evenly over the SLOTs of the chapters, in order (none where a slot gets none)."""
    slots = sum(text.count(SLOT) for text in texts.values())
    seen = made = 0
    out = {}
    for name, text in texts.items():
        chapter = name.split("-", 1)[0]
        pieces = text.split(SLOT)
        for i in range(1, len(pieces)):
            seen += 1
            due = total * seen // slots
            links = []
            while made < due:
                made += 1
                links.append(f" See the [guidance on {w.phrase().lower()}]({base}/c{chapter}/{made}).")
                w.count("see the guidance on")
            pieces[i] = "".join(links) + pieces[i]
        out[name] = "".join(pieces)
    return out


def _table(w: Writer, chapter: int, n: int) -> str:
    rng = w.rng
    rows = ["| Measure | Places | Share | When |", "|---|---:|---:|---|"]
    for _ in range(rng.randint(4, 6)):
        rows.append(f"| {w.phrase()} | {rng.randint(2, 26)} | {rng.randint(5, 95)}% | {rng.randint(2019, 2025)} |")
        w.count("x x x")
    caption = w.title()
    return "\n".join(rows) + f"\nTable: {caption} {{#tab-{chapter}-{n}}}"


def _quote(w: Writer, places: list[str]) -> str:
    return f"> {w.paragraph(2)}\n>\n> — {w.rng.choice(places)}, {w.count(w.rng.choice(ROLES))}"


def _list(w: Writer) -> str:
    return "\n".join(f"- {w.sentence()}" for _ in range(w.rng.randint(3, 5)))


def _chapter(w: Writer, index: int, files: list[str], words: int, places: list[str]) -> str:
    """One numbered chapter of about `words` words."""
    rng = w.rng
    start = w.words
    notes: list[str] = []
    out = [f"---\nid: chapter-{index}\nkind: chapter\n---\n# {w.title()}", w.paragraph(), w.paragraph()]
    if index % 3 == 1:
        name, alt, caption = FIGURES[(index // 3) % len(FIGURES)]
        out.append(f'![{alt}](../images/{name} "{caption}"){{#fig-{index}}}')
        out.append(f"{w.paragraph(3)} The pattern is drawn in [](#fig-{index}).")
    section = 0
    while w.words - start < words or section < 2:
        section += 1
        out.append(f"## {w.title()} {{#c{index}-s{section}}}")
        out.append(w.paragraph() + SLOT)
        if section == 1:
            out.append(_list(w))
            out.append(_table(w, index, 1))
            out.append(f"{w.paragraph(2)} [](#tab-{index}-1) sums this up.")
            if index % 2 == 0:
                out.append(f'!!! box "Case study: {w.title().lower()}"\n    {w.paragraph(3)}\n\n    {_list(w)}'
                           .replace("\n- ", "\n    - "))
        elif section == 2:
            out.append(_quote(w, places))
        elif section == 4:
            out.append(_table(w, index, 2))
        if section % 2 == 0:  # a cross-reference to a section of another chapter (each has two at least)
            other = rng.choice([n for n in range(1, len(files) - 1) if n != index])
            out.append(f"{w.paragraph(3)} This is taken further in []({files[other]}#c{other}-s{rng.randint(1, 2)}).")
        if section == 1 or rng.random() < 0.6:
            label = f"n{len(notes) + 1}"
            notes.append(f"[^{label}]: {w.paragraph(2)}")
            out.append(w.paragraph() + f"[^{label}]" + SLOT)
        else:
            out.append(w.paragraph() + SLOT)
    return "\n\n".join(part.rstrip() for part in out + notes) + "\n"


def generate(pages: int, out: Path, seed: int = 12, links: int | None = None,
             link_base: str = DEFAULT_LINK_BASE) -> Generated:
    """Write a manuscript of about `pages` pages (govuk theme) into `out`, replacing what is there."""
    if pages < 5:
        raise ValueError("at least 5 pages")
    links = LINKS_PER_PAGE * pages if links is None else links
    if out.exists():
        shutil.rmtree(out)
    (out / "chapters").mkdir(parents=True)
    shutil.copytree(SAMPLE / "images", out / "images")
    shutil.copy(SAMPLE / "places.yaml", out / "places.yaml")
    places = _places(out / "places.yaml")
    count = max(3, round(pages / PAGES_PER_CHAPTER))
    files = chapter_files(count)
    body_words = max(pages - FIXED_PAGES, 1) * WORDS_PER_PAGE
    per_chapter = body_words // (count + 1)  # the foreword and the appendix share one chapter's words
    w = Writer(seed)
    texts = {files[0]: "---\nid: foreword\nkind: front\n---\n# Foreword\n\n"
             + "\n\n".join(w.paragraph() for _ in range(max(2, per_chapter // 2 // 80))) + "\n"}
    for index in range(1, count + 1):
        texts[files[index]] = _chapter(w, index, files, per_chapter, places)
    appendix = ["---\nid: method\nkind: appendix\n---\n# Method and sources", w.paragraph(),
                "## Sources {#sources}", _list(w), "## Limits {#limits}"]
    appendix += [w.paragraph() for _ in range(max(2, per_chapter // 2 // 80))]
    texts[files[-1]] = "\n\n".join(appendix) + "\n"
    texts = place_links(w, texts, links, link_base.rstrip("/"))
    for name, text in texts.items():
        (out / "chapters" / name).write_text(text, encoding="utf-8")
    (out / "report.yaml").write_text(_report_yaml(pages, files), encoding="utf-8")
    return Generated(out, pages, files, w.words, links)


def _report_yaml(pages: int, files: list[str]) -> str:
    chapters = "\n".join(f"  - chapters/{name}" for name in files)
    return f"""# A generated benchmark manuscript (bench/generate.py); about {pages} pages.
title: Working Together at Scale
subtitle: A generated report of about {pages} pages for the build benchmark
authors:
  - The Benchmark Team
publisher: build_report
date: 2026-01-01
version: "1.0"
language: en-GB
identifier: urn:uuid:00000000-0000-4000-8000-{pages:012d}
rights: Generated text for benchmarking; no rights reserved.
description: Generated text with headings, lists, tables, quotes, footnotes and links.
places: places.yaml
chapters:
{chapters}
"""


def edit_one_chapter(manuscript: Path, seed: int = 99) -> Path:
    """Append a paragraph to the middle chapter of `report.yaml`'s list; returns that chapter's path."""
    listed = re.findall(r"^\s+-\s+(chapters/\S+\.md)\s*$", (manuscript / "report.yaml").read_text("utf-8"), re.M)
    path = manuscript / listed[len(listed) // 2]
    with path.open("a", encoding="utf-8") as chapter:
        chapter.write("\n" + Writer(seed).paragraph(5) + "\n")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pages", type=int)
    parser.add_argument("-o", "--output", type=Path, help="default: bench/.work/manuscripts/<pages>")
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--links", type=int, help=f"external links (default: {LINKS_PER_PAGE} per page)")
    parser.add_argument("--link-base", default=DEFAULT_LINK_BASE)
    args = parser.parse_args()
    out = args.output or WORK / "manuscripts" / str(args.pages)
    made = generate(args.pages, out, args.seed, args.links, args.link_base)
    print(f"wrote {made.root}: {len(made.chapters)} chapter files, {made.words} words, {made.links} links")


if __name__ == "__main__":
    main()
