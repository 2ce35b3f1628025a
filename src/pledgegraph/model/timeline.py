"""Time-true facts, derived from the checked records at build time (between load and build).

- **Spans.** Every dated fact gets plain date bounds one hop from it: a fact with a period (tenure,
  branch, relation, estimate, subordination link) has start and end bounds, a fact with a date has
  earliest and latest bounds. A side the sources do not date is marked undated, never guessed.
- **The at-date rule.** A fact holds on day D when D lies in its effective period: from its earliest
  start (or, when only "by X" is known, from X) until its latest end (or, when only "after X" is
  known, X). An undated side is open and marked as such, so a query can include or exclude it.
- **Subordination.** An announced branch (a branch record) and an accepted pledge (a pledge of
  organizations, and its acceptance) become one kind of dated link, child under parent. A pledge
  nobody accepted is a claim of allegiance, not subordination. Chains are materialised: a link from
  A to C through B holds where both hops hold (the intersection of their periods).
- **The direct ("truthy") layer**: what holds on the release date (the dataset's `modified`, else
  `issued`): current parent and everything above it, current heads and members, reported deaths.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field

from pledgegraph.model.dates import DateSpec
from pledgegraph.model.records import Dataset, Item, Record

# Roles whose holder is the organization's head (org:headOf).
HEAD_ROLES = frozenset({"leader", "governor", "head-of-republic", "president", "director"})
MAX_CHAIN = 8  # hops; longer chains (none exist) would only come from a cycle the loader reports


def _min(*dates: dt.date | None) -> dt.date | None:
    known = [d for d in dates if d is not None]
    return min(known) if known else None


def _max(*dates: dt.date | None) -> dt.date | None:
    known = [d for d in dates if d is not None]
    return max(known) if known else None


@dataclass(frozen=True)
class Span:
    """A period known only within bounds. `None` bounds are unknown; an undated side has none.
    `valid_from`/`valid_until` are the at-date rule's bounds (None: open)."""

    start_earliest: dt.date | None = None
    start_latest: dt.date | None = None
    end_earliest: dt.date | None = None
    end_latest: dt.date | None = None
    start_dated: bool = False
    end_dated: bool = False
    valid_from: dt.date | None = None
    valid_until: dt.date | None = None

    @classmethod
    def of(cls, start: DateSpec | None, end: DateSpec | None) -> "Span":
        return cls.bounded(
            start.earliest if start else None,
            start.latest if start else None,
            end.earliest if end else None,
            end.latest if end else None,
            start is not None,
            end is not None,
        )

    @classmethod
    def bounded(cls, start_earliest, start_latest, end_earliest, end_latest, start_dated, end_dated) -> "Span":
        """A span from its bounds: it holds from its earliest start (or its latest, when only "by X"
        is known) until its latest end (or its earliest, when only "after X" is known)."""
        return cls(
            start_earliest,
            start_latest,
            end_earliest,
            end_latest,
            start_dated,
            end_dated,
            start_earliest or start_latest,
            end_latest or end_earliest,
        )

    def holds_on(self, day: dt.date) -> bool:
        start, end = self.valid_from, self.valid_until
        return (start is None or start <= day) and (end is None or day <= end)

    def within(self, other: "Span") -> "Span | None":
        """Where both hold (each bound the tighter one), or None when they never overlap."""
        start, end = _max(self.valid_from, other.valid_from), _min(self.valid_until, other.valid_until)
        if start is not None and end is not None and end < start:
            return None
        return Span(
            _max(self.start_earliest, other.start_earliest),
            _max(self.start_latest, other.start_latest),
            _min(self.end_earliest, other.end_earliest),
            _min(self.end_latest, other.end_latest),
            self.start_dated or other.start_dated,
            self.end_dated or other.end_dated,
            start,
            end,
        )


def span_of(item: Item) -> Span:
    """The period of a record or nested item with `from`/`until` fields. A tenure without `until`
    ends when its `end:` accounts date the end (their envelope)."""
    data = item.data
    end = data.get("until")
    if end is None and data.get("end"):
        ends = [e.data["date"] for e in data["end"] if "date" in e.data]
        if ends:
            start = data.get("from")
            return Span.bounded(
                start.earliest if start else None,
                start.latest if start else None,
                _min(*(e.earliest for e in ends)) if all(e.earliest for e in ends) else None,
                _max(*(e.latest for e in ends)) if all(e.latest for e in ends) else None,
                start is not None,
                True,
            )
    return Span.of(data.get("from"), end)


@dataclass(frozen=True)
class Link:
    """Child under parent for a span. Direct links rest on records (`rests_on`); a chain on
    its hops, in order from the child up."""

    child: str
    parent: str
    span: Span
    key: str  # unique among the child's links to this parent; part of the IRI
    rests_on: tuple[str, ...] = ()
    ended_by: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    hops: tuple["Link", ...] = field(default=(), compare=False)

    @property
    def direct(self) -> bool:
        return not self.hops


def _sources(*records: Record) -> tuple[str, ...]:
    return tuple(sorted({c.data["source"] for r in records for c in r.data.get("sources", [])}))


