"""`publish`'s time per entity at several bench sizes, timed in turn: size after size, round after round.

Issue 22 asks that time to be flat within 1.5× from 10k to 1M. `python -m bench` times each size's publish in
that size's own minutes, and this machine's speed drifts by a third within the hour (its memory more: freed
memory goes back to the host after ~2 s, and a first touch then waits for it), so a ratio across sizes timed
minutes apart says as much about the host as about publish. Timed in turn, as `build` and its floor are, every
size sees the same minutes. Uses the builds a bench run left (WORK/<size>-seed<N>/dist) and publishes as
`bench.deliver.publish` does (a fresh process, each into a new folder; earlier sites deleted at the end).

    python -m bench.publish_flat --sizes 10k,1m --rounds 3 --work /tmp/bw [--out FILE.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from bench import deliver


def in_turn(dists: dict[str, Path], work_of: dict[str, Path], rounds: int, timeout: float) -> dict:
    """Each size's publish once a round, in the order given; per size its walls and the median per entity."""
    walls: dict[str, list[float]] = {size: [] for size in dists}
    entities: dict[str, int] = {}
    try:
        for _ in range(rounds):
            for size, dist in dists.items():
                ran = deliver.publish(dist, work_of[size], timeout)
                if "wall" not in ran:
                    raise RuntimeError(f"publish of {size} ran past {timeout} s")
                walls[size].append(ran["wall"])
                entities[size] = ran["entities"]
    finally:
        deliver.discard_earlier_sites()
    per_entity = {size: statistics.median(walls[size]) / entities[size] * 1000 for size in dists}
    return {
        "rounds": rounds,
        "sizes": {
            size: {"walls": walls[size], "entities": entities[size], "ms_per_entity": round(ms, 3)}
            for size, ms in per_entity.items()
        },
        "most_over_least": round(max(per_entity.values()) / min(per_entity.values()), 3),
    }


def at(work: Path, seed: int, sizes: list[str], rounds: int, timeout: float) -> dict:
    """`in_turn` on the builds a bench run left in WORK (<size>-seed<N>/dist), publishing beside them (deliver/)."""
    runs = {size: work / f"{size}-seed{seed}" for size in sizes}
    missing = [str(r / "dist") for r in runs.values() if not (r / "dist" / "pledgegraph.trig").is_file()]
    if missing:
        raise SystemExit(f"no build in {', '.join(missing)}: run `python -m bench --sizes {','.join(sizes)}` first")
    return in_turn(
        {size: r / "dist" for size, r in runs.items()},
        {size: r / "deliver" for size, r in runs.items()},
        rounds,
        timeout,
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="10k,1m", help="bench sizes, comma-separated (their builds must exist)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--work", type=Path, default=Path("/tmp/bench"), help="the bench's --work folder")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--timeout", type=float, default=900)
    p.add_argument("--out", type=Path, help="write the figures here as JSON")
    a = p.parse_args()
    sizes = [s.strip() for s in a.sizes.split(",") if s.strip()]
    found = at(a.work, a.seed, sizes, a.rounds, a.timeout)
    for size, figures in found["sizes"].items():
        print(
            f"{size}: {figures['ms_per_entity']:.2f} ms an entity ({figures['entities']:,} entities; walls "
            f"{', '.join(f'{w:.2f}' for w in figures['walls'])} s)"
        )
    print(f"most ÷ least per entity: {found['most_over_least']:.2f}×")
    if a.out:
        a.out.write_text(json.dumps(found, indent=2) + "\n")


if __name__ == "__main__":
    main()
