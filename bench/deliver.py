"""What comes after the build, measured on one bench size: `publish`, `push` into Virtuoso, `serve`.

`python -m bench.deliver DIST WORK [--release RELEASE]` (the runner calls `measure(dist, work, timeout)`):
- publish: `pledgegraph publish` of DIST as a fresh process (wall, CPU, peak memory, per entity), unless
  `--release` names one already published from DIST (push and serve measured alone);
- push: when Virtuoso is installed, the test suite's throwaway Virtuoso (scripts/virtuoso.sh, loopback)
  is started and the release pushed into it, in bulk (the store reads files written into its folder)
  and then over HTTP as to a remote store (`push` reports the load-and-swap seconds; triples/s);
- serve: `pledgegraph serve` on a free loopback port: start-up (until /sparql answers, and until an
  entity page does: the server loads its own store after the workers'), then every
  library query's text over HTTP, alternating with the same text on Virtuoso on the same release
  (parameters as VALUES, as serve binds them; the shipped records the library names replaced by the generated
  ones standing in for them, `generate.STAND_INS`), p50 and p99 of REPEAT runs each, their geometric means, the
  rows of each answer, and requests/s with 4 clients for a cheap and a heavy query. serve keeps answers
  (`workers._Answers`), so each query's first answer, the cold one a worker computes, is reported beside its p50
  (`first_ms`), and the p50 of the same text made unique per repetition by a comment (`computed`: no kept
  answer, as Virtuoso).
Every process it starts (serve, Virtuoso) is stopped before it returns.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Callable

from .process import timed_process

ROOT = Path(__file__).resolve().parent.parent
REPEAT = 20
CLIENTS = 4
THROUGHPUT_SECONDS = 3.0
BASE = "https://w3id.org/pledgegraph/"
CHEAP, HEAVY = "cq02-acceptance-and-province", "cq08-single-source-and-disagreements"  # for requests/s


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, accept: str = "application/sparql-results+json, text/turtle;q=0.9", timeout: float = 60) -> bytes:
    with urllib.request.urlopen(urllib.request.Request(url, headers={"Accept": accept}), timeout=timeout) as r:
        return r.read()


def _timed_get(url: str) -> float:
    start = time.perf_counter()
    _get(url)
    return time.perf_counter() - start


def publish_median(dist: Path, work: Path, timeout: float, runs: int) -> dict:
    """`publish` run `runs` times (each a fresh release folder), the median run's figures: as `build` and the
    floor are timed (one run of 0.7 s at 10k varied by a tenth on this shared machine)."""
    measured = [publish(dist, work, timeout) for _ in range(max(1, runs))]
    if any("wall" not in m for m in measured):
        return next(m for m in measured if "wall" not in m)
    median = sorted(measured, key=lambda m: m["wall"])[len(measured) // 2]
    return {**median, "runs": len(measured), "walls": [m["wall"] for m in measured]}


def publish(dist: Path, work: Path, timeout: float) -> dict:
    """`pledgegraph publish` into `work/site`, timed. An earlier bench's site is set aside, to be deleted by
    `discard_earlier_sites()` once nothing more is timed: this machine's ext4 has no journal, and without one
    the kernel's inode allocator skips every inode freed in the last 1 to 6 minutes (`recently_deleted` in
    fs/ext4/ialloc.c: 60 s, 360 s while its inode table block is dirty) with a lookup each, so a release
    written within minutes of deleting another (77,000 files at 1M; 7,700 at 100k, deleted before the 1M's
    publish in the same run) paid seconds of system time for the bench's own clean-up, not for publishing."""
    out = work / "site"
    _wait_after_deletion()
    _SET_ASIDE_IN.add(work)
    if out.exists():
        out.rename(work / f"site.earlier-{time.time_ns()}")
    ran = timed_process(
        [sys.executable, "-m", "pledgegraph", "publish", str(out), "--dist", str(dist)], timeout, cwd=ROOT
    )
    if ran is None:
        return {"timed_out": timeout}
    if ran.code != 0:
        raise RuntimeError(f"publish failed:\n{ran.err.decode()[-2000:]}")
    entities = int(ran.out.decode().split(" triples, ")[1].split(" entities")[0].replace(",", ""))
    return {
        "wall": ran.wall,
        "cpu": ran.cpu,
        "system": ran.system,
        "faults": ran.faults,
        "peak_mb": ran.peak_mb,
        "entities": entities,
        "release": str(out / "latest"),
    }


