"""Find an entity by any of its names: the name index (built with the graph) and its ranking.

Every label of every entity (skos:prefLabel / skos:altLabel, rdfs:label, dcterms:title), in every
language and script, is indexed under a key: ICU transliterates it to Latin ASCII and lowercases it
(`Any-Latin; Latin-ASCII; Lower`), punctuation becomes space. A second, coarser key (the skeleton)
folds the spellings transliteration schemes disagree on (kh/h, q/k, y/i/j, doubled letters, the
article al-), so Nokhchiycho, Nokhchicho and Нохчийчоь meet. A query is ranked against both keys:
exact key 100, exact skeleton 96, otherwise rapidfuzz similarity of the skeletons (whole name, and
the query's words within a longer name), at most 95. An entity scores its best name; ties go to the
entity whose preferred name matched.

The index also holds the few facts the Reconciliation API needs without the graph (`reconcile.py`):
kind, description, parents, leaders, organizations, dates and sources of each entity. It is one JSON
file in the build output (`INDEX_FILE`), so `search` never loads the graph.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from pledgegraph.errors import UnusableInput
from pledgegraph.model import iris, schema
from pledgegraph.model.vocab import DCTERMS, RDFS, SKOS, expand

if TYPE_CHECKING:
    import pyoxigraph as ox

INDEX_FILE = "search-index.json"
INDEX_VERSION = 1

NAME_PREDICATES = {
    SKOS + "prefLabel": True,
    SKOS + "altLabel": False,
    RDFS + "label": True,
    DCTERMS + "title": True,
}  # predicate -> is a preferred name
EXACT, SKELETON_EXACT, FUZZY_MAX, CUTOFF = 100.0, 96.0, 95.0, 60.0
MAX_QUERY = 300  # characters of a query that count: no name is longer, and fuzzy matching costs by length


# -- normalising names --------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _transliterator():
    import icu  # PyICU: ICU's transliteration rules for every script, not tables of our own

    return icu.Transliterator.createInstance("Any-Latin; Latin-ASCII; Lower")


_NOT_ALNUM = re.compile(r"[^a-z0-9]+")
_APOSTROPHES = re.compile(r"['`\u2018\u2019\u02b9\u02bb\u02bc\u02bf\u02be]")  # soft sign, ayn, hamza: no word break


@lru_cache(maxsize=4096)
def key(text: str) -> str:
    """A name in lowercase Latin ASCII words: script, case, diacritics and punctuation folded."""
    latin = _transliterator().transliterate(_APOSTROPHES.sub("", unicodedata.normalize("NFKC", text)))
    return _NOT_ALNUM.sub(" ", _APOSTROPHES.sub("", latin).lower()).strip()


# Spellings that transliteration schemes of Arabic, Russian and Caucasian names disagree on.
_FOLDS = [
    ("tch", "c"),
    ("kh", "h"),
    ("gh", "g"),
    ("ch", "c"),
    ("sh", "s"),
    ("zh", "z"),
    ("dh", "d"),
    ("ts", "c"),
    ("ph", "f"),
    ("ou", "u"),
    ("q", "k"),
    ("w", "v"),
    ("x", "ks"),
    ("j", "i"),
    ("y", "i"),
]
_ARTICLES = frozenset({"al", "el", "ad", "an", "ar", "as", "ash", "at", "az", "ul", "the"})
_DOUBLED = re.compile(r"(.)\1+")


@lru_cache(maxsize=4096)
def skeleton(normalized: str) -> str:
    """A key's coarse form: articles dropped, variant spellings folded, doubled letters single."""
    words = []
    for word in normalized.split():
        if word in _ARTICLES and len(normalized.split()) > 1:
            continue
        for old, new in _FOLDS:
            word = word.replace(old, new)
        words.append(_DOUBLED.sub(r"\1", word))
    return " ".join(words)


# -- the index --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entity:
    iri: str
    kind: str  # the record kind (`organization`, `person`…)
    label: str
    description: str


@dataclass(frozen=True)
class Hit:
    entity: Entity
    score: float
    name: str  # the name that matched
    lang: str
    preferred: bool  # the matched name is a preferred one


