"""A whole build, stage by stage: wall time and memory as each stage starts (for sizes the bench's
stage-by-stage process cannot hold, such as 10m).

`python -m bench.build_memory DATA_DIR OUT_DIR [--low-memory] [--spill-lines N]` prints one line
per stage (seconds since the start, CPU seconds of this process, threads included, so far: the
steadier figure on a shared machine; resident and peak memory of this process in MB), then the CPU
time and peak of the forked helpers (the output writer, the ontology's documenter) and the stage
timings. `--spill-lines` sets `graph.SPILL_LINES`, the emitted lines the builder holds before
sorting a run of them to disk (0: spill every record).
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
    p.add_argument("--spill-lines", type=int, default=None)
    a = p.parse_args(argv)
    from pledgegraph.model import graph
    from pledgegraph.pipeline import build_all

    if a.spill_lines is not None:
        graph.SPILL_LINES = a.spill_lines

    start = time.perf_counter()

    def on_stage(name: str) -> None:
        rss, peak = _memory_mb()
        cpu = time.process_time()
        print(
            f"{time.perf_counter() - start:8.1f} s  {cpu:8.1f} s CPU  {name:<20} rss {rss} MB, peak {peak} MB",
            flush=True,
        )

    settings = dataclasses.replace(_settings(a.data, a.out), low_memory=a.low_memory)
    result = build_all(settings, on_stage=on_stage, allow_removals=True)
    rss, peak = _memory_mb()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    helpers = f"{children.ru_utime + children.ru_stime:.1f} s CPU, peak {children.ru_maxrss // 1024} MB"
    print(
        f"{time.perf_counter() - start:8.1f} s  {time.process_time():8.1f} s CPU  {'done':<20} rss {rss} MB, "
        f"peak {peak} MB; helpers: {helpers}"
    )
    print(json.dumps(result.timings))


if __name__ == "__main__":
    main()
