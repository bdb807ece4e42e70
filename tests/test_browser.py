"""build_report.browser: axe-core, reflow and blocked requests on small pages, in Debian's Chromium.

Skipped only when browser.chromium_missing() says why (no playwright package, no Chromium). CI
installs both, and npm, so there these run."""

from __future__ import annotations

from pathlib import Path

import pytest

from build_report import browser

HEAD = ('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title>{extra}</head>')
GOOD = HEAD + """<body><header><a href="#main">Skip to the text</a></header>
<main id="main"><h1>A good page</h1><p>Plain text, with <a href="other.html">a link</a>.</p>
<div tabindex="0" role="region" aria-label="A wide table" style="overflow-x: auto">
<table><caption>Counts</caption><tr><th scope="col">Place</th><th scope="col">Count</th></tr>
<tr><td style="min-width: 900px">Ashbury</td><td>3</td></tr></table></div></main></body></html>"""


@pytest.fixture(scope="module", autouse=True)
def _needs_browser():
    reason = browser.chromium_missing()
    if reason:
        pytest.skip(reason)


def page(site: Path, name: str, body: str, title: str = "A page", extra: str = "") -> str:
    path = site / name
    path.parent.mkdir(parents=True, exist_ok=True)
    html = body if body.startswith("<!DOCTYPE") else HEAD + f"<body><main><h1>{title}</h1>{body}</main></body></html>"
    path.write_text(html.format(title=title, extra=extra), encoding="utf-8")
    return name


def rules(findings: list[browser.Finding]) -> set[tuple[str, int, str]]:
    return {(f.page, f.width, f.rule) for f in findings}


def test_a_good_page_has_no_findings_at_any_width(tmp_path):
    page(tmp_path, "index.html", GOOD)
    page(tmp_path, "other.html", "<p>The other page.</p>", title="Other")
    assert browser.check_pages(tmp_path) == []


def test_an_image_without_alt_is_an_image_alt_finding_at_every_width(tmp_path):
    page(tmp_path, "chapters/figure.html", '<p>Look:</p><img src="box.svg" width="40" height="40">')
    (tmp_path / "chapters" / "box.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40"><rect width="40" height="40"/></svg>')
    findings = browser.check_pages(tmp_path)
    assert rules(findings) == {("chapters/figure.html", width, "image-alt") for width in browser.WIDTHS}
    first = findings[0]
    assert first.impact == "critical" and first.targets == ("img",)
    assert str(first) == "chapters/figure.html: error: [320 px] image-alt: Images must have alternative text (img)"


def test_a_fixed_width_element_is_a_reflow_finding_at_320_but_not_at_1280(tmp_path):
    page(tmp_path, "wide.html", '<div class="poster" style="width: 1000px">A wide poster</div>')
    findings = browser.check_pages(tmp_path)
    reflow = [f for f in findings if f.rule == "reflow"]
    assert {f.width for f in reflow} == {320, 390}
    assert str(reflow[0]).startswith("wide.html: error: [320 px] reflow: the page scrolls sideways at 320 px "
                                     "(WCAG 1.4.10)")
    assert reflow[0].targets == ("body > main > div.poster",)
    assert {f.rule for f in findings} == {"reflow"}


def test_a_fixed_position_element_cut_off_is_a_reflow_finding(tmp_path):
    page(tmp_path, "banner.html", '<p>Text.</p><div style="position: fixed; top: 0; left: 0; width: 600px; '
                                  'background: #fff">A banner</div>')
    findings = browser.check_pages(tmp_path, widths=(320,))
    assert [(f.rule, f.help) for f in findings] == [
        ("reflow", "a fixed-position element runs off the screen at 320 px (WCAG 1.4.10)")]


def test_external_requests_are_blocked_and_reported_once_per_page(tmp_path):
    page(tmp_path, "cdn.html", "<p>Styled from afar.</p>", extra='<link rel="stylesheet" href="https://example.com/x.css">')
    findings = browser.check_pages(tmp_path)
    assert [str(f) for f in findings] == [
        "cdn.html: error: [320 px] external-request: external request to https://example.com/x.css (blocked)"]


def test_missing_local_files_and_script_errors_are_findings(tmp_path):
    page(tmp_path, "broken.html", "<p>Broken.</p>",
         extra='<link rel="stylesheet" href="gone.css"><script>window.nothing.here()</script>')
    found = {(f.rule, f.help.split(":")[0]) for f in browser.check_pages(tmp_path, widths=(390,))}
    assert found == {("missing-file", "HTTP 404 for /gone.css"), ("script-error", "uncaught error")}


def test_pages_default_to_every_html_file_outside_the_search_index(tmp_path):
    page(tmp_path, "index.html", GOOD)
    page(tmp_path, "a/b.html", "<p>Deep.</p>")
    page(tmp_path, "_pagefind/ui.html", "<img src=x>")
    assert browser.site_pages(tmp_path) == ["a/b.html", "index.html"]
    only = page(tmp_path, "bad.html", "<img src='x.png'>")
    assert {f.page for f in browser.check_pages(tmp_path, pages=[only], widths=(1280,))} == {"bad.html"}


def test_screenshots_are_full_page_pngs_per_width(tmp_path):
    page(tmp_path / "site", "index.html", GOOD)
    shots = browser.screenshots(tmp_path / "site", "index.html", (320, 1280), tmp_path / "shots")
    assert [p.name for p in shots] == ["index-320.png", "index-1280.png"]
    for shot, width in zip(shots, (320, 1280), strict=True):
        data = shot.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        assert int.from_bytes(data[16:20], "big") == width


def test_a_missing_chromium_is_a_clear_reason(monkeypatch, tmp_path):
    monkeypatch.setenv("CHROMIUM", str(tmp_path / "no-chromium"))
    assert browser.chromium_missing().startswith(f"Chromium is not installed at {tmp_path / 'no-chromium'}")
    with pytest.raises(browser.BrowserUnavailable, match="Chromium is not installed"):
        browser.check_pages(tmp_path)


def test_a_missing_npm_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("AXE_CACHE", str(tmp_path / "axe"))
    monkeypatch.setattr(browser.shutil, "which", lambda name: None)
    with pytest.raises(browser.BrowserUnavailable, match="npm is not installed"):
        browser.axe_source()
