"""The Reconciliation Service API 0.2 on `serve` (issue 23), checked against the W3C community
group's own JSON Schemas (../shared/reconciliation-api/0.2): their examples first, to show the
validator reads them as intended, then every answer of ours; and a client driving the endpoint the
way OpenRefine does (manifest, batch query with a type, preview, suggest, data extension)."""

from __future__ import annotations

import http.client
import json
import urllib.parse

import pytest
from jsonschema import Draft7Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from conftest import ROOT
from pledgegraph.delivery.endpoint.reconcile import MAX_BATCH, Service
from pledgegraph.delivery.search import Index, key
from test_search import attested_names, shared
from test_serve import server  # noqa: F401  (the endpoint on loopback, as tests/test_serve.py starts it)

SPEC = ROOT.parent / "shared" / "reconciliation-api" / "0.2"
BASE = "https://w3id.org/pledgegraph/"
PG = "https://w3id.org/pledgegraph/ontology#"
# example folder -> the schema its examples are written against
EXAMPLE_SCHEMAS = {
    name: name + ".json"
    for name in (
        "manifest",
        "reconciliation-query-batch",
        "reconciliation-result-batch",
        "data-extension-query",
        "data-extension-response",
        "data-extension-property-proposal",
        "suggest-entities-response",
        "suggest-properties-response",
        "suggest-types-response",
    )
}

pytestmark = pytest.mark.skipif(not SPEC.is_dir(), reason=f"the shared schemas are not at {SPEC}")


def _schemas() -> dict[str, dict]:
    return {p.name: json.loads(p.read_text()) for p in sorted((SPEC / "schemas").glob("*.json"))}


def validator(name: str) -> Draft7Validator:
    """A validator for one schema, its `$ref`s (type.json, the Swagger schema) resolved locally."""
    schemas = _schemas()
    registry = Registry().with_resources(
        (s["$id"].rstrip("#"), Resource.from_contents(s, default_specification=DRAFT7)) for s in schemas.values()
    )
    return Draft7Validator(schemas[name], registry=registry)


def valid(name: str, document) -> None:
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator(name).iter_errors(document)]
    assert not errors, (name, errors[:5])


@pytest.mark.parametrize("folder", sorted(EXAMPLE_SCHEMAS))
def test_the_schemas_accept_their_valid_examples_and_refuse_the_invalid_ones(folder):
    check = validator(EXAMPLE_SCHEMAS[folder])
    cases = sorted((SPEC / "examples" / folder).glob("*/*.json"))
    assert cases
    for path in cases:
        document = json.loads(path.read_text())
        assert check.is_valid(document) == (path.parent.name == "valid"), path


# -- the service, in process ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def service(dist) -> Service:
    return Service(Index.load(dist), "http://127.0.0.1:8080")


def test_every_attested_name_reconciles_to_its_entity_first(service):
    names = attested_names()
    ambiguous = shared(names)
    queries = {
        f"q{i}": {"query": name, **({"type": _type(kind)} if key(name) in ambiguous else {})}
        for i, (name, kind, _) in enumerate(names)
    }
    answer = {}
    for start in range(0, len(queries), 10):  # in batches of 10, as OpenRefine sends them
        batch = service.reconcile_batch(dict(list(queries.items())[start : start + 10]))
        valid("reconciliation-result-batch.json", batch)
        answer.update(batch)
    missed = [
        (name, answer[f"q{i}"]["result"][:1])
        for i, (name, _, iri) in enumerate(names)
        if not answer[f"q{i}"]["result"] or service.iri_of(answer[f"q{i}"]["result"][0]["id"]) != iri
    ]
    assert not missed


def _type(kind: str) -> str:
    return PG + kind.capitalize()


def test_match_is_an_exact_preferred_name_of_the_right_type(service):
    def top(query):
        return service.reconcile(query)[0]

    assert top({"query": "Rustam Asildarov", "type": PG + "Person"})["match"] is True
    assert top({"query": "rustam  ASILDAROV"})["match"] is True  # case and spacing do not matter
    alternative = top({"query": "Rustam Asilderov", "type": PG + "Person"})  # an attested other spelling
    assert alternative["id"] == "person/rustam-asildarov" and alternative["match"] is False
    assert alternative["score"] == 100
    typo = top({"query": "Rustam Asilderof"})
    assert typo["id"] == "person/rustam-asildarov" and typo["match"] is False and typo["score"] < 100
    # "Dagestan" is the republic's preferred name and one of the province's names
    assert top({"query": "Dagestan"})["id"] == "place/dagestan" and top({"query": "Dagestan"})["match"] is True
    province = top({"query": "Dagestan", "type": PG + "Organization"})
    assert province["id"] == "org/vilayat-dagestan" and province["match"] is False
    assert service.reconcile({"query": "Rustam Asildarov", "type": PG + "Place"}) == []
    assert service.reconcile({"query": "Rustam Asildarov", "type": "https://example.org/Other"}) == []


