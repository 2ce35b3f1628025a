"""Property-based tests: valid records always round-trip; arbitrary bytes never crash the tool."""

from __future__ import annotations

import string
import unicodedata
from pathlib import Path

import rdflib
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rdflib.compare import isomorphic

from conftest import ROOT
from pledgegraph.cli import main
from pledgegraph.delivery.export import serialize
from pledgegraph.stages.build import build
from pledgegraph.stages.load import load, load_vocabulary
from pledgegraph.stages.validate import rdflib_graph

VOCAB = load_vocabulary(ROOT / "ontology" / "vocabularies.ttl")
SOURCE = "wikipedia-is-caucasus-province"
QUOTE = "IS announced the group's formation on 23 June 2015"

ids = st.from_regex(r"\A[a-z][a-z0-9]{0,8}(-[a-z0-9]{1,6}){0,2}\Z")
text = st.text(
    st.characters(blacklist_categories=("Cs", "Cc", "Co", "Cn", "Zl", "Zp")), min_size=1, max_size=40
).filter(
    lambda s: (
        s.strip()
        and s == s.strip()
        # a name needs a visible character: the loader refuses one of only
        # format characters or combining marks (e.g. a lone zero-width space)
        and any(unicodedata.category(c)[0] in "LNPS" for c in s)
    )
)
langs = st.sampled_from(["en", "ru", "ar", "ar-Latn", "ce", "ka", "az", "hy", "ru-Latn", "de-CH"])
days = st.dates(
    min_value=__import__("datetime").date(1900, 1, 1), max_value=__import__("datetime").date(2026, 1, 1)
)  # no later than a dataset's date
dates = st.one_of(
    days.map(lambda d: d.isoformat()),
    days.map(lambda d: d.isoformat()[:7]),
    days.map(lambda d: d.isoformat()[:4]),
    days.map(lambda d: {"by": d.isoformat()}),
    st.tuples(days, days).map(lambda p: {"from": min(p).isoformat(), "to": max(p).isoformat()}),
    st.tuples(days, st.sampled_from(["early", "mid", "late"])).map(
        lambda p: {"in": p[0].isoformat()[:4], "part": p[1]}
    ),
)
cite = st.one_of(st.just(SOURCE), st.just({"source": SOURCE, "quote": QUOTE}))
# a list holds each item once (the loader refuses one listed twice: it would be one node)
names = st.lists(
    st.fixed_dictionaries(
        {"name": text, "lang": langs, "sources": st.lists(cite, min_size=1, max_size=2, unique_by=repr)}
    ),
    min_size=1,
    max_size=4,
    unique_by=lambda n: (n["name"], n["lang"]),
)


@st.composite
def records(draw):
    orgs = draw(st.lists(ids, min_size=1, max_size=4, unique=True))
    org_records = [
        {
            "id": f"org-{i}",
            "kind": [draw(st.sampled_from(sorted(VOCAB.concepts["org-kind"])))],
            "names": draw(names),
            "founded": [{"value": draw(dates), "sources": [SOURCE]}],
            "sources": [SOURCE],
        }
        for i in orgs
    ]
    persons = [
        {
            "id": f"person-{i}",
            "names": draw(names),
            "deaths": [{"date": draw(dates), "sources": [{"source": SOURCE, "quote": QUOTE}]}],
            "sources": [SOURCE],
        }
        for i in draw(st.lists(ids, min_size=1, max_size=3, unique=True))
    ]
    pledges = [
        {
            "id": f"pledge-{n}",
            "pledgers": [persons[0]["id"]],
            "to": org_records[-1]["id"],
            "date": draw(dates),
            "sources": [{"source": SOURCE, "quote": QUOTE}],
        }
        for n in range(draw(st.integers(0, 2)))
    ]
    return {"organizations": org_records, "persons": persons, "pledges": pledges}


class _PlainDumper(yaml.SafeDumper):
    """Curators never write anchors (the reader refuses them), so the generator must not either."""

    def ignore_aliases(self, data):
        return True


def _data_dir(tmp_path_factory) -> Path:
    """A data directory holding only the one source the generated records cite."""
    data = tmp_path_factory.mktemp("data")
    (data / "sources.yaml").write_text(
        f"sources:\n  - id: {SOURCE}\n    title: Islamic State – Caucasus Province\n", encoding="utf-8"
    )
    return data


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(doc=records())
def test_any_valid_record_round_trips_through_every_format(tmp_path_factory, doc):
    data = _data_dir(tmp_path_factory)
    (data / "generated.yaml").write_text(
        yaml.dump(doc, Dumper=_PlainDumper, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    built = build(load(data, VOCAB))
    expected = rdflib_graph(built.triples)
    for fmt, parser in (("turtle", "turtle"), ("ntriples", "nt"), ("jsonld", "json-ld")):
        parsed = rdflib.Graph().parse(data=serialize(built.triples, fmt), format=parser)
        assert isomorphic(parsed, expected), fmt


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    blob=st.one_of(
        st.binary(max_size=300), st.text(alphabet=string.printable + "äπ–«»\u200b", max_size=300).map(str.encode)
    )
)
def test_any_bytes_as_a_data_file_give_a_clean_result(tmp_path_factory, blob):
    data = tmp_path_factory.mktemp("fuzz")
    (data / "fuzz.yaml").write_bytes(blob)
    result = CliRunner().invoke(main, ["validate", "--data", str(data)])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code in (0, 1, 2)
    assert "Traceback" not in result.output
