"""External link checking (issue 4): http(s) and mailto links of the manuscript.

    policy = LinkPolicy.from_mapping(report.links)
    results = check_links(manuscript.links(), policy, cache_path=Path("build/.linkcache.json"))
    print(render_report(results, "text"), end="")
    sys.exit(exit_code(results))

Modules: policy (the `links:` settings), checker (all links, de-duplicated,
cached, mailto syntax), probe (http(s) URLs: per-host workers and limits;
HEAD/GET, redirects, retries, fragments), pools (an aiohttp session, so a
keep-alive pool, per host), cache (the JSON verdict cache), results (Status,
LinkResult) and report (text, json, junit and markdown output).
"""

from .checker import check_links
from .policy import LinkPolicy
from .report import exit_code, render_report
from .results import LinkResult, Status

__all__ = ["LinkPolicy", "LinkResult", "Status", "check_links", "exit_code", "render_report"]
