"""`pledgegraph publish`: a versioned release harvesters can trust, checked by reading it back."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import Dataset, Graph, URIRef
from rdflib.compare import isomorphic

from conftest import ROOT, edited_dist
from pledgegraph.delivery.release import publish as publish_module
from pledgegraph.delivery.release.jsonld import to_nquads
from pledgegraph.delivery.release.publish import publish

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
BASE = "https://w3id.org/pledgegraph/"
VOID = "http://rdfs.org/ns/void#"
DCAT = "http://www.w3.org/ns/dcat#"
SPDX = "http://spdx.org/rdf/terms#"


def triples(data: bytes, fmt=ox.RdfFormat.N_TRIPLES, base_iri=None) -> set[ox.Triple]:
    return {ox.Triple(q.subject, q.predicate, q.object) for q in ox.parse(data, format=fmt, base_iri=base_iri)}


def build_data(dist: Path) -> set[ox.Triple]:
    """What a harvester should get: the asserted and inferred graphs of the build's TriG."""
    return {
        ox.Triple(q.subject, q.predicate, q.object)
        for q in ox.parse(path=str(dist / "pledgegraph.trig"))
        if q.graph_name.value.endswith(("graph/asserted", "graph/inferred"))
    }


def test_release_has_the_promised_files_and_latest_pointer(release):
    outdir = release.parent
    for name in (
        "pledgegraph.nt.gz",
        "pledgegraph.ttl",
        "pledgegraph.jsonld",
        "pledgegraph.trig",
        "pledgegraph.nq.gz",
        "context.jsonld",
        "ontology/pledgegraph.ttl",
        "ontology/pledgegraph.jsonld",
        "ontology/pledgegraph.rdf",
        "shapes.ttl",
        "void.ttl",
        ".well-known/void",
        "catalog.ttl",
        "index.html",
        "sitemap.xml",
        "server/nginx.conf",
        "server/negotiate.js",
        "server/apache.conf",
        "server/negotiate.lua",
        "changes/added.nt",
        "changes/removed.nt",
        "changes/index.html",
        "timeline.svg",
        "branches.svg",
        "person/rustam-asildarov.html",
        "person/rustam-asildarov.ttl",
        "person/rustam-asildarov.jsonld",
        "person/rustam-asildarov.nt",
    ):
        assert (release / name).is_file(), name
    assert os.readlink(outdir / "latest") == "0.1.0"
    assert (outdir / "latest.txt").read_text() == "0.1.0\n"
    assert "url=0.1.0/" in (outdir / "index.html").read_text()


def test_dumps_are_the_build_graph_in_every_format(release, dist):
    expected = build_data(dist)
    nt = gzip.decompress((release / "pledgegraph.nt.gz").read_bytes())
    assert nt.decode().splitlines() == sorted(nt.decode().splitlines())  # canonical: sorted
    assert triples(nt) == expected
    assert triples((release / "pledgegraph.ttl").read_bytes(), ox.RdfFormat.TURTLE) == expected
    quads = set(ox.parse(gzip.decompress((release / "pledgegraph.nq.gz").read_bytes()), format=ox.RdfFormat.N_QUADS))
    assert quads == set(ox.parse(path=str(release / "pledgegraph.trig")))
    graphs = {q.graph_name.value.rsplit("/", 1)[1] for q in quads}
    assert graphs >= {"asserted", "ontology", "shapes"}
    shapes = Graph().parse(dist / "shapes.ttl")
    assert isomorphic(Dataset().parse(release / "pledgegraph.trig").graph(URIRef(BASE + "graph/shapes")), shapes)


def _offline_loader(url, options=None):
    raise AssertionError(f"a self-contained document made pyld load {url}")


