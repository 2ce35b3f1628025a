"""Pictures of the graph: timelines (written as SVG text here) and the allegiance diagram drawn with Graphviz.

The timeline has a line per fact: who pledged to whom, acceptances, leadership tenures, branch
relations and attacks (claimed or only attributed, told apart). A date known to the day is a mark;
one known only within bounds (a month, a year) is a band over those bounds; the sides of a period
are bands when imprecise; an undated item is a hollow mark at the axis's left edge, and an undated
start is hatched from that edge, an undated end hatched up to the dataset's date, all said in words
beside the mark. The allegiance diagram
has an arrow for every branch relation and pledge, from the organization that is under (or pledged)
to the one above, labelled with its period or date, dashed when a side is undated.

Timelines are written as SVG text here (~0.1 ms a row): a matplotlib figure cost ~65 ms of CPU, 9
minutes for the ~8,500 entities with their own picture at the bench's 1m size, and its import ~0.45 s
of a publish at the 10k size (issue 22; matplotlib drew the whole graph's until round 7). The whole graph's
pictures are bounded: past `WHOLE_TIMELINE_ROWS` rows or `DIAGRAM_ARROWS` arrows (`dot`'s layout grows
faster than its arrows) they show the most connected part and say so ("N of M shown").

Both read a pyoxigraph Store (every graph) once: `Figures` reads the rows and which entities each
row involves, then a whole-graph picture and each entity's own (`focus`) are cut from them. Output
is deterministic: rows are sorted, the timeline's SVG carries no date, Graphviz gets its nodes and edges
in sorted order, and the open end of a bar stops at the dataset's `modified` date, never at the clock.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import tempfile
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, fields
from html import escape
from operator import attrgetter
from typing import Callable, NoReturn, Sequence

# with the module, not when the first diagram is made: publish's page writers then inherit it from before
# their fork (each had imported it, ~35 ms of a 10k publish's 0.7 s)
import graphviz
import pyoxigraph as ox

from pledgegraph.delivery.release import pages
from pledgegraph.errors import PledgegraphError
from pledgegraph.model.formats import xml_safe
from pledgegraph.model.iris import is_below
from pledgegraph.model.vocab import sparql_prologue

# One colour per kind, for the marks, the bars, the diagram's arrows and both legends.
COLOURS = {
    "pledge": "#b35806",
    "acceptance": "#5e3c99",
    "tenure": "#1b7837",
    "branch": "#2166ac",
    "claimed": "#c51b7d",
    "attributed": "#4d4d4d",
}
LEGEND = {
    "pledge": "pledge (pledger → pledged to)",
    "acceptance": "acceptance of pledges",
    "tenure": "post held",
    "branch": "branch relation (branch → parent)",
    "claimed": "attack, responsibility claimed",
    "attributed": "attack, attributed (not claimed)",
}
MARKERS = {"pledge": "D", "acceptance": "s", "claimed": "^", "attributed": "v", "tenure": "o", "branch": "o"}
BAND_ALPHA = 0.35  # the part of a bar or date known only within bounds
MAX_LABEL = 64  # characters: what the label column holds at 8 px
# An entity's own picture is drawn when it relates at least this many facts: one fact's dates are on its page.
FOCUS_MINIMUM = 2
# The whole graph's pictures above these sizes show the most connected part, and say so: a page of more
# timeline rows is no longer read, and `dot` laid out 896 arrows in 2.6 s but ~9,000 (the 1m size) in over 7 min.
WHOLE_TIMELINE_ROWS = 300
DIAGRAM_ARROWS = 300


@dataclass(frozen=True, order=True)
class Row:
    """One line of the timeline: a point when `end` is None, a bar otherwise. `start`..`start_late` is
    the span the start (or the point) is known within; `end_early`..`end` the same for the end."""

    start: dt.date
    label: str
    iri: str
    kind: str
    end: dt.date | None = None
    open_end: bool = False  # no source dates its end: it may still hold (drawn up to the dataset's `modified`)
    start_late: dt.date | None = None
    end_early: dt.date | None = None
    undated: bool = False  # an undated point, or a bar whose start is undated

    def dates(self) -> str:
        """The row's dates in words, as drawn beside its mark."""
        if self.undated and self.end is None:
            return "undated"
        begun = "start undated" if self.undated else _span(self.start, self.start_late)
        if self.end is None:
            return begun
        return f"{begun} – " + ("end undated" if self.open_end else _span(self.end_early or self.end, self.end))


@dataclass(frozen=True, order=True)
class Edge:
    """One arrow of the allegiance diagram: `lower` under (or pledged to) `upper`, from record `iri`."""

    lower: str
    upper: str
    kind: str
    iri: str
    text: str
    undated: bool


