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


@pytest.fixture
def data_copy(tmp_path) -> Path:
    """A writable copy of the shipped data directory."""
    target = tmp_path / "data"
    shutil.copytree(ROOT / "data", target)
    return target


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
def built_dist(tmp_path_factory) -> Path:
    """The shipped data built once into a throwaway dist/ (for query and serve tests)."""
    from pledgegraph.pipeline import build_all

    out = tmp_path_factory.mktemp("built") / "dist"
    build_all(settings_for(out_dir=out))
    return out
