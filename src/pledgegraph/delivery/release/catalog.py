"""Release metadata for harvesters: VoID (what the data is) and a DCAT 3 catalog (what the files are).

IRIs: `<base>dataset` is the dataset across versions (it is in the data), `<base>dataset/<version>`
this release, `<base>catalog` the catalog. Files are linked with IRIs relative to the metadata
document, so a release can be hosted anywhere: metadata is built with file IRIs under the
placeholder `HERE` and `relative_turtle` rewrites them for the document's own location. Dates
and the version come from the dataset record, never from the clock.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from itertools import chain
from typing import Iterable, NamedTuple

import pyoxigraph as ox

from pledgegraph.delivery.export import serialize
from pledgegraph.model.formats import by_suffix
from pledgegraph.model.iris import entity_space
from pledgegraph.model.vocab import DCAT, DCTERMS, FOAF, OWL, PREFIXES, RDF, RDFS, SKOS, XSD

HERE = "http://release.invalid/"
VOID = PREFIXES["void"]
SPDX = "http://spdx.org/rdf/terms#"
SD = "http://www.w3.org/ns/sparql-service-description#"
DCATAP = "http://data.europa.eu/r5r/"
METADATA_PREFIXES = {**PREFIXES, "spdx": SPDX, "sd": SD, "dcatap": DCATAP}
IANA = "https://www.iana.org/assignments/media-types/"
MEDIA_TYPES = {
    ".gz": "application/gzip",
    ".html": "text/html",
    ".svg": "image/svg+xml",
    ".json": "application/json",
    ".txt": "text/plain",
    ".xml": "application/xml",
}
# DCAT-AP wants EU authority IRIs for file types, languages and availability.
EU = "http://publications.europa.eu/resource/authority/"
FILE_TYPES = {
    "text/turtle": "RDF_TURTLE",
    "application/n-triples": "RDF_N_TRIPLES",
    "application/ld+json": "JSON_LD",
    "application/trig": "RDF_TRIG",
    "application/n-quads": "RDF_N_QUADS",
    "application/rdf+xml": "RDF_XML",
    "text/html": "HTML",
    "image/svg+xml": "SVG",
    "application/json": "JSON",
    "text/plain": "TXT",
}
EU_LANGUAGES = {"en": "ENG", "ru": "RUS", "ar": "ARA", "fr": "FRA", "de": "DEU"}
DATA_THEMES = EU + "data-theme"
# Labels of the EU concepts we use, as their authority tables give them (a portal checks they are there).
EU_LABELS = {
    DATA_THEMES: "Data theme",
    EU + "data-theme/JUST": "Justice, legal system and public safety",
    EU + "data-theme/GOVE": "Government and public sector",
    EU + "data-theme/SOCI": "Population and society",
    EU + "planned-availability/STABLE": "stable",
    "http://purl.org/adms/licencetype/Attribution": "Attribution",
}
# ADMS licence types, for the licences a dataset record may name.
LICENCE_TYPES = {"https://creativecommons.org/licenses/by/4.0/": "http://purl.org/adms/licencetype/Attribution"}
VCARD = "http://www.w3.org/2006/vcard/ns#"
ACTIVITY_STREAMS = "https://www.w3.org/TR/activitystreams-core/"
# What each kind of file is, for people browsing a portal (longest matching name first).
FILE_DESCRIPTIONS = (
    ("changes/added", "Triples added since the previous release (apply after the removed ones)."),
    ("changes/removed", "Triples removed since the previous release (apply first)."),
    ("changes/activities", "This release's page of the change feed (ActivityStreams 2.0)."),
    ("changes/summary", "Entities added, removed and changed since the previous release."),
    ("changes/index", "The change set since the previous release, for people."),
    ("ontology/index", "The ontology's documentation."),
    ("ontology/", "The ontology and its vocabularies."),
    ("pledgegraph.nt", "The canonical dump: asserted and inferred triples, sorted N-Triples."),
    ("pledgegraph.nq", "The dataset's named graphs (asserted, inferred, ontology, shapes) as N-Quads."),
    ("pledgegraph.trig", "The dataset's named graphs (asserted, inferred, ontology, shapes) as TriG."),
    ("pledgegraph.", "The whole graph, asserted and inferred triples."),
    ("context", "The JSON-LD context for our terms."),
    ("feed", "The change feed (ActivityStreams 2.0): an entry per entity created, updated or deleted, every release."),
    ("shapes", "The SHACL shapes the data is validated with."),
    ("void", "VoID description: counts, partitions, vocabularies, dumps."),
    ("timeline", "A picture: pledges, acceptances, posts held and claimed attacks over time."),
    ("branches", "A picture: organizations and what was under them over time."),
    ("index", "The release's table of contents."),
    ("sitemap", "Every entity page, for crawlers."),
)


@dataclass(frozen=True)
class DatasetInfo:
    """The dataset record's fields that date and describe a release."""

    base: str
    version: str
    title: str
    description: str
    license: str
    publisher: str
    issued: str
    modified: str
    keywords: tuple[str, ...] = ()
    themes: tuple[str, ...] = ()
    spatial: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    homepage: str = ""
    temporal: tuple[str, str] | None = None  # the earliest and latest day any fact is dated

    @property
    def iri(self) -> str:
        return self.base + "dataset"

    def release_iri(self, version: str | None = None) -> str:
        return f"{self.base}dataset/{version or self.version}"