# The order `order=True` gives rows and arrows, as a key: each one's tuple made once, not at every comparison
_ROW_ORDER = attrgetter(*(f.name for f in fields(Row)))
_EDGE_ORDER = attrgetter(*(f.name for f in fields(Edge)))

_BOUNDS = """
  OPTIONAL { ?item pg:dateEarliest ?de } OPTIONAL { ?item pg:dateLatest ?dl }
  OPTIONAL { ?item pg:startEarliest ?se } OPTIONAL { ?item pg:startLatest ?sl }
  OPTIONAL { ?item pg:endEarliest ?ee } OPTIONAL { ?item pg:endLatest ?el }
  OPTIONAL { ?item pg:validFrom ?from } OPTIONAL { ?item pg:validUntil ?until }
  OPTIONAL { ?item pg:startUndated ?su } OPTIONAL { ?item pg:endUndated ?eu }
"""
_GROUPED = "?item ?kind ?de ?dl ?se ?sl ?ee ?el ?from ?until ?su ?eu ?lead ?role ?org ?to ?parent ?group"
_ROWS = (
    sparql_prologue()
    + """
SELECT """
    + _GROUPED
    + """
       (GROUP_CONCAT(DISTINCT STR(?who); separator=" ") AS ?whos)
       (GROUP_CONCAT(DISTINCT STR(?claimant); separator=" ") AS ?claimants)
       (GROUP_CONCAT(DISTINCT STR(?culprit); separator=" ") AS ?culprits) WHERE {
  { ?item a pg:Pledge . OPTIONAL { ?item pg:pledger ?who } OPTIONAL { ?item pg:pledgerGroup ?group }
    OPTIONAL { ?item pg:pledgedTo ?to } BIND("pledge" AS ?kind) }
  UNION { ?item a pg:Acceptance . OPTIONAL { ?item pg:acceptedOnBehalfOf ?to }
          OPTIONAL { ?item pg:accepts/pg:pledger ?who } BIND("acceptance" AS ?kind) }
  UNION { ?item a pg:Tenure ; org:member ?lead ; org:role ?role ; org:organization ?org . BIND("tenure" AS ?kind) }
  UNION { ?item a pg:BranchRelation ; pg:branch ?who ; pg:parent ?parent . BIND("branch" AS ?kind) }
  UNION { ?item a pg:Event ; pg:responsibilityClaim ?claim . OPTIONAL { ?claim pg:claimant ?claimant }
          OPTIONAL { ?item pg:attribution/pg:attributedTo ?culprit } BIND("claimed" AS ?kind) }
  UNION { ?item a pg:Event ; pg:attribution/pg:attributedTo ?culprit .
          FILTER NOT EXISTS { ?item pg:responsibilityClaim ?any } BIND("attributed" AS ?kind) }
  """
    + _BOUNDS
    + """
} GROUP BY """
    + _GROUPED
)

_MODIFIED = sparql_prologue() + "SELECT ?d WHERE { ?ds a pg:Dataset ; dcterms:modified ?d }"


