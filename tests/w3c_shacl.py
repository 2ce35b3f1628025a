"""The W3C SHACL test suite (core + SHACL-SPARQL) run three ways: our engine alone, the validation
path that ships (the engine, pySHACL for what it refuses) and pySHACL alone.

A test passes when the report has the suite's `sh:conforms` and the same set of results compared by
focus node, path, constraint component, value and severity (blank nodes compared as blank nodes,
language tags case-insensitively). The suite is `fixtures/w3c-shacl/` (see its SOURCE.md).

    .venv/bin/python tests/w3c_shacl.py      # the table the README quotes, and every test not passed
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from pledgegraph.stages import shacl
from pledgegraph.stages.validate import DataGraph, Validator

SUITE = Path(__file__).parent / "fixtures" / "w3c-shacl" / "tests"
MF = "http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#"
SHT = "http://www.w3.org/ns/shacl-test#"
SH = shacl.SH
MODES = ("engine", "shipped", "pyshacl")
OUTCOMES = ("passed", "wrong answer", "refused", "crashed", "false conforms")


@dataclass(frozen=True)
class Case:
    name: str  # path of the test file in the suite, without .ttl
    data: Path
    shapes: Path
    conforms: bool | None  # None: the validator must fail (sht:Failure), e.g. on a query the spec forbids
    results: frozenset


def _parse(path: Path) -> list:
    return list(ox.parse(path=str(path), format=ox.RdfFormat.TURTLE, base_iri=path.resolve().as_uri()))


def _key(focus: str, path: str, component: str, value: str, severity: str) -> tuple:
    """A result as compared: blank node labels dropped, language tags lower-cased."""

    def norm(text: str) -> str:
        text = re.sub(r"_:[A-Za-z0-9_\-.]+", "_:b", text)
        return re.sub(r'"@([A-Za-z0-9-]+)$', lambda m: '"@' + m.group(1).lower(), text)

    return norm(focus), norm(path), component, norm(value), severity


def cases(manifest: Path = SUITE / "manifest.ttl") -> list[Case]:
    """Every sht:Validate test the manifest includes, in file order."""
    g = shacl.ShapesGraph(_parse(manifest))
    root = ox.NamedNode(manifest.resolve().as_uri())
    out = []
    for include in g.objects(root, MF + "include"):
        out += cases(Path(include.value.removeprefix("file://")))
    for entries in g.objects(root, MF + "entries"):
        for entry in g.items(entries):
            if ox.NamedNode(SHT + "Validate") in g.objects(entry, shacl.RDF + "type"):
                out.append(_case(g, entry, manifest))
    return out


def _case(g: shacl.ShapesGraph, entry, file: Path) -> Case:
    action, report = g.one(entry, MF + "action"), g.one(entry, MF + "result")
    name = str(file.resolve().relative_to(SUITE.resolve()).with_suffix(""))
    data = Path(g.one(action, SHT + "dataGraph").value.removeprefix("file://"))
    shapes = Path(g.one(action, SHT + "shapesGraph").value.removeprefix("file://"))
    results = set()
    for r in g.objects(report, SH + "result"):
        path, value = g.one(r, SH + "resultPath"), g.one(r, SH + "value")
        results.add(
            _key(
                str(g.one(r, SH + "focusNode")),
                shacl.path_sparql(g, path) if path is not None else "",
                g.one(r, SH + "sourceConstraintComponent").value,
                str(value) if value is not None else "",
                g.one(r, SH + "resultSeverity").value,
            )
        )
    if report == ox.NamedNode(SHT + "Failure"):
        return Case(name, data, shapes, None, frozenset())
    conforms = g.one(report, SH + "conforms").value == "true"
    return Case(name, data, shapes, conforms, frozenset(results))


def run(case: Case, mode: str) -> tuple[str, object]:
    """(outcome, the results or the reason) of one test run one way."""
    try:
        data_triples, shape_triples = _parse(case.data), _parse(case.shapes)
        written = ox.serialize(data_triples, format=ox.RdfFormat.N_TRIPLES)
        graph = DataGraph(ox.Store(), lambda: written)
        graph.load(written)
        validator = Validator(shape_triples, graph.store, "pyshacl" if mode == "pyshacl" else "compiled")
        left_to_pyshacl = validator.plan(graph)[1] if mode == "engine" else {}
        if left_to_pyshacl:
            return "refused", next(iter(left_to_pyshacl.values()))
        results, _ = validator.check(graph)
    except Exception as e:  # noqa: BLE001 — a crash is one of the outcomes counted
        return ("passed" if case.conforms is None else "crashed"), f"{type(e).__name__}: {e}"
    got = {_key(r.focus, r.path, r.component, r.value, r.severity) for r in results}
    if got == case.results and (not got) == case.conforms:
        return "passed", got
    if not got and not case.conforms:
        return "false conforms", got
    return "wrong answer", got


def table(outcomes: dict[str, Counter]) -> str:
    heads = {"engine": "our engine", "shipped": "engine, pySHACL where it refuses (what ships)", "pyshacl": "pySHACL"}
    lines = ["| | " + " | ".join(heads[m] for m in outcomes) + " |", "|---" * (len(outcomes) + 1) + "|"]
    for o in OUTCOMES:
        label = "**reports conforms where the suite expects results**" if o == "false conforms" else o
        lines.append(f"| {label} | " + " | ".join(str(c[o]) for c in outcomes.values()) + " |")
    return "\n".join(lines)


def main(modes=MODES) -> None:
    all_cases = cases()
    outcomes = {m: Counter() for m in modes}
    for case in all_cases:
        for mode in modes:
            outcome, detail = run(case, mode)
            outcomes[mode][outcome] += 1
            if outcome != "passed" and not (mode == "engine" and outcome == "refused"):
                print(f"{mode:8} {outcome:15} {case.name}: {str(detail)[:300]}", file=sys.stderr)
            elif outcome == "refused":
                print(f"{mode:8} {outcome:15} {case.name}: {str(detail)[:200]}", file=sys.stderr)
    print(f"W3C SHACL core + SHACL-SPARQL: {len(all_cases)} tests\n")
    print(table(outcomes))


if __name__ == "__main__":
    main(tuple(sys.argv[1:]) or MODES)
