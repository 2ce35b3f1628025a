"""The SHACL store holds only the triples our engine's queries can read (`predicates_read`): what
lets a ten-million-triple build keep it in memory. Validating on it must give exactly the results
of validating on the whole graph, whatever the data: the shipped graph, and the same graph broken on
purpose (the mutations of test_shacl_differential, reaching every shape), in memory and on disk,
and with half of the shapes checked in a forked process."""

from __future__ import annotations

import random

import pytest

from conftest import settings_for
from pledgegraph.model.graph import Built, LineFile
from pledgegraph.pipeline import forked
from pledgegraph.stages.validate import RDF_TYPE, Validator, data_graph, predicates_read, shape_triples
from test_shacl_differential import datatypes, deleted, duplicated, wrong_classes

SETTINGS = settings_for()


def unchanged(lines: list[str], draw: random.Random) -> list[str]:
    return list(lines)


@pytest.mark.parametrize("mutate", [unchanged, datatypes, deleted, duplicated, wrong_classes], ids=lambda f: f.__name__)
def test_a_store_of_the_predicates_read_gives_every_result_of_the_whole_graph(shipped, mutate, tmp_path):
    both = shipped.built.union(shipped.inferred)
    lines = sorted(set(mutate(both.lines, random.Random(16))))
    broken = Built(None, both.origins, both.base, lines)
    on_disk = Built(None, both.origins, both.base, LineFile.written(lines))  # lines in a file, store on disk
    kept = predicates_read(SETTINGS.shape_files, SETTINGS.ontology_files)
    assert kept is not None and RDF_TYPE in kept
    shapes = shape_triples(SETTINGS.shape_files)
    whole = data_graph(broken, SETTINGS.ontology_files)
    expected = Validator(shapes, whole.store).check(whole)
    assert expected[0], "the shipped data has warnings, so results are compared, not two empty lists"
    for graph in (
        data_graph(broken, SETTINGS.ontology_files, kept=kept),
        data_graph(on_disk, SETTINGS.ontology_files, tmp_path / "store", kept=kept),
    ):
        assert len(graph.store) < 0.8 * len(whole.store)  # it does leave triples out
        assert {str(q.predicate) for q in graph.store} - {str(q.predicate) for q in whole.store} == set()
        assert graph.written() == whole.written()  # pySHACL still sees the whole graph
        assert graph.rewritten == whole.rewritten
        assert Validator(shapes, graph.store).check(graph) == expected
    # and with half of the shapes checked in a forked process, as `build` does past PARALLEL_FROM
    assert Validator(shapes, graph.store).check(graph, fork=forked) == expected


SHAPES = """@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix ex: <http://example.org/> .
ex:S a sh:NodeShape ; sh:targetClass ex:C ; sh:property [ sh:path ex:name ; sh:minCount 1 ] .
"""

ANY_PREDICATE = """ex:T a sh:NodeShape ; sh:targetClass ex:C ;
  sh:sparql [ sh:select "SELECT $this WHERE { $this ?p ?o . FILTER(isLiteral(?o) && ?o = 0) }" ] .
"""


def test_the_store_keeps_what_the_shapes_name_and_everything_when_a_shape_reads_any_predicate(tmp_path):
    shapes = tmp_path / "shapes.ttl"
    shapes.write_text(SHAPES)
    kept = predicates_read([shapes], SETTINGS.ontology_files)
    assert kept is not None and "<http://example.org/name>" in kept
    lines = [
        '<http://example.org/a> <http://example.org/name> "a"',
        f"<http://example.org/a> {RDF_TYPE} <http://example.org/C>",
        '<http://example.org/a> <http://example.org/other> "0"^^<http://www.w3.org/2001/XMLSchema#integer>',
    ]
    graph = data_graph(Built(None, {}, "http://example.org/", lines), [], kept=kept)
    assert {str(q.predicate) for q in graph.store} == {"<http://example.org/name>", RDF_TYPE}
    shapes.write_text(SHAPES + ANY_PREDICATE)
    assert predicates_read([shapes], SETTINGS.ontology_files) is None


def test_validate_reports_the_same_problems_with_the_store_filtered_or_not(shipped, monkeypatch):
    """The pipeline filters the store past FILTERED_FROM triples and forks half of the shapes past
    PARALLEL_FROM: forced on the shipped data, the report is the one of the whole store on one core."""
    from pledgegraph import pipeline

    monkeypatch.setattr(pipeline, "FILTERED_FROM", 0)
    monkeypatch.setattr(pipeline, "PARALLEL_FROM", 0)
    filtered = pipeline.check(SETTINGS).report
    assert filtered.results and filtered.results == shipped.report.results
    assert filtered.problems == shipped.report.problems


@pytest.mark.parametrize("filtered_from", [0, 10**9], ids=["filtered", "guessed-wrong"])
def test_build_finds_what_the_shapes_read_while_the_data_loads(dist, tmp_path, monkeypatch, filtered_from):
    """When the data's size says the store will be filtered, `build` finds the predicates the shapes
    read in a forked process while it loads the YAML (`pipeline._ShapesRead`): every output is the
    plain build's, whether the store is then filtered or the guess was wrong (that process cancelled)."""
    from pledgegraph import pipeline

    started = []

    class Recorded(pipeline._Forked):
        def __init__(self, what, work, parallel=True):
            started.append((what, parallel))
            super().__init__(what, work, parallel)

    monkeypatch.setattr(pipeline, "_Forked", Recorded)
    monkeypatch.setattr(pipeline, "YAML_BYTES_PER_TRIPLE", 0)
    monkeypatch.setattr(pipeline, "FILTERED_FROM", filtered_from)
    monkeypatch.setattr(pipeline, "PARALLEL_FROM", 0)
    settings = settings_for(out_dir=tmp_path / "dist")
    pipeline.build_all(settings)
    assert ("reading the shapes", True) in started
    built = {p.name: p.read_bytes() for p in settings.out_dir.iterdir()}
    assert built == {p.name: p.read_bytes() for p in dist.iterdir()} and len(built) == 12
