"""The public Python API: the README's calls, on the shipped data, give what the CLI gives."""

from __future__ import annotations

import pytest

import pledgegraph
from conftest import ROOT
from pledgegraph.errors import DataInvalid


def test_version_is_the_packages(monkeypatch):
    from importlib import metadata

    assert pledgegraph.__version__ == metadata.version("pledgegraph")


def test_check_build_and_query(tmp_path, monkeypatch, data_copy):
    monkeypatch.chdir(ROOT)
    result = pledgegraph.check("data")
    assert not [p for p in result.report.problems if p.severity == "error"]
    from pledgegraph.pipeline import build_all
    from pledgegraph.layout import Settings

    build_all(Settings(out_dir=tmp_path / "dist"))
    answer = pledgegraph.query(None, tmp_path / "dist", name="under-at-date",
                               bind={"org": "org/islamic-state", "date": "2016-01-01"})
    units = {row[answer.variables.index("unit")].value.rsplit("/", 1)[1] for row in answer.rows}
    assert units == {"is-caucasus-province", "vilayat-nokhchicho", "vilayat-dagestan", "vilayat-galgaicho",
                     "vilayat-kbk"}
    asked = pledgegraph.query("ASK { ?p a pg:Pledge }", tmp_path / "dist")
    assert asked.boolean is True
    (data_copy / "tenures.yaml").write_text("tenures:\n  - id: x\n", encoding="utf-8")
    with pytest.raises(DataInvalid):
        pledgegraph.check(data_copy)