def media_type(path: str) -> str:
    """The file's media type (for `x.nt.gz` the type of what is inside; see `compression`)."""
    name = path.removesuffix(".gz")
    suffix = "." + name.rsplit(".", 1)[-1] if "." in name else ""
    fmt = by_suffix(suffix)
    if fmt:
        return fmt.media_type
    if path.endswith("context.jsonld"):
        return "application/ld+json"
    return MEDIA_TYPES.get(suffix, "application/octet-stream")


class _Triples:
    def __init__(self):
        self.out: set[ox.Triple] = set()

    def add(self, s: str, p: str, o) -> None:
        if isinstance(o, str):
            o = ox.NamedNode(o)
        self.out.add(ox.Triple(ox.NamedNode(s), ox.NamedNode(p), o))

    def lit(self, s: str, p: str, value, datatype: str = "", language: str = "") -> None:
        if language:
            self.add(s, p, ox.Literal(str(value), language=language))
        else:
            self.add(s, p, ox.Literal(str(value), datatype=ox.NamedNode(XSD + (datatype or "string"))))

    def sorted(self) -> list[ox.Triple]:
        return sorted(self.out, key=str)


def _describe_release(g: _Triples, info: DatasetInfo, previous: str | None) -> str:
    d = info.release_iri()
    for cls in (VOID + "Dataset", DCAT + "Dataset"):
        g.add(d, RDF + "type", cls)
    g.lit(d, DCTERMS + "title", f"{info.title} {info.version}", language="en")
    if info.description:
        g.lit(d, DCTERMS + "description", info.description, language="en")
    _licence(g, d, info)
    g.add(d, DCTERMS + "isVersionOf", info.iri)
    g.add(info.iri, DCAT + "hasVersion", d)
    g.lit(d, DCAT + "version", info.version)
    g.lit(d, OWL + "versionInfo", info.version)
    if previous:
        g.add(d, DCAT + "previousVersion", info.release_iri(previous))
    for key in ("issued", "modified"):
        value = getattr(info, key)
        if value:
            g.lit(d, DCTERMS + key, value, _date_type(value))
    _publisher(g, d, info)
    for keyword in info.keywords:
        g.lit(d, DCAT + "keyword", keyword, language="en")
    for theme in info.themes:
        g.add(d, DCAT + "theme", theme)
        _eu_term(g, theme, SKOS + "Concept")
    _coverage(g, d, info)
    return d


def _eu_term(g: _Triples, iri: str, cls: str) -> None:
    """A term of a vocabulary DCAT-AP names (EU authority tables, ADMS), typed as it expects, with
    its label where we know it."""
    g.add(iri, RDF + "type", cls)
    if iri in EU_LABELS:
        g.lit(
            iri,
            (DCTERMS + "title") if cls == SKOS + "ConceptScheme" else (SKOS + "prefLabel"),
            EU_LABELS[iri],
            language="en",
        )


