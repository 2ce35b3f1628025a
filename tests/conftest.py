"""Shared fixtures: the shipped project, and throwaway copies of its data to break on purpose."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT.parent / "shared" / "seeds"


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


def copy_data(target: Path) -> Path:
    """A copy of the shipped data whose data/checks.yaml still finds the archived texts."""
    shutil.copytree(ROOT / "data", target)
    checks = target / "checks.yaml"
    checks.write_text(checks.read_text(encoding="utf-8").replace("  - ../../shared/seeds", f"  - {SEEDS}"),
                      encoding="utf-8")
    return target


@pytest.fixture
def data_copy(tmp_path) -> Path:
    """A writable copy of the shipped data directory."""
    return copy_data(tmp_path / "data")


@pytest.fixture
def project(monkeypatch, tmp_path):
    """Run commands from the repository root so default paths (data/, ontology/, shapes/) resolve."""
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("PLEDGEGRAPH_OUT_DIR", str(tmp_path / "dist"))
    return ROOT


def settings_for(data_dir: Path | None = None, out_dir: Path | None = None):
    from pledgegraph.settings import Settings

    return Settings(data_dir=data_dir or ROOT / "data", ontology_dir=ROOT / "ontology",
                    shapes_dir=ROOT / "shapes", out_dir=out_dir or ROOT / "dist")


@pytest.fixture(scope="session")
def shipped():
    """The shipped data, loaded, built and validated once for the whole session."""
    from pledgegraph.pipeline import check

    return check(settings_for())


@pytest.fixture(scope="session")
def dist(tmp_path_factory) -> Path:
    """`pledgegraph build` output of the shipped data, written once."""
    from pledgegraph.pipeline import build_all

    out = tmp_path_factory.mktemp("build") / "dist"
    build_all(settings_for(out_dir=out))
    return out


@pytest.fixture(scope="session")
def release(dist, tmp_path_factory) -> Path:
    """A published release of the shipped data: OUTDIR/0.1.0 (OUTDIR also has `latest`)."""
    from pledgegraph.publish import publish

    outdir = tmp_path_factory.mktemp("site")
    publish(outdir, dist)
    return outdir / "0.1.0"


def edited_dist(tmp_path: Path, data_copy: Path) -> Path:
    """The shipped data as version 0.2.0, a day later, with one curator's note reworded, built."""
    from pledgegraph.pipeline import build_all

    dataset = data_copy / "dataset.yaml"
    dataset.write_text(dataset.read_text().replace("version: 0.1.0", "version: 0.2.0")
                       .replace("modified: 2026-11-21", "modified: 2026-11-22"))
    sources = data_copy / "sources.yaml"
    old_note = "note: Undated; written after 23 June 2015, from its content."
    assert old_note in sources.read_text()
    sources.write_text(sources.read_text().replace(old_note, "note: Undated; re-checked."))
    out = tmp_path / "dist2"
    build_all(settings_for(data_dir=data_copy, out_dir=out))
    return out
