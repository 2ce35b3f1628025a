"""SHACL validation: results name the YAML file, line and record that caused them."""

from __future__ import annotations

from conftest import settings_for
from pledgegraph.pipeline import check


def test_shipped_data_conforms(shipped):
    errors = [p.format() for p in shipped.report.problems if p.severity == "error"]
    assert errors == []


def test_shape_violation_is_traced_to_the_record(data_copy):
    path = data_copy / "zz-test.yaml"
    path.write_text(
        "persons:\n"
        "  - id: two-preferred\n"
        "    names:\n"
        "      - {name: One, lang: en, preferred: true, sources: [wikipedia-is-caucasus-province]}\n"
        "      - {name: Two, lang: en, preferred: true, sources: [wikipedia-is-caucasus-province]}\n"
        "    sources: [wikipedia-is-caucasus-province]\n"
    )
    report = check(settings_for(data_copy)).report
    assert not report.conforms
    (problem,) = [p for p in report.problems if p.entity == "two-preferred" and p.severity == "error"]
    # the `names:` field of the record, named as the curator writes it
    assert problem.position.file.endswith("zz-test.yaml") and problem.position.line == 4
    assert "preferred" in problem.message and problem.rule == "person.names"


def test_the_reference_engine_and_reasoner_are_one_flag_away(project, tmp_path):
    """`--engine pyshacl` and `--reasoner owlrl` give the report our engine and reasoner give, on
    small data with a violation (the references are there for anyone who wants to check us)."""
    from click.testing import CliRunner

    from pledgegraph.cli import main

    data = tmp_path / "data"
    data.mkdir()
    (data / "sources.yaml").write_text("sources:\n  - id: s1\n    title: A source\n    kind: news-article\n")
    (data / "persons.yaml").write_text(
        "persons:\n  - id: two-preferred\n    names:\n"
        "      - {name: One, lang: en, preferred: true, sources: [{source: s1, quote: One}]}\n"
        "      - {name: Two, lang: en, preferred: true, sources: [{source: s1, quote: Two}]}\n"
        "    sources: [{source: s1, quote: One}]\n"
    )
    runs = {
        flags: CliRunner().invoke(main, ["validate", "--data", str(data), *flags])
        for flags in ((), ("--engine", "pyshacl"), ("--reasoner", "owlrl"), ("--engine", "compiled"))
    }
    ours = runs[()]
    assert ours.exit_code == 1 and "error: two-preferred: has two preferred names" in ours.stdout
    assert "pySHACL" not in ours.stderr
    assert all(r.stdout == ours.stdout and r.exit_code == 1 for r in runs.values())
