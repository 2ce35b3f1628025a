"""A whole build, stage by stage: wall time and memory as each stage starts (for sizes the bench's
stage-by-stage process cannot hold, such as 10m).

`python -m bench.build_memory DATA_DIR OUT_DIR [--low-memory]` prints one line per stage
(seconds since the start, resident and peak memory of this process in MB), then the peak of the
forked helpers (the output writer) and the stage timings.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import resource
import time
from pathlib import Path

from .stage import _settings


def _memory_mb() -> tuple[int, int]:
    status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
    return int(status["VmRSS"].split()[0]) // 1024, int(status["VmHWM"].split()[0]) // 1024


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("data", type=Path)
    p.add_argument("out", type=Path)
    p.add_argument("--low-memory", action="store_true")
    a = p.parse_args(argv)
    from pledgegraph.pipeline import build_all

    start = time.perf_counter()

    def on_stage(name: str) -> None:
        rss, peak = _memory_mb()
        print(f"{time.perf_counter() - start:8.1f} s  {name:<20} rss {rss} MB, peak {peak} MB", flush=True)

    settings = dataclasses.replace(_settings(a.data, a.out), low_memory=a.low_memory)
    result = build_all(settings, on_stage=on_stage, allow_removals=True)
    rss, peak = _memory_mb()
    helpers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024
    print(
        f"{time.perf_counter() - start:8.1f} s  {'done':<20} rss {rss} MB, peak {peak} MB; helpers' peak {helpers} MB"
    )
    print(json.dumps(result.timings))


if __name__ == "__main__":
    main()