def test_jsonld_documents_are_self_contained_and_expand_to_the_turtle_graph(release):
    """Stock pyld with a loader that refuses everything expands the dump and an entity's file."""
    from pyld import jsonld as pyld

    context = json.loads((release / "context.jsonld").read_text())  # still published for others
    assert context["@context"]["Pledge"] == "pg:Pledge" and context["@context"]["pledger"]["@type"] == "@id"
    doc = json.loads((release / "pledgegraph.jsonld").read_text())
    assert isinstance(doc["@context"], dict)
    options = {"format": "application/n-quads", "documentLoader": _offline_loader}
    expanded = triples(pyld.to_rdf(doc, options).encode(), ox.RdfFormat.N_QUADS)
    assert expanded == triples((release / "pledgegraph.ttl").read_bytes(), ox.RdfFormat.TURTLE)
    # readable keys, not IRIs
    person = next(n for n in doc["@graph"] if n["id"] == BASE + "id/person/rustam-asildarov")
    assert "Person" in person["type"] and "nameAttestation" in person  # with inferred types too
    for name in ("person/rustam-asildarov", "place/nigeria"):
        entity = json.loads((release / f"{name}.jsonld").read_text())
        assert len(entity["@context"]) < len(context["@context"])  # only the terms it uses
        got = triples(pyld.to_rdf(entity, options).encode(), ox.RdfFormat.N_QUADS)
        assert got == triples((release / f"{name}.nt").read_bytes())
    ontology = json.loads((release / "ontology/pledgegraph.jsonld").read_text())
    assert isomorphic(
        Graph().parse(data=pyld.to_rdf(ontology, options), format="nt"),
        Graph().parse(release / "ontology/pledgegraph.ttl"),
    )  # blank nodes: OWL lists


# What an entity's RDF must hold, written independently of describe.py: its triples and those of
# nodes below it (IRIs under its own), and every reified claim whose subject or object it is, with
# the claim's own nodes.
CLAIMS = """PREFIX pg: <https://w3id.org/pledgegraph/ontology#>
SELECT DISTINCT ?c ?e WHERE { VALUES ?kind { pg:Claim pg:NameAttestation } ?c a ?kind .
                              { ?c pg:claimSubject ?e } UNION { ?c pg:claimObject ?e } }"""


def test_each_entity_file_is_its_complete_description_with_the_claims_about_it(release):
    data = triples(gzip.decompress((release / "pledgegraph.nt.gz").read_bytes()))
    by_subject: dict[str, set] = {}
    for t in data:
        by_subject.setdefault(t.subject.value, set()).add(t)
    store = ox.Store()
    store.extend(ox.Quad(t.subject, t.predicate, t.object) for t in data)
    claims_about: dict[str, set[str]] = {}
    for row in store.query(CLAIMS):
        claims_about.setdefault(row["e"].value, set()).add(row["c"].value)

    def below(iri):
        return {t for s, ts in by_subject.items() if s == iri or s.startswith(iri + "/") for t in ts}

    files = sorted(p for p in release.glob("*/*.nt") if p.parent.name != "changes")
    with_claims_of_others = 0
    for nt in files:
        entity = f"{BASE}id/{nt.parent.name}/{nt.stem}"
        expected = below(entity).union(*(below(c) for c in claims_about.get(entity, ())))
        got = triples(nt.read_bytes())
        assert got == expected, entity
        assert triples(nt.with_suffix(".ttl").read_bytes(), ox.RdfFormat.TURTLE) == expected
        with_claims_of_others += any(not t.subject.value.startswith(entity) for t in got)
    from pledgegraph.model.iris import is_entity

    entities = {
        t.subject.value for t in data if t.predicate.value.endswith("#type") and is_entity(t.subject.value, BASE)
    }
    assert len(files) == len(entities) and with_claims_of_others >= 10
    nigeria = triples((release / "place/nigeria.nt").read_bytes())
    assert any(t.subject.value == BASE + "id/org/boko-haram/claim/regions/nigeria" for t in nigeria)


def test_jsonld_processing_never_fetches(release):
    from pledgegraph.errors import UnusableInput

    doc = {"@context": "https://example.org/elsewhere.jsonld", "@id": "https://example.org/x"}
    with pytest.raises(Exception) as info:
        to_nquads(doc, {})
    causes, error = [], info.value
    while error is not None and len(causes) < 10:  # pyld wraps the loader's error in its own
        causes.append(error)
        error = getattr(error, "cause", None) or error.__cause__ or error.__context__
    assert any(isinstance(e, UnusableInput) and "only local documents" in str(e) for e in causes)


