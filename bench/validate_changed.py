"""Measure `pledgegraph validate --changed` after touching one record against a full `validate`.

    .venv/bin/python bench/validate_changed.py [runs]

Copies the shipped data, ontology and shapes into a temporary git repository, commits them, edits
one record (a pledge's description), then times each command as a fresh process (median of the
runs), next to the bare interpreter start-up.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PLEDGEGRAPH = [sys.executable, "-m", "pledgegraph"]


def timed(cmd: list[str], cwd: Path, runs: int) -> tuple[float, str]:
    times, out = [], ""
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
        times.append(time.perf_counter() - start)
        out = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr.strip()
    return statistics.median(times), out


def main(runs: int = 7) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp)
        for name in ("data", "ontology", "shapes"):
            shutil.copytree(ROOT / name, repo / name)
        git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.org"]
        subprocess.run([*git, "init", "-q"], cwd=repo, check=True)
        subprocess.run([*git, "add", "-A"], cwd=repo, check=True)
        subprocess.run([*git, "commit", "-qm", "base"], cwd=repo, check=True)
        pledges = repo / "data" / "pledges.yaml"
        text = pledges.read_text()
        pledges.write_text(text.replace("description: >-\n", "description: >-\n      Edited.\n", 1))
        records = sum(
            line.lstrip().startswith("- id:")
            for p in (repo / "data").glob("*.yaml")
            for line in p.read_text().splitlines()
        )
        print(f"shipped data: {records} records; median of {runs} runs, each a fresh process")
        rows = [
            ("python -c pass (interpreter start-up)", [sys.executable, "-c", "pass"]),
            ("pledgegraph --help", [*PLEDGEGRAPH, "--help"]),
            ("pledgegraph validate (full)", [*PLEDGEGRAPH, "validate"]),
            ("pledgegraph validate --changed (one record edited)", [*PLEDGEGRAPH, "validate", "--changed"]),
        ]
        for label, cmd in rows:
            seconds, last = timed(cmd, repo, runs)
            print(f"{seconds * 1000:8.0f} ms  {label}" + (f"   -> {last}" if "validate" in label else ""))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 7)
