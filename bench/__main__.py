"""The benchmark: `python -m bench` (or `make bench`).

For each size it generates synthetic data (bench/generate.py), then measures, each in a fresh
process (wall time, and peak memory as the process's ru_maxrss), the median of --runs runs of:
- ours: every stage of the pipeline on its own, the competency queries, validating one record;
- the whole `pledgegraph build` (all outputs);
- the floor: libyaml's C loader + pyoxigraph bulk load + pyoxigraph serialization of the same triples;
- the naive baseline: pure-Python YAML, rdflib Graph.add, owlrl's closure, pySHACL, rdflib's
  serializers, each bounded by --naive-timeout (reported as "> N s").
It writes bench/results/results.{json,md}, prints the ratios, and with --readme puts the table in
docs/performance.md between the bench markers.
"""

from __future__ import annotations

import argparse
import compileall
import json
import multiprocessing as mp
import os
import statistics
import sys
from pathlib import Path

from . import deliver, publish_flat
from .generate import SIZES, generate
from .linkml_compare import compare, linkml_convert
from .process import start_launcher, timed_process

ROOT = Path(__file__).resolve().parent.parent
NAIVE_STEPS = ("yaml", "add", "owlrl", "pyshacl", "serialize")
WATCH_EDIT = "validate --watch: one record edited, lines added"
README_START, README_END = "<!-- bench:start -->", "<!-- bench:end -->"


def measure(args: list[str], timeout: float) -> dict | None:
    """Run `python -m bench.stage ARGS`; its timings, peak RSS (MB) and CPU seconds, or None on timeout."""
    ran = timed_process([sys.executable, "-m", "bench.stage", *args], timeout, cwd=ROOT)
    if ran is None:
        return None
    if ran.code != 0:
        raise RuntimeError(f"bench.stage {' '.join(args)} failed:\n{ran.err.decode()[-3000:]}")
    result = json.loads(ran.out.decode().strip().splitlines()[-1])
    result.update(process_wall=ran.wall, peak_mb=ran.peak_mb, cpu=ran.cpu)
    return result


def median_of(runs: list[dict]) -> dict:
    keys = runs[0]["timings"]
    return {
        "timings": {k: round(statistics.median(r["timings"][k] for r in runs), 3) for k in keys},
        "peak_mb": statistics.median(r["peak_mb"] for r in runs),
        "process_wall": round(statistics.median(r["process_wall"] for r in runs), 3),
        "cpu": round(statistics.median(r["cpu"] for r in runs), 3),
        **{k: runs[0][k] for k in ("triples", "inferred", "conforms") if k in runs[0]},
    }


def repeat(args: list[str], runs: int, timeout: float) -> dict | None:
    results = []
    for _ in range(runs):
        r = measure(args, timeout)
        if r is None:
            return None
        results.append(r)
    return median_of(results)


def alternate(first: list[str], second: list[str], runs: int, timeout: float) -> tuple[dict | None, dict | None]:
    """`first` and `second` run in turn, `runs` times each, their medians: the build and its floor are compared
    on the same minutes of this shared machine, whose speed drifts by a third within the hour."""
    results: list[list[dict] | None] = [[], []]  # None once a run of it timed out: it is not run again
    for _ in range(runs):
        for i, args in enumerate((first, second)):
            done = results[i]
            if done is not None:
                r = measure(args, timeout)
                results[i] = None if r is None else done + [r]
    first_median, second_median = (median_of(done) if done else None for done in results)
    return first_median, second_median


def prepare(size: str, work: Path, seed: int) -> tuple[Path, Path]:
    """Generate the data (once per size and seed) and the N-Triples the floor and baselines load.

    In a forked process: the measured commands are started from this one, and Linux carries a process's
    peak memory across `exec` into the command it starts, so this process must stay small (when it built
    the ~1m graph itself, every later command at that size reported its 1.5 GB as their own peak)."""
    data = work / f"{size}-seed{seed}" / "data"
    nt = data.parent / "graph.nt"
    if not nt.exists():
        child = mp.get_context("fork").Process(target=_prepare_files, args=(data, nt, SIZES[size], seed))
        child.start()
        child.join()
        if child.exitcode != 0:
            raise RuntimeError(f"preparing the {size} data failed (exit {child.exitcode})")
    return data, nt


