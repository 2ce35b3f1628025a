"""Messages: every kind of bad input is reported at its line, with the value, the rule and a hint.

The cases live in bad_inputs.py, so `python tests/message_table.py` prints exactly what is tested.
"""

from __future__ import annotations

import json
import re
import shutil

import pytest
from click.testing import CliRunner

from bad_inputs import CASES, EXTRA_SHAPES, ORG
from conftest import ROOT
from pledgegraph.cli import main
from pledgegraph.errors import Position, Problem, sorted_unique

LINE = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+):(?P<column>\d+): (?P<severity>error|warning|info): ")


def validate(data_dir, *args, shapes_dir=None):
    env = {"PLEDGEGRAPH_SHAPES_DIR": str(shapes_dir)} if shapes_dir else None
    return CliRunner().invoke(main, ["validate", "--data", str(data_dir), *args], env=env, catch_exceptions=False)


def with_extra_shapes(tmp_path):
    shapes = tmp_path / "shapes"
    shutil.copytree(ROOT / "shapes", shapes)
    (shapes / "zz-extra.ttl").write_text(EXTRA_SHAPES)
    return shapes


def test_shacl_warning_on_a_nested_name_points_at_the_name(project, data_copy, tmp_path):
    (data_copy / "zz-case.yaml").write_text(ORG)
    result = validate(data_copy, shapes_dir=with_extra_shapes(tmp_path))
    assert result.exit_code == 0, result.output
    assert (
        "data/zz-case.yaml:5:9: warning: test-org: says not what kind of name this is: add `kind:` "
        "(real-name, kunya, transliteration...) [organization.names.kind]" in result.output.splitlines()
    )


def test_problems_are_sorted_deduplicated_and_counted(project, data_copy):
    (data_copy / "zz-a.yaml").write_text("persons:\n  - id: a\n    nmaes: []\n    origin: nowhere\n")
    (data_copy / "aa-b.yaml").write_text("persons:\n  - id: b\n    colour: red\n")
    result = validate(data_copy)
    lines = result.output.splitlines()
    located = [LINE.match(line) for line in lines[:-1]]
    assert all(located), lines
    keys = [(m["file"], int(m["line"]), int(m["column"])) for m in located]
    assert keys == sorted(keys) and len(set(lines)) == len(lines)
    severities = [m["severity"] for m in located]
    assert lines[-1].startswith(f"{severities.count('error')} error(s), {severities.count('warning')} warning(s)")


def test_exact_repeats_are_reported_once():
    p = Problem(Position("data/x.yaml", 3, 5), "boom", entity="x")
    assert sorted_unique([p, p, Problem(Position("data/x.yaml", 1, 1), "first")]) == [
        Problem(Position("data/x.yaml", 1, 1), "first"),
        p,
    ]


def test_shacl_results_use_field_names_and_ids_never_iris(project, data_copy, tmp_path):
    (data_copy / "zz-case.yaml").write_bytes(next(c for c in CASES if c.extra_shapes).data)
    result = validate(data_copy, "--format", "json", shapes_dir=with_extra_shapes(tmp_path))
    doc = json.loads(result.output)
    ours = [p for p in doc["problems"] if p["file"].endswith("zz-case.yaml")]
    assert ours and all("http" not in p["message"] + p["rule"] + p["value"] for p in ours)
    date = next(p for p in ours if p["severity"] == "error")
    assert (date["line"], date["column"], date["rule"], date["value"], date["entity"]) == (
        9,
        14,
        "organization.founded",
        "1815-01-01",
        "test-org",
    )


def test_disagreeing_claimed_dates_are_each_traced_to_their_own_line(project, data_copy, tmp_path):
    (data_copy / "zz-case.yaml").write_text(
        "organizations:\n  - id: test-org\n    kind: [militant-group]\n"
        "    names: [{name: T, lang: en, sources: [wikipedia-is-caucasus-province]}]\n"
        "    founded:\n"
        '      - {value: "2007", sources: [wikipedia-is-caucasus-province]}\n'
        '      - {value: "1807", sources: [dailybeast-isis-comes-to-russia]}\n'
        "    sources: [wikipedia-is-caucasus-province]\n"
    )
    result = validate(data_copy, shapes_dir=with_extra_shapes(tmp_path))
    errors = [line for line in result.output.splitlines() if ": error:" in line]
    assert errors == [
        "data/zz-case.yaml:7:9: error: test-org: is before 1900: check the year "
        "(value: '1807-01-01') [organization.founded]"
    ]


def test_colour_only_on_a_terminal(project, data_copy):
    (data_copy / "zz-case.yaml").write_text("persons:\n  - id: a\n    nmaes: []\n")
    assert "\x1b[" not in validate(data_copy).output


@pytest.mark.parametrize(
    "term, text",
    [
        ("<https://w3id.org/pledgegraph/id/org/islamic-state>", "islamic-state"),
        ('"1815-01-01"^^<http://www.w3.org/2001/XMLSchema#date>', "1815-01-01"),
        ('"Say \\"no\\""@en', 'Say "no"'),
        ("https://w3id.org/pledgegraph/vocab/org-kind/province", "province"),
        ("https://w3id.org/pledgegraph/ontology#Pledge", "pg:Pledge"),
    ],
)
def test_values_are_shown_as_curators_write_them_whatever_the_engine(shipped, term, text):
    from pledgegraph.stages.explain import problem

    assert problem(shipped.built, "https://w3id.org/pledgegraph/id/org/caucasus-emirate", value=term).value == text


def test_rules_of_shape_results_are_the_yaml_paths_the_curator_wrote():
    """Every node the builder makes names the YAML field path it comes from (`event.claimed_by`,
    not the struct's name `responsibility`), so SHACL results on it carry that path as their rule."""
    from pledgegraph.model import schema
    from pledgegraph.model.graph import locate
    from pledgegraph.stages.build import build
    from pledgegraph.stages.load import load, load_vocabulary

    built = build(load(ROOT / "data", load_vocabulary(ROOT / "ontology" / "vocabularies.ttl")))
    rules = set(built.node_rules.values()) - {"subordination"}
    assert {"event.claimed_by", "person.deaths.sources", "tenure.end", "organization.founded"} <= rules
    assert [r for r in rules if schema.at_path(r) is None] == []
    claim = next(n for n, rule in built.node_rules.items() if rule == "event.claimed_by")
    assert locate(built, claim, "https://w3id.org/pledgegraph/ontology#claimant")[2] == "event.claimed_by.by"
