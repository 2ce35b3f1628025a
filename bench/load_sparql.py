"""Latency of the library queries (in-process and over HTTP) and a bounded loopback load run.

    .venv/bin/python bench/load_sparql.py [--dist dist] [--duration 10] [--concurrency 4] [--repeat 20]

Starts `pledgegraph serve` on a free loopback port in a subprocess, then:
  1. median latency of every queries/*.rq answered in-process (store loaded once, as `query` does
     after its load) and over HTTP (one keep-alive connection, JSON results);
  2. requests/second for a simple SELECT from `--concurrency` client processes for `--duration`
     seconds, with p50/p99 latency and the count of failed requests.
Not a test: run it by hand on a quiet machine and copy the figures into README.md.
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SIMPLE = "SELECT ?pledge ?to WHERE { ?pledge pg:pledgedTo ?to }"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(port: int, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"server did not start on port {port}")


def get(conn: http.client.HTTPConnection, query: str) -> tuple[int, bytes]:
    conn.request(
        "GET",
        "/sparql?" + urllib.parse.urlencode({"query": query}),
        headers={"Accept": "application/sparql-results+json, text/turtle;q=0.9"},
    )
    response = conn.getresponse()
    return response.status, response.read()


def median_ms(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def client(port: int, deadline: float, results) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    latencies, failures = [], 0
    while time.monotonic() < deadline:
        start = time.perf_counter()
        try:
            status, _ = get(conn, SIMPLE)
            failures += status != 200
        except (OSError, http.client.HTTPException):
            failures += 1
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        latencies.append(time.perf_counter() - start)
    results.put((latencies, failures))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dist", type=Path, default=ROOT / "dist")
    parser.add_argument("--queries", type=Path, default=ROOT / "queries")
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT / "src"))
    from pledgegraph.delivery.endpoint import store

    loaded = store.load(args.dist)
    library = store.examples(args.queries)
    port = free_port()
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "pledgegraph"),
            "serve",
            "--port",
            str(port),
            "--workers",
            str(args.workers),
            "--dist",
            str(args.dist),
        ],
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
    )
    try:
        wait_for(port)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        print(f"{len(loaded.store)} quads; {len(library)} library queries; median of {args.repeat} runs each")
        print(f"{'query':40} {'in-process ms':>14} {'HTTP ms':>9}")
        local_all, http_all = [], []
        for example in library:
            query = store.check_query(example.text, loaded.graph_iris)
            fmt = "turtle" if query.graph_result else "json"
            local = median_ms(lambda query=query, fmt=fmt: store.execute(loaded, query).serialize(fmt), args.repeat)
            remote = median_ms(lambda text=example.text: get(conn, text), args.repeat)
            local_all.append(local)
            http_all.append(remote)
            print(f"{example.name:40} {local:14.2f} {remote:9.2f}")
        print(f"{'median over the library':40} {statistics.median(local_all):14.2f} {statistics.median(http_all):9.2f}")
        start = time.perf_counter()
        subprocess.run(
            [
                str(Path(sys.executable).parent / "pledgegraph"),
                "query",
                "--dist",
                str(args.dist),
                "--format",
                "json",
                SIMPLE,
            ],
            check=True,
            capture_output=True,
            cwd=ROOT,
        )
        print(f"one `pledgegraph query` command, start to exit: {(time.perf_counter() - start) * 1000:.0f} ms")
        conn.close()

        results = multiprocessing.Queue()
        deadline = time.monotonic() + args.duration
        clients = [
            multiprocessing.Process(target=client, args=(port, deadline, results)) for _ in range(args.concurrency)
        ]
        for c in clients:
            c.start()
        gathered = [results.get() for _ in clients]
        for c in clients:
            c.join()
        latencies = sorted(t for lat, _ in gathered for t in lat)
        failures = sum(f for _, f in gathered)
        print(
            f"load: {len(latencies)} requests in {args.duration:g} s from {args.concurrency} clients "
            f"({args.workers} query workers, {os.cpu_count()} CPUs): {len(latencies) / args.duration:.0f} req/s, "
            f"p50 {latencies[len(latencies) // 2] * 1000:.1f} ms, "
            f"p99 {latencies[int(len(latencies) * 0.99)] * 1000:.1f} ms, "
            f"{failures} failed"
        )
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
