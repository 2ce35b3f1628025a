"""Sanity rules: facts that are well-formed but cannot be true, caught at the line that states them.

The loader has checked each value and each reference; these rules look at what the values say
together: a group pledging to itself, a tenure that is its own predecessor, a branch cycle (reported
at the branch record that closes it, in file order), a range that ends before it starts, a date
after the dataset's own date (unless marked `forecast: true`), an estimate with both a value and a
range, an acceptance dated before the pledge it accepts, a version `publish` would refuse, one item
listed twice in a list (two names, citations, values or nested items that would get one IRI).
Each problem is an error at the offending field, with a hint.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Iterator

from pledgegraph.errors import Position, ProblemList
from pledgegraph.model import iris, schema
from pledgegraph.model.dates import DateSpec
from pledgegraph.model.records import Claimed, Item, Record

VERSION_RE = re.compile(schema.VERSION_PATTERN)

# (kind, field) pairs that must not name the record itself, with what that would claim
_NOT_SELF = {
    ("pledge", "resulted_in"): "a pledge cannot result in itself",
    ("event", "part_of"): "an event cannot be part of itself",
    ("statement", "about"): "a statement is about other records, not itself",
    ("source", "cites"): "a document cannot cite itself",
    ("place", "within"): "a place cannot lie within itself",
}
# (kind, field, other field): the two must differ
_DIFFERENT = {
    ("pledge", "to", "pledgers"): "pledges allegiance to itself",
    ("pledge", "renounces", "to"): "renounces the group it pledges to",
    ("pledge", "on_behalf_of", "to"): "pledges on behalf of the group it pledges to",
    ("relation", "object", "subject"): "is a relation of an organization with itself",
    ("tenure", "predecessor", "person"): "names the person as their own predecessor",
    ("branch", "parent", "branch"): "makes an organization a branch of itself",
    ("designation", "by", "designated"): "has a body designating itself",
}
_CITATIONS = schema.STRUCTS["name"].field("sources")  # a `sources:` list, as every struct has
# links whose chains must not loop, reported at the record that closes the loop
_ACYCLIC = {"branch": ("branch", "parent"), "event": (None, "part_of"), "place": (None, "within")}
CYCLE_KINDS = frozenset(_ACYCLIC)  # kinds whose links must not loop: a loop is found among all their records


def check(
    records: list[Record], by_id: dict[str, Record], problems: ProblemList, linked: list[Record] | None = None
) -> None:
    """The rules on `records`; loops are looked for among `linked` (default: `records`), in file order,
    which a re-check of a few records gives as every record of their kinds in CYCLE_KINDS."""
    today = _dataset_date(by_id.get("dataset"))
    for r in records:
        _self_references(r, problems)
        _repeats(r, schema.KINDS[r.kind].fields, r.kind, r, problems)
        _ranges(r, problems)
        if today is not None and r.kind != "dataset":
            _future(r, today, problems)
        if r.kind == "estimate":
            _estimate(r, problems)
        elif r.kind == "acceptance":
            _acceptance(r, by_id, problems)
        elif r.kind == "organization":
            _lifetime(r, problems)
        elif r.kind == "dataset":
            _version(r, problems)
    for kind, (child, parent) in _ACYCLIC.items():
        _cycles([r for r in (records if linked is None else linked) if r.kind == kind], child, parent, problems)


def _err(
    problems: ProblemList, r: Record, at: Position, message: str, rule: str, value: Any = "", hint: str = ""
) -> None:
    problems.add(at, message, entity=r.id, rule=rule, value=str(value), hint=hint)


def _plain(v: Any) -> Any:
    return v.value if isinstance(v, Claimed) else v


def _values(r: Item, name: str) -> list:
    v = r.data.get(name)
    return [] if v is None else [_plain(x) for x in (v if isinstance(v, list) else [v])]


def _self_references(r: Record, problems: ProblemList) -> None:
    if r.data.get("replaced_by") == r.id:
        _err(
            problems,
            r,
            r.where("replaced_by"),
            "is replaced by itself",
            f"{r.kind}.replaced_by",
            r.id,
            "name the record that replaces this one, or remove `replaced_by`",
        )
    for (kind, name), what in _NOT_SELF.items():
        if kind == r.kind and r.id in _values(r, name):
            _err(problems, r, r.where(name), what, f"{kind}.{name}", r.id, f"remove '{r.id}' from `{name}`")
    for (kind, name, other), what in _DIFFERENT.items():
        if kind == r.kind and set(_values(r, name)) & set(_values(r, other)):
            same = sorted(set(_values(r, name)) & set(_values(r, other)))[0]
            _err(
                problems,
                r,
                r.where(name),
                f"{what} ('{same}' is in both '{name}' and '{other}')",
                f"{kind}.{name}",
                same,
                f"check `{name}` and `{other}`: they name the same record",
            )
    if r.kind == "tenure":
        for end in r.data.get("end") or []:
            if end.data.get("successor") == r.data.get("person"):
                _err(
                    problems,
                    r,
                    end.where("successor"),
                    "names the person as their own successor",
                    "tenure.end.successor",
                    end.data["successor"],
                    "name who took over, or remove `successor`",
                )


def _repeats(item: Item, specs, path: str, r: Record, problems: ProblemList) -> None:
    """Items of one list that would get one IRI (`iris.py` mints them from their content): the same
    name, citation, claimed value or nested item said twice, which the graph would silently merge."""
    for spec in specs:
        value = item.data.get(spec.name)
        if isinstance(value, list):
            _list_repeats(value, spec, f"{path}.{spec.name}", r, problems)


def _list_repeats(values: list, spec, here: str, r: Record, problems: ProblemList) -> None:
    seen: dict[str, Position] = {}
    citation = schema.STRUCTS["citation"]
    for v in values:  # an item the loader refused part of (a bad `lang`, source id) is already reported
        if spec.type == "citations" and "source" in v.data:
            key, what = iris.citation_iri("", v.data), f"the citation of '{v.data['source']}'"
            _repeats(v, citation.fields, here, r, problems)
        elif isinstance(v, Claimed):
            key, what = iris.claim_iri("", spec.name, v.value), f"the value '{_shown(v.value)}'"
            _list_repeats(v.sources, _CITATIONS, here + ".sources", r, problems)
        elif isinstance(v, Item) and spec.base_type == "struct":
            struct = schema.STRUCTS[spec.target]
            if struct.name == "name" and not {"lang", "name"} <= v.data.keys():
                continue
            if struct.name == "name":
                key, what = iris.name_iri("", v.data["lang"], v.data["name"]), f"the name '{v.data['name']}'"
            else:
                key, what = iris.struct_iri("", struct, v.data), "an item above"
            _repeats(v, struct.fields, here, r, problems)
        else:
            continue
        if key in seen:
            _err(
                problems,
                r,
                v.position,
                f"repeats {what} (also at line {seen[key].line}): the two would be one node of the graph",
                here,
                hint="merge the two entries (their sources together), or remove one",
            )
        else:
            seen[key] = v.position


def _shown(value: Any) -> str:
    return value.label if isinstance(value, DateSpec) else str(value)


def _dates(item: Item, specs, path: str) -> Iterator[tuple[str, DateSpec, Position]]:
    """Every date in an item, nested items and claimed values included, with its field path."""
    for spec in specs:
        value = item.data.get(spec.name)
        if value is None:
            continue
        here = f"{path}.{spec.name}"
        for v in value if isinstance(value, list) else [value]:
            at = v.position if isinstance(v, Claimed) else item.where(spec.name)
            v = _plain(v)
            if isinstance(v, DateSpec):
                yield here, v, at
            elif isinstance(v, Item) and spec.base_type == "struct":
                yield from _dates(v, schema.STRUCTS[spec.target].fields, here)


def _future(r: Record, today: dt.date, problems: ProblemList) -> None:
    for path, d, at in _dates(r, schema.KINDS[r.kind].fields, r.kind):
        if d.earliest is not None and d.earliest > today and not d.forecast:
            _err(
                problems,
                r,
                at,
                f"is dated {d.label}, after the dataset's own date ({today.isoformat()})",
                path,
                d.label,
                "check the year; a date the source gives as still to come is written {on: …, forecast: true}",
            )


def _ranges(r: Record, problems: ProblemList) -> None:
    start, end = r.data.get("from"), r.data.get("until")
    if (
        isinstance(start, DateSpec)
        and isinstance(end, DateSpec)
        and start.earliest
        and end.latest
        and end.latest < start.earliest
    ):
        _err(
            problems,
            r,
            r.where("until"),
            f"ends ({end.label}) before it starts ({start.label})",
            f"{r.kind}.until",
            end.label,
            "swap `from` and `until`, or check the years",
        )
    for ending in r.data.get("end") or [] if r.kind == "tenure" else []:
        when = ending.data.get("date")
        if (
            isinstance(start, DateSpec)
            and isinstance(when, DateSpec)
            and start.earliest
            and when.latest
            and when.latest < start.earliest
        ):
            _err(
                problems,
                r,
                ending.where("date"),
                f"ends ({when.label}) before the tenure starts ({start.label})",
                "tenure.end.date",
                when.label,
                "check the year of `from` and of this `end`",
            )


def _estimate(r: Record, problems: ProblemList) -> None:
    if "value" in r.data and ("min" in r.data or "max" in r.data):
        _err(
            problems,
            r,
            r.where("value"),
            "gives both a single value and a range",
            "estimate.value",
            r.data["value"],
            "keep `value` for one figure, or `min`/`max` for a range, not both",
        )
    low, high = r.data.get("min"), r.data.get("max")
    if low is not None and high is not None and low > high:
        _err(
            problems,
            r,
            r.where("max"),
            f"the range's max ({high}) is below its min ({low})",
            "estimate.max",
            high,
            "swap `min` and `max`",
        )


def _acceptance(r: Record, by_id: dict[str, Record], problems: ProblemList) -> None:
    when = r.data.get("date")
    if not isinstance(when, DateSpec) or when.latest is None:
        return
    for pid in r.data.get("accepts") or []:
        pledged = by_id[pid].data.get("date") if pid in by_id else None  # an unknown id is reported elsewhere
        if isinstance(pledged, DateSpec) and pledged.earliest and when.latest < pledged.earliest:
            _err(
                problems,
                r,
                r.where("date"),
                f"is dated {when.label}, before the pledge it accepts ('{pid}', {pledged.label})",
                "acceptance.date",
                when.label,
                "an acceptance cannot come before its pledge: check both dates",
            )


def _lifetime(r: Record, problems: ProblemList) -> None:
    founded = [d for d in _values(r, "founded") if d.earliest]
    dissolved = [d for d in _values(r, "dissolved") if d.latest]
    if founded and dissolved and max(d.latest for d in dissolved) < min(d.earliest for d in founded):
        _err(
            problems,
            r,
            r.where("dissolved"),
            "is dissolved before it was founded, by every account",
            "organization.dissolved",
            dissolved[0].label,
            "check the years of `founded` and `dissolved`",
        )


def _version(r: Record, problems: ProblemList) -> None:
    version = r.data.get("version")
    if isinstance(version, str) and not VERSION_RE.fullmatch(version):
        _err(
            problems,
            r,
            r.where("version"),
            f"{version!r} cannot name a release",
            "dataset.version",
            version,
            "letters, digits and . + _ - only, starting with a letter or digit, e.g. 0.2.0",
        )


def _dataset_date(info: Record | None) -> dt.date | None:
    """The dataset's own date (modified, else issued): nothing it records can be later, but forecasts."""
    for name in ("modified", "issued"):
        d = info.data.get(name) if info is not None else None
        if isinstance(d, DateSpec) and d.latest is not None:
            return d.latest
    return None