class Figures:
    """The pictures of one store. Its rows (and which entities each row involves) are read once;
    a whole-graph picture and each entity's own (`focus`) are then cut from them, so a release's
    pictures cost one pass over the graph, not one per entity. `graph`: the pages' view of the same store,
    when the caller has one (publish): rows' links are then followed and entities named from its index
    and caches, which the pages reuse, instead of by store scans (at 1M ~2 s of a publish)."""

    def __init__(self, store: ox.Store, base: str, graph: pages._Graph | None = None):
        self.store, self.base = store, base
        self.graph = graph or pages._Graph(store, base, str)
        self.modified = _modified(store)
        self.rows, self.edges = self._read()
        # entity -> the rows and arrows that involve it, so an entity's picture costs its own rows only
        self._rows_by_entity: dict[str, list[Row]] = {}
        self._edges_by_entity: dict[str, list[Edge]] = {}
        for row in self.rows:
            for entity in _involved(self.graph, row.iri):
                self._rows_by_entity.setdefault(entity, []).append(row)
        self._arrows_into: dict[str, int] = {}  # how central a group is: arrows (pledges, branches) into it
        for edge in self.edges:
            for entity in {edge.lower, edge.upper, edge.iri}:
                self._edges_by_entity.setdefault(entity, []).append(edge)
            self._arrows_into[edge.upper] = self._arrows_into.get(edge.upper, 0) + 1
        # rows that several entities' timelines show (a pledge and its pledger…): drawn once, kept
        seen: set[tuple[Row, ...]] = set()
        self._shared: set[tuple[Row, ...]] = set()
        for rows in self._rows_by_entity.values():
            key = tuple(rows)
            (self._shared if key in seen else seen).add(key)
        self._drawn: dict[tuple, str] = {}

    def timeline(self, link: Callable[[str], str], focus: str | None = None) -> str:
        """Every fact with a time on one axis, as SVG; '' when there is none or, for one entity's own
        picture, fewer than `FOCUS_MINIMUM` (its page states a single fact's dates in words). The whole
        graph's shows at most `WHOLE_TIMELINE_ROWS` rows: those of the most connected entities."""
        title = "Timeline of pledges, acceptances, posts held, branch relations and attacks"
        if focus is None:
            if not self.rows:
                return ""
            shown = self._central_rows(WHOLE_TIMELINE_ROWS)
            return _timeline_svg(shown, self.modified, link, title, _shown(len(shown), len(self.rows), "facts"))
        rows = self._rows_by_entity.get(focus, [])
        if len(rows) < FOCUS_MINIMUM:
            return ""
        key = tuple(rows)
        if key not in self._shared:
            return _timeline_svg(rows, self.modified, link, title)
        if (link, key) not in self._drawn:
            self._drawn[link, key] = _timeline_svg(rows, self.modified, link, title)
        return self._drawn[link, key]

    def _central_rows(self, most: int) -> list[Row]:
        """At most `most` rows: all of them, or, entity by entity, those of the central groups (most arrows
        into them, as `_central_edges` picks them: their pledges, branches, posts and attacks), then of the
        entities with the most rows."""
        if len(self.rows) <= most:
            return self.rows
        rows, into = self._rows_by_entity, self._arrows_into
        chosen: dict[Row, None] = {}
        for entity in sorted(rows, key=lambda e: (-into.get(e, 0), -len(rows[e]), e)):
            chosen.update(dict.fromkeys(rows[entity]))
            if len(chosen) >= most:
                break
        return sorted(list(chosen)[:most])

    def branches(self, link: Callable[[str], str], focus: str | None = None) -> str:
        """The allegiance diagram: every branch relation and pledge as an arrow, as SVG; '' as for `timeline`."""
        return self.diagrams(link, [focus])[focus]

    def branches_later(self, link: Callable[[str], str], dot: Dot) -> Future[str]:
        """`branches(link)` drawn by `dot` while this process goes on (the whole graph's takes seconds): the SVG
        is the future's result. `dot` may draw this process's other diagrams meanwhile (they wait their turn)."""
        pool = ThreadPoolExecutor(1)
        drawn = pool.submit(lambda: self.diagrams(link, [None], dot)[None])
        pool.shutdown(wait=False)
        return drawn

    def diagrams(
        self, link: Callable[[str], str], focuses: Sequence[str | None], dot: Dot | None = None
    ) -> dict[str | None, str]:
        """`branches` for each of `focuses` (None: the whole graph's), drawn by one `dot` process: `dot`, one
        the caller keeps for its next batches, or one started for these."""
        graphs = {}
        for focus in focuses:
            edges = self.edges if focus is None else self._edges_by_entity.get(focus, [])
            if len(edges) >= (1 if focus is None else FOCUS_MINIMUM):
                shown = _central_edges(edges, DIAGRAM_ARROWS)
                names = {iri: self.graph.label(iri) for e in shown for iri in (e.lower, e.upper)}
                title = "Branch relations and pledges of allegiance"
                caption = _shown(len(shown), len(edges), "arrows")
                graphs[focus] = _diagram(shown, names, link, title + (f"\n{caption}" if caption else ""))
        with Dot() if dot is None else nullcontext(dot) as drawing:
            drawn = dict(zip(graphs, drawing.draw(list(graphs.values())), strict=True))
        return {focus: drawn.get(focus, "") for focus in focuses}

    def _read(self) -> tuple[list[Row], list[Edge]]:
        found = self.store.query(_ROWS, use_default_graph_as_union=True)
        names = [v.value for v in found.variables]  # a solution's values in this order, read as they come
        solutions = [{n: v for n, v in zip(names, s, strict=True) if v is not None} for s in found]
        edge = _edge(solutions)
        rows: set[Row] = set()
        edges: set[Edge] = set()
        for s in solutions:
            kind, item = s["kind"].value, s["item"].value
            whos = sorted(s["whos"].value.split()) if s.get("whos") and s["whos"].value else []
            row = _row(s, self._row_label(s, kind, whos), kind, edge)
            rows.add(row)
            upper = s.get("to") or s.get("parent")
            if kind in ("pledge", "branch") and upper is not None:
                text = ("branch" if kind == "branch" else "pledge") + ", " + row.dates()
                edges.update(Edge(w, upper.value, kind, item, text, row.undated or row.open_end) for w in whos)
        return sorted(rows, key=_ROW_ORDER), sorted(edges, key=_EDGE_ORDER)

    def _row_label(self, s: dict, kind: str, whos: list[str]) -> str:
        name = self.graph.label  # remembered: rows and diagrams name the same groups again and again
        if kind == "tenure":
            return f"{name(s['lead'].value)}: {name(s['role'].value)} of {name(s['org'].value)}"
        if kind == "branch":
            return f"{_names([name(w) for w in whos])} branch of {name(s['parent'].value)}"
        if kind == "pledge":  # by named entities, or by a group a source describes without naming
            who = _names([name(w) for w in whos]) if whos else _short(s["group"].value, 30) if "group" in s else "?"
            return f"{who} → " + (name(s["to"].value) if "to" in s else "(not named)")
        if kind == "acceptance":
            by = name(s["to"].value) if "to" in s else "(not named)"
            return f"{by} accepts " + (f"pledge of {_names([name(w) for w in whos])}" if whos else "pledges")
        claimants = [name(c) for c in sorted(s["claimants"].value.split())] if s.get("claimants") else []
        culprits = [name(c) for c in sorted(s["culprits"].value.split())] if s.get("culprits") else []
        how = (
            (f"claimed by {_names(claimants)}" if claimants else "claimed")
            if kind == "claimed"
            else f"attributed to {_names(culprits)}"
        )
        return f"{_short(name(s['item'].value), max(MAX_LABEL - len(how) - 3, 20))} ({how})"  # who, kept whole


