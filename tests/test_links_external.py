"""The external link checker (issue 4) against a real HTTP server on 127.0.0.1.

No test touches the internet: every http URL points at the local server, at a
closed local port, or at the reserved `.invalid` domain.
"""

from __future__ import annotations

import gc
import io
import json
import socket
import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as etree

import pytest

from build_report import __version__
from build_report.links import LinkPolicy, LinkResult, Status, check_links, exit_code, render_report
from build_report.links.probe import parse_retry_after
from build_report.model import Link, Location
from linkserver import InFlight, LinkServer, by_method, endless, page, redirect, reply, sequence, slow

FAST = {"timeout": 2, "retries": 2, "retry_delay": 0.01}


@pytest.fixture
def server():
    with LinkServer() as running:
        yield running


def make_link(url: str, line: int = 1, path: str = "chapters/01-intro.md", chapter: str = "intro") -> Link:
    kind = "mailto" if url.startswith("mailto:") else "external"
    return Link(url=url, text="text", source=Location(path, line), chapter_id=chapter, kind=kind)


def check(urls: list[str], cache_path: Path | None = None, **settings: Any) -> list[LinkResult]:
    policy = LinkPolicy.from_mapping({**FAST, **settings})
    return check_links([make_link(url, line) for line, url in enumerate(urls, 1)], policy, cache_path=cache_path)


def check_one(url: str, **settings: Any) -> LinkResult:
    (result,) = check([url], **settings)
    return result


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- plain statuses ---------------------------------------------------------


@pytest.mark.parametrize(
    "status, verdict, reason",
    [
        (200, Status.OK, ""),
        (204, Status.OK, ""),
        (404, Status.BROKEN, "HTTP 404 Not Found"),
        (410, Status.BROKEN, "HTTP 410 Gone"),
        (500, Status.BROKEN, "HTTP 500 Internal Server Error"),
    ],
)
def test_status_codes(server, status, verdict, reason):
    server.routes["/page"] = reply(status)
    result = check_one(server.url("/page"))
    assert (result.status, result.code, result.reason) == (verdict, status, reason)
    assert result.final_url == server.url("/page")


def test_head_only_when_head_is_conclusive(server):
    server.routes["/page"] = reply(200)
    server.routes["/gone"] = reply(404)
    check([server.url("/page"), server.url("/gone")])
    assert server.hits("/page") == ["HEAD"] and server.hits("/gone") == ["HEAD"]


def test_server_error_is_retried_then_reported(server):
    server.routes["/error"] = reply(500)
    assert check_one(server.url("/error"), retries=3).status is Status.BROKEN
    assert server.hits("/error") == ["HEAD"] * 4


def test_503_that_recovers_on_retry_is_ok(server):
    server.routes["/flaky"] = sequence(reply(503), reply(200))
    result = check_one(server.url("/flaky"))
    assert (result.status, result.code) == (Status.OK, 200)
    assert len(server.hits("/flaky")) == 2


def test_429_honours_retry_after(server):
    server.routes["/limited"] = sequence(reply(429, headers={"Retry-After": "1"}), reply(200))
    started = time.monotonic()
    result = check_one(server.url("/limited"))
    assert time.monotonic() - started >= 0.95
    assert result.status is Status.OK and len(server.hits("/limited")) == 2


def test_retry_after_is_capped_by_policy(server):
    server.routes["/limited"] = sequence(reply(429, headers={"Retry-After": "120"}), reply(200))
    started = time.monotonic()
    assert check_one(server.url("/limited"), retry_after_max=0.1).status is Status.OK
    assert time.monotonic() - started < 2


def test_retry_after_header():
    in_30_s = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=30), usegmt=True)
    assert parse_retry_after("7") == 7
    assert 28 <= parse_retry_after(in_30_s) <= 30
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def test_persistent_429_is_unverified_not_broken(server):
    server.routes["/limited"] = reply(429, headers={"Retry-After": "0"})
    result = check_one(server.url("/limited"), retries=1)
    assert result.status is Status.WARNING and result.reason.startswith("unverified: rate limited")


@pytest.mark.parametrize("accept", [[403], ["400-403"]])
def test_accepted_status_codes(server, accept):
    server.routes["/private"] = reply(403)
    result = check_one(server.url("/private"), accept=accept)
    assert (result.status, result.code) == (Status.OK, 403)


