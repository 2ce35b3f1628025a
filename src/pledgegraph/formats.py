"""One record per RDF format: name, file suffix, media type and the pyoxigraph format that writes it."""

from __future__ import annotations

from dataclasses import dataclass

import pyoxigraph as ox


@dataclass(frozen=True)
class Format:
    name: str
    suffix: str
    media_type: str
    rdf_format: ox.RdfFormat
    quads: bool = False


FORMATS: dict[str, Format] = {f.name: f for f in (
    Format("turtle", ".ttl", "text/turtle", ox.RdfFormat.TURTLE),
    Format("ntriples", ".nt", "application/n-triples", ox.RdfFormat.N_TRIPLES),
    Format("jsonld", ".jsonld", "application/ld+json", ox.RdfFormat.JSON_LD),
    Format("rdfxml", ".rdf", "application/rdf+xml", ox.RdfFormat.RDF_XML),
    Format("trig", ".trig", "application/trig", ox.RdfFormat.TRIG, quads=True),
    Format("nquads", ".nq", "application/n-quads", ox.RdfFormat.N_QUADS, quads=True),
)}

GRAPH_FORMATS = ("turtle", "ntriples", "jsonld")


def by_suffix(suffix: str) -> Format | None:
    return next((f for f in FORMATS.values() if f.suffix == suffix), None)


def by_media_type(media_type: str) -> Format | None:
    return next((f for f in FORMATS.values() if f.media_type == media_type), None)