class _Virtuoso:
    """The test suite's throwaway Virtuoso on loopback ports (scripts/virtuoso.sh)."""

    def __init__(self, work: Path, release: Path):
        self.env = {
            **os.environ,
            "VIRTUOSO_DIR": str(work / "virtuoso"),
            "VIRTUOSO_SQL_PORT": str(_free_port()),
            "VIRTUOSO_HTTP_PORT": str(_free_port()),
            "VIRTUOSO_TIMEOUT": "120",
            "VIRTUOSO_DIRS_ALLOWED": str(release.resolve()),
            "VIRTUOSO_BUFFERS": "100000",  # 800 MB of cache: a million-triple release fits
            "VIRTUOSO_QUERY_SECONDS": "600",  # a push's swap is one request, one transaction
        }
        self.url = f"http://127.0.0.1:{self.env['VIRTUOSO_HTTP_PORT']}"
        self.script = str(ROOT / "scripts" / "virtuoso.sh")

    def __enter__(self):
        subprocess.run([self.script, "start"], env=self.env, check=True, capture_output=True, timeout=180)
        return self

    def __exit__(self, *exc):
        subprocess.run([self.script, "stop"], env=self.env, capture_output=True, timeout=60)


def push(virtuoso: _Virtuoso, release: Path, graph: str) -> dict:
    from pledgegraph.delivery.push import Store
    from pledgegraph.delivery.push import push as push_release

    os.environ.setdefault("PLEDGEGRAPH_STORE_USER", "dba")
    os.environ.setdefault("PLEDGEGRAPH_STORE_PASSWORD", "dba")
    store = Store(
        virtuoso.url + "/sparql-auth",
        graph_store=virtuoso.url + "/sparql-graph-crud-auth",
        query=virtuoso.url + "/sparql",
        timeout=600,
    )
    out: dict = {}
    for load, into in (("bulk", graph), ("http", graph + "/over-http")):  # each into an empty graph
        start = time.perf_counter()
        pushed = push_release(store, release, graph=into, load=load)
        wall = time.perf_counter() - start
        out[load] = {"load_and_swap": pushed.seconds, "wall": round(wall, 3), "steps": pushed.steps}
        out[load]["triples_per_s"] = round(pushed.triples / pushed.seconds)
        out["triples"] = pushed.triples
    store.run_update(f"DROP SILENT GRAPH <{graph}/over-http>")  # serve is compared on one copy
    return {**out, **out["bulk"]}  # the headline figures: the bulk load's, `push`'s choice on this machine


def _library() -> list[tuple[str, str]]:
    """(name, the text serve and Virtuoso get: prefixes said, parameters bound at their defaults as VALUES), the
    shipped records it names replaced by the generated records that stand in for them (`STAND_INS`)."""
    from pledgegraph.delivery.endpoint import store
    from pledgegraph.model.iris import ref_iri
    from pledgegraph.model.vocab import sparql_prologue

    from .generate import STAND_INS

    library = []
    for example in store.examples(ROOT / "queries"):
        text = store.bound_text(sparql_prologue() + example.text, store.bindings(example, []))
        for shipped, generated in STAND_INS.items():
            text = text.replace(f"<{ref_iri(BASE, shipped)}>", f"<{ref_iri(BASE, generated)}>")
        library.append((example.name, text))
    return library


def _rows(body: bytes) -> int:
    """The rows (or triples) of an answer in SPARQL JSON or Turtle; an ASK's true counts as one."""
    import pyoxigraph as ox

    if body.lstrip().startswith(b"{"):
        answer = json.loads(body)
        return len(answer["results"]["bindings"]) if "results" in answer else int(bool(answer.get("boolean")))
    return sum(1 for _ in ox.parse(body, format=ox.RdfFormat.TURTLE))


def _summary(seconds: list[float]) -> dict:
    ordered = sorted(seconds)
    return {
        "first_ms": round(seconds[0] * 1000, 2),  # the cold answer: nothing kept yet
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p99_ms": round(ordered[min(len(ordered) - 1, math.ceil(0.99 * len(ordered)) - 1)] * 1000, 2),
    }


def _geomean(values: list[float]) -> float | None:
    values = [v for v in values if v and v > 0]
    return round(math.exp(sum(math.log(v) for v in values) / len(values)), 2) if values else None