def test_void_counts_partitions_and_dumps_describe_the_dump(release):
    void = Graph().parse(release / "void.ttl", publicID="https://example.org/r/void.ttl")
    dataset = URIRef(BASE + "dataset/0.1.0")
    data = triples(gzip.decompress((release / "pledgegraph.nt.gz").read_bytes()))
    assert int(void.value(dataset, URIRef(VOID + "triples"))) == len(data)
    dumps = {str(o) for o in void.objects(dataset, URIRef(VOID + "dataDump"))}
    assert "https://example.org/r/pledgegraph.nt.gz" in dumps
    partitions = {
        str(void.value(p, URIRef(VOID + "property"))): int(void.value(p, URIRef(VOID + "triples")))
        for p in void.objects(dataset, URIRef(VOID + "propertyPartition"))
    }
    assert sum(partitions.values()) == len(data)
    classes = {
        str(void.value(p, URIRef(VOID + "class"))): int(void.value(p, URIRef(VOID + "entities")))
        for p in void.objects(dataset, URIRef(VOID + "classPartition"))
    }
    pledges = {
        t.subject
        for t in data
        if t.predicate.value == RDF_TYPE and t.object.value == "https://w3id.org/pledgegraph/ontology#Pledge"
    }
    assert classes["https://w3id.org/pledgegraph/ontology#Pledge"] == len(pledges) > 1
    vocabularies = {str(o) for o in void.objects(dataset, URIRef(VOID + "vocabulary"))}
    assert {"http://www.w3.org/ns/oa#", "http://www.w3.org/ns/org#"} <= vocabularies
    well_known = Graph().parse(release / ".well-known/void", publicID="https://example.org/r/.well-known/void")
    assert isomorphic(void, well_known)


def test_dcat_gives_each_file_its_size_checksum_media_type_and_dates(release):
    cat = Graph().parse(release / "catalog.ttl", publicID="https://example.org/r/catalog.ttl")
    dists = list(cat.objects(URIRef(BASE + "dataset/0.1.0"), URIRef(DCAT + "distribution")))
    assert len(dists) >= 15
    by_file = {}
    for d in dists:
        url = str(cat.value(d, URIRef(DCAT + "downloadURL")))
        path = release / url.removeprefix("https://example.org/r/")
        content = path.read_bytes()
        assert int(cat.value(d, URIRef(DCAT + "byteSize"))) == len(content)
        checksum = cat.value(d, URIRef(SPDX + "checksum"))
        assert str(cat.value(checksum, URIRef(SPDX + "checksumValue"))) == hashlib.sha256(content).hexdigest()
        assert str(cat.value(d, URIRef("http://purl.org/dc/terms/modified"))) == "2026-11-21"
        by_file[path.name] = str(cat.value(d, URIRef(DCAT + "mediaType")))
    assert by_file["pledgegraph.ttl"].endswith("text/turtle")
    assert by_file["pledgegraph.nt.gz"].endswith("application/n-triples")
    assert str(cat.value(URIRef(BASE + "dataset/0.1.0"), URIRef(DCAT + "version"))) == "0.1.0"


def test_every_entity_has_a_page_and_its_triples_in_three_formats(release, dist):
    data = build_data(dist)
    entity_files = sorted(p for p in release.glob("*/*.nt") if p.parent.name != "changes")
    entities = {
        t.subject.value
        for t in data
        if t.predicate.value == RDF_TYPE
        and t.subject.value.startswith(BASE + "id/")
        and t.subject.value.count("/") == BASE.count("/") + 2
    }
    assert len(entity_files) == len(entities) > 100
    union = set()
    for nt in entity_files:
        own = triples(nt.read_bytes())
        assert own == triples(nt.with_suffix(".ttl").read_bytes(), ox.RdfFormat.TURTLE)
        assert nt.with_suffix(".html").is_file()
        union |= own
    # every triple of the dump is in some entity's files, except the dataset record's own (on the index)
    # and the vocabulary concepts' labels (published with the ontology, ontology/pledgegraph.*)
    assert union == {
        t for t in data if t.subject.value != BASE + "dataset" and not t.subject.value.startswith(BASE + "vocab/")
    }
    sitemap = (release / "sitemap.xml").read_text()
    assert (
        sitemap.count("<loc>") == len(entities) and f"<loc>{BASE}latest/person/rustam-asildarov.html</loc>" in sitemap
    )
    assert "<svg" in (release / "person/rustam-asildarov.html").read_text()


