"""The fast paths change no output byte: the builder's hand-made N-Triples, the prefix scan and the
forked output writer give exactly what pyoxigraph terms serialized the plain way give."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import urllib.parse

import pyoxigraph as ox
import pytest
import rdflib
from hypothesis import given
from hypothesis import strategies as st

from conftest import settings_for
from pledgegraph import pipeline
from pledgegraph.delivery import export
from pledgegraph.delivery.endpoint import http1, store
from pledgegraph.delivery.export import serialize
from pledgegraph.layout import GRAPH_NAMES, graph_iri
from pledgegraph.pipeline import build_all, ontology_triples
from pledgegraph.stages.build import nt_literal
from pledgegraph.stages.load import load, load_vocabulary

XSD = "http://www.w3.org/2001/XMLSchema#"


@given(
    st.text(),
    st.sampled_from(["", "en", "ar-Latn", "RU"]),
    st.sampled_from(["", XSD + "string", XSD + "gYear", "http://example.org/dt"]),
)
def test_literals_are_written_as_pyoxigraph_writes_them(text, language, datatype):
    expected = (
        ox.Literal(text, language=language)
        if language
        else ox.Literal(text, datatype=ox.NamedNode(datatype))
        if datatype
        else ox.Literal(text)
    )
    assert nt_literal(text, language, datatype if not language else "") == str(expected)


def _to_ox(term):
    if isinstance(term, rdflib.URIRef):
        return ox.NamedNode(str(term))
    if term.language:
        return ox.Literal(str(term), language=term.language)
    return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)) if term.datatype else None)


def _plain_terms(nt: bytes) -> list:
    """Terms made one by one (parsed by rdflib, not by us), sorted."""
    g = rdflib.Graph()
    g.parse(data=nt.decode(), format="nt")
    return sorted({ox.Triple(*map(_to_ox, t)) for t in g}, key=str)


def slow_outputs(out, settings) -> dict[str, bytes]:
    """The plain path: pyoxigraph terms serialized the plain way."""
    both = _plain_terms((out / "pledgegraph.nt").read_bytes())
    asserted = _plain_terms((out / "asserted.nt").read_bytes())
    inferred = _plain_terms((out / "inferred.nt").read_bytes())
    assert sorted(asserted + inferred, key=str) == both
    ontology = ontology_triples(settings)
    graphs = {"asserted": asserted, "inferred": inferred, "ontology": ontology}
    quads = [
        ox.Quad(t.subject, t.predicate, t.object, ox.NamedNode(graph_iri(settings.base, name)))
        for name in GRAPH_NAMES
        for t in graphs[name]
    ]
    return {
        "pledgegraph.ttl": serialize(both, "turtle"),
        "pledgegraph.nt": serialize(both, "ntriples"),
        "pledgegraph.jsonld": serialize(both, "jsonld"),
        "pledgegraph.trig": serialize(quads, "trig"),
        "asserted.nt": serialize(asserted, "ntriples"),
        "inferred.ttl": serialize(inferred, "turtle"),
        "ontology.ttl": serialize(ontology, "turtle"),
    }


def test_outputs_are_byte_identical_to_the_plain_path(tmp_path, monkeypatch):
    # written in this process with the SHACL store in memory, then by the forked writer with the store
    # on disk (what a graph past pipeline.ON_DISK_FROM gets); the inferred lines go to disk too.
    # The name index, by this process after validating or by the writer: whichever claims it first.
    files = []
    for parallel_from in (10**9, 0):
        monkeypatch.setattr(pipeline, "PARALLEL_FROM", parallel_from)
        monkeypatch.setattr(pipeline, "ON_DISK_FROM", parallel_from)
        settings = settings_for(out_dir=tmp_path / f"dist-{parallel_from}")
        build_all(settings)
        for name, expected in slow_outputs(settings.out_dir, settings).items():
            assert (settings.out_dir / name).read_bytes() == expected, name
        files.append({p.name: p.read_bytes() for p in settings.out_dir.iterdir()})
    assert files[0] == files[1] and len(files[0]) == 12


@pytest.mark.parametrize("chunk_lines", [1, 3, 50])
def test_formats_written_a_few_subjects_at_a_time_are_those_of_the_whole_graph(tmp_path, monkeypatch, chunk_lines):
    """The writer parses the lines a chunk of subjects at a time and joins each chunk's document: with
    chunks of a subject or a few, every format is byte for byte pyoxigraph's of the whole graph. The
    inferred graph gets a subject only it has and one line of a subject the next chunk starts."""
    settings = settings_for(out_dir=tmp_path / "dist")
    build_all(settings)
    asserted, inferred = settings.out_dir / "asserted.nt", tmp_path / "inferred.nt"
    lines = asserted.read_bytes().splitlines(keepends=True)
    subject = lines[len(lines) // 2].split(b" ")[0]
    extra = [
        subject + b" <http://example.org/a> <http://example.org/b> .\n",
        b"<http://example.org/only> <http://example.org/a> <http://example.org/b> .\n",
    ]
    inferred.write_bytes(
        b"".join(sorted(set((settings.out_dir / "inferred.nt").read_bytes().splitlines(keepends=True) + extra)))
    )
    monkeypatch.setattr(export, "CHUNK_LINES", chunk_lines)
    graphs = {"asserted": _plain_terms(asserted.read_bytes()), "inferred": _plain_terms(inferred.read_bytes())}
    graphs["union"] = sorted(graphs["asserted"] + graphs["inferred"], key=str)
    prefixes = export.used_prefixes(asserted, inferred)
    outputs = {
        tmp_path / f"{graph}.{name}": (graph, name, prefixes) for graph in graphs for name in ("turtle", "jsonld")
    }
    export.write_graph_formats(asserted, inferred, outputs, tmp_path / "union.nt")
    assert (tmp_path / "union.nt").read_bytes() == serialize(graphs["union"], "ntriples")
    for path, (graph, name, _) in outputs.items():
        assert path.read_bytes() == serialize(graphs[graph], name, prefixes, prefixes_used=True), path.name


def test_a_low_memory_build_writes_the_same_bytes_and_leaves_no_store(tmp_path, monkeypatch):
    """`build --low-memory` keeps the SHACL store on disk, in a temporary directory removed after."""
    from click.testing import CliRunner

    from pledgegraph.cli import main

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    settings = settings_for(out_dir=tmp_path / "dist")
    build_all(settings)
    expected = {p.name: p.read_bytes() for p in settings.out_dir.iterdir()}
    ran = CliRunner().invoke(
        main,
        ["build", "--low-memory", "--out", str(tmp_path / "lean"), "--data", str(settings.data_dir)],
        catch_exceptions=False,
    )
    assert ran.exit_code == 0, ran.output
    assert {p.name: p.read_bytes() for p in (tmp_path / "lean").iterdir()} == expected
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dist", "lean"]


def test_a_build_whose_lines_go_to_disk_writes_the_same_bytes_and_removes_them(tmp_path, monkeypatch):
    """Past graph.SPILL_LINES, the builder sorts its lines in runs on disk and merges them into one
    file that the later stages read: the same outputs, and no file left behind."""
    import gc

    from pledgegraph.model import graph
    from pledgegraph.stages.build import build

    settings = settings_for(out_dir=tmp_path / "dist")
    build_all(settings)
    expected = {p.name: p.read_bytes() for p in settings.out_dir.iterdir()}
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(graph, "SPILL_LINES", 300)  # the shipped data: about 25 runs, sharing lines
    monkeypatch.setattr(graph, "MERGE_BLOCK", 2000)  # merged a few lines of each run at a time
    built = build(load(settings.data_dir, load_vocabulary(settings.vocabulary_file)), settings.base)
    assert built.line_file is not None and len(built) == expected["asserted.nt"].count(b"\n")
    assert built.line_file.path.read_bytes() == expected["asserted.nt"]
    assert [p.name for p in built.line_file.path.parent.iterdir()] == ["lines.nt"]  # the runs are gone
    del built
    gc.collect()
    # written in this process with the SHACL store in memory, then by the forked writer with the store
    # on disk (what a graph past pipeline.ON_DISK_FROM gets); the inferred lines go to disk too
    for parallel_from in (10**9, 0):
        monkeypatch.setattr(pipeline, "PARALLEL_FROM", parallel_from)
        monkeypatch.setattr(pipeline, "ON_DISK_FROM", parallel_from)
        out = tmp_path / f"spilled-{parallel_from}"
        result = build_all(settings_for(out_dir=out))
        assert result.inferred is not None and result.inferred.line_file is not None
        del result
        assert {p.name: p.read_bytes() for p in out.iterdir()} == expected
    gc.collect()
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == ["dist", "spilled-0", "spilled-1000000000"], held_line_files()


def held_line_files() -> list[tuple[str, list[str]]]:
    """Each LineFile still alive and the types of what holds it: the message of the failure above, seen
    once under load (a `pledgegraph-lines-*` folder left in tmp_path) and not explained yet."""
    import gc

    from pledgegraph.model.graph import LineFile

    alive = [o for o in gc.get_objects() if isinstance(o, LineFile)]
    return [(str(o.path), [type(r).__name__ for r in gc.get_referrers(o)]) for o in alive]


@pytest.mark.parametrize("spill_lines", [10**9, 300])
def test_a_build_split_over_two_processes_is_the_same_graph(tmp_path, monkeypatch, spill_lines):
    """Past build.PARALLEL_RECORDS, a forked process emits the second half of the records: the same
    lines (in memory, or merged from both processes' runs on disk) and the same node maps, in the
    same order, as one process emitting them all; no run left behind."""
    import gc

    from pledgegraph.model import graph
    from pledgegraph.stages import build

    settings = settings_for()
    dataset = load(settings.data_dir, load_vocabulary(settings.vocabulary_file))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(graph, "SPILL_LINES", spill_lines)
    alone = build.build(dataset, settings.base)
    monkeypatch.setattr(build, "PARALLEL_RECORDS", 2)
    monkeypatch.setattr(build, "SHARE_CHUNK", 3)
    forks = []
    split = build.build(dataset, settings.base, lambda work: forks.append(work) or pipeline.forked(work, "building"))
    assert len(forks) == 1
    assert list(split.lines) == list(alone.lines) and len(split) == len(alone) > 1000
    assert (split.line_file is None) == (alone.line_file is None) == (spill_lines > 10**6)
    for maps in ("origins", "node_rules", "field_positions"):
        assert list(getattr(split, maps).items()) == list(getattr(alone, maps).items()), maps
    del alone, split
    gc.collect()
    assert list(tmp_path.iterdir()) == []


def test_quotes_checked_by_a_forked_process_give_the_same_report(data_copy, monkeypatch):
    """Past build.PARALLEL_RECORDS records, a forked process checks the quotes while the graph is
    built: the same problems (a tampered quote, at its line) and the same counts as in this process."""
    import dataclasses

    from conftest import SEEDS
    from pledgegraph.stages import build

    path = data_copy / "pledges.yaml"
    text = path.read_text(encoding="utf-8")
    quote = next(line for line in text.splitlines() if line.strip().startswith("quote:"))
    path.write_text(text.replace(quote, quote[:-12] + quote[-12:].swapcase(), 1), encoding="utf-8")
    settings = dataclasses.replace(settings_for(data_dir=data_copy), archive_dir=SEEDS)
    results = []
    for records in (10**9, 2):
        monkeypatch.setattr(pipeline, "PARALLEL_RECORDS", records)
        monkeypatch.setattr(build, "PARALLEL_RECORDS", records)
        results.append(pipeline.check(settings))
    alone, forked = results
    assert alone.evidence is not None and forked.evidence is not None
    assert [p for p in alone.report.problems if p.message.endswith("quote not found")]
    assert forked.report.problems == alone.report.problems
    assert forked.evidence.summary() == alone.evidence.summary()
    assert list(forked.built.lines) == list(alone.built.lines)


def test_cli_start_up_imports_no_rdf_library():
    code = (
        "import sys, pledgegraph.cli; heavy = {'rdflib', 'pyshacl', 'owlrl', 'pyoxigraph', 'yaml'} & "
        "{m.split('.')[0] for m in sys.modules}; print(sorted(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


_FORM_PIECES = st.sampled_from(
    ["%", "%2", "%41", "%e2%80%99", "%C3%A9", "%zz", "%FF", "+", "&", "=", "\\", "\\x41", "a", "é", "1"]
)


@given(
    st.lists(st.tuples(st.text(), st.text()), max_size=4).map(urllib.parse.urlencode)
    | st.lists(_FORM_PIECES | st.text(max_size=3), max_size=12).map("".join)
)
def test_serve_reads_a_query_string_as_urllib_parse_qs_does(text):
    """serve decodes each query's fields in C (`http1.form_fields`); urllib's `parse_qs` is the oracle, on
    encoded forms and on strings of stray `%`, `+`, backslashes and non-ASCII text."""
    assert http1.form_fields(text) == urllib.parse.parse_qs(text, keep_blank_values=True)


_QUERY_PIECES = st.sampled_from(
    ["NOW", "now", "RAND", "Rand", "STRUUID", "uuid", "BNODE", "bnode", "(", " ", "\n", "#c\n", "?x", "ſ", "ı", "a"]
)


@given(st.lists(_QUERY_PIECES, max_size=10).map("".join))
def test_whether_a_query_is_repeatable_is_what_the_full_pattern_says(text):
    """`Query.repeatable` skips the pattern for a text naming no volatile function; the pattern alone decides
    the same."""
    assert store.Query(text, "select").repeatable == (store._VOLATILE.search(text) is None)
