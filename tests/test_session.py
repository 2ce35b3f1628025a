"""`validate --watch`: after each edit, the in-memory session reports for the records it re-checks
exactly what a full run over the edited data reports for them, and its graph (asserted + inferred,
in the store) is the graph a full build makes of the edited data."""

from __future__ import annotations

import pyoxigraph as ox
import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from pledgegraph.incremental.session import Session
from pledgegraph.pipeline import check
from test_incremental import BASE, SRC, edit, make_repo, name, person, repo, settings  # noqa: F401  (repo: a fixture)


def store_triples(store) -> set[str]:
    """Without the ontology's blank nodes (OWL lists), which each parse labels afresh."""
    return {str(q.triple) for q in store if not any(isinstance(t, ox.BlankNode) for t in (q.subject, q.object))}


def fresh_store_triples(result, s) -> set[str]:
    """The store a full run (`result`, from `check(s)`) validates."""
    from pledgegraph.stages.validate import data_graph

    return store_triples(data_graph(result.built.union(result.inferred), s.ontology_files).store)


def started(s) -> Session:
    """A session that has checked everything, as `validate --watch` and the language server start."""
    session = Session(s)
    session.check_all()
    return session


def recheck(session: Session, s):
    update = session.update(session.changed_files())
    fresh = check(s)  # one full run, for both its report and its graph
    full = fresh.report.problems
    assert update.report.problems == [p for p in full if p.entity in update.checked]
    assert session.problems == full  # and what it did not re-check is still right
    assert store_triples(session.store) == fresh_store_triples(fresh, s)
    return update


def test_start_up_reports_what_a_full_run_reports(repo):
    s = settings(repo)
    assert Session(s).check_all().problems == check(s).report.problems


@pytest.mark.parametrize(
    "old, new, checked, errors",
    [
        # a violation: two preferred names (no shape of the tenure referring to the person reads names)
        (name("Inc Person"), name("Inc Person", True) + name("Other", True), {"inc-person"}, 1),
        # a fix: the committed violation goes away
        (name("One", True) + name("Two", True), name("One", True) + name("Two"), {"inc-old-trouble"}, 0),
        # a change that matters to records referring to this one (their shapes read its types)
        (
            "inc-org\n    kind: [militant-group]",
            "inc-org\n    kind: [militant-group, umbrella]",
            {"inc-org", "inc-tenure", "inc-pledge", SRC},
            0,
        ),
    ],
)
def test_an_edit_is_re_checked_as_a_full_run_would(repo, old, new, checked, errors):
    s = settings(repo)
    session = started(s)
    edit(repo, old, new)
    update = recheck(session, s)
    assert update.checked == checked
    assert sum(p.severity == "error" for p in update.report.problems) == errors


def test_files_come_and_go_and_bad_edits_wait_until_fixed(repo):
    s = settings(repo)
    session = started(s)
    new_file = repo / "data" / "zz-new.yaml"
    new_file.write_text("persons:\n" + person("inc-new", name("New")))
    assert recheck(session, s).checked == {"inc-new"}  # no shape of the source it cites reads the citations

    new_file.write_text("persons:\n  - id: inc-new\n    names: [oops\n")  # not YAML
    update = session.update(session.changed_files())
    assert [p.rule for p in update.report.problems] == ["yaml"] and not update.checked
    new_file.write_text(
        "persons:\n"
        + person("inc-new", name("New"))
        + person("inc-new2", name("Two"))
        + "pledges:\n  - id: inc-p2\n    pledgers: [nobody]\n    to: inc-org\n"
        f"    sources: [{{source: {SRC}, quote: pledged}}]\n"
    )
    update = session.update(session.changed_files())
    assert [p.rule for p in update.report.problems] == ["pledge.pledgers"]  # unknown 'nobody'

    new_file.unlink()
    update = recheck(session, s)
    assert update.checked == set()  # nothing referred to it


def test_removing_a_record_others_refer_to_is_an_error(repo):
    s = settings(repo)
    session = Session(s)
    edit(
        repo,
        f"  - id: inc-bystander\n    kind: [militant-group]\n    names:\n{name('Bystander')}    sources: [{SRC}]\n",
        "",
    )
    update = session.update(session.changed_files())
    assert [p.message for p in update.report.problems] == ["unknown person/organization 'inc-bystander' in 'pledgers'"]


