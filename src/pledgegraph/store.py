"""SPARQL over the built graph: load dist/ into Oxigraph, check a query is safe, run it, write answers.

rdflib's engine is 20-150x slower than Oxigraph's, so queries run on an in-memory pyoxigraph Store
loaded from `dist/pledgegraph.trig`. Oxigraph executes `SERVICE` by making HTTP requests and has no
switch to stop it, so every query is checked before it runs (`check_query`): updates, `SERVICE`,
`LOAD`, and `FROM`/`FROM NAMED` naming anything but this dataset's graphs are refused. Oxigraph
cannot cancel a query either: time limits live in `workers.QueryPool`, which runs queries in
processes it can kill.

The default graph of a query is the asserted graph plus the inferred one (absent graphs are
simply empty); `asserted_only` narrows it to the curated facts. The ontology stays reachable with
`GRAPH <…/graph/ontology>`. Prefixes of `vocab.PREFIXES` are predeclared; a query's own PREFIX
lines take precedence.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterable

import pyoxigraph as ox

from .errors import QueryError, QueryRefused, QuerySyntaxError, TooLarge, UnusableInput
from .export import serialize
from .settings import GRAPH_NAMES, OUTPUT_STEM, graph_iri
from .vocab import DEFAULT_BASE, PG, PGV, PREFIXES, XSD

DATASET_FILE = OUTPUT_STEM + ".trig"
RESULT_FORMATS = ("json", "xml", "csv", "tsv")          # SELECT and ASK answers
GRAPH_RESULT_FORMATS = ("turtle", "ntriples", "jsonld", "rdfxml")  # CONSTRUCT and DESCRIBE answers
_OX_RESULT_FORMATS = {"json": ox.QueryResultsFormat.JSON, "xml": ox.QueryResultsFormat.XML,
                      "csv": ox.QueryResultsFormat.CSV, "tsv": ox.QueryResultsFormat.TSV}


# -- loading -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Loaded:
    """A store holding one build's graphs, and the base IRI that build used."""

    store: ox.Store
    base: str
    path: Path

    @property
    def graph_iris(self) -> frozenset[str]:
        """The graphs a query may name in FROM / FROM NAMED (present or not)."""
        return frozenset(graph_iri(self.base, name) for name in GRAPH_NAMES)

    def default_graphs(self, asserted_only: bool = False) -> list[ox.NamedNode]:
        names = ("asserted",) if asserted_only else ("asserted", "inferred")
        return [ox.NamedNode(graph_iri(self.base, n)) for n in names]


def load(dist: Path) -> Loaded:
    """The build output in `dist` as a store; UnusableInput when there is none."""
    path = Path(dist) / DATASET_FILE
    if not path.is_file():
        raise UnusableInput(f"no built graph at {path}: run `pledgegraph build` first")
    store = ox.Store()
    try:
        store.bulk_load(path=str(path), format=ox.RdfFormat.TRIG)
    except (SyntaxError, OSError) as e:
        raise UnusableInput(f"{path} cannot be read ({e}): run `pledgegraph build` again") from e
    suffix = graph_iri("", "asserted")
    bases = [g.value[: -len(suffix)] for g in store.named_graphs()
             if isinstance(g, ox.NamedNode) and g.value.endswith(suffix)]
    if len(bases) != 1:
        raise UnusableInput(f"{path} has no single asserted graph (<…{suffix}>): run `pledgegraph build` again")
    return Loaded(store, bases[0], path)


def describe(loaded: Loaded, iri: str) -> list[ox.Triple]:
    """What the graph says about `iri`: its own triples and those of the nodes nested below it
    (`…/name/1`, `…/cite/<source>/quote`…), from every graph, sorted. Empty when it is unknown."""
    found: set[ox.Triple] = set()
    todo, seen = [iri], {iri}
    below = iri + "/"
    reified = ox.NamedNode(PG + "claimSubject")  # a claim below the record points at it, not from it
    while todo:
        subject = ox.NamedNode(todo.pop())
        own = [ox.Triple(q.subject, q.predicate, q.object) for q in loaded.store.quads_for_pattern(subject, None, None)]
        found.update(own)
        nested = [t.object for t in own]
        nested += [q.subject for q in loaded.store.quads_for_pattern(None, reified, subject)]
        for node in nested:
            if isinstance(node, ox.NamedNode) and node.value.startswith(below) and node.value not in seen:
                seen.add(node.value)
                todo.append(node.value)
    return sorted(found, key=str)


