"""Loopback HTTP/1.1 servers with injected latency, for the link-check benchmark.

    python server.py --hosts 20 --latency 0.1

listens on 127.0.0.2 ... 127.0.0.21 (one port, printed as "ready <port>"),
answers every request with 200 and a small HTML page after `latency` seconds,
keeps connections alive, and serves GET /__stats with the counts of requests and connections so the
benchmark can prove that a cached run makes no requests.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket

BODY = b"<!doctype html><title>bench</title>" + b"<p>lorem ipsum dolor sit amet</p>" * 60


class Server:
    def __init__(self, latency: float) -> None:
        self.latency = latency
        self.requests = 0
        self.connections = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                method, path, _ = head.split(b"\r\n", 1)[0].decode().split(" ", 2)
                keep_alive = b"connection: close" not in head.lower()
                writer.write(await self.respond(method, path, keep_alive))
                await writer.drain()
                if not keep_alive:
                    break
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            pass
        finally:
            writer.close()

    async def respond(self, method: str, path: str, keep_alive: bool) -> bytes:
        if path == "/__stats":
            body = json.dumps({"requests": self.requests, "connections": self.connections}).encode()
        else:
            self.requests += 1
            await asyncio.sleep(self.latency)
            body = BODY
        head = (
            "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
            f"Content-Length: {len(body)}\r\nConnection: {'keep-alive' if keep_alive else 'close'}\r\n\r\n"
        ).encode()
        return head if method == "HEAD" else head + body


def free_port(address: str) -> int:
    with socket.socket() as probe:
        probe.bind((address, 0))
        return int(probe.getsockname()[1])


async def serve(hosts: int, latency: float) -> None:
    server = Server(latency)
    addresses = [f"127.0.0.{2 + n}" for n in range(hosts)]
    port = free_port(addresses[0])
    listeners = [await asyncio.start_server(server.handle, address, port, backlog=1024) for address in addresses]
    print(f"ready {port}", flush=True)
    await asyncio.gather(*(listener.serve_forever() for listener in listeners))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=20)
    parser.add_argument("--latency", type=float, default=0.1, help="seconds before each response")
    args = parser.parse_args()
    asyncio.run(serve(args.hosts, args.latency))


if __name__ == "__main__":
    main()
