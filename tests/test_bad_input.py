"""The bad-input corpus: every broken or hostile data file gives its exact error, fast, and harms nothing.

Committed cases live in tests/bad_input/ with their expected exit code, line and message in
EXPECTED.tsv; cases that are binary or large are generated below. Each case is dropped into a
copy of the shipped data as `zz-case.yaml`, then `validate` and `build` are run against it: the
message must name the file and line, and a previously built dist/ must be byte-for-byte unchanged.
"""

from __future__ import annotations

import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import ROOT
from pledgegraph.cli import main

CASES_DIR = Path(__file__).parent / "bad_input"
CASE_NAME = "zz-case.yaml"


def _committed_cases():
    rows = []
    for line in (CASES_DIR / "EXPECTED.tsv").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            name, code, lineno, fragment = line.split("\t")
            rows.append(pytest.param((CASES_DIR / name).read_bytes(), int(code), int(lineno), fragment, id=name))
    return rows


def _alias_bomb() -> bytes:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    for prev, cur in zip("abcdefgh", "bcdefghi"):
        lines.append(f"{cur}: &{cur} [" + ", ".join([f"*{prev}"] * 9) + "]")
    return ("\n".join(lines) + "\n").encode()


GENERATED = [
    pytest.param(b"\xef\xbb\xbfpersons: []\n", 2, 1, "byte-order mark", id="encoding-utf8-bom"),
    pytest.param("persons: []\n".encode("utf-16"), 2, 1, "UTF-16", id="encoding-utf16"),
    pytest.param("persons: []\n# caf\xe9\n".encode("latin-1"), 2, 2, "is not UTF-8", id="encoding-latin1"),
    pytest.param(b"persons: []\n\x00\n", 2, 2, "NUL character", id="encoding-nul-byte"),
    pytest.param(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", 2, 1, "", id="binary-garbage"),
    pytest.param(_alias_bomb(), 2, 1, "anchor '&a' is not allowed", id="yaml-alias-bomb"),
    pytest.param(b"persons:\n  - id: a\n    names: " + b"x" * 200_000 + b"\n", 2, 3, "longer than the 100000 allowed",
                 id="yaml-huge-scalar"),
    pytest.param(b"persons:\n" + b"".join(b"  " * i + b"- \n" for i in range(1, 60)), 2, 0, "nesting deeper than",
                 id="yaml-deep-nesting"),
    pytest.param(b"persons:\n  - id: a\n    names: " + b"[" * 5000 + b"\n", 2, 0, "", id="yaml-deep-flow-nesting"),
]


@pytest.fixture(scope="module")
def pristine_dist(tmp_path_factory):
    """A real build of the shipped data; every case must leave it exactly as it is."""
    out = tmp_path_factory.mktemp("release") / "dist"
    result = CliRunner().invoke(main, ["build", "--data", str(ROOT / "data"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out, {p.name: p.read_bytes() for p in out.iterdir()}


def _case_tree(tmp_path: Path, content: bytes) -> Path:
    data = tmp_path / "data"
    shutil.copytree(ROOT / "data", data)
    (data / CASE_NAME).write_bytes(content)
    return data


@pytest.mark.parametrize("content, code, line, fragment", _committed_cases() + GENERATED)
def test_bad_input_is_reported_precisely_and_harms_nothing(project, tmp_path, pristine_dist, content, code, line,
                                                           fragment):
    data = _case_tree(tmp_path, content)
    start = time.perf_counter()
    result = CliRunner().invoke(main, ["validate", "--data", str(data)])
    assert time.perf_counter() - start < 10
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == code, result.output
    located = [l for l in result.output.splitlines() if f"{CASE_NAME}:{line}:" in l or (line == 0 and CASE_NAME in l)]
    assert any(fragment in l for l in located), result.output

    out, before = pristine_dist
    build = CliRunner().invoke(main, ["build", "--data", str(data), "--out", str(out)])
    assert build.exit_code == code
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_corpus_covers_at_least_forty_distinct_failures():
    assert len(_committed_cases()) + len(GENERATED) + 2 >= 40  # + the two link cases below


@pytest.mark.parametrize("target", ["outside", "etc"])
def test_links_leaving_the_data_directory_are_refused(project, tmp_path, pristine_dist, target):
    data = _case_tree(tmp_path, b"persons: []\n")
    outside = tmp_path / "elsewhere.yaml"
    outside.write_text("persons: []\n")
    (data / "link.yaml").symlink_to(outside if target == "outside" else Path("/etc/hostname"))
    result = CliRunner().invoke(main, ["validate", "--data", str(data)])
    assert result.exit_code == 2 and "links outside the data directory" in result.output


HOSTILE = ["yaml-alias-bomb", "yaml-huge-scalar", "yaml-deep-nesting", "yaml-deep-flow-nesting"]


@pytest.mark.parametrize("content", [p.values[0] for p in GENERATED if p.id in HOSTILE], ids=HOSTILE)
def test_hostile_input_stays_within_time_and_memory(tmp_path, content):
    """In a separate process capped at 1 GiB of address space and 20 s."""
    data = _case_tree(tmp_path, content)

    def cap():
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "pledgegraph", "validate", "--data", str(data)], cwd=ROOT,
                          capture_output=True, text=True, timeout=20, preexec_fn=cap)
    assert time.perf_counter() - start < 20
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