def _licence(g: _Triples, subject: str, info: DatasetInfo) -> None:
    g.add(subject, DCTERMS + "license", info.license)
    g.add(info.license, RDF + "type", DCTERMS + "LicenseDocument")
    if info.license in LICENCE_TYPES:
        g.add(info.license, DCTERMS + "type", LICENCE_TYPES[info.license])
        _eu_term(g, LICENCE_TYPES[info.license], SKOS + "Concept")


def _publisher(g: _Triples, subject: str, info: DatasetInfo) -> None:
    if info.publisher:
        agent = info.iri + "#publisher"
        g.add(subject, DCTERMS + "publisher", agent)
        g.add(agent, RDF + "type", FOAF + "Agent")
        g.lit(agent, FOAF + "name", info.publisher)


def _coverage(g: _Triples, subject: str, info: DatasetInfo) -> None:
    """Where and when the data is about, and its languages."""
    for place in info.spatial:
        g.add(subject, DCTERMS + "spatial", place)
        g.add(place, RDF + "type", DCTERMS + "Location")
    for language in info.languages:
        if language.lower() in EU_LANGUAGES:
            iri = EU + "language/" + EU_LANGUAGES[language.lower()]
            g.add(subject, DCTERMS + "language", iri)
            g.add(iri, RDF + "type", DCTERMS + "LinguisticSystem")
    if info.temporal:
        period = info.release_iri() + "#temporal"
        g.add(subject, DCTERMS + "temporal", period)
        g.add(period, RDF + "type", DCTERMS + "PeriodOfTime")
        g.lit(period, DCAT + "startDate", info.temporal[0], "date")
        g.lit(period, DCAT + "endDate", info.temporal[1], "date")


def _date_type(value: str) -> str:
    return {4: "gYear", 7: "gYearMonth"}.get(len(value), "date")


class Counts:
    """What VoID counts, in one pass over the data: distinct subjects, objects and IRIs in the entity
    space, triples per property, members per class. Terms are counted by their N-Triples text, which
    tells them apart as the terms do. Read from each triple's text (`str`, as publish sorts by): a
    subject's or predicate's text has no space (an IRI or a blank node label), so one split gives the
    three terms' texts without making a term object (at 1M, 1.8 million triples); the data comes sorted,
    so a subject's triples are together and its text is kept once."""

    def __init__(self, texts: Iterable[str], base: str):
        self.classes: dict[str, set[str]] = {}
        rdf_type, inside = f"<{RDF}type>", "<" + entity_space(base)
        # sets as they go: an object's text seen before is dropped at once (at 100k, 35,617 distinct of 182,290),
        # where a list of them all took ~200,000 fresh pages of memory at 1M before becoming a set
        subjects: set[str] = set()
        objects: set[str] = set()
        properties: dict[str, int] = {}  # by their text `<…>` until the end
        add_subject, add_object, last = subjects.add, objects.add, ""
        for text in texts:
            subject, predicate, obj = text.split(" ", 2)
            if subject != last:
                last = subject
                add_subject(subject)
            add_object(obj)
            properties[predicate] = properties.get(predicate, 0) + 1
            if predicate == rdf_type and obj.startswith("<"):  # a class is an IRI
                self.classes.setdefault(obj[1:-1], set()).add(subject)
        self.properties: dict[str, int] = {predicate[1:-1]: n for predicate, n in properties.items()}
        self.subjects, self.objects = subjects, objects
        self.entities = {term for term in chain(self.subjects, self.objects) if term.startswith(inside)}

    def subject_iris(self) -> set[str]:
        return {s[1:-1] for s in self.subjects if s.startswith("<")}