def test_cli_watch_reports_at_start_then_each_saved_change(repo):
    import os
    import signal
    import subprocess
    import sys
    import time

    env = {**os.environ, "PLEDGEGRAPH_SHAPES_DIR": str(repo / "shapes")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "pledgegraph", "validate", "--watch", "--data", str(repo / "data")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        # Ctrl-C as a terminal sends it, whatever started the suite: a background job of a non-interactive shell
        # inherits SIGINT ignored, and so would the watcher (Python installs no handler for an ignored signal)
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        lines = []
        while not any(" in " not in line and line.endswith("warning(s)") for line in lines):
            lines.append(proc.stdout.readline().rstrip("\n"))
        assert any("inc-old-trouble" in line for line in lines)  # the full report
        time.sleep(0.1)
        edit(repo, name("Inc Person"), name("Inc Person", True) + name("Other", True))
        update = [proc.stdout.readline().rstrip("\n")]
        while "in 1 of " not in update[-1]:  # the person (no shape of the tenure referring to it reads names)
            update.append(proc.stdout.readline().rstrip("\n"))
        assert "zz-inc.yaml changed: re-checked in" in update[0]
        assert any("inc-person: has two preferred names" in line for line in update)
        assert update[-1].startswith("1 error(s), ")
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0 and "stopped" in err


def assert_state_is_a_fresh_loads(session: Session, s) -> None:
    """Records and the tracing maps (positions for messages) as a fresh load and build make them."""
    from pledgegraph.stages.build import build
    from pledgegraph.stages.load import load, load_vocabulary

    fresh = load(s.data_dir, load_vocabulary(s.vocabulary_file))
    assert [(r.id, r.position) for name in sorted(session.records) for r in session.records[name]] == [
        (r.id, r.position) for r in fresh.records
    ]
    built = build(fresh, s.base)
    assert session.graph.origins == built.origins
    assert session.graph.field_positions == built.field_positions
    assert session.graph.node_rules == built.node_rules


@pytest.mark.parametrize(
    "old, new",
    [
        (name("Inc Person"), name("Inc Person") + name("Second name")),  # a line more, mid-file
        (name("One", True) + name("Two", True), name("One", True)),  # a line less
        ("role: leader", "role: commander"),  # in place
        ("tenures:\n", "tenures:  # a comment on a kind's key\n"),  # the file's structure: read whole
        (
            "organizations:\n",
            "organizations:\n"
            + person("inc-early", name("Early"))
            .replace("  - id", "  - id", 1)
            .replace("names:", "kind: [militant-group]\n    names:"),
        ),  # a record first in its kind
        (
            BASE,
            BASE + "  - id: inc-pledge-2\n    pledgers: [inc-person]\n    to: inc-org\n"
            f"    sources: [{{source: {SRC}, quote: pledged}}]\n",
        ),  # appended at the end
    ],
)
def test_edits_anywhere_in_a_file_keep_positions_right(repo, old, new):
    s = settings(repo)
    session = started(s)
    edit(repo, old, new)
    recheck(session, s)
    assert_state_is_a_fresh_loads(session, s)
    edit(repo, new, old)  # and back
    recheck(session, s)
    assert_state_is_a_fresh_loads(session, s)


@pytest.fixture(scope="module")
def fuzzed_session(tmp_path_factory) -> Session:
    return Session(settings(make_repo(tmp_path_factory.mktemp("fuzz"))))


@hypothesis_settings(max_examples=15, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 60), st.sampled_from(["", "# a note", "    # an indented note"])),
        min_size=1,
        max_size=4,
    )
)
def test_lines_added_and_removed_anywhere_move_the_positions_below(fuzzed_session, insertions):
    """Each example edits the file and puts it back: one session goes through all of them, as an
    editor's session goes through many edits (a fresh load is the oracle after every one)."""
    session = fuzzed_session
    s = session.settings
    path = s.data_dir / "zz-inc.yaml"
    original = path.read_text()
    lines = original.split("\n")
    for at, text in insertions:
        lines.insert(min(at, len(lines) - 1), text)
    for text in ("\n".join(lines), original):
        path.write_text(text)
        update = session.update(session.changed_files())
        assert not any(p.severity == "error" and p.entity != "inc-old-trouble" for p in update.report.problems)
        assert_state_is_a_fresh_loads(session, s)


