"""Published IRIs of nested nodes (names, citations, claims, dates, nested items) come from what they
say, not from where they stand in a list: inserting, reordering and removing items of the shipped
data changes no other node's IRI, and `diff --rdf` shows only the triples of what was added or removed."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys

import pytest

from conftest import ROOT, copy_data
from pledgegraph.errors import DataInvalid
from pledgegraph.model.iris import ENTITY_PATH
from pledgegraph.model.vocab import DEFAULT_BASE
from pledgegraph.stages.build import build
from pledgegraph.stages.load import load, load_vocabulary

VOCAB = load_vocabulary(ROOT / "ontology" / "vocabularies.ttl")
ORG = f"<{DEFAULT_BASE}id/org/islamic-state>"
_IRI = re.compile(r"<([^>]*)>")

# The shipped islamic-state record, edited as a curator would (each snippet must still be in the data).
NAME_IS = """\
      - name: IS
        lang: en
        kind: abbreviation
"""
INSERTED = """\
      - name: Islamic State (IS)
        lang: en
        kind: common-name
        sources:
          - source: wikipedia-is-caucasus-province
            quote: a branch of the militant Islamist group Islamic State (IS)
"""
FIRST_NAME_CITATIONS = """\
          - source: wikipedia-is-caucasus-province
            quote: a branch of the militant Islamist group Islamic State (IS)
          - source: rferl-kremlin-envoy-1500
            quote: fighting alongside the Islamic State (IS) group in Syria and Iraq
      - name: IS
"""
DESCRIPTIONS = (
    """\
      - value: a militant Islamist group
        sources:
          - source: wikipedia-is-caucasus-province
            quote: a branch of the militant Islamist group Islamic State (IS)
""",
    """\
      - value: a terrorist organization
        sources:
          - source: carnegie-expanding-its-reach
            quote: the terrorist organization known as the Islamic State in Iraq and Syria (ISIS)
""",
)
REMOVED = """\
      - name: ISIL
        lang: en
        kind: abbreviation
        sources:
          - source: islamic-state-of-russia
            quote: the Islamic State (ISIS/ISIL) inches closer to Russia’s North Caucasus region
"""
# Two sides of a disagreement (nested items), the first with two citations of one source.
SIDES = (
    """\
      - by: [sergei-melikov]
        says: The insurgency""",
    """\
      - by: [joanna-paraszczuk]
        says: That the Caucasus Emirate""",
    """\
    sources:
      - source: rferl-kremlin-envoy-1500
        quote: While Melikov insisted""",
)
SAME_SOURCE_CITATIONS = (
    "          - source: rferl-kremlin-envoy-1500\n"
    '            quote: According to Melikov, the "bandit underground" -- the term used by the Russian government'
    " and security services to refer to the Islamist insurgency -- is not currently active.\n"
    "            said_by: sergei-melikov\n"
)


def _swap(text: str, first: str, second: str) -> str:
    """`first` and `second`, adjacent in `text`, in the other order."""
    assert first + second in text, "the shipped data changed: update this test's snippets"
    return text.replace(first + second, second + first, 1)


def _edit(data):
    orgs = data / "organizations.yaml"
    text = orgs.read_text(encoding="utf-8")
    assert text.count(NAME_IS) == 1 and text.count(REMOVED) == 1
    text = text.replace(NAME_IS, INSERTED + NAME_IS, 1)  # a name in the middle of `names:`
    citations = FIRST_NAME_CITATIONS.split("          - source: rferl")
    text = _swap(text, citations[0], "          - source: rferl" + citations[1][: -len("      - name: IS\n")])
    text = _swap(text, *DESCRIPTIONS)  # two claimed values of one field
    text = text.replace(REMOVED, "", 1)
    orgs.write_text(text, encoding="utf-8")

    disagreements = data / "disagreements.yaml"
    text = disagreements.read_text(encoding="utf-8")
    start = text.index(SIDES[0])
    middle, end = text.index(SIDES[1], start), text.index(SIDES[2], start)
    first, second = text[start:middle], text[middle:end]
    cited = first.index(SAME_SOURCE_CITATIONS)  # the side's first citation of a source cited twice
    first = first[:cited] + first[cited + len(SAME_SOURCE_CITATIONS) :] + SAME_SOURCE_CITATIONS
    disagreements.write_text(text[:start] + second + first + text[end:], encoding="utf-8")


def _nodes(ntriples: set[str]) -> set[str]:
    """Every nested node: an IRI below a record's."""
    return {
        iri
        for line in ntriples
        for iri in _IRI.findall(line)
        if iri.startswith(DEFAULT_BASE + "id/") and iri.count("/") > DEFAULT_BASE.count("/") + 2
    }