def test_property_constraints_raise_the_candidates_that_satisfy_them(service):
    plain = service.reconcile({"query": "Abu Muhammad"})
    constrained = service.reconcile(
        {"query": "Abu Muhammad", "type": PG + "Person", "properties": [{"pid": "organization", "v": "Islamic State"}]}
    )
    assert plain[0]["id"] != "person/abu-mohammad-al-adnani"
    assert constrained[0]["id"] == "person/abu-mohammad-al-adnani"
    assert {"id": "property:organization", "value": True} in constrained[0]["features"]
    by_id = service.reconcile({"query": "Grozny", "properties": [{"pid": "parent", "v": {"id": "place/chechnya"}}]})
    assert by_id[0]["id"] == "place/grozny" and by_id[0]["match"] is True
    wrong = service.reconcile({"query": "Grozny", "properties": [{"pid": "parent", "v": "Syria"}]})
    assert wrong[0]["id"] == "place/grozny" and wrong[0]["match"] is False and wrong[0]["score"] < 100


def test_data_extension_gives_kind_parents_at_a_date_leaders_dates_and_sources(service):
    query = {
        "ids": ["org/vilayat-dagestan", "person/rustam-asildarov"],
        "properties": [
            {"id": "kind"},
            {"id": "parent", "settings": {"at": "2014"}},
            {"id": "leader"},
            {"id": "organization"},
            {"id": "died"},
            {"id": "sources"},
        ],
    }
    valid("data-extension-query.json", query)
    answer = service.extend(query)
    valid("data-extension-response.json", answer)
    province, person = answer["rows"]["org/vilayat-dagestan"], answer["rows"]["person/rustam-asildarov"]
    assert province["kind"] == [{"str": "province"}]
    assert [p["id"] for p in province["parent"]] == ["org/caucasus-emirate"]  # before the 2015 pledge
    later = service.extend(
        {"ids": ["org/vilayat-dagestan"], "properties": [{"id": "parent", "settings": {"at": "2016-01"}}]}
    )
    assert [p["id"] for p in later["rows"]["org/vilayat-dagestan"]["parent"]] == ["org/islamic-state"]
    assert [p["id"] for p in province["leader"]] == ["person/rustam-asildarov"]
    assert person["died"] == [{"str": "2016-12-04"}]
    assert {o["id"] for o in person["organization"]} == {"org/is-caucasus-province", "org/vilayat-dagestan"}
    assert person["sources"] and all(s["id"].startswith("source/") for s in person["sources"])


# -- over HTTP, as OpenRefine calls it --------------------------------------------------------------


def call(server, method, path, form=None, accept="application/json"):
    conn = http.client.HTTPConnection(*server.server_address[:2], timeout=30)
    try:
        body = urllib.parse.urlencode(form) if form is not None else None
        headers = {"Accept": accept, **({"Content-Type": "application/x-www-form-urlencoded"} if body else {})}
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, response.getheader("Content-Type", ""), response.read()
    finally:
        conn.close()


def get_json(server, path, **params):
    status, ctype, body = call(server, "GET", path + ("?" + urllib.parse.urlencode(params) if params else ""))
    assert status == 200 and ctype.startswith("application/json"), (status, body[:200])
    return json.loads(body)


