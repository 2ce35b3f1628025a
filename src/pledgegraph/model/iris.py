"""The IRI scheme, owned here: every module mints and parses instance IRIs through this one.

Instances are slash IRIs `<base>id/<segment>/<slug>` (the segment of each record kind is declared in
`schema.KINDS`); every node below a record (citations, names, dates, claims, subordination links)
hangs below its record's IRI, so the record a node belongs to is a prefix of the node's IRI.
Concepts are `pgv:<scheme>/<id>`.

A nested node's last step comes from what it says, never from where it stands in a list, so adding,
removing or reordering items changes no other node's IRI (see `node_key`):
- a name: `name/<lang>-<words>-<digest>` (the digest of its language and exact text);
- a citation: `cite/<source>`, or `cite/<source>/<digest>` when it has a quote or a location;
- a claimed value: `claim/<field>/<value>`, and a claimed date's own node `<field>/<date>`;
- any other nested item (a death, a side...): `<segment>/<words>-<digest>` of its fields and source ids.
Two items of one list that would get one IRI are the same item said twice: `sanity.py` refuses them.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from functools import lru_cache
from typing import Any

from pledgegraph.model import schema
from pledgegraph.model.dates import DateSpec
from pledgegraph.model.vocab import PGV, PREFIXES

SLUG = r"[a-z0-9]+(?:-[a-z0-9]+)*"
_REF = re.compile(rf"[a-z]+/{SLUG}")
SEGMENT_KIND = {k.segment: k for k in schema.KINDS.values()}
# The path of an entity or of a node below it, as served (`/id/<segment>/<slug>[/<more>…]`).
ENTITY_PATH = re.compile(rf"/id/[a-z]+/{SLUG}(?:/{SLUG})*")


def entity_space(base: str) -> str:
    """The prefix every entity IRI of a build starts with (VoID's `uriSpace`, reconciliation's
    identifier space)."""
    return base + "id/"


def entity_ref(iri: str, base: str) -> str | None:
    """`KIND/ID` (or `KIND/ID/nested/part`) for an instance IRI of this build, else None."""
    space = entity_space(base)
    return iri[len(space) :] if iri.startswith(space) else None


def is_ref(text: str) -> bool:
    """Whether `text` is written as a record reference `KIND/ID` (the short form queries accept)."""
    return _REF.fullmatch(text) is not None


def entity_iri_filter(variable: str, base: str) -> str:
    """A SPARQL FILTER keeping the values of `?variable` shaped like an entity IRI of this build (the entity
    space, then `KIND/ID` as `is_ref` reads it): run inside the store, so a caller reads only candidates
    (`is_entity` still decides)."""
    space, term = entity_space(base), f"STR(?{variable})"
    return f'FILTER(STRSTARTS({term}, "{space}") && REGEX(STRAFTER({term}, "{space}"), "^{_REF.pattern}$"))'


def ref_iri(base: str, ref: str) -> str:
    """The IRI a curator's `KIND/ID` reference (as `entity_ref` gives it) names."""
    return entity_space(base) + ref


def record_iri(base: str, kind: str, rid: str) -> str:
    """The IRI of a curated record of `kind` with id `rid`."""
    if kind == "dataset":
        return base + "dataset"
    return ref_iri(base, f"{schema.KINDS[kind].segment}/{rid}")


def concept_iri(scheme: str, cid: str) -> str:
    return f"{PGV}{scheme}/{cid}"


@lru_cache(maxsize=16)
def entity_pattern(base: str) -> re.Pattern:
    """Matches entity IRIs `<base>id/<segment>/<slug>` and anything below them (compiled once per base)."""
    return re.compile(re.escape(entity_space(base)) + rf"([a-z]+)/({SLUG})")


def entity_of(iri: str, base: str) -> str | None:
    """The entity an IRI belongs to: itself, or the record a nested node hangs below."""
    m = entity_pattern(base).match(iri)
    if not m or m.group(1) not in SEGMENT_KIND:
        return None
    return m.group(0)


class Owners(dict):
    """node IRI -> `entity_of(node)`, each IRI matched once. A release asks it of the same nodes in its
    descriptions, its change set and its pages (at 1M, ~600,000 subjects: 1 s a pass), so publish passes
    one to each."""

    def __init__(self, base: str):
        super().__init__()
        self.base = base

    def __missing__(self, node: str) -> str | None:
        found = self[node] = entity_of(node, self.base)
        return found


def is_entity(iri: str, base: str) -> bool:
    return entity_of(iri, base) == iri


def is_below(iri: str, node: str) -> bool:
    """Whether `iri` names a node nested below `node` (the build mints a nested node's IRI as its
    parent's plus "/…")."""
    return iri.startswith(node + "/")


def at_or_below(iri: str, node: str) -> bool:
    """`node` itself or a node nested below it."""
    return iri == node or iri.startswith(node + "/")


def segment_and_slug(iri: str, base: str) -> tuple[str, str]:
    m = entity_pattern(base).fullmatch(iri)
    if not m:
        raise ValueError(f"not an entity IRI under {base}: {iri}")
    return m.group(1), m.group(2)


def kind_of(iri: str, base: str) -> schema.Kind:
    """The record kind of an entity IRI."""
    return SEGMENT_KIND[segment_and_slug(iri, base)[0]]


def subordination_iri(base: str, child: str, parent: str, key: str) -> str:
    """A dated link of organization `child` under `parent`, below the child's IRI; `key` names what
    establishes it (a branch or acceptance record id) or, for a chain, a digest of its hops."""
    return f"{record_iri(base, 'organization', child)}/under/{parent}/{key}"