def test_same_input_gives_byte_identical_release_whatever_the_hash_seed(dist, tmp_path):
    """Two runs of the command, as fresh processes; each ends without freeing what it built (`quickexit`),
    yet says what it published on a piped stdout (flushed before the process ends)."""
    trees = []
    for seed in ("1", "2"):
        out = tmp_path / seed
        ran = subprocess.run(
            [sys.executable, "-m", "pledgegraph", "publish", str(out), "--dist", str(dist)],
            check=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
        )
        assert ran.stdout.startswith(f"published 0.1.0 to {out}/0.1.0: ".encode()) and ran.stdout.endswith(b"s\n")
        trees.append(
            {
                str(p.relative_to(out)): (os.readlink(p) if p.is_symlink() else p.read_bytes())
                for p in sorted(out.rglob("*"))
                if p.is_file() or p.is_symlink()
            }
        )
    assert trees[0].keys() == trees[1].keys() and len(trees[0]) > 100
    assert trees[0] == trees[1]


def test_second_release_carries_a_change_set_that_turns_the_old_dump_into_the_new(dist, tmp_path, data_copy):
    outdir = tmp_path / "site"
    publish(outdir, dist)
    result = publish(outdir, edited_dist(tmp_path, data_copy))
    assert result.previous == "0.1.0" and os.readlink(outdir / "latest") == "0.2.0"
    old = triples(gzip.decompress((outdir / "0.1.0/pledgegraph.nt.gz").read_bytes()))
    new = triples(gzip.decompress((outdir / "0.2.0/pledgegraph.nt.gz").read_bytes()))
    added = triples((outdir / "0.2.0/changes/added.nt").read_bytes())
    removed = triples((outdir / "0.2.0/changes/removed.nt").read_bytes())
    assert added and removed  # the note, and the dataset's modified date
    assert (old - removed) | added == new
    summary = json.loads((outdir / "0.2.0/changes/summary.json").read_text())
    assert summary["previous_version"] == "0.1.0"
    assert BASE + "dataset" not in summary["entities_changed"]  # not an entity page
    assert len(summary["entities_changed"]) == 1 and summary["entities_changed"][0].startswith(BASE + "id/source/")
    page = (outdir / "0.2.0/changes/index.html").read_text()
    assert "Changes from release 0.1.0 to 0.2.0" in page and "../source/" in page
    changed = summary["entities_changed"][0]
    name = (
        Graph().parse(outdir / "0.2.0/pledgegraph.ttl").value(URIRef(changed), URIRef("http://purl.org/dc/terms/title"))
    )  # a source: named by its title
    assert f">{name}</a>" in page and BASE + "id/" not in page  # names, not IRIs, and what changed:
    assert "editorial note: “Undated; written after 23 June 2015, from its content.” → “Undated; re-checked.”" in page
    # the sitemap: the site's own URLs; lastmod is when each entity last changed
    sitemap = dict(
        re.findall(r"<loc>([^<]*)</loc><lastmod>([^<]*)</lastmod>", (outdir / "0.2.0/sitemap.xml").read_text())
    )
    slug = changed.removeprefix(BASE + "id/")
    assert sitemap[f"{BASE}latest/{slug}.html"] == "2026-11-22"
    assert sitemap[f"{BASE}latest/person/rustam-asildarov.html"] == "2026-11-21"
    # the change feed: a harvester at latest/feed.jsonld walks from the last page back
    feed = json.loads((outdir / "latest/feed.jsonld").read_text())
    first_release = len(list((outdir / "0.1.0").glob("*/*.nt"))) - len(list((outdir / "0.1.0/changes").glob("*.nt")))
    assert feed["type"] == "OrderedCollection" and feed["totalItems"] == first_release + 1  # every entity, then 1
    last = json.loads((outdir / "latest" / feed["last"]["id"]).read_text())
    assert [(a["type"], a["object"]["id"], a["endTime"]) for a in last["orderedItems"]] == [
        ("Update", changed, "2026-11-22")
    ]
    first = json.loads(((outdir / "latest/changes") / last["prev"]).read_text())
    assert first == json.loads((outdir / "latest" / feed["first"]["id"]).read_text())
    assert {a["type"] for a in first["orderedItems"]} == {"Create"} and len(first["orderedItems"]) == first_release
    assert (
        URIRef(BASE + "dataset/0.2.0"),
        URIRef("http://www.w3.org/2000/01/rdf-schema#seeAlso"),
        None,
    ) in Graph().parse(outdir / "0.2.0/void.ttl")
    void = Graph().parse(outdir / "0.2.0/void.ttl")
    assert (URIRef(BASE + "dataset/0.2.0"), URIRef(DCAT + "previousVersion"), URIRef(BASE + "dataset/0.1.0")) in void