def test_a_record_changing_kind_rebuilds_what_refers_to_it_elsewhere(repo):
    (repo / "data" / "zz-other.yaml").write_text(
        "pledges:\n  - id: inc-pledge-elsewhere\n    pledgers: [inc-bystander]\n    to: inc-org\n"
        f"    sources: [{{source: {SRC}, quote: pledged}}]\n"
    )
    s = settings(repo)
    session = started(s)
    bystander = (
        f"  - id: inc-bystander\n    kind: [militant-group]\n    names:\n{name('Bystander')}    sources: [{SRC}]\n"
    )
    edit(repo, bystander, "")
    edit(repo, "organizations:\n", person("inc-bystander", name("Bystander")) + "organizations:\n")
    recheck(session, s)  # the pledges now point at <…/person/inc-bystander>, in both files
    assert_state_is_a_fresh_loads(session, s)


def test_an_edit_to_a_branch_moves_the_derived_links_and_the_direct_layer(repo):
    """Subordination links, their chains and the direct layer are derived across records: an edit
    to one branch record changes them as a full build of the edited data would."""
    s = settings(repo)
    session = started(s)
    path = repo / "data" / "branches.yaml"
    text = path.read_text()
    old = (
        "branch: is-caucasus-province-sector-ingushetia\n    parent: is-caucasus-province\n"
        '    from: {by: "2024-04", as_stated: In April 2024}'
    )
    assert old in text
    path.write_text(text.replace(old, old.replace("is-caucasus-province\n    from", "islamic-state\n    from")))
    recheck(session, s)
    under = {line for line in store_triples(session.store) if "sector-ingushetia/under/" in line}
    assert under and not any("/under/is-caucasus-province/" in line for line in under)


REFUSED_SHAPE = """@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix pg: <https://w3id.org/pledgegraph/ontology#> .
@prefix pgs: <https://w3id.org/pledgegraph/shapes#> .
pgs:NotAPersonShape a sh:NodeShape ; sh:targetClass pg:Person ; sh:message "is a person" ;
    sh:not [ sh:class pg:Person ] .
"""


def test_watch_reports_what_validate_reports_with_a_shape_the_engine_refuses(monkeypatch, tmp_path):
    """The engine refuses sh:not: both `validate` and `validate --watch` have pySHACL check that
    shape, say so, and print the same report."""
    import functools
    import shutil

    from click.testing import CliRunner

    from conftest import ROOT
    from pledgegraph.cli import main
    from pledgegraph.incremental import session

    shapes = tmp_path / "shapes"
    shutil.copytree(ROOT / "shapes", shapes)
    (shapes / "zz-refused.ttl").write_text(REFUSED_SHAPE)
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("PLEDGEGRAPH_SHAPES_DIR", str(shapes))
    monkeypatch.setattr(session, "watch", functools.partial(session.watch, max_reports=1))
    full = CliRunner().invoke(main, ["validate"])
    watched = CliRunner().invoke(main, ["validate", "--watch"])
    assert "pySHACL" not in full.stdout and full.exit_code == 1
    # the same problems and counts; `validate`'s summary line also counts acknowledged warnings and
    # checked quotes, which --watch does not (yet) check
    *full_lines, full_summary = full.stdout.splitlines()
    *watched_lines, watched_summary = watched.stdout.splitlines()
    assert full_lines == watched_lines and watched.exit_code == 0
    assert full_summary.startswith(watched_summary.split(";")[0])
    assert full.stdout.count(": is a person [NotAPersonShape]") == 19, full.stdout
    note = (
        "note: 1 shape(s) checked by pySHACL: <https://w3id.org/pledgegraph/shapes#NotAPersonShape>: sh:not "
        "(in <https://w3id.org/pledgegraph/shapes#NotAPersonShape>)"
    )
    assert note in full.stderr.splitlines() and note in watched.stderr.splitlines()


def test_derived_facts_are_made_again_only_when_an_edit_can_change_them(repo, monkeypatch):
    """A person's names do not change what is derived across records (kept as it was); a reported
    death does (the direct layer says who is reported dead): the store equals a fresh build's after both."""
    s = settings(repo)
    session = started(s)
    derived = []
    monkeypatch.setattr(session, "_derive", lambda by_id, real=session._derive: derived.append(1) or real(by_id))
    edit(repo, name("Inc Person"), name("Inc Person") + name("Another Name"))
    recheck(session, s)
    assert not derived
    edit(repo, "  - id: inc-person\n", f"  - id: inc-person\n    deaths:\n      - {{date: 2015, sources: [{SRC}]}}\n")
    recheck(session, s)
    assert derived
    assert any(
        "inc-person" in line and "reportedDead" in line and "true" in line for line in store_triples(session.store)
    )