# -- nested nodes: IRIs from content -----------------------------------------------------------------

_DIGEST_CHARS = 8  # 32 bits: two different items of one list share an IRI once in ~4e9 (then refused)
_WORDS_MAX = 40  # readable part of a key, in characters
_NOT_SLUG = re.compile(r"[^a-z0-9]+")
_SLUG_RE = re.compile(SLUG)


def digest(*parts: str) -> str:
    """A short digest of exact text: the same text gives the same digest in every run and release."""
    return hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass")).hexdigest()[:_DIGEST_CHARS]


def words(text: str, limit: int = _WORDS_MAX) -> str:
    """The readable part of a key: lowercase ASCII words (accents dropped, other scripts left out),
    cut at a word boundary. Can be empty (a name only in Arabic script)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    out = _NOT_SLUG.sub("-", ascii_text).strip("-")
    if len(out) > limit:
        out = out[: limit + 1].rsplit("-", 1)[0] if "-" in out[: limit + 1] else out[:limit]
    return out.strip("-")


def node_key(text: str) -> str:
    """A key for text: the text itself when it is already a slug (an id, a number), otherwise its
    readable words and a digest of the exact text, so two texts with the same words differ."""
    if _SLUG_RE.fullmatch(text) and len(text) <= _WORDS_MAX:
        return text
    return "-".join(p for p in (words(text), digest(text)) if p)


def field_step(name: str) -> str:
    """A field name as an IRI step (`based_in` -> `based-in`: IRI paths are slugs, as the server routes them)."""
    return name.replace("_", "-")


def date_key(d: DateSpec) -> str:
    """A date as a key: `2014-06`, `approximate-2014`, `between-2014-11-2014-12`, `forecast-2030`."""
    text = d.edtf if d.qualifier == "on" else f"{d.qualifier} {d.edtf}"
    return words(("forecast " if d.forecast else "") + text, limit=200) or digest(text)


def value_key(value: Any) -> str:
    """A field value as a key: ids and numbers as written, dates as `date_key`, text as `node_key`."""
    if isinstance(value, DateSpec):
        return date_key(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return node_key(str(value))


def name_iri(owner: str, lang: str, text: str) -> str:
    """A name attestation: its language, its readable words and a digest of language and exact text."""
    lang = lang.lower()
    return f"{owner}/name/" + "-".join(p for p in (words(lang), words(text), digest(lang, text)) if p)


def citation_iri(fact: str, data: dict) -> str:
    """A citation of a source at a fact: `cite/<source>` when bare, or below it a digest of what
    locates the words in the document (quote, prefix, suffix, location)."""
    locator = [data.get(k) or "" for k in ("quote", "prefix", "suffix", "location")]
    base = f"{fact}/cite/{data['source']}"
    return f"{base}/{digest(*locator)}" if any(locator) else base


def claim_iri(subject: str, field: str, value: Any) -> str:
    """The claim that `subject`'s `field` has `value` (one claim per value of a field)."""
    return f"{subject}/claim/{field_step(field)}/{value_key(value)}"


def date_iri(subject: str, field: str, value: DateSpec | None = None) -> str:
    """The date node of a field: `<subject>/<field>`, or for one of a claimed field's dates
    `<subject>/<field>/<date>` (disagreeing dates each get their own node, never one merged node)."""
    step = f"{subject}/{field_step(field)}"
    return step if value is None else f"{step}/{date_key(value)}"


def period_iri(subject: str) -> str:
    """The `time:Interval` of a dated fact (its `from` and `until`)."""
    return f"{subject}/period"


def quote_iris(citation: str) -> tuple[str, str, str]:
    """A citation's quote as a Web Annotation: the annotation, its target and the target's selector."""
    return f"{citation}/quote", f"{citation}/quote/target", f"{citation}/quote/selector"


def struct_iri(parent: str, struct: schema.Struct, data: dict) -> str:
    """A nested item (a death, a casualty report, a side of a disagreement...): the words of its
    first field and a digest of all its fields and the ids of its sources."""
    parts: list[str] = []
    first = ""
    for spec in struct.fields:
        value = data.get(spec.name)
        if value is None or spec.type == "citations":
            continue
        values = value if isinstance(value, list) else [value]
        first = first or words(date_key(values[0]) if isinstance(values[0], DateSpec) else str(values[0]), limit=24)
        shown = [_canonical(v) for v in values]
        parts.append(f"{spec.name}={'|'.join(shown)}")
    parts.append("sources=" + "|".join(sorted({c.data["source"] for c in data.get("sources", ())})))
    return f"{parent}/{struct.segment}/" + "-".join(p for p in (first, digest(*parts)) if p)


def _canonical(value: Any) -> str:
    if isinstance(value, DateSpec):
        return f"{value.qualifier} {value.edtf} {value.label}" + (" forecast" if value.forecast else "")
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def term_text(iri_or_literal: str, base: str) -> str:
    """An IRI as a curator writes it: a record id, a concept id or a prefixed name."""
    text = iri_or_literal
    ref = entity_ref(text, base)
    if ref is not None:
        return ref.split("/", 1)[-1]
    if text.startswith(PGV):
        return text[len(PGV) :].split("/", 1)[-1]
    for prefix, ns in PREFIXES.items():
        if text.startswith(ns) and len(text) > len(ns):
            return f"{prefix}:{text[len(ns) :]}"
    if text.startswith(base) and "#" in text:  # our own terms, e.g. a shape: its local name
        return text.rsplit("#", 1)[1]
    return text