def test_a_failed_publish_leaves_the_previous_release_untouched(dist, tmp_path, data_copy, monkeypatch):
    outdir = tmp_path / "site"
    publish(outdir, dist)
    before = {p: p.read_bytes() for p in outdir.rglob("*") if p.is_file()}

    def broken(*args):
        raise OSError("disk full")

    monkeypatch.setattr(publish_module, "_sitemap", broken)
    with pytest.raises(OSError):
        publish(outdir, edited_dist(tmp_path, data_copy))
    assert {p: p.read_bytes() for p in outdir.rglob("*") if p.is_file()} == before
    assert sorted(p.name for p in outdir.iterdir()) == [".well-known", "0.1.0", "index.html", "latest", "latest.txt"]


def test_publish_without_a_build_says_what_to_do(tmp_path):
    from click.testing import CliRunner

    from pledgegraph.cli import main

    result = CliRunner().invoke(main, ["publish", str(tmp_path / "site"), "--dist", str(tmp_path / "nothing")])
    assert result.exit_code == 2 and "run `pledgegraph build` first" in result.output


def test_versions_only_go_forward_and_a_published_version_is_never_silently_replaced(dist, tmp_path, data_copy):
    from click.testing import CliRunner

    from pledgegraph.cli import main

    outdir = tmp_path / "site"
    publish(outdir, dist)
    before = {p: p.read_bytes() for p in (outdir / "0.1.0").rglob("*") if p.is_file()}
    assert publish(outdir, dist).unchanged  # same version, same content: nothing to do
    # the same version with other content: refused (exit 3), untouched
    dataset = data_copy / "dataset.yaml"
    changed = edited_dist(tmp_path, data_copy)
    dataset.write_text(dataset.read_text().replace("version: 0.2.0", "version: 0.1.0"))
    same_version = tmp_path / "dist-same-version"
    from conftest import settings_for
    from pledgegraph.pipeline import build_all

    build_all(settings_for(data_dir=data_copy, out_dir=same_version))
    run = CliRunner().invoke(main, ["publish", str(outdir), "--dist", str(same_version)])
    assert run.exit_code == 3 and "--force" in run.output
    assert {p: p.read_bytes() for p in (outdir / "0.1.0").rglob("*") if p.is_file()} == before
    # --force replaces it, and the change set says so
    run = CliRunner().invoke(main, ["publish", str(outdir), "--dist", str(same_version), "--force"])
    assert run.exit_code == 0 and "replaces release 0.1.0" in run.output
    summary = json.loads((outdir / "0.1.0/changes/summary.json").read_text())
    assert "replaces release 0.1.0" in summary["warnings"][0]
    assert "Warning" in (outdir / "0.1.0/changes/index.html").read_text()
    # a newer version, then an older one: refused
    publish(outdir, changed)
    dataset.write_text(dataset.read_text().replace("version: 0.1.0", "version: 0.0.9"))
    older = tmp_path / "dist-older"
    build_all(settings_for(data_dir=data_copy, out_dir=older))
    run = CliRunner().invoke(main, ["publish", str(outdir), "--dist", str(older)])
    assert run.exit_code == 3 and "only go forward" in run.output and not (outdir / "0.0.9").exists()