# --- HEAD then GET ------------------------------------------------------------


@pytest.mark.parametrize("refusal", [405, 403, 501, 400])
def test_get_when_head_is_refused(server, refusal):
    server.routes["/no-head"] = by_method(HEAD=reply(refusal), GET=reply(200))
    result = check_one(server.url("/no-head"))
    assert (result.status, result.code) == (Status.OK, 200)
    assert server.hits("/no-head") == ["HEAD", "GET"]


def test_403_on_get_too_is_broken(server):
    server.routes["/forbidden"] = reply(403)
    result = check_one(server.url("/forbidden"))
    assert (result.status, result.reason) == (Status.BROKEN, "HTTP 403 Forbidden")


@pytest.mark.parametrize(
    "status, headers, reason",
    [
        (403, {"cf-mitigated": "challenge"}, "unverified: blocked by bot protection (HTTP 403 cf-mitigated)"),
        (999, {}, "unverified: blocked by bot protection (HTTP 999)"),
    ],
)
def test_bot_protection_is_a_warning(server, status, headers, reason):
    server.routes["/guarded"] = reply(status, headers=headers)
    result = check_one(server.url("/guarded"))
    assert (result.status, result.code, result.reason) == (Status.WARNING, status, reason)


def test_user_agent_is_descriptive_and_configurable(server):
    server.routes["/page"] = reply(200)
    check_one(server.url("/page"))
    check_one(server.url("/page"), user_agent="custom-agent/1")
    agents = [headers["User-Agent"] for _, _, headers in server.requests]
    assert agents == [f"build-report/{__version__} (+link checker)", "custom-agent/1"]


# --- redirects -----------------------------------------------------------------


@pytest.mark.parametrize("status", [301, 308])
def test_permanent_redirect_is_a_warning_with_the_new_url(server, status):
    server.routes["/old"] = redirect(status, "/new")
    server.routes["/new"] = reply(200)
    result = check_one(server.url("/old"))
    assert (result.status, result.code) == (Status.WARNING, 200)
    assert result.reason == f"permanent redirect: use {server.url('/new')}"
    assert result.final_url == server.url("/new")


@pytest.mark.parametrize("status", [302, 303, 307])
def test_temporary_redirect_is_ok(server, status):
    server.routes["/today"] = redirect(status, server.url("/landing"))
    server.routes["/landing"] = reply(200)
    result = check_one(server.url("/today"))
    assert (result.status, result.reason, result.final_url) == (Status.OK, "", server.url("/landing"))


def test_permanent_hop_after_a_temporary_one_is_not_the_authors_problem(server):
    server.routes["/a"] = redirect(302, "/b")
    server.routes["/b"] = redirect(301, "/c")
    server.routes["/c"] = reply(200)
    assert check_one(server.url("/a")).status is Status.OK


def test_redirect_loop(server):
    server.routes["/ping"] = redirect(302, "/pong")
    server.routes["/pong"] = redirect(302, "/ping")
    result = check_one(server.url("/ping"))
    assert (result.status, result.reason) == (Status.BROKEN, "redirect loop")


def test_unparsable_urls_are_broken_not_a_crash(server):
    server.routes["/bad-hop"] = redirect(302, "http://[bad/")
    hop, direct = check([server.url("/bad-hop"), "http://[bad/"])
    assert (hop.status, hop.reason) == (Status.BROKEN, "redirect to an invalid URL: http://[bad/")
    assert direct.status == Status.BROKEN and direct.reason.startswith("invalid URL")


def test_too_many_redirects(server):
    for hop in range(5):
        server.routes[f"/hop{hop}"] = redirect(302, f"/hop{hop + 1}")
    result = check_one(server.url("/hop0"), max_redirects=3)
    assert (result.status, result.reason) == (Status.BROKEN, "too many redirects (more than 3)")


def test_redirect_to_a_404(server):
    server.routes["/moved"] = redirect(301, "/missing")
    result = check_one(server.url("/moved"))
    assert (result.status, result.code, result.final_url) == (Status.BROKEN, 404, server.url("/missing"))


# --- failures without an HTTP answer --------------------------------------------


def test_slow_response_times_out(server):
    server.routes["/slow"] = slow(3, reply(200))
    started = time.monotonic()
    result = check_one(server.url("/slow"), timeout=0.5, retries=0)
    assert (result.status, result.reason) == (Status.BROKEN, "timed out after 0.5 s")
    assert time.monotonic() - started < 1.5


