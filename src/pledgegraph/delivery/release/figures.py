"""Pictures of the graph as plain SVG: a timeline, and organizations with their branches over time.

The timeline shows pledges and their acceptances (points), leadership tenures (bars) and claimed
attacks (points); the diagram shows, for each parent organization, its branches as bars over the
periods the sources give. Both read a pyoxigraph Store (every graph), link each row to its entity
with the caller's `link`, and are deterministic: rows are sorted, coordinates are integers, and
the open end of a bar stops at the dataset's `modified` date, never at the clock.

`focus` restricts a figure to rows that involve one entity, for that entity's own page.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from html import escape
from typing import Callable

import pyoxigraph as ox

from pledgegraph.model.formats import xml_safe
from pledgegraph.model.iris import entity_of
from pledgegraph.delivery.release.pages import label_of
from pledgegraph.model.vocab import sparql_prologue

WIDTH, LEFT, ROW, TOP = 960, 300, 22, 34
COLOURS = {"pledge": "#b35806", "acceptance": "#5e3c99", "tenure": "#1b7837", "attack": "#c51b7d",
           "branch": "#2166ac", "accepted": "#d6604d"}
LEGEND = {"pledge": "pledge", "acceptance": "acceptance", "tenure": "post held",
          "attack": "claimed attack", "branch": "branch of the organization above",
          "accepted": "under it by an accepted pledge"}


@dataclass(frozen=True, order=True)
class Row:
    """One line of a figure. A point when `end` is None (drawn as a band when the date is known only
    within `start`..`start_late`); a bar otherwise, with bands where its start or end is known only
    within bounds. Undated sides are drawn from the axis's edge and said so, never placed on a
    made-up day."""

    start: dt.date
    label: str
    iri: str
    kind: str
    end: dt.date | None = None  # a bar when set; `open_end` when it runs on past the last date known
    open_end: bool = False
    heading: bool = False
    start_late: dt.date | None = None  # the latest the start (or the point) can be, when later than `start`
    end_early: dt.date | None = None  # the earliest the end can be, when earlier than `end`
    undated: bool = False  # an undated point, or a bar whose start is undated


_BOUNDS = """
  OPTIONAL { ?item pg:dateEarliest ?de } OPTIONAL { ?item pg:dateLatest ?dl }
  OPTIONAL { ?item pg:startEarliest ?se } OPTIONAL { ?item pg:startLatest ?sl }
  OPTIONAL { ?item pg:endEarliest ?ee } OPTIONAL { ?item pg:endLatest ?el }
  OPTIONAL { ?item pg:validFrom ?from } OPTIONAL { ?item pg:validUntil ?until }