def _prepare_files(data: Path, nt: Path, orgs: int, seed: int) -> None:
    generate(data, orgs, seed)
    from pledgegraph.stages.build import build
    from pledgegraph.stages.load import load, load_vocabulary

    dataset = load(data, load_vocabulary(ROOT / "ontology" / "vocabularies.ttl"))
    nt.write_bytes(build(dataset).ntriples())


def run_size(size: str, a) -> dict:
    data, nt = prepare(size, a.work, a.seed)
    out = {"size": size}
    print(f"[{size}] ours (stages)...", file=sys.stderr, flush=True)
    out["ours"] = repeat(["ours", str(data)], a.runs, a.timeout)
    print(f"[{size}] pledgegraph build and the floor, in turn...", file=sys.stderr, flush=True)
    out["build"], out["floor"] = alternate(
        ["build", str(data), str(data.parent / "dist")], ["floor", str(data), str(nt)], a.runs, a.timeout
    )
    if a.deliver:
        print(f"[{size}] publish, push, serve...", file=sys.stderr, flush=True)
        out["deliver"] = deliver.measure(
            data.parent / "dist", data.parent / "deliver", a.timeout, a.virtuoso, runs=a.runs
        )
    print(f"[{size}] validate --watch...", file=sys.stderr, flush=True)
    out["watch"] = repeat(["watch", str(data)], 1, a.timeout)
    out["naive"] = {}
    if size in a.naive_sizes:
        for step in a.naive_steps:
            print(f"[{size}] naive {step}...", file=sys.stderr, flush=True)
            out["naive"][step] = repeat([f"naive-{step}", str(data), str(nt)], a.naive_runs, a.naive_timeout)
    out["summary"] = summarize(out, a.naive_timeout)
    return out


def summarize(r: dict, naive_timeout: float) -> dict:
    build = r["build"]["process_wall"] if r["build"] else None
    floor = r["floor"]["process_wall"] if r["floor"] else None  # like `build`: start-up included
    naive, bounded = 0.0, False
    for m in r["naive"].values():
        if m is None:
            naive += naive_timeout
            bounded = True
        else:
            naive += sum(m["timings"].values())
    return {
        "triples": r["ours"]["triples"] if r["ours"] else None,
        "build_wall": build,
        "build_peak_mb": r["build"]["peak_mb"] if r["build"] else None,
        "floor": round(floor, 3) if floor else None,
        "build_over_floor": round(build / floor, 2) if build and floor else None,
        "naive": round(naive, 3) if r["naive"] else None,
        "naive_is_lower_bound": bounded,
        "naive_over_build": round(naive / build, 1) if build and r["naive"] else None,
        "validate_one_record": (r["watch"] or {}).get("timings", {}).get(WATCH_EDIT),
    }


def _s(x, bound=False) -> str:
    if x is None:
        return "–"
    return f"> {x:.1f} s" if bound else (f"{x:.2f} s" if x < 10 else f"{x:.1f} s")


