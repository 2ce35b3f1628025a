"""A smoke run of the benchmark: tiny data, one run, every measurement but the slow naive steps."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from conftest import ROOT


def test_benchmark_runs_and_writes_its_table(tmp_path):
    out = tmp_path / "results"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--sizes",
            "tiny",
            "--runs",
            "1",
            "--naive-sizes",
            "tiny",
            "--naive-steps",
            "yaml,add",
            "--no-linkml",
            "--no-virtuoso",
            "--work",
            str(tmp_path / "data"),
            "--out",
            str(out),
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=300,
        env={**os.environ, "TMPDIR": str(tmp_path)},  # not made to wait by a real bench's recent clean-up
    )
    (result,) = json.loads((out / "results.json").read_text())
    assert result["ours"]["conforms"] and result["ours"]["triples"] > 1000
    summary = result["summary"]
    assert summary["build_wall"] > 0 and summary["floor"] > 0 and summary["naive"] > 0
    table = (out / "results.md").read_text()
    assert "pledgegraph build" in table and "floor: bulk load" in table and "naive: naive yaml" in table
    deliver = result["deliver"]  # after the build: publish, and serve answering the library over HTTP
    assert deliver["publish"]["entities"] > 10 and deliver["publish"]["wall"] > 0
    # its page faults (first touches of memory: most of a small publish's system time on this machine) counted
    assert deliver["publish"]["faults"] > 1000 and 0 < deliver["publish"]["system"] < deliver["publish"]["cpu"]
    assert deliver["serve"]["startup"] > 0 and len(deliver["serve"]["queries"]) >= 20
    assert all(0 < q["serve"]["p50_ms"] <= q["serve"]["p99_ms"] for q in deliver["serve"]["queries"].values())
    # the library asked about the bench's own records (stand-ins for the shipped ones it names), not empty answers
    assert deliver["serve"]["nonempty"] >= 15 and deliver["serve"]["queries"]["record-subgraph"]["rows"] > 10
    assert "pledgegraph publish" in table and "publish ÷ build" in table and "serve: start-up" in table

    # publish's time per entity timed in turn across sizes, from the builds that run left
    flat = tmp_path / "flat.json"
    subprocess.run(
        [sys.executable, "-m", "bench.publish_flat", "--sizes", "tiny", "--rounds", "2"]
        + ["--work", str(tmp_path / "data"), "--out", str(flat)],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=300,
        env={**os.environ, "TMPDIR": str(tmp_path)},
    )
    tiny = json.loads(flat.read_text())["sizes"]["tiny"]
    assert len(tiny["walls"]) == 2 and tiny["entities"] == deliver["publish"]["entities"] and tiny["ms_per_entity"] > 0


def test_search_latency_bench_runs_and_reports(tmp_path):
    """The shape of `bench/search_latency.py` on tiny data (its figure is measured at 1m by hand)."""
    run = subprocess.run(
        [sys.executable, "-m", "bench.search_latency", "--size", "tiny", "--queries", "30", "--work", str(tmp_path)],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    figures = json.loads(run.stdout)
    assert figures["names"] > 30 and figures["queries"] == 30
    assert 0 < figures["latency ms median"] <= figures["latency ms p95"] <= figures["latency ms max"]
    assert figures["top hit is the entity (exact)"].count("/") == 1
