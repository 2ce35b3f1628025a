"""Namespaces and prefixes: the one table every module and every output uses."""

from __future__ import annotations

DEFAULT_BASE = "https://w3id.org/pledgegraph/"

PG = "https://w3id.org/pledgegraph/ontology#"
PGV = "https://w3id.org/pledgegraph/vocab/"

PREFIXES: dict[str, str] = {
    "pg": PG,
    "pgv": PGV,
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "org": "http://www.w3.org/ns/org#",
    "prov": "http://www.w3.org/ns/prov#",
    "time": "http://www.w3.org/2006/time#",
    "schema": "https://schema.org/",
    "dcterms": "http://purl.org/dc/terms/",
    "oa": "http://www.w3.org/ns/oa#",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "sh": "http://www.w3.org/ns/shacl#",
    "vann": "http://purl.org/vocab/vann/",
    "void": "http://rdfs.org/ns/void#",
    "dcat": "http://www.w3.org/ns/dcat#",
}

RDF = PREFIXES["rdf"]
RDFS = PREFIXES["rdfs"]
OWL = PREFIXES["owl"]
XSD = PREFIXES["xsd"]
SKOS = PREFIXES["skos"]
ORG = PREFIXES["org"]
PROV = PREFIXES["prov"]
TIME = PREFIXES["time"]
OA = PREFIXES["oa"]
DCTERMS = PREFIXES["dcterms"]
SCHEMA = PREFIXES["schema"]
DCAT = PREFIXES["dcat"]
FOAF = PREFIXES["foaf"]


def expand(curie: str) -> str:
    """`pg:Pledge` -> full IRI; a full IRI is returned unchanged."""
    prefix, sep, local = curie.partition(":")
    if sep and prefix in PREFIXES and not local.startswith("//"):
        return PREFIXES[prefix] + local
    return curie


def sparql_prologue() -> str:
    """PREFIX lines for every namespace above, for queries and shapes."""
    return "".join(f"PREFIX {p}: <{ns}>\n" for p, ns in PREFIXES.items())
