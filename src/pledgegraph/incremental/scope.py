"""What a re-check must cover (its scope): the data files changed in git (or named), the records touched in
them, and the records that depend on those.

Ids and references are global, so loading always reads every file (it takes milliseconds); what a
scope narrows is the SHACL stage, which then runs only on the nodes of the affected records:
- touched: records added, removed or edited (in git mode compared record by record with the
  revision, so editing one record of a long file does not re-check the others), or every record
  of the named files;
- their dependents: records that refer to a touched or removed record;
- and what touched records refer to, for shapes that look across records.
A change to the ontology or the shapes affects everything, so it turns a scope into a full run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

from pledgegraph.errors import UnusableInput, relative
from pledgegraph.incremental.gitrepo import changed_files, git, repo_path, toplevel
from pledgegraph.model import schema
from pledgegraph.model.graph import Built, locate
from pledgegraph.model.records import Dataset
from pledgegraph.stages.load import data_files, references
from pledgegraph.stages.yamlread import MDict, MList, Plain, YamlError, decode, read


@dataclass
class Scope:
    """Which records to re-check; `records(dataset)` resolves it once the data is loaded."""

    label: str
    files: set[str] = field(default_factory=set)  # data files (named as in problems): all their records
    touched: set[str] = field(default_factory=set)  # ids added or edited
    removed: set[str] = field(default_factory=set)  # ids no longer defined where they were
    full: bool = False  # the ontology or shapes changed

    def records(self, dataset: Dataset) -> set[str] | None:
        """Ids to validate (None: all of them)."""
        if self.full:
            return None
        touched = {r.id for r in dataset.records if r.position.file in self.files} | self.touched | self.removed
        refs = {r.id: references(r) for r in dataset.records}
        referrers: dict[str, set[str]] = {}
        for rid, targets in refs.items():
            for target in targets:
                referrers.setdefault(target, set()).add(rid)
        return affected(touched, referrers, refs, dataset.by_id.keys())


def affected(
    touched: set[str], referrers: Mapping[str, set[str]], references: Mapping[str, set[str]], known: Iterable[str]
) -> set[str]:
    """The records a re-check covers: those touched (added, edited or removed), those that refer to
    them, and those they refer to (for shapes that look across records) — of the `known` ones.

    `referrers`: id -> ids of the records referring to it; `references`: id -> ids it refers to
    (for a touched record, before and after its edit)."""
    out = set(touched)
    out |= {i for t in touched for i in referrers.get(t, ())}
    out |= {r for t in touched for r in references.get(t, ())}
    return out & set(known)


def focus_nodes(built: Built, record_ids: set[str]) -> set[str]:
    """Every node of the graph that one of these records produced."""
    subjects = {line[1 : line.index(">")] for line in built.lines}  # N-Triples lines: no term parsing
    return {iri for iri in subjects if locate(built, iri)[0] in record_ids}


def for_paths(paths: list[Path], data_dir: Path) -> Scope:
    """Every record in the given data files."""
    known = {p.resolve(): p for p in data_files(data_dir)}
    files = set()
    for path in paths:
        found = known.get(path.resolve())
        if found is None:
            raise UnusableInput(f"{path} is not a data file under {data_dir}")
        files.add(relative(found, data_dir))
    return Scope(f"{len(files)} file(s)", files)


def since(rev: str, data_dir: Path, watched: Iterable[Path] = ()) -> Scope:
    """Records touched in the working tree (staged or not, and untracked files) since `rev`.

    `watched` are the ontology and shape files: if any of them changed, the scope is everything.
    """
    top = toplevel(data_dir)
    git(["rev-parse", "--verify", "--quiet", rev + "^{commit}"], top, f"'{rev}' is not a git revision")
    rel = repo_path(data_dir, top)
    scope = Scope(f"changes since {rev}")
    # the ontology or shapes may live elsewhere, not versioned with this data
    watched_names = {repo_path(p, top): p for p in watched if p.resolve().is_relative_to(top.resolve())}
    changed = changed_files(rev, top, [rel, *watched_names])
    touched_rules = [watched_names[n] for n in changed if n in watched_names]
    if touched_rules:
        scope.full = True
        scope.label += f" (including {touched_rules[0].name}: everything re-checked)"
        return scope
    for name in changed:
        path = top / name
        if path.suffix not in (".yaml", ".yml"):
            continue
        old = records_in(git(["show", f"{rev}:{name}"], top, binary=True, missing_ok=True))
        new = records_in(path.read_bytes() if path.is_file() else None)
        if old is None or new is None:  # unreadable: every record of the file counts as touched
            scope.files.add(relative(path, data_dir))
            continue
        scope.touched |= {rid for rid in new if old.get(rid) != new[rid]}
        scope.removed |= old.keys() - new.keys()
    return scope


def records_in(data: bytes | None) -> dict[str, Any] | None:
    """Record id -> its content (positions left out) in one file's bytes; {} when the file is absent."""
    if data is None:
        return {}
    try:
        tree = read(decode(data))
    except YamlError:
        return None
    out: dict[str, Any] = {}
    if not isinstance(tree, MDict):
        return out
    for key, value in tree.items():
        kind = schema.KIND_BY_KEY.get(key)
        if kind is None:
            continue
        if kind.name in schema.SINGLETON_KINDS:
            out[kind.name] = _content(value)
        elif isinstance(value, MList):
            for item in value:
                if isinstance(item, MDict) and isinstance(item.get("id"), str):
                    out[str(item["id"])] = _content(item)
    return out


def _content(value: Any) -> Any:
    """A YAML value without positions, keeping whether a scalar was quoted."""
    if isinstance(value, MDict):
        return tuple((k, _content(v)) for k, v in value.items())
    if isinstance(value, MList):
        return ("[", *(_content(v) for v in value))
    if isinstance(value, Plain):
        return ("plain", str(value))
    return value