def test_a_republish_compares_every_file_even_those_the_forked_child_wrote(dist, tmp_path):
    """Files go to disk as they are made and only their digests are kept, the child's included: a
    published entity file changed by one byte (the child writes the last entities) makes the same
    version "other content", refused untouched; restored, the same version is unchanged again."""
    outdir = tmp_path / "site"
    publish(outdir, dist)
    release = outdir / "0.1.0"
    entity_files = sorted(p for p in release.glob("*/*.jsonld") if p.parent.name not in ("changes", "ontology"))
    assert len(entity_files) >= publish_module.PARALLEL_FROM  # so the child wrote the last of them
    tampered = entity_files[-1]
    original = tampered.read_bytes()
    tampered.write_bytes(original.replace(b"}", b" }", 1))
    with pytest.raises(publish_module.ReleaseRefused, match="other content"):
        publish(outdir, dist)
    assert tampered.read_bytes() != original  # refused: the published copy is left as it is
    assert [p.name for p in outdir.iterdir() if ".tmp-" in p.name] == []  # the new copy was dropped
    tampered.write_bytes(original)
    assert publish(outdir, dist).unchanged


def test_void_counts_what_its_uri_space_covers_and_describes_the_quad_dumps_apart(release):
    void = Graph().parse(release / "void.ttl", publicID="https://example.org/r/void.ttl")
    dataset = URIRef(BASE + "dataset/0.1.0")
    data = triples(gzip.decompress((release / "pledgegraph.nt.gz").read_bytes()))
    space = str(void.value(dataset, URIRef(VOID + "uriSpace")))
    in_space = {
        term.value
        for t in data
        for term in (t.subject, t.object)
        if isinstance(term, ox.NamedNode) and term.value.startswith(space)
    }
    assert int(void.value(dataset, URIRef(VOID + "entities"))) == len(in_space) > 192
    dumps = {str(o).rsplit("/", 1)[1] for o in void.objects(dataset, URIRef(VOID + "dataDump"))}
    assert dumps == {"pledgegraph.nt.gz", "pledgegraph.ttl", "pledgegraph.jsonld"}
    quads = URIRef(BASE + "dataset/0.1.0/quads")
    quad_count = len(
        set(ox.parse(gzip.decompress((release / "pledgegraph.nq.gz").read_bytes()), format=ox.RdfFormat.N_QUADS))
    )
    assert int(void.value(quads, URIRef(VOID + "triples"))) == quad_count > len(data)
    assert {str(o).rsplit("/", 1)[1] for o in void.objects(quads, URIRef(VOID + "dataDump"))} == {
        "pledgegraph.trig",
        "pledgegraph.nq.gz",
    }


def test_entity_pages_show_labels_not_property_names(release):
    for page in ("org/islamic-state.html", "tenure/asildarov-is-caucasus-province-leader.html", "place/nigeria.html"):
        html = (release / page).read_text()
        terms = re.findall(r"<dt>([^<]*)</dt>", html)
        assert terms and not [t for t in terms if re.search(r"[a-z][A-Z]|#|/", t)], page
        for raw in ("qualifiedDerivation", "hasSelector", "oa#identifying", ">http://www.w3.org/"):
            assert raw not in html, (page, raw)