def index_document(lines: Iterable[str], base: str) -> dict:
    """The name index of a graph (asserted + inferred) as a JSON-ready document, deterministic.

    `lines` are the graph's N-Triples lines without their final " ." (as `build.Built.lines`): the
    few with a name or fact predicate are picked by string comparison, and only those are parsed."""
    import pyoxigraph as ox  # not at module level: the CLI reads KIND_NAMES without loading RDF libraries

    ours = f"<{base}"
    picked = "".join(
        line + " .\n" for line in lines if line.startswith(ours) and line.split(" ", 2)[1] in INDEX_PREDICATES
    )
    names: dict[str, set[tuple[str, str, bool]]] = {}
    by_subject: dict[str, list[tuple[str, ox.Term]]] = {}
    for quad in ox.parse(picked.encode(), format=ox.RdfFormat.N_TRIPLES):
        t = quad.triple
        s, p = t.subject.value, t.predicate.value
        if p in NAME_PREDICATES and isinstance(t.object, ox.Literal) and iris.is_entity(s, base):
            names.setdefault(s, set()).add((t.object.value, t.object.language or "", NAME_PREDICATES[p]))
        elif p in _FACT_PREDICATES:
            by_subject.setdefault(s, []).append((p, t.object))
    facts = _Facts(by_subject, base)
    entities, rows = [], []
    for number, iri in enumerate(sorted(names)):
        own = sorted(names[iri], key=lambda n: (not n[2], n[1] != "en", n[1], n[0]))
        entities.append([iri, iris.kind_of(iri, base).name, own[0][0], facts.description(iri)])
        # a name both preferred and alternative (in two languages) is listed once, as preferred
        seen: set[tuple[str, str]] = set()
        for name, lang, preferred in own:
            if (name, lang) not in seen:
                seen.add((name, lang))
                rows.append([number, name, lang, int(preferred), key(name)])
    return {
        "version": INDEX_VERSION,
        "base": base,
        "entities": entities,
        "names": rows,
        "facts": {iri: f for iri in sorted(names) if (f := facts.of(iri))},
    }


# The static release's search box: a form that reloads the index page with ?q=, and the script
# (search.js) that answers it from the shipped index.
RELEASE_SEARCH_BOX = (
    '<form id="search" action="" method="get" role="search"><label>Find an entity by any of its '
    'names: <input name="q" type="search" required></label> <button>Search</button></form>'
    '<ol id="search-results"></ol><script src="search.js" defer></script>'
)


def release_files(dist: Path) -> dict[str, bytes]:
    """What a release ships for searching: the build's name index and the script that reads it."""
    path = Path(dist) / INDEX_FILE
    if not path.is_file():
        raise UnusableInput(f"{path} not found: run `pledgegraph build` again")
    return {INDEX_FILE: path.read_bytes(), "search.js": (Path(__file__).parent / "search.js").read_bytes()}