def _central_edges(edges: list[Edge], most: int) -> list[Edge]:
    """At most `most` arrows: all of them, or those into the groups most arrows point to, group by group
    (the central groups and who pledged to them, or who is their branch)."""
    if len(edges) <= most:
        return edges
    into: dict[str, list[Edge]] = {}
    for e in edges:
        into.setdefault(e.upper, []).append(e)
    chosen: list[Edge] = []
    for upper in sorted(into, key=lambda u: (-len(into[u]), u)):
        chosen += into[upper][: most - len(chosen)]
        if len(chosen) == most:
            break
    return sorted(chosen)


def _shown(shown: int, of: int, what: str) -> str:
    """The caption of a picture that shows only part of its graph ('' when it shows all)."""
    if shown == of:
        return ""
    return f"{shown:,} of {of:,} {what} shown: the central groups' first; each entity's own picture is on its page"


def _names(names: list[str]) -> str:
    names = sorted(names)
    return ", ".join(names) if len(names) <= 2 else f"{names[0]} and {len(names) - 1} more"


def _span(first: dt.date, last: dt.date | None) -> str:
    """A date, or the bounds it is known within: a whole month or year in its short form."""
    if last is None or last == first:
        return first.isoformat()
    if first.day == 1 and (last + dt.timedelta(days=1)).day == 1:
        if first.month == 1 and last.month == 12 and first.year == last.year:
            return str(first.year)
        if (first.year, first.month) == (last.year, last.month):
            return first.strftime("%Y-%m")
    return f"{first.isoformat()}..{last.isoformat()}"


def _date(term) -> dt.date | None:
    try:
        return dt.date.fromisoformat(term.value[:10]) if term is not None else None
    except ValueError:
        return None


def _row(s: dict, label: str, kind: str, edge: dt.date) -> Row:
    """A row from the one-hop bounds of a fact: a bar for a period, a point (or band) for a date."""
    d = {k: _date(s.get(k)) for k in ("de", "dl", "se", "sl", "ee", "el", "from", "until")}
    item = s["item"].value
    is_period = kind in ("tenure", "branch") or any(d[k] for k in ("se", "sl", "ee", "el"))
    if not is_period:
        first = d["de"] or d["dl"]
        if first is None:
            return Row(edge, label, item, kind, undated=True)
        return Row(first, label, item, kind, start_late=d["dl"] if d["dl"] and d["dl"] > first else None)
    start = d["se"] or d["from"] or edge
    late = d["sl"] if d["sl"] and d["sl"] > start else None
    end = d["el"] or d["until"]
    early = d["ee"] if d["ee"] and end and d["ee"] < end else None
    return Row(
        start,
        label,
        item,
        kind,
        end or start,
        open_end=end is None,
        start_late=late,
        end_early=early,
        undated=d["se"] is None and d["from"] is None,
    )


