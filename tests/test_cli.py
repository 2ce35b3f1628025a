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
        subprocess.run(
            [sys.executable, "-m", "pledgegraph", "build", "--out", str(out)],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
        outs.append({p.name: p.read_bytes() for p in sorted(out.iterdir())})
    assert outs[0] == outs[1]


def _readme_json_schema():
    text = (ROOT / "docs" / "curators.md").read_text()  # the curators' page documents `validate --format json`
    block = text.split("<!-- validate-json-schema -->", 1)[1].split("```json", 1)[1].split("```", 1)[0]
    return json.loads(block)


@pytest.mark.parametrize("extra", [None, "persons:\n  - id: x\n    names: []\n    sources: [nope]\n", "persons: [\n"])
def test_validate_json_follows_the_schema_in_the_readme(project, data_copy, extra):
    import jsonschema

    if extra:
        (data_copy / "zz.yaml").write_text(extra)
    result = run("validate", "--data", str(data_copy), "--format", "json")
    doc = json.loads(result.output)
    jsonschema.validate(doc, _readme_json_schema())
    assert doc["valid"] is (result.exit_code == 0)


def test_an_internal_error_exits_2_with_a_short_message(project, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("something nobody expected")

    monkeypatch.setattr("pledgegraph.pipeline.check", broken)
    result = CliRunner().invoke(main, ["validate"])
    assert result.exit_code == 2
    assert "internal error: RuntimeError: something nobody expected" in result.output
    assert "Traceback" not in result.output and "--debug" in result.output
    debug = CliRunner().invoke(main, ["--debug", "validate"])
    assert debug.exit_code == 2 and "Traceback (most recent call last)" in debug.output


def test_strict_turns_warnings_into_failure(project, data_copy, tmp_path):
    import shutil

    from bad_inputs import EXTRA_SHAPES

    shapes = tmp_path / "shapes"
    shutil.copytree(ROOT / "shapes", shapes)
    (shapes / "warn.ttl").write_text(EXTRA_SHAPES.split("pgt:PlausibleDate")[0])  # warnings only
    env = {"PLEDGEGRAPH_SHAPES_DIR": str(shapes)}
    lenient = run("validate", "--data", str(data_copy), **env)
    assert lenient.exit_code == 0 and ", 0 warning(s)" not in lenient.output
    assert run("validate", "--data", str(data_copy), "--strict", **env).exit_code == 1


def test_turtle_format_is_the_shacl_report(project, data_copy):
    import rdflib

    result = run("validate", "--format", "turtle")
    g = rdflib.Graph().parse(data=result.output, format="turtle")
    sh = rdflib.Namespace("http://www.w3.org/ns/shacl#")
    assert result.exit_code == 0 and (None, rdflib.RDF.type, sh.ValidationReport) in g


def test_a_closed_pipe_ends_quietly(tmp_path):
    """`pledgegraph build | head -1`: when the reader goes away, no 'internal error' is reported."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "pledgegraph", "build", "--out", str(tmp_path / "dist")],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    proc.stdout.close()
    _, err = proc.communicate(timeout=120)
    assert b"internal error" not in err and b"Traceback" not in err
    assert (tmp_path / "dist" / "pledgegraph.nt").is_file()
