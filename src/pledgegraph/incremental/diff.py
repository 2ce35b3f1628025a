"""What an update changes, as curators think of it: records added, removed and changed, field by
field with the sources they rest on; and, for a graph-level review, the triples added and removed.

Either side is a data directory or a git revision (its data directory is extracted to a temporary
directory with `git show`). Both sides are loaded with today's loader and vocabulary, so a diff
also proves both sides are readable.
"""

from __future__ import annotations

import contextlib
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from pledgegraph.errors import Position, UnusableInput
from pledgegraph.incremental.gitrepo import git, repo_path, toplevel
from pledgegraph.model import schema
from pledgegraph.model.dates import DateSpec
from pledgegraph.model.graph import Built
from pledgegraph.model.records import Claimed, Dataset, Item, Record

KIND_ORDER = {name: i for i, name in enumerate(schema.KINDS)}


@dataclass
class FieldChange:
    """One field of one record: its values before and after, each as the curator would write it."""

    field: str
    old: list[str]
    new: list[str]

    @property
    def removed(self) -> list[str]:
        return [v for v in self.old if v not in self.new]

    @property
    def added(self) -> list[str]:
        return [v for v in self.new if v not in self.old]

    def as_dict(self) -> dict:
        return {"field": self.field, "old": self.old, "new": self.new}


@dataclass
class RecordChange:
    status: str  # added | removed | changed
    kind: str
    id: str
    position: Position  # in the new data (in the old data for a removed record)
    sources: list[str]  # the source ids the record rests on
    fields: list[FieldChange] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "status": self.status,
            "kind": self.kind,
            "id": self.id,
            "file": self.position.file,
            "line": self.position.line,
            "sources": self.sources,
            "fields": [f.as_dict() for f in self.fields],
        }


def compare(old: Dataset, new: Dataset) -> list[RecordChange]:
    """Record-level differences, in format order of kinds, then by id."""
    out = []
    for rid in sorted(
        old.by_id.keys() | new.by_id.keys(), key=lambda i: (KIND_ORDER[(new.by_id.get(i) or old.by_id[i]).kind], i)
    ):
        before, after = old.by_id.get(rid), new.by_id.get(rid)
        if before is not None and after is not None and before.kind != after.kind:
            out.append(_whole("removed", before))
            out.append(_whole("added", after))
        elif before is None:
            assert after is not None  # the record is in one of the two
            out.append(_whole("added", after))
        elif after is None:
            out.append(_whole("removed", before))
        else:
            changes = [
                FieldChange(f.name, _values(before, f), _values(after, f)) for f in schema.KINDS[after.kind].fields
            ]
            changes = [c for c in changes if c.old != c.new]
            if changes:
                out.append(RecordChange("changed", after.kind, rid, after.position, _sources(after), changes))
    return out


def _whole(status: str, r: Record) -> RecordChange:
    values = [(f.name, _values(r, f)) for f in schema.KINDS[r.kind].fields]
    changes = [FieldChange(name, [], v) if status == "added" else FieldChange(name, v, []) for name, v in values if v]
    return RecordChange(status, r.kind, r.id, r.position, _sources(r), changes)


def _sources(r: Record) -> list[str]:
    return [c.data["source"] for c in r.data.get("sources") or []]


def _values(r: Record, f: schema.Field) -> list[str]:
    value = r.data.get(f.name)
    if value is None:
        return []
    if f.type == "citations":
        return [_text(c) for c in value]
    return [_text(v) for v in value] if isinstance(value, list) else [_text(value)]


def _text(v: Any) -> str:
    """A value in YAML flow style, close to what the curator wrote."""
    if isinstance(v, Claimed):
        own = f" [sources: {', '.join(_text(c) for c in v.sources)}]" if v.sources else ""
        return _text(v.value) + own
    if isinstance(v, Item):
        if v.kind == "citation" and set(v.data) == {"source"}:
            return v.data["source"]
        return "{" + ", ".join(f"{k}: {_text(x)}" for k, x in v.data.items()) + "}"
    if isinstance(v, list):
        return "[" + ", ".join(_text(x) for x in v) + "]"
    if isinstance(v, DateSpec):
        return _date_text(v)
    if isinstance(v, bool):
        return "true" if v else "false"
    text = str(v)
    return f'"{text}"' if any(c in text for c in ',:[]{}#"') or text != text.strip() else text


def _date_text(d: DateSpec) -> str:
    stated = f", as_stated: {_text(d.as_stated)}" if d.as_stated else ""
    if d.qualifier == "between":
        assert d.earliest and d.latest
        return "{" + f"from: {d.earliest.isoformat()}, to: {d.latest.isoformat()}" + stated + "}"
    assert d.point is not None  # every other qualifier states one date
    if d.qualifier == "on":
        return d.point.text if not stated else "{on: " + d.point.text + stated + "}"
    if d.qualifier == "approximate":
        return "{on: " + d.point.text + ", approximate: true" + stated + "}"
    if d.qualifier in ("by", "after"):
        return "{" + f"{d.qualifier}: {d.point.text}" + stated + "}"
    return "{" + f"in: {d.point.text}, part: {d.qualifier}" + stated + "}"