def test_the_fast_paths_write_the_same_bytes_as_the_plain_ones(release, dist, tmp_path, monkeypatch):
    """publish's fast paths (entity files from two processes, the pages' index of the store, orjson
    for JSON-LD, dumps written from N-Triples bytes, an entity's Turtle prefixes found in its N-Triples)
    against the plain ones, on the shipped data: one process, a store lookup per question, json's own
    encoder, each dump serialized by pyoxigraph from its terms, prefixes from the terms. Every file of
    the release must be the same, byte for byte."""
    from pledgegraph.delivery import export
    from pledgegraph.delivery.release import jsonld, pages
    from pledgegraph.model.vocab import PREFIXES

    entities = [p for p in release.rglob("*.nt") if p.parent != release and p.parent.name != "changes"]
    assert len(entities) >= publish_module.PARALLEL_FROM  # the release fixture was written by two processes
    monkeypatch.setattr(publish_module, "PARALLEL_FROM", 10**9)
    monkeypatch.setattr(
        pages,
        "page_graph",
        lambda store, base, link=None, contents=None, owners=None: pages._Graph(
            store, base, link or (lambda i: i), owners=owners
        ),
    )
    monkeypatch.setattr(  # an entity's Turtle prefixes from its terms, not from its N-Triples bytes
        publish_module,
        "term_prefixes",
        lambda nt: export._used_prefixes(
            [ox.Triple(q.subject, q.predicate, q.object) for q in ox.parse(nt, format=ox.RdfFormat.N_TRIPLES)],
            PREFIXES,
        ),
    )
    monkeypatch.setattr(
        jsonld,
        "indented_json",
        lambda doc, spaced=True: (json.dumps(doc, indent=1, ensure_ascii=False, sort_keys=True) + "\n").encode(),
    )
    plain = publish(tmp_path / "site", dist).release
    fast_files = sorted(str(p.relative_to(release)) for p in release.rglob("*") if p.is_file())
    assert fast_files == sorted(str(p.relative_to(plain)) for p in plain.rglob("*") if p.is_file())
    assert [f for f in fast_files if (release / f).read_bytes() != (plain / f).read_bytes()] == []

    src = publish_module.read_dist(dist)
    quads = [
        ox.Quad(t.subject, t.predicate, t.object, ox.NamedNode(f"{src.base}graph/{name}"))
        for name in publish_module.GRAPHS
        for t in src.graphs[name]
    ]
    data, _ = src.data()
    expected = {
        "pledgegraph.nt.gz": "".join(f"{t} .\n" for t in data).encode(),
        "pledgegraph.nq.gz": "".join(f"{q} .\n" for q in quads).encode(),
        "pledgegraph.ttl": ox.serialize(
            data, format=ox.RdfFormat.TURTLE, prefixes=export._used_prefixes(data, PREFIXES)
        ),
        "pledgegraph.trig": ox.serialize(
            quads, format=ox.RdfFormat.TRIG, prefixes=export._used_prefixes(quads, PREFIXES)
        ),
    }
    for name, content in expected.items():
        written = (release / name).read_bytes()
        assert (gzip.decompress(written) if name.endswith(".gz") else written) == content, name


DIGESTS = ROOT / "tests/fixtures/release-0.1.0.sha256"


def tree_digests(outdir: Path) -> dict[str, str]:
    """Every file under `outdir` -> its SHA-256 (a symbolic link -> `link:` and its target)."""
    return {
        str(p.relative_to(outdir)): f"link:{os.readlink(p)}"
        if p.is_symlink()
        else hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(outdir.rglob("*"))
        if p.is_file() or p.is_symlink()
    }


def test_the_release_of_the_shipped_data_is_byte_for_byte_the_reviewed_one(release):
    """The whole published tree (release, `latest`, `.well-known`, index) against the digests of the
    release written by the code before the speed work of issue 22 (commit 2cf1876; its content is what
    the other tests here and test_figures check, not a separate reading of every file), but for the 30
    entity pages whose own timeline our SVG writer now draws (issue 22, reviewed as PNGs), the gzip
    dumps at level 6, compressed by zlib-ng since round 11 (the same content, checked unpacked; their sizes
    and checksums in catalog.ttl and index.html), and
    timeline.svg, which that writer draws instead of matplotlib since round 7 (reviewed as PNGs beside
    matplotlib's: the same rows, dates, labels, colours, axis and legend entries), and the 93 pages whose
    "Related" rows had summary lines of more than twelve bits, which now end "and N more" (session 12;
    checked row by row: the first twelve bits as before, N the number left out, nothing else changed). A change to
    publish's output must be deliberate: after reviewing the new bytes, write `tree_digests` of the new
    tree to the fixture as `digest  path` lines."""
    expected = dict(reversed(line.split("  ", 1)) for line in DIGESTS.read_text().splitlines())
    found = tree_digests(release.parent)
    assert sorted(found.keys() - expected.keys()) == [] and sorted(expected.keys() - found.keys()) == []
    assert [name for name in sorted(found) if found[name] != expected[name]] == []


def test_the_site_files_wait_for_the_last_batch_when_the_whole_diagram_is_late(release, dist, tmp_path, monkeypatch):
    """publish writes the index page, VoID, the catalog and the rest between its batches of entity files once the
    dumps are done and the whole diagram drawn; a diagram still not drawn after the last batch is waited for,
    and the release is the same, byte for byte."""
    from concurrent.futures import Future

    from pledgegraph.delivery.release import figures

    class Late(Future):
        """Never done when asked between batches; its result is the diagram."""

        def done(self):
            return False

    drawn = figures.Figures.branches_later

    def late(self, link, dot):
        future = Late()
        future.set_result(drawn(self, link, dot).result())
        return future

    monkeypatch.setattr(figures.Figures, "branches_later", late)
    fresh = publish(tmp_path / "site", dist).release
    assert tree_digests(fresh) == tree_digests(release)