def _cycles(records: list[Record], child: str | None, parent: str, problems: ProblemList) -> None:
    """Links child -> parent in file order; the link that closes a loop is reported, with the loop.

    Loops can only lie inside a strongly connected component of the whole link graph, so the
    components are found first (linear time) and links are replayed in file order only inside the
    few components that are not single nodes: cost grows with the links, not links × ancestors."""
    links = []
    for r in records:
        source = r.data.get(child) if child else r.id
        links += [(r, source, target) for target in _values(r, parent) if source is not None and target != source]
    component = _components({s for _, s, _ in links} | {t for _, _, t in links}, [(s, t) for _, s, t in links])
    up: dict[str, set[str]] = {}
    for r, source, target in links:
        if component[source] != component[target]:
            continue  # a link between components is on no loop
        path = _path(up, target, source)
        if path is not None:
            loop = " → ".join([source, *path])
            _err(
                problems,
                r,
                r.where(parent),
                f"closes a cycle: {loop}",
                f"{r.kind}.{parent}",
                target,
                f"a {r.kind} chain cannot lead back to where it starts; check `{parent}` here or in the "
                "records of the loop",
            )
            continue
        up.setdefault(source, set()).add(target)


def _components(nodes: set[str], edges: list[tuple[str, str]]) -> dict[str, int]:
    """Strongly connected components (Tarjan's algorithm, iterative): node -> component number."""
    out: dict[str, set[str]] = {}
    for s, t in edges:
        out.setdefault(s, set()).add(t)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    component: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    roots: list[str] = []
    for root in sorted(nodes):
        if root in index:
            continue
        work = [(root, iter(sorted(out.get(root, ()))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, targets = work[-1]
            for t in targets:
                if t not in index:
                    index[t] = low[t] = len(index)
                    stack.append(t)
                    on_stack.add(t)
                    work.append((t, iter(sorted(out.get(t, ())))))
                    break
                if t in on_stack:
                    low[node] = min(low[node], index[t])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    number = len(roots)
                    roots.append(node)
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component[member] = number
                        if member == node:
                            break
    return component


def _path(up: dict[str, set[str]], start: str, goal: str) -> list[str] | None:
    """Nodes from start to goal following `up` (breadth first), or None."""
    previous: dict[str, str | None] = {start: None}
    frontier = [start]
    while frontier:
        nxt = []
        for node in frontier:
            if node == goal:
                out: list[str] = []
                step: str | None = node
                while step is not None:
                    out.append(step)
                    step = previous[step]
                return out[::-1]
            for n in sorted(up.get(node, ())):
                if n not in previous:
                    previous[n] = node
                    nxt.append(n)
        frontier = nxt
    return None