def direct_links(dataset: Dataset) -> list[Link]:
    """Subordination from branch records and from accepted pledges of organizations."""
    by_id = dataset.by_id
    links = []
    for r in dataset.records:
        if r.kind == "branch" and not r.data.get("deprecated"):
            ended = (r.data["ended_by"],) if "ended_by" in r.data else ()
            links.append(
                Link(
                    r.data["branch"],
                    r.data["parent"],
                    span_of(r),
                    f"branch-{r.id}",
                    (r.id,),
                    ended,
                    _sources(r, *(by_id[i] for i in ended if i in by_id)),
                )
            )
        elif r.kind == "acceptance" and not r.data.get("deprecated"):
            start = Span.of(r.data.get("date"), None)
            grouped: dict[tuple[str, str], list[Record]] = {}
            for pid in r.data["accepts"]:
                pledge = by_id[pid]
                units = {
                    a
                    for a in pledge.data.get("pledgers", []) + pledge.data.get("on_behalf_of", [])
                    if by_id[a].kind == "organization"
                }
                for unit in units:
                    grouped.setdefault((unit, pledge.data["to"]), []).append(pledge)
            for (unit, parent), pledges in sorted(grouped.items()):
                if unit == parent:
                    continue
                links.append(
                    Link(
                        unit,
                        parent,
                        start,
                        f"acceptance-{r.id}",
                        (*sorted(p.id for p in pledges), r.id),
                        (),
                        _sources(r, *pledges),
                    )
                )
    return sorted(links, key=lambda link: (link.child, link.parent, link.key))


def chains(direct: list[Link]) -> list[Link]:
    """Every chain of two or more direct links that holds at some time (hops overlapping)."""
    upward: dict[str, list[Link]] = {}
    for link in direct:
        upward.setdefault(link.child, []).append(link)
    out = []
    frontier: list[tuple[Link, tuple[Link, ...]]] = [(link, (link,)) for link in direct]
    while frontier:
        grown: list[tuple[Link, tuple[Link, ...]]] = []
        for link, hops in frontier:
            if len(hops) >= MAX_CHAIN:
                continue
            seen = {h.child for h in hops}
            for step in upward.get(link.parent, ()):
                if step.parent in seen or step.parent == hops[0].child:
                    continue
                span = link.span.within(step.span)
                if span is None:
                    continue
                path = (*hops, step)
                digest = hashlib.sha1("|".join(h.key + ">" + h.parent for h in path).encode()).hexdigest()[:10]
                chained = Link(
                    hops[0].child,
                    step.parent,
                    span,
                    f"via-{digest}",
                    (),
                    (),
                    tuple(sorted({s for h in path for s in h.sources})),
                    path,
                )
                out.append(chained)
                grown.append((chained, path))
        frontier = grown
    return sorted(out, key=lambda link: (link.child, link.parent, link.key))


def release_date(dataset: Dataset) -> dt.date | None:
    """The day the direct layer describes: the dataset's `modified` date, else its `issued` date."""
    record = next((r for r in dataset.records if r.kind == "dataset"), None)
    if record is None:
        return None
    when = record.data.get("modified") or record.data.get("issued")
    return when.latest if when is not None else None


# What the derivation reads of a record (direct_links, chains, release_date, reported_dead, current):
# every record of these kinds, the kinds of the records they refer to, whether a person is reported
# dead, and the sources of a branch's `ended_by` record (which `may_change` cannot see: ask the branch).
_READ_KINDS = frozenset({"branch", "acceptance", "pledge", "tenure", "dataset"})


def may_change(old: Record | None, new: Record | None) -> bool:
    """Whether replacing record `old` by `new` (None: added, or removed) can change what is derived
    across records: `validate --watch` derives again only then (it costs a pass over every record)."""
    if any(r is not None and r.kind in _READ_KINDS for r in (old, new)):
        return True
    if old is None or new is None:
        return any(r is not None and r.kind == "person" for r in (old, new))  # said to be reported dead or not
    return old.kind != new.kind or (old.kind == "person" and old.data.get("deaths") != new.data.get("deaths"))


def reported_dead(dataset: Dataset) -> set[str]:
    """Persons some source reports dead or killed (a death record, or a tenure ended by killing)."""
    dead = {r.id for r in dataset.records if r.kind == "person" and r.data.get("deaths")}
    dead |= {
        r.data["person"]
        for r in dataset.records
        if r.kind == "tenure"
        for e in r.data.get("end", [])
        if e.data.get("manner") == "killed"
    }
    return dead


@dataclass
class Current:
    """The direct layer: what holds on `day`."""

    day: dt.date
    parents: set[tuple[str, str]]  # (child, parent) of a direct link holding on `day`
    above: set[tuple[str, str]]  # (child, ancestor) through any chain holding on `day`
    heads: set[tuple[str, str]]  # (person, organization)
    members: set[tuple[str, str]]  # (person, organization)
    dead: set[str]


def current(dataset: Dataset, links: list[Link], day: dt.date) -> Current:
    dead = reported_dead(dataset)
    holding = [link for link in links if link.span.holds_on(day)]
    heads, members = set(), set()
    for r in dataset.records:
        if (
            r.kind == "tenure"
            and not r.data.get("deprecated")
            and r.data["person"] not in dead
            and span_of(r).holds_on(day)
        ):
            pair = (r.data["person"], r.data["organization"])
            members.add(pair)
            if r.data["role"] in HEAD_ROLES:
                heads.add(pair)
    return Current(
        day,
        {(link.child, link.parent) for link in holding if link.direct},
        {(link.child, link.parent) for link in holding},
        heads,
        members,
        dead,
    )
