"""One benchmark measurement, run in its own process so peak memory is the whole process's.

`python -m bench.stage KIND DATA_DIR [OUT_DIR]` prints one JSON object: stage timings in seconds.
The runner (bench/__main__.py) reads it, adds the process's peak RSS, and takes medians.
"""

from __future__ import annotations

import gc
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _settings(data: Path, out: Path | None = None):
    from pledgegraph.layout import Settings

    return Settings(
        data_dir=data, ontology_dir=ROOT / "ontology", shapes_dir=ROOT / "shapes", out_dir=out or data.parent / "dist"
    )


class _Timer:
    def __init__(self):
        self.timings: dict[str, float] = {}

    def __call__(self, name, fn, *args, **kwargs):
        start = time.perf_counter()
        value = fn(*args, **kwargs)
        self.timings[name] = round(time.perf_counter() - start, 4)
        return value


def ours(data: Path) -> dict:
    """Each stage of our pipeline, timed on its own."""
    from pledgegraph.pipeline import ontology_html, ontology_triples, write_graph_files
    from pledgegraph.stages.build import build
    from pledgegraph.stages.load import load, load_vocabulary
    from pledgegraph.stages.reason import reason
    from pledgegraph.stages.validate import data_graph, validate

    s = _settings(data)
    t = _Timer()
    dataset = t("load", load, s.data_dir, load_vocabulary(s.vocabulary_file))
    built = t("build", build, dataset, s.base)
    inferred = t("reason", reason, built, s.ontology_files)
    both = built.union(inferred)
    graph = t("validate: load store", data_graph, both, s.ontology_files)
    store = graph.store
    report = t("validate: queries", validate, both, s.shape_files, s.ontology_files, graph=graph)
    record = next(r for r in dataset.records if r.kind == "organization")
    iri = f"{s.base}id/org/{record.id}"
    focus = {node for node in both.origins if node == iri or node.startswith(iri + "/")}
    t(
        "validate one record (focus, store loaded)",
        validate,
        both,
        s.shape_files,
        s.ontology_files,
        focus=focus,
        graph=graph,
    )
    with tempfile.TemporaryDirectory() as out:
        _, writes = write_graph_files(Path(out), built, inferred, ontology_triples(s), s)
    t.timings.update(writes)
    t("document ontology", ontology_html, s)
    from pledgegraph.delivery.endpoint.store import bindings, bound_text, examples
    from pledgegraph.model.vocab import sparql_prologue

    # The query library's files rely on the shared prefixes, and their parameters are bound at their
    # defaults, as `serve` and `pledgegraph query --name` do.
    for example in examples(ROOT / "queries") + examples(ROOT / "bench" / "queries"):
        text = bound_text(sparql_prologue() + example.text, bindings(example, [], s.base))
        t(f"query {example.name}", lambda text=text: list(store.query(text)))
    return {"timings": t.timings, "triples": len(built), "inferred": len(inferred), "conforms": report.conforms}


def watch(data: Path) -> dict:
    """`validate --watch` on a copy of the data: its start-up, then re-checking one edited record,
    the first organization of the first organizations file (median of 6 re-checks each: the edit,
    then undoing it): a name changed in place, and the same with the record's kinds rewritten as
    a block list (lines more, so every record below it moves)."""
    import shutil
    import statistics
    import tempfile

    from pledgegraph.incremental.session import Session

    t = _Timer()
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "data"
        shutil.copytree(data, copy)
        session = t("watch: start-up (load, build, reason, store, compile shapes)", Session, _settings(copy))
        path = sorted(copy.glob("organizations*.yaml"))[0]
        original = path.read_text()
        old = original.split("- name: ", 1)[1].split("\n", 1)[0]
        renamed = original.replace("- name: " + old, "- name: " + old[:-1] + ' (edited)"', 1)
        head, rest = renamed.split("\n    kind: [", 1)  # and its kinds as a block list: lines more
        kinds, rest = rest.split("]", 1)
        restyled = head + "\n    kind:" + "".join(f"\n      - {k.strip()}" for k in kinds.split(",")) + rest
        checked = 0
        for label, edited in (("a name changed in place", renamed), ("lines added", restyled)):
            seconds = []
            for text in [edited, original] * 3:
                path.write_text(text)
                update = session.update(session.changed_files())
                if update.report.problems and any(p.severity == "error" for p in update.report.problems):
                    raise SystemExit(f"the bench edit is invalid: {update.report.problems[0].format()}")
                seconds.append(update.seconds)
                checked = max(checked, len(update.checked))
            t.timings[f"validate --watch: one record edited, {label}"] = round(statistics.median(seconds), 4)
    return {"timings": t.timings, "checked": checked}


