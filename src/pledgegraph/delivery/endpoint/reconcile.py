"""The Reconciliation Service API 0.2 (what OpenRefine speaks), as pure functions over the name index.

Identifiers are our entity IRIs relative to the identifier space `<base>id/` (`org/caucasus-emirate`);
types are our classes (`pg:Organization`… as full IRIs); the schema space is our ontology. A query
is ranked by `search.Index.search`; `properties` constraints (a person's organization, a place's or
an organization's parent, a kind, a leader) raise the score of candidates that satisfy them and
lower it for those that do not. `match` is true for one candidate only: the single exact match of
a preferred name, of the requested type, with every given property satisfied.

Every answer validates against the 0.2 JSON Schemas (tests/test_reconcile.py).
"""

from __future__ import annotations

from html import escape

from pledgegraph.delivery.search import EXACT, Hit, Index, key, skeleton
from pledgegraph.model import schema
from pledgegraph.model.iris import entity_space
from pledgegraph.model.vocab import PG, expand

VERSIONS = ["0.2"]
DEFAULT_LIMIT, MAX_LIMIT = 10, 100
MAX_BATCH = 100  # queries in one batch, ids in one extension (OpenRefine sends 10 at a time): bounded work per request
DEFAULT_TYPES = ("organization", "person", "place")
PROPERTY_WEIGHT = 0.2  # the share of a candidate's score that its property constraints decide

# Properties offered for constraints and data extension: id -> (name, description, kinds it applies to).
PROPERTIES = {
    "kind": (
        "Kind",
        "What sort of organization, place or event (a concept of our vocabularies).",
        ("organization", "place", "event"),
    ),
    "parent": (
        "Parent",
        "The organization it is directly under (with dates), or the place it lies in.",
        ("organization", "place"),
    ),
    "leader": ("Leader", "Who held a post at its head (with role and dates).", ("organization",)),
    "organization": ("Organization", "Organizations a person held a post in (with role and dates).", ("person",)),
    "founded": ("Founded", "When it was founded (EDTF).", ("organization",)),
    "dissolved": ("Dissolved", "When it ended (EDTF).", ("organization",)),
    "died": ("Reported death", "When a death was reported (EDTF).", ("person",)),
    "date": ("Date", "When it happened (EDTF).", ("event",)),
    "description": (
        "Description",
        "A short neutral description, as a source gives it.",
        ("organization", "person", "event"),
    ),
    "sources": ("Sources", "The documents its record cites.", tuple(k for k in schema.KINDS if k != "dataset")),
}
_RELATED = frozenset({"parent", "leader", "organization", "sources"})  # values are entities
_DATED = frozenset({"parent", "leader", "organization"})  # values have [from, until]
AT_SETTING = {
    "name": "at",
    "label": "At date",
    "type": "text",
    "default": "",
    "help_text": "Only parents, leaders and organizations valid on this date (YYYY, YYYY-MM or YYYY-MM-DD).",
}


def type_iri(kind: str) -> str:
    return expand(schema.KINDS[kind].cls)


def type_of(kind: str) -> dict:
    return {"id": type_iri(kind), "name": kind.capitalize()}


_KIND_OF_TYPE = {type_iri(k): k for k in schema.KINDS if k != "dataset"}