# -- checking a query before it runs -----------------------------------------------------------

_UNICODE_ESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")
_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<comment>\#[^\n\r]*)
  | (?P<iri><[^<>"{}|^`\\\x00-\x20]*>)
  | (?P<string>'''(?:[^'\\]|\\.|'(?!''))*'''|\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"
               |'(?:[^'\\\n\r]|\\.)*'|"(?:[^"\\\n\r]|\\.)*")
  | (?P<var>[?$]\w+)
  | (?P<pname>(?:[^\W\d_][\w.-]*)?:(?:[\w:.-]|%[0-9A-Fa-f]{2}|\\[_~.!$&'()*+,;=/?\#@%-])*)
  | (?P<word>[^\W\d][\w-]*)
  | (?P<other>.)
""", re.VERBOSE | re.DOTALL)
_FORMS = {"SELECT", "ASK", "CONSTRUCT", "DESCRIBE"}
_UPDATES = {"INSERT", "DELETE", "LOAD", "CLEAR", "DROP", "CREATE", "ADD", "MOVE", "COPY", "WITH"}


@dataclass(frozen=True)
class Query:
    """A query that passed the checks. `form` is select/ask/construct/describe ("" when the
    parser will reject it anyway); `own_dataset` when it names its graphs with FROM.
    `needs_sandbox` when the word "service" appears other than as the (refused) keyword, in a
    string, IRI or name: the check reads tokens, not the full grammar, so such a query only runs
    where outbound connections are blocked at the system level (see `workers`)."""

    text: str
    form: str
    own_dataset: bool = False
    needs_sandbox: bool = False
    bindings: tuple[tuple[str, str], ...] = ()  # (variable, term in N-Triples syntax), pre-bound (SEP-0007)

    def bound(self, bindings: dict[str, str]) -> "Query":
        return replace(self, bindings=tuple(sorted(bindings.items())))

    @property
    def graph_result(self) -> bool:
        return self.form in ("construct", "describe")


def _tokens(text: str) -> list[tuple[str, str]]:
    found = []
    for m in _TOKEN.finditer(text):
        kind, value = m.lastgroup, m.group()
        if kind == "pname" and value.endswith("."):  # a prefixed name cannot end with a dot
            value = value.rstrip(".")
            found.append((kind, value))
            found.extend(("other", ".") for _ in range(len(m.group()) - len(value)))
        elif kind not in ("space", "comment"):
            found.append((kind, value))
    return found


def _unescape(text: str) -> str:
    """Codepoint escapes are replaced before parsing (SPARQL 1.1 §19.2), as Oxigraph does: a
    keyword spelt `\\u0053ERVICE` is still SERVICE."""
    def replace(m):
        code = int(m.group(1) or m.group(2), 16)
        return chr(code) if code <= 0x10FFFF else m.group()
    return _UNICODE_ESCAPE.sub(replace, text)


def prefix_declarations(tokens: list[tuple[str, str]]) -> list[int]:
    """The positions of `PREFIX name: <iri>` declarations in a query's tokens."""
    return [i for i, (kind, value) in enumerate(tokens)
            if kind == "word" and value.upper() == "PREFIX" and i + 2 < len(tokens)
            and tokens[i + 1][0] == "pname" and tokens[i + 2][0] == "iri"]


def declared_prefixes(tokens: list[tuple[str, str]]) -> dict[str, str]:
    """The predeclared prefixes, overridden by the query's own PREFIX lines."""
    prefixes = dict(PREFIXES)
    for i in prefix_declarations(tokens):
        prefixes[tokens[i + 1][1][:-1]] = tokens[i + 2][1][1:-1]
    return prefixes


def check_query(text: str, allowed_graphs: Iterable[str]) -> Query:
    """Refuse what a read-only public endpoint must not run, before anything runs."""
    source = _unescape(text)
    tokens = _tokens(source)
    words = [(i, v.upper()) for i, (kind, v) in enumerate(tokens) if kind == "word"]
    updates = sorted({w for _, w in words if w in _UPDATES})
    if updates:
        raise QueryRefused(f"updates are not accepted ({', '.join(updates)}): this graph is read-only")
    if any(w == "SERVICE" for _, w in words):
        raise QueryRefused("SERVICE is not allowed: queries run on this dataset only, never on other endpoints")
    prefixes = declared_prefixes(tokens)
    allowed = set(allowed_graphs)
    own_dataset = False
    for i, w in words:
        if w != "FROM":
            continue
        own_dataset = True
        j = i + 2 if i + 1 < len(tokens) and tokens[i + 1][1].upper() == "NAMED" else i + 1
        kind, value = tokens[j] if j < len(tokens) else ("", "")
        iri = value[1:-1] if kind == "iri" else _expand(value, prefixes) if kind == "pname" else None
        if iri not in allowed:
            raise QueryRefused(f"FROM {value or '(nothing)'}: only this dataset's graphs can be named: "
                               + ", ".join(f"<{g}>" for g in sorted(allowed)))
    form = next((w.lower() for _, w in words if w in _FORMS), "")
    return Query(text, form, own_dataset, needs_sandbox=re.search("service", source, re.I) is not None)


def describe_targets(text: str) -> list[str] | None:
    """The IRIs of `DESCRIBE <iri> pg:x …` with no WHERE clause, else None: those are answered with
    the record's whole subgraph (`describe`), the same triples as its served `.ttl`, rather than
    Oxigraph's DESCRIBE (the node's own triples only, without its dates, citations and quotes)."""
    tokens = _tokens(_unescape(text))
    prefixes = declared_prefixes(tokens)
    start = None
    for i, (kind, value) in enumerate(tokens):
        if kind == "word" and value.upper() == "DESCRIBE":
            start = i + 1
            break
    if start is None or start >= len(tokens):
        return None
    iris = []
    for kind, value in tokens[start:]:
        iri = value[1:-1] if kind == "iri" else _expand(value, prefixes) if kind == "pname" else None
        if iri is None:
            return None
        iris.append(iri)
    return iris


def _expand(pname: str, prefixes: dict[str, str]) -> str | None:
    prefix, _, local = pname.partition(":")
    return prefixes[prefix] + local if prefix in prefixes and "\\" not in local and "%" not in local else None


_ERROR_AT = re.compile(r"error at (\d+):(\d+): ?(.*)", re.DOTALL)


def syntax_error(message: str, text: str = "") -> QuerySyntaxError:
    """Oxigraph's "error at LINE:COLUMN: …" as a QuerySyntaxError that knows where, with the
    parser's list of expected tokens (dozens, with Unicode ranges) said in a few words, and the
    offending line with a caret under the column when the query text is given."""
    m = _ERROR_AT.search(message)
    if not m:
        return QuerySyntaxError(f"syntax error: {short_expected(message)}")
    line, column = int(m.group(1)), int(m.group(2))
    lines = text.splitlines()
    shown = ""
    if 0 < line <= len(lines):
        shown = f"\n  {lines[line - 1].expandtabs(1)}\n  {' ' * max(column - 1, 0)}^"
    return QuerySyntaxError(f"syntax error at line {line}, column {column}: {short_expected(m.group(3))}{shown}",
                            line, column)


# What the tokens Oxigraph lists as expected stand for, in a reader's words (in this order).
_EXPECTED_WORDS = (
    ("a variable", {"?", "$"}), ("an IRI", {"<"}), ("a prefixed name", {":", "[a-z]"}),
    ("a string", {"'", '"', "'''", '\\"\\"\\"', '\\"'}), ("a number", {"[0-9]", "+", "-"}),
    ("true/false", {"true", "false"}), ("a blank node", {"_:", "["}),
)
_EXPECTED_ITEM = re.compile(r'"((?:[^"\\]|\\.)*)"|(\[[^\]]*\])|([A-Za-z_]\w*)')


def short_expected(message: str) -> str:
    """"expected one of …" in a few words: token classes instead of characters and ranges."""
    m = re.match(r"(?s)expected one of (.*)", message.strip())
    if not m:
        return " ".join(re.sub(r"\[[^\]]*\\u\{[^\]]*\]", "a letter", message).split())
    items = set()
    for quoted, ranged, word in _EXPECTED_ITEM.findall(m.group(1)):
        if ranged:
            items.add("[0-9]" if "'0'" in ranged else "[a-z]" if ("'a'" in ranged or "\\u" in ranged) else ranged)
        else:
            items.add(quoted or word)
    said, used = [], set()
    for words, tokens in _EXPECTED_WORDS:
        if items & tokens:
            said.append(words)
            used |= items & tokens
    functions = sorted(i for i in items - used if re.fullmatch(r"[A-Za-z]\w+", i) and i not in ("true", "false"))
    if functions:
        said.append("a function or expression (" + ", ".join(functions[:4]) + (", …" if len(functions) > 4 else "") + ")")
        used |= set(functions)
    said += [f"'{i}'" for i in sorted(items - used - {"[_]", "<<", "<<("})]
    return "expected " + ", ".join(said) if said else message


# -- running a query ---------------------------------------------------------------------------

@dataclass
class Answer:
    """What a query returned, already bounded by the row cap."""

    form: str
    variables: list[str] = field(default_factory=list)
    rows: list[tuple] = field(default_factory=list)
    boolean: bool | None = None
    triples: list[ox.Triple] = field(default_factory=list)
    short_base: str = ""  # when set, tables show this build's entities as KIND/ID (`--labels`)

    def serialize(self, fmt: str) -> bytes:
        """The answer in a SPARQL results format, an RDF format, or "table" for people."""
        if self.form in ("construct", "describe"):
            if fmt not in GRAPH_RESULT_FORMATS:
                raise QueryError(f"a {self.form.upper()} answer is RDF: ask for one of "
                                   + ", ".join(GRAPH_RESULT_FORMATS))
            return serialize(self.triples, fmt)
        if fmt == "table":
            return table(self).encode()
        if fmt not in RESULT_FORMATS:
            raise QueryError(f"a {self.form.upper() or 'SELECT'} answer is a table: ask for one of "
                               + ", ".join(("table",) + RESULT_FORMATS))
        data = self._json()
        if fmt == "json":
            return data
        # Oxigraph's writers do the escaping that XML, CSV and TSV each need.
        parsed = ox.parse_query_results(data, format=ox.QueryResultsFormat.JSON)
        return parsed.serialize(format=_OX_RESULT_FORMATS[fmt])

    def _json(self) -> bytes:
        if self.boolean is not None:
            doc = {"head": {}, "boolean": self.boolean}
        else:
            doc = {"head": {"vars": self.variables},
                   "results": {"bindings": [{v: _json_term(t) for v, t in zip(self.variables, row)
                                             if t is not None} for row in self.rows]}}
        return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


def _json_term(term) -> dict:
    """One RDF term in the SPARQL 1.1 JSON results format."""
    if isinstance(term, ox.NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, ox.BlankNode):
        return {"type": "bnode", "value": term.value}
    if isinstance(term, ox.Literal):
        doc = {"type": "literal", "value": term.value}
        if term.language:
            doc["xml:lang"] = term.language
        elif term.datatype.value != XSD + "string":
            doc["datatype"] = term.datatype.value
        return doc
    return {"type": "triple", "value": {"subject": _json_term(term.subject),
                                        "predicate": _json_term(term.predicate),
                                        "object": _json_term(term.object)}}


def execute(loaded: Loaded, query: Query, *, asserted_only: bool = False, max_rows: int | None = None,
            default_graphs: list[str] | None = None, named_graphs: list[str] | None = None) -> Answer:
    """Run a checked query in this process. Callers that must bound time use `workers.QueryPool`.

    `default_graphs`/`named_graphs` are the SPARQL Protocol's default-graph-uri/named-graph-uri
    (checked against the dataset's graphs); without them a query's FROM clauses choose, and
    without those the default graph is asserted (+ inferred)."""
    for iri in (default_graphs or []) + (named_graphs or []):
        if iri not in loaded.graph_iris:
            raise QueryRefused(f"graph <{iri}> is not part of this dataset: use one of "
                               + ", ".join(f"<{g}>" for g in sorted(loaded.graph_iris)))
    options: dict = {"prefixes": PREFIXES}
    if default_graphs or named_graphs:
        options["default_graph"] = [ox.NamedNode(g) for g in default_graphs or []] or ox.DefaultGraph()
        options["named_graphs"] = [ox.NamedNode(g) for g in named_graphs or []]
    elif not query.own_dataset:
        options["default_graph"] = loaded.default_graphs(asserted_only)
    text = query.text
    if query.bindings:
        options["substitutions"] = {ox.Variable(v): _term(t) for v, t in query.bindings}
    targets = describe_targets(query.text) if query.form == "describe" else None
    if targets and all(t.startswith(loaded.base + "id/") for t in targets):
        triples = sorted({t for iri in targets for t in describe(loaded, iri)}, key=str)
        return Answer("describe", triples=_bounded(iter(triples), max_rows, "triples"))
    try:
        try:
            result = loaded.store.query(text, **options)
        except RuntimeError as e:  # Oxigraph substitutes projected variables only (and not in CONSTRUCT)
            if "substitutions" not in options or "does not contains variable" not in str(e):
                raise
            result = loaded.store.query(_values_in_where(text, options.pop("substitutions")), **options)
    except SyntaxError as e:
        raise syntax_error(str(e), query.text) from None
    if isinstance(result, ox.QueryBoolean):
        return Answer("ask", boolean=bool(result))
    if isinstance(result, ox.QuerySolutions):
        answer = Answer(query.form if query.form in ("select", "ask") else "select",
                        variables=[v.value for v in result.variables])
        width = len(answer.variables)
        answer.rows = _bounded((tuple(s[i] for i in range(width)) for s in result), max_rows, "rows")
        return answer
    triples = _bounded(iter(result), max_rows, "triples")
    return Answer(query.form or "construct", triples=sorted(set(triples), key=str))


def _values_in_where(text: str, bound: dict) -> str:
    """The query with a VALUES block opening its WHERE clause: the same bindings, seen by every
    pattern and FILTER of that group, for variables the query does not project."""
    where = re.search(r"\bWHERE\s*\{", text, re.I) or re.search(r"\{", text)
    if where is None:
        raise QueryError("a bound variable needs a WHERE clause to bind it in")
    values = ("VALUES (" + " ".join(str(v) for v in bound) + ") { ("
              + " ".join(str(t) for t in bound.values()) + ") } ")
    return text[:where.end()] + values + text[where.end():]


def run_once(dist: Path, text: str, fmt: str | None = None, *, asserted_only: bool = False,
             bound: dict[str, str] | None = None, labels: bool = False, warn=None) -> bytes:
    """One query for the command line, answered in this process (no worker start-up to wait for).

    `fmt` defaults to "table" for SELECT/ASK and "turtle" for CONSTRUCT/DESCRIBE; `bound` pre-binds
    variables (see `bindings`); `labels` adds a name column after each IRI column (`labels.py`).
    `warn(message)`, when given, hears about terms the dataset does not know and, for an empty
    answer, which pattern matched nothing (`advice.py`). A query that mentions "service" outside
    the refused keyword runs in a sandboxed worker instead."""
    loaded = load(dist)
    query = check_query(text, loaded.graph_iris).bound(bound or {})
    fmt = fmt or ("turtle" if query.graph_result else "table")
    if warn:
        from . import advice

        for message in advice.unknown_terms(loaded, query):
            warn(message)
    if query.needs_sandbox:
        from .workers import QueryPool

        with QueryPool(dist, workers=1, timeout=None, max_rows=None) as pool:
            return pool.run(query, fmt, asserted_only=asserted_only)
    answer = execute(loaded, query, asserted_only=asserted_only)
    if warn and not answer.rows and not answer.triples and not answer.boolean:
        from . import advice

        for message in advice.why_empty(loaded, query, asserted_only=asserted_only):
            warn(message)
    if labels:
        from .labels import with_labels

        answer = with_labels(answer, loaded)
    return answer.serialize(fmt)


def _bounded(items, cap: int | None, what: str) -> list:
    out = []
    for item in items:
        if cap is not None and len(out) >= cap:
            raise TooLarge(f"the answer has more than {cap} {what}: add a LIMIT (or narrow the query)")
        out.append(item)
    return out


def table(answer: Answer) -> str:
    """An aligned text table of a SELECT answer (prefixed names where a known prefix fits)."""
    if answer.boolean is not None:
        return ("true" if answer.boolean else "false") + "\n"
    header = [f"?{v}" for v in answer.variables]
    cells = [[_cell(t, answer.short_base) for t in row] for row in answer.rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip(),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in cells]
    lines.append(f"({len(cells)} row{'s' if len(cells) != 1 else ''})")
    return "\n".join(lines) + "\n"


_LOCAL = re.compile(r"[\w-]*\Z")


def _cell(term, short_base: str = "") -> str:
    if term is None:
        return ""
    if isinstance(term, ox.NamedNode) and short_base:
        if term.value.startswith(short_base + "id/"):
            return term.value[len(short_base) + 3:]
        if term.value.startswith(PGV):
            return "pgv:" + term.value[len(PGV):]
    if isinstance(term, ox.NamedNode):
        for prefix, ns in PREFIXES.items():
            if term.value.startswith(ns) and _LOCAL.match(term.value[len(ns):]):
                return f"{prefix}:{term.value[len(ns):]}"
        return term.value
    if isinstance(term, ox.Literal):
        text = " ".join(term.value.split())
        return f"{text} @{term.language}" if term.language else text
    return str(term)


# -- parameters ----------------------------------------------------------------------------------

_DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")
_RECORD_REF = re.compile(r"[a-z]+/[a-z0-9]+(?:-[a-z0-9]+)*")


def parse_term(value: str, base: str = DEFAULT_BASE) -> str:
    """A parameter value as an RDF term in N-Triples syntax. VALUE is SPARQL term syntax
    (`<https://…>`, `"2015-07-01"^^xsd:date`, `pg:Pledge`, `42`), or for short a bare date
    (`2015-07-01`) or a record as KIND/ID (`org/islamic-state`). Read by Oxigraph's own parser."""
    value = value.strip()
    if _DATE_ONLY.fullmatch(value):
        value = f'"{value}"^^<{XSD}date>'
    elif _RECORD_REF.fullmatch(value):
        value = f"<{base}id/{value}>"
    if not value or any(c in value for c in "{}\n\r") or value.startswith("?") or value.startswith("$"):
        raise QueryError(f"'{value}' is not an RDF term: write <https://…>, \"2015-07-01\"^^xsd:date, "
                         "a bare date 2015-07-01, or a record as KIND/ID (org/islamic-state)")
    try:
        rows = list(ox.Store().query(f"SELECT ?x WHERE {{ VALUES ?x {{ {value} }} }}", prefixes=PREFIXES))
    except SyntaxError:
        rows = []
    if len(rows) != 1 or rows[0]["x"] is None:
        raise QueryError(f"'{value}' is not an RDF term: write <https://…>, \"2015-07-01\"^^xsd:date, "
                         "a bare date 2015-07-01, or a record as KIND/ID (org/islamic-state)")
    return str(rows[0]["x"])


def _term(text: str):
    return next(iter(ox.parse(f"<urn:s> <urn:p> {text} .", format=ox.RdfFormat.N_TRIPLES))).object


def bindings(example: "Example | None", binds: Iterable[str], base: str = DEFAULT_BASE) -> dict[str, str]:
    """The variables to pre-bind: a library query's declared parameters at their defaults,
    overridden by `binds` (`var=VALUE`, see `parse_term`). Binding a variable a library query does
    not declare is an error that names the ones it does."""
    declared = dict(example.parameters) if example else {}
    out = {var: parse_term(default, base) for var, default in declared.items()}
    for bind in binds:
        var, sep, value = bind.partition("=")
        var = var.strip().lstrip("?$")
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", var):
            raise QueryError(f"--bind takes var=VALUE (e.g. date=2015-07-01), not '{bind}'")
        if example and var not in declared:
            raise QueryError(f"query '{example.name}' has no parameter ?{var}; its parameters: "
                             + (", ".join(f"?{v}" for v in declared) or "none"))
        out[var] = parse_term(value, base)
    return out


# -- the example query library -----------------------------------------------------------------

@dataclass(frozen=True)
class Example:
    name: str
    title: str
    description: str
    path: Path
    parameters: tuple[tuple[str, str], ...] = ()  # (variable, default value) from `# param: ?var DEFAULT`

    @property
    def text(self) -> str:
        return self.path.read_text(encoding="utf-8")


def examples(directory: Path) -> list[Example]:
    """Every `*.rq` in the query library; each starts `# title: …`, then `# ` description lines."""
    found = []
    for path in sorted(Path(directory).glob("*.rq")):
        title, description, parameters = "", [], []
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.startswith("#"):
                break
            text = line.lstrip("#").strip()
            if text.lower().startswith("title:") and not title:
                title = text[6:].strip()
            elif text.lower().startswith("param:"):
                var, _, rest = text[6:].strip().partition(" ")
                parameters.append((var.lstrip("?$"), rest.split(" — ")[0].strip()))
            elif text:
                description.append(text)
        found.append(Example(path.stem, title, " ".join(description), path, tuple(parameters)))
    return found


def example(directory: Path, name: str) -> Example:
    known = {e.name: e for e in examples(directory)}
    if name in known:
        return known[name]
    near = difflib.get_close_matches(name, known, n=3) or [n for n in known if n.startswith(name)]
    hint = f" (did you mean {', '.join(near)}?)" if near else ""
    raise UnusableInput(f"no query named '{name}' in {directory}/{hint}; `pledgegraph query --list` lists them")
