"""A fast SHACL engine: every constraint of our shapes becomes one whole-graph SPARQL query on pyoxigraph.

pySHACL checks each focus node in Python and runs a SHACL-SPARQL constraint once per focus node, on
rdflib: minutes at a million triples. Here each (shape, constraint) pair is compiled once into a
query that finds all its violations at once, over a pyoxigraph Store holding the data graph (data +
ontology, as pySHACL is given). The results are the same set pySHACL reports — focus node, path,
value, severity, source shape, constraint component, message — which tests/test_shacl_engine.py
checks on the shipped data and on broken fixtures covering every supported constraint kind.

Supported: targets (targetClass with subclasses, implicit class targets, targetNode, targetSubjectsOf,
targetObjectsOf), paths (predicate, inverse, sequence, alternative, zero-or-more, one-or-more,
zero-or-one), minCount, maxCount, datatype, class, nodeKind, pattern (with flags), in, hasValue,
languageIn, uniqueLang, minLength, maxLength, min/maxInclusive/Exclusive, lessThan(OrEquals), equals,
disjoint, and SPARQL-based constraints (sh:sparql / sh:select with $this, $PATH, sh:prefixes, ?value,
?path, ?failure, message templates) whose $this a join binds as pre-binding would, sh:severity,
sh:deactivated. Anything else in a shape (an unknown sh: term, a nested sh:property in a property
shape, a parameter of a custom constraint component, sh:target, a SPARQL query with MINUS, VALUES,
SERVICE, a subquery or $this in a nested group) refuses that shape: it is listed in
`Compiled.refused` with the reason, and the caller (validate.Validator) has pySHACL check it. Nothing
is skipped silently.

The store canonicalises literals ("5"^^xsd:int is held as "5"^^xsd:integer, "4.0"^^xsd:decimal as
"4"), which would change what datatype, pattern, length, in and count constraints see.
`rewritten_literals` finds the literals a store does not hold as written: a shape whose constants are
among them is refused, and the caller has pySHACL check the shapes that read data holding any
(`_Shape.reads`).

`focus` restricts validation to the given focus nodes (e.g. the nodes of one changed record): the
same queries then start from a VALUES list, so their cost no longer grows with the graph; shapes with
the same targets share one targeting query. `reads_across` says which triples the shapes read away
from their focus node (`Across`), so that a re-check can tell whether an edit can change the results
of records other than those whose own triples changed.
"""

from __future__ import annotations

import functools
import mmap
import re
from dataclasses import dataclass, field
from typing import Iterable, cast

import pyoxigraph as ox

SH = "http://www.w3.org/ns/shacl#"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
XSD = "http://www.w3.org/2001/XMLSchema#"
OWL_CLASS = "http://www.w3.org/2002/07/owl#Class"
OWL_IMPORTS = "http://www.w3.org/2002/07/owl#imports"
VIOLATION = SH + "Violation"

# The sh: terms we compile; any other sh: term in a shape refuses it.
_RANGES = {"minInclusive": ">=", "maxInclusive": "<=", "minExclusive": ">", "maxExclusive": "<"}
_PAIRS = {"lessThan": "<", "lessThanOrEquals": "<="}
_CONSTRAINTS = {
    "datatype",
    "class",
    "nodeKind",
    "pattern",
    "flags",
    "in",
    "hasValue",
    "languageIn",
    "minLength",
    "maxLength",
    "sparql",
    "equals",
    "disjoint",
    *_RANGES,
}
_PROPERTY_CONSTRAINTS = {"minCount", "maxCount", "uniqueLang", *_PAIRS}  # not allowed in node shapes
_TARGETS = {"targetClass", "targetNode", "targetSubjectsOf", "targetObjectsOf", "target"}
_SHAPE_KEYS = {
    "path",
    "severity",
    "message",
    "deactivated",
    "name",
    "description",
    "order",
    "group",
    "defaultValue",
    *_TARGETS,
}
_NODE_KINDS = {
    "IRI": "isIRI(?value)",
    "BlankNode": "isBlank(?value)",
    "Literal": "isLiteral(?value)",
    "BlankNodeOrIRI": "(isBlank(?value) || isIRI(?value))",
    "BlankNodeOrLiteral": "(isBlank(?value) || isLiteral(?value))",
    "IRIOrLiteral": "(isIRI(?value) || isLiteral(?value))",
}
# Datatypes whose lexical form oxigraph can check by casting (an ill-formed literal is a violation).
_CASTABLE = {
    XSD + t
    for t in (
        "boolean",
        "integer",
        "decimal",
        "float",
        "double",
        "date",
        "dateTime",
        "time",
        "duration",
        "dayTimeDuration",
        "yearMonthDuration",
    )
}
# Other XSD datatypes: their lexical space as a regex (None: every string). A well-formed literal of an
# integer-derived type is always rewritten by the store (to xsd:integer), so the data holding one is
# left to pySHACL; an ill-formed one is held as written, and the regex finds it.
_INTEGER = "^[+-]?[0-9]+$"
_ZONE = "(Z|[+-][0-9][0-9]:[0-9][0-9])?$"
_LEXICAL = {
    XSD + "string": None,
    XSD + "anyURI": None,
    XSD + "gYear": "^-?[0-9]{4,}" + _ZONE,
    XSD + "language": "^[a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8})*$",
    XSD + "hexBinary": "^([0-9a-fA-F]{2})*$",
    XSD + "gYearMonth": "^-?[0-9]{4,}-(0[1-9]|1[0-2])" + _ZONE,
    **{
        XSD + t: _INTEGER
        for t in (
            "long",
            "int",
            "short",
            "byte",
            "nonNegativeInteger",
            "positiveInteger",
            "nonPositiveInteger",
            "negativeInteger",
            "unsignedLong",
            "unsignedInt",
            "unsignedShort",
            "unsignedByte",
        )
    },
}


class Unsupported(ValueError):
    """The shapes use a SHACL feature this engine does not compile."""