"""
_TIMELINE = sparql_prologue() + """
SELECT ?item ?kind ?de ?dl ?se ?sl ?ee ?el ?from ?until ?lead ?role ?org ?to
       (GROUP_CONCAT(DISTINCT STR(?who); separator=" ") AS ?whos) WHERE {
  { ?item a pg:Pledge ; pg:pledger ?who . OPTIONAL { ?item pg:pledgedTo ?to } BIND("pledge" AS ?kind) }
  UNION { ?item a pg:Acceptance . OPTIONAL { ?item pg:acceptedOnBehalfOf ?to } BIND("acceptance" AS ?kind) }
  UNION { ?item a pg:Tenure ; org:member ?lead ; org:role ?role ; org:organization ?org . BIND("tenure" AS ?kind) }
  UNION { ?item a pg:Event ; pg:responsibilityClaim ?claim . BIND("attack" AS ?kind) }
  """ + _BOUNDS + """
} GROUP BY ?item ?kind ?de ?dl ?se ?sl ?ee ?el ?from ?until ?lead ?role ?org ?to"""

_BRANCHES = sparql_prologue() + """
SELECT DISTINCT ?item ?branch ?parent ?accepted ?se ?sl ?ee ?el ?from ?until WHERE {
  ?item a pg:Subordination ; pg:direct true ; pg:subordinate ?branch ; pg:superior ?parent .
  BIND (EXISTS { ?item pg:restsOn/a pg:Acceptance } AS ?accepted)
  """ + _BOUNDS + """
}"""

_MODIFIED = sparql_prologue() + "SELECT ?d WHERE { ?ds a pg:Dataset ; dcterms:modified ?d }"


def _solutions(store: ox.Store, query: str, names: tuple[str, ...]) -> list[dict]:
    result = store.query(query, use_default_graph_as_union=True)
    return [{n: s[n] for n in names if s[n] is not None} for s in result]


def _date(term) -> dt.date | None:
    try:
        return dt.date.fromisoformat(term.value[:10]) if term is not None else None
    except ValueError:
        return None


_NAMES = ("item", "kind", "de", "dl", "se", "sl", "ee", "el", "from", "until", "lead", "role", "org", "to",
          "whos", "branch", "parent", "accepted")


def _row(s: dict, label: str, kind: str, edge: dt.date) -> Row:
    """A row from the one-hop bounds of a fact: a bar for a period, a point (or band) for a date."""
    d = {k: _date(s.get(k)) for k in ("de", "dl", "se", "sl", "ee", "el", "from", "until")}
    item = s["item"].value
    if d["de"] or d["dl"] or not (d["se"] or d["sl"] or d["ee"] or d["el"] or kind in ("tenure", "branch")):
        if not (d["de"] or d["dl"]):
            return Row(edge, label + " (undated)", item, kind, undated=True)
        first = d["de"] or d["dl"]
        return Row(first, label, item, kind, start_late=d["dl"] if d["dl"] and d["dl"] > first else None)
    start = d["from"] or edge
    late = d["sl"] if d["sl"] and d["sl"] > start else None
    end = d["until"]
    early = d["ee"] if d["ee"] and end and d["ee"] < end else None
    return Row(start, label, item, kind, end or start, open_end=end is None, start_late=late, end_early=early,
               undated=d["from"] is None)


class Figures:
    """The pictures of one store. Their rows (and which entities each row involves) are read once;
    a whole-graph picture and each entity's own (`focus`) are then cut from them, so a release's
    pictures cost one pass over the graph, not one per entity."""

    def __init__(self, store: ox.Store, base: str):
        self.store, self.base = store, base
        self.modified = _modified(store)
        self.timeline_rows = self._timeline_rows()
        self.branch_rows = self._branch_rows()
        # entity -> the rows that involve it, so an entity's picture costs its own rows only
        self._timeline_by_entity: dict[str, list[Row]] = {}
        for row in self.timeline_rows:
            for entity in _involved(store, row.iri, base):
                self._timeline_by_entity.setdefault(entity, []).append(row)
        self._branches_by_entity: dict[str, list[tuple[str, str, Row]]] = {}
        for item in self.branch_rows:
            parent, link_iri, row = item
            for entity in {parent, link_iri, row.iri}:
                self._branches_by_entity.setdefault(entity, []).append(item)

    def timeline(self, link: Callable[[str], str], focus: str | None = None) -> str:
        """Pledges (who to whom), acceptances, leadership tenures and claimed attacks on one time axis
        ('' if none); undated items sit at the left edge, marked."""
        rows = self.timeline_rows if focus is None else self._timeline_by_entity.get(focus, [])
        return _svg(rows, self.modified, link, "Timeline of pledges, leadership tenures and claimed attacks")

    def branches(self, link: Callable[[str], str], focus: str | None = None) -> str:
        """Each organization with what was directly under it over time: branches, and units whose
        pledge it accepted ('' if there are none). Undated starts run from the left edge, marked."""
        by_parent: dict[str, list[Row]] = {}
        for parent, _, row in self.branch_rows if focus is None else self._branches_by_entity.get(focus, []):
            by_parent.setdefault(parent, []).append(row)
        rows: list[Row] = []
        for parent in sorted(by_parent, key=lambda p: (min(by_parent[p]).start, p)):
            members = sorted(set(by_parent[parent]))
            rows.append(Row(members[0].start, label_of(self.store, parent, self.base), parent, "branch",
                            heading=True))
            rows.extend(members)
        return _svg(rows, self.modified, link, "Organizations and what was under them over time")

    def _timeline_rows(self) -> list[Row]:
        store, base = self.store, self.base
        solutions = _solutions(store, _TIMELINE, _NAMES)
        edge = _edge(solutions)
        rows = []
        for s in solutions:
            kind = s["kind"].value
            if kind == "tenure":
                text = f"{label_of(store, s['lead'].value, base)}, {label_of(store, s['role'].value, base)} " \
                       f"of {label_of(store, s['org'].value, base)}"
            elif kind == "attack":
                text = label_of(store, s["item"].value, base)
            elif kind == "pledge":
                whos = sorted(label_of(store, w, base) for w in s["whos"].value.split())
                who = ", ".join(whos) if len(whos) <= 2 else f"{whos[0]} and {len(whos) - 1} more"
                text = f"{who} pledge" + (f" to {label_of(store, s['to'].value, base)}" if "to" in s else "")
            else:
                text = "Acceptance" + (f" by {label_of(store, s['to'].value, base)}" if "to" in s else "")
            rows.append(_row(s, text, kind, edge))
        return sorted(set(rows))

    def _branch_rows(self) -> list[tuple[str, str, Row]]:
        """(parent, link, row of the organization under it) for every direct subordination link."""
        store, base = self.store, self.base
        solutions = _solutions(store, _BRANCHES, _NAMES)
        edge = _edge(solutions)
        out = []
        for s in solutions:
            kind = "accepted" if s["accepted"].value == "true" else "branch"
            row = _row(s, label_of(store, s["branch"].value, base), kind, edge)
            out.append((s["parent"].value, s["item"].value, replace(row, iri=s["branch"].value)))
        return sorted(out)


def _edge(solutions: list[dict]) -> dt.date:
    """Where undated items are drawn: the first January before every known date."""
    dates = [d for s in solutions for k in ("de", "dl", "se", "sl", "ee", "el") if (d := _date(s.get(k)))]
    return dt.date(min(dates).year - 1, 1, 1) if dates else dt.date(2000, 1, 1)


def _modified(store: ox.Store) -> dt.date | None:
    dates = [d for s in _solutions(store, _MODIFIED, ("d",)) if (d := _date(s["d"]))]
    return max(dates) if dates else None


def _involved(store: ox.Store, item: str, base: str) -> set[str]:
    """The item and every entity it (or a node below it) points to."""
    found, todo = {item}, [item]
    while todo:
        node = todo.pop()
        for q in store.quads_for_pattern(ox.NamedNode(node), None, None):
            o = q.object
            if isinstance(o, ox.NamedNode):
                if o.value.startswith(node + "/") and o.value not in found:
                    todo.append(o.value)
                owner = entity_of(o.value, base)
                if owner:
                    found.add(owner)
    return found


def _svg(rows: list[Row], modified: dt.date | None, link: Callable[[str], str], title: str) -> str:
    if not rows:
        return ""
    open_ended = modified is not None and any(r.open_end for r in rows)
    dates = [r.start for r in rows] + [r.end for r in rows if r.end] + ([modified] if open_ended else [])
    first = dt.date(min(dates).year, 1, 1)
    last = dt.date(max(dates).year + 1, 1, 1)
    span = (last - first).days
    right = WIDTH - 20

    def x(d: dt.date) -> int:
        return LEFT + round((d - first).days * (right - LEFT) / span)

    height = TOP + ROW * len(rows) + 40
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" '
           f'height="{height}" role="img" aria-labelledby="t"><title id="t">{escape(title)}</title>',
           '<style>text{font:12px sans-serif;fill:#222}.h{font-weight:bold}.axis{stroke:#bbb}</style>']
    every = 1 if last.year - first.year <= 14 else 2  # year labels never overlap
    for year in range(first.year, last.year + 1):
        xx = x(dt.date(year, 1, 1))
        out.append(f'<line class="axis" x1="{xx}" y1="{TOP - 6}" x2="{xx}" y2="{TOP + ROW * len(rows)}"/>'
                   + (f'<text x="{xx}" y="{TOP - 10}" text-anchor="middle">{year}</text>' if year % every == 0 else ""))
    for i, r in enumerate(rows):
        y = TOP + ROW * i
        colour = COLOURS[r.kind]
        text = r.label if len(r.label) <= 42 else r.label[:41] + "…"
        shape = ""
        if not r.heading:
            if r.end is not None:
                end = modified if r.open_end and modified and modified > r.start else r.end
                solid_from = r.start_late or r.start
                solid_to = r.end_early or end
                shape = "".join(
                    f'<rect x="{x(a)}" y="{y + 5}" width="{max(x(b) - x(a), 2)}" height="12" fill="{colour}" '
                    f'fill-opacity="0.3"/>' for a, b in ((r.start, solid_from), (solid_to, end)) if b > a)
                shape += (f'<rect x="{x(solid_from)}" y="{y + 5}" width="{max(x(solid_to) - x(solid_from), 4)}" '
                          f'height="12" rx="3" fill="{colour}"'
                          + (' fill-opacity="0.55"' if r.open_end else "")
                          + (' stroke="#222" stroke-dasharray="3 2"' if r.undated else "") + "/>")
            elif r.undated:
                shape = f'<circle cx="{x(r.start)}" cy="{y + 11}" r="5" fill="none" stroke="{colour}" stroke-width="2"/>'
            elif r.start_late:
                shape = (f'<rect x="{x(r.start)}" y="{y + 4}" width="{max(x(r.start_late) - x(r.start), 6)}" '
                         f'height="14" rx="4" fill="{colour}" fill-opacity="0.6"/>')
            else:
                shape = f'<circle cx="{x(r.start)}" cy="{y + 11}" r="6" fill="{colour}"/>'
        if r.undated and r.end is None:
            span_text = "undated"
        else:
            begun = ("start undated" if r.undated else r.start.isoformat()
                     + (f"..{r.start_late.isoformat()}" if r.start_late else ""))
            span_text = begun + ("" if r.end is None else " – " + ("…" if r.open_end else r.end.isoformat()))
        out.append(f'<a href="{escape(link(r.iri))}"><title>{escape(r.label)} ({span_text})</title>'
                   f'<text x="{LEFT - 8 if not r.heading else 8}" y="{y + 15}"'
                   + (' text-anchor="end"' if not r.heading else ' class="h"')
                   + f">{escape(text)}</text>{shape}</a>")
    kinds = sorted({r.kind for r in rows}, key=list(COLOURS).index)
    y = TOP + ROW * len(rows) + 22
    lx = LEFT
    for kind in kinds:
        out.append(f'<rect x="{lx}" y="{y - 10}" width="12" height="12" fill="{COLOURS[kind]}"/>'
                   f'<text x="{lx + 18}" y="{y}">{escape(LEGEND[kind])}</text>')
        lx += 40 + 7 * len(LEGEND[kind])
    out.append("</svg>")
    return xml_safe("".join(out))
