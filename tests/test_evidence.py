"""Evidence: quotes are required where facts matter, and every quote is found in its source's text."""

from __future__ import annotations

import json
import shutil
import textwrap

import pytest
import rdflib
from click.testing import CliRunner

from conftest import ROOT, SEEDS
from pledgegraph.cli import main
from pledgegraph.delivery.export import serialize
from pledgegraph.errors import DataInvalid
from pledgegraph.model import schema
from pledgegraph.stages.evidence import check_quotes, normalize
from pledgegraph.stages.load import load, load_vocabulary

VOCAB = load_vocabulary(ROOT / "ontology" / "vocabularies.ttl")
OA = rdflib.Namespace("http://www.w3.org/ns/oa#")
PG = rdflib.Namespace("https://w3id.org/pledgegraph/ontology#")
BASE = "https://w3id.org/pledgegraph/"
WIKI = "wikipedia-is-caucasus-province"
AGAIN = "The Islamic State group later claimed responsibility for the attack."  # three times in the article


def writable_copy(folder, target) -> None:
    """A copy the test may change: the seeds may be read-only, and copytree keeps that (without root,
    nothing could then be added to or removed from the copy)."""
    shutil.copytree(folder, target)
    target.chmod(0o755)


def statement(quote: str, source: str = WIKI, extra: str = "") -> str:
    """A statement record citing `source` with `quote` (line 7 of the file is the quote)."""
    return (
        textwrap.dedent(f"""\
        statements:
          - id: test-statement
            kind: claim
            summary: A test statement.
            sources:
              - source: {source}
                quote: {json.dumps(quote, ensure_ascii=False)}
        """)
        + extra
    )


def write(data_dir, text: str, name: str = "zz-test.yaml"):
    (data_dir / name).write_text(text, encoding="utf-8")
    return load(data_dir, VOCAB)


def test_every_shipped_quote_is_in_its_seed_text(shipped):
    evidence = check_quotes(shipped.dataset, SEEDS)
    assert evidence.problems == []
    assert evidence.checked == sum(evidence.quotes.values()) > 0
    assert evidence.texts == sum("archived_as" in s.data for s in shipped.dataset.of_kind("source"))
    for kind in (k for k in schema.KINDS.values() if k.quotes_required):
        assert evidence.facts_quoted[kind.name] == evidence.facts[kind.name], kind.name


def test_tampered_quote_is_reported_with_the_closest_passage(data_copy):
    dataset = write(
        data_copy, statement("The group claimed responsibility for its first attack, on a Russian army base")
    )
    (problem,) = check_quotes(dataset, SEEDS).problems
    assert (problem.position.file.endswith("zz-test.yaml"), problem.position.line) == (True, 7)
    assert problem.message == f"{WIKI}: quote not found" and problem.entity == "test-statement"
    assert "closest passage" in problem.hint and "on a Russian mi" in problem.hint


def test_tampered_shipped_quote_is_reported_at_its_own_line(shipped, data_copy):
    pledge = shipped.dataset.of_kind("pledge")[0]
    cite = next(c for c in pledge.data["sources"] if "quote" in c.data)
    at = cite.where("quote")
    path = data_copy / at.file.rsplit("/", 1)[-1]
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    head = cite.data["quote"][:12]
    assert head in lines[at.line - 1]
    lines[at.line - 1] = lines[at.line - 1].replace(head, head.swapcase(), 1)
    path.write_text("".join(lines), encoding="utf-8")
    (problem,) = check_quotes(load(data_copy, VOCAB), SEEDS).problems
    assert problem.position.file.endswith("data/" + path.name) and problem.position.line == at.line
    assert problem.entity == pledge.id and problem.message == f"{cite.data['source']}: quote not found"


