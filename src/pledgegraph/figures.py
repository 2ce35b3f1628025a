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
from dataclasses import dataclass
from html import escape
from typing import Callable

import pyoxigraph as ox

from .formats import xml_safe
from .pages import entity_of, label_of
from .vocab import sparql_prologue

WIDTH, LEFT, ROW, TOP = 960, 300, 22, 34
COLOURS = {"pledge": "#b35806", "acceptance": "#5e3c99", "tenure": "#1b7837", "attack": "#c51b7d",
           "branch": "#2166ac"}
LEGEND = {"pledge": "pledge", "acceptance": "acceptance", "tenure": "leadership tenure",
          "attack": "claimed attack", "branch": "branch of the organization above"}


@dataclass(frozen=True, order=True)
class Row:
    start: dt.date
    label: str
    iri: str
    kind: str
    end: dt.date | None = None  # a bar when set; `open_end` when it runs on past the last date known
    open_end: bool = False
    heading: bool = False


_TIMELINE = sparql_prologue() + """
SELECT DISTINCT ?item ?kind ?start ?end ?lead ?role ?org ?to WHERE {
  { ?item a pg:Pledge ; pg:date/pg:earliest ?start . OPTIONAL { ?item pg:pledgedTo ?to } BIND("pledge" AS ?kind) }
  UNION { ?item a pg:Acceptance ; pg:date/pg:earliest ?start . OPTIONAL { ?item pg:acceptedOnBehalfOf ?to }
          BIND("acceptance" AS ?kind) }
  UNION { ?item a pg:Tenure ; org:member ?lead ; org:role ?role ; org:organization ?org ;
                org:memberDuring/time:hasBeginning/pg:earliest ?start .
          OPTIONAL { ?item org:memberDuring/time:hasEnd/pg:latest ?end } BIND("tenure" AS ?kind) }
  UNION { ?item a pg:Event ; pg:responsibilityClaim ?claim ; pg:date/pg:earliest ?start . BIND("attack" AS ?kind) }
}"""

_BRANCHES = sparql_prologue() + """
SELECT DISTINCT ?rel ?branch ?parent ?start ?end WHERE {
  ?rel a pg:BranchRelation ; pg:branch ?branch ; pg:parent ?parent .
  OPTIONAL { ?rel pg:period/time:hasBeginning/pg:earliest ?start }
  OPTIONAL { ?rel pg:period/time:hasEnd/pg:latest ?end }
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


def timeline_svg(store: ox.Store, base: str, link: Callable[[str], str], focus: str | None = None) -> str:
    """Pledges, acceptances, leadership tenures and claimed attacks on one time axis ('' if none)."""
    rows = []
    names = ("item", "kind", "start", "end", "lead", "role", "org", "to")
    for s in _solutions(store, _TIMELINE, names):
        start = _date(s["start"])
        if start is None:
            continue
        item, kind = s["item"].value, s["kind"].value
        if kind == "tenure":
            text = f"{label_of(store, s['lead'].value, base)}, {label_of(store, s['role'].value, base)} " \
                   f"of {label_of(store, s['org'].value, base)}"
            end = _date(s.get("end"))
            rows.append(Row(start, text, item, kind, end or start, open_end=end is None))
            continue
        if kind == "attack":
            text = label_of(store, item, base)
        else:
            target = f" to {label_of(store, s['to'].value, base)}" if "to" in s and kind == "pledge" else (
                f" by {label_of(store, s['to'].value, base)}" if "to" in s else "")
            text = f"{kind.capitalize()}{target}"
        rows.append(Row(start, text, item, kind))
    rows = sorted(set(rows))
    if focus:
        rows = [r for r in rows if focus in _involved(store, r.iri, base)]
    return _svg(rows, _modified(store), link, "Timeline of pledges, leadership tenures and claimed attacks")


def branches_svg(store: ox.Store, base: str, link: Callable[[str], str], focus: str | None = None) -> str:
    """Each parent organization with its branches as bars over time ('' if there are none)."""
    modified = _modified(store)
    by_parent: dict[str, list[Row]] = {}
    for s in _solutions(store, _BRANCHES, ("rel", "branch", "parent", "start", "end")):
        if focus and focus not in (s["rel"].value, s["branch"].value, s["parent"].value):
            continue
        start, end = _date(s.get("start")), _date(s.get("end"))
        if start is None:
            continue
        branch = s["branch"].value
        by_parent.setdefault(s["parent"].value, []).append(
            Row(start, label_of(store, branch, base), branch, "branch", end or start, open_end=end is None))
    rows: list[Row] = []
    for parent in sorted(by_parent, key=lambda p: (min(by_parent[p]).start, p)):
        branches = sorted(set(by_parent[parent]))
        rows.append(Row(branches[0].start, label_of(store, parent, base), parent, "branch", heading=True))
        rows.extend(branches)
    return _svg(rows, modified, link, "Organizations and their branches over time")


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
    for year in range(first.year, last.year + 1):
        xx = x(dt.date(year, 1, 1))
        out.append(f'<line class="axis" x1="{xx}" y1="{TOP - 6}" x2="{xx}" y2="{TOP + ROW * len(rows)}"/>'
                   f'<text x="{xx}" y="{TOP - 10}" text-anchor="middle">{year}</text>')
    for i, r in enumerate(rows):
        y = TOP + ROW * i
        colour = COLOURS[r.kind]
        text = r.label if len(r.label) <= 42 else r.label[:41] + "…"
        shape = ""
        if not r.heading:
            if r.end is not None:
                end = modified if r.open_end and modified and modified > r.start else r.end
                width = max(x(end) - x(r.start), 4)
                shape = (f'<rect x="{x(r.start)}" y="{y + 5}" width="{width}" height="12" rx="3" fill="{colour}"'
                         + (' fill-opacity="0.55"' if r.open_end else "") + "/>")
            else:
                shape = f'<circle cx="{x(r.start)}" cy="{y + 11}" r="6" fill="{colour}"/>'
        span_text = r.start.isoformat() + ("" if r.end is None else " – " + ("…" if r.open_end else r.end.isoformat()))
        out.append(f'<a href="{escape(link(r.iri))}"><title>{escape(r.label)} ({span_text})</title>'
                   f'<text x="{LEFT - 8 if not r.heading else 8}" y="{y + 15}"'
                   + (' text-anchor="end"' if not r.heading else ' class="h"')
                   + f">{escape(text)}</text>{shape}</a>")
    kinds = sorted({r.kind for r in rows}, key=list(COLOURS).index)
    y = TOP + ROW * len(rows) + 22
    for j, kind in enumerate(kinds):
        lx = LEFT + 170 * j
        out.append(f'<rect x="{lx}" y="{y - 10}" width="12" height="12" fill="{COLOURS[kind]}"/>'
                   f'<text x="{lx + 18}" y="{y}">{escape(LEGEND[kind])}</text>')
    out.append("</svg>")
    return xml_safe("".join(out))