def build_command(data: Path, out: Path) -> dict:
    """The whole `pledgegraph build`, as a user runs it."""
    from click.testing import CliRunner  # noqa: F401  (keeps import cost comparable to the CLI)

    from pledgegraph.cli import main

    start = time.perf_counter()
    try:
        main(["build", "--data", str(data), "--out", str(out)], standalone_mode=False)
    finally:
        elapsed = time.perf_counter() - start
    return {"timings": {"pledgegraph build": round(elapsed, 4)}}


def floor(data: Path, nt_file: Path) -> dict:
    """The least any tool could do: libyaml's C loader, pyoxigraph bulk load, pyoxigraph serialization."""
    import pyoxigraph as ox
    import yaml

    t = _Timer()
    gc.disable()

    def read_yaml():
        for path in sorted(data.glob("*.yaml")):
            yaml.load(path.read_bytes(), Loader=yaml.CSafeLoader)

    t("yaml (libyaml C loader)", read_yaml)
    store = ox.Store()
    t("bulk load", store.bulk_load, path=str(nt_file), format=ox.RdfFormat.N_TRIPLES)
    for name, fmt in (
        ("ntriples", ox.RdfFormat.N_TRIPLES),
        ("turtle", ox.RdfFormat.TURTLE),
        ("jsonld", ox.RdfFormat.JSON_LD),
        ("trig", ox.RdfFormat.TRIG),
    ):
        t(
            f"serialize {name}",
            store.dump,
            format=fmt,
            **({} if fmt.supports_datasets else {"from_graph": ox.DefaultGraph()}),
        )
    return {"timings": t.timings}


def naive(step: str, data: Path, nt_file: Path) -> dict:
    """The plain-library pipeline, one step at a time: pure-Python YAML, rdflib Graph.add, owlrl's
    full closure, pySHACL with our shapes, rdflib's serializers."""
    import rdflib

    t = _Timer()
    s = _settings(data)
    if step == "yaml":
        import yaml

        t(
            "naive yaml (pure Python)",
            lambda: [yaml.load(p.read_bytes(), Loader=yaml.SafeLoader) for p in sorted(data.glob("*.yaml"))],
        )
        return {"timings": t.timings}
    import pyoxigraph as ox

    from pledgegraph.stages.validate import rdflib_graph

    triples = [
        tuple(_rdflib_term(x) for x in (tr.subject, tr.predicate, tr.object))
        for tr in ox.parse(path=str(nt_file), format=ox.RdfFormat.N_TRIPLES)
    ]
    if step == "add":
        g = rdflib.Graph()
        t("naive build (Graph.add)", lambda: [g.add(tr) for tr in triples])
    elif step == "owlrl":
        import owlrl

        g = rdflib_graph([], s.ontology_files)
        for tr in triples:
            g.add(tr)
        t("naive infer (owlrl full closure)", owlrl.DeductiveClosure(owlrl.OWLRL_Semantics).expand, g)
    elif step == "pyshacl":
        import pyshacl

        g = rdflib_graph([], s.ontology_files)
        for tr in triples:
            g.add(tr)
        shapes = rdflib_graph([], s.shape_files)
        t(
            "naive validate (pySHACL)",
            pyshacl.validate,
            g,
            shacl_graph=shapes,
            inference="none",
            allow_warnings=True,
            advanced=True,
        )
    elif step == "serialize":
        g = rdflib.Graph()
        for tr in triples:
            g.add(tr)
        for fmt in ("turtle", "nt", "json-ld"):
            t(f"naive serialize {fmt} (rdflib)", g.serialize, format=fmt)
    else:
        raise SystemExit(f"unknown naive step {step}")
    return {"timings": t.timings}


def _rdflib_term(term):
    import pyoxigraph as ox
    import rdflib

    if isinstance(term, ox.NamedNode):
        return rdflib.URIRef(term.value)
    if term.language:
        return rdflib.Literal(term.value, lang=term.language)
    return rdflib.Literal(term.value, datatype=rdflib.URIRef(term.datatype.value))


def main(argv: list[str]) -> None:
    kind, data = argv[0], Path(argv[1])
    if kind == "ours":
        out = ours(data)
    elif kind == "watch":
        out = watch(data)
    elif kind == "build":
        out = build_command(data, Path(argv[2]))
    elif kind == "floor":
        out = floor(data, Path(argv[2]))
    elif kind.startswith("naive-"):
        out = naive(kind[len("naive-") :], data, Path(argv[2]))
    else:
        raise SystemExit(f"unknown measurement {kind}")
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1:])