@dataclass(frozen=True, order=True)
class Result:
    """One validation result, terms in N-Triples syntax (path as a SPARQL property path)."""

    focus: str
    path: str
    value: str
    severity: str
    shape: str  # the source shape: its IRI, or a description of a blank-node shape
    component: str  # the constraint component IRI
    messages: tuple[str, ...] = ()

    @property
    def message(self) -> str:
        return self.messages[0] if self.messages else ""


# --- the shapes graph -----------------------------------------------------------------------------


class ShapesGraph:
    """Shapes as an index subject -> predicate IRI -> objects (pyoxigraph terms)."""

    def __init__(self, triples: Iterable):
        self.index: dict = {}
        for t in triples:
            values = self.index.setdefault(t.subject, {}).setdefault(t.predicate.value, [])
            if t.object not in values:
                values.append(t.object)

    def objects(self, node, predicate: str) -> list:
        return self.index.get(node, {}).get(predicate, [])

    def one(self, node, predicate: str):
        values = self.objects(node, predicate)
        return values[0] if values else None

    def items(self, node) -> list:
        """The members of an RDF list."""
        out = []
        while node is not None and not (isinstance(node, ox.NamedNode) and node.value == RDF + "nil"):
            first = self.one(node, RDF + "first")
            if first is None:
                raise Unsupported(f"malformed RDF list at {node}")
            out.append(first)
            node = self.one(node, RDF + "rest")
        return out

    def parents(self, node) -> list:
        return sorted((s for s, preds in self.index.items() if node in preds.get(SH + "property", ())), key=str)


def path_sparql(g: ShapesGraph, node) -> str:
    """A SHACL path as SPARQL property path text (also how results name their path)."""
    if isinstance(node, ox.NamedNode):
        return str(node)
    if g.one(node, RDF + "first") is not None:
        return "(" + "/".join(path_sparql(g, n) for n in g.items(node)) + ")"
    for key, fmt in (
        ("inversePath", "^{}"),
        ("alternativePath", None),
        ("zeroOrMorePath", "{}*"),
        ("oneOrMorePath", "{}+"),
        ("zeroOrOnePath", "{}?"),
    ):
        inner = g.one(node, SH + key)
        if inner is not None:
            if fmt is None:
                return "(" + "|".join(path_sparql(g, n) for n in g.items(inner)) + ")"
            return "(" + fmt.format(path_sparql(g, inner)) + ")"
    raise Unsupported(f"unknown path form at {node}")


@dataclass(frozen=True)
class Across:
    """A kind of triple a check reads away from its focus node (N-Triples terms): `predicate` triples
    reached at their subject (`inverse` False: the focus or a node before it is the subject's side)
    or at their object (`inverse` True); `obj`: only those with this object (a class of rdf:type),
    None for any. A triple whose subject is the focus node itself, reached forward, is not across."""

    inverse: bool
    predicate: str
    obj: str | None = None


def path_across(g: ShapesGraph, node, at_focus: bool = True) -> set[Across]:
    """What a SHACL path read from the focus node (`at_focus`) or from a node beyond it reads across."""
    if isinstance(node, ox.NamedNode):
        return set() if at_focus else {Across(False, str(node))}
    if g.one(node, RDF + "first") is not None:
        steps = g.items(node)
        return set().union(*(path_across(g, n, at_focus and i == 0) for i, n in enumerate(steps)))
    inner = g.one(node, SH + "inversePath")
    if isinstance(inner, ox.NamedNode):
        return {Across(True, str(inner))}
    if inner is not None:  # the inverse of a complex path: every predicate in it, either way
        return {Across(d, a.predicate) for a in path_across(g, inner, False) for d in (False, True)}
    alternatives = g.one(node, SH + "alternativePath")
    if alternatives is not None:
        return set().union(*(path_across(g, n, at_focus) for n in g.items(alternatives)))
    for key in ("zeroOrMorePath", "oneOrMorePath"):  # the steps after the first start beyond the focus
        if (inner := g.one(node, SH + key)) is not None:
            return path_across(g, inner, False)
    if (inner := g.one(node, SH + "zeroOrOnePath")) is not None:
        return path_across(g, inner, at_focus)
    raise Unsupported(f"unknown path form at {node}")


def shape_key(g: ShapesGraph, node) -> str:
    """A name for a shape that does not depend on blank node labels: IRI, or parent + path + constraints."""
    if not isinstance(node, ox.BlankNode):
        return str(node)
    parents = g.parents(node)
    parent = shape_key(g, parents[0]) if parents else ""
    path = g.one(node, SH + "path")
    params = sorted(
        f"{p.rsplit('#', 1)[-1]}={o}"
        for p, objs in g.index.get(node, {}).items()
        for o in objs
        if p.startswith(SH) and p not in (SH + "path", SH + "message") and not isinstance(o, ox.BlankNode)
    )
    return f"{parent}[{path_sparql(g, path) if path is not None else ''} {' '.join(params)}]"


# --- compilation ----------------------------------------------------------------------------------


@dataclass
class _Check:
    """One compiled constraint: a query body yielding ?this (and ?value/?path/more) per violation."""

    shape: str
    component: str
    severity: str
    path: str
    messages: tuple[str, ...]
    body: str  # SPARQL group pattern using {focus} for the focus-node pattern
    select: str = "?this ?value"
    with_value: bool = True  # report ?value as sh:value
    sparql: bool = False  # a SHACL-SPARQL constraint (message templates, ?path, ?failure)
    node_shape: bool = False
    across: frozenset[Across] | None = frozenset()  # what it reads away from the focus (SPARQL: see reads_across)


