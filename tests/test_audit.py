"""Curation audit (issue 19): the machine checks of a fact against its quotes, the fields for
everyday news items and possible identities, and the per-paragraph coverage table: real YAML in,
real RDF out."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pyoxigraph as ox
import pytest

from conftest import ROOT, SEEDS, settings_for
from pledgegraph.delivery.release.pages import render_entity
from pledgegraph.pipeline import check, ontology_triples
from pledgegraph.stages.audit import audit, paragraph_coverage, paragraph_table, reasons_of
from pledgegraph.stages.build import build
from pledgegraph.stages.load import load, load_vocabulary

PG = "https://w3id.org/pledgegraph/ontology#"
ID = "https://w3id.org/pledgegraph/id/"
VOCAB = ROOT / "ontology" / "vocabularies.ttl"
README = ROOT / "data" / "README.md"
PARAGRAPHS = re.compile(r"<!-- paragraphs:begin -->\n(.*?)<!-- paragraphs:end -->", re.S)
EXAMPLE = re.compile(r"<!-- example:begin -->\n```yaml\n(.*?)```\n<!-- example:end -->", re.S)


def _load(data: Path):
    return load(data, load_vocabulary(VOCAB))


def _with(data_copy: Path, text: str):
    (data_copy / "zz-test.yaml").write_text(text, encoding="utf-8")
    return _load(data_copy)


def _store(dataset) -> ox.Store:
    store = ox.Store()
    store.load(build(dataset).ntriples(), format=ox.RdfFormat.N_TRIPLES)
    return store


def _ask(store: ox.Store, select: str, where: str) -> list[tuple]:
    rows = store.query(
        f"PREFIX pg: <{PG}> PREFIX id: <{ID}> PREFIX skos: <http://www.w3.org/2004/02/skos/core#> "
        f"SELECT {select} WHERE {{ {where} }}"
    )
    names = select.replace("?", "").split()
    return sorted(tuple(row[n].value if row[n] is not None else None for n in names) for row in rows)


EVENT = """events:
  - id: audit-test-event
    kind: [attack]
    label: A test event
    {date}
    casualties:
      - status: killed
        bound: unspecified
        group: all of the attackers
        sources:
          - source: wikipedia-is-caucasus-province
            quote: All of the attackers were allegedly killed during the attack.
            {hedge}
    sources:
      - source: wikipedia-is-caucasus-province
        quote: {quote}