def _edge(solutions: list[dict]) -> dt.date:
    """Where undated items are drawn: the first January before every known date."""
    dates = [d for s in solutions for k in ("de", "dl", "se", "sl", "ee", "el") if (d := _date(s.get(k)))]
    return dt.date(min(dates).year - 1, 1, 1) if dates else dt.date(2000, 1, 1)


def _modified(store: ox.Store) -> dt.date | None:
    dates = [d for s in store.query(_MODIFIED, use_default_graph_as_union=True) if (d := _date(s["d"]))]
    return max(dates) if dates else None


def _involved(graph: pages._Graph, item: str) -> set[str]:
    """The item and every entity it (or a node below it) points to (`graph.owner` remembers each IRI's entity:
    rows point at the same groups, places and roles, at 1M 708,000 lookups of ~50,000 IRIs)."""
    found, todo = {item}, [item]
    owner_of = graph.owner
    while todo:
        node = todo.pop()
        for o in graph.values(node):
            if type(o) is ox.NamedNode:
                value = o.value
                if is_below(value, node) and value not in found:
                    todo.append(value)
                owner = owner_of(value)
                if owner:
                    found.add(owner)
    return found


# -- both timelines ----------------------------------------------------------------------------------


def _drawn_order(rows: list[Row], modified: dt.date | None) -> tuple[list[Row], list[dt.date | None], int, int]:
    """The rows top to bottom (undated points last), where each one's bar ends (an open end: at the
    dataset's `modified`), and the axis's first and last year, whole years."""
    rows = sorted(rows, key=lambda r: (r.undated and r.end is None, r.start, r.label, r.iri))
    ends = [(modified if r.open_end and modified and modified > r.start else r.end) for r in rows]
    last = max([r.start_late or r.start for r in rows] + [e for e in ends if e])
    return rows, ends, min(r.start for r in rows).year, last.year


def _legend_extras(rows: list[Row]) -> list[str]:
    """The legend's entries beyond the kinds: bands, hatching and the hollow mark, where rows have them."""
    extras = []
    if any(r.start_late or r.end_early for r in rows):
        extras.append("date known only within these bounds")
    if any((r.undated and r.end is not None) or r.open_end for r in rows):
        extras.append("start or end undated")
    if any(r.undated and r.end is None for r in rows):
        extras.append("undated")
    return extras


# -- the timelines, written as SVG text ---------------------------------------------------------------
# Laid out on a page 11 inches wide at 72 units an inch (the layout matplotlib drew the whole graph's
# timeline with, until round 7 of issue 22), marks of 7 points.

_WIDTH = 792.0
_AXIS = (301.0, 673.0)  # x of the time axis: labels to its left, dates in words to its right
_ROW = 17.28  # a row's height (0.24 inch)
_TOP = 54.0  # title and the axis's ticks above the first row
_CAPTION = 12.0  # a caption's line under the title ("N of M shown"), when there is one
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# A mark centred on (0, 0), 7 points wide
_MARKS = {
    "D": "M 0 4.24 L 4.24 0 L 0 -4.24 L -4.24 0 z",
    "s": "M -3 3 L 3 3 L 3 -3 L -3 -3 z",
    "^": "M 0 -3.5 L 3.5 3.5 L -3.5 3.5 z",
    "v": "M 0 3.5 L -3.5 -3.5 L 3.5 -3.5 z",
    "o": "M -3.5 0 A 3.5 3.5 0 1 0 3.5 0 A 3.5 3.5 0 1 0 -3.5 0 z",
    ">": "M -3 -3.5 L 4 0 L -3 3.5 z",  # an open end: it may still hold
}