@dataclass
class _Shape:
    node: object
    key: str
    targets: list[str]  # SPARQL patterns binding ?this
    severity: str
    messages: tuple[str, ...]
    checks: list[_Check] = field(default_factory=list)
    across: frozenset[Across] = frozenset()  # what its targets read away from the focus node
    classes: frozenset[str] | None = None  # when it targets the instances of classes only: those classes

    def reads(self) -> set[str] | None:
        """The IRIs (N-Triples) its queries name, among them every predicate they follow; None when
        one may follow any predicate (a SPARQL-based constraint with a variable predicate)."""
        out = set(re.findall(r"<[^<>\s]*>", " ".join(self.targets + [c.body for c in self.checks if not c.sparql])))
        for check in self.checks:
            if check.sparql:
                named = _sparql_reads(check.body)
                if named is None:
                    return None
                out |= named
        return out


def _lit(term) -> str:
    return str(term)


def _bool(term) -> bool:
    return isinstance(term, ox.Literal) and term.value == "true"


class Compiler:
    def __init__(self, shapes: ShapesGraph, store: ox.Store):
        self.g = shapes
        self.store = store
        self._subclasses: dict[str, list[str]] = {}
        # Predicates that are parameters of constraint components declared in the shapes graph.
        self.custom_parameters = {
            path.value
            for comp, preds in shapes.index.items()
            for param in preds.get(SH + "parameter", ())
            for path in shapes.objects(param, SH + "path")
            if isinstance(path, ox.NamedNode)
        }
        literals = {
            o for preds in shapes.index.values() for objs in preds.values() for o in objs if isinstance(o, ox.Literal)
        }
        self.rewritten = set(rewritten_literals(literals))

    def subclasses(self, cls: str) -> list[str]:
        """cls and every class below it in the data graph (rdfs:subClassOf*), as SHACL instance checks need."""
        if cls not in self._subclasses:
            rows = _select(self.store, f"SELECT DISTINCT ?c WHERE {{ ?c <{RDFS}subClassOf>* <{cls}> }}")
            found = {str(r["c"]) for r in rows} | {f"<{cls}>"}
            self._subclasses[cls] = sorted(found)
        return self._subclasses[cls]

    def instance_of(self, var: str, cls: str) -> str:
        # A UNION of plain patterns, not `VALUES ?_cls {…} {var} a ?_cls`: joined with the VALUES
        # of a focused check, the store would list every instance first (50 ms a check at 1M triples).
        return "{ " + " UNION ".join(f"{{ {var} a {c} }}" for c in self.subclasses(cls)) + " }"

    def const(self, term) -> str:
        """A shapes-graph term as a query constant; a literal the store would rewrite is refused."""
        if isinstance(term, ox.Literal) and str(term) in self.rewritten:
            raise Unsupported(f"the store would rewrite the constant {term}")
        return str(term)

    def compile(self) -> "Compiled":
        g = self.g
        out = Compiled([], {})
        for node in sorted(g.index, key=str):
            if not self.has_target(node) or _bool(g.one(node, SH + "deactivated")):
                continue
            try:
                shape = _Shape(node, shape_key(g, node), self.targets(node), self.severity(node), self.messages(node))
                shape.across = frozenset(Across(True, str(p)) for p in g.objects(node, SH + "targetObjectsOf"))
                if not any(g.objects(node, SH + t) for t in ("targetNode", "targetSubjectsOf", "targetObjectsOf")):
                    shape.classes = frozenset(c for cls in self.target_classes(node) for c in self.subclasses(cls))
                if g.one(node, SH + "path") is not None:
                    self.constraints(shape, node, shape)
                else:
                    self.constraints(shape, node, shape, node_level=True)
                    for prop in g.objects(node, SH + "property"):
                        if not _bool(g.one(prop, SH + "deactivated")):
                            self.constraints(shape, prop, None)
            except Unsupported as e:
                out.refused[node] = str(e)
                continue
            out.shapes.append(shape)
        return out

    def has_target(self, node) -> bool:
        types = {t.value for t in self.g.objects(node, RDF + "type")}
        return any(self.g.objects(node, SH + t) for t in _TARGETS) or bool(
            types & {RDFS + "Class", OWL_CLASS} and types & {SH + "NodeShape", SH + "PropertyShape"}
        )

    def targets(self, node) -> list[str]:
        """SPARQL patterns binding ?this to the shape's focus nodes."""
        g = self.g
        if g.objects(node, SH + "target"):
            raise Unsupported(f"sh:target (in {shape_key(g, node)})")
        out = [self.instance_of("?this", cls) for cls in self.target_classes(node)]
        nodes = g.objects(node, SH + "targetNode")
        if nodes:
            out.append("{ VALUES ?this { " + " ".join(self.const(n) for n in nodes) + " } }")
        for p in g.objects(node, SH + "targetSubjectsOf"):
            out.append(f"{{ ?this {p} [] }}")
        for p in g.objects(node, SH + "targetObjectsOf"):
            out.append(f"{{ [] {p} ?this }}")
        return out

    def target_classes(self, node) -> list[str]:
        """The classes whose instances the shape targets (sh:targetClass, or itself as an implicit class target)."""
        classes = {c.value for c in self.g.objects(node, SH + "targetClass")}
        types = {t.value for t in self.g.objects(node, RDF + "type")}
        if types & {RDFS + "Class", OWL_CLASS} and types & {SH + "NodeShape", SH + "PropertyShape"}:
            classes.add(node.value)
        return sorted(classes)

    def severity(self, node) -> str:
        sev = self.g.one(node, SH + "severity")
        return sev.value if sev is not None else VIOLATION

    def messages(self, node) -> tuple[str, ...]:
        return tuple(m.value for m in self.g.objects(node, SH + "message") if isinstance(m, ox.Literal))

    def vocabulary(self, node, node_level: bool) -> None:
        """Refuse a shape using a term this compiler does not know (never skip it)."""
        allowed = _CONSTRAINTS | _SHAPE_KEYS | ({"property"} if node_level else _PROPERTY_CONSTRAINTS)
        for p in self.g.index.get(node, {}):
            if p.startswith(SH) and p[len(SH) :] not in allowed:
                raise Unsupported(f"sh:{p[len(SH) :]} (in {shape_key(self.g, node)})")
            if p in self.custom_parameters:
                raise Unsupported(f"<{p}>, a parameter of a custom constraint component (in {shape_key(self.g, node)})")

    def constraints(self, owner: _Shape, node, node_shape: _Shape | None, node_level: bool = False) -> None:
        """Compile the constraints of one shape (a node shape itself, or one of its property shapes)."""
        g = self.g
        self.vocabulary(node, node_level)
        const = self.const
        if node_level:
            path, values, across = "", "BIND(?this AS ?value)", frozenset[Across]()
        else:
            path = path_sparql(g, g.one(node, SH + "path"))
            values = f"?this {path} ?value ."
            across = frozenset(path_across(g, g.one(node, SH + "path")))
        key = owner.key if node_shape is not None else shape_key(g, node)
        severity = owner.severity if node_shape is not None else self.severity(node)
        messages = owner.messages if node_shape is not None else self.messages(node)

        def add(component: str, body: str, **kw) -> None:
            kw.setdefault("across", across)
            owner.checks.append(
                _Check(key, SH + component, severity, path, messages, body, node_shape=node_level, **kw)
            )

        def values_where(condition: str) -> str:
            return f"{{focus}} {values} FILTER({condition})"

        for n in g.objects(node, SH + "minCount"):
            n = _integer(n)
            if n == 1:
                add(
                    "MinCountConstraintComponent",
                    f"{{focus}} FILTER NOT EXISTS {{ {values} }}",
                    select="?this",
                    with_value=False,
                )
            elif n > 1:
                add(
                    "MinCountConstraintComponent",
                    f"{{ SELECT ?this (COUNT(DISTINCT ?value) AS ?_n) WHERE {{ {{focus}} OPTIONAL {{ {values} }} }} "
                    f"GROUP BY ?this }} FILTER(?_n < {n})",
                    select="?this",
                    with_value=False,
                )
        for n in g.objects(node, SH + "maxCount"):
            add(
                "MaxCountConstraintComponent",
                f"{{ SELECT ?this (COUNT(DISTINCT ?value) AS ?_n) WHERE {{ {{focus}} {values} }} GROUP BY ?this }} "
                f"FILTER(?_n > {_integer(n)})",
                select="?this",
                with_value=False,
            )
        for dt in g.objects(node, SH + "datatype"):
            if not isinstance(dt, ox.NamedNode) or dt.value in (RDFS + "Literal", RDFS + "Datatype"):
                raise Unsupported(f"sh:datatype {dt}")
            cond = f"!isLiteral(?value) || datatype(?value) != {dt}"
            if dt.value in _CASTABLE:
                cond += f' || sameTerm(COALESCE({dt}(STR(?value)), "ILL-TYPED"), "ILL-TYPED")'
            elif dt.value in _LEXICAL:
                if pattern := _LEXICAL[dt.value]:
                    cond += f" || !REGEX(STR(?value), {_lit(ox.Literal(pattern))})"
            elif dt.value.startswith(XSD):
                raise Unsupported(f"sh:datatype {dt}: its lexical space is not checked")
            add("DatatypeConstraintComponent", values_where(cond))
        for cls in g.objects(node, SH + "class"):
            if not isinstance(cls, ox.NamedNode):
                raise Unsupported(f"sh:class {cls}")
            add(
                "ClassConstraintComponent",
                f"{{focus}} {values} FILTER NOT EXISTS {self.instance_of('?value', cls.value)}",
                # the value's types: across, unless the value is the focus node
                across=across
                | {Across(False, f"<{RDF}type>", c) for c in self.subclasses(cls.value) if not node_level},
            )
        for kind in g.objects(node, SH + "nodeKind"):
            test = _NODE_KINDS.get(kind.value[len(SH) :]) if kind.value.startswith(SH) else None
            if test is None:
                raise Unsupported(f"sh:nodeKind {kind}")
            add("NodeKindConstraintComponent", values_where(f"!{test}"))
        flags = g.objects(node, SH + "flags")
        if len(flags) > 1 or (flags and not g.objects(node, SH + "pattern")):
            raise Unsupported("sh:flags without exactly one sh:pattern")
        for pattern in g.objects(node, SH + "pattern"):
            args = f"{_lit(ox.Literal(pattern.value))}" + (f", {_lit(ox.Literal(flags[0].value))}" if flags else "")
            add("PatternConstraintComponent", values_where(f"isBlank(?value) || !REGEX(STR(?value), {args})"))
        for lst in g.objects(node, SH + "in"):
            members = g.items(lst)
            allowed = " || ".join(f"sameTerm(?value, {const(m)})" for m in members) or "false"
            add("InConstraintComponent", values_where(f"!({allowed})"))
        for hv in g.objects(node, SH + "hasValue"):
            if node_level:
                add(
                    "HasValueConstraintComponent",
                    f"{{focus}} FILTER(!sameTerm(?this, {const(hv)}))",
                    select="?this",
                    with_value=False,
                )
            else:
                add(
                    "HasValueConstraintComponent",
                    f"{{focus}} FILTER NOT EXISTS {{ ?this {path} {const(hv)} . }}",
                    select="?this",
                    with_value=False,
                )
        for lst in g.objects(node, SH + "languageIn"):
            langs = sorted({m.value.lower() for m in g.items(lst)})
            if "*" in langs:
                cond = '!isLiteral(?value) || lang(?value) = ""'
            else:
                listed = ", ".join(_lit(ox.Literal(x)) for x in langs)
                cond = (
                    f'!isLiteral(?value) || lang(?value) = "" || !(LCASE(lang(?value)) IN ({listed}) || '
                    f'LCASE(STRBEFORE(CONCAT(lang(?value), "-"), "-")) IN ({listed}))'
                )
            add("LanguageInConstraintComponent", values_where(cond))
        for unique in g.objects(node, SH + "uniqueLang"):
            if _bool(unique):
                add(
                    "UniqueLangConstraintComponent",
                    f"{{ SELECT ?this ?_lang (COUNT(DISTINCT ?value) AS ?_n) WHERE {{ {{focus}} {values} "
                    f'FILTER(isLiteral(?value) && lang(?value) != "") BIND(LCASE(lang(?value)) AS ?_lang) }} '
                    f"GROUP BY ?this ?_lang }} FILTER(?_n > 1)",
                    select="?this ?_lang",
                    with_value=False,
                )
        for n in g.objects(node, SH + "minLength"):
            add("MinLengthConstraintComponent", values_where(f"isBlank(?value) || STRLEN(STR(?value)) < {_integer(n)}"))
        for n in g.objects(node, SH + "maxLength"):
            add("MaxLengthConstraintComponent", values_where(f"isBlank(?value) || STRLEN(STR(?value)) > {_integer(n)}"))
        for name, op in _RANGES.items():
            for bound in g.objects(node, SH + name):
                # Not comparable (an IRI, another type) is a violation too.
                add(
                    name[0].upper() + name[1:] + "ConstraintComponent",
                    values_where(f"!COALESCE(?value {op} {const(bound)}, false)"),
                )
        for name, op in _PAIRS.items():
            for other in g.objects(node, SH + name):
                add(
                    name[0].upper() + name[1:] + "ConstraintComponent",
                    # incomparable values (a date and a number) are a violation too
                    f"{{focus}} {values} ?this {other} ?_other FILTER(!COALESCE(?value {op} ?_other, false))",
                    select="?this ?value ?_other",
                )
        for other in g.objects(node, SH + "equals"):
            # values missing from `other`, then values of `other` missing from the shape's values
            add("EqualsConstraintComponent", f"{{focus}} {values} FILTER NOT EXISTS {{ ?this {other} ?value }}")
            missing = (
                "FILTER(!sameTerm(?value, ?this))" if node_level else f"FILTER NOT EXISTS {{ ?this {path} ?value }}"
            )
            add("EqualsConstraintComponent", f"{{focus}} ?this {other} ?value {missing}")
        for other in g.objects(node, SH + "disjoint"):
            add("DisjointConstraintComponent", f"{{focus}} {values} ?this {other} ?value")
        for constraint in g.objects(node, SH + "sparql"):
            if _bool(g.one(constraint, SH + "deactivated")):
                continue
            owner.checks.append(self.sparql(constraint, key, severity, path, messages, node_level))

    def sparql(self, constraint, key, severity, path, shape_messages, node_level) -> _Check:
        g = self.g
        selects = g.objects(constraint, SH + "select")
        if len(selects) != 1:
            raise Unsupported("sh:sparql needs exactly one sh:select")
        for p in g.index.get(constraint, {}):
            if p.startswith(SH) and p[len(SH) :] not in ("select", "message", "prefixes", "deactivated"):
                raise Unsupported(f"sh:{p[len(SH) :]} in a SPARQL constraint")
        text = selects[0].value
        _prebinding_is_a_join(text)
        if path:
            text = re.sub(r"\$PATH\b", path, text)
        if re.search(r"\$(currentShape|shapesGraph)\b", text):
            raise Unsupported("$currentShape / $shapesGraph in SPARQL constraints")
        prologue = "".join(f"PREFIX {p}: <{ns}>\n" for p, ns in self.prefixes(constraint))
        messages = shape_messages + tuple(
            m.value
            for m in g.objects(constraint, SH + "message")
            if isinstance(m, ox.Literal) and m.value not in shape_messages
        )
        try:  # a query the store cannot parse is refused, not run
            ox.Store().query(prologue + text)
        except SyntaxError as e:
            raise Unsupported(f"a SPARQL constraint the store cannot parse: {e}") from None
        return _Check(
            key,
            SH + "SPARQLConstraintComponent",
            severity,
            path,
            messages,
            prologue + text,
            sparql=True,
            node_shape=node_level,
            across=None,  # read from the query when first asked (reads_across): rdflib is slow to parse
        )

    def prefixes(self, constraint) -> list[tuple[str, str]]:
        """The prefix declarations of the constraint's sh:prefixes, and of what those owl:imports."""
        g = self.g
        out = set()
        holders, seen = list(g.objects(constraint, SH + "prefixes")), set()
        while holders:
            holder = holders.pop()
            if holder in seen:
                continue
            seen.add(holder)
            holders += g.objects(holder, OWL_IMPORTS)
            for decl in g.objects(holder, SH + "declare"):
                prefix, namespace = g.one(decl, SH + "prefix"), g.one(decl, SH + "namespace")
                if prefix is None or namespace is None:
                    raise Unsupported(f"an incomplete sh:declare in {holder}")
                out.add((prefix.value, namespace.value))
        if len({p for p, _ in out}) != len(out):
            raise Unsupported("a prefix declared with two namespaces")
        return sorted(out)


