"""The curated YAML format, defined once.

Every record kind, nested structure and field is declared here with its type and the RDF term it
becomes. The loader checks data against these declarations, the builder maps records to triples
with them, and the JSON Schema for editors is generated from them: a change to the format is a
change to this file.

Field types:
  string, int, bool, url, lang     plain values
  filename                         a bare file name (no folders), resolved inside a given directory
  date                             a date at the precision the source gives (see `dates.py`)
  ref:KIND|KIND                    the id of another record of one of those kinds
  concept:SCHEME                   the id of a concept in `ontology/vocabularies.ttl`
  struct:NAME                      a nested mapping declared in STRUCTS
  citations                        the sources a fact rests on (struct:citation, at least one)
A field with `many=True` takes a list; `claimed=True` means each value may carry its own sources
(`{value: ..., sources: [...]}`) and is published as a `pg:Claim` as well as a plain triple.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

ID_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+)*$"
RANKS = ("preferred", "normal", "deprecated")  # of a claimed value, best first (concepts of pgv:rank)
VERSION_PATTERN = r"^[0-9A-Za-z][0-9A-Za-z.+_-]*$"  # a dataset version names a release folder
QUOTE_MAX = 300

AGENT = "ref:person|organization"


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    doc: str
    predicate: str = ""
    many: bool = False
    required: bool = False
    claimed: bool = False
    max_length: int = 0

    # cached: the loader and the builder ask them for every value they read (4% of loading)
    @cached_property
    def base_type(self) -> str:
        return self.type.split(":", 1)[0]

    @cached_property
    def target(self) -> str:
        return self.type.split(":", 1)[1] if ":" in self.type else ""

    @cached_property
    def ref_kinds(self) -> tuple[str, ...]:
        return tuple(self.target.split("|")) if self.base_type == "ref" else ()


@dataclass(frozen=True)
class Struct:
    name: str
    cls: str
    segment: str
    doc: str
    fields: tuple[Field, ...]

    def field(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)


@dataclass(frozen=True)
class Kind:
    """A top-level record kind: its YAML key, RDF class and IRI path segment.

    `quotes_required` marks the kinds whose facts are the graph's substance (pledges, tenures,
    events...): there a citation without the source's verbatim words is an error, elsewhere a warning.
    """

    name: str
    key: str
    cls: str
    segment: str
    doc: str
    fields: tuple[Field, ...]
    sources_required: bool = True
    quotes_required: bool = False  # every citation in the record (nested items too) needs a quote

    def field(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)


def _sources(required: bool = True) -> Field:
    return Field(
        "sources",
        "citations",
        "Where this is stated: source ids or citations with quotes.",
        "pg:citation",
        many=True,
        required=required,
    )


NAMES = Field(
    "names",
    "struct:name",
    "Every attested name, each with its language and sources.",
    "pg:nameAttestation",
    many=True,
    required=True,
)
SAME_AS = Field(
    "same_as",
    "url",
    "The same entity elsewhere (a Wikidata or GeoNames IRI), only where verified.",
    "schema:sameAs",
    many=True,
    claimed=True,
)
DEPRECATED = (
    Field("deprecated", "bool", "Retired id: kept so its IRI resolves, never reused.", "owl:deprecated"),
    Field("replaced_by", "ref:*", "The record that replaces a deprecated one.", "dcterms:isReplacedBy"),
)

STRUCTS: dict[str, Struct] = {
    s.name: s
    for s in (
        Struct(
            "citation",
            "pg:Citation",
            "cite",
            "One source a fact rests on, optionally with the verbatim quote.",
            (
                Field("source", "ref:source", "The source document's id.", "pg:source", required=True),
                Field("quote", "string", "Verbatim words from the source that state the fact.", max_length=QUOTE_MAX),
                Field(
                    "prefix",
                    "string",
                    "Text just before the quote, to make it unique in the source.",
                    max_length=QUOTE_MAX,
                ),
                Field(
                    "suffix",
                    "string",
                    "Text just after the quote, to make it unique in the source.",
                    max_length=QUOTE_MAX,
                ),
                Field("location", "string", "Where in the source (paragraph, footnote).", "pg:location"),
                Field(
                    "said_by",
                    AGENT,
                    "Who the source attributes the statement to (an official, a monitor).",
                    "pg:saidBy",
                ),
                Field(
                    "said_by_label",
                    "string",
                    "Who said it, when the source names no identifiable agent.",
                    "pg:saidByLabel",
                ),
                Field(
                    "reported_via",
                    AGENT,
                    "The outlet the source says it has the words from (Interfax), never the "
                    "speaker: `said_by` is who spoke.",
                    "pg:reportedVia",
                ),
                Field(
                    "hedge",
                    "concept:hedge",
                    "How the source qualifies the fact (allegedly, purportedly, reportedly, "
                    "a prediction): the graph then does not state it in its own voice.",
                    "pg:hedge",
                ),
            ),
        ),
        Struct(
            "name",
            "pg:NameAttestation",
            "name",
            "A name of an entity as a source spells it.",
            (
                Field("name", "string", "The name as written.", required=True),
                Field(
                    "lang",
                    "lang",
                    "BCP 47 language tag, with script where it matters (ar, ru, ar-Latn).",
                    required=True,
                ),
                Field(
                    "kind",
                    "concept:name-kind",
                    "What sort of name (real name, kunya, transliteration...).",
                    "pg:nameKind",
                ),
                Field("preferred", "bool", "The preferred label in its language (default: the first one)."),
                _sources(),
            ),
        ),
        Struct(
            "death",
            "pg:Death",
            "death",
            "A reported death, as one source tells it.",
            (
                Field("date", "date", "When.", "pg:date"),
                Field("place", "ref:place", "Where.", "pg:place"),
                Field("manner", "concept:death-manner", "How (killed in a security operation...).", "pg:deathManner"),
                Field("event", "ref:event", "The event in which it happened.", "pg:duringEvent"),
                Field("reported_by", AGENT, "Who reported it.", "pg:reportedBy"),
                Field(
                    "reported_by_label",
                    "string",
                    "Who reported it, when not an identifiable agent.",
                    "pg:reportedByLabel",
                ),
                _sources(),
            ),
        ),
        Struct(
            "casualties",
            "pg:CasualtyReport",
            "casualties",
            "A reported count of people killed, injured, detained or arrested.",
            (
                Field(
                    "status",
                    "concept:casualty-status",
                    "Killed, injured, detained, arrested.",
                    "pg:casualtyStatus",
                    required=True,
                ),
                Field("count", "int", "The figure reported.", "pg:casualtyCount"),
                Field(
                    "bound",
                    "concept:estimate-bound",
                    "How the figure bounds the truth (at least, up to...).",
                    "pg:bound",
                ),
                Field(
                    "group",
                    "string",
                    "Who they were, as the source says (police officers, attackers).",
                    "pg:casualtyGroup",
                ),
                Field(
                    "reported_by", AGENT, "Who gave this figure (local officials, a monitor).", "pg:figureReportedBy"
                ),
                Field(
                    "reported_by_label",
                    "string",
                    "Who gave it, when not an identifiable agent.",
                    "pg:figureReportedByLabel",
                ),
                _sources(),
            ),
        ),
        Struct(
            "responsibility",
            "pg:ResponsibilityClaim",
            "claim",
            "A claim of responsibility by a group for an event.",
            (
                Field("by", AGENT, "Who claimed it.", "pg:claimant", required=True),
                Field("date", "date", "When the claim was made.", "pg:date"),
                Field("medium", "concept:medium", "How it was made.", "pg:medium"),
                _sources(),
            ),
        ),
        Struct(
            "attribution",
            "pg:Attribution",
            "attribution",
            "Someone ascribing an event to a perpetrator.",
            (
                Field("to", AGENT, "The alleged perpetrator.", "pg:attributedTo", required=True),
                Field("by", AGENT, "Who ascribes it.", "pg:attributedBy"),
                Field("by_label", "string", "Who ascribes it, when not an identifiable agent.", "pg:attributedByLabel"),
                _sources(),
            ),
        ),
        Struct(
            "dispute",
            "pg:Dispute",
            "dispute",
            "A challenge to a claim about an event.",
            (
                Field("by", AGENT, "Who disputes it.", "pg:disputedBy"),
                Field("by_label", "string", "Who disputes it, when not an identifiable agent.", "pg:disputedByLabel"),
                Field(
                    "alternative",
                    "string",
                    "The other explanation offered (e.g. a gas leak).",
                    "pg:alternativeExplanation",
                ),
                _sources(),
            ),
        ),
        Struct(
            "position",
            "pg:Position",
            "side",
            "One side of a disagreement: who says what, and where.",
            (
                Field("by", AGENT, "Who holds this position.", "pg:heldBy", many=True),
                Field("by_label", "string", "Who holds it, when not an identifiable agent.", "pg:heldByLabel"),
                Field(
                    "says", "string", "What this side says, in a short neutral paraphrase.", "pg:says", required=True
                ),
                Field(
                    "stated_in",
                    "ref:*",
                    "The records that state this side (a statement, an estimate, an event...).",
                    "pg:statedIn",
                    many=True,
                ),
                Field("date", "date", "When it was said.", "pg:date"),
                _sources(),
            ),
        ),
        Struct(
            "tenure-end",
            "pg:TenureEnd",
            "end",
            "How a tenure ended, as one source tells it.",
            (
                Field(
                    "manner",
                    "concept:tenure-end",
                    "Killed, replaced, defected, unknown...",
                    "pg:endManner",
                    required=True,
                ),
                Field("date", "date", "When.", "pg:date"),
                Field("successor", "ref:person", "Who took over.", "pg:successor"),
                _sources(),
            ),
        ),
        Struct(
            "possible-identity",
            "pg:PossibleIdentity",
            "possibly-same-as",
            "A curator's inference that two records may be one person (Wikidata's \"said to be the same as\"): "
            "no source says so; both are kept apart.",
            (
                Field("person", "ref:person", "The other candidate.", "pg:candidate", required=True),
                Field(
                    "note",
                    "string",
                    "The curator's reasons (shared role, moment): a curator's note, not a source's claim.",
                    "skos:editorialNote",
                    required=True,
                ),
                _sources(required=False),
            ),
        ),
    )
}

KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind(
            "dataset",
            "dataset",
            "pg:Dataset",
            "dataset",
            "What this dataset is: title, version, licence.",
            (
                Field("title", "string", "Title of the dataset.", "dcterms:title", required=True),
                Field("description", "string", "What it covers.", "dcterms:description"),
                Field(
                    "version", "string", "Release version (also dates the release).", "owl:versionInfo", required=True
                ),
                Field("license", "url", "Licence IRI.", "dcterms:license", required=True),
                Field("publisher", "string", "Who publishes it.", "pg:publisherName"),
                Field("issued", "date", "First release.", "dcterms:issued"),
                Field("modified", "date", "This release.", "dcterms:modified"),
                Field("keywords", "string", "Words a data portal lists the dataset under.", "dcat:keyword", many=True),
                Field(
                    "themes",
                    "url",
                    "Data themes (EU data-theme vocabulary IRIs), for data portals.",
                    "dcat:theme",
                    many=True,
                ),
                Field(
                    "spatial",
                    "url",
                    "Places the dataset covers (EU country authority IRIs).",
                    "dcterms:spatial",
                    many=True,
                ),
                Field("languages", "lang", "Languages of its texts (BCP 47 tags).", "dcterms:language", many=True),
                Field("homepage", "url", "The dataset's home page.", "foaf:homepage"),
            ),
            sources_required=False,
        ),
        Kind(
            "source",
            "sources",
            "pg:SourceDocument",
            "source",
            "A document facts are curated from.",
            (
                Field("title", "string", "Title as published.", "dcterms:title", required=True),
                Field("publisher", "ref:organization", "Publisher.", "dcterms:publisher"),
                Field("author", "ref:person", "Author(s).", "dcterms:creator", many=True),
                Field(
                    "author_label", "string", "Author when not a person record (e.g. collaborative).", "pg:authorLabel"
                ),
                Field("date", "date", "Publication date, only if the document states it.", "dcterms:date"),
                Field("url", "url", "Where it is published, only if known from the document itself.", "schema:url"),
                Field(
                    "kind", "concept:source-kind", "News article, blog post, encyclopedia article...", "pg:sourceKind"
                ),
                Field("language", "lang", "Language of the document.", "dcterms:language"),
                Field("part_of", "string", "Blog, series or periodical it belongs to.", "pg:partOfLabel"),
                Field(
                    "originally_in", "string", "Where it first appeared, if republished.", "pg:originallyPublishedIn"
                ),
                Field(
                    "cites", "ref:source", "Documents this one quotes or refers to.", "dcterms:references", many=True
                ),
                Field(
                    "archived_as",
                    "filename",
                    "File name of the archived plain text (for quote checks).",
                    "pg:archivedAs",
                ),
                Field("note", "string", "Curator's note on the document.", "skos:editorialNote"),
                *DEPRECATED,
            ),
            sources_required=False,
        ),
        Kind(
            "organization",
            "organizations",
            "pg:Organization",
            "org",
            "A group, umbrella/emirate, province, jamaat, state body, publisher or monitor.",
            (
                Field(
                    "kind",
                    "concept:org-kind",
                    "What kind of organization.",
                    "pg:organizationKind",
                    many=True,
                    required=True,
                ),
                NAMES,
                Field("founded", "date", "When it was founded.", "pg:foundingDate", claimed=True),
                Field("dissolved", "date", "When it ended.", "pg:dissolutionDate", claimed=True),
                Field("regions", "ref:place", "Where it operates.", "pg:operatesIn", many=True, claimed=True),
                Field("ideology", "concept:ideology", "Aims or ideology.", "pg:ideology", many=True, claimed=True),
                Field("based_in", "ref:place", "Where it is based.", "pg:basedIn", claimed=True),
                Field(
                    "leaderless_from",
                    "date",
                    "When a source says it became leaderless.",
                    "pg:leaderlessFrom",
                    claimed=True,
                ),
                Field(
                    "description",
                    "string",
                    "A short neutral description, as a source gives it.",
                    "schema:description",
                    claimed=True,
                ),
                SAME_AS,
                _sources(),
                *DEPRECATED,
            ),
        ),
        Kind(
            "person",
            "persons",
            "pg:Person",
            "person",
            "A person in a public role.",
            (
                NAMES,
                Field(
                    "description",
                    "string",
                    "A short neutral description, as a source gives it.",
                    "schema:description",
                    many=True,
                    claimed=True,
                ),
                Field("origin", "ref:place", "Where the person is from.", "pg:origin", claimed=True),
                SAME_AS,
                Field(
                    "deaths", "struct:death", "Reported deaths (one per source claim).", "pg:reportedDeath", many=True
                ),
                Field(
                    "possibly_same_as",
                    "struct:possible-identity",
                    "Another person record that may be the same person, by the curator's inference only.",
                    "pg:possibleIdentity",
                    many=True,
                ),
                _sources(),
                *DEPRECATED,
            ),
        ),
        Kind(
            "place",
            "places",
            "pg:Place",
            "place",
            "A country, republic, region, city or settlement.",
            (
                Field("kind", "concept:place-kind", "What kind of place.", "pg:placeKind", required=True),
                NAMES,
                Field("within", "ref:place", "The larger place it lies in.", "pg:within", claimed=True),
                SAME_AS,
                _sources(),
                *DEPRECATED,
            ),
        ),
        Kind(
            "pledge",
            "pledges",
            "pg:Pledge",
            "pledge",
            "A pledge of allegiance (bay'ah), or a defection that renounces a former allegiance.",
            (
                Field(
                    "pledgers",
                    AGENT,
                    "Who pledged (persons and/or groups); leave out when the source "
                    "names none and give `pledger_group`.",
                    "pg:pledger",
                    many=True,
                ),
                Field(
                    "pledger_group",
                    "string",
                    "Who pledged, as the source words it (six commanders in the Chechen and Dagestan wings).",
                    "pg:pledgerGroup",
                ),
                Field("pledger_count", "int", "How many pledged, if the source gives a figure.", "pg:pledgerCount"),
                Field(
                    "pledger_bound",
                    "concept:estimate-bound",
                    'How that figure bounds the truth (`unspecified` for "many", "several").',
                    "pg:pledgerCountBound",
                ),
                Field("on_behalf_of", "ref:organization", "Units the pledge was made for.", "pg:onBehalfOf", many=True),
                Field("to", "ref:organization", "The group pledged to.", "pg:pledgedTo", required=True),
                Field("to_leader", "ref:person", "The leader pledged to.", "pg:pledgedToLeader"),
                Field(
                    "renounces",
                    "ref:organization",
                    "Former allegiance renounced (makes it a defection).",
                    "pg:renounces",
                ),
                Field("date", "date", "When.", "pg:date"),
                Field("medium", "concept:medium", "Audio, video, online statement...", "pg:medium", many=True),
                Field("description", "string", "Short neutral summary.", "schema:description"),
                Field("resulted_in", "ref:*", "What it brought about.", "pg:resultedIn", many=True),
                _sources(),
                *DEPRECATED,
            ),
            quotes_required=True,
        ),
        Kind(
            "acceptance",
            "acceptances",
            "pg:Acceptance",
            "acceptance",
            "The acceptance of one or more pledges.",
            (
                Field("accepts", "ref:pledge", "The pledges accepted.", "pg:accepts", many=True, required=True),
                Field("accepted_by", "ref:person", "Who announced the acceptance.", "pg:acceptedBy"),
                Field("on_behalf_of", "ref:organization", "For whom.", "pg:acceptedOnBehalfOf"),
                Field("date", "date", "When.", "pg:date"),
                Field("medium", "concept:medium", "How it was announced.", "pg:medium", many=True),
                Field(
                    "establishes",
                    "ref:organization",
                    "Organizations it created (e.g. a province).",
                    "pg:establishes",
                    many=True,
                ),
                Field("appoints", "ref:tenure", "Tenures it began (e.g. a province's head).", "pg:appoints", many=True),
                Field("description", "string", "Short neutral summary.", "schema:description"),
                _sources(),
                *DEPRECATED,
            ),
            quotes_required=True,
        ),
        Kind(
            "tenure",
            "tenures",
            "pg:Tenure",
            "tenure",
            "A person holding a post in an organization for a period.",
            (
                Field("person", "ref:person", "Who.", "org:member", required=True),
                Field("organization", "ref:organization", "Where.", "org:organization", required=True),
                Field("role", "concept:role", "Which post.", "org:role", required=True),
                Field("from", "date", "Start.", "time:hasBeginning"),
                Field("until", "date", "End.", "time:hasEnd"),
                Field("end", "struct:tenure-end", "How it ended (one per source claim).", "pg:tenureEnd", many=True),
                Field("predecessor", "ref:person", "Who held the post before.", "pg:predecessor"),
                _sources(),
                *DEPRECATED,
            ),
            quotes_required=True,
        ),
        Kind(
            "branch",
            "branches",
            "pg:BranchRelation",
            "branch",
            "An organization being a branch of a parent for a period.",
            (
                Field("branch", "ref:organization", "The branch.", "pg:branch", required=True),
                Field("parent", "ref:organization", "The parent.", "pg:parent", required=True),
                Field("from", "date", "Start.", "time:hasBeginning"),
                Field("until", "date", "End.", "time:hasEnd"),
                Field(
                    "ended_by", "ref:pledge|event|acceptance", "What ended it (e.g. a pledge elsewhere).", "pg:endedBy"
                ),
                _sources(),
                *DEPRECATED,
            ),
        ),
        Kind(
            "relation",
            "relations",
            "pg:OrganizationRelation",
            "relation",
            "Affiliation, alliance, rivalry or support between organizations.",
            (
                Field(
                    "subject",
                    "ref:organization",
                    "The organization the relation is about.",
                    "pg:relSubject",
                    required=True,
                ),
                Field("kind", "concept:relation-kind", "Affiliate of, rival of...", "pg:relationKind", required=True),
                Field("object", AGENT, "The other side.", "pg:relObject", required=True),
                Field("from", "date", "Start.", "time:hasBeginning"),
                Field("until", "date", "End.", "time:hasEnd"),
                _sources(),
                *DEPRECATED,
            ),
        ),
        Kind(
            "event",
            "events",
            "pg:Event",
            "event",
            "An attack, operation, announcement or other dated event.",
            (
                Field("kind", "concept:event-kind", "What kind of event.", "pg:eventKind", many=True, required=True),
                Field("label", "string", "A short neutral name for the event.", "rdfs:label", required=True),
                Field("date", "date", "When.", "pg:date"),
                Field("places", "ref:place", "Where.", "pg:place", many=True),
                Field(
                    "near",
                    "ref:place",
                    'Where, when the source says only near ("an attack near Derbent").',
                    "pg:near",
                    many=True,
                ),
                Field("description", "string", "Short neutral summary as the source reports it.", "schema:description"),
                Field("casualties", "struct:casualties", "Reported casualties.", "pg:casualties", many=True),
                Field(
                    "claimed_by",
                    "struct:responsibility",
                    "Claims of responsibility.",
                    "pg:responsibilityClaim",
                    many=True,
                ),
                Field("attributed_to", "struct:attribution", "Ascriptions by others.", "pg:attribution", many=True),
                Field("disputes", "struct:dispute", "Challenges to a claim about the event.", "pg:dispute", many=True),
                Field("participants", AGENT, "Who took part (e.g. security forces).", "pg:participant", many=True),
                Field("part_of", "ref:event", "A larger event it belongs to.", "pg:partOfEvent"),
                Field(
                    "follows",
                    "ref:event",
                    "The event this one follows up (an operation after an attack).",
                    "pg:followsEvent",
                ),
                _sources(),
                *DEPRECATED,
            ),
            quotes_required=True,
        ),
        Kind(
            "estimate",
            "estimates",
            "pg:Estimate",
            "estimate",
            "One source's figure for a quantity (fighters abroad, deaths in a period).",
            (
                Field("quantity", "concept:quantity-kind", "What is counted.", "pg:quantityKind", required=True),
                Field(
                    "population",
                    "string",
                    "Whom, as the source puts it (militants from the North Caucasus).",
                    "pg:population",
                    required=True,
                ),
                Field("origin", "ref:place", "Where the counted people come from.", "pg:populationOrigin"),
                Field("location", "ref:place", "Where they are (Syria, Iraq).", "pg:estimateLocation", many=True),
                Field("value", "int", "The figure (when a single number).", "pg:estimateValue"),
                Field("min", "int", "Lower end of a range.", "pg:minValue"),
                Field("max", "int", "Upper end of a range.", "pg:maxValue"),
                Field(
                    "bound", "concept:estimate-bound", "Over, up to, close to, at least...", "pg:bound", required=True
                ),
                Field("estimated_by", AGENT, "Who gave the figure.", "pg:estimatedBy"),
                Field(
                    "estimated_by_label",
                    "string",
                    "Who gave it, when not an identifiable agent.",
                    "pg:estimatedByLabel",
                ),
                Field("date", "date", "When the figure was given.", "pg:date"),
                Field("from", "date", "Start of the period counted.", "time:hasBeginning"),
                Field("until", "date", "End of the period counted.", "time:hasEnd"),
                Field(
                    "affiliation", "ref:organization", "The group they fight for, if stated.", "pg:estimateAffiliation"
                ),
                Field("description", "string", "Short paraphrase.", "schema:description"),
                _sources(),
                *DEPRECATED,
            ),
            quotes_required=True,
        ),
        Kind(
            "designation",
            "designations",
            "pg:Designation",
            "designation",
            "An official designation (e.g. as a terrorist) by a government body.",
            (
                Field("designated", AGENT, "Who was designated.", "pg:designee", required=True),
                Field("by", "ref:organization", "The designating body.", "pg:designatedBy", required=True),
                Field(
                    "designation", "concept:designation-kind", "Which designation.", "pg:designationKind", required=True
                ),
                Field("date", "date", "When.", "pg:date"),
                _sources(),
                *DEPRECATED,
            ),
            quotes_required=True,
        ),
        Kind(
            "statement",
            "statements",
            "pg:Statement",
            "statement",
            "A public statement by an official or group: a warning, denial, condemnation, admission.",
            (
                Field("by", AGENT, "Who made it.", "pg:statedBy", many=True),
                Field("by_label", "string", "Who, when not an identifiable agent.", "pg:statedByLabel"),
                Field("kind", "concept:statement-kind", "What sort of statement.", "pg:statementKind", required=True),
                Field("date", "date", "When.", "pg:date"),
                Field("place", "ref:place", "Where it was made.", "pg:place"),
                Field("medium", "concept:medium", "How it was made.", "pg:medium", many=True),
                Field("about", "ref:*", "Records it concerns.", "pg:about", many=True),
                Field(
                    "summary", "string", "Short neutral summary of what was said.", "schema:description", required=True
                ),
                _sources(),
                *DEPRECATED,
            ),
        ),
    )
}

KINDS["disagreement"] = Kind(
    "disagreement",
    "disagreements",
    "pg:Disagreement",
    "disagreement",
    "Sources or the people they quote disagree on one question: each side, who holds it and where it is stated.",
    (
        Field(
            "question",
            "string",
            "What the sides disagree on, as a short neutral question.",
            "pg:question",
            required=True,
        ),
        Field("about", "ref:*", "Records the question concerns.", "pg:concerns", many=True),
        Field(
            "sides",
            "struct:position",
            "The sides (at least two); each contradicts every other.",
            "pg:side",
            many=True,
            required=True,
        ),
        _sources(),
        *DEPRECATED,
    ),
    quotes_required=True,
)

KIND_BY_KEY: dict[str, Kind] = {k.key: k for k in KINDS.values()}
SINGLETON_KINDS = frozenset({"dataset"})


def at_path(path: str) -> Kind | Struct | Field | None:
    """What a YAML field path names (`event.claimed_by`, `organization.names.sources`,
    `organization.founded`): a kind, the struct of a nested item, or a field holding plain values;
    None when it names nothing. Rule names in messages are these paths."""
    steps = path.split(".")
    spec: Kind | Struct | Field | None = KINDS.get(steps[0])
    for step in steps[1:]:
        if isinstance(spec, Field):  # a claimed value's own citations
            spec = STRUCTS["citation"] if spec.claimed and step == "sources" else None
        elif spec is not None:
            spec = spec.field(step)
            if spec is not None and spec.type == "citations":
                spec = STRUCTS["citation"]
            elif spec is not None and spec.base_type == "struct":
                spec = STRUCTS[spec.target]
        if spec is None:
            return None
    return spec


def all_fields() -> list[tuple[str, Field]]:
    """(owner, field) for every kind and struct: used by docs and term checks."""
    out = [(k.name, f) for k in KINDS.values() for f in k.fields]
    out += [(s.name, f) for s in STRUCTS.values() for f in s.fields]
    return out