def test_timeout_is_retried(server):
    server.routes["/sluggish"] = sequence(slow(1.5, reply(200)), reply(200))
    assert check_one(server.url("/sluggish"), timeout=0.5, retries=1).status is Status.OK


def test_connection_refused():
    result = check_one(f"http://127.0.0.1:{closed_port()}/", retries=0)
    assert (result.status, result.reason, result.code) == (Status.BROKEN, "connection refused", None)


def test_unresolvable_host():
    result = check_one("http://nowhere.invalid/")
    assert (result.status, result.reason) == (Status.BROKEN, "DNS lookup failed: host not found")


def test_tls_error(server):
    result = check_one(server.url("/").replace("http:", "https:"))
    assert result.status is Status.BROKEN and result.reason.startswith("TLS error: ")


# --- bodies and fragments ---------------------------------------------------------


def test_huge_body_is_not_downloaded(server):
    server.routes["/huge"] = by_method(HEAD=reply(405), GET=endless())
    started = time.monotonic()
    assert check_one(server.url("/huge")).status is Status.OK
    assert time.monotonic() - started < 2
    assert server.bytes_sent["/huge"] < 2 * 2**20


def test_fragment_search_stops_after_two_megabytes(server):
    server.routes["/huge"] = endless()
    started = time.monotonic()
    result = check_one(server.url("/huge#nowhere"))
    assert (result.status, result.reason) == (Status.WARNING, "fragment #nowhere not found in page")
    assert time.monotonic() - started < 3
    assert server.bytes_sent["/huge"] < 8 * 2**20


def test_fragment_search_stops_when_found(server):
    server.routes["/huge"] = endless(prefix=b'<html><a name="early"></a>')
    assert check_one(server.url("/huge#early")).status is Status.OK
    assert server.bytes_sent["/huge"] < 2**20


@pytest.mark.parametrize("fragment, method", [("present", "GET"), ("second", "GET"), ("top", "HEAD")])
def test_present_fragment(server, fragment, method):
    server.routes["/doc"] = page("present", "second")
    result = check_one(server.url(f"/doc#{fragment}"))
    assert (result.status, result.final_url) == (Status.OK, server.url(f"/doc#{fragment}"))
    assert server.hits("/doc") == [method]  # "#top" always exists: no need to read the page


@pytest.mark.parametrize("policy, verdict", [("warning", Status.WARNING), ("error", Status.BROKEN)])
def test_missing_fragment(server, policy, verdict):
    server.routes["/doc"] = page("present", "presently")
    result = check_one(server.url("/doc#presen"), missing_fragment=policy)
    assert (result.status, result.reason) == (verdict, "fragment #presen not found in page")


def test_fragment_is_checked_on_the_redirect_target(server):
    server.routes["/old"] = redirect(301, "/doc")
    server.routes["/doc"] = page("here")
    result = check_one(server.url("/old#here"))
    assert result.reason == f"permanent redirect: use {server.url('/doc#here')}"
    assert result.final_url == server.url("/doc#here")


def test_fragment_is_not_checked_in_non_html(server):
    server.routes["/file.pdf"] = reply(200, b"%PDF-1.7", headers={"Content-Type": "application/pdf"})
    assert check_one(server.url("/file.pdf#page=3")).status is Status.OK


# --- offline verdicts --------------------------------------------------------------


@pytest.mark.parametrize(
    "url, verdict",
    [
        ("mailto:team@example.org", Status.OK),
        ("mailto:Ann.Lee+reports@mail.example.co.uk?subject=Report", Status.OK),
        ("mailto:a@example.org,b@example.org", Status.OK),
        ("mailto:team@", Status.BROKEN),
        ("mailto:team.example.org", Status.BROKEN),
        ("mailto:team@example", Status.BROKEN),
        ("mailto:", Status.BROKEN),
    ],
)
def test_mailto_syntax(url, verdict):
    result = check_one(url)
    assert result.status is verdict
    assert result.status is Status.OK or result.reason.startswith("invalid email address")


def test_excluded_url_is_skipped_without_a_request(server):
    server.routes["/page"] = reply(200)
    result = check_one(server.url("/page"), exclude=[r"127\.0\.0\.1"])
    assert (result.status, result.reason) == (Status.SKIPPED, "excluded by links.exclude")
    assert server.hits() == []