def markdown(results: list[dict], a) -> str:
    sizes = [r["size"] for r in results]
    lines = [
        f"Median of {a.runs} runs (`build` and the floor in turn; `publish` {a.runs} times too; naive: {a.naive_runs}, "
        f"each step stopped at {a.naive_timeout:.0f} s), "
        f"wall time, each measurement a fresh process; machine: {os.cpu_count()} cores, shared.",
        "",
        "Naive: sum of its steps' own times (setup excluded), a lower bound of a naive pipeline.",
        "",
        "| | " + " | ".join(f"~{s}" for s in sizes) + " |",
        "|---|" + "---|" * len(sizes),
    ]

    def row(label, values):
        lines.append(f"| {label} | " + " | ".join(values) + " |")

    row("triples asserted", [f"{r['summary']['triples']:,}" if r["summary"]["triples"] else "–" for r in results])
    row("triples inferred", [f"{r['ours']['inferred']:,}" if r["ours"] else "–" for r in results])
    row("**`pledgegraph build`** (all outputs)", [f"**{_s(r['summary']['build_wall'])}**" for r in results])
    row(
        "peak memory of `build`",
        [f"{r['summary']['build_peak_mb']:.0f} MB" if r["summary"]["build_peak_mb"] else "–" for r in results],
    )
    row("floor process (libyaml + pyoxigraph load + serialize)", [_s(r["summary"]["floor"]) for r in results])
    row(
        "**build ÷ floor**",
        [f"**{r['summary']['build_over_floor']}×**" if r["summary"]["build_over_floor"] else "–" for r in results],
    )
    row(
        "naive baseline (sum of steps)",
        [
            _s(r["summary"]["naive"], r["summary"]["naive_is_lower_bound"]) if r["summary"]["naive"] else "–"
            for r in results
        ],
    )
    row(
        "**naive ÷ build**",
        [
            (("≥ " if r["summary"]["naive_is_lower_bound"] else "") + f"**{r['summary']['naive_over_build']}×**")
            if r["summary"]["naive_over_build"]
            else "–"
            for r in results
        ],
    )
    deliver_rows(results, row)
    stage_names = []
    for r in results:
        for part in ("ours", "watch", "floor"):
            if r.get(part):
                stage_names += [(part, k) for k in r[part]["timings"] if (part, k) not in stage_names]
        for step, m in r["naive"].items():
            if m:
                stage_names += [("naive", k) for k in m["timings"] if ("naive", k) not in stage_names]
            elif ("naive", step) not in stage_names:
                stage_names.append(("naive", step))
    for part, name in stage_names:
        cells = []
        for r in results:
            if part == "naive":
                m = (
                    r["naive"].get(name)
                    if name in NAIVE_STEPS
                    else next((m for m in r["naive"].values() if m and name in m["timings"]), None)
                )
                if name in NAIVE_STEPS:
                    cells.append(_s(a.naive_timeout, True) if name in r["naive"] and m is None else "–")
                else:
                    cells.append(_s(m["timings"][name]) if m else "–")
            else:
                m = r.get(part)
                cells.append(_s(m["timings"].get(name)) if m else "–")
        label = name if part in ("ours", "watch") else f"{part}: {name}"
        if part == "naive" and name in NAIVE_STEPS:
            label = f"naive: {name}"
        row(label, cells)
    row("peak memory, stages process", [f"{r['ours']['peak_mb']:.0f} MB" if r["ours"] else "–" for r in results])
    return "\n".join(lines) + "\n"


