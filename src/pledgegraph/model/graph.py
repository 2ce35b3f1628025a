"""The built graph and where each of its nodes came from: the container every stage after the
builder passes on (`Built`), and the way back from a node to its record, YAML line and field
(`locate`), which messages, re-check scopes and the editor session all need.
"""

from __future__ import annotations

from itertools import chain, islice
from typing import Iterable, Iterator

import pyoxigraph as ox

from pledgegraph.errors import Position
from pledgegraph.model import schema
from pledgegraph.model.iris import term_text
from pledgegraph.model.vocab import PG, PROV, SKOS, expand

# Predicates that are not a field's own predicate but stand for one.
_FIELD_ALIASES = {
    SKOS + "prefLabel": "names",
    SKOS + "altLabel": "names",
    PROV + "wasDerivedFrom": "sources",
    PG + "quote": "quote",
    PG + "claimObject": "name",
}  # a name attestation's value: `name`


class Built:
    """The asserted graph as sorted, unique triples, and where each node came from.

    The builder makes N-Triples lines (`lines`, sorted, without the final " ."): strings are
    ~10x cheaper to make, deduplicate and sort than pyoxigraph terms, N-Triples output is their
    concatenation, and stores bulk-load them. `triples` (pyoxigraph Triples in the same order) is
    parsed from them the first time it is asked for. A union of graphs (`union`) is merged only
    when its lines are asked for: a store can take the parts one by one."""

    def __init__(
        self,
        triples: list[ox.Triple] | None,
        origins: dict[str, tuple[str, Position]],
        base: str,
        lines: list[str] | None = None,
        node_rules: dict[str, str] | None = None,
        field_positions: dict[tuple[str, str], Position] | None = None,
        parts: tuple = (),
    ):
        if triples is None and lines is None and not parts:
            raise ValueError("Built needs triples, lines or parts")
        self._triples = triples
        self._lines = lines
        self.parts: tuple[Built, ...] = parts
        self._order: list[int] | None = None
        self._ntriples: bytes | None = None
        self.origins = origins  # node IRI -> (record id, position in YAML)
        self.base = base
        # For messages: the YAML field path each node comes from, as the curator wrote it (`pledge`,
        # `event.claimed_by`, `organization.names.sources`, `organization.founded` for a claimed
        # value; see schema.at_path), and where each field of a node was written, keyed (node IRI, field name).
        self.node_rules = node_rules if node_rules is not None else {}
        self.field_positions = field_positions if field_positions is not None else {}

    def with_lines(self, lines: list[str]) -> "Built":
        """The same records' graph with other triples (e.g. asserted + inferred), same tracing maps."""
        return Built(None, self.origins, self.base, lines, self.node_rules, self.field_positions)

    def union(self, other: "Built") -> "Built":
        """This graph and a disjoint one (e.g. asserted + inferred) as one, same tracing maps."""
        return Built(None, self.origins, self.base, None, self.node_rules, self.field_positions, (self, other))

    @property
    def lines(self) -> list[str]:
        if self._lines is None:
            if self.parts:
                self._lines = self._merged(list(chain.from_iterable(part.lines for part in self.parts)))
            else:
                self._lines = [str(t) for t in self._triples or ()]
        return self._lines

    @property
    def triples(self) -> list[ox.Triple]:
        if self._triples is None:
            if self.parts:
                self._triples = self._merged(list(chain.from_iterable(part.triples for part in self.parts)))
            else:
                self._triples = [q.triple for q in ox.parse(self.ntriples(), format=ox.RdfFormat.N_TRIPLES)]
        return self._triples

    def ntriples(self) -> bytes:
        """The graph as N-Triples, one sorted line per triple (the `ntriples` output)."""
        if self._ntriples is None:
            if self.parts:  # its writers have the terms: pyoxigraph writes them faster than str.join
                self._ntriples = ox.serialize(self.triples, format=ox.RdfFormat.N_TRIPLES) or b""
            else:
                lines = self.lines
                self._ntriples = (" .\n".join(lines) + " .\n").encode() if lines else b""
        return self._ntriples

    def _merged(self, concatenated: list) -> list:
        """The parts' items (lines or terms, concatenated part after part) in the
        union's sorted order. The parts are sorted and disjoint, so sorting their lines is one merge
        in C, done once; each part is parsed once, and the union shares its parts' terms."""
        if self._order is None:
            lines = list(chain.from_iterable(part.lines for part in self.parts))
            self._order = sorted(range(len(lines)), key=lines.__getitem__)
        return [concatenated[i] for i in self._order]

    def __len__(self) -> int:
        if self._lines is not None:
            return len(self._lines)
        return sum(map(len, self.parts)) if self.parts else len(self._triples or ())


def ntriples_chunks(lines: Iterable[str], size: int = 100_000) -> Iterator[bytes]:
    """N-Triples lines (without their final " .") as N-Triples bytes, `size` lines at a time: what
    a store loads or a file receives without the whole graph's bytes in memory at once."""
    lines = iter(lines)
    while batch := list(islice(lines, size)):
        yield (" .\n".join(batch) + " .\n").encode()


def locate(built: Built, focus: str, path: str = "") -> tuple[str, Position, str]:
    """(record id, position, field path) of a node: its own origin, or the nearest enclosing node's."""
    node, below = focus, list[str]()
    while node not in built.node_rules and node not in built.origins:
        if "/" not in node[len(built.base) :]:
            return term_text(focus, built.base), Position("<graph>"), ""
        node, segment = node.rsplit("/", 1)
        below.insert(0, segment)
    entity, position = built.origins.get(node, ("", Position("<graph>")))
    owner = built.node_rules.get(node, "")  # the YAML field path of the node
    spec = schema.at_path(owner)
    if isinstance(spec, schema.Field):  # a claim or a claimed date: the node stands for one value of one field
        return entity, position, owner
    fields = {f.name: f for f in spec.fields} if spec is not None else {}
    step = below[0].replace("-", "_") if below else ""  # a date node's step is its field (`based-in`)
    name = step if step in fields else _field_for(fields, path)
    if not name:
        return entity, position, ""
    return entity, built.field_positions.get((node, name), position), f"{owner}.{name}"


def _field_for(fields: dict[str, schema.Field], predicate: str) -> str:
    if not predicate:
        return ""
    for f in fields.values():
        if f.predicate and expand(f.predicate) == predicate:
            return f.name
    alias = _FIELD_ALIASES.get(predicate, "")
    return alias if alias in fields else ""
