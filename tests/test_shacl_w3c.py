"""The W3C SHACL test suite (core + SHACL-SPARQL, 120 tests): the engine answers every test it does
not refuse correctly, never reports "conforms" where the suite expects results, and the validation
path that ships (engine, pySHACL for refused shapes) passes all but the allowed tests below."""

from __future__ import annotations

from collections import Counter

import pytest

import w3c_shacl

CASES = w3c_shacl.cases()

# Tests the shipped path may fail, and why. Keep it short: each entry is a limit of pySHACL, which
# checks what our engine refuses.
ALLOWED = {
    # `$shapesGraph` in a SPARQL constraint: the engine refuses it, pySHACL raises NotImplementedError
    # (an optional feature of SHACL-SPARQL; `validate` then stops with an internal error, never "conforms").
    "sparql/pre-binding/shapesGraph-001": "crashed",
}


def test_the_suite_is_all_there():
    assert len(CASES) == 120
    assert Counter(c.name.split("/")[0] for c in CASES) == {"core": 98, "sparql": 22}


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_engine_alone_answers_right_or_refuses(case):
    outcome, detail = w3c_shacl.run(case, "engine")
    assert outcome in ("passed", "refused"), (outcome, detail, sorted(case.results))


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_shipped_path_passes(case):
    outcome, detail = w3c_shacl.run(case, "shipped")
    assert outcome == ALLOWED.get(case.name, "passed"), (outcome, detail, sorted(case.results))


def test_engine_answers_most_of_the_suite_itself():
    """What the README claims: the engine alone answers 74 of 120 tests, all correctly."""
    outcomes = Counter(w3c_shacl.run(case, "engine")[0] for case in CASES)
    assert outcomes == {"passed": 74, "refused": 46}