def test_only_external_and_mailto_links_are_checked(server):
    links = [make_link("chapters/02.md#x"), make_link("images/a.png")]
    links[0].kind, links[1].kind = "xref", "image"
    assert check_links(links, LinkPolicy.from_mapping({})) == []


def test_duplicate_url_is_requested_once(server):
    server.routes["/page"] = reply(404)
    results = check([server.url("/page")] * 3)
    assert server.hits("/page") == ["HEAD"]
    assert [r.link.source.line for r in results] == [1, 2, 3]
    assert all(r.status is Status.BROKEN for r in results)


# --- politeness --------------------------------------------------------------------


@pytest.mark.parametrize(
    "settings, peak",
    [
        ({"per_host": 2}, 2),
        ({"per_host": 4, "hosts": {"127.0.0.1": {"concurrency": 1}}}, 1),
        ({"per_host": 8, "concurrency": 3}, 3),
    ],
)
def test_concurrency_limits(server, settings, peak):
    server.routes["/held"] = handler = InFlight(0.05)
    check([server.url(f"/held?n={n}") for n in range(8)], **settings)
    assert handler.peak == peak


def test_redirects_to_another_host_do_not_hold_up_the_first_host(server):
    # 127.0.0.1 allows one request at a time; its four links all redirect to "localhost",
    # which allows four: the 127.0.0.1 requests must not wait for the localhost ones.
    server.routes["/hop"] = redirect(302, server.url("/held").replace("127.0.0.1", "localhost"))
    server.routes["/held"] = handler = InFlight(0.3)
    started = time.monotonic()
    results = check([server.url(f"/hop?n={n}") for n in range(4)], per_host=1, hosts={"localhost": {"concurrency": 4}})
    assert all(r.status is Status.OK for r in results)
    assert handler.peak == 4 and time.monotonic() - started < 1


def test_retry_wait_leaves_the_host_to_other_links(server):
    server.routes["/flaky"] = sequence(reply(503), reply(200))
    server.routes["/page"] = reply(200)
    urls = [server.url("/flaky"), server.url("/page?n=1"), server.url("/page?n=2")]
    results = check(urls, per_host=1, retry_delay=0.3)
    assert all(r.status is Status.OK for r in results)
    assert [path for _, path, _ in server.requests] == ["/flaky", "/page", "/page", "/flaky"]


def test_connections_are_kept_alive(server):
    server.routes["/page"] = reply(200)
    results = check([server.url(f"/page?n={n}") for n in range(8)], per_host=1)
    assert all(r.status is Status.OK for r in results)
    assert len(server.hits("/page")) == 8 and server.connections == 1


def test_sessions_and_connections_are_closed(server, recwarn, caplog):
    server.routes["/page"] = reply(200)
    server.routes["/huge"] = endless()
    check([server.url("/page"), server.url("/huge#nowhere"), f"http://127.0.0.1:{closed_port()}/"], retries=0)
    gc.collect()  # an unclosed aiohttp session or connector complains when collected
    assert [str(w.message) for w in recwarn if issubclass(w.category, ResourceWarning)] == []
    assert "Unclosed" not in caplog.text


# --- cache ---------------------------------------------------------------------------


def test_cache_hit_makes_no_request(server, tmp_path):
    server.routes["/page"] = reply(200)
    server.routes["/old"] = redirect(301, "/page")
    cache = tmp_path / "build" / ".linkcache.json"
    urls = [server.url("/page"), server.url("/old")]
    first = check(urls, cache_path=cache)
    requests = len(server.requests)
    second = check(urls, cache_path=cache)
    assert len(server.requests) == requests
    assert [r.from_cache for r in first + second] == [False, False, True, True]
    assert [(r.status, r.reason, r.final_url) for r in first] == [(r.status, r.reason, r.final_url) for r in second]


def test_cache_file_is_deterministic_json(server, tmp_path):
    server.routes["/page"] = reply(200)
    cache = tmp_path / ".linkcache.json"
    check([server.url("/page"), "mailto:a@example.org"], cache_path=cache)
    data = json.loads(cache.read_text())
    assert list(data["entries"]) == [server.url("/page")]
    entry = data["entries"][server.url("/page")]
    assert list(entry) == sorted(entry) and entry["status"] == "ok" and "checked_at" in entry
    assert [p.name for p in tmp_path.iterdir()] == [".linkcache.json"]  # no temp file left


