"""Strict YAML: every YAML 1.1 surprise is either read as the curator meant or refused clearly."""

from __future__ import annotations

import pytest

from conftest import ROOT
from pledgegraph.errors import DataInvalid, UnusableInput
from pledgegraph.stages.load import load, load_vocabulary
from pledgegraph.stages.yamlread import MAX_DEPTH, YamlError, decode, read

VOCAB = load_vocabulary(ROOT / "ontology" / "vocabularies.ttl")
SRC = "wikipedia-is-caucasus-province"


def person(extra_name_line: str = "", extra: str = "", name: str = "Test Person") -> str:
    return (
        f"persons:\n  - id: test-person\n    names:\n      - name: {name}\n        lang: en\n"
        f"{extra_name_line}        sources: [{SRC}]\n    sources: [{SRC}]\n{extra}"
    )


def estimate(value: str) -> str:
    return (
        f"estimates:\n  - id: test-estimate\n    quantity: fighters-abroad\n    population: militants\n"
        f"    bound: approximately\n    value: {value}\n    sources:\n      - {{source: {SRC}, quote: militants}}\n"
    )


@pytest.fixture
def data_dir(tmp_path):
    """A data directory holding only the source the test records cite: each test loads one file of its
    own beside it, not the whole shipped data (what these tests check is how a value is read)."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "sources.yaml").write_text(
        f"sources:\n  - id: {SRC}\n    title: Islamic State – Caucasus Province\n", encoding="utf-8"
    )
    return data


def load_with(data_dir, text: str):
    (data_dir / "zz-test.yaml").write_text(text, encoding="utf-8")
    return load(data_dir, VOCAB)


def problems_with(data_dir, text: str, exc=DataInvalid):
    with pytest.raises(exc) as info:
        load_with(data_dir, text)
    return [p for p in info.value.problems if p.position.file.endswith("zz-test.yaml") and p.severity == "error"]


@pytest.mark.parametrize("word", ["no", "yes", "on", "off", "y", "n", "Yes", "NO", "True", "FALSE"])
def test_yaml_11_booleans_are_refused_in_true_false_fields(data_dir, word):
    (problem,) = problems_with(data_dir, person(f"        preferred: {word}\n"))
    assert problem.message == f"'preferred' is true or false, not '{word}'"
    assert problem.position.line == 6 and "yes/no/on/off" in problem.hint


@pytest.mark.parametrize("word", ["true", "false"])
def test_true_and_false_are_booleans(data_dir, word):
    dataset = load_with(data_dir, person(f"        preferred: {word}\n"))
    assert dataset.by_id["test-person"].data["names"][0].data["preferred"] is (word == "true")


@pytest.mark.parametrize(
    "word", ["no", "yes", "on", "off", "true", "null_", "1:20", "012", "1e3", "0x1F", ".inf", "2015-06-23"]
)
def test_plain_words_stay_text_in_text_fields(data_dir, word):
    dataset = load_with(data_dir, person(name=word))
    assert dataset.by_id["test-person"].data["names"][0].data["name"] == word


@pytest.mark.parametrize(
    "value, hint",
    [
        ("012", "write 12"),
        ("1_000", ""),
        ("1e3", ""),
        ("1.2e3", ""),
        ("0x10", ""),
        ("0o12", ""),
        ("+5", ""),
        ("-5", ""),
        ("12.0", ""),
        (".inf", ""),
        ("1,000", ""),
        ("twelve", ""),
    ],
)
def test_numbers_yaml_would_retype_are_refused_in_int_fields(data_dir, value, hint):
    (problem,) = problems_with(data_dir, estimate(value))
    assert problem.message == f"'{value}' is not a whole number" and problem.rule == "estimate.value"
    assert problem.position.line == 6 and (hint in problem.hint)


@pytest.mark.parametrize("value", ['"1200"', "'1200'"])
def test_quoted_numbers_are_refused_in_int_fields_with_the_fix(data_dir, value):
    (problem,) = problems_with(data_dir, estimate(value))
    assert problem.message == "'value' is a number: write it without quotes" and problem.hint == "value: 1200"


@pytest.mark.parametrize("value, number", [("0", 0), ("1200", 1200), ("1500", 1500)])
def test_plain_whole_numbers_are_read(data_dir, value, number):
    assert load_with(data_dir, estimate(value)).by_id["test-estimate"].data["value"] == number


@pytest.mark.parametrize(
    "written, precision, earliest, latest",
    [
        ("2015", "year", "2015-01-01", "2015-12-31"),
        ("2015-06", "month", "2015-06-01", "2015-06-30"),
        ("2015-06-23", "day", "2015-06-23", "2015-06-23"),
        ('"2015-06-23"', "day", "2015-06-23", "2015-06-23"),
        ("{on: 2015-06, as_stated: 2015-06-23}", "month", "2015-06-01", "2015-06-30"),
    ],
)
def test_unquoted_dates_are_read_as_text_at_their_precision(data_dir, written, precision, earliest, latest):
    text = person(extra=f"    deaths:\n      - date: {written}\n        sources: [{SRC}]\n")
    date = load_with(data_dir, text).by_id["test-person"].data["deaths"][0].data["date"]
    assert (date.point.precision, date.earliest.isoformat(), date.latest.isoformat()) == (precision, earliest, latest)


def test_as_stated_that_looks_like_a_date_stays_the_words(data_dir):
    text = person(extra=f"    deaths:\n      - date: {{on: 2015, as_stated: 2015-06-23}}\n        sources: [{SRC}]\n")
    date = load_with(data_dir, text).by_id["test-person"].data["deaths"][0].data["date"]
    assert date.as_stated == "2015-06-23"


def test_a_version_like_1_10_is_not_the_number_1_1(data_copy):
    (data_copy / "dataset.yaml").write_text(
        (data_copy / "dataset.yaml").read_text().replace("version: 0.1.0", "version: 1.10")
    )
    assert load(data_copy, VOCAB).info.data["version"] == "1.10"


@pytest.mark.parametrize("empty", ["", "~", "null", "Null", "NULL"])
def test_null_is_an_empty_field_not_the_word(data_dir, empty):
    (problem,) = problems_with(data_dir, person(extra=f"    origin: {empty}\n"))
    assert problem.message == "'origin' is empty" and problem.hint == "give a value or remove the line"


def test_yaml_11_keys_like_on_stay_keys(data_dir):
    text = person(extra=f"    deaths:\n      - date:\n          on: 2016-12\n        sources: [{SRC}]\n")
    date = load_with(data_dir, text).by_id["test-person"].data["deaths"][0].data["date"]
    assert date.point.text == "2016-12"


def test_nesting_up_to_the_limit_is_read_and_beyond_it_refused():
    nested = read("[" * MAX_DEPTH + "]" * MAX_DEPTH)
    for _ in range(MAX_DEPTH - 1):
        nested = nested[0]
    assert nested == []
    with pytest.raises(YamlError, match="nesting deeper"):
        read("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1))


@pytest.mark.parametrize(
    "data, fragment, line, column",
    [
        (b"\xef\xbb\xbfa: b\n", "byte-order mark", 1, 1),
        ("a: b\n".encode("utf-16"), "UTF-16", 1, 1),
        (b"a: b\nc: caf\xe9\n", "byte 0xe9 is not UTF-8", 2, 7),
        (b"a: b\nc: d\x00\n", "NUL character", 2, 1),
    ],
)
def test_encoding_problems_are_named_with_their_line(data, fragment, line, column):
    with pytest.raises(YamlError, match=fragment) as info:
        decode(data)
    assert (info.value.line, info.value.column) == (line, column)


def test_huge_scalar_is_refused_before_it_is_used(data_dir):
    (problem,) = problems_with(data_dir, person(name="x" * 100_001), UnusableInput)
    assert "longer than the 100000 allowed" in problem.message and problem.position.line == 4


def test_tab_indentation_is_named(data_dir):
    (problem,) = problems_with(data_dir, "persons:\n\t- id: x\n", UnusableInput)
    assert (problem.message, problem.position.line, problem.hint) == (
        "a tab character: YAML indentation must use spaces",
        2,
        "replace the tab with spaces",
    )


def test_tabs_inside_quoted_text_are_kept(data_dir):
    dataset = load_with(data_dir, person(name='"Test\\tPerson"'))
    assert dataset.by_id["test-person"].data["names"][0].data["name"] == "Test\tPerson"


def test_second_document_is_refused(data_dir):
    (problem,) = problems_with(data_dir, person() + "---\npersons: []\n", UnusableInput)
    assert "more than one YAML document" in problem.message and problem.position.line == 8