@pytest.mark.parametrize("where", ["this process", "the forked child"])
def test_an_entity_file_that_fails_in_either_process_leaves_the_previous_release_untouched(
    where, dist, tmp_path, monkeypatch
):
    """Entity files are written by this process and a forked child (and `dot` runs in the background):
    a failure in either stops publish with nothing of the new release left and no process running."""
    import multiprocessing

    from pledgegraph.delivery.release import pages

    outdir = tmp_path / "site"
    publish(outdir, dist)
    before = {p: p.read_bytes() for p in outdir.rglob("*") if p.is_file()}
    entities = sorted(p.relative_to(outdir / "0.1.0") for p in (outdir / "0.1.0").glob("*/*.nt"))
    entities = [p for p in entities if p.parent.name != "changes"]
    broken = entities[0 if where == "this process" else -1]  # the child takes the last entities
    render = pages.render_entity

    def failing(store, iri, *args, **kwargs):
        if iri.endswith(f"/{broken.parent}/{broken.stem}"):
            raise OSError("disk full")
        return render(store, iri, *args, **kwargs)

    monkeypatch.setattr(pages, "render_entity", failing)
    with pytest.raises((OSError, RuntimeError), match="disk full"):
        publish(outdir, dist, force=True)  # the same version, replaced: its files are all written again
    assert {p: p.read_bytes() for p in outdir.rglob("*") if p.is_file()} == before
    assert sorted(p.name for p in outdir.iterdir()) == [".well-known", "0.1.0", "index.html", "latest", "latest.txt"]
    assert multiprocessing.active_children() == []


@pytest.mark.parametrize("fails", ["the dumps' child", "this process, while the dumps' child writes"])
def test_a_failure_beside_the_dumps_child_leaves_the_previous_release_untouched(fails, dist, tmp_path, monkeypatch):
    """The whole-graph dumps are written by a forked child of their own: its failure stops publish, and a
    failure of this process kills it; either way nothing of the new release is left and no process runs."""
    import multiprocessing

    from pledgegraph.delivery.release import catalog

    outdir = tmp_path / "site"
    publish(outdir, dist)
    before = {p: p.read_bytes() for p in outdir.rglob("*") if p.is_file()}
    children_before = _running_children()

    def failing(*args, **kwargs):
        raise OSError("disk full")

    if fails == "the dumps' child":
        monkeypatch.setattr(publish_module, "write_trig", failing)  # the TriG dump: only the dumps' child writes it
    else:
        monkeypatch.setattr(catalog, "void_triples", failing)
    expected = (
        "writing the dumps and the ontology's files failed: OSError: disk full"
        if fails == "the dumps' child"
        else "disk full"
    )
    with pytest.raises((OSError, RuntimeError), match=expected):
        publish(outdir, dist, force=True)
    assert {p: p.read_bytes() for p in outdir.rglob("*") if p.is_file()} == before
    assert sorted(p.name for p in outdir.iterdir()) == [".well-known", "0.1.0", "index.html", "latest", "latest.txt"]
    assert multiprocessing.active_children() == []
    assert _running_children() <= children_before  # nor a `dot` (the whole diagram's started before VoID)


def _running_children() -> set[str]:
    """The process ids of this process's children (multiprocessing's and others', such as `dot`), ended but
    not yet waited for too."""
    return {pid for task in Path("/proc/self/task").iterdir() for pid in (task / "children").read_text().split()}


def test_a_fresh_publish_imports_neither_the_build_nor_the_package_metadata():
    """`pledgegraph publish` runs as a fresh process: what it imports is paid on every release. The build's
    pipeline and stages (0.1 s) and `importlib.metadata` (for `--version`, ~50 ms) are not needed there."""
    heavy = ("pledgegraph.pipeline", "pledgegraph.stages", "importlib.metadata")
    code = (
        "import sys, pledgegraph.cli, pledgegraph.delivery.release.publish\n"
        f"print(sorted(m for m in {heavy!r} if m in sys.modules))"
    )
    ran = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert ran.stdout.strip() == "[]"