def test_quote_cited_to_the_wrong_source_names_the_right_one(data_copy):
    quote = "IS announced the group's formation on 23 June 2015 and appointed Rustam Asildarov as its leader."
    dataset = write(data_copy, statement(quote, source="carnegie-expanding-its-reach"))
    (problem,) = check_quotes(dataset, SEEDS).problems
    assert problem.position.line == 7 and problem.message == "carnegie-expanding-its-reach: quote not found"
    assert f"the quote is in {WIKI}" in problem.hint


def test_ambiguous_quote_needs_a_prefix_or_suffix(data_copy):
    dataset = write(data_copy, statement(AGAIN))
    (problem,) = check_quotes(dataset, SEEDS).problems
    assert problem.position.line == 7 and problem.message == f"{WIKI}: quote occurs 3 times; add prefix/suffix"
    assert "reportedly found in his car." in problem.hint  # shows what precedes each occurrence


@pytest.mark.parametrize(
    "anchor, found",
    [
        ("prefix: reportedly found in his car.", True),
        ('suffix: "[22] On 2 July 2019"', True),
        ('prefix: reportedly found in his car.\n        suffix: "[22]"', True),
        ('prefix: a knife and a hand grenade.\n        suffix: "[22]"', False),  # each true of a different one
        ("prefix: not in the text", False),
    ],
)
def test_prefix_and_suffix_must_sit_right_around_the_quote(data_copy, anchor, found):
    dataset = write(data_copy, statement(AGAIN) + "        " + anchor + "\n")
    problems = check_quotes(dataset, SEEDS).problems
    assert problems == [] if found else "never with this prefix/suffix" in problems[0].message


def test_quote_marks_dashes_ellipses_and_whitespace_are_normalised(data_copy, tmp_path):
    archive = tmp_path / "archive"
    writable_copy(SEEDS, archive)
    (archive / "test-doc.txt").write_text("He said: “We stand\n  together—all of us…\u00a0to the end,” and left.\n")
    extra = textwrap.dedent("""\
        sources:
          - id: test-doc
            title: A test document
        """)
    text = (
        statement(
            "We congratulate the soldiers of Islamic State in the Caucasus... we congratulate them",
            source="islamic-state-of-russia",
        )
        + extra
        + textwrap.dedent("""\
        persons:
          - id: test-person
            names:
              - name: Test Person
                lang: en
                sources:
                  - source: test-doc
                    quote: "\\"We stand together - all of us ... to the end,\\" and left."
            sources: [test-doc]
        """)
    )
    dataset = write(data_copy, text)
    evidence = check_quotes(dataset, archive)
    assert [p for p in evidence.problems if p.severity == "error"] == []
    assert normalize("„Yes“ – «no» ‘maybe’\u2026 ok") == normalize('"Yes"-"no" \'maybe\'... ok')


def test_source_without_an_archived_text_is_named_in_the_summary_line(data_copy, tmp_path):
    archive = tmp_path / "archive"
    writable_copy(SEEDS, archive)
    (archive / "002_59ffc7d72bd00a25.txt").unlink()
    evidence = check_quotes(load(data_copy, VOCAB), archive)
    assert evidence.problems == []
    missing = evidence.unchecked[WIKI]
    assert missing > 0 and evidence.checked == sum(evidence.quotes.values()) - missing
    assert evidence.summary_line().endswith(f"; {missing} quotes not checked: no archived text for {WIKI} ({missing})")


def test_archives_are_several_folders_and_symlinked_texts_are_followed(data_copy, tmp_path):
    first, second, elsewhere = tmp_path / "first", tmp_path / "second", tmp_path / "elsewhere"
    for folder in (first, second, elsewhere):
        folder.mkdir()
    texts = sorted(SEEDS.glob("*.txt"))
    for text in texts[:2]:
        shutil.copy(text, first / text.name)
    for text in texts[2:]:
        shutil.copy(text, elsewhere / text.name)
        (second / text.name).symlink_to(elsewhere / text.name)
    evidence = check_quotes(load(data_copy, VOCAB), [first, second])
    assert evidence.problems == [] and not evidence.unchecked
    assert evidence.checked == sum(evidence.quotes.values()) and evidence.texts == len(texts)