class Service:
    """One index served under one root URL (`http://host:port`), which the manifest's links use."""

    def __init__(self, index: Index, root: str):
        self.index, self.root = index, root.rstrip("/")
        self.space = entity_space(index.base)

    # -- identifiers --------------------------------------------------------------------------

    def entity_id(self, iri: str) -> str:
        return iri[len(self.space) :] if iri.startswith(self.space) else iri

    def iri_of(self, identifier: str) -> str:
        return identifier if identifier.startswith(self.space) else self.space + identifier

    def kind_of_type(self, type_id: str) -> str | None:
        """Our kind for a type id: a class IRI (or `pg:Person`), else a kind name or IRI segment."""
        from pledgegraph.delivery.search import KIND_NAMES

        return _KIND_OF_TYPE.get(expand(type_id)) or KIND_NAMES.get(type_id.lower())

    # -- the manifest -------------------------------------------------------------------------

    def manifest(self) -> dict:
        def service(path: str) -> dict:
            return {"service_url": self.root, "service_path": path}

        return {
            "versions": VERSIONS,
            "name": "pledgegraph",
            "identifierSpace": self.space,
            "schemaSpace": PG,
            "documentation": self.root + "/",
            "view": {"url": self.root + "/id/{{id}}"},
            "defaultTypes": [type_of(k) for k in DEFAULT_TYPES],
            "preview": {"url": self.root + "/reconcile/preview?id={{id}}", "width": 420, "height": 180},
            "suggest": {
                "entity": service("/reconcile/suggest/entity"),
                "type": service("/reconcile/suggest/type"),
                "property": service("/reconcile/suggest/property"),
            },
            "extend": {"propose_properties": service("/reconcile/properties"), "property_settings": [AT_SETTING]},
        }

    # -- reconciliation queries ---------------------------------------------------------------

    def reconcile_batch(self, queries: dict) -> dict:
        """{"q0": query, …} -> {"q0": {"result": [candidates]}, …}; a bad query raises ValueError."""
        if not isinstance(queries, dict):
            raise ValueError("queries must be a JSON object of query objects")
        if len(queries) > MAX_BATCH:
            raise ValueError(f"at most {MAX_BATCH} queries in one batch")
        return {qid: {"result": self.reconcile(q)} for qid, q in queries.items()}

    def reconcile(self, query: dict) -> list[dict]:
        if not isinstance(query, dict):
            raise ValueError("a query must be a JSON object")
        text = query.get("query", "")
        types = query.get("type", [])
        types = [types] if isinstance(types, str) else types
        limit = query.get("limit", DEFAULT_LIMIT)
        constraints = query.get("properties", [])
        if (
            not isinstance(text, str)
            or not isinstance(types, list)
            or not isinstance(constraints, list)
            or not isinstance(limit, int)
            or isinstance(limit, bool)
        ):
            raise ValueError(
                "a query has a string `query`, a `type` (string or list), an integer `limit` and a list of `properties`"
            )
        limit = max(1, min(limit, MAX_LIMIT))
        kinds = [k for k in (self.kind_of_type(str(t)) for t in types) if k]
        if types and not kinds:
            return []  # none of our types
        hits = self.index.search(text, kinds, limit=max(limit * 3, 30))
        pairs = [(c.get("pid"), c.get("v")) for c in constraints if isinstance(c, dict)]
        scored = []
        for hit in hits:
            checks = [self._satisfies(hit.entity.iri, pid, v) for pid, v in pairs]
            share = sum(checks) / len(checks) if checks else 1.0
            score = round(hit.score * (1 - PROPERTY_WEIGHT + PROPERTY_WEIGHT * share), 2)
            scored.append((score, hit, checks))
        scored.sort(key=lambda s: -s[0])  # stable: equal scores keep the index's order
        exact = [s for s in scored if s[1].score == EXACT and s[1].preferred and all(s[2])]
        candidates = []
        for score, hit, checks in scored[:limit]:
            features = [{"id": "name", "value": hit.score}] + [
                {"id": f"property:{pid}", "value": ok} for (pid, _), ok in zip(pairs, checks)
            ]
            candidates.append(
                {
                    "id": self.entity_id(hit.entity.iri),
                    "name": hit.entity.label,
                    "score": score,
                    "match": len(exact) == 1 and exact[0][1] is hit,
                    "type": [type_of(hit.entity.kind)],
                    "description": _describe(hit),
                    "features": features,
                }
            )
        return candidates

    def _satisfies(self, iri: str, pid, wanted) -> bool:
        """Whether the entity's `pid` has a value like `wanted` (an id, a name, or a list of them)."""
        if isinstance(wanted, list):
            return any(self._satisfies(iri, pid, w) for w in wanted)
        if isinstance(wanted, dict):
            wanted = wanted.get("id", "")
        values = self.index.facts(iri).get(pid, []) if isinstance(pid, str) else []
        wanted = str(wanted)
        if pid in _RELATED:
            return any(self._names_entity(v[0] if isinstance(v, list) else v, wanted) for v in values)
        return any(key(wanted) == key(v) for v in values) or (
            pid == "description"
            and key(wanted) in key(self.index.entity(iri).description if self.index.entity(iri) else "")
        )

    def _names_entity(self, iri: str, wanted: str) -> bool:
        if wanted in (iri, self.entity_id(iri)):
            return True
        target = skeleton(key(wanted))
        return bool(target) and any(skeleton(key(name)) == target for name, _, _ in self.index.names_of(iri))

    # -- preview, suggest, data extension -------------------------------------------------------

    def preview(self, identifier: str) -> str | None:
        """A small HTML summary of an entity for OpenRefine's preview pane (None: unknown id)."""
        entity = self.index.entity(self.iri_of(identifier))
        if entity is None:
            return None
        names = sorted({f"{n} [{lang}]" if lang else n for n, lang, _ in self.index.names_of(entity.iri)})
        return (
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<title>{escape(entity.label)}</title></head><body style="font:14px sans-serif;margin:4px">'
            f'<p><a href="{escape(self.root)}/id/{escape(self.entity_id(entity.iri))}" target="_blank">'
            f"<strong>{escape(entity.label)}</strong></a> ({escape(entity.kind)})</p>"
            + (f"<p>{escape(entity.description)}</p>" if entity.description else "")
            + f"<p>Also known as: {escape('; '.join(names))}</p></body></html>\n"
        )

    def suggest_entities(self, prefix: str, types=(), limit: int = DEFAULT_LIMIT) -> dict:
        kinds = [k for k in (self.kind_of_type(str(t)) for t in types) if k]
        hits = self.index.complete(prefix, kinds, limit=max(1, min(limit, MAX_LIMIT)))
        return {
            "result": [
                {
                    "id": self.entity_id(h.entity.iri),
                    "name": h.entity.label,
                    "description": _describe(h),
                    "notable": [type_of(h.entity.kind)],
                }
                for h in hits
            ]
        }

    def suggest_types(self, prefix: str) -> dict:
        wanted = prefix.strip().casefold()
        return {
            "result": [
                {**type_of(k), "description": schema.KINDS[k].doc}
                for k in schema.KINDS
                if k != "dataset" and wanted in k
            ]
        }

    def suggest_properties(self, prefix: str) -> dict:
        wanted = prefix.strip().casefold()
        return {
            "result": [
                {"id": pid, "name": name, "description": doc}
                for pid, (name, doc, _) in PROPERTIES.items()
                if wanted in pid or wanted in name.casefold()
            ]
        }

    def propose_properties(self, type_id: str = "", limit: int = DEFAULT_LIMIT) -> dict:
        kind = self.kind_of_type(type_id) if type_id else None
        properties = [
            {"id": pid, "name": name, "description": doc}
            for pid, (name, doc, kinds) in PROPERTIES.items()
            if kind is None or kind in kinds
        ][: max(1, limit)]
        return {"properties": properties, **({"type": type_id} if type_id else {}), "limit": max(1, limit)}

    def extend(self, query: dict) -> dict:
        """Data extension: the values of the asked properties for each id (entities as {id, name})."""
        ids, properties = query.get("ids"), query.get("properties")
        if (
            not isinstance(ids, list)
            or not isinstance(properties, list)
            or not all(isinstance(p, dict) and isinstance(p.get("id"), str) for p in properties)
        ):
            raise ValueError('a data extension query has `ids` and `properties` ([{"id": …}])')
        if len(ids) > MAX_BATCH or len(properties) > len(PROPERTIES):
            raise ValueError(f"at most {MAX_BATCH} ids and {len(PROPERTIES)} properties in one extension")
        meta = [{"id": p["id"], "name": PROPERTIES.get(p["id"], (p["id"],))[0]} for p in properties]
        rows = {}
        for identifier in map(str, ids):
            iri = self.iri_of(identifier)
            row = {}
            for p in properties:
                at = str((p.get("settings") or {}).get("at", "") or "")
                row[p["id"]] = self._values(iri, p["id"], at) if p["id"] in PROPERTIES else []
            rows[identifier] = row
        return {"meta": meta, "rows": rows}

    def _values(self, iri: str, pid: str, at: str) -> list[dict]:
        if pid == "description":
            entity = self.index.entity(iri)
            return [{"str": entity.description}] if entity and entity.description else []
        values = self.index.facts(iri).get(pid, [])
        if pid in _DATED:
            values = [v for v in values if not at or _during(at, v[-2], v[-1])]
        if pid not in _RELATED:
            return [{"str": v} for v in values]
        out = []
        for v in values:
            target = v[0] if isinstance(v, list) else v
            entity = self.index.entity(target)
            item = {"id": self.entity_id(target), "name": entity.label if entity else target}
            if isinstance(v, list):
                role, start, end = (v[1], v[2], v[3]) if len(v) == 4 else ("", v[1], v[2])
                item["description"] = " ".join(x for x in (role, _span(start, end)) if x)
            out.append(item)
        return out


def _during(at: str, start: str, end: str) -> bool:
    """Whether the date `at` (a prefix of an ISO date) can fall within [start, end] (open where empty)."""
    return (not start or start[: len(at)] <= at) and (not end or at <= end[: len(at)])


def _span(start: str, end: str) -> str:
    return f"{start or '…'} to {end or '…'}" if start or end else ""


def _describe(hit: Hit) -> str:
    """One line: the entity's description, and the name that matched when it is not the label."""
    parts = [hit.entity.description] if hit.entity.description else [hit.entity.kind]
    if hit.name != hit.entity.label:
        parts.append(f"matched {hit.name}" + (f" [{hit.lang}]" if hit.lang else ""))
    return "; ".join(parts)