def deliver_rows(results: list[dict], row) -> None:
    """publish, push and serve (bench/deliver.py), beside the build they follow."""
    measured = [r.get("deliver") or {} for r in results]
    if not any(measured):
        return

    def cell(d: dict, *path, fmt="{}"):
        for key in path:
            d = (d or {}).get(key)
        return fmt.format(d) if d is not None else "–"

    row(
        "**`pledgegraph publish`** (every file of the release)",
        [cell(d, "publish", "wall", fmt="**{:.1f} s**") for d in measured],
    )
    row(
        "publish: CPU (every process; of it the kernel's) / peak memory",
        [
            f"{d['publish']['cpu']:.1f} s ({d['publish'].get('system', float('nan')):.1f} s) / "
            f"{d['publish']['peak_mb']:.0f} MB"
            if d.get("publish", {}).get("cpu")
            else "–"
            for d in measured
        ],
    )
    row(
        "**publish ÷ build**",
        [
            f"**{d['publish']['wall'] / r['summary']['build_wall']:.2f}×**"
            if d.get("publish", {}).get("wall") and r["summary"]["build_wall"]
            else "–"
            for d, r in zip(measured, results)
        ],
    )
    row(
        "publish per entity, the sizes timed in turn (most ÷ least)",
        [
            f"{d['publish_in_turn']['ms_per_entity']:.1f} ms ({d['publish_in_turn']['most_over_least']:.2f}×)"
            if d.get("publish_in_turn")
            else "–"
            for d in measured
        ],
    )
    row(
        "publish per entity (page faults per entity)",
        [
            f"{d['publish']['wall'] / d['publish']['entities'] * 1000:.1f} ms ({d['publish']['entities']:,} "
            f"entities; {d['publish'].get('faults', 0) / d['publish']['entities']:.0f} faults)"
            if d.get("publish", {}).get("wall")
            else "–"
            for d in measured
        ],
    )
    row(
        "**`push` into Virtuoso** (load + swap; bulk: the store reads the files)",
        [cell(d, "push", "bulk", "triples_per_s", fmt="**{:,} triples/s**") for d in measured],
    )
    row(
        "`push --load http` into Virtuoso (as to a remote store)",
        [cell(d, "push", "http", "triples_per_s", fmt="{:,} triples/s") for d in measured],
    )
    row(
        "serve: start-up (/sparql answers / entity pages answer)",
        [
            f"{d['serve']['startup']:.1f} s / {d['serve'].get('startup_entities', float('nan')):.1f} s"
            if d.get("serve")
            else "–"
            for d in measured
        ],
    )

    def geomean_and_slowest(d: dict, which: str) -> str:
        serve = d.get("serve") or {}
        mean = serve.get(f"geomean_{which}_ms")
        return f"{mean} ms / {serve[f'max_{which}_ms']} ms" if mean else "–"

    row(
        "serve: library queries with rows in their answer (the bench's records standing in for those they name)",
        [
            f"{d['serve']['nonempty']} of {len(d['serve']['queries'])} ({d['serve']['rows']:,} rows in all)"
            if d.get("serve", {}).get("nonempty") is not None
            else "–"
            for d in measured
        ],
    )
    row(
        "serve: library queries over HTTP, p50 (geometric mean / slowest)",
        [geomean_and_slowest(d, "p50") for d in measured],
    )
    row(
        "serve: library queries over HTTP, first (cold) answer (geometric mean / slowest)",
        [geomean_and_slowest(d, "first") for d in measured],
    )
    row(
        "serve: library queries over HTTP, p50 computed every time (no kept answer; geometric mean / slowest)",
        [geomean_and_slowest(d, "computed") for d in measured],
    )
    row(
        "serve: competency queries cq01–cq10, p50 computed every time (slowest)",
        [cell(d, "serve", "max_computed_competency_ms", fmt="{} ms") for d in measured],
    )
    row(
        "serve: library queries, p99 (geometric mean)",
        [cell(d, "serve", "geomean_p99_ms", fmt="{} ms") for d in measured],
    )
    row(
        "**Virtuoso, same release and queries, p50 (geometric mean)**",
        [
            f"**{d['serve']['virtuoso_geomean_p50_ms']} ms** (serve: {d['serve']['geomean_p50_ms_both']} ms, "
            f"computed every time {d['serve'].get('geomean_computed_ms_both', '–')} ms; "
            f"{d['serve']['compared']} queries)"
            if d.get("serve", {}).get("virtuoso_geomean_p50_ms")
            else "–"
            for d in measured
        ],
    )
    row(
        "serve: `ASK {}` over HTTP, p50 (Virtuoso's): the cost of a request itself",
        [
            f"{cell(d, 'serve', 'ask', 'serve', 'p50_ms', fmt='{} ms')} "
            f"({cell(d, 'serve', 'ask', 'virtuoso', 'p50_ms', fmt='{} ms')})"
            for d in measured
        ],
    )

    def throughput(d: dict) -> str:
        cheap, heavy = d["serve"]["throughput_cheap"], d["serve"]["throughput_heavy"]
        away = cheap["turned_away"] + heavy["turned_away"]
        return f"{cheap['per_s']} / {heavy['per_s']}" + (f" ({away} turned away, 503/429)" if away else "")

    row(
        "serve: requests/s, 4 clients (cq02 / cq08)",
        [throughput(d) if d.get("serve") else "–" for d in measured],
    )


