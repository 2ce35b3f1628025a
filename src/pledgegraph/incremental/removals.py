"""Records that disappeared: published IRIs must not vanish without someone deciding so.

A record removed from the data takes its IRI out of the next build, and whoever linked to it is
left with a dead link; the format's answer is `deprecated: true` (with `replaced_by:`), which keeps
the IRI. So `validate` names every record that is in git HEAD (or, outside git, in the last build)
but no longer in the data, and `build` refuses to replace a build that has records the new one
lacks unless told (`--allow-removals`).
"""

from __future__ import annotations

from pathlib import Path

from pledgegraph.errors import WARNING, DataInvalid, Position, Problem, UnusableInput, relative
from pledgegraph.incremental.gitrepo import git, repo_path, toplevel
from pledgegraph.incremental.scope import records_in
from pledgegraph.model import iris
from pledgegraph.model.records import Dataset

RULE = "removed-record"
HINT = (
    "a published id is deprecated, not deleted: restore the record with `deprecated: true` "
    "(and `replaced_by:`), or confirm the removal"
)


def in_git_head(data_dir: Path) -> dict[str, str] | None:
    """Record id -> data file (as named in problems) at git HEAD; None outside git or without a commit."""
    try:
        top = toplevel(data_dir)
        if git(["rev-parse", "--verify", "--quiet", "HEAD^{commit}"], top, missing_ok=True) is None:
            return None
        rel = repo_path(data_dir, top)
        names = git(["ls-tree", "-r", "-z", "--name-only", "HEAD", "--", rel], top).split("\0")
    except UnusableInput:
        return None
    out: dict[str, str] = {}
    for name in sorted(n for n in names if n.endswith((".yaml", ".yml"))):
        for rid in records_in(git(["show", f"HEAD:{name}"], top, binary=True)) or {}:
            out.setdefault(rid, relative(top / name, data_dir))
    return out


def in_build(out_dir: Path, base: str) -> dict[str, str] | None:
    """Record id -> kind of every record in a build's asserted graph; None when there is no build. Read a line
    at a time (the whole file and its lines took 0.8 GB at 1M, on top of the new build's own peak), each
    subject looked at once (the file is sorted, so a subject's lines are together)."""
    path = out_dir / "asserted.nt"
    if not path.is_file():
        return None
    found = {}
    last = None
    with open(path, encoding="utf-8", errors="replace") as lines:
        for line in lines:
            subject = line[1 : line.find(">")] if line.startswith("<") else ""
            if subject == last:
                continue
            last = subject
            if iris.is_entity(subject, base):
                found[iris.segment_and_slug(subject, base)[1]] = iris.kind_of(subject, base).name
    return found


def since_head_or_build(dataset: Dataset, data_dir: Path, out_dir: Path, base: str) -> tuple[str, list[Problem]]:
    """(what was compared, a warning per record that disappeared) for `validate`."""
    label, before = head_or_build(data_dir, out_dir, base)
    return label, removed(label, before, dataset.by_id.keys())


def head_or_build(data_dir: Path, out_dir: Path, base: str) -> tuple[str, dict[str, Position]]:
    """(what to compare with, where each of its record ids was): git HEAD, else the last build, else nothing."""
    head = in_git_head(data_dir)
    if head is not None:
        return "git HEAD", {rid: Position(file) for rid, file in head.items()}
    built = in_build(out_dir, base)
    if built is None:
        return "", {}
    return f"the last build ({out_dir})", {rid: Position(str(out_dir)) for rid in built}


def removed(label: str, before: dict[str, Position], ids) -> list[Problem]:
    """A warning per record id of `before` that is not among `ids`."""
    return [
        Problem(
            before[rid],
            f"record '{rid}' is in {label} but no longer in the data",
            severity=WARNING,
            entity=rid,
            rule=RULE,
            hint=HINT,
        )
        for rid in sorted(before.keys() - set(ids))
    ]


def refuse_lost_records(dataset: Dataset, out_dir: Path, base: str) -> None:
    """Raise DataInvalid when the build in `out_dir` has records this data lacks."""
    built = in_build(out_dir, base) or {}
    gone = sorted(built.keys() - dataset.by_id.keys())
    if gone:
        where = Position(str(out_dir))
        raise DataInvalid(
            [
                Problem(
                    where,
                    f"{built[rid]} '{rid}' is in the current build but not in the data",
                    entity=rid,
                    rule=RULE,
                    hint=HINT + " with `build --allow-removals`",
                )
                for rid in gone
            ]
        )
