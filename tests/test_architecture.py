"""The layout's rules (ARCHITECTURE.md), read from the source: the import graph of src/ (imports at module
level and inside functions alike) has no cycle, `model/` stands on nothing but itself, `errors` and
`layout`, no stage reaches into the deliveries, and no module but `model/iris.py` spells the IRI scheme."""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

from conftest import ROOT

SRC = ROOT / "src"
MODEL_MAY_IMPORT = ("pledgegraph.model", "pledgegraph.errors", "pledgegraph.layout")
IRI_OWNER = "pledgegraph.model.iris"


@cache
def parsed(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), str(path))


def modules(src: Path) -> dict[str, tuple[Path, bool]]:
    """Dotted module name -> (file, is a package) for every module under `src`."""
    found = {}
    for path in sorted(src.rglob("*.py")):
        parts = list(path.relative_to(src).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        found[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return found


def import_graph(src: Path) -> dict[str, set[str]]:
    """Module -> the modules of ours it imports anywhere in its text (`from pkg import mod` is `pkg.mod`)."""
    known = modules(src)
    graph = {}
    for name, (path, is_package) in known.items():
        package = name if is_package else name.rpartition(".")[0]
        targets = set()
        for node in ast.walk(parsed(path)):
            if isinstance(node, ast.Import):
                targets |= {alias.name for alias in node.names if alias.name in known}
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(parts + ([node.module] if node.module else []))
                else:
                    base = node.module or ""
                for alias in node.names:
                    if f"{base}.{alias.name}" in known:
                        targets.add(f"{base}.{alias.name}")
                    elif base in known:
                        targets.add(base)
        graph[name] = targets - {name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def layer_breaches(graph: dict[str, set[str]]) -> list[str]:
    breaches = []
    for name, targets in sorted(graph.items()):
        for target in sorted(targets):
            if name.startswith("pledgegraph.model") and not target.startswith(MODEL_MAY_IMPORT):
                breaches.append(f"{name} (the model) imports {target}")
            if name.startswith("pledgegraph.stages") and target.startswith("pledgegraph.delivery"):
                breaches.append(f"{name} (a stage) imports {target} (a delivery)")
    return breaches


def iri_spellings(src: Path) -> list[str]:
    """Places outside the IRI owner that spell the instance IRI scheme: a string starting `id/` (as in
    `base + "id/"` or f"{base}id/{ref}"), or a regular expression with `id/` in it."""
    found = []
    for name, (path, _) in modules(src).items():
        if name == IRI_OWNER:
            continue
        for node in ast.walk(parsed(path)):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("id/"):
                found.append(f"{path.relative_to(src)}:{node.lineno}: {node.value!r}")
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "re"
                and node.args
                and any(
                    isinstance(a, ast.Constant) and isinstance(a.value, str) and "id/" in a.value
                    for a in ast.walk(node.args[0])
                )
            ):
                found.append(f"{path.relative_to(src)}:{node.lineno}: re.{node.func.attr} of an id/ pattern")
    return found


def test_the_import_graph_has_no_cycle():
    assert cycles(import_graph(SRC)) == []


def test_the_model_stands_alone_and_no_stage_imports_a_delivery():
    assert layer_breaches(import_graph(SRC)) == []


def test_only_iris_spells_the_iri_scheme():
    assert iri_spellings(SRC) == []


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / "pledgegraph" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return tmp_path


def test_the_rules_catch_what_they_forbid(tmp_path):
    """Each rule on a small tree that breaks it: a lazy import closing a cycle, a relative one, the model
    importing a stage, a stage importing a delivery, an IRI minted and matched by hand."""
    src = _tree(
        tmp_path,
        {
            "__init__.py": "",
            "model/__init__.py": "",
            "model/iris.py": 'SPACE = "id/"\n',
            "model/dates.py": "from pledgegraph.stages import load\n",
            "stages/__init__.py": "",
            "stages/load.py": "def f():\n    from pledgegraph.delivery import store\n",
            "delivery/__init__.py": "",
            "delivery/store.py": "from . import advice\n",
            "delivery/advice.py": (
                "import re\nfrom pledgegraph.model.dates import x\n"
                "def g(base, ref):\n    from pledgegraph.delivery import store\n"
                '    return f"{base}id/{ref}", re.compile(r"/id/[a-z]+")\n'
            ),
        },
    )
    graph = import_graph(src)
    assert graph["pledgegraph.delivery.store"] == {"pledgegraph.delivery.advice"}
    assert cycles(graph) == [
        [
            "pledgegraph.delivery.advice",
            "pledgegraph.delivery.store",
            "pledgegraph.model.dates",
            "pledgegraph.stages.load",
        ]
    ]
    assert layer_breaches(graph) == [
        "pledgegraph.model.dates (the model) imports pledgegraph.stages.load",
        "pledgegraph.stages.load (a stage) imports pledgegraph.delivery.store (a delivery)",
    ]
    spelled = iri_spellings(src)
    assert len(spelled) == 2 and all(s.startswith("pledgegraph/delivery/advice.py:5") for s in spelled)