def test_plain_validate_checks_quotes_with_the_archives_of_checks_yaml(project, data_copy):
    (data_copy / "zz-test.yaml").write_text(statement("words the article never uses"))
    result = CliRunner().invoke(main, ["validate", "--data", str(data_copy)])
    assert result.exit_code == 1 and "zz-test.yaml:7:" in result.output and "quote not found" in result.output
    (data_copy / "checks.yaml").write_text("archives: [nowhere]\n")
    result = CliRunner().invoke(main, ["validate", "--data", str(data_copy)])
    assert result.exit_code == 0, result.output
    assert "quotes not checked: no archived text for" in result.output.splitlines()[-1]


PLEDGE = """\
pledges:
  - id: test-pledge
    pledgers: [caucasus-emirate]
    to: islamic-state
    sources:
      - {WIKI}
"""


def test_pledge_without_quote_is_an_error_statement_without_quote_a_warning(data_copy):
    (data_copy / "zz-test.yaml").write_text(PLEDGE.replace("{WIKI}", WIKI))
    with pytest.raises(DataInvalid) as info:
        load(data_copy, VOCAB)
    (error,) = [p for p in info.value.problems if p.severity == "error"]
    assert (error.position.file.endswith("zz-test.yaml"), error.position.line, error.position.column) == (True, 6, 9)
    assert error.entity == "test-pledge" and error.rule == "pledge.sources.quote"
    assert "has no quote; pledges need one" in error.message and "quote:" in error.hint

    dataset = write(data_copy, statement("x").replace("- source:", "- ").replace('        quote: "x"\n', ""))
    (warning,) = [p for p in dataset.warnings if p.entity == "test-statement"]
    assert warning.severity == "warning" and warning.position.line == 6


def test_published_quote_is_a_web_annotation_with_a_text_quote_selector(shipped):
    g = rdflib.Graph().parse(data=serialize(shipped.built.triples, "turtle"), format="turtle")
    pledge = shipped.dataset.of_kind("pledge")[0]
    cite = next(c for c in pledge.data["sources"] if "quote" in c.data)
    fact = rdflib.URIRef(f"{BASE}id/pledge/{pledge.id}")
    (annotation,) = [
        a
        for a in g.subjects(OA.hasBody, fact)
        if g.value(g.value(a, OA.hasTarget), OA.hasSource) == rdflib.URIRef(f"{BASE}id/source/{cite.data['source']}")
        and str(g.value(g.value(g.value(a, OA.hasTarget), OA.hasSelector), OA.exact)) == cite.data["quote"]
    ]
    assert (None, PG.quote, annotation) in g and g.value(annotation, OA.motivatedBy) == OA.identifying
    selector = g.value(g.value(annotation, OA.hasTarget), OA.hasSelector)
    assert (selector, rdflib.RDF.type, OA.TextQuoteSelector) in g
    assert str(g.value(selector, OA.exact)) == cite.data["quote"]


def test_evidence_command_exit_codes_and_summary(project, data_copy):
    runner = CliRunner()
    ok = runner.invoke(main, ["evidence", "--archive", str(SEEDS), "--format", "json"])
    assert ok.exit_code == 0, ok.output
    summary = json.loads(ok.output)["evidence"]
    assert summary["failed"] == 0 and summary["checked"] == summary["quotes"] > 0
    (data_copy / "zz-test.yaml").write_text(statement("words the article never uses"))
    bad = runner.invoke(main, ["evidence", "--archive", str(SEEDS), "--data", str(data_copy)])
    assert bad.exit_code == 1 and "zz-test.yaml:7:" in bad.output and "quote not found" in bad.output
    assert runner.invoke(main, ["validate", "--archive", str(SEEDS), "--data", str(data_copy)]).exit_code == 1
    assert runner.invoke(main, ["evidence", "--archive", str(data_copy / "missing")]).exit_code == 2
