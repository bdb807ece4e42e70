"""Place quotes: a blockquote whose last paragraph is an attribution.

    > We stopped arguing about whose budget it was.
    >
    > — Ashbury, a director of adult social care

becomes

    <figure class="place-quote" id="quote-ashbury-1" data-place="ashbury">
      <blockquote><p>We stopped arguing about whose budget it was.</p></blockquote>
      <figcaption><span class="place">Ashbury</span>, <span class="role">a director
        of adult social care</span><span class="region">North West</span></figcaption>
    </figure>

The place must be a key or a name in places.yaml (case does not matter).
Any other credit makes an ordinary attributed quotation, shown with its credit
and left out of the places appendix:

    > All the world's a stage.
    >
    > — William Shakespeare, As You Like It

    <figure class="quote"><blockquote>...</blockquote>
      <figcaption>— <span class="credit">William Shakespeare</span>, <span class="role">As You Like
        It</span></figcaption></figure>

A credit that nearly matches a place ("Ashbry") is taken for a typo: an error
with a "did you mean" hint. A credit in italics (`— *Ashby Jones*`) is never
a place, for people whose names look like one.
A blockquote without an attribution stays an ordinary quotation.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from xml.etree import ElementTree as etree

from markdown import Extension
from markdown.treeprocessors import Treeprocessor

from ..model import Place
from ..text import did_you_mean

ATTRIBUTION = re.compile(r"^\s*(?:—|–|---?)\s*(?P<place>[^,]+?)\s*(?:,\s*(?P<role>.+?))?\s*$", re.S)
DASH = re.compile(r"^\s*(?:—|–|---?)\s*")
NEAR_MISS = 0.8  # how close to a place's name a credit must be to count as its typo


class PlaceQuoteTreeprocessor(Treeprocessor):
    def __init__(self, md, places: dict[str, Place], report: Callable[[int, str], None]):
        super().__init__(md)
        self.lookup = {p.key.lower(): p for p in places.values()}
        self.lookup.update({p.name.lower(): p for p in places.values()})
        self.names = sorted(p.name for p in places.values())
        self.report = report

    def run(self, root: etree.Element) -> None:
        self.counts: dict[str, int] = {}
        for parent in list(root.iter()):
            for quote in [child for child in parent if child.tag == "blockquote"]:
                index = list(parent).index(quote)
                parent[index : index + 1] = self._split(quote)

    def _split(self, quote: etree.Element) -> list[etree.Element]:
        """Python-Markdown merges adjacent blockquotes: split them after each attribution."""
        out: list[etree.Element] = []
        current = etree.Element("blockquote")
        for child in list(quote):
            match = ATTRIBUTION.match(child.text or "") if child.tag == "p" and not len(child) else None
            credited = (child.tag == "p" and len(child) and DASH.match(child.text or "")
                        and not (child.text or "").strip(" —–-"))
            if match and len(current):
                out.append(self._place_quote(current, child, match))
                current = etree.Element("blockquote")
            elif credited and len(current):  # "— *Name*, role": a person, never a place
                out.append(self._attributed(current, child))
                current = etree.Element("blockquote")
            else:
                current.append(child)
        if len(current) or not out:
            out.append(current)
        out[-1].tail = quote.tail
        return out

    def _place_quote(self, quote: etree.Element, attribution: etree.Element, match: re.Match) -> etree.Element:
        line = int(attribution.get("data-line") or 0)
        name = match.group("place")
        place = self.lookup.get(name.lower())
        if place is None:
            hint = did_you_mean(name, self.names, NEAR_MISS)
            if not hint:
                return self._attributed(quote, attribution)
            self.report(line, f"unknown place '{name}'{hint}; to credit a person of that name, "
                              "put it in italics: — *Name*")
            quote.append(attribution)
            return quote
        self.counts[place.key] = self.counts.get(place.key, 0) + 1
        return self._figure(quote, place, match.group("role") or "", self.counts[place.key], line)

    @staticmethod
    def _attributed(quote: etree.Element, attribution: etree.Element) -> etree.Element:
        """An ordinary quotation with a visible credit: the attribution as written, in a figcaption."""
        figure = etree.Element("figure", {"class": "quote"})
        first_line = quote[0].get("data-line") if len(quote) else None
        line = first_line or attribution.get("data-line")
        if line:
            figure.set("data-line", line)
        figure.append(quote)
        caption = etree.SubElement(figure, "figcaption")
        caption.text = attribution.text
        caption.extend(list(attribution))
        match = DASH.match(caption.text or "")
        credit = etree.Element("span", {"class": "credit"})
        rest = (caption.text or "")[match.end():] if match else (caption.text or "")
        caption.text = "— "
        if len(caption) == 0:
            name, _, role = rest.partition(",")
            credit.text = name.strip()
            caption.append(credit)
            if role.strip():
                credit.tail = ", "
                etree.SubElement(caption, "span", {"class": "role"}).text = role.strip()
        else:  # markup in the credit: keep it as written
            credit.text = rest
            credit.extend(list(caption))
            for child in list(caption):
                caption.remove(child)
            caption.append(credit)
        return figure

    @staticmethod
    def _figure(quote: etree.Element, place: Place, role: str, count: int, line: int) -> etree.Element:
        figure = etree.Element("figure", {"class": "place-quote", "id": f"quote-{place.key}-{count}",
                                          "data-place": place.key})
        first_line = quote[0].get("data-line") if len(quote) else None
        if first_line or line:
            figure.set("data-line", str(first_line or line))
        figure.append(quote)
        caption = etree.SubElement(figure, "figcaption")
        name = etree.SubElement(caption, "span", {"class": "place"})
        name.text = place.name
        if role:
            name.tail = ", "
            etree.SubElement(caption, "span", {"class": "role"}).text = role
        if place.region:
            etree.SubElement(caption, "span", {"class": "region"}).text = place.region
        return figure


class PlaceQuoteExtension(Extension):
    def __init__(self, **kwargs):
        self.config = {
            "places": [{}, "Places by key; None when unknown (attributions are then left unchecked)"],
            "report": [lambda line, message: None, "Called with (line, message) for each error"],
        }
        super().__init__(**kwargs)

    def extendMarkdown(self, md):
        if self.getConfig("places") is None:
            return
        processor = PlaceQuoteTreeprocessor(md, self.getConfig("places"), self.getConfig("report"))
        md.treeprocessors.register(processor, "place_quotes", 40)