@pytest.fixture(scope="module")
def versions(tmp_path_factory):
    old = copy_data(tmp_path_factory.mktemp("old") / "data")
    new = copy_data(tmp_path_factory.mktemp("new") / "data")
    _edit(new)
    return old, new


def _triples(data) -> set[str]:
    return set(build(load(data, VOCAB)).lines)


def test_inserting_reordering_and_removing_items_changes_no_other_iri(versions):
    old, new = (_triples(d) for d in versions)
    added_nodes, removed_nodes = _nodes(new) - _nodes(old), _nodes(old) - _nodes(new)
    inserted = {n for n in added_nodes if re.search("/name/en-islamic-state-is-[0-9a-f]{8}$", n)}
    gone = {n for n in removed_nodes if re.search("/name/en-isil-[0-9a-f]{8}$", n)}
    assert len(inserted) == 1 and len(gone) == 1, (added_nodes, removed_nodes)
    (inserted_name,), (gone_name,) = inserted, gone
    # only the inserted name and its citation nodes are new; only the removed one's are gone
    assert all(n.startswith(inserted_name) for n in added_nodes), sorted(added_nodes)
    assert all(n.startswith(gone_name) for n in removed_nodes), sorted(removed_nodes)
    # and every changed triple is about one of them (or is the record's label the name gave it)
    for line in new - old:
        assert inserted_name in line or (line.startswith(ORG) and '"Islamic State (IS)"@en' in line), line
    for line in old - new:
        assert gone_name in line or (line.startswith(ORG) and '"ISIL"@en' in line), line


def test_diff_rdf_reports_only_the_added_and_removed_items(versions):
    old, new = versions
    out = subprocess.run(
        [sys.executable, "-m", "pledgegraph", "diff", str(old), str(new), "--rdf"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr
    changed = [line for line in out.stdout.splitlines() if line.startswith(("+ <", "- <"))]
    assert changed
    for line in changed:
        if line.startswith("+"):
            assert "/name/en-islamic-state-is-" in line or '"Islamic State (IS)"@en' in line, line
        else:
            assert "/name/en-isil-" in line or '"ISIL"@en' in line, line


def test_every_nested_iri_is_a_path_the_servers_route(versions):
    nodes = _nodes(_triples(versions[0]))
    assert len(nodes) > 1000
    bad = [n for n in nodes if not ENTITY_PATH.fullmatch("/" + n[len(DEFAULT_BASE) :])]
    assert not bad, bad[:5]


def test_an_item_listed_twice_is_refused_at_its_line(data_copy):
    orgs = data_copy / "organizations.yaml"
    text = orgs.read_text(encoding="utf-8")
    line = text[: text.index(REMOVED)].count("\n") + 1
    orgs.write_text(text.replace(REMOVED, REMOVED + REMOVED, 1), encoding="utf-8")
    with pytest.raises(DataInvalid) as caught:
        load(data_copy, VOCAB)
    (problem,) = [p for p in caught.value.problems if "repeats" in p.message]
    assert problem.position.line == line + REMOVED.count("\n")
    assert problem.entity == "islamic-state" and "the name 'ISIL'" in problem.message and problem.hint


def _sha(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:8]


def test_the_published_forms(versions):
    """The scheme of docs/curators.md, computed here independently of iris.py."""
    dataset = load(versions[0], VOCAB)
    nodes = _nodes(set(build(dataset).lines))
    pledge = dataset.by_id["caucasus-velayats-pledge-2015-06"]
    citations = {
        f"pledge/{pledge.id}/cite/{c.data['source']}/"
        + _sha(*(c.data.get(k, "") for k in ("quote", "prefix", "suffix", "location")))
        for c in pledge.data["sources"]
    }
    expected = citations | {
        "org/is-caucasus-province/name/en-islamic-state-caucasus-province-"
        + _sha("en", "Islamic State – Caucasus Province"),
        f"org/is-caucasus-province/name/ru-{_sha('ru', 'Вилаят Кавказ Исламского государства')}",  # no Latin letters
        "org/caucasus-emirate/claim/founded/2007",  # a claimed date: the claim and the date's own node
        "org/caucasus-emirate/founded/2007",
        "org/vilayat-dagestan/claim/regions/dagestan",  # a claimed reference: the id as written
        "pledge/caucasus-velayats-pledge-2015-06/date",
    }
    assert len(citations) >= 3
    assert {DEFAULT_BASE + "id/" + e for e in expected} <= nodes, sorted(
        e for e in expected if DEFAULT_BASE + "id/" + e not in nodes
    )
