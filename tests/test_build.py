"""Building: stable IRIs, no blank nodes, dates at their precision, every output format faithful."""

from __future__ import annotations

import json

import pyoxigraph as ox
import pytest
import rdflib
from rdflib.compare import graph_diff, isomorphic, to_isomorphic

from conftest import settings_for
from pledgegraph.model.iris import record_iri
from pledgegraph.model.vocab import PGV
from pledgegraph.pipeline import build_all
from pledgegraph.stages.build import build
from pledgegraph.stages.validate import origin_of, rdflib_graph

BASE = "https://w3id.org/pledgegraph/"
PG = rdflib.Namespace("https://w3id.org/pledgegraph/ontology#")


def test_iris_are_minted_from_curated_ids():
    assert record_iri(BASE, "organization", "caucasus-emirate") == BASE + "id/org/caucasus-emirate"
    assert record_iri(BASE, "pledge", "p-1") == BASE + "id/pledge/p-1"
    assert record_iri(BASE, "source", "s") == BASE + "id/source/s"


def test_base_is_configurable(shipped):
    other = build(shipped.dataset, "https://example.org/kg/")
    subjects = {t.subject.value for t in other.triples}
    assert "https://example.org/kg/id/person/rustam-asildarov" in subjects
    # Vocabulary concepts (labelled in the asserted graph) belong to the ontology, not the base.
    assert not any(s.startswith(BASE) and not s.startswith(PGV) for s in subjects)


def test_no_blank_nodes_anywhere(shipped):
    for t in shipped.built.triples:
        assert not isinstance(t.subject, ox.BlankNode) and not isinstance(t.object, ox.BlankNode), t


def test_every_node_is_traced_to_a_record(shipped):
    for t in shipped.built.triples:
        if t.subject.value.startswith(PGV):  # a concept's labels, copied from the vocabularies
            continue
        origin = origin_of(t.subject.value, shipped.built)
        assert origin is not None and origin[1].line > 0, t.subject


def test_dates_keep_the_source_precision(shipped):
    g = rdflib_graph(shipped.built.triples)
    founded = g.value(rdflib.URIRef(BASE + "id/org/caucasus-emirate"), PG.foundingDate)
    year = g.value(founded, rdflib.URIRef("http://www.w3.org/2006/time#inXSDgYear"))
    assert str(year) == "2007" and year.datatype == rdflib.XSD.gYear
    assert str(g.value(founded, PG.earliest)) == "2007-01-01"
    assert "2007-01-01" not in {
        str(o) for o in g.objects(founded, None) if getattr(o, "datatype", None) == rdflib.XSD.gYear
    }


def test_names_in_every_language_with_one_preferred_label_each(shipped):
    g = rdflib_graph(shipped.built.triples)
    province = rdflib.URIRef(BASE + "id/org/is-caucasus-province")
    pref = list(g.objects(province, rdflib.SKOS.prefLabel))
    langs = [name.language for name in pref]
    assert sorted(langs) == sorted(set(langs))
    assert {"en", "ar", "ar-latn", "ru", "ce", "ka", "az", "hy"} <= {tag.lower() for tag in langs}


def test_every_fact_is_derived_from_a_source(shipped):
    g = rdflib_graph(shipped.built.triples)
    for cls in ("Pledge", "Acceptance", "Tenure", "Organization", "Person", "NameAttestation"):
        for node in g.subjects(rdflib.RDF.type, PG[cls]):
            assert list(g.objects(node, rdflib.URIRef("http://www.w3.org/ns/prov#wasDerivedFrom"))), node


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    out = tmp_path_factory.mktemp("build") / "dist"
    result = build_all(settings_for(out_dir=out))
    return out, result


@pytest.mark.parametrize(
    "name, fmt", [("pledgegraph.ttl", "turtle"), ("pledgegraph.nt", "nt"), ("pledgegraph.jsonld", "json-ld")]
)
def test_each_output_parses_back_to_the_built_graph(dist, name, fmt):
    """The main outputs hold the asserted and the inferred triples together."""
    out, result = dist
    expected = rdflib_graph(result.built.triples + result.inferred.triples)
    parsed = rdflib.Graph().parse(out / name, format=fmt)
    if not isomorphic(parsed, expected):
        _, only_parsed, only_expected = graph_diff(to_isomorphic(parsed), to_isomorphic(expected))
        pytest.fail(f"{name}: {len(only_parsed)} extra, {len(only_expected)} missing triples")
    assert len(parsed) == len(result.built.triples) + len(result.inferred)


def test_ntriples_output_is_sorted_and_unique(dist):
    out, _ = dist
    lines = (out / "pledgegraph.nt").read_text().splitlines()
    assert lines == sorted(set(lines))


def test_summary_counts_what_was_written(dist):
    out, result = dist
    summary = json.loads((out / "summary.json").read_text())
    assert summary["triples"]["asserted"] == len((out / "asserted.nt").read_text().splitlines())
    assert summary["triples"]["inferred"] == len((out / "inferred.nt").read_text().splitlines())
    assert summary["records"]["pledge"] == len(result.dataset.of_kind("pledge"))


def test_ontology_is_shipped_with_the_data(dist):
    out, _ = dist
    g = rdflib.Graph().parse(out / "ontology.ttl")
    assert (rdflib.URIRef("https://w3id.org/pledgegraph/ontology"), rdflib.RDF.type, rdflib.OWL.Ontology) in g


def test_trig_keeps_asserted_inferred_and_ontology_in_named_graphs(dist):
    out, result = dist
    ds = rdflib.Dataset().parse(out / "pledgegraph.trig", format="trig")
    asserted = ds.graph(rdflib.URIRef(BASE + "graph/asserted"))
    inferred = ds.graph(rdflib.URIRef(BASE + "graph/inferred"))
    ontology = ds.graph(rdflib.URIRef(BASE + "graph/ontology"))
    assert isomorphic(asserted, rdflib_graph(result.built.triples))
    assert isomorphic(inferred, rdflib_graph(result.inferred.triples))
    assert isomorphic(inferred, rdflib.Graph().parse(out / "inferred.ttl", format="turtle"))
    assert isomorphic(asserted, rdflib.Graph().parse(out / "asserted.nt", format="nt"))
    assert (rdflib.URIRef("https://w3id.org/pledgegraph/ontology"), rdflib.RDF.type, rdflib.OWL.Ontology) in ontology
    assert not set(asserted) & set(inferred)


def test_ontology_documentation_is_written(dist):
    out, _ = dist
    html = (out / "ontology.html").read_text()
    assert "<h1>pledgegraph ontology</h1>" in html and "pledge of allegiance" in html