def _timeline_svg(
    rows: list[Row], modified: dt.date | None, link: Callable[[str], str], title: str, caption: str = ""
) -> str:
    """A timeline, the whole graph's or an entity's: one labelled line per fact (~0.1 ms a row; matplotlib
    took ~65 ms a figure and, for the whole graph's, 0.45 s to import)."""
    rows, ends, first_year, last_year = _drawn_order(rows, modified)
    top = _TOP + (_CAPTION if caption else 0.0)
    left, right = dt.date(first_year, 1, 1).toordinal(), dt.date(last_year + 1, 1, 1).toordinal()
    left, right = left - (right - left) * 0.01, right + (right - left) * 0.01
    scale = (_AXIS[1] - _AXIS[0]) / (right - left)

    def x(day: dt.date) -> float:
        return _AXIS[0] + (day.toordinal() - left) * scale

    bottom = top + _ROW * len(rows)
    out = [_ticks(first_year, last_year, x, top, bottom)]
    for y, (row, end) in enumerate(zip(rows, ends, strict=True)):
        cy, href, dates = top + _ROW * (y + 0.5), escape(link(row.iri)), escape(row.dates())
        out += (
            f'<g id="row{y}-{row.kind}-{n}"><a xlink:href="{href}">{shape}</a></g>'
            for n, shape in enumerate(_row_shapes(row, end, x, cy))
        )
        dates_at = max(x(end) if end else 0.0, x(row.start_late or row.start)) + 6
        out.append(
            f'<g id="label{y}"><a xlink:href="{href}"><title>{escape(row.label)}: {dates}</title>'
            f'<text x="{_AXIS[0] - 6:.2f}" y="{cy + 2.8:.2f}" style="font-size: 8px; text-anchor: end">'
            f"{escape(_short(row.label))}</text></a></g>"
            f'<g id="dates{y}"><a xlink:href="{href}"><text x="{dates_at:.2f}" y="{cy + 2.3:.2f}" '
            f'style="font-size: 6.5px; fill: #444444">{dates}</text></a></g>'
        )
    legend, height = _legend(rows, bottom + 14)
    hatches = "".join(
        f'<pattern id="pg-hatch-{kind}" patternUnits="userSpaceOnUse" width="6" height="6">'
        f'<path d="M 0 6 L 6 0 M -1 1 L 1 -1 M 5 7 L 7 5" style="stroke: {colour}; stroke-width: 1"/></pattern>'
        for kind, colour in [*COLOURS.items(), ("legend", "#888888")]
    )
    return xml_safe(
        f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="{_WIDTH:.0f}pt" '
        f'height="{height:.0f}pt" viewBox="0 0 {_WIDTH:.0f} {height:.0f}" version="1.1" '
        "style=\"font-family: 'DejaVu Sans', sans-serif\">\n"
        f"<title>{escape(title)}</title><defs>{hatches}</defs>\n"
        f'<text x="7.92" y="17" style="font-size: 10px">{escape(title)}</text>\n'
        + (
            f'<text x="7.92" y="{17 + _CAPTION:.0f}" style="font-size: 7px; fill: #444444">{escape(caption)}</text>\n'
            if caption
            else ""
        )
        + "\n".join(out)
        + f"\n{legend}\n</svg>\n"
    )


def _row_shapes(row: Row, end: dt.date | None, x: Callable[[dt.date], float], cy: float) -> list[str]:
    """A row's marks, the cases `_timeline_svg` draws: solid where a period surely held (latest start to
    earliest end), light bands where a side is known only within bounds, hatched where no source dates
    a side (with an arrow at an open end); a hollow mark for an undated point, a band for an imprecise one."""
    colour = COLOURS[row.kind]

    def bar(a: dt.date, b: dt.date, alpha: float = 1.0, hatch: bool = False, least: float = 1.0) -> str:
        """A rectangle over a..b, at least `least` units wide so it stays visible."""
        fill = f"url(#pg-hatch-{row.kind})" if hatch else colour
        style = f"fill: {fill}" + (f"; fill-opacity: {alpha}" if alpha < 1 else "")
        return _box(x(a), x(a) + max(x(b) - x(a), least), cy, 0.3 * _ROW, style)

    if row.end is not None and end is not None:
        solid_from = row.start_late or row.start
        solid_to = solid_from if row.open_end else (row.end_early or end)
        shapes = []
        if row.undated:
            stop = end if row.open_end else solid_to
            shapes += [bar(row.start, stop, BAND_ALPHA), bar(row.start, stop, hatch=True)]
        else:
            if solid_from > row.start:
                shapes.append(bar(row.start, solid_from, BAND_ALPHA))
            shapes.append(bar(solid_from, solid_to, least=2.0))
            if row.open_end:
                shapes += [bar(solid_to, end, BAND_ALPHA), bar(solid_to, end, hatch=True)]
        if not row.open_end and end > solid_to:
            shapes.append(bar(solid_to, end, BAND_ALPHA))
        if row.open_end:
            shapes.append(_mark(">", x(end), cy, f"fill: {colour}; stroke: {colour}"))
        return shapes
    if row.undated:  # hollow: no source dates it
        return [_mark(MARKERS[row.kind], x(row.start), cy, f"fill: #ffffff; stroke: {colour}; stroke-width: 1.5")]
    if row.start_late:  # known within bounds: a band over them
        return [bar(row.start, row.start_late + dt.timedelta(days=1), 0.6)]
    return [_mark(MARKERS[row.kind], x(row.start), cy, f"fill: {colour}; stroke: {colour}")]