def _throughput(url: str) -> dict:
    """Answers a second to CLIENTS clients asking `url` over and over for THROUGHPUT_SECONDS, and how many requests
    serve turned away (503, "too many at once", or 429): a client so turned away waits the Retry-After it was
    given, as a stock client does, and goes on."""
    counts, stop = {"answered": 0, "turned_away": 0}, time.perf_counter() + THROUGHPUT_SECONDS
    lock = threading.Lock()

    def client():
        while time.perf_counter() < stop:
            try:
                _get(url)
                outcome = "answered"
            except urllib.error.HTTPError as e:
                if e.code not in (429, 503):
                    raise
                outcome = "turned_away"
                time.sleep(float(e.headers.get("Retry-After") or 1))
            with lock:
                counts[outcome] += 1

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"per_s": round(counts["answered"] / (time.perf_counter() - start), 1), **counts}


def _alternating(url_ours: str, url_theirs: str | None, computed: Callable[[int], str] | None = None) -> dict:
    """p50 and p99 of REPEAT requests to serve and to Virtuoso, alternating so both see the same machine load.
    With `computed` (repetition -> a URL asking serve the query's text with a comment unique to that repetition),
    serve is asked that too: it keeps answers by request text, so those are computed every time, as Virtuoso's."""
    times_ours: list[float] = []
    times_computed: list[float] = []
    times_theirs: list[float] = []
    for repetition in range(REPEAT):
        try:
            times_ours.append(_timed_get(url_ours))
            if computed is not None:
                times_computed.append(_timed_get(computed(repetition)))
        except urllib.error.HTTPError as e:  # e.g. 422: more rows than serve's cap (10,000) at 1M
            return {"serve": {"status": e.code}, "virtuoso": None}
        if url_theirs:
            try:
                times_theirs.append(_timed_get(url_theirs))
            except OSError:
                url_theirs = None  # Virtuoso refused or failed this query: no figure for it
                times_theirs = []
    out = {"serve": _summary(times_ours), "virtuoso": _summary(times_theirs) if times_theirs else None}
    if times_computed:
        out["computed"] = _summary(times_computed)
    return out


def serve(dist: Path, virtuoso: _Virtuoso | None, graph: str) -> dict:
    port = _free_port()
    ours = f"http://127.0.0.1:{port}/sparql"
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "pledgegraph", "serve", "--dist", str(dist), "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        while True:
            try:
                _get(ours + "?" + urllib.parse.urlencode({"query": "ASK {}"}), timeout=5)
                break
            except OSError:
                if proc.poll() is not None or time.perf_counter() - start > 300:
                    raise RuntimeError("pledgegraph serve did not start") from None
                time.sleep(0.1)
        startup = time.perf_counter() - start
        # an entity page answers once the server's own store is loaded (after the workers': start-up)
        first = "SELECT ?e WHERE { ?e a pg:Organization } ORDER BY ?e LIMIT 1"
        entity = json.loads(_get(ours + "?" + urllib.parse.urlencode({"query": first})))
        _get(
            entity["results"]["bindings"][0]["e"]["value"].replace(BASE, f"http://127.0.0.1:{port}/") + ".ttl",
            timeout=600,
        )
        startup_entities = time.perf_counter() - start

        def theirs(text: str) -> str | None:
            if not virtuoso:
                return None
            return virtuoso.url + "/sparql?" + urllib.parse.urlencode({"query": text, "default-graph-uri": graph})

        # the cost of a request itself: a query with nothing to look up, over a new connection as below
        ask = _alternating(ours + "?" + urllib.parse.urlencode({"query": "ASK {}"}), theirs("ASK {}"))

        def computed(text: str) -> Callable[[int], str]:
            return lambda k: ours + "?" + urllib.parse.urlencode({"query": f"{text}\n# bench repetition {k}"})

        queries, texts = {}, dict(_library())
        for name, text in texts.items():
            asked = ours + "?" + urllib.parse.urlencode({"query": text})
            queries[name] = _alternating(asked, theirs(text), computed(text))
            if "p50_ms" in queries[name]["serve"]:
                queries[name]["rows"] = _rows(_get(asked))
        answered_rows = [q["rows"] for q in queries.values() if "rows" in q]
        answered = [q for q in queries.values() if "p50_ms" in q["serve"]]
        both = [q for q in answered if q["virtuoso"]]
        competency = [
            q["computed"]["p50_ms"] for name, q in queries.items() if name.startswith("cq") and "computed" in q
        ]
        result = {
            "startup": round(startup, 3),
            "startup_entities": round(startup_entities, 3),
            "ask": ask,
            "queries": queries,
            "nonempty": sum(1 for rows in answered_rows if rows),
            "rows": sum(answered_rows),
            "geomean_p50_ms": _geomean([q["serve"]["p50_ms"] for q in answered]),
            "max_p50_ms": max(q["serve"]["p50_ms"] for q in answered),
            "geomean_first_ms": _geomean([q["serve"]["first_ms"] for q in answered]),
            "max_first_ms": max(q["serve"]["first_ms"] for q in answered),
            "geomean_p99_ms": _geomean([q["serve"]["p99_ms"] for q in answered]),
            "refused": {name: q["serve"]["status"] for name, q in queries.items() if "status" in q["serve"]},
            "compared": len(both),
            "geomean_p50_ms_both": _geomean([q["serve"]["p50_ms"] for q in both]),
            "virtuoso_geomean_p50_ms": _geomean([q["virtuoso"]["p50_ms"] for q in both]),
            # cold against cold: serve's first answers (nothing kept yet) and Virtuoso's first run of the same text
            "geomean_first_ms_both": _geomean([q["serve"]["first_ms"] for q in both]),
            # computed every time (no kept answer), like for like with Virtuoso, which keeps none
            "geomean_computed_ms": _geomean([q["computed"]["p50_ms"] for q in answered]),
            "max_computed_ms": max(q["computed"]["p50_ms"] for q in answered),
            "max_computed_competency_ms": max(competency) if competency else None,
            "geomean_computed_ms_both": _geomean([q["computed"]["p50_ms"] for q in both]),
            "virtuoso_geomean_first_ms": _geomean([q["virtuoso"]["first_ms"] for q in both]),
            "throughput_cheap": _throughput(ours + "?" + urllib.parse.urlencode({"query": texts[CHEAP]})),
            "throughput_heavy": _throughput(ours + "?" + urllib.parse.urlencode({"query": texts[HEAVY]})),
        }
        return result
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


