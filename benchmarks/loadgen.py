"""The load generator: many HTTP/1.1 keep-alive connections from one asyncio process.

Run as a SECOND process so that it does not share a core's interpreter with the server::

    python -m benchmarks.loadgen --port 8787 --payload native --batch 500 --connections 16 --duration 10

It builds its bodies first (distinct event ids, off the clock), prints ``READY``, waits for a
line on stdin (``GO``; the caller samples the server's CPU counters in between), runs for
``--duration`` seconds and prints one JSON line of results.

* closed loop (default): each connection sends its next request when the last one is answered.
* open loop (``--rate R``): requests are started at R per second regardless of answers, on up
  to ``--connections`` connections; latency counts from the scheduled start, so queueing in
  the client shows. Used to overload the collector on purpose.

Raw HTTP/1.1 over asyncio streams (no client library), so the client costs little CPU per
request: the bodies are prebuilt bytes and a response is one header block and a sized body.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import Counter


class Stats:
    def __init__(self) -> None:
        self.statuses: Counter[int] = Counter()
        self.errors = 0
        self.latencies: list[float] = []
        self.ok_at: list[float] = []  # completion times of 2xx answers
        self.client_dropped = 0


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length = 0
    close = False
    chunked = False
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"connection" and value.strip().lower() == b"close":
            close = True
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if chunked:
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip(), 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length:
        await reader.readexactly(length)
    return status, close


class Connection:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, head: bytes, body: bytes) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        try:
            self.writer.write(head)
            self.writer.write(body)
            await self.writer.drain()
            status, close = await _read_response(self.reader)
        except (OSError, asyncio.IncompleteReadError, ValueError):
            self.close()
            raise
        if close:
            self.close()
        return status

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


def _heads(bodies: list[bytes], host: str, port: int, path: str, content_type: str) -> list[bytes]:
    return [
        (
            f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        for body in bodies
    ]


async def closed_loop(
    host: str, port: int, heads: list[bytes], bodies: list[bytes], connections: int, duration: float, stats: Stats
) -> float:
    start = time.monotonic()
    end = start + duration
    counter = iter(range(10**12))

    async def worker(offset: int) -> None:
        conn = Connection(host, port)
        while time.monotonic() < end:
            i = (next(counter) + offset) % len(bodies)
            t0 = time.monotonic()
            try:
                status = await conn.request(heads[i], bodies[i])
            except (OSError, asyncio.IncompleteReadError, ValueError):
                stats.errors += 1
                await asyncio.sleep(0.05)
                continue
            t1 = time.monotonic()
            stats.statuses[status] += 1
            if 200 <= status < 300:
                stats.latencies.append(t1 - t0)
                stats.ok_at.append(t1 - start)
            elif status in (429, 503):
                await asyncio.sleep(0.1)
        conn.close()

    await asyncio.gather(*(worker(k) for k in range(connections)))
    return time.monotonic() - start


async def open_loop(
    host: str,
    port: int,
    heads: list[bytes],
    bodies: list[bytes],
    connections: int,
    duration: float,
    rate: float,
    stats: Stats,
) -> float:
    queue: asyncio.Queue[float] = asyncio.Queue(maxsize=max(1000, int(rate * 5)))
    start = time.monotonic()
    end = start + duration
    done = asyncio.Event()

    async def schedule() -> None:
        n = 0
        while True:
            due = start + n / rate
            if due >= end:
                break
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            try:
                queue.put_nowait(due)
            except asyncio.QueueFull:
                stats.client_dropped += 1
            n += 1
        done.set()

    counter = iter(range(10**12))

    async def worker() -> None:
        conn = Connection(host, port)
        while not (done.is_set() and queue.empty()):
            try:
                due = await asyncio.wait_for(queue.get(), 0.2)
            except TimeoutError:
                continue
            if time.monotonic() > end + 10:  # do not drain a huge backlog after the end
                stats.client_dropped += 1
                continue
            i = next(counter) % len(bodies)
            try:
                status = await conn.request(heads[i], bodies[i])
            except (OSError, asyncio.IncompleteReadError, ValueError):
                stats.errors += 1
                continue
            t1 = time.monotonic()
            stats.statuses[status] += 1
            if 200 <= status < 300:
                stats.latencies.append(t1 - due)
                stats.ok_at.append(t1 - start)
        conn.close()

    await asyncio.gather(schedule(), *(worker() for _ in range(connections)))
    return time.monotonic() - start


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.loadgen")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--payload", default="native", choices=("native", "otlp-protobuf", "otlp-json"))
    parser.add_argument("--batch", type=int, default=500, help="events (log records) per request")
    parser.add_argument("--distinct", type=int, default=32, help="distinct bodies, cycled")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=None, help="requests/s (open loop)")
    parser.add_argument("--no-wait", action="store_true", help="start without waiting for GO")
    args = parser.parse_args(argv)

    from benchmarks.common import bodies_for

    bodies, path, content_type = bodies_for(args.payload, args.distinct, args.batch)
    heads = _heads(bodies, args.host, args.port, path, content_type)
    print("READY", flush=True)
    if not args.no_wait:
        sys.stdin.readline()
    stats = Stats()
    if args.rate:
        elapsed = asyncio.run(
            open_loop(args.host, args.port, heads, bodies, args.connections, args.duration, args.rate, stats)
        )
    else:
        elapsed = asyncio.run(closed_loop(args.host, args.port, heads, bodies, args.connections, args.duration, stats))
    ok = sum(n for status, n in stats.statuses.items() if 200 <= status < 300)
    per_second = Counter(int(t) for t in stats.ok_at)
    print(
        json.dumps(
            {
                "elapsed_s": elapsed,
                "requests_2xx": ok,
                "events_2xx": ok * args.batch,
                "statuses": {str(k): v for k, v in sorted(stats.statuses.items())},
                "errors": stats.errors,
                "client_dropped": stats.client_dropped,
                "latency_p50_s": _pct(stats.latencies, 50),
                "latency_p99_s": _pct(stats.latencies, 99),
                "ok_per_second": [per_second.get(s, 0) for s in range(int(elapsed) + 1)],
                "body_bytes_mean": sum(map(len, bodies)) / len(bodies),
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