def void_triples(
    info: DatasetInfo,
    counts: Counts,
    triples: int,
    graphs: dict[str, list[ox.Triple]],
    entities: list[str],
    dumps: list[str],
    quad_dumps: list[str],
    previous: str | None,
    feed: str | None = None,
) -> list[ox.Triple]:
    """VoID for the release: counts, class and property partitions, vocabularies, dumps, subsets.

    The data (asserted and inferred triples) is the release's dataset; the quad dumps hold more
    (the ontology and shapes graphs too), so they are described as a dataset of their own whose
    subsets are the named graphs. `void:entities` counts every IRI in `void:uriSpace` (records
    and the nodes below them), as VoID defines it; the records are the class partitions."""
    g = _Triples()
    d = _describe_release(g, info, previous)
    space = entity_space(info.base)
    g.lit(d, VOID + "triples", triples, "integer")
    g.lit(d, VOID + "entities", len(counts.entities), "integer")
    g.lit(d, VOID + "distinctSubjects", len(counts.subjects), "integer")
    g.lit(d, VOID + "distinctObjects", len(counts.objects), "integer")
    g.add(d, VOID + "uriSpace", ox.Literal(space))
    g.add(d, VOID + "feature", "http://www.w3.org/ns/formats/N-Triples")
    g.add(d, VOID + "feature", "http://www.w3.org/ns/formats/Turtle")
    g.add(d, VOID + "feature", "http://www.w3.org/ns/formats/JSON-LD")
    for dump in dumps:
        g.add(d, VOID + "dataDump", HERE + dump)
    if feed:
        g.add(d, RDFS + "seeAlso", HERE + feed)
        g.add(HERE + feed, DCTERMS + "conformsTo", ACTIVITY_STREAMS)
    if entities:
        g.add(d, VOID + "exampleResource", entities[0])
    classes, properties = counts.classes, counts.properties
    g.lit(d, VOID + "classes", len(classes), "integer")
    g.lit(d, VOID + "properties", len(properties), "integer")
    for i, cls in enumerate(sorted(classes), start=1):
        part = f"{d}/class/{i}"
        g.add(d, VOID + "classPartition", part)
        g.add(part, VOID + "class", cls)
        g.lit(part, VOID + "entities", len(classes[cls]), "integer")
    for i, prop in enumerate(sorted(properties), start=1):
        part = f"{d}/property/{i}"
        g.add(d, VOID + "propertyPartition", part)
        g.add(part, VOID + "property", prop)
        g.lit(part, VOID + "triples", properties[prop], "integer")
    used = set(properties) | set(classes)
    for ns in sorted({ns for ns in PREFIXES.values() if any(iri.startswith(ns) for iri in used)}):
        g.add(d, VOID + "vocabulary", ns)
    quads = f"{d}/quads"
    g.add(quads, RDF + "type", VOID + "Dataset")
    g.lit(quads, DCTERMS + "title", f"{info.title} {info.version}, named graphs", language="en")
    g.lit(
        quads,
        DCTERMS + "description",
        "The release's asserted and inferred data with the ontology and the SHACL shapes, each in a named graph.",
        language="en",
    )
    g.add(quads, DCTERMS + "hasPart", d)
    g.add(quads, VOID + "feature", "http://www.w3.org/ns/formats/TriG")
    g.add(quads, VOID + "feature", "http://www.w3.org/ns/formats/N-Quads")
    g.lit(quads, VOID + "triples", sum(len(triples) for triples in graphs.values()), "integer")
    for dump in quad_dumps:
        g.add(quads, VOID + "dataDump", HERE + dump)
    for name, triples in graphs.items():
        subset = f"{d}/graph/{name}"
        g.add(quads, VOID + "subset", subset)
        if name in ("asserted", "inferred"):
            g.add(d, VOID + "subset", subset)
        g.add(subset, RDF + "type", VOID + "Dataset")
        g.add(subset, SD + "name", f"{info.base}graph/{name}")
        g.lit(subset, VOID + "triples", len(triples), "integer")
    return g.sorted()


class Written(NamedTuple):
    """A release file as written: what the catalog, the index page and a republish compare need of it."""

    size: int
    sha256: str | None  # hex; None for a file the catalog does not list (an entity's: at 1M, 1.2 GB not hashed)

    @classmethod
    def of(cls, content: bytes, digest: bool = True) -> Written:
        return cls(len(content), hashlib.sha256(content).hexdigest() if digest else None)