_SET_ASIDE_IN: set[Path] = set()  # the folders where `publish` sets earlier sites aside


# when a bench last deleted its earlier sites: the kernel's penalty for recently freed inodes (`publish`'s note)
# lasts up to six minutes and is felt anywhere on the file system, so a bench started right after another waits
_DELETED_AT = Path(tempfile.gettempdir()) / "pledgegraph-bench-sites-deleted-at"
_RECENTLY_DELETED_SECONDS = 360


def _wait_after_deletion() -> None:
    try:
        left = float(_DELETED_AT.read_text()) + _RECENTLY_DELETED_SECONDS - time.time()
    except (OSError, ValueError):
        return
    if left > 0:
        print(f"waiting {left:.0f} s: a bench deleted its sites lately (see bench/deliver.py)", file=sys.stderr)
        time.sleep(left)


def discard_earlier_sites() -> None:
    """Delete the sites `publish` set aside (and any a stopped bench left there): once nothing more is timed."""
    deleted = 0
    for work in sorted(_SET_ASIDE_IN):
        for aside in work.glob("site.earlier*"):
            deleted += sum(len(files) for _, _, files in os.walk(aside))
            shutil.rmtree(aside, ignore_errors=True)
    _SET_ASIDE_IN.clear()
    if deleted >= 10_000:  # a 100k site's files and more: the penalty is one lookup per freed inode
        _DELETED_AT.write_text(str(time.time()))


def measure(
    dist: Path, work: Path, timeout: float, virtuoso: bool = True, release: Path | None = None, runs: int = 1
) -> dict:
    """Publish DIST `runs` times (unless `release`, a release already published from it, is given), push, serve."""
    work.mkdir(parents=True, exist_ok=True)
    out: dict = {"publish": publish_median(dist, work, timeout, runs) if release is None else {"release": str(release)}}
    if "release" not in out["publish"]:
        return out
    release = Path(out["publish"]["release"]).resolve()
    graph = BASE + "graph/release/bench"
    if virtuoso and shutil.which("virtuoso-t"):
        with _Virtuoso(work, release) as store:
            try:
                out["push"] = push(store, release, graph)
            except Exception as e:  # serve is still compared on what the bulk load put in (push's own tests judge it)
                out["push"] = {"error": str(e)[:500]}
            out["serve"] = serve(dist, store, graph)
    else:
        out["serve"] = serve(dist, None, graph)
    return out


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dist", type=Path, help="a build's output")
    parser.add_argument("work", type=Path, help="a folder for the release, Virtuoso's files")
    parser.add_argument("--release", type=Path, help="a release already published from DIST: publish is not run")
    a = parser.parse_args()
    try:
        print(json.dumps(measure(a.dist, a.work, 3600, release=a.release), indent=1))
    finally:
        discard_earlier_sites()
