"""data/README.md's coverage table is recomputed from the shipped data: it cannot go stale."""

from __future__ import annotations

import re

from conftest import ROOT

from pledgegraph import schema
from pledgegraph.records import Claimed, Item

README = ROOT / "data" / "README.md"
TABLE = re.compile(r"<!-- coverage:begin -->\n(.*?)<!-- coverage:end -->", re.S)
COLUMNS = [k.name for k in schema.KINDS.values() if k.name not in ("dataset", "source")]


def cited_sources(value) -> set[str]:
    """Every source id cited anywhere inside a record (its names, claims and nested facts too)."""
    if isinstance(value, Item):
        found = {value.data["source"]} if value.kind == "citation" else set()
        return found.union(*(cited_sources(v) for v in value.data.values()))
    if isinstance(value, Claimed):
        return cited_sources(value.sources)
    if isinstance(value, list):
        return set().union(*(cited_sources(v) for v in value))
    return set()


def coverage_table(dataset) -> str:
    """Markdown: per seed (a source with an archived text), how many records of each kind cite it."""
    seeds = [s for s in dataset.of_kind("source") if "archived_as" in s.data]
    counts = {(s.id, k): 0 for s in seeds for k in COLUMNS}
    for record in dataset.records:
        for source in cited_sources(record):
            if (source, record.kind) in counts:
                counts[source, record.kind] += 1
    header = "| seed | " + " | ".join(COLUMNS) + " | all |\n"
    rule = "|---|" + "---:|" * (len(COLUMNS) + 1) + "\n"
    rows = "".join(
        f"| `{s.id}` | " + " | ".join(str(counts[s.id, k]) for k in COLUMNS)
        + f" | {sum(counts[s.id, k] for k in COLUMNS)} |\n" for s in seeds)
    return header + rule + rows


def test_coverage_table_in_data_readme_matches_the_data(shipped):
    match = TABLE.search(README.read_text(encoding="utf-8"))
    assert match, "data/README.md lost its <!-- coverage:begin --> … <!-- coverage:end --> block"
    expected = coverage_table(shipped.dataset)
    assert match.group(1) == expected, "data/README.md's coverage table is stale; replace it with:\n" + expected


def test_every_seed_is_cited_by_records_of_the_main_kinds(shipped):
    table = coverage_table(shipped.dataset)
    for line in table.splitlines()[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        counts = dict(zip(COLUMNS, map(int, cells[1:])))
        assert counts["organization"] and counts["person"] and counts["place"], cells[0]