def index_bytes(lines: Iterable[str], base: str) -> bytes:
    return (
        json.dumps(index_document(lines, base), ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n"
    ).encode()


# -- facts for reconciliation ----------------------------------------------------------------

_P = {
    name: expand(curie)
    for name, curie in {
        "description": "schema:description",
        "within": "pg:within",
        "subordinate": "pg:subordinate",
        "superior": "pg:superior",
        "direct": "pg:direct",
        "valid_from": "pg:validFrom",
        "valid_until": "pg:validUntil",
        "member": "org:member",
        "organization": "org:organization",
        "role": "org:role",
        "start": "pg:startEarliest",
        "end": "pg:endLatest",
        "founded": "pg:foundingDate",
        "dissolved": "pg:dissolutionDate",
        "death": "pg:reportedDeath",
        "date": "pg:date",
        "edtf": "pg:edtf",
        "derived": "prov:wasDerivedFrom",
        "org_kind": "pg:organizationKind",
        "place_kind": "pg:placeKind",
        "event_kind": "pg:eventKind",
    }.items()
}
_FACT_PREDICATES = frozenset(_P.values())
# The predicates (N-Triples) of every line the index reads: a caller may give it only those.
INDEX_PREDICATES = frozenset(f"<{p}>" for p in (*NAME_PREDICATES, *_FACT_PREDICATES))
_KIND_PREDICATES = (_P["org_kind"], _P["place_kind"], _P["event_kind"])


class _Facts:
    """Reads the facts reconciliation serves (parents, leaders, dates, sources) from one pass's triples."""

    def __init__(self, by_subject: dict[str, list[tuple[str, ox.Term]]], base: str):
        self.by_subject, self.base = by_subject, base
        self.parents: dict[str, list[list]] = {}
        self.tenures: dict[str, list[list]] = {}  # organization -> [person, role, from, until]
        self.memberships: dict[str, list[list]] = {}  # person -> [organization, role, from, until]
        links = {_P["subordinate"], _P["member"]}
        for pairs in by_subject.values():
            if not any(p in links for p, _ in pairs):  # most subjects are cited nodes and dates
                continue
            get = self._values(pairs)
            if get(_P["subordinate"]) and get(_P["superior"]) and "true" in get(_P["direct"]):
                for child in get(_P["subordinate"]):
                    self.parents.setdefault(child, []).extend(
                        [parent, _first(get(_P["valid_from"])), _first(get(_P["valid_until"]))]
                        for parent in get(_P["superior"])
                    )
            if get(_P["member"]) and get(_P["organization"]):
                role = _last_segment(_first(get(_P["role"])))
                span = [_first(get(_P["start"])), _first(get(_P["end"]))]
                for person in get(_P["member"]):
                    for org in get(_P["organization"]):
                        self.tenures.setdefault(org, []).append([person, role, *span])
                        self.memberships.setdefault(person, []).append([org, role, *span])

    @staticmethod
    def _values(pairs):
        def get(p: str) -> list[str]:
            return sorted(o.value for q, o in pairs if q == p)

        return get

    def _get(self, iri: str, p: str) -> list[str]:
        return self._values(self.by_subject.get(iri, []))(p)

    def description(self, iri: str) -> str:
        return _first(self._get(iri, _P["description"]))

    def _edtf(self, date_nodes: list[str]) -> list[str]:
        return sorted({e for d in date_nodes for e in self._get(d, _P["edtf"])})

    def of(self, iri: str) -> dict:
        facts = {
            "kind": sorted(_last_segment(v) for p in _KIND_PREDICATES for v in self._get(iri, p)),
            "parent": sorted([w, "", ""] for w in self._get(iri, _P["within"])) + sorted(self.parents.get(iri, [])),
            "leader": sorted(self.tenures.get(iri, [])),
            "organization": sorted(self.memberships.get(iri, [])),
            "founded": self._edtf(self._get(iri, _P["founded"])),
            "dissolved": self._edtf(self._get(iri, _P["dissolved"])),
            "died": self._edtf([d for death in self._get(iri, _P["death"]) for d in self._get(death, _P["date"])]),
            "date": self._edtf(self._get(iri, _P["date"])),
            "sources": [s for s in self._get(iri, _P["derived"]) if s != iri],
        }
        return {k: v for k, v in facts.items() if v}


def _first(values: list[str]) -> str:
    return values[0] if values else ""


def _last_segment(iri: str) -> str:
    return iri.rsplit("/", 1)[-1].rsplit("#", 1)[-1]


# -- searching --------------------------------------------------------------------------------


class Index:
    """A loaded name index: `search(text)` ranks entities, `entity(iri)` and `facts(iri)` look up."""

    def __init__(self, document: dict):
        if document.get("version") != INDEX_VERSION:
            raise UnusableInput("the search index is from another version: run `pledgegraph build` again")
        self.base: str = document["base"]
        self.entities = [Entity(*row) for row in document["entities"]]
        self.by_iri = {e.iri: e for e in self.entities}
        self._facts: dict[str, dict] = document["facts"]
        rows = document["names"]
        self.owner = [r[0] for r in rows]
        self.names = [r[1] for r in rows]
        self.langs = [r[2] for r in rows]
        self.preferred = [bool(r[3]) for r in rows]
        self.keys = [r[4] for r in rows]
        self.skeletons = [skeleton(k) for k in self.keys]
        self.by_key: dict[str, list[int]] = {}
        self.by_skeleton: dict[str, list[int]] = {}
        self.by_word: dict[str, list[int]] = {}
        self.by_entity: dict[str, list[int]] = {}
        for i, (k, sk) in enumerate(zip(self.keys, self.skeletons)):
            self.by_entity.setdefault(self.entities[self.owner[i]].iri, []).append(i)
            self.by_key.setdefault(k, []).append(i)
            self.by_skeleton.setdefault(sk, []).append(i)
            for word in set(sk.split()):
                self.by_word.setdefault(word, []).append(i)
        self.words = sorted(self.by_word)
        self.word_counts = [len(sk.split()) for sk in self.skeletons]

    @classmethod
    def load(cls, dist: Path) -> "Index":
        path = Path(dist) / INDEX_FILE
        try:
            return cls(json.loads(path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            raise UnusableInput(f"no search index at {path}: run `pledgegraph build` first") from None
        except (ValueError, KeyError, TypeError) as e:
            raise UnusableInput(f"{path} cannot be read ({e}): run `pledgegraph build` again") from e

    def entity(self, iri: str) -> Entity | None:
        return self.by_iri.get(iri)

    def facts(self, iri: str) -> dict:
        return self._facts.get(iri, {})

    def names_of(self, iri: str) -> list[tuple[str, str, bool]]:
        return [(self.names[i], self.langs[i], self.preferred[i]) for i in self.by_entity.get(iri, [])]

    def search(self, text: str, kinds: Iterable[str] = (), lang: str = "", limit: int = 10) -> list[Hit]:
        """Entities ranked by their best-matching name (see the module docstring for the scores)."""
        from rapidfuzz import fuzz, process

        query = key(text[:MAX_QUERY])
        if not query:
            return []
        sk = skeleton(query)
        scores: dict[int, float] = {}

        def offer(i: int, score: float) -> None:
            if score > scores.get(i, -1.0):
                scores[i] = score

        for i in self.by_key.get(query, []):
            offer(i, EXACT)
        for i in self.by_skeleton.get(sk, []):
            offer(i, SKELETON_EXACT)
        # whole names like the query (typos, transliteration variants)
        for _, score, i in process.extract(sk, self.skeletons, scorer=fuzz.ratio, limit=50, score_cutoff=75):
            offer(i, score * FUZZY_MAX / 100)
        # names containing words like the query's words (a surname, a name within a longer title)
        for i, score in self._word_matches(sk.split(), process, fuzz.ratio):
            offer(i, score)
        wanted, lang = set(kinds), lang.lower()
        best: dict[int, tuple[float, bool, int]] = {}
        for i, score in scores.items():
            if score < CUTOFF or (lang and not _in_language(self.langs[i], lang)):
                continue
            owner = self.owner[i]
            if wanted and self.entities[owner].kind not in wanted:
                continue
            mine = (round(score, 2), self.preferred[i], -i)  # on a tie, the earlier name
            if owner not in best or mine > best[owner]:
                best[owner] = mine
        ranked = sorted(
            best.items(),
            key=lambda kv: (
                -kv[1][0],
                not kv[1][1],
                _KIND_ORDER[self.entities[kv[0]].kind],
                self.entities[kv[0]].label,
                self.entities[kv[0]].iri,
            ),
        )
        return [
            Hit(self.entities[owner], score, self.names[-i], self.langs[-i], preferred)
            for owner, (score, preferred, i) in ranked[:limit]
        ]

    def _word_matches(self, words: list[str], process, ratio) -> Iterable[tuple[int, float]]:
        """(name, score) for names whose words are like the query's words: the mean similarity of
        each query word to its best match among the name's words, less for longer names (at most
        FUZZY_MAX). Per query word, the similar words of the vocabulary are found at once and
        their names gathered with dict operations, so common words cost little."""
        from collections import Counter
        from itertools import chain
        from math import ceil

        per_word: list[dict[int, float]] = []
        for word in words:
            found = process.extract(word, self.words, scorer=ratio, limit=20, score_cutoff=80 if len(word) > 3 else 100)
            best: dict[int, float] = {}
            for similar, score, _ in sorted(found, key=lambda f: f[1]):  # higher scores overwrite lower
                best.update(dict.fromkeys(self.by_word[similar], score))
            per_word.append(best)
        n = len(words)
        # a name matching k of n query words scores at most FUZZY_MAX * k / n: fewer than this cannot pass
        needed = ceil(n * CUTOFF / FUZZY_MAX)
        if needed <= 1:
            candidates = set(chain.from_iterable(per_word))
        else:
            counts = Counter(chain.from_iterable(per_word))
            candidates = {i for i, c in counts.items() if c >= needed}
        for i in candidates:
            cover = sum(best.get(i, 0.0) for best in per_word) / n
            yield i, FUZZY_MAX * cover / 100 * (0.85 + 0.15 * n / max(n, self.word_counts[i]))

    def complete(self, prefix: str, kinds: Iterable[str] = (), limit: int = 10) -> list[Hit]:
        """Type-ahead: entities with a name starting with `prefix`, or a word starting with its
        last word (scored as a search of the whole word), then the best `search` hits."""
        from bisect import bisect_left

        query = key(prefix)
        if not query:
            return []
        last = skeleton(query).split()[-1] if skeleton(query) else query.split()[-1]
        start = bisect_left(self.words, last)
        completed = []
        for word in self.words[start : start + 10]:
            if not word.startswith(last):
                break
            completed.append(word)
        wanted = set(kinds)
        hits = {h.entity.iri: h for h in self.search(prefix, wanted, limit=limit)}
        for word in completed:
            for h in self.search(" ".join(query.split()[:-1] + [word]), wanted, limit=limit):
                if h.entity.iri not in hits or h.score > hits[h.entity.iri].score:
                    hits[h.entity.iri] = h
        return sorted(
            hits.values(),
            key=lambda h: (-h.score, not h.preferred, _KIND_ORDER[h.entity.kind], h.entity.label, h.entity.iri),
        )[:limit]


def _in_language(tag: str, wanted: str) -> bool:
    """BCP 47 basic filtering: `ru` takes `ru` and `ru-Latn`, case-insensitively."""
    tag = tag.lower()
    return tag == wanted or tag.startswith(wanted + "-")


# Equal scores: things before the documents about them (a source's title is often an entity's name).
_KIND_ORDER = {
    k: i
    for i, k in enumerate(
        [
            "organization",
            "person",
            "place",
            "event",
            *[k for k in schema.KINDS if k not in ("organization", "person", "place", "event", "source")],
            "source",
        ]
    )
}


# A kind by its name or its IRI segment (`organization` or `org`), for `--kind` and `kind=`.
KIND_NAMES = {**{k.name: k.name for k in schema.KINDS.values()}, **{k.segment: k.name for k in schema.KINDS.values()}}
KIND_NAMES.pop("dataset")


def kind_named(name: str) -> str:
    """The record kind called `name` (a kind or its IRI segment); UnusableInput if there is none."""
    try:
        return KIND_NAMES[name]
    except KeyError:
        raise UnusableInput(f"no kind {name!r}: use one of " + ", ".join(sorted(KIND_NAMES))) from None


def hits_table(hits: list[Hit]) -> str:
    """Hits as aligned text columns: score, kind, label, the name that matched [language], IRI."""
    rows = [("score", "kind", "label", "matched name", "iri")] + [
        (f"{h.score:.1f}", h.entity.kind, h.entity.label, f"{h.name} [{h.lang or '-'}]", h.entity.iri) for h in hits
    ]
    widths = [max(len(r[c]) for r in rows) for c in range(4)]
    return "".join("  ".join(cell.ljust(w) for cell, w in zip(r[:4], widths)) + "  " + r[4] + "\n" for r in rows)


def hit_json(hit: Hit) -> dict:
    e = hit.entity
    return {
        "iri": e.iri,
        "kind": e.kind,
        "label": e.label,
        "description": e.description,
        "score": hit.score,
        "name": hit.name,
        "lang": hit.lang,
    }