def linkml_markdown(r: dict, timeout: float) -> str:
    def cells(name: str) -> tuple[str, str]:
        m = r.get(name)
        return (f"> {timeout:.0f} s", "–") if m is None else (f"{m['wall']:.1f} s", f"{m['peak_mb']:,.0f} MB")

    lines = [
        f"LinkML comparison (`python -m bench.linkml_compare`): {r['organizations']:,} organizations, "
        f"{r['pledges']:,} pledges and {r['sources']:,} sources, the same records in both formats, each tool "
        "a fresh process, one run:",
        "",
        "| | wall | peak memory | triples written |",
        "|---|---|---|---|",
    ]
    if r["linkml_installed"]:
        wall, memory = cells("linkml-convert")
        written = f"{r['linkml_triples']:,}" if "linkml_triples" in r else "–"
        lines.append(
            f"| `linkml-convert` (YAML → Turtle, validating against `bench/linkml/pledges.yaml`) | "
            f"{wall} | {memory} | {written} |"
        )
    else:
        lines.append("| `linkml-convert` | not installed (`pip install '.[bench]'`) | | |")
    wall, memory = cells("pledgegraph build")
    ours = r["pledgegraph_triples"]
    lines.append(
        f"| `pledgegraph build` (check, reason, validate, every output) | {wall} | {memory} | "
        f"{ours['asserted']:,} asserted + {ours['inferred']:,} inferred |"
    )
    if r.get("linkml-convert") and r.get("pledgegraph build"):
        ratio = r["linkml-convert"]["wall"] / r["pledgegraph build"]["wall"]
        lines.append(f"| **linkml-convert ÷ pledgegraph build** | **{ratio:.1f}×** | | |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    p.add_argument("--sizes", default="10k,100k,1m", help=f"comma-separated, of {', '.join(SIZES)}")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--naive-sizes", default="10k,100k")
    p.add_argument("--naive-steps", default=",".join(NAIVE_STEPS))
    p.add_argument("--naive-runs", type=int, default=1)
    p.add_argument("--naive-timeout", type=float, default=300.0)
    p.add_argument("--timeout", type=float, default=600.0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--work", type=Path, default=ROOT / "bench" / ".data")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    p.add_argument("--readme", action="store_true", help="write the table into docs/performance.md")
    p.add_argument(
        "--linkml",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="compare with LinkML's linkml-convert (default: when it is installed: pip install '.[bench]')",
    )
    p.add_argument(
        "--deliver",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="measure publish, push and serve after the build (bench/deliver.py)",
    )
    p.add_argument(
        "--virtuoso",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="push into Virtuoso and time its queries, when it is installed",
    )
    p.add_argument("--linkml-orgs", type=int, default=10_000, help="organizations for the LinkML comparison")
    a = p.parse_args(argv)
    start_launcher()  # while this process is small: the commands it starts report their own peak memory
    a.naive_sizes = set(a.naive_sizes.split(",")) if a.naive_sizes else set()
    a.naive_steps = [s for s in a.naive_steps.split(",") if s]
    unknown = set(a.naive_steps) - set(NAIVE_STEPS) or set(a.sizes.split(",")) - set(SIZES)
    if unknown:
        p.error(f"unknown: {', '.join(sorted(unknown))}")
    # every module compiled once, as `pip install` leaves a package (`make bytecode`): each measured command
    # then reads bytecode instead of compiling ~30 modules at its start (where PYTHONDONTWRITEBYTECODE is set)
    compileall.compile_dir(ROOT / "src", quiet=1)
    try:
        results = [run_size(size, a) for size in a.sizes.split(",")]
        published = [r for r in results if r.get("deliver", {}).get("publish", {}).get("wall")]
        if len(published) >= 2:  # per entity across sizes, timed in the same minutes (bench/publish_flat.py)
            print(f"[{','.join(r['size'] for r in published)}] publish in turn...", file=sys.stderr, flush=True)
            flat = publish_flat.at(a.work, a.seed, [r["size"] for r in published], a.runs, a.timeout)
            for r in published:
                r["deliver"]["publish_in_turn"] = {
                    **flat["sizes"][r["size"]],
                    "most_over_least": flat["most_over_least"],
                }
    finally:
        deliver.discard_earlier_sites()  # after every timed step (see `deliver.publish`)
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    table = markdown(results, a)
    if a.linkml or (a.linkml is None and linkml_convert()):
        print(f"[linkml] {a.linkml_orgs:,} organizations, both tools...", file=sys.stderr, flush=True)
        linkml = compare(a.linkml_orgs, a.seed, a.timeout, a.work)
        (a.out / "linkml.json").write_text(json.dumps(linkml, indent=2) + "\n")
        table += "\n" + linkml_markdown(linkml, a.timeout)
    (a.out / "results.md").write_text(table)
    print(table)
    for r in results:
        s = r["summary"]
        print(
            f"~{r['size']}: build {_s(s['build_wall'])}, {s['build_over_floor']}x the floor, "
            f"naive/ours {s['naive_over_build']}x, validate one record {_s(s['validate_one_record'])}"
        )
    if a.readme:
        readme = ROOT / "docs" / "performance.md"
        text = readme.read_text()
        if README_START in text:
            head, rest = text.split(README_START, 1)
            text = head + README_START + "\n" + table + README_END + rest.split(README_END, 1)[1]
            readme.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