def _box(x0: float, x1: float, cy: float, half: float, style: str) -> str:
    """A rectangle from x0 to x1, `half` above and below cy."""
    top, low = f"{cy - half:.2f}", f"{cy + half:.2f}"
    left, right = f"{x0:.2f}", f"{x1:.2f}"
    return f'<path d="M {left} {top} L {right} {top} L {right} {low} L {left} {low} z" style="{style}"/>'


def _mark(name: str, cx: float, cy: float, style: str) -> str:
    return f'<path d="{_MARKS[name]}" transform="translate({cx:.2f} {cy:.2f})" style="{style}"/>'


def _ticks(first_year: int, last_year: int, x: Callable[[dt.date], float], top: float, bottom: float) -> str:
    """The time axis above the rows (which start at `top`): years (every 1, 2, 5, 10… so at most 12), or
    quarters over two years or less; a grid line at each down to `bottom`."""
    years = last_year + 1 - first_year
    if years <= 2:
        days = [dt.date(y, m, 1) for y in range(first_year, last_year + 2) for m in (1, 4, 7, 10)]
        days = [d for d in days if d.year <= last_year or d.month == 1]
    else:
        step = next(s for s in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000) if years // s <= 11)
        days = [dt.date(y, 1, 1) for y in range(first_year + (-first_year) % step, last_year + 2, step)]
    axis = top - 3
    parts = [
        f'<g id="axis"><path d="M {_AXIS[0]:.2f} {axis:.2f} L {_AXIS[1]:.2f} {axis:.2f}" style="stroke: #000000"/>'
    ]
    for day in days:
        at = x(day)
        text = str(day.year) if day.month == 1 else _MONTHS[day.month - 1]
        parts.append(
            f'<path d="M {at:.2f} {axis:.2f} L {at:.2f} {bottom:.2f}" style="stroke: #dddddd; stroke-width: 0.6"/>'
            f'<text x="{at:.2f}" y="{axis - 4:.2f}" style="font-size: 8px; text-anchor: middle">{text}</text>'
        )
    return "".join(parts) + "</g>"


