"""data/README.md's coverage table is recomputed from the shipped data: it cannot go stale."""

from __future__ import annotations

import re

from conftest import ROOT

from pledgegraph.model import schema
from pledgegraph.stages.evidence import coverage

README = ROOT / "data" / "README.md"
TABLE = re.compile(r"<!-- coverage:begin -->\n(.*?)<!-- coverage:end -->", re.S)
COLUMNS = [k.name for k in schema.KINDS.values() if k.name not in ("dataset", "source")]


def test_coverage_table_in_data_readme_matches_the_data(shipped):
    match = TABLE.search(README.read_text(encoding="utf-8"))
    assert match, "data/README.md lost its <!-- coverage:begin --> … <!-- coverage:end --> block"
    expected = coverage(shipped.dataset)
    assert match.group(1) == expected, "data/README.md's coverage table is stale; replace it with:\n" + expected


def test_every_seed_is_cited_by_records_of_the_main_kinds(shipped):
    table = coverage(shipped.dataset)
    for line in table.splitlines()[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        counts = dict(zip(COLUMNS, map(int, cells[1:])))
        assert counts["organization"] and counts["person"] and counts["place"], cells[0]
