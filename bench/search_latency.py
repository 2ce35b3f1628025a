"""Name search latency in-process, at a bench size (default 1m: ~1M triples, 2,100 organizations).

`python -m bench.search_latency [--size 1m] [--work DIR] [--queries 300]` generates the synthetic data
(bench/generate.py) if missing, builds and reasons it, writes the name index as `build` does, loads it
as `search` does, then times `Index.search` on queries drawn from the index's own names: exact
names, names with one letter changed, dropped or doubled (typos), and names in Cyrillic and Arabic
script as generated. Prints one JSON object (sizes, timings, latency percentiles in ms, top-hit rate).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import time
from itertools import chain
from pathlib import Path

from bench.generate import SIZES

ROOT = Path(__file__).resolve().parent.parent


def typo(name: str, rng: random.Random) -> str:
    """`name` with one letter changed, dropped or doubled (never the first letter)."""
    letters = [i for i, c in enumerate(name) if c.isalpha() and i > 0]
    if not letters:
        return name
    i = rng.choice(letters)
    edit = rng.choice(["change", "drop", "double"])
    if edit == "change":
        return name[:i] + rng.choice("aeiouklmnrst") + name[i + 1 :]
    if edit == "drop":
        return name[:i] + name[i + 1 :]
    return name[:i] + name[i] + name[i:]


def index_for(data: Path, out: Path) -> tuple[Path, dict]:
    from pledgegraph.delivery.search import INDEX_FILE, index_bytes
    from pledgegraph.layout import Settings
    from pledgegraph.stages.build import build
    from pledgegraph.stages.load import load, load_vocabulary
    from pledgegraph.stages.reason import reason

    s = Settings(data_dir=data, ontology_dir=ROOT / "ontology", shapes_dir=ROOT / "shapes", out_dir=out)
    timings = {}
    start = time.perf_counter()
    built = build(load(s.data_dir, load_vocabulary(s.vocabulary_file)), s.base)
    inferred = reason(built, s.ontology_files)
    timings["load, build, reason (s)"] = round(time.perf_counter() - start, 1)
    start = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    (out / INDEX_FILE).write_bytes(index_bytes(chain(built.lines, inferred.lines), s.base))
    timings["write the index (s)"] = round(time.perf_counter() - start, 2)
    timings["triples"] = len(built) + len(inferred)
    return out, timings


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", default="1m", choices=sorted(SIZES))
    p.add_argument("--work", type=Path, default=ROOT / "bench" / ".data")
    p.add_argument("--queries", type=int, default=300)
    p.add_argument("--seed", type=int, default=23)
    a = p.parse_args(argv)
    data = a.work / f"search-{a.size}" / "data"
    if not data.is_dir():
        subprocess.run(
            [sys.executable, "-m", "bench.generate", str(data), "--orgs", str(SIZES[a.size])],
            check=True,
            cwd=ROOT,
            stdout=sys.stderr,
        )
    dist, figures = index_for(data, data.parent / "dist")

    from pledgegraph.delivery.search import INDEX_FILE, Index

    start = time.perf_counter()
    index = Index.load(dist)
    figures["load the index (s)"] = round(time.perf_counter() - start, 2)
    figures.update(
        {"index bytes": (dist / INDEX_FILE).stat().st_size, "entities": len(index.entities), "names": len(index.names)}
    )
    rng = random.Random(a.seed)
    picks = rng.sample(range(len(index.names)), min(a.queries, len(index.names)))
    queries = []
    for n, i in enumerate(picks):
        name = index.names[i]
        queries.append(
            (
                typo(name, rng) if n % 3 == 1 else name,
                index.entities[index.owner[i]].iri,
                "typo" if n % 3 == 1 else "exact",
            )
        )
    index.search("warm up")
    latencies, top = [], {"exact": [0, 0], "typo": [0, 0]}
    for text, expected, sort in queries:
        start = time.perf_counter()
        hits = index.search(text)
        latencies.append((time.perf_counter() - start) * 1000)
        top[sort][0] += bool(hits) and hits[0].entity.iri == expected
        top[sort][1] += 1
    latencies.sort()
    figures.update(
        {
            "queries": len(queries),
            "latency ms median": round(statistics.median(latencies), 2),
            "latency ms p95": round(latencies[int(0.95 * (len(latencies) - 1))], 2),
            "latency ms max": round(latencies[-1], 2),
            # Synthetic names are built from 24 syllables, so many entities share a name: the top hit is
            # often another entity with the same name. Reported, not a target.
            "top hit is the entity (exact)": f"{top['exact'][0]}/{top['exact'][1]}",
            "top hit is the entity (typo)": f"{top['typo'][0]}/{top['typo'][1]}",
        }
    )
    print(json.dumps(figures, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
