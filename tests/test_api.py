"""The public Python API (README, "Python API"): each call on the shipped data in a temporary directory
gives what the command line gives, and `import pledgegraph` alone loads none of the machinery."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import pledgegraph
from conftest import ROOT
from pledgegraph.errors import DataInvalid

RULES = {"ontology_dir": ROOT / "ontology", "shapes_dir": ROOT / "shapes"}


def test_version_is_the_packages():
    from importlib import metadata

    assert pledgegraph.__version__ == metadata.version("pledgegraph")


def test_import_is_cheap_and_the_api_is_the_four_calls():
    loaded = subprocess.run(
        [sys.executable, "-c", "import json, sys, pledgegraph; print(json.dumps(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        check=True,
    )
    modules = json.loads(loaded.stdout)
    assert [m for m in modules if m.startswith("pledgegraph")] == ["pledgegraph"]
    assert not [m for m in modules if m.split(".")[0] in ("rdflib", "pyoxigraph", "pyshacl", "click", "yaml")]
    assert all(callable(getattr(pledgegraph, name)) for name in ("check", "build", "publish", "query"))


def test_check_build_publish_and_query(tmp_path, data_copy):
    result = pledgegraph.check(data_copy, **RULES)
    assert result.report.conforms and len(result.dataset.records) > 100

    dist = tmp_path / "dist"
    built = pledgegraph.build(data_copy, dist, **RULES)
    assert {p.name for p in built.outputs} >= {"pledgegraph.ttl", "pledgegraph.trig", "pledgegraph.nt"}
    assert (dist / "pledgegraph.nt").read_bytes().count(b"\n") == len(built.built) + len(built.inferred)

    done = pledgegraph.publish(tmp_path / "site", dist)
    assert done.version == "0.1.0" and done.previous is None and done.entities > 100
    assert (tmp_path / "site" / "latest").resolve() == done.release.resolve()
    assert (done.release / "org" / "islamic-state.ttl").is_file()
    assert pledgegraph.publish(tmp_path / "site", dist).unchanged  # the same content: nothing rewritten

    answer = pledgegraph.query(
        None,
        dist,
        name="under-at-date",
        queries_dir=ROOT / "queries",
        bind={"org": "org/islamic-state", "date": "2016-01-01"},
    )
    units = {row[answer.variables.index("unit")].value.rsplit("/", 1)[1] for row in answer.rows}
    assert units == {
        "is-caucasus-province",
        "vilayat-nokhchicho",
        "vilayat-dagestan",
        "vilayat-galgaicho",
        "vilayat-kbk",
    }
    assert pledgegraph.query("ASK { ?p a pg:Pledge }", dist).boolean is True

    (data_copy / "tenures.yaml").write_text("tenures:\n  - id: x\n", encoding="utf-8")
    with pytest.raises(DataInvalid):
        pledgegraph.check(data_copy, **RULES)
    with pytest.raises(DataInvalid):
        pledgegraph.build(data_copy, dist, **RULES)
    assert (dist / "pledgegraph.nt").read_bytes().count(b"\n") == len(built.built) + len(built.inferred)
