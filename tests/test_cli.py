"""The command line: help, version, exit codes, and a failed build that leaves dist/ untouched."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from conftest import ROOT
from pledgegraph import __version__
from pledgegraph.cli import main


def run(*args, **env):
    return CliRunner().invoke(main, list(args), env=env or None, catch_exceptions=False)


def test_help_and_version():
    assert "validate" in run("--help").output
    assert __version__ in run("--version").output


def test_every_command_has_help_text():
    for name, command in main.commands.items():
        assert command.help and len(command.help) > 20, name


def test_validate_exit_codes(project, data_copy):
    assert run("validate").exit_code == 0
    (data_copy / "zz.yaml").write_text("persons:\n  - id: x\n    names: []\n    sources: [nope]\n")
    bad = run("validate", "--data", str(data_copy))
    assert bad.exit_code == 1
    assert "zz.yaml:4:" in bad.output and "unknown source 'nope'" in bad.output
    (data_copy / "zz.yaml").write_text("persons: [\n")
    assert run("validate", "--data", str(data_copy)).exit_code == 2
    assert run("validate", "--data", str(data_copy / "missing")).exit_code == 2


def test_validate_json_output(project, data_copy):
    (data_copy / "zz.yaml").write_text("persons:\n  - id: x\n    names: []\n    sources: [nope]\n")
    out = run("validate", "--data", str(data_copy), "--format", "json")
    doc = json.loads(out.output)
    assert doc["summary"]["error"] == len([p for p in doc["problems"] if p["severity"] == "error"]) > 0
    assert {"file", "line", "column", "entity", "message", "rule", "hint"} <= set(doc["problems"][0])


def test_failed_build_leaves_previous_output_intact(project, data_copy, tmp_path):
    out = tmp_path / "dist"
    assert run("build", "--out", str(out)).exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    (data_copy / "zz.yaml").write_text("persons:\n  - id: x\n    sources: [nope]\n")
    result = run("build", "--data", str(data_copy), "--out", str(out))
    assert result.exit_code == 1 and "nothing was written" in result.output
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert not list(tmp_path.glob(".dist.tmp-*"))


def test_build_is_byte_identical_across_hash_seeds(tmp_path):
    outs = []
    for seed in ("1", "4242"):
        out = tmp_path / f"dist-{seed}"
        env = {**os.environ, "PYTHONHASHSEED": seed}
        subprocess.run([sys.executable, "-m", "pledgegraph", "build", "--out", str(out)], cwd=ROOT, env=env,
                       check=True, capture_output=True)
        outs.append({p.name: p.read_bytes() for p in sorted(out.iterdir())})
    assert outs[0] == outs[1]