def triples(old: Built, new: Built) -> tuple[list[str], list[str]]:
    """(removed, added) asserted triples as N-Triples lines, each list sorted (inferences left out:
    they follow from these and the ontology)."""
    before = {f"{t} ." for t in old.triples}
    after = {f"{t} ." for t in new.triples}
    return sorted(before - after), sorted(after - before)


@contextlib.contextmanager
def data_at(spec: str, data_dir: Path) -> Iterator[tuple[str, Path]]:
    """(label, directory) for a data directory or a git revision of `data_dir`'s repository."""
    path = Path(spec)
    if path.is_dir():
        yield str(path), path
        return
    top = toplevel(data_dir)
    git(
        ["rev-parse", "--verify", "--quiet", spec + "^{commit}"],
        top,
        f"'{spec}' is neither a data directory nor a git revision",
    )
    rel = repo_path(data_dir, top)
    names = [
        n
        for n in git(["ls-tree", "-r", "-z", "--name-only", spec, "--", rel], top).split("\0")
        if n.endswith((".yaml", ".yml"))
    ]
    if not names:
        raise UnusableInput(f"revision {spec} has no data files in {rel}/")
    with tempfile.TemporaryDirectory(prefix="pledgegraph-diff-") as tmp:
        root = Path(tmp) / data_dir.resolve().name
        prefix = "" if rel == "." else rel.rstrip("/") + "/"
        for name in names:
            target = root / name[len(prefix) :]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(git(["show", f"{spec}:{name}"], top, binary=True))
        yield f"{spec}:{rel}", root


@dataclass
class Diff:
    old: str
    new: str
    records: list[RecordChange]
    removed_triples: list[str] = field(default_factory=list)
    added_triples: list[str] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        return {s: sum(r.status == s for r in self.records) for s in ("added", "removed", "changed")}

    def as_dict(self) -> dict:
        return {
            "old": self.old,
            "new": self.new,
            "summary": self.counts,
            "records": [r.as_dict() for r in self.records],
            "triples": {"removed": self.removed_triples, "added": self.added_triples},
        }

    def text(self) -> str:
        """The review a curator reads: one block per record, `old → new` per field."""
        lines = [f"--- {self.old}", f"+++ {self.new}"]
        mark = {"added": "+", "removed": "-", "changed": "~"}
        for r in self.records:
            where = f"was at {r.position}" if r.status == "removed" else str(r.position)
            lines.append(f"{mark[r.status]} {r.kind} {r.id}  ({where})")
            for f in r.fields:
                values = f.old or f.new
                if r.status != "changed" and len(values) == 1:
                    lines.append(f"    {f.field}: {values[0]}")
                elif r.status != "changed":
                    lines.append(f"    {f.field}:")
                    lines += [f"      - {v}" for v in values]
                elif len(f.old) <= 1 and len(f.new) <= 1:
                    lines.append(
                        f"    {f.field}: {f.old[0] if f.old else '(none)'} → {f.new[0] if f.new else '(none)'}"
                    )
                else:
                    lines.append(f"    {f.field}:")
                    lines += [f"      - {v}" for v in f.removed] + [f"      + {v}" for v in f.added]
            if r.status == "changed" and r.sources and all(f.field != "sources" for f in r.fields):
                lines.append(f"    (record sources: {', '.join(r.sources)})")
        c = self.counts
        lines.append(f"{c['added']} added, {c['removed']} removed, {c['changed']} changed")
        return "\n".join(lines)

    def triples_text(self) -> str:
        """Removed then added triples, sorted N-Triples, each line prefixed `- ` or `+ `."""
        lines = [f"- {t}" for t in self.removed_triples] + [f"+ {t}" for t in self.added_triples]
        lines.append(f"{len(self.removed_triples)} triple(s) removed, {len(self.added_triples)} added")
        return "\n".join(lines)


def between(
    old_spec: str, new_spec: str | None, data_dir: Path, vocabulary_file: Path, base: str, with_triples: bool = False
) -> Diff:
    """Compare two versions of the data (directories or git revisions; new defaults to `data_dir`)."""
    from pledgegraph.stages.build import build
    from pledgegraph.stages.load import load, load_vocabulary

    vocabulary = load_vocabulary(vocabulary_file)
    with (
        data_at(old_spec, data_dir) as (old_label, old_dir),
        data_at(new_spec or str(data_dir), data_dir) as (new_label, new_dir),
    ):
        old, new = load(old_dir, vocabulary), load(new_dir, vocabulary)
    result = Diff(old_label, new_label, compare(old, new))
    if with_triples:
        result.removed_triples, result.added_triples = triples(build(old, base), build(new, base))
    return result
