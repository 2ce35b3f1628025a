"""LinkML's `linkml-convert` against `pledgegraph build` on the same records, at the size the issue
measured LinkML at: 10,000 organizations and 20,000 pledges (each organization with a name, a kind
and a cited source; each pledge with its pledgers, the organization pledged to, a date and a
cited source with a quote), plus the 5,000 sources they cite.

    python -m bench.linkml_compare [--orgs 10000] [--timeout 900]

The data is written in both formats from one seeded generator (bench/.data/linkml-<orgs>/); each
tool runs as a fresh process (wall time, peak memory). LinkML converts to Turtle against the
schema bench/linkml/pledges.yaml (validating on the way, its default); `pledgegraph build` reads,
checks, reasons, validates and writes every output. LinkML is an optional extra:
`pip install '.[bench]'`. Prints one JSON object; the runner (`python -m bench`) adds it to its table.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

from .process import timed_process

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = ROOT / "bench" / "linkml" / "pledges.yaml"
KINDS = ("militant-group", "umbrella", "media-outlet")


def records(orgs: int, seed: int) -> tuple[list[dict], list[dict], list[dict]]:
    """Sources, organizations and pledges, as plain values both writers share."""
    rng = random.Random(seed)
    sources = [{"id": f"src-{i:06d}", "title": f"Report {i} on the groups of the region"} for i in range(orgs // 2)]

    def source() -> str:
        return sources[rng.randrange(len(sources))]["id"]

    organizations = [
        {"id": f"org-{i:06d}", "name": f"Group {i}", "kind": rng.choice(KINDS), "source": source()} for i in range(orgs)
    ]
    pledges = []
    for i in range(orgs * 2):
        pledgers = sorted({f"org-{rng.randrange(orgs):06d}" for _ in range(rng.randint(1, 3))})
        pledges.append(
            {
                "id": f"pledge-{i:06d}",
                "pledgers": pledgers,
                "to": f"org-{rng.randrange(orgs):06d}",
                "date": f"{rng.randint(2010, 2021)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                "source": source(),
                "quote": f"{pledgers[0]} pledged allegiance",
            }
        )
    return sources, organizations, pledges


def write_linkml(path: Path, sources, organizations, pledges) -> None:
    def c(rid: str) -> str:  # LinkML identifiers are CURIEs
        return "pgid:" + rid

    lines = ["sources:"]
    lines += [f'  - id: {c(s["id"])}\n    title: "{s["title"]}"' for s in sources]
    lines.append("organizations:")
    lines += [
        f'  - id: {c(o["id"])}\n    name: "{o["name"]}"\n    kind: [{o["kind"]}]\n    sources: [{c(o["source"])}]'
        for o in organizations
    ]
    lines.append("pledges:")
    lines += [
        f"  - id: {c(p['id'])}\n    pledgers: [{', '.join(map(c, p['pledgers']))}]\n    to: {c(p['to'])}\n"
        f'    date: "{p["date"]}"\n    sources: [{c(p["source"])}]\n    quote: "{p["quote"]}"'
        for p in pledges
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_ours(data: Path, sources, organizations, pledges) -> None:
    data.mkdir(parents=True, exist_ok=True)
    (data / "dataset.yaml").write_text(
        "dataset:\n  title: pledgegraph LinkML comparison data (synthetic)\n  version: 0.0.0-bench\n"
        "  license: https://creativecommons.org/licenses/by/4.0/\n  modified: 2026-01-01\n",
        encoding="utf-8",
    )
    (data / "sources.yaml").write_text(
        "sources:\n"
        + "\n".join(
            f'  - id: {s["id"]}\n    title: "{s["title"]}"\n    kind: report\n    language: en' for s in sources
        )
        + "\n",
        encoding="utf-8",
    )
    (data / "organizations.yaml").write_text(
        "organizations:\n"
        + "\n".join(
            f"  - id: {o['id']}\n    kind: [{o['kind']}]\n    names:\n"
            f'      - {{name: "{o["name"]}", lang: en, sources: [{{source: {o["source"]}, quote: "{o["name"]}"}}]}}\n'
            f'    sources: [{{source: {o["source"]}, quote: "{o["name"]}"}}]'
            for o in organizations
        )
        + "\n",
        encoding="utf-8",
    )
    (data / "pledges.yaml").write_text(
        "pledges:\n"
        + "\n".join(
            f"  - id: {p['id']}\n    pledgers: [{', '.join(p['pledgers'])}]\n    to: {p['to']}\n    date: {p['date']}\n"
            f'    sources: [{{source: {p["source"]}, quote: "{p["quote"]}"}}]'
            for p in pledges
        )
        + "\n",
        encoding="utf-8",
    )


def linkml_convert() -> Path | None:
    found = Path(sys.executable).parent / "linkml-convert"
    return found if found.exists() else None


def compare(orgs: int, seed: int, timeout: float, work: Path) -> dict:
    """Both tools on the same records; each result None when it ran past `timeout`."""
    here = work / f"linkml-{orgs}-seed{seed}"
    here.mkdir(parents=True, exist_ok=True)
    values = records(orgs, seed)
    write_linkml(here / "linkml-data.yaml", *values)
    write_ours(here / "data", *values)
    out = {"organizations": orgs, "pledges": orgs * 2, "sources": orgs // 2}
    tool = linkml_convert()
    runs = {
        "pledgegraph build": [
            sys.executable,
            "-m",
            "pledgegraph",
            "build",
            "--data",
            str(here / "data"),
            "--out",
            str(here / "dist"),
        ]
    }
    if tool:
        runs["linkml-convert"] = [
            str(tool),
            "-s",
            str(SCHEMA),
            "-C",
            "Container",
            "-t",
            "ttl",
            "-o",
            str(here / "linkml-out.ttl"),
            str(here / "linkml-data.yaml"),
        ]
    for name, cmd in runs.items():
        ran = timed_process(cmd, timeout, cwd=ROOT)
        if ran is not None and ran.code != 0:
            raise RuntimeError(f"{name} failed:\n{ran.err.decode()[-3000:]}")
        out[name] = None if ran is None else {"wall": ran.wall, "peak_mb": ran.peak_mb}
    out["linkml_installed"] = tool is not None
    if tool and out["linkml-convert"]:
        out["linkml_triples"] = _count_triples(here / "linkml-out.ttl")
    out["pledgegraph_triples"] = json.loads((here / "dist" / "summary.json").read_text())["triples"]
    return out


def _count_triples(path: Path) -> int:
    import pyoxigraph as ox

    return sum(1 for _ in ox.parse(path=str(path), format=ox.RdfFormat.TURTLE))


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.linkml_compare", description=__doc__.split("\n")[0])
    p.add_argument("--orgs", type=int, default=10_000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--timeout", type=float, default=900.0)
    p.add_argument("--work", type=Path, default=ROOT / "bench" / ".data")
    a = p.parse_args(argv)
    print(json.dumps(compare(a.orgs, a.seed, a.timeout, a.work)))


if __name__ == "__main__":
    main()