def test_broken_result_is_rechecked_despite_cache(server, tmp_path):
    server.routes["/gone"] = reply(404)
    cache = tmp_path / ".linkcache.json"
    check([server.url("/gone")], cache_path=cache)
    (result,) = check([server.url("/gone")], cache_path=cache)
    assert server.hits("/gone") == ["HEAD", "HEAD"]
    assert result.from_cache is False and result.status is Status.BROKEN


def test_use_cache_false_ignores_the_cache(server, tmp_path):
    server.routes["/page"] = reply(200)
    cache = tmp_path / ".linkcache.json"
    policy = LinkPolicy.from_mapping(FAST)
    links = [make_link(server.url("/page"))]
    check_links(links, policy, cache_path=cache)
    (result,) = check_links(links, policy, cache_path=cache, use_cache=False)
    assert len(server.hits("/page")) == 2 and result.from_cache is False


def test_expired_entry_is_rechecked(server, tmp_path):
    server.routes["/page"] = reply(200)
    cache = tmp_path / ".linkcache.json"
    check([server.url("/page")], cache_path=cache, cache_ttl="1h")
    data = json.loads(cache.read_text())
    stale = (datetime.now(timezone.utc) - timedelta(hours=2)).isoformat(timespec="seconds")
    data["entries"][server.url("/page")]["checked_at"] = stale
    cache.write_text(json.dumps(data))
    check([server.url("/page")], cache_path=cache, cache_ttl="1h")
    assert len(server.hits("/page")) == 2


def test_policy_change_invalidates_the_cache(server, tmp_path):
    server.routes["/doc"] = page("a")
    cache = tmp_path / ".linkcache.json"
    assert check([server.url("/doc#b")], cache_path=cache)[0].status is Status.WARNING
    assert check([server.url("/doc#b")], cache_path=cache, missing_fragment="error")[0].status is Status.BROKEN


@pytest.mark.parametrize("content", ["{not json", "[]", '{"version": 1, "policy": "x", "entries": 3}', "\x00\xff"])
def test_corrupt_cache_is_ignored(server, tmp_path, content):
    server.routes["/page"] = reply(200)
    cache = tmp_path / ".linkcache.json"
    cache.write_text(content, encoding="latin-1")
    (result,) = check([server.url("/page")], cache_path=cache)
    assert result.status is Status.OK and not result.from_cache
    assert json.loads(cache.read_text())["entries"][server.url("/page")]["status"] == "ok"


# --- policy --------------------------------------------------------------------------


def test_policy_defaults():
    policy = LinkPolicy.from_mapping({})
    assert (policy.timeout, policy.concurrency, policy.per_host, policy.retries) == (10, 64, 4, 3)
    assert (policy.cache_ttl, policy.max_redirects, policy.missing_fragment) == (86400, 10, "warning")
    assert policy.user_agent == f"build-report/{__version__} (+link checker)"
    assert 200 in policy.accept and 299 in policy.accept and 404 not in policy.accept


def test_policy_parsing():
    policy = LinkPolicy.from_mapping(
        {"cache_ttl": "12h", "accept": [403, "500-502"], "hosts": {"Example.org": {"concurrency": 1}}, "exclude": "^x"}
    )
    assert policy.cache_ttl == 43200 and {403, 500, 501, 502} <= policy.accept
    assert policy.host_limit("www.example.org") == 1 and policy.host_limit("example.com") == 4
    assert policy.is_excluded("x://y") and not policy.is_excluded("https://x")


@pytest.mark.parametrize(
    "mapping, message",
    [
        ({"timeout": -1}, "links.timeout must be a positive number"),
        ({"timeout": "soon"}, "links.timeout must be a positive number"),
        ({"timout": 3}, "links.timout is not a known setting (did you mean links.timeout?)"),
        ({"concurrency": 0}, "links.concurrency must be a whole number"),
        ({"retries": True}, "links.retries must be a whole number"),
        ({"exclude": ["("]}, "links.exclude[0] is not a valid regular expression"),
        ({"accept": ["ok"]}, "links.accept must list HTTP status codes"),
        ({"cache_ttl": "forever"}, "links.cache_ttl must be a duration"),
        ({"missing_fragment": "ignore"}, "links.missing_fragment must be warning or error"),
        ({"hosts": {"a.org": {"delay": 1}}}, "links.hosts.a.org.delay is not a known setting"),
    ],
)
def test_policy_errors_name_the_key(mapping, message):
    with pytest.raises(ValueError) as error:
        LinkPolicy.from_mapping(mapping)
    assert str(error.value).startswith(message)