def test_an_impossible_fact_typed_is_refused_as_a_full_load_refuses_it(repo):
    """The sanity rules run on the edited records: a group pledging to itself stops the re-check, and
    the session then reports what `validate` does (every problem the loader found)."""
    from pledgegraph.errors import DataInvalid

    s = settings(repo)
    session = Session(s)
    session.check_all()
    edit(repo, "pledgers: [inc-bystander]", "pledgers: [inc-org]")
    update = session.update(session.changed_files())
    with pytest.raises(DataInvalid) as refused:
        check(s)
    assert [p.message.split(" (")[0] for p in update.report.problems] == ["pledges allegiance to itself"]
    assert session.refused == refused.value.problems


def test_the_same_mistakes_give_the_same_report_through_validate_and_watch(repo):
    """The checks beside the shapes (sanity rules, quotes, removed records) run on a re-check too."""
    from conftest import SEEDS
    from pledgegraph.errors import DataInvalid
    from test_incremental import git

    checks = repo / "data" / "checks.yaml"  # the archived texts, found from the copy too
    checks.write_text(checks.read_text().replace("  - ../../shared/seeds", f"  - {SEEDS}"))
    git(repo, "commit", "-qam", "archives")
    s = settings(repo)
    session = started(s)

    edit(repo, "    pledgers: [inc-bystander]\n    to: inc-org\n", "    pledgers: [inc-org]\n    to: inc-org\n")
    update = session.update(session.changed_files())
    with pytest.raises(DataInvalid) as full:
        check(s)
    errors = [p for p in full.value.problems if p.severity == "error"]
    assert [p.rule for p in errors] == ["pledge.to"]  # a sanity rule: a group pledging to itself
    assert update.report.problems == errors

    edit(repo, "    pledgers: [inc-org]\n", "    pledgers: [inc-bystander]\n")
    edit(repo, "quote: pledged}", "quote: words no archived text holds}")
    edit(repo, person("inc-old-trouble", name("One", True), name("Two", True)), "")
    update = session.update(session.changed_files())
    full = check(s).report.problems
    assert update.report.problems == [p for p in full if p.entity in update.checked]
    assert session.problems == full  # and what it did not re-check is still right
    found = {(p.entity, p.rule) for p in update.report.problems}
    assert ("inc-old-trouble", "removed-record") in found
    assert any(entity == "inc-pledge" and rule.startswith("evidence") for entity, rule in found), found


def test_records_referring_to_an_edited_one_are_re_checked_when_their_shapes_read_what_changed(repo):
    """A name changed, added or removed is read by no shape of the records referring to the organization:
    only it is re-checked. Its founding date is read by the pledges made to it (a pledge is not dated
    before the organization's founding): they are re-checked with it. Each time, the whole report is
    what a full `validate` of the edited data reports."""
    s = settings(repo)
    edit(repo, "    to: inc-org\n", '    to: inc-org\n    date: {on: "2014-03"}\n')
    session = started(s)
    edit(repo, name("Inc Org"), name("Inc Org Renamed"))
    assert recheck(session, s).checked == {"inc-org"}
    edit(repo, name("Inc Org Renamed"), name("Inc Org Renamed") + name("Another name"))
    assert recheck(session, s).checked == {"inc-org"}

    founded = f'    founded: [{{value: "2015-06", sources: [{SRC}]}}]\n'
    org = "  - id: inc-org\n    kind: [militant-group]\n"
    edit(repo, org, org + founded)
    update = recheck(session, s)
    assert {"inc-org", "inc-pledge", "inc-tenure"} <= update.checked
    assert ("inc-pledge", "PledgeAfterFoundingShape") in {(p.entity, p.rule) for p in update.report.problems}
    edit(repo, founded, founded.replace("2015-06", "2013-06"))  # in place: the pledge is right again
    update = recheck(session, s)
    assert "inc-pledge" in update.checked
    assert ("inc-pledge", "PledgeAfterFoundingShape") not in {(p.entity, p.rule) for p in update.report.problems}


def test_a_quote_edited_in_the_record_that_ended_a_branch_re_checks_the_branch(repo):
    """A branch's end is dated from the quotes of the record that ended it (`audit.date`)."""
    s = settings(repo)
    session = started(s)
    pledges = repo / "data" / "pledges.yaml"
    pledges.write_text(pledges.read_text().replace("A statement posted [to Twitter] on June 21 read:", "read:"))
    update = recheck(session, s)
    assert "vilayat-nokhchicho-branch-of-caucasus-emirate" in update.checked
    assert any(
        p.rule == "audit.date" and p.entity == "vilayat-nokhchicho-branch-of-caucasus-emirate"
        for p in update.report.problems
    )
