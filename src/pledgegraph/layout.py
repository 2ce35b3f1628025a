"""Where things are and what the defaults are: one place, so every command agrees."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from pledgegraph.errors import UnusableInput
from pledgegraph.model.vocab import DEFAULT_BASE

# The build output's layout, shared by the pipeline that writes it and the delivery modules that read it.
OUTPUT_STEM = "pledgegraph"
GRAPH_NAMES = ("asserted", "inferred", "ontology")


def graph_iri(base: str, name: str) -> str:
    """Named graphs in the TriG/N-Quads outputs: <base>graph/asserted, …/inferred, …/ontology."""
    return f"{base}graph/{name}"


# The SHACL engines and OWL RL reasoners: ours first (the default), then the reference.
SHACL_ENGINES = ("compiled", "pyshacl")
REASONERS = ("compiled", "owlrl")
# How `push` gets the data into the store: bulk when the store can read files written here, or HTTP.
PUSH_LOADS = ("auto", "bulk", "http")

_BASE_RE = re.compile(r"^https?://[^\s<>\"{}|\\^`#?]+/$")


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("data")
    ontology_dir: Path = Path("ontology")
    shapes_dir: Path = Path("shapes")
    out_dir: Path = Path("dist")
    queries_dir: Path = Path("queries")
    base: str = DEFAULT_BASE
    archive_dir: Path | None = None  # archived source texts: when set, quotes are checked here (not checks.yaml's)
    shacl_engine: str = SHACL_ENGINES[0]
    reasoner: str = REASONERS[0]
    low_memory: bool = False  # `build --low-memory`: the SHACL store on disk (pipeline.ON_DISK_FROM: always, past it)

    def __post_init__(self):
        if not _BASE_RE.fullmatch(self.base):
            raise UnusableInput(f"base IRI '{self.base}' must be an http(s) IRI ending in '/'")

    @property
    def ontology_files(self) -> list[Path]:
        return sorted(self.ontology_dir.glob("*.ttl"))

    @property
    def vocabulary_file(self) -> Path:
        return self.ontology_dir / "vocabularies.ttl"

    @property
    def shape_files(self) -> list[Path]:
        return sorted(self.shapes_dir.glob("*.ttl"))

    @classmethod
    def from_env(cls, **overrides) -> "Settings":
        """Defaults, then PLEDGEGRAPH_* environment variables, then explicit overrides."""
        values: dict[str, Path | str] = {}
        for name in ("data_dir", "ontology_dir", "shapes_dir", "out_dir", "archive_dir", "queries_dir"):
            env = os.environ.get("PLEDGEGRAPH_" + name.upper())
            if env:
                values[name] = Path(env)
        if os.environ.get("PLEDGEGRAPH_BASE"):
            values["base"] = os.environ["PLEDGEGRAPH_BASE"]
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]  # each key's type is its field's