# --- progress and reports --------------------------------------------------------------


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("stream, drawn", [(Terminal(), True), (io.StringIO(), False)])
def test_progress_only_on_a_terminal(server, stream, drawn):
    server.routes["/page"] = reply(200)
    links = [make_link(server.url("/page")), make_link(server.url("/gone"))]
    check_links(links, LinkPolicy.from_mapping(FAST), progress=stream)
    output = stream.getvalue()
    assert ("\r" in output and "2/2, 1 broken" in output) is drawn
    assert drawn or output == ""


def made(url: str, status: Status, code: int | None, reason: str, where: str, chapter: str, final: str) -> LinkResult:
    path, line = where.split(":")
    return LinkResult(Link(url, "text", Location(path, int(line)), chapter), url, status, code, reason, final)


@pytest.fixture
def sample() -> list[LinkResult]:
    """One link of each verdict over two chapters, built without a server."""
    moved, gone = "permanent redirect: use https://c.example/", "HTTP 404 Not Found"
    return [
        made("https://a.example/", Status.OK, 200, "", "chapters/03-x.md:7", "x", "https://a.example/"),
        made("https://b.example/", Status.BROKEN, 404, gone, "chapters/03-x.md:42", "x", "https://b.example/"),
        made("http://c.example/", Status.WARNING, 200, moved, "chapters/01-y.md:3", "y", "https://c.example/"),
        made("https://d.example/", Status.SKIPPED, None, "excluded by links.exclude", "chapters/01-y.md:9", "y", ""),
    ]


def test_text_report(sample):
    text = render_report(sample, "text")
    assert text.splitlines() == [
        "chapters/03-x.md:42: error: https://b.example/ — HTTP 404 Not Found",
        "chapters/01-y.md:3: warning: http://c.example/ — permanent redirect: use https://c.example/",
        "4 links: 1 ok, 1 warning, 1 broken, 1 skipped",
    ]


def test_json_report(sample):
    data = json.loads(render_report(sample, "json"))
    assert data["summary"] == {"total": 4, "ok": 1, "warning": 1, "broken": 1, "skipped": 1}
    keys = {"url", "file", "line", "chapter", "status", "code", "reason", "final_url"}
    assert all(set(entry) == keys for entry in data["links"])
    assert [(e["file"], e["line"]) for e in data["links"]] == [
        ("chapters/03-x.md", 7),
        ("chapters/03-x.md", 42),
        ("chapters/01-y.md", 3),
        ("chapters/01-y.md", 9),
    ]
    assert data["links"][1] == {
        "url": "https://b.example/",
        "file": "chapters/03-x.md",
        "line": 42,
        "chapter": "x",
        "status": "broken",
        "code": 404,
        "reason": "HTTP 404 Not Found",
        "final_url": "https://b.example/",
    }


def test_junit_report(sample):
    root = etree.fromstring(render_report(sample, "junit").encode())
    assert root.tag == "testsuites" and root.get("tests") == "4" and root.get("failures") == "1"
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["x", "y"]
    cases = root.findall(".//testcase")
    assert len(cases) == 4
    failure = root.find(".//testcase/failure")
    assert failure is not None and failure.get("message") == "HTTP 404 Not Found"
    assert root.find(".//testcase/skipped").get("message") == "excluded by links.exclude"
    assert "permanent redirect" in root.find(".//testcase/system-out").text


def test_markdown_report(sample):
    markdown = render_report(sample, "markdown")
    assert "### x (`chapters/03-x.md`)" in markdown and "### y (`chapters/01-y.md`)" in markdown
    assert "| chapters/03-x.md:42 | https://b.example/ | **broken** | 404 | HTTP 404 Not Found |  |" in markdown
    assert markdown.count("| Location | URL | Verdict | HTTP | Reason | Final URL |") == 2


def test_unknown_report_format(sample):
    with pytest.raises(ValueError, match="unknown link report format"):
        render_report(sample, "html")


def test_exit_code(sample):
    assert exit_code(sample) == 1
    assert exit_code([r for r in sample if r.status is not Status.BROKEN]) == 0
    assert exit_code([]) == 0
