"""`pledgegraph diff`: what an update changes, record by record and field by field, with sources;
and with --rdf the exact triples removed and added."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from click.testing import CliRunner

from conftest import ROOT
from pledgegraph.cli import main
from pledgegraph.incremental.diff import between

SRC = "wikipedia-is-caucasus-province"
OTHER = "dailybeast-isis-comes-to-russia"
OLD = f"""\
persons:
  - id: diff-person
    names:
      - {{name: Diff Person, lang: en, sources: [{SRC}]}}
    sources: [{SRC}]
  - id: diff-gone
    names:
      - {{name: Gone, lang: en, sources: [{SRC}]}}
    sources: [{SRC}]
organizations:
  - id: diff-org
    kind: [militant-group]
    names:
      - {{name: Diff Org, lang: en, sources: [{SRC}]}}
    founded: "2007"
    sources: [{SRC}]
"""
NEW = (
    OLD.replace(
        f"  - id: diff-gone\n    names:\n      - {{name: Gone, lang: en, sources: [{SRC}]}}\n    sources: [{SRC}]\n", ""
    )
    .replace(
        '    founded: "2007"\n',
        f'    founded:\n      - {{value: "2007", sources: [{SRC}]}}\n      - {{value: "2008", sources: [{OTHER}]}}\n',
    )
    .replace(
        f"  - id: diff-person\n    names:\n      - {{name: Diff Person, lang: en, sources: [{SRC}]}}\n    "
        f"sources: [{SRC}]\n",
        f"  - id: diff-person\n    names:\n      - {{name: Diff Person, lang: en, sources: [{SRC}]}}\n"
        f"    origin: chechnya\n    sources: [{SRC}]\n"
        f"  - id: diff-new\n    names:\n      - {{name: New, lang: en, sources: [{OTHER}]}}\n    sources: [{OTHER}]\n",
    )
)


def data_dir(path, text):
    shutil.copytree(ROOT / "data", path)
    (path / "zz-diff.yaml").write_text(text)
    return path


@pytest.fixture
def versions(tmp_path):
    return data_dir(tmp_path / "old" / "data", OLD), data_dir(tmp_path / "new" / "data", NEW)


def run(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_records_added_removed_and_changed_per_field(project, versions):
    old, new = versions
    d = between(str(old), str(new), new, ROOT / "ontology" / "vocabularies.ttl", "https://w3id.org/pledgegraph/")
    assert [(r.status, r.kind, r.id) for r in d.records] == [
        ("changed", "organization", "diff-org"),
        ("removed", "person", "diff-gone"),
        ("added", "person", "diff-new"),
        ("changed", "person", "diff-person"),
    ]
    org = d.records[0]
    (founded,) = org.fields
    assert (founded.field, founded.old, founded.new) == (
        "founded",
        ["2007"],
        [f"2007 [sources: {SRC}]", f"2008 [sources: {OTHER}]"],
    )
    (origin,) = d.records[3].fields
    assert (origin.field, origin.old, origin.new) == ("origin", [], ["chechnya"])
    assert d.records[3].sources == [SRC] and d.counts == {"added": 1, "removed": 1, "changed": 2}


def test_text_output_reads_like_a_review(project, versions):
    old, new = versions
    lines = run("diff", str(old), str(new)).output.splitlines()
    assert lines[:2] == [f"--- {old}", f"+++ {new}"]
    assert "~ person diff-person  (data/zz-diff.yaml:2:5)" in lines
    assert "    origin: (none) → chechnya" in lines and f"    (record sources: {SRC})" in lines
    assert "- person diff-gone  (was at data/zz-diff.yaml:6:5)" in lines
    assert f"      + 2008 [sources: {OTHER}]" in lines and "      - 2007" in lines
    assert lines[-1] == "1 added, 1 removed, 2 changed"


def test_rdf_diff_turns_the_old_graph_into_the_new(project, versions, tmp_path):
    old, new = versions
    out = run("diff", "--rdf", str(old), str(new)).output.splitlines()
    removed = [line[2:] for line in out if line.startswith("- ")]
    added = [line[2:] for line in out if line.startswith("+ ")]
    assert removed == sorted(removed) and added == sorted(added) and removed and added
    assert out[-1] == f"{len(removed)} triple(s) removed, {len(added)} added"
    graphs = {}
    for name, path in (("old", old), ("new", new)):
        run("build", "--data", str(path), "--out", str(tmp_path / name))
        graphs[name] = set((tmp_path / name / "asserted.nt").read_text().splitlines())
    assert (graphs["old"] - set(removed)) | set(added) == graphs["new"]
    assert not set(removed) & graphs["new"] and not set(added) & graphs["old"]


def test_json_output(project, versions):
    old, new = versions
    doc = json.loads(run("diff", "--format", "json", str(old), str(new)).output)
    assert doc["summary"] == {"added": 1, "removed": 1, "changed": 2}
    person = next(r for r in doc["records"] if r["id"] == "diff-person")
    assert person == {
        "status": "changed",
        "kind": "person",
        "id": "diff-person",
        "file": "data/zz-diff.yaml",
        "line": 2,
        "sources": [SRC],
        "fields": [{"field": "origin", "old": [], "new": ["chechnya"]}],
    }


def git(repo, *args):
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args], cwd=repo, check=True, capture_output=True
    )


def test_git_revisions_and_the_working_tree(project, tmp_path):
    repo = tmp_path / "repo"
    data = data_dir(repo / "data", OLD)
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "one")
    (data / "zz-diff.yaml").write_text(NEW)
    git(repo, "commit", "-qam", "two")
    by_rev = run("diff", "--data", str(data), "HEAD~1", "HEAD").output.splitlines()
    assert by_rev[:2] == ["--- HEAD~1:data", "+++ HEAD:data"] and by_rev[-1] == "1 added, 1 removed, 2 changed"
    (data / "zz-diff.yaml").write_text(OLD)
    uncommitted = run("diff", "--data", str(data), "HEAD").output.splitlines()
    assert (
        uncommitted[-1] == "1 added, 1 removed, 2 changed"
        and "+ person diff-gone  (data/zz-diff.yaml:6:5)" in uncommitted
    )


def test_unknown_revision_exits_2(project):
    result = CliRunner().invoke(main, ["diff", "no-such-revision"])
    assert result.exit_code == 2 and "neither a data directory nor a git revision" in result.output
