"""Editor support: the JSON Schema is generated from schema.py, shipped as generated, and accepts
the shipped data (read as a YAML 1.2 editor reads it) while catching the usual mistakes."""

from __future__ import annotations

import re

import jsonschema
import pytest
from click.testing import CliRunner

from conftest import ROOT
from pledgegraph.cli import main
from pledgegraph.editor.json_schema import FILE_NAME, data_schema, render
from pledgegraph.model import schema
from pledgegraph.model.records import CHECKS_FILE
from pledgegraph.stages.load import load_vocabulary
from pledgegraph.stages.yamlread import MDict, MList, Plain, decode, read

VOCAB = load_vocabulary(ROOT / "ontology" / "vocabularies.ttl")
SHIPPED = ROOT / "data" / FILE_NAME

# YAML 1.2 core schema, which yaml-language-server uses: how an editor types plain scalars.
_INT = re.compile(r"^[-+]?[0-9]+$|^0o[0-7]+$|^0x[0-9a-fA-F]+$")
_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$|^[-+]?\.(inf|Inf|INF)$|^\.(nan|NaN|NAN)$")


def as_editor_sees_it(value):
    if isinstance(value, MDict):
        return {k: as_editor_sees_it(v) for k, v in value.items()}
    if isinstance(value, MList):
        return [as_editor_sees_it(v) for v in value]
    if isinstance(value, Plain):
        if value in ("true", "True", "TRUE", "false", "False", "FALSE"):
            return value.lower() == "true"
        if _INT.match(value):
            return int(value, 0) if value[:2] in ("0o", "0x") else int(value)
        if _FLOAT.match(value):
            return float(value.replace("inf", "Infinity").replace(".Infinity", "Infinity"))
    return value if value is None else str(value)


@pytest.fixture(scope="module")
def validator():
    return jsonschema.Draft7Validator(data_schema(VOCAB))


def test_shipped_schema_is_the_generated_one():
    assert SHIPPED.read_bytes() == render(data_schema(VOCAB)), "run `pledgegraph schema` to regenerate it"


def test_schema_is_a_valid_draft_7_schema():
    jsonschema.Draft7Validator.check_schema(data_schema(VOCAB))


RECORD_FILES = sorted(p for p in (ROOT / "data").glob("*.yaml") if p.name != CHECKS_FILE)  # checks.yaml: settings


def test_data_files_point_their_editor_at_the_schema():
    for path in RECORD_FILES:
        assert path.read_text().splitlines()[0] == f"# yaml-language-server: $schema={FILE_NAME}", path


@pytest.mark.parametrize("path", RECORD_FILES, ids=lambda p: p.name)
def test_shipped_data_is_valid_against_the_schema(validator, path):
    document = as_editor_sees_it(read(decode(path.read_bytes())))
    errors = [f"{list(e.absolute_path)}: {e.message[:200]}" for e in validator.iter_errors(document)]
    assert errors == []


def test_every_kind_field_and_concept_is_in_the_schema():
    generated = data_schema(VOCAB)
    defs = generated["definitions"]
    for kind in schema.KINDS.values():
        assert kind.key in generated["properties"]
        assert set(defs[kind.name]["properties"]) - {"id"} == {f.name for f in kind.fields}
    assert defs["organization"]["properties"]["kind"]["items"]["enum"] == sorted(VOCAB.concepts["org-kind"])


SRC = "wikipedia-is-caucasus-province"


@pytest.mark.parametrize(
    "text, where",
    [
        ("persons:\n  - id: x\n    nmaes: []\n    sources: [s]\n", "nmaes"),  # unknown field
        ("organizations:\n  - id: x\n    kind: [militant]\n    names: []\n    sources: [s]\n", "militant"),  # concept
        ("persons:\n  - id: Not An Id\n    names: []\n    sources: [s]\n", "Not An Id"),  # id
        ("persons:\n  - id: x\n    names: []\n", "sources"),  # required
        ("people: []\n", "people"),  # kind
        (
            "estimates:\n"
            '  - {id: x, quantity: fighters-abroad, population: p, bound: over, value: "12", sources: [s]}\n',
            "12",
        ),  # quoted number
        ("pledges:\n  - {id: x, pledgers: [a], to: b, date: {by: June}, sources: [s]}\n", "date"),  # date
    ],
)
def test_schema_flags_the_usual_mistakes(validator, text, where):
    errors = list(validator.iter_errors(as_editor_sees_it(read(text))))
    assert errors and any(where in f"{e.message} {list(e.absolute_path)}" for e in errors), [e.message for e in errors]


def test_schema_command_writes_and_checks(tmp_path, project):
    out = tmp_path / FILE_NAME
    runner = CliRunner()
    assert runner.invoke(main, ["schema", "--out", str(out)]).exit_code == 0
    assert out.read_bytes() == SHIPPED.read_bytes()
    assert runner.invoke(main, ["schema", "--out", str(out), "--check"]).exit_code == 0
    out.write_text("{}\n")
    stale = runner.invoke(main, ["schema", "--out", str(out), "--check"])
    assert stale.exit_code == 1 and "out of date" in stale.output
    assert runner.invoke(main, ["schema", "--check"]).exit_code == 0  # the shipped file
