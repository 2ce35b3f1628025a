"""Fast re-checks: `validate --changed / --since / PATHS` check only the records touched and what
depends on them, with exactly the results a full run gives for those records."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from bad_inputs import EXTRA_SHAPES
from conftest import ROOT
from pledgegraph.cli import main
from pledgegraph.incremental import scope as changes
from pledgegraph.layout import Settings
from pledgegraph.pipeline import check

SRC = "wikipedia-is-caucasus-province"


def name(text: str, preferred: bool = False) -> str:
    return f"      - {{name: {text}, lang: en, {'preferred: true, ' if preferred else ''}sources: [{SRC}]}}\n"


def person(pid: str, *names: str) -> str:
    return f"  - id: {pid}\n    names:\n{''.join(names)}    sources: [{SRC}]\n"


BASE = (
    "persons:\n"
    + person("inc-person", name("Inc Person"))
    +
    # a violation already committed: a full run reports it, a re-check of other records does not
    person("inc-old-trouble", name("One", True), name("Two", True))
    + "organizations:\n"
    f"  - id: inc-org\n    kind: [militant-group]\n    names:\n{name('Inc Org')}    sources: [{SRC}]\n"
    f"  - id: inc-bystander\n    kind: [militant-group]\n    names:\n{name('Bystander')}    sources: [{SRC}]\n"
    "tenures:\n"
    f"  - id: inc-tenure\n    person: inc-person\n    organization: inc-org\n    role: leader\n"
    f"    sources: [{{source: {SRC}, quote: leader}}]\n"
    "pledges:\n"
    f"  - id: inc-pledge\n    pledgers: [inc-bystander]\n    to: inc-org\n    sources: "
    f"[{{source: {SRC}, quote: pledged}}]\n"
)


def git(repo, *args):
    subprocess.run(
        ["git", "-c", "user.name=test", "-c", "user.email=test@example.org", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )


@pytest.fixture
def repo(tmp_path):
    return make_repo(tmp_path)


def make_repo(tmp_path):
    """A git repository holding the shipped data plus test records, with shapes that also warn."""
    repo = tmp_path / "repo"
    for name_ in ("data", "ontology", "shapes"):
        shutil.copytree(ROOT / name_, repo / name_)
    (repo / "shapes" / "zz-extra.ttl").write_text(EXTRA_SHAPES)
    (repo / "data" / "zz-inc.yaml").write_text(BASE)
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    return repo


def settings(repo) -> Settings:
    return Settings(data_dir=repo / "data", ontology_dir=repo / "ontology", shapes_dir=repo / "shapes")


def edit(repo, old: str, new: str) -> None:
    path = repo / "data" / "zz-inc.yaml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_a_re_check_gives_a_full_runs_results_for_the_records_it_checks(repo):
    edit(repo, name("Inc Person"), name("Inc Person", True) + name("Other", True))
    scope = changes.since("HEAD", repo / "data", [])
    assert scope.touched == {"inc-person"}
    scoped = check(settings(repo), scope=scope)
    full = check(settings(repo))
    # inc-person, what refers to it (inc-tenure) and what it refers to (its source)
    assert scoped.checked == {"inc-person", "inc-tenure", SRC}
    assert scoped.report.problems == [p for p in full.report.problems if p.entity in scoped.checked]
    assert any(p.entity == "inc-person" and p.severity == "error" for p in scoped.report.problems)
    assert any(p.entity == "inc-old-trouble" for p in full.report.problems)
    assert {p.entity for p in full.report.problems} - scoped.checked  # the full run had more to say


def test_dependents_in_both_directions_are_checked(repo):
    edit(repo, "inc-org\n    kind: [militant-group]", "inc-org\n    kind: [militant-group, umbrella]")
    scoped = check(settings(repo), scope=changes.since("HEAD", repo / "data", []))
    assert scoped.checked == {"inc-org", "inc-tenure", "inc-pledge", SRC}


def test_cli_changed_reports_counts_and_exit_code(project, repo):
    runner = CliRunner()
    clean = runner.invoke(main, ["validate", "--changed", "--data", str(repo / "data")])
    assert clean.exit_code == 0 and clean.output.splitlines()[-1].startswith("0 error(s), 0 warning(s) in 0 of ")
    edit(repo, name("Inc Person"), name("Inc Person", True) + name("Other", True))
    result = runner.invoke(
        main,
        ["validate", "--changed", "--data", str(repo / "data")],
        env={"PLEDGEGRAPH_SHAPES_DIR": str(repo / "shapes")},
    )
    assert result.exit_code == 1
    assert "inc-person: has two preferred names" in result.output and "inc-old-trouble" not in result.output
    assert result.output.splitlines()[-1].startswith("1 error(s), ")
    assert " in 3 of " in result.output.splitlines()[-1] and "(changes since HEAD)" in result.output


def test_untracked_files_are_changes(repo):
    (repo / "data" / "zz-new.yaml").write_text("persons:\n" + person("inc-new", name("New")))
    scoped = check(settings(repo), scope=changes.since("HEAD", repo / "data", []))
    assert scoped.checked == {"inc-new", SRC}


def test_a_removed_record_that_others_refer_to_is_an_error(project, repo):
    edit(
        repo,
        f"  - id: inc-bystander\n    kind: [militant-group]\n    names:\n{name('Bystander')}    sources: [{SRC}]\n",
        "",
    )
    result = CliRunner().invoke(main, ["validate", "--changed", "--data", str(repo / "data")])
    assert result.exit_code == 1
    assert "inc-pledge: unknown person/organization 'inc-bystander' in 'pledgers'" in result.output


def test_since_a_revision(repo):
    edit(repo, "role: leader", "role: commander")
    git(repo, "commit", "-qam", "second")
    assert changes.since("HEAD", repo / "data", []).touched == set()
    assert changes.since("HEAD~1", repo / "data", []).touched == {"inc-tenure"}


def test_changed_shapes_mean_a_full_run(repo):
    with (repo / "shapes" / "zz-extra.ttl").open("a") as f:
        f.write("\n# changed\n")
    s = settings(repo)
    scope = changes.since("HEAD", repo / "data", s.ontology_files + s.shape_files)
    assert scope.full and check(s, scope=scope).checked is None


def test_named_files_check_all_their_records(project, repo):
    result = check(settings(repo), scope=changes.for_paths([repo / "data" / "zz-inc.yaml"], repo / "data"))
    assert {"inc-person", "inc-old-trouble", "inc-org", "inc-bystander", "inc-tenure", "inc-pledge"} <= result.checked
    out = CliRunner().invoke(
        main,
        ["validate", "--data", str(repo / "data"), str(repo / "data" / "zz-inc.yaml")],
        env={"PLEDGEGRAPH_SHAPES_DIR": str(repo / "shapes")},
    )
    assert out.exit_code == 1 and "inc-old-trouble" in out.output


@pytest.mark.parametrize(
    "args, message",
    [
        (["--since", "no-such-rev"], "'no-such-rev' is not a git revision"),
        (["README.md"], "is not a data file under"),
        (["--changed", "--since", "HEAD"], "not more than one"),
    ],
)
def test_unusable_scopes_exit_2(project, repo, args, message):
    result = CliRunner().invoke(main, ["validate", "--data", str(repo / "data"), *args])
    assert result.exit_code == 2 and message in result.output


def test_data_outside_git_exits_2(project, data_copy):
    result = CliRunner().invoke(main, ["validate", "--changed", "--data", str(data_copy)])
    assert result.exit_code == 2 and "is not in a git repository" in result.output


@pytest.mark.parametrize("config", [".pre-commit-config.yaml", ".pre-commit-hooks.yaml"])
def test_pre_commit_hooks_run_real_commands(project, config):
    import yaml

    doc = yaml.safe_load((ROOT / config).read_text())
    hooks = doc if isinstance(doc, list) else [h for r in doc["repos"] for h in r["hooks"]]
    ours = [h for h in hooks if h["id"].startswith("pledgegraph-")]
    assert {h["id"] for h in ours} == {"pledgegraph-validate", "pledgegraph-schema"}
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    for hook in ours:
        args = hook["entry"].split()[1:]
        assert hook["entry"].split()[0].endswith("pledgegraph") and hook["pass_filenames"] is False
        assert CliRunner().invoke(main, [*args, "--help"]).exit_code == 0, hook["entry"]
        assert len([f for f in tracked if re.search(hook["files"], f)]) >= (3 if "schema" in hook["id"] else 10)
    # the developers' hooks (lint, format, types) run the tools installed beside this Python
    for hook in hooks:
        if hook not in ours:
            assert hook["language"] == "system" and hook["entry"].startswith(".venv/bin/"), hook
            assert (Path(sys.executable).parent / hook["entry"].split()[0].rsplit("/", 1)[1]).is_file(), hook
