"""Loading: records keep their file and line, and every kind of malformed input is reported precisely."""

from __future__ import annotations

import textwrap

import pytest

from conftest import ROOT, settings_for
from pledgegraph.errors import DataInvalid, UnusableInput
from pledgegraph.stages.load import load, load_vocabulary

VOCAB = load_vocabulary(ROOT / "ontology" / "vocabularies.ttl")


def test_every_record_knows_its_file_and_line(shipped):
    for record in shipped.dataset.records:
        lines = (ROOT / "data" / record.position.file.split("data/", 1)[-1]).read_text().splitlines()
        line = lines[record.position.line - 1]
        if record.kind == "dataset":
            continue
        assert f"id: {record.id}" in line, (record.id, record.position)


def test_name_variants_are_all_kept(shipped):
    names = {n.data["name"] for n in shipped.dataset.by_id["rustam-asildarov"].data["names"]}
    assert {"Rustam Asildarov", "Rustam Asilderov", "Abu Muhammad al-Kadarskii", "Abu Mohammad al-Qadari"} <= names


def _problems(data_dir, exc=DataInvalid):
    with pytest.raises(exc) as info:
        load(data_dir, VOCAB)
    return info.value.problems


def _write(data_dir, name, text):
    path = data_dir / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


PERSON = """\
persons:
  - id: test-person
    names:
      - name: Test Person
        lang: en
        sources: [wikipedia-is-caucasus-province]
    sources: [wikipedia-is-caucasus-province]
"""


@pytest.mark.parametrize(
    "text, line, fragment",
    [
        (PERSON.replace("id: test-person", "id: rustam-asildarov"), 2, "duplicate id 'rustam-asildarov'"),
        (PERSON.replace("lang: en", "lang: english"), 5, "not a BCP 47 language tag"),
        (PERSON.replace("    sources: [wikipedia-is-caucasus-province]\n", ""), 2, "missing required field 'sources'"),
        (
            PERSON.replace("    sources: [wikipedia", "    sources: [wikipedai"),
            7,
            "unknown source 'wikipedai-is-caucasus-province'",
        ),
        (PERSON.replace("    names:", "    nmaes:"), 3, "unknown field 'nmaes'"),
        (PERSON.replace("id: test-person", "id: Test Person"), 2, "is not a valid id"),
        (
            PERSON + "    deaths:\n      - date: 2016-13-04\n        sources: [wikipedia-is-caucasus-province]\n",
            9,
            "not a real calendar date",
        ),
        (PERSON.replace("lang: en", "lang: en\n        preferred: yes"), 6, "is true or false, not 'yes'"),
        (
            PERSON + "    origin: caucasus-emirate\n",
            8,
            "'caucasus-emirate' is an organization, but 'origin' expects a place",
        ),
    ],
)
def test_bad_record_is_reported_at_its_line(data_copy, text, line, fragment):
    _write(data_copy, "zz-test.yaml", text)
    problems = [p for p in _problems(data_copy) if p.position.file.endswith("zz-test.yaml")]
    assert any(fragment in p.message and p.position.line == line for p in problems), [p.format() for p in problems]


def test_near_miss_reference_gets_a_hint(data_copy):
    _write(data_copy, "zz-test.yaml", PERSON + "    origin: chechnia\n")
    (problem,) = [p for p in _problems(data_copy) if p.severity == "error"]
    assert problem.hint == "did you mean 'chechnya'?"
    assert problem.entity == "test-person"


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("persons:\n  - &a {id: x}\n", "anchor '&a' is not allowed"),
        ("persons: [\n", "YAML syntax"),
        ("persons:\n  - id: a\n    id: b\n", "duplicate key 'id'"),
        ("persons:\n  - <<: {id: a}\n", "merge key '<<' is not allowed"),
        ("persons:\n  - !!str id: a\n", "tag 'tag:yaml.org,2002:str' is not allowed"),
    ],
)
def test_unsafe_or_broken_yaml_is_refused(data_copy, text, fragment):
    _write(data_copy, "zz-test.yaml", text)
    problems = _problems(data_copy, UnusableInput)
    assert any(fragment in p.message for p in problems), [p.format() for p in problems]


def test_alias_bomb_is_refused_before_it_expands(data_copy):
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n" for p, c in zip("abcdefgh", "bcdefghi")
    )
    _write(data_copy, "zz-test.yaml", bomb)
    (problem,) = _problems(data_copy, UnusableInput)
    assert problem.position.line == 1 and "anchor" in problem.message


def test_byte_order_mark_and_other_encodings_are_named(data_copy):
    (data_copy / "zz-bom.yaml").write_bytes(b"\xef\xbb\xbfpersons: []\n")
    (data_copy / "zz-latin1.yaml").write_bytes("persons: []\n# caf\xe9\n".encode("latin-1"))
    messages = {p.position.file.rsplit("/", 1)[-1]: p for p in _problems(data_copy, UnusableInput)}
    assert "byte-order mark" in messages["zz-bom.yaml"].message
    assert "not UTF-8" in messages["zz-latin1.yaml"].message and messages["zz-latin1.yaml"].position.line == 2


def test_yaml_11_words_stay_text_where_the_format_wants_text(data_copy):
    _write(data_copy, "zz-test.yaml", PERSON.replace("name: Test Person", "name: no"))
    dataset = load(data_copy, VOCAB)
    assert dataset.by_id["test-person"].data["names"][0].data["name"] == "no"


def test_unquoted_dates_keep_their_precision(data_copy):
    dataset = load(data_copy, VOCAB)
    founded = dataset.by_id["caucasus-emirate"].data["founded"][0].value
    assert (founded.point.precision, founded.earliest.isoformat(), founded.latest.isoformat()) == (
        "year",
        "2007-01-01",
        "2007-12-31",
    )


def test_symlink_leaving_the_data_directory_is_refused(data_copy, tmp_path):
    outside = tmp_path / "outside.yaml"
    outside.write_text(PERSON)
    (data_copy / "zz-link.yaml").symlink_to(outside)
    (problem,) = _problems(data_copy, UnusableInput)
    assert "outside the data directory" in problem.message


def test_settings_refuse_a_base_that_is_not_an_iri_prefix():
    with pytest.raises(UnusableInput):
        settings_for().__class__(base="not a base")