def test_openrefine_session(server):
    host = "http://%s:%d" % server.server_address[:2]
    manifest = get_json(server, "/reconcile")
    valid("manifest.json", manifest)
    assert manifest["identifierSpace"] == BASE + "id/" and manifest["schemaSpace"] == PG
    assert {t["id"] for t in manifest["defaultTypes"]} == {PG + "Organization", PG + "Person", PG + "Place"}
    # a batch of rows with a type, POSTed as a form
    queries = {
        "q0": {"query": "Asildarov", "type": PG + "Person", "limit": 3},
        "q1": {"query": "Нохчийчоь", "type": PG + "Organization"},
        "q2": {"query": "Groznyy", "type": PG + "Place", "properties": [{"pid": "parent", "v": "Chechnya"}]},
    }
    valid("reconciliation-query-batch.json", queries)
    status, ctype, body = call(server, "POST", "/reconcile", {"queries": json.dumps(queries)})
    answer = json.loads(body)
    assert status == 200 and ctype.startswith("application/json")
    valid("reconciliation-result-batch.json", answer)
    assert [answer[q]["result"][0]["id"] for q in ("q0", "q1", "q2")] == [
        "person/rustam-asildarov",
        "org/vilayat-nokhchicho",
        "place/grozny",
    ]
    # the view link and the preview of the chosen candidate
    chosen = answer["q0"]["result"][0]["id"]
    view = manifest["view"]["url"].replace("{{id}}", chosen)
    assert view == f"{host}/id/{chosen}" and call(server, "GET", view[len(host) :], accept="text/html")[0] == 200
    preview = manifest["preview"]["url"].replace("{{id}}", chosen)[len(host) :]
    status, ctype, page = call(server, "GET", preview, accept="text/html")
    assert status == 200 and ctype.startswith("text/html") and "Rustam Asildarov" in page.decode()
    assert call(server, "GET", "/reconcile/preview?id=person/nobody")[0] == 404
    # suggest, as the type, property and entity boxes ask while the user types
    suggest = manifest["suggest"]
    entities = get_json(server, suggest["entity"]["service_path"], prefix="Kebek")
    valid("suggest-entities-response.json", entities)
    assert entities["result"][0]["id"] == "person/aliaskhab-kebekov"
    types = get_json(server, suggest["type"]["service_path"], prefix="pers")
    valid("suggest-types-response.json", types)
    assert [t["id"] for t in types["result"]] == [PG + "Person"]
    properties = get_json(server, suggest["property"]["service_path"], prefix="par")
    valid("suggest-properties-response.json", properties)
    assert [p["id"] for p in properties["result"]] == ["parent"]
    # data extension: the properties offered for a type, then their values
    proposed = get_json(server, manifest["extend"]["propose_properties"]["service_path"], type=PG + "Organization")
    valid("data-extension-property-proposal.json", proposed)
    assert {"kind", "parent", "leader", "founded", "sources"} <= {p["id"] for p in proposed["properties"]}
    extend = {"ids": ["org/caucasus-emirate"], "properties": [{"id": "leader"}, {"id": "founded"}]}
    status, _, body = call(server, "POST", "/reconcile", {"extend": json.dumps(extend)})
    extended = json.loads(body)
    valid("data-extension-response.json", extended)
    assert extended["rows"]["org/caucasus-emirate"]["founded"] == [{"str": "2007"}]
    assert "person/dokku-umarov" in {v["id"] for v in extended["rows"]["org/caucasus-emirate"]["leader"]}


def test_single_queries_and_bad_requests(server):
    single = get_json(server, "/reconcile", query="Kebekov")
    assert single["result"][0]["id"] == "person/aliaskhab-kebekov"
    as_json = get_json(server, "/reconcile", query=json.dumps({"query": "Dagestan", "type": PG + "Organization"}))
    assert as_json["result"][0]["id"] == "org/vilayat-dagestan"
    for form in (
        {"queries": "{not json"},
        {"queries": "[1, 2]"},
        {"queries": json.dumps({"q0": {"limit": "x"}})},
        {"extend": json.dumps({"ids": "x"})},
        {"queries": json.dumps({f"q{i}": {"query": "x"} for i in range(MAX_BATCH + 1)})},
    ):
        status, ctype, _ = call(server, "POST", "/reconcile", form)
        assert status == 400 and ctype.startswith("text/plain"), form
    assert call(server, "GET", "/reconcile/nothing")[0] == 404


def test_search_over_http_as_json_and_html(server):
    found = get_json(server, "/search", q="Асильдаров", kind="person")
    assert found["hits"][0]["iri"] == BASE + "id/person/rustam-asildarov"
    status, ctype, page = call(server, "GET", "/search?q=" + urllib.parse.quote("al-Kadarskii"), accept="text/html")
    assert status == 200 and ctype.startswith("text/html")
    assert '<a href="/id/person/rustam-asildarov">Rustam Asildarov</a>' in page.decode()
    status, _, index = call(server, "GET", "/", accept="text/html")
    assert '<form action="/search"' in index.decode()
    assert call(server, "GET", "/search?q=x&kind=nonsense")[0] == 400
