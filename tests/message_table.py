"""Print the table of bad inputs and the exact message `pledgegraph validate` gives for each.

    .venv/bin/python tests/message_table.py > table.md

The cases are the bad-input corpus (tests/bad_inputs.py, run by tests/test_bad_input.py), each on a
copy of the shipped data; only the lines at the file and line each case points to are shown.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bad_inputs import CASES, EXTRA_SHAPES
from conftest import copy_data

ROOT = Path(__file__).resolve().parent.parent


def run_case(case, workdir: Path) -> tuple[int, list[str]]:
    """(exit code, output lines at the case's line) of `pledgegraph validate` with the case added."""
    data = workdir / "data"
    shutil.rmtree(data, ignore_errors=True)
    copy_data(data)
    case.apply(data)
    env = {**os.environ, "PLEDGEGRAPH_DATA_DIR": str(data)}
    if case.extra_shapes:
        shapes = workdir / "shapes"
        shutil.rmtree(shapes, ignore_errors=True)
        shutil.copytree(ROOT / "shapes", shapes)
        (shapes / "zz-extra.ttl").write_text(EXTRA_SHAPES)
        env["PLEDGEGRAPH_SHAPES_DIR"] = str(shapes)
    done = subprocess.run(
        [sys.executable, "-m", "pledgegraph", "validate"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    at = f"data/{case.file}:{case.line}:" if case.line else f"data/{case.file}: "
    return done.returncode, [line for line in done.stdout.splitlines() if line.startswith(at)]


def main() -> None:
    print("| # | bad input | exit | message the curator sees |")
    print("|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for i, case in enumerate(CASES, 1):
            code, lines = run_case(case, Path(tmp))
            shown = "<br>".join(f"`{line}`".replace("|", "\\|") for line in lines)
            print(f"| {i} | {case.kind} | {code} | {shown} |")


if __name__ == "__main__":
    main()