def _legend(rows: list[Row], top: float) -> tuple[str, float]:
    """The legend below the rows, three entries a line, its swatches in the marks' colours; and the
    picture's height with it."""
    entries = []
    for kind in (k for k in COLOURS if any(r.kind == k for r in rows)):
        colour = COLOURS[kind]
        if kind in ("tenure", "branch"):
            entries.append((_box(-5, 5, 0, 3.5, f"fill: {colour}"), LEGEND[kind]))
        else:
            entries.append((_mark(MARKERS[kind], 0, 0, f"fill: {colour}; stroke: {colour}"), LEGEND[kind]))
    swatches = {
        "date known only within these bounds": _box(-5, 5, 0, 3.5, f"fill: #888888; fill-opacity: {BAND_ALPHA}"),
        "start or end undated": _box(-5, 5, 0, 3.5, "fill: url(#pg-hatch-legend)"),
        "undated": _mark("o", 0, 0, "fill: #ffffff; stroke: #888888; stroke-width: 1.5"),
    }
    entries += [(swatches[label], label) for label in _legend_extras(rows)]
    parts = ['<g id="legend_1">']
    for n, (swatch, label) in enumerate(entries):
        cx, cy = 14 + (n % 3) * 258, top + (n // 3) * 12
        parts.append(
            f'<g transform="translate({cx:.2f} {cy:.2f})">{swatch}'
            f'<text x="9" y="2.5" style="font-size: 7px">{escape(label)}</text></g>'
        )
    return "".join(parts) + "</g>", top + ((len(entries) + 2) // 3) * 12 + 4


def _short(label: str, most: int = MAX_LABEL) -> str:
    return label if len(label) <= most else label[: most - 1] + "…"


# -- the allegiance diagram, with Graphviz -----------------------------------------------------------


def _diagram(edges: list[Edge], names: dict[str, str], link: Callable[[str], str], title: str):
    """The diagram as a Graphviz graph (`Dot` draws it)."""
    g = graphviz.Digraph(
        "allegiance",
        graph_attr={
            "rankdir": "LR",
            "label": title,
            "labelloc": "t",
            "fontname": "DejaVu Sans",
            "fontsize": "12",
            "tooltip": title,
        },
        node_attr={"shape": "box", "style": "rounded", "fontname": "DejaVu Sans", "fontsize": "10"},
        edge_attr={"fontname": "DejaVu Sans", "fontsize": "8", "penwidth": "1.6"},
    )
    ids = {iri: f"n{i}" for i, iri in enumerate(sorted(names))}  # Graphviz reads "a:b" as node a, port b
    for iri, node in ids.items():
        g.node(node, names[iri], href=link(iri), tooltip=names[iri])
    for e in edges:
        g.edge(
            ids[e.lower],
            ids[e.upper],
            label=e.text,
            color=COLOURS[e.kind],
            fontcolor=COLOURS[e.kind],
            style="dashed" if e.undated else "solid",
            href=link(e.iri),
            tooltip=f"{names[e.lower]} → {names[e.upper]}: {e.text}",
        )
    with g.subgraph(name="cluster_legend", graph_attr={"label": "legend", "fontsize": "9", "color": "#cccccc"}) as key:
        kinds = [k for k in COLOURS if any(e.kind == k for e in edges)]
        for k in kinds:
            key.node(f"legend_{k}_from", "", shape="point", width="0.05")
            key.node(f"legend_{k}_to", LEGEND[k], shape="plaintext", fontsize="8")
            key.edge(f"legend_{k}_from", f"legend_{k}_to", color=COLOURS[k], id=f"legend_{k}")
        if any(e.undated for e in edges):
            key.node("legend_undated_from", "", shape="point", width="0.05")
            key.node("legend_undated_to", "dashed: a side undated", shape="plaintext", fontsize="8")
            key.edge("legend_undated_from", "legend_undated_to", color="#888888", style="dashed")
    return g


_SVG_END = "</svg>\n"


class Dot:
    """A `dot -Tsvg` process that draws graph after graph, started on first use: dot writes each graph's SVG
    as soon as it has read that graph (each document ends with `</svg>`, which no label can hold: its `<`
    is escaped), so a process drawing many small diagrams (publish's entity pages, batch after batch) starts
    `dot` once: a start costs ~15-40 ms (fonts), a small diagram ~0.3 ms. Threads may share it (a `draw` has it
    to itself until its SVGs are read); `close()` it (or `with`): dot ends when its input does. A graph dot
    cannot read ends it (an error, its message)."""

    def __init__(self):
        self.process: subprocess.Popen | None = None
        self.messages = tempfile.TemporaryFile()  # dot's warnings and errors: a file, so dot never waits on us
        self.turn = threading.Lock()
        self.closed = False  # a `draw` after `close()` fails instead of starting another dot

    def __enter__(self) -> Dot:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def draw(self, graphs: list) -> list[str]:
        """Each Graphviz graph as SVG, as dot draws it when it is its input's only graph."""
        with self.turn:
            return [xml_safe(_as_drawn_alone(self._one(g.source))) for g in graphs]

    def _one(self, source: str) -> str:
        if self.process is None:
            if self.closed:
                raise PledgegraphError("a diagram was asked of a `dot` already closed")
            try:
                self.process = subprocess.Popen(
                    ["dot", "-Tsvg"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.messages
                )
            except FileNotFoundError:
                raise PledgegraphError(
                    "the allegiance diagram is drawn by Graphviz's `dot`, which is not installed: "
                    "install Debian's `graphviz` package (`make install` does)"
                ) from None
        process, end = self.process, _SVG_END.encode()
        assert process.stdin is not None and process.stdout is not None
        try:
            process.stdin.write(source.encode())
            process.stdin.flush()
        except BrokenPipeError:
            self._failed()
        chunks: list[bytes] = []
        tail = b""  # the last bytes read, where the end of the document shows (a read may split it)
        while not tail.endswith(end):
            chunk = os.read(process.stdout.fileno(), 1 << 16)
            if not chunk:
                self._failed()
            chunks.append(chunk)
            tail = (tail + chunk)[-len(end) :]
        svg = b"".join(chunks).decode()
        return svg[svg.index("<svg") :]

    def _failed(self) -> NoReturn:
        self._end()  # in a `draw`, which has the turn
        self.messages.seek(0)
        said = self.messages.read().decode(errors="replace").strip()
        raise PledgegraphError(f"Graphviz's `dot` could not draw a diagram: {said or 'it stopped'}")

    def close(self) -> None:
        with self.turn:
            self.closed = True
            self._end()

    def _end(self) -> None:
        if self.process is not None:
            process, self.process = self.process, None
            assert process.stdin is not None and process.stdout is not None
            try:
                process.stdin.close()
            except BrokenPipeError:
                pass
            process.stdout.close()
            process.wait()


def _as_drawn_alone(svg: str) -> str:
    """The SVG `dot` writes for the graph when it is its input's only one: dot ids each graph after the first
    `page0,1_graph0` (its anchor `a_page0,1_graph0`) instead of `graph0`; both come first in the document."""
    return svg.replace(' id="a_page0,1_graph0"', ' id="a_graph0"', 1).replace(' id="page0,1_graph0"', ' id="graph0"', 1)
