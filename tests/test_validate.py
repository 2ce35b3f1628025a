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
        "    sources: [wikipedia-is-caucasus-province]\n")
    report = check(settings_for(data_copy)).report
    assert not report.conforms
    (problem,) = [p for p in report.problems if p.entity == "two-preferred" and p.severity == "error"]
    # the `names:` field of the record, named as the curator writes it
    assert problem.position.file.endswith("zz-test.yaml") and problem.position.line == 4
    assert "preferred" in problem.message and problem.rule == "person.names"
