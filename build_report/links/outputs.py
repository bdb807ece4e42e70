"""Links in a built PDF, read back with pypdf and compared with the manuscript.

- every internal link annotation points to a named destination that exists;
- every external URI in the PDF is one that the manuscript contains;
- the manuscript's external links all made it into the PDF.
"""

from __future__ import annotations

from pathlib import Path

from pypdf import PdfReader

from ..model import Manuscript


def check_pdf_links(pdf: Path, manuscript: Manuscript) -> list[str]:
    """Problems found, as messages naming the PDF; [] when the PDF's links are sound."""
    reader = PdfReader(pdf)
    destinations = set(reader.named_destinations)
    problems: list[str] = []
    uris: set[str] = set()
    internal = 0
    for number, page in enumerate(reader.pages, 1):
        for annotation in page.get("/Annots") or []:
            annotation = annotation.get_object()
            if annotation.get("/Subtype") != "/Link":
                continue
            if annotation.get("/Dest") is not None:
                internal += 1
                if str(annotation["/Dest"]) not in destinations:
                    problems.append(f"{pdf}: page {number}: link to missing destination '{annotation['/Dest']}'")
            action = annotation.get("/A")
            if action is not None and action.get_object().get("/S") == "/URI":
                uris.add(str(action.get_object()["/URI"]))
    expected = {link.url for link in manuscript.links() if link.kind in ("external", "mailto")}
    for uri in sorted(uris - expected):
        problems.append(f"{pdf}: external link '{uri}' is not in the manuscript")
    for uri in sorted(expected - uris):
        problems.append(f"{pdf}: the manuscript's link '{uri}' is missing from the PDF")
    xrefs = sum(1 for link in manuscript.links() if link.kind == "xref")
    if xrefs and not internal:
        problems.append(f"{pdf}: the manuscript has {xrefs} cross-references but the PDF has no internal links")
    return problems