def _integer(term) -> int:
    try:
        return int(term.value)
    except (AttributeError, ValueError):
        raise Unsupported(f"{term} is not an integer") from None


# Strings, IRIs and comments, blanked before a query's structure is read (an IRI with ? or $ is
# left as it is: `?x<$this&&?y>?z` must not read as one).
_STRINGS_AND_COMMENTS = re.compile(
    r'"""(?:[^"\\]|\\.|"(?!""))*"""|\'\'\'(?:[^\'\\]|\\.|\'(?!\'\'))*\'\'\'|'
    r'"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'|<[^<>"{}|^`\\\s?$]*>|#[^\n]*'
)
_FORBIDDEN = re.compile(r"\b(MINUS|VALUES|SERVICE|SELECT|GRAPH|FROM)\b", re.IGNORECASE)


def _prebinding_is_a_join(text: str) -> None:
    """Refuse a query whose $this a join at the start of its WHERE group would not bind as SHACL's
    pre-binding (substitution) does.

    The join binds $this in the top group and in FILTER [NOT] EXISTS patterns called from it, whose
    bindings come from the solution they test; a nested group (UNION, OPTIONAL, { }) is evaluated
    before the join, so $this there is refused. So are what the spec forbids (MINUS, VALUES,
    SERVICE), subqueries, GRAPH/FROM and a rebinding `AS $this`."""
    code = _STRINGS_AND_COMMENTS.sub(lambda m: '""' if m.group(0)[0] in "\"'" else " ", text)
    where = _WHERE_OPEN.search(code)
    if where is None:
        raise Unsupported("SPARQL constraint without WHERE {")
    head, body = code[: where.start()], code[where.end() :]
    if _FORBIDDEN.search(body) or len(re.findall(r"\bSELECT\b", head, re.IGNORECASE)) != 1:
        raise Unsupported("MINUS, VALUES, SERVICE, GRAPH, FROM or a subquery in a SPARQL constraint")
    if re.search(r"\bAS\s+[?$]this\b", code, re.IGNORECASE):
        raise Unsupported("a SPARQL constraint binding $this")
    depth, exists = 1, []  # exists: the depths at which EXISTS groups opened (called from the top group)
    pending_exists = False
    for token in re.finditer(r"\{|\}|\bEXISTS\b|[?$]this\b", body, re.IGNORECASE):
        t = token.group(0)
        if t == "{":
            depth += 1
            if pending_exists:
                exists.append(depth)
                pending_exists = False
        elif t == "}":
            if exists and exists[-1] == depth:
                exists.pop()
            depth -= 1
            if depth == 0:
                break
        elif t.upper() == "EXISTS":
            pending_exists = depth == 1 or bool(exists)
        elif depth > 1 and not exists:
            raise Unsupported("$this inside a nested group of a SPARQL constraint")


def _sparql_reads(query: str) -> set[str] | None:
    """The IRIs a SPARQL query names (N-Triples), read from rdflib's algebra of it; None when it
    has a variable or negated predicate, so it may read any."""
    from rdflib import URIRef, Variable
    from rdflib.paths import NegatedPath, Path
    from rdflib.plugins.sparql import prepareQuery

    try:
        algebra = prepareQuery(query).algebra
    except Exception:  # noqa: BLE001 — what rdflib cannot read may read anything
        return None
    out: set[str] = set()
    todo = [algebra]
    while todo:
        node = todo.pop()
        if isinstance(node, URIRef):
            out.add(f"<{node}>")
        elif isinstance(node, NegatedPath):
            return None
        elif isinstance(node, Path):
            todo += list(getattr(node, "args", ())) + [getattr(node, a) for a in ("arg", "path") if hasattr(node, a)]
        elif isinstance(node, dict):
            if any(isinstance(t[1], Variable) for t in node.get("triples") or () if len(t) == 3):
                return None
            todo += node.values()
        elif isinstance(node, (list, tuple, set)):
            todo += node
    return out


@functools.lru_cache(maxsize=None)  # the same shapes, compiled again (a session starting over)
def _sparql_across(query: str) -> frozenset[Across] | None:
    """What a SPARQL constraint reads away from $this, from rdflib's algebra of it: in a triple
    pattern whose subject is $this, the steps after a forward first one; in any other pattern every
    step, either way (which side it is reached from depends on the join). None when it has a variable
    or negated predicate, or rdflib cannot read it: it may read anything."""
    from rdflib import RDF as RDF_NS
    from rdflib import URIRef, Variable
    from rdflib.paths import AlternativePath, InvPath, MulPath, NegatedPath, SequencePath
    from rdflib.plugins.sparql import prepareQuery

    def steps(path, at_focus: bool) -> set[Across] | None:
        if isinstance(path, URIRef):
            return set() if at_focus else {Across(d, f"<{path}>") for d in (False, True)}
        if isinstance(path, InvPath) and isinstance(path.arg, URIRef) and at_focus:
            return {Across(True, f"<{path.arg}>")}
        if isinstance(path, (InvPath, MulPath)):
            inner = path.arg if isinstance(path, InvPath) else path.path
            found = steps(inner, False)
            return None if found is None else {Across(d, a.predicate) for a in found for d in (False, True)}
        if isinstance(path, (SequencePath, AlternativePath)):
            out: set[Across] = set()
            for i, arg in enumerate(path.args):
                found = steps(arg, at_focus and (i == 0 or isinstance(path, AlternativePath)))
                if found is None:
                    return None
                out |= found
            return out
        return None  # a variable or negated predicate

    try:
        algebra = prepareQuery(query).algebra
    except Exception:  # noqa: BLE001 — what rdflib cannot read may read anything
        return None
    out: set[Across] = set()
    todo: list = [algebra]
    while todo:
        node = todo.pop()
        if isinstance(node, dict):
            for triple in node["triples"] if "triples" in node else ():
                if len(triple) != 3 or isinstance(triple[1], NegatedPath):
                    return None
                subject, predicate, obj = triple
                found = steps(predicate, subject == Variable("this"))
                if found is None:
                    return None
                if predicate == RDF_NS.type and isinstance(obj, URIRef):  # an instance of one class
                    found = {Across(a.inverse, a.predicate, f"<{obj}>") for a in found}
                out |= found
            todo += node.values()
        elif isinstance(node, (list, tuple, set)):
            todo += node
    return frozenset(out)


@dataclass
class Compiled:
    """Compiled shapes, and the shapes refused (shape node -> why), which pySHACL must check."""

    shapes: list[_Shape]
    refused: dict
    _across: frozenset[Across] | None = field(default=None, init=False, repr=False)

    def reads_across(self) -> frozenset[Across] | None:
        """Every kind of triple the shapes read away from their focus nodes (None: any triple; so it is
        when a shape is refused, as what pySHACL reads is not known). Made once, when first asked."""
        if self.refused:
            return None
        if self._across is None:
            out: set[Across] = set()
            for shape in self.shapes:
                out |= shape.across
                for check in shape.checks:
                    across = _sparql_across(check.body) if check.across is None else check.across
                    if across is None:
                        return None
                    out |= across
            self._across = frozenset(out)
        return self._across


def without_targets(shape_triples: list, shapes: Iterable[_Shape]) -> list:
    """The shapes graph without the targets of `shapes`: what pySHACL needs to check only the others."""
    compiled = {shape.node for shape in shapes}
    targeting = {SH + t for t in _TARGETS}
    classes = {ox.NamedNode(RDFS + "Class"), ox.NamedNode(OWL_CLASS)}
    return [
        t
        for t in shape_triples
        if t.subject not in compiled
        or not (t.predicate.value in targeting or (t.predicate.value == RDF + "type" and t.object in classes))
    ]


def rewritten_literals(literals: Iterable) -> list[str]:
    """Of these literals (pyoxigraph terms or N-Triples text), those a pyoxigraph store would hold in
    another form than written (N-Triples, as written). Language tags are case-insensitive, so a
    lower-cased tag is not a rewrite."""
    written = sorted({str(t) for t in literals})
    if not written:
        return []
    document = "".join(f"<urn:x:{i}> <urn:x:v> {t} .\n" for i, t in enumerate(written)).encode()
    parsed = {t.subject.value: t.object for t in ox.parse(document, format=ox.RdfFormat.N_TRIPLES)}
    store = ox.Store()
    store.load(document, format=ox.RdfFormat.N_TRIPLES)
    held = {q.subject.value: q.object for q in store}
    out = []
    for i, text in enumerate(written):
        as_written = parsed[f"urn:x:{i}"]
        if as_written.language:
            as_written = ox.Literal(as_written.value, language=as_written.language.lower())
        if as_written != held[f"urn:x:{i}"]:
            out.append(text)
    return out


_XSD_STRING = f"^^<{XSD}string>".encode()


def rewritten_in_ntriples(ntriples: bytes | mmap.mmap) -> dict[str, set[str]]:
    """The typed literals of an N-Triples document (one triple a line) that a store would not hold
    as written, each with the predicates (N-Triples) of the triples holding it. Only lines with a
    typed literal are looked at: finding them is a C-speed search."""
    typed: dict[bytes, set[bytes]] = {}
    at = ntriples.find(b'"^^<')
    while at >= 0:
        start = ntriples.rfind(b"\n", 0, at) + 1
        end = ntriples.find(b"\n", at)
        end = len(ntriples) if end < 0 else end
        _, predicate, literal = ntriples[start:end].split(b" ", 2)  # subject and predicate hold no space
        literal = literal.rstrip().removesuffix(b".").rstrip()
        if literal.startswith(b'"') and not literal.endswith(_XSD_STRING):
            typed.setdefault(literal, set()).add(predicate)
        at = ntriples.find(b'"^^<', end)
    rewritten = rewritten_literals(t.decode() for t in typed)
    return {t: {p.decode() for p in typed[t.encode()]} for t in rewritten}


# --- running --------------------------------------------------------------------------------------


def _focus_pattern(shape: _Shape, focus: list[str] | None) -> str:
    """The pattern binding ?this to the shape's focus nodes. With `focus`, its VALUES goes inside
    each target's group: joined outside, the store would first list every target of the shape."""
    if focus is None:
        targets = " UNION ".join(shape.targets)
    else:
        values = f"VALUES ?this {{ {' '.join(focus)} }}"
        targets = " UNION ".join("{ " + values + " " + t[1:] for t in shape.targets)
    return f"{{ SELECT DISTINCT ?this WHERE {{ {targets} }} }}"


_WHERE_OPEN = re.compile(r"\bWHERE\s*\{", re.IGNORECASE)


def _sparql_query(check: _Check, focus_pattern: str) -> str:
    """Inject the focus-node pattern at the start of the constraint's WHERE group, binding $this as
    pySHACL's pre-binding would, before any FILTER of that group is evaluated."""
    m = _WHERE_OPEN.search(check.body)
    if m is None:
        raise Unsupported("SPARQL constraint without WHERE {")
    return check.body[: m.end()] + " " + focus_pattern + " " + check.body[m.end() :]


def _select(store: ox.Store, query: str) -> ox.QuerySolutions:
    """The rows of a SELECT query (typed as such: the engine asks nothing else)."""
    return cast(ox.QuerySolutions, store.query(query))


def _run(store: ox.Store, check: _Check, focus_pattern: str) -> list[Result]:
    if check.sparql:
        return _run_sparql(store, check, focus_pattern)
    query = f"SELECT DISTINCT {check.select} WHERE {{ {check.body.replace('{focus}', focus_pattern)} }}"
    out = []
    for row in _select(store, query):
        this = str(row["this"])
        value = str(row["value"]) if check.with_value else ""
        out.append(
            Result(this, check.path, value, check.severity, check.shape, check.component, tuple(sorted(check.messages)))
        )
    return out


def _run_sparql(store: ox.Store, check: _Check, focus_pattern: str) -> list[Result]:
    solutions = _select(store, _sparql_query(check, focus_pattern))
    names = [v.value for v in solutions.variables]
    seen = set()
    failed = set()
    out = []
    for row in solutions:
        bound = {n: row[n] for n in names if row[n] is not None}
        this = bound.pop("this", None)
        if this is None:
            continue
        if "failure" in bound:
            if this not in failed:
                failed.add(this)
                out.append(
                    Result(
                        str(this),
                        check.path,
                        str(this) if check.node_shape else "",
                        check.severity,
                        check.shape,
                        check.component,
                        tuple(sorted(check.messages)),
                    )
                )
            continue
        key = (this, tuple(sorted((k, str(v)) for k, v in bound.items())))
        if key in seen:
            continue
        seen.add(key)
        path = bound.pop("path", None)
        value = bound.pop("value", None)
        if value is None and check.node_shape:
            value = this
        variables = {**{k: v for k, v in bound.items()}, "this": this}
        if path is not None:
            variables["path"] = path
        if value is not None:
            variables["value"] = value
        messages = tuple(sorted({_fill(m, variables) for m in check.messages}))
        out.append(
            Result(
                str(this),
                str(path) if path is not None else check.path,
                str(value) if value is not None else "",
                check.severity,
                check.shape,
                check.component,
                messages,
            )
        )
    return out


def _fill(message: str, variables: dict) -> str:
    """Message templates: {?var} / {$var} become the variable's value (as pySHACL writes it)."""
    for name, value in variables.items():
        text = value.value if isinstance(value, (ox.NamedNode, ox.Literal, ox.BlankNode)) else str(value)
        message = re.sub("{[?$]" + re.escape(name) + "}", text.replace("\\", "\\\\"), message)  # the text as is
    return message


def compile_shapes(shape_triples: Iterable, store: ox.Store) -> Compiled:
    """Compile every shape that has a target, or list it as refused. Class hierarchies are read from
    the data graph in `store`."""
    return Compiler(ShapesGraph(shape_triples), store).compile()


def validate_store(store: ox.Store, shapes: list[_Shape], focus: Iterable[str] | None = None) -> list[Result]:
    """Every validation result of the compiled shapes over the data graph in `store`, sorted.

    `focus`: IRIs of the only focus nodes to check (None: all targets)."""
    focus_terms = None if focus is None else sorted(f"<{iri}>" for iri in focus)
    if focus_terms == []:
        return []
    results: list[Result] = []
    types: dict[str, set[str]] = {}  # of the focus nodes, asked once for every shape that targets classes
    if focus_terms is not None and any(shape.classes is not None for shape in shapes):
        for row in _select(
            store, f"SELECT ?this ?type WHERE {{ VALUES ?this {{ {' '.join(focus_terms)} }} ?this a ?type }}"
        ):
            types.setdefault(str(row["this"]), set()).add(str(row["type"]))
    targeted_by: dict[tuple[str, ...], list[str]] = {}  # the other shapes' targets, by their patterns
    for shape in shapes:
        if focus_terms is None:
            pattern = _focus_pattern(shape, None)
        else:  # a few focus nodes (an edit): the shape runs only on those it targets
            if shape.classes is not None:
                targeted = [n for n in focus_terms if not types.get(n, set()).isdisjoint(shape.classes)]
            else:
                key = tuple(shape.targets)
                if key not in targeted_by:
                    found = _select(store, f"SELECT ?this WHERE {_focus_pattern(shape, focus_terms)}")
                    targeted_by[key] = sorted({str(row["this"]) for row in found})
                targeted = targeted_by[key]
            if not targeted:
                continue
            pattern = f"{{ VALUES ?this {{ {' '.join(targeted)} }} }}"  # targets all: no need to ask again
        for check in shape.checks:
            results.extend(_run(store, check, pattern))
    return sorted(results)


# --- reports ----------------------------------------------------------------------------------


def term_text(nt: str) -> str:
    """An N-Triples term as text: an IRI without brackets, a literal's lexical form; paths unchanged."""
    if nt.startswith("<") and nt.endswith(">") and " " not in nt:
        return nt[1:-1]
    if nt.startswith('"'):
        (t,) = ox.parse(f"<x:s> <x:p> {nt} .", format=ox.RdfFormat.N_TRIPLES)
        return t.object.value
    return nt


def report_turtle(results: list[Result], conforms: bool) -> str:
    """A sh:ValidationReport in Turtle (results as blank nodes, in sorted order)."""
    lines = [
        f"@prefix sh: <{SH}> .",
        f"@prefix rdfs: <{RDFS}> .",
        "",
        "[] a sh:ValidationReport ;",
        f"    sh:conforms {'true' if conforms else 'false'}",
    ]
    for r in results:
        parts = [
            "a sh:ValidationResult",
            f"sh:focusNode {r.focus}",
            f"sh:resultSeverity <{r.severity}>",
            f"sh:sourceConstraintComponent <{r.component}>",
        ]
        if r.path:
            parts.append(
                f"sh:resultPath {r.path}"
                if r.path.startswith("<") and " " not in r.path
                else f"sh:resultPath {_lit(ox.Literal(r.path))}"
            )
        if r.value:
            parts.append(f"sh:value {r.value}")
        if r.shape.startswith("<"):
            # A property shape without an IRI is described as `<node shape>[path constraints]`: name
            # the node shape that holds it, and keep the description as a comment.
            node_shape, bracket, _ = r.shape.partition("[")
            parts.append(f"sh:sourceShape {node_shape}")
            if bracket:
                parts.append(f"rdfs:comment {_lit(ox.Literal('property shape ' + r.shape[len(node_shape) :]))}")
        parts += [f"sh:resultMessage {_lit(ox.Literal(m))}" for m in r.messages]
        lines[-1] += " ;"
        lines.append("    sh:result [ " + " ;\n        ".join(parts) + " ]")
    return "\n".join(lines) + " .\n"


def results_from_report(report, shapes_graph) -> list[Result]:
    """pySHACL's report graph (rdflib) as Results, naming shapes and paths the way this engine does."""

    def ox_triples(graph):
        return ox.parse(graph.serialize(format="nt", encoding="utf-8"), format=ox.RdfFormat.N_TRIPLES)

    report_triples = list(ox_triples(report))
    g = ShapesGraph(list(ox_triples(shapes_graph)) + report_triples)
    out = []
    # the report's own results: not the sh:detail results nested in them
    for node in (t.object for t in report_triples if t.predicate.value == SH + "result"):
        path = g.one(node, SH + "resultPath")
        value = g.one(node, SH + "value")
        out.append(
            Result(
                str(g.one(node, SH + "focusNode")),
                path_sparql(g, path) if path is not None else "",
                str(value) if value is not None else "",
                g.one(node, SH + "resultSeverity").value,
                shape_key(g, g.one(node, SH + "sourceShape")),
                g.one(node, SH + "sourceConstraintComponent").value,
                tuple(sorted(m.value for m in g.objects(node, SH + "resultMessage"))),
            )
        )
    return sorted(out)