def dcat_triples(info: DatasetInfo, files: dict[str, Written], previous: str | None) -> list[ox.Triple]:
    """A DCAT 3 catalog with one distribution per file: media type, size, SHA-256, licence, dates."""
    g = _Triples()
    d = _describe_release(g, info, previous)
    catalog = info.base + "catalog"
    g.add(catalog, RDF + "type", DCAT + "Catalog")
    g.lit(catalog, DCTERMS + "title", info.title, language="en")
    g.lit(
        catalog,
        DCTERMS + "description",
        f"The releases of {info.title}" + (f": {info.description}" if info.description else "."),
        language="en",
    )
    g.add(catalog, DCAT + "dataset", d)
    _licence(g, catalog, info)
    _publisher(g, catalog, info)
    _coverage(g, catalog, info)
    if info.homepage:
        g.add(catalog, FOAF + "homepage", info.homepage)
        g.add(info.homepage, RDF + "type", FOAF + "Document")
    if info.themes:
        g.add(catalog, DCAT + "themeTaxonomy", DATA_THEMES)
        _eu_term(g, DATA_THEMES, SKOS + "ConceptScheme")
    for key in ("issued", "modified"):
        value = getattr(info, key)
        if value:
            g.lit(catalog, DCTERMS + key, value, _date_type(value))
    for path in sorted(files):
        dist = f"{d}/dist/{path}"
        kind = media_type(path)
        g.add(d, DCAT + "distribution", dist)
        g.add(dist, RDF + "type", DCAT + "Distribution")
        g.add(dist, DCAT + "downloadURL", HERE + path)
        g.add(dist, DCAT + "accessURL", HERE + path)
        g.add(dist, DCAT + "mediaType", IANA + kind)
        g.add(IANA + kind, RDF + "type", DCTERMS + "MediaType")
        if kind in FILE_TYPES:
            g.add(dist, DCTERMS + "format", EU + "file-type/" + FILE_TYPES[kind])
            g.add(EU + "file-type/" + FILE_TYPES[kind], RDF + "type", DCTERMS + "MediaTypeOrExtent")
        if path.endswith(".gz"):
            g.add(dist, DCAT + "compressFormat", IANA + "application/gzip")
            g.add(IANA + "application/gzip", RDF + "type", DCTERMS + "MediaType")
        if path.endswith(("feed.jsonld", "activities.jsonld")):
            g.add(dist, DCTERMS + "conformsTo", ACTIVITY_STREAMS)
            g.add(ACTIVITY_STREAMS, RDF + "type", DCTERMS + "Standard")
        g.add(dist, DCATAP + "availability", EU + "planned-availability/STABLE")
        _eu_term(g, EU + "planned-availability/STABLE", SKOS + "Concept")
        g.lit(dist, DCAT + "byteSize", files[path].size, "nonNegativeInteger")
        g.lit(dist, DCTERMS + "title", path)
        description = next((text for prefix, text in FILE_DESCRIPTIONS if path.startswith(prefix)), "")
        if description:
            g.lit(dist, DCTERMS + "description", description, language="en")
        g.add(dist, DCTERMS + "license", info.license)
        for key in ("issued", "modified"):
            value = getattr(info, key)
            if value:
                g.lit(dist, DCTERMS + key, value, _date_type(value))
        checksum = dist + "/sha256"
        g.add(dist, SPDX + "checksum", checksum)
        g.add(checksum, RDF + "type", SPDX + "Checksum")
        g.add(checksum, SPDX + "algorithm", SPDX + "checksumAlgorithm_sha256")
        g.lit(checksum, SPDX + "checksumValue", files[path].sha256, "hexBinary")
    return g.sorted()


def relative_turtle(triples: list[ox.Triple], prefix: str) -> bytes:
    """Turtle in which release files are written relative to the document (`prefix` + path)."""
    text = serialize(triples, "turtle", METADATA_PREFIXES).decode()
    return text.replace("<" + HERE, "<" + prefix).encode()
