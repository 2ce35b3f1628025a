"""One record per RDF format: name, file suffix, media type and the pyoxigraph format that writes it."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pyoxigraph as ox


@dataclass(frozen=True)
class Format:
    name: str
    suffix: str
    media_type: str
    rdf_format: ox.RdfFormat
    quads: bool = False


FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format("turtle", ".ttl", "text/turtle", ox.RdfFormat.TURTLE),
        Format("ntriples", ".nt", "application/n-triples", ox.RdfFormat.N_TRIPLES),
        Format("jsonld", ".jsonld", "application/ld+json", ox.RdfFormat.JSON_LD),
        Format("rdfxml", ".rdf", "application/rdf+xml", ox.RdfFormat.RDF_XML),
        Format("trig", ".trig", "application/trig", ox.RdfFormat.TRIG, quads=True),
        Format("nquads", ".nq", "application/n-quads", ox.RdfFormat.N_QUADS, quads=True),
    )
}

GRAPH_FORMATS = ("turtle", "ntriples", "jsonld")


def by_suffix(suffix: str) -> Format | None:
    return next((f for f in FORMATS.values() if f.suffix == suffix), None)


def by_media_type(media_type: str) -> Format | None:
    return next((f for f in FORMATS.values() if f.media_type == media_type), None)


# Characters XML 1.0 forbids even as references (C0 controls but tab/newline/return, surrogates,
# U+FFFE, U+FFFF): Oxigraph's writers and ours would emit them raw and make the document invalid.
# Listed, not as the complement of what XML allows: the same set, compiled in 0.4 ms instead of 4 ms
# (every command's start-up).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_safe(text: str) -> str:
    """`text` with every character XML forbids replaced by U+FFFD, so readers see that one was there."""
    return _NOT_XML.sub("\ufffd", text)


def xml_safe_bytes(data: bytes) -> bytes:
    return xml_safe(data.decode("utf-8")).encode("utf-8") if _NOT_XML.search(data.decode("utf-8")) else data


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def spreadsheet_safe(value: str) -> str:
    """A cell a spreadsheet will not run as a formula (OWASP "CSV injection"): a value that starts
    with = + - @ (or their full-width forms), a tab or a line break gets a leading apostrophe;
    plain numbers such as -5 or +1.5e3 stay as they are."""
    if value.startswith(_FORMULA_START) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value