"""
PLAIN = "suspected IS gunmen attacked a Russian police post in the village of Mara-Ayagy"


def _mine(dataset, rule="", entity="audit-test-event"):
    return sorted(
        (p for p in audit(dataset) if p.entity == entity and p.rule.startswith(rule)), key=lambda p: p.position
    )


def _event(data_copy, date="", hedge="", quote=PLAIN):
    return _with(data_copy, EVENT.format(date=date, hedge=hedge, quote=quote))


# -- the checks, on the shipped data -------------------------------------------------------------


def test_shipped_data_has_only_the_explained_audit_warning(shipped):
    """data/README.md explains the one: the published id `…-2014-11-12` reads "-12" as a day."""
    lines = (ROOT / "data" / "pledges.yaml").read_text(encoding="utf-8").splitlines()
    line = lines.index("  - id: emirate-commanders-defection-2014-11-12") + 1
    got = [(p.rule, p.entity, p.position.file.rsplit("/", 1)[-1], p.position.line) for p in audit(shipped.dataset)]
    assert got == [("audit.id-date", "emirate-commanders-defection-2014-11-12", "pledges.yaml", line)]
    # and `validate` reports it with the loader's warnings, at its file and line
    assert any(p.rule == "audit.id-date" and p.position.line == line for p in shipped.report.problems)


# -- hedges ---------------------------------------------------------------------------------------


def test_hedging_quote_without_hedge_is_warned_at_its_line(data_copy):
    found = _mine(_event(data_copy))
    assert [(p.rule, p.value, p.position.file.rsplit("/", 1)[-1], p.position.line) for p in found] == [
        ("audit.hedge", "alleged", "zz-test.yaml", 12),  # "allegedly", no hedge on the casualty
        ("audit.hedge", "suspected", "zz-test.yaml", 16),  # "suspected IS gunmen", no hedge on the event
    ]
    assert "hedge: alleged" in found[0].hint


def test_hedge_on_the_citation_silences_the_warning_and_is_published(data_copy):
    dataset = _event(data_copy, hedge="hedge: alleged", quote=PLAIN + "\n        hedge: suspected")
    assert _mine(dataset) == []
    hedges = _ask(
        _store(dataset),
        "?h",
        f'?c a pg:Citation ; pg:hedge ?h . FILTER(STRSTARTS(STR(?c), "{ID}event/audit-test-event"))',
    )
    # a fact all of whose citations hedge it carries the hedge itself (the casualty: "allegedly")
    marked = _ask(
        _store(dataset), "?f ?h", f'?f pg:hedgedBySources ?h . FILTER(STRSTARTS(STR(?f), "{ID}event/audit-test-event"))'
    )
    assert [(f.replace(f"{ID}event/audit-test-event", "", 1).split("/")[:2], h) for f, h in marked] == [
        ([""], "https://w3id.org/pledgegraph/vocab/hedge/suspected"),
        (["", "casualties"], "https://w3id.org/pledgegraph/vocab/hedge/alleged"),
    ]
    assert [h for (h,) in hedges] == [
        "https://w3id.org/pledgegraph/vocab/hedge/alleged",
        "https://w3id.org/pledgegraph/vocab/hedge/suspected",
    ]


def test_a_named_speaker_is_a_voice_marker_too(data_copy):
    dataset = _event(data_copy, hedge="said_by_label: the article", quote="All attackers were killed")
    assert _mine(dataset) == []


# -- dates and ids ------------------------------------------------------------------------------------


def test_a_date_in_none_of_the_quotes_is_warned(data_copy):
    found = _mine(_event(data_copy, date="date: 2024-04-22"), "audit.date")
    assert [(p.entity, p.value, p.position.line) for p in found] == [("audit-test-event", "2024-04-22", 5)]


@pytest.mark.parametrize(
    "date, quote",
    [
        ("date: 2024-04-28", "On 28 April 2024, suspected IS gunmen attacked a Russian police post"),
        ("date: {on: 2024-04, as_stated: In April 2024}", "In April 2024, Vilayat Kavkaz (sector Ingushetia) released"),
        ('date: "2018"', "the 2018 Magnitogorsk building collapse"),
    ],
)
def test_a_date_the_quotes_give_passes(data_copy, date, quote):
    assert _mine(_event(data_copy, date=date, hedge="hedge: alleged", quote=quote + "\n        hedge: suspected")) == []


def test_an_id_reading_as_a_day_no_date_has_is_warned(data_copy):
    text = EVENT.format(
        date='date: {from: "2014-11", to: "2014-12", as_stated: In November and December}',
        hedge="hedge: alleged",
        quote="In November and December six commanders",
    )
    found = _mine(
        _with(data_copy, text.replace("audit-test-event", "audit-test-2014-11-12")),
        "audit.id-date",
        "audit-test-2014-11-12",
    )
    assert [(p.entity, p.value) for p in found] == [("audit-test-2014-11-12", "2014-11-12")]
    assert (
        _mine(_with(data_copy, text.replace("audit-test-event", "audit-test-2014-11")), "audit", "audit-test-2014-11")
        == []
    )


# -- the format's everyday items: the worked example of data/README.md ----------------------------------


def test_the_worked_example_in_data_readme_loads_validates_and_publishes(data_copy):
    example = EXAMPLE.search(README.read_text(encoding="utf-8"))
    assert example, "data/README.md lost its <!-- example:begin --> … <!-- example:end --> block"
    (data_copy / "zz-example.yaml").write_text(example.group(1), encoding="utf-8")
    result = check(settings_for(data_copy))
    assert result.report.conforms
    assert [p for p in result.report.problems if p.entity.startswith("derbent") and p.rule.startswith("audit")] == []
    store = ox.Store()
    store.load(result.built.ntriples(), format=ox.RdfFormat.N_TRIPLES)
    attack, op = ID + "event/derbent-attack-example", ID + "event/derbent-detentions-example"
    assert _ask(store, "?p", f"<{attack}> pg:near ?p") == [(ID + "place/derbent",)]
    assert _ask(store, "?p", f"<{attack}> pg:place ?p") == []  # near, not at
    assert _ask(
        store, "?n ?who", f"<{attack}> pg:casualties ?c . ?c pg:casualtyCount ?n ; pg:figureReportedByLabel ?who"
    ) == [("2", "local officials")]
    # the claim's date is its own, the attack's is the attack's
    assert _ask(
        store, "?d ?c", f"<{attack}> pg:date/pg:dateLabel ?d ; pg:responsibilityClaim/pg:date/pg:dateLabel ?c"
    ) == [("on 3 May", "the next day")]
    assert _ask(
        store,
        "?e ?s ?n",
        f"<{op}> pg:followsEvent ?e ; pg:casualties ?c . ?c pg:casualtyStatus ?s ; pg:casualtyCount ?n",
    ) == [(attack, "https://w3id.org/pledgegraph/vocab/casualty-status/detained", "3")]


# -- pledges told without named pledgers -----------------------------------------------------------


def test_pledger_group_and_counts_are_published(shipped):
    store = ox.Store()
    store.load(shipped.built.ntriples(), format=ox.RdfFormat.N_TRIPLES)
    rows = _ask(
        store,
        "?p ?n ?b",
        "?p pg:pledgerGroup ?g . OPTIONAL { ?p pg:pledgerCount ?n } OPTIONAL { ?p pg:pledgerCountBound ?b }",
    )
    by_pledge = {p.rsplit("/", 1)[1]: (n, b.rsplit("/", 1)[1] if b else None) for p, n, b in rows}
    # DB: "six commanders"; WP: "many commanders"; RFE/RL: "several North Caucasian militant groups"
    assert by_pledge == {
        "emirate-commanders-defection-2014-11-12": ("6", "exactly"),
        "emirate-commanders-switch-to-baghdadi-2014-2015": (None, "unspecified"),
        "rferl-north-caucasian-groups-pledges": (None, "unspecified"),
    }
    assert _ask(store, "?x", f"<{ID}pledge/rferl-north-caucasian-groups-pledges> pg:pledger ?x") == []


def test_a_pledge_with_neither_pledger_nor_group_is_a_violation(data_copy):
    text = (data_copy / "pledges.yaml").read_text(encoding="utf-8")
    start = text.index("  - id: rferl-north-caucasian-groups-pledges")
    block_end = text.index("    pledger_bound: unspecified", start)
    group = text[text.index("    pledger_group:", start) : block_end]
    (data_copy / "pledges.yaml").write_text(text.replace(group, "", 1), encoding="utf-8")
    report = check(settings_for(data_copy)).report
    assert [(p.entity, p.severity) for p in report.problems if "pledger_group" in p.message] == [
        ("rferl-north-caucasian-groups-pledges", "error")
    ]


# -- possible identities ------------------------------------------------------------------------------


def test_possible_identity_is_symmetric_noted_and_never_same_as(shipped):
    store = ox.Store()
    store.load(shipped.built.ntriples(), format=ox.RdfFormat.N_TRIPLES)
    khamzat, byutukayev = ID + "person/amir-khamzat", ID + "person/aslan-byutukayev"
    assert _ask(store, "?a ?b", "?a pg:possiblySameAs ?b") == sorted([(khamzat, byutukayev), (byutukayev, khamzat)])
    assert _ask(store, "?a ?b", "?a <http://www.w3.org/2002/07/owl#sameAs> ?b") == []
    (note,) = _ask(
        store,
        "?n",
        f"<{khamzat}> pg:possibleIdentity ?i . ?i a pg:PossibleIdentity ; "
        f"pg:candidate <{byutukayev}> ; skos:editorialNote ?n",
    )
    assert "Curator's inference, stated by no source" in note[0]
    sources = _ask(store, "?s", f"<{khamzat}> pg:possibleIdentity/pg:citation/pg:source ?s")
    assert sources == [
        (ID + "source/dailybeast-isis-comes-to-russia",),
        (ID + "source/wikipedia-is-caucasus-province",),
    ]


def test_possible_identity_is_shown_on_both_entity_pages(shipped):
    store = ox.Store()
    for triples in (shipped.built.triples, ontology_triples(settings_for())):
        store.bulk_extend(ox.Quad(t.subject, t.predicate, t.object, ox.DefaultGraph()) for t in triples)
    for me, other in (("amir-khamzat", "Aslan Byutukayev"), ("aslan-byutukayev", "Amir Khamzat")):
        html = render_entity(store, ID + "person/" + me, "https://w3id.org/pledgegraph/")
        section = html[html.index("<h2>Possibly the same as</h2>") :]
        assert "not a source's claim" in section and other in section
        assert "commander of the Chechen Vilaiyat" in section  # the note and its grounds


# -- paragraph coverage --------------------------------------------------------------------------------


def test_paragraph_table_in_data_readme_matches_the_data_and_gives_every_reason(shipped):
    match = PARAGRAPHS.search(README.read_text(encoding="utf-8"))
    assert match, "data/README.md lost its <!-- paragraphs:begin --> … <!-- paragraphs:end --> block"
    expected = paragraph_table(paragraph_coverage(shipped.dataset, SEEDS), reasons_of(match.group(1)))
    assert match.group(1) == expected, "data/README.md's paragraph table is stale; replace it with:\n" + expected
    left_out_without_reason = [line for line in expected.splitlines() if line.endswith("| 0 |  |")]
    assert left_out_without_reason == []


def test_paragraph_coverage_counts_a_quote_on_each_paragraph_it_spans(data_copy):
    dataset = _load(data_copy)
    rows = {(p.source, p.line): p.quotes for p in paragraph_coverage(dataset, SEEDS)}
    # "In The Media\nCarnegie Russia Eurasia Center" is quoted (twice) across two lines
    assert rows[("carnegie-expanding-its-reach", 41)] == rows[("carnegie-expanding-its-reach", 42)] == 2
    assert rows[("carnegie-expanding-its-reach", 1)] == 0
    shutil.rmtree(data_copy)


def test_watch_re_audits_an_edited_record_as_a_full_run_would(data_copy):
    from pledgegraph.incremental.session import Session

    s = settings_for(data_copy)
    session = Session(s)
    assert [p.rule for p in session.check_all().problems if p.rule.startswith("audit.")] == ["audit.id-date"]
    pledges = data_copy / "pledges.yaml"
    text = pledges.read_text(encoding="utf-8")
    pledges.write_text(text.replace("        hedge: purported\n", "", 1), encoding="utf-8")
    update = session.update(session.changed_files())
    found = [(p.rule, p.entity, p.value) for p in update.report.problems if p.rule.startswith("audit.")]
    assert ("audit.hedge", "caucasus-velayats-pledge-2015-06", "purported") in found
    full = check(s).report.problems
    assert update.report.problems == [p for p in full if p.entity in update.checked]
