"""SPARQL over the built graph: load dist/ into Oxigraph, check a query is safe, run it, write answers.

rdflib's engine is 20-150x slower than Oxigraph's, so queries run on an in-memory pyoxigraph Store
loaded from `dist/pledgegraph.trig`. Oxigraph executes `SERVICE` by making HTTP requests and has no
switch to stop it, so every query is checked on its parse tree before it runs (`check_query`, with
rdflib's SPARQL grammar; pyoxigraph does not expose its own), unless it is plain, with nothing to
refuse (`_plain_query`): updates, `SERVICE`, `LOAD`, and `FROM`/`FROM NAMED` naming anything but this
dataset's graphs are refused. Oxigraph cannot cancel
a query either: time limits live in `workers.QueryPool`, which checks and runs queries in
processes it can kill.

The default graph of a query is the asserted graph plus the inferred one (absent graphs are
simply empty); `asserted_only` narrows it to the curated facts. The ontology stays reachable with
`GRAPH <…/graph/ontology>`. Prefixes of `vocab.PREFIXES` are predeclared; a query's own PREFIX
lines take precedence.
"""

from __future__ import annotations

import difflib
import io
import json
import re
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Iterable

import pyoxigraph as ox

from pledgegraph.delivery.export import serialize
from pledgegraph.delivery.release.describe import CLAIM_LINKS, CLAIM_TYPES  # one owner: what `descriptions` follows
from pledgegraph.delivery.release.pages import entity_iris
from pledgegraph.errors import QueryError, QueryRefused, QuerySyntaxError, TooLarge, UnusableInput
from pledgegraph.layout import GRAPH_NAMES, OUTPUT_STEM, graph_iri
from pledgegraph.model.formats import spreadsheet_safe, xml_safe_bytes
from pledgegraph.model.iris import at_or_below, entity_of, entity_ref, is_entity, is_ref, ref_iri
from pledgegraph.model.vocab import DEFAULT_BASE, PGV, PREFIXES, RDF, XSD

DATASET_FILE = OUTPUT_STEM + ".trig"
RESULT_FORMATS = ("json", "xml", "csv", "tsv")  # SELECT and ASK answers
GRAPH_RESULT_FORMATS = ("turtle", "ntriples", "jsonld", "rdfxml")  # CONSTRUCT and DESCRIBE answers
_OX_RESULT_FORMATS = {
    "json": ox.QueryResultsFormat.JSON,
    "xml": ox.QueryResultsFormat.XML,
    "csv": ox.QueryResultsFormat.CSV,
    "tsv": ox.QueryResultsFormat.TSV,
}
_RDF_TYPE = ox.NamedNode(RDF + "type")
_CLAIM_LINK_NODES = [ox.NamedNode(p) for p in CLAIM_LINKS]
_CLAIM_TYPE_NODES = [ox.NamedNode(c) for c in CLAIM_TYPES]


# -- loading -----------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)  # one object per load: what is read from it is cached by it (weakly)
class Loaded:
    """A store holding one build's graphs, and the base IRI that build used."""

    store: ox.Store
    base: str
    path: Path

    @property
    def graph_iris(self) -> frozenset[str]:
        """The graphs a query may name in FROM / FROM NAMED (present or not)."""
        return frozenset(graph_iri(self.base, name) for name in GRAPH_NAMES)

    @cached_property
    def entities(self) -> list[str]:
        """Every entity of the build, sorted (`pages.entity_iris`), read once: a 404's suggestions need them."""
        return entity_iris(self.store, self.base)

    def description(self, entity: str) -> list[ox.Triple]:
        """What the release says about `entity` (`describe.descriptions`, which publish runs over every
        entity at once), found from the entity alone, so a request costs what its record holds, not what
        the graph holds (a pass over every entity took 64 s at 1M): the triples, in the asserted and
        inferred graphs, of every node of its record (reached from it along links between the record's
        own nodes), and of each claim another record makes about it with the nodes below that claim.
        Empty for an IRI that is not a typed entity."""
        store, graphs, node = self.store, self.default_graphs(), ox.NamedNode(entity)
        if not is_entity(entity, self.base) or next(store.quads_for_pattern(node, _RDF_TYPE, None), None) is None:
            return []
        found = set(self._record_triples(entity))
        records: dict[str, list[ox.Triple]] = {}
        for about in _CLAIM_LINK_NODES:
            for claim in {q.subject.value for g in graphs for q in store.quads_for_pattern(None, about, node, g)}:
                owner = entity_of(claim, self.base)
                if owner is None or owner == entity or not self._is_claim(claim):
                    continue
                if owner not in records:
                    records[owner] = self._record_triples(owner)
                found.update(t for t in records[owner] if at_or_below(t.subject.value, claim))
        return sorted(found, key=str)

    def _record_triples(self, record: str) -> list[ox.Triple]:
        """The asserted and inferred triples of `record` and of every node below it that a link joins to
        another of its nodes (the build mints none that stands alone)."""
        store, graphs = self.store, self.default_graphs()
        seen, todo, out = {record}, [record], set()

        def reach(term) -> None:
            if isinstance(term, ox.NamedNode) and term.value not in seen and entity_of(term.value, self.base) == record:
                seen.add(term.value)
                todo.append(term.value)

        while todo:
            node = ox.NamedNode(todo.pop())
            for g in graphs:
                for q in store.quads_for_pattern(node, None, None, g):
                    out.add(ox.Triple(q.subject, q.predicate, q.object))
                    reach(q.object)
                for q in store.quads_for_pattern(None, None, node, g):
                    reach(q.subject)
        return list(out)

    def _is_claim(self, iri: str) -> bool:
        node = ox.NamedNode(iri)
        return any(
            next(self.store.quads_for_pattern(node, _RDF_TYPE, kind, g), None) is not None
            for kind in _CLAIM_TYPE_NODES
            for g in self.default_graphs()
        )

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
        # Store.load, not bulk_load: into an in-memory store it takes half the time (100k: 2.6 s against 4.9 s)
        store.load(path=str(path), format=ox.RdfFormat.TRIG)
    except (SyntaxError, OSError) as e:
        raise UnusableInput(f"{path} cannot be read ({e}): run `pledgegraph build` again") from e
    suffix = graph_iri("", "asserted")
    bases = [
        g.value[: -len(suffix)]
        for g in store.named_graphs()
        if isinstance(g, ox.NamedNode) and g.value.endswith(suffix)
    ]
    if len(bases) != 1:
        raise UnusableInput(f"{path} has no single asserted graph (<…{suffix}>): run `pledgegraph build` again")
    return Loaded(store, bases[0], path)


def describe(loaded: Loaded, iri: str) -> list[ox.Triple]:
    """What the graph says about `iri`, sorted: for an entity, its description as the release has it
    (`describe.py`: its nodes and the claims about it); for a node below a record (`…/name/<key>`,
    `…/cite/<source>/<digest>/quote`…), the part of its record's description on that node and below it.
    Empty when it is unknown."""
    owner = entity_of(iri, loaded.base)
    found = loaded.description(owner) if owner else []
    if owner == iri:
        return found
    return [t for t in found if at_or_below(t.subject.value, iri)]


# -- checking a query before it runs -----------------------------------------------------------

_FORMS = {"SelectQuery": "select", "AskQuery": "ask", "ConstructQuery": "construct", "DescribeQuery": "describe"}


@dataclass(frozen=True)
class Query:
    """A query that passed the checks: `text` is what Oxigraph runs (codepoint escapes already
    replaced, so both parsers read the same characters); `form` is select/ask/construct/describe;
    `own_dataset` when it names its graphs with FROM."""

    text: str
    form: str
    own_dataset: bool = False
    bindings: tuple[tuple[str, str], ...] = ()  # (variable, term in N-Triples syntax), pre-bound (SEP-0007)

    def bound(self, bindings: dict[str, str]) -> "Query":
        return replace(self, bindings=tuple(sorted(bindings.items())))

    @property
    def graph_result(self) -> bool:
        return self.form in ("construct", "describe")

    @property
    def repeatable(self) -> bool:
        """Whether running it again on the same build gives the same answer (no NOW, RAND, UUID, BNODE…). Most
        texts have none of those names anywhere: a search for each in C (3 µs for a 3 KB library query)
        spares them `_VOLATILE`'s pass (30 µs)."""
        upper = self.text.upper()
        return not any(name in upper for name in _VOLATILE_NAMES) or _VOLATILE.search(self.text) is None


_VOLATILE_NAMES = ("NOW", "RAND", "UUID", "STRUUID", "BNODE")  # functions whose answer changes run to run
# (?=[…]): the names' first letters, so the search skips a position on one test instead of five (twice as fast);
# a comment may stand between the name and its bracket, as white space may (`NOW #…\n()` is a call)
_VOLATILE = re.compile(
    f"(?=[{''.join(sorted({name[0] for name in _VOLATILE_NAMES}))}])\\b(?:{'|'.join(_VOLATILE_NAMES)})"
    r"(?:\s|#[^\n]*\n)*\(",
    re.I,
)


# Tokens, for what reads a query without running it (`advice.py`, DESCRIBE of records); the
# safety checks decide on the parsed query (`check_query`).
_UNICODE_ESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")
# comments, IRIs and strings: delimited, so what can hide a keyword from a search (`_plain_query`)
_COMMENT = r"(?P<comment>\#[^\n\r]*)"
_IRI = r"(?P<iri><[^<>\"{}|^`\\\x00-\x20]*>)"
_STRING = (
    r"(?P<string>'''(?:[^'\\]|\\.|'(?!''))*'''|\"\"\"(?:[^\"\\]|\\.|\"(?!\"\"))*\"\"\""
    r"|'(?:[^'\\\n\r]|\\.)*'|\"(?:[^\"\\\n\r]|\\.)*\")"
)
_TOKEN = re.compile(
    rf"""
    (?P<space>\s+)
  | {_COMMENT}
  | {_IRI}
  | {_STRING}
  | (?P<var>[?$]\w+)
  | (?P<pname>(?:[^\W\d_][\w.-]*)?:(?:[\w:.-]|%[0-9A-Fa-f]{{2}}|\\[_~.!$&'()*+,;=/?\#@%-])*)
  | (?P<word>[^\W\d][\w-]*)
  | (?P<other>.)
""",
    re.VERBOSE | re.DOTALL,
)


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
    return [
        i
        for i, (kind, value) in enumerate(tokens)
        if kind == "word"
        and value.upper() == "PREFIX"
        and i + 2 < len(tokens)
        and tokens[i + 1][0] == "pname"
        and tokens[i + 2][0] == "iri"
    ]


def declared_prefixes(tokens: list[tuple[str, str]]) -> dict[str, str]:
    """The predeclared prefixes, overridden by the query's own PREFIX lines."""
    prefixes = dict(PREFIXES)
    for i in prefix_declarations(tokens):
        prefixes[tokens[i + 1][1][:-1]] = tokens[i + 2][1][1:-1]
    return prefixes


def check_query(text: str, allowed_graphs: Iterable[str], full: bool = False) -> Query:
    """Refuse what a read-only public endpoint must not run, deciding on the parsed query.

    rdflib's SPARQL grammar parses the query (pure Python, so it can be slow or deep: the server
    calls this in a worker, under the query's time and memory limits). Codepoint escapes are
    replaced first (SPARQL 1.1 §19.2) and Oxigraph is then given that replaced text, so no escape
    can read as a string to one parser and as SERVICE to the other; a query rdflib cannot parse
    is refused, never passed on. SERVICE anywhere in the tree, any update (LOAD included), and
    FROM / FROM NAMED naming a graph outside `allowed_graphs` are refused.

    A plain query (`_plain_query`: nothing any of these checks could refuse) skips rdflib's parse,
    30–70 ms for a 3 KB library query, and Oxigraph's own parser judges its syntax; `full` parses
    every query with rdflib (the reference, and the oracle of `_plain_query` in the tests)."""
    from rdflib.plugins.sparql.parser import expandUnicodeEscapes

    try:
        source = expandUnicodeEscapes(text)
    except ValueError as e:
        raise QuerySyntaxError(f"syntax error: {e}") from None
    plain = None if full else _plain_query(source)
    return plain if plain is not None else _parsed_query(source, allowed_graphs)


_PLAIN_MAX = 16 * 1024  # characters: longer texts are rdflib's to judge (the library's longest is 7 KB)
_PLAIN_BRACKETS = 256  # Oxigraph's parser recurses per level: 5,000 nested groups crash it; 1,000 do not
# one pass finds every comment, string and IRI, in linear time (a token-by-token lexer, `_TOKEN`,
# backtracks quadratically on runs like "a.a.a."); the lookaheads name the characters a match can start
# with, so every other position costs one test, not one per alternative (2-3x faster on the library)
_PLAIN_HIDING = re.compile(f"(?=[#'\"<])(?:{_COMMENT}|{_STRING}|{_IRI})", re.VERBOSE | re.DOTALL)
_PLAIN_FORM = re.compile(
    r"\s*(?:(?:PREFIX\s*[^\s:<>]*:\s*<>|BASE\s*<>)\s*)*(SELECT|ASK|CONSTRUCT|DESCRIBE)\b", re.IGNORECASE | re.ASCII
)
_FROM = re.compile(r"(?=F)(?<![?$:])\bFROM\b", re.IGNORECASE | re.ASCII)  # not ?from, $from, ex:from


def _plain_query(source: str) -> Query | None:
    """The checked query for a text none of `check_query`'s refusals can apply to, else None (parse it).

    Plain: no "service" anywhere, not even in a comment or a string (so no reading of the text by
    another lexer can find the keyword), no codepoint escape left (Oxigraph would replace it again), at
    most `_PLAIN_MAX` characters and `_PLAIN_BRACKETS` brackets, no FROM outside comments, strings and
    IRIs (a variable ?from is no FROM), and a query form (SELECT, ASK, CONSTRUCT, DESCRIBE) as the first
    keyword after the PREFIX and BASE lines: so no update either."""
    if len(source) > _PLAIN_MAX or "service" in source.lower() or "\\u" in source or "\\U" in source:
        return None
    if sum(map(source.count, "({[")) > _PLAIN_BRACKETS:
        return None
    bare = _PLAIN_HIDING.sub(lambda m: "<>" if m.lastgroup == "iri" else " ", source)
    form = _PLAIN_FORM.match(bare)
    if form is None or ("from" in bare.lower() and _FROM.search(bare)):  # the regex takes 23 µs on a 6 KB query
        return None
    return Query(source, form.group(1).lower())


def _parsed_query(source: str, allowed_graphs: Iterable[str]) -> Query:
    """`check_query` by rdflib's parse tree."""
    from pyparsing import ParseException
    from rdflib.plugins.sparql.algebra import translatePrologue
    from rdflib.plugins.sparql.parser import parseQuery, parseUpdate

    try:
        prologue, body = parseQuery(source)
    except ParseException as e:
        operations = _update_operations(parseUpdate, source)
        if operations:
            raise QueryRefused(f"updates are not accepted ({', '.join(operations)}): this graph is read-only") from None
        near = e.line[e.col - 1 : e.col + 39].strip() or "the end"
        raise QuerySyntaxError(
            f"syntax error at line {e.lineno}, column {e.col}, near {near!r}", e.lineno, e.col
        ) from None
    except RecursionError:
        raise QuerySyntaxError("syntax error: the query is nested too deeply") from None
    if _contains(body, "ServiceGraphPattern"):
        raise QueryRefused("SERVICE is not allowed: queries run on this dataset only, never on other endpoints")
    clauses = body["datasetClause"] if "datasetClause" in body else []
    if clauses:
        allowed = set(allowed_graphs)
        try:
            resolve = translatePrologue(prologue, None, PREFIXES).absolutize
            names = [("named" in c, str(resolve(c["named" if "named" in c else "default"]))) for c in clauses]
        except Exception as e:  # an unknown prefix, a relative IRI with no BASE
            raise QuerySyntaxError(f"syntax error in FROM: {e}") from None
        for named, iri in names:
            if iri not in allowed:
                raise QueryRefused(
                    f"FROM {'NAMED ' if named else ''}<{iri}>: only this dataset's graphs can be "
                    "named: " + ", ".join(f"<{g}>" for g in sorted(allowed))
                )
    return Query(source, _FORMS[body.name], own_dataset=bool(clauses))


def _update_operations(parse, text: str) -> list[str]:
    """The operations of `text` read as SPARQL Update (INSERT, LOAD…), or [] when it is not one."""
    try:
        request = parse(text).request
    except Exception:  # any failure of the other grammar: not an update either
        return []
    names = {"Modify": "DELETE/INSERT"}
    return sorted({names.get(op.name) or re.match(r"[A-Z][a-z]*", op.name).group().upper() for op in request})


def _contains(tree, name: str) -> bool:
    """Whether a node called `name` is anywhere in rdflib's parse tree (iteratively: trees can be deep)."""
    todo = [tree]
    while todo:
        node = todo.pop()
        if getattr(node, "name", None) == name:
            return True
        if isinstance(node, dict):
            todo.extend(node.values())
        elif isinstance(node, (list, tuple)) or type(node).__name__ == "ParseResults":
            todo.extend(node)
    return False


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
    return QuerySyntaxError(
        f"syntax error at line {line}, column {column}: {short_expected(m.group(3))}{shown}", line, column
    )


# What the tokens Oxigraph lists as expected stand for, in a reader's words (in this order).
_EXPECTED_WORDS = (
    ("a variable", {"?", "$"}),
    ("an IRI", {"<"}),
    ("a prefixed name", {":", "[a-z]"}),
    ("a string", {"'", '"', "'''", '\\"\\"\\"', '\\"'}),
    ("a number", {"[0-9]", "+", "-"}),
    ("true/false", {"true", "false"}),
    ("a blank node", {"_:", "["}),
)
_EXPECTED_ITEM = re.compile(r'"((?:[^"\\]|\\.)*)"|(\[[^\]]*\])|([A-Za-z_]\w*)')


def short_expected(message: str) -> str:
    """ "expected one of …" in a few words: token classes instead of characters and ranges."""
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
        more = ", …" if len(functions) > 4 else ""
        said.append("a function or expression (" + ", ".join(functions[:4]) + more + ")")
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

    def serialize(self, fmt: str, max_bytes: int | None = None) -> bytes:
        """The answer in a SPARQL results format, an RDF format, or "table" for people; TooLarge
        when it would exceed `max_bytes`. CSV and TSV cells cannot start a spreadsheet formula
        and XML carries no character XML forbids (see `formats`)."""
        if self.form in ("construct", "describe"):
            if fmt not in GRAPH_RESULT_FORMATS:
                raise QueryError(
                    f"a {self.form.upper()} answer is RDF: ask for one of " + ", ".join(GRAPH_RESULT_FORMATS)
                )
            data = serialize(self.triples, fmt)
            return _capped(xml_safe_bytes(data) if fmt == "rdfxml" else data, max_bytes)
        if fmt == "table":
            return _capped(table(self).encode(), max_bytes)
        if fmt not in RESULT_FORMATS:
            raise QueryError(
                f"a {self.form.upper() or 'SELECT'} answer is a table: ask for one of "
                + ", ".join(("table",) + RESULT_FORMATS)
            )
        data = self._json(spreadsheet_safe if fmt in ("csv", "tsv") else None)
        if fmt == "json":
            return _capped(data, max_bytes)
        # Oxigraph's writers do the escaping that XML, CSV and TSV each need.
        parsed = ox.parse_query_results(data, format=ox.QueryResultsFormat.JSON)
        data = parsed.serialize(format=_OX_RESULT_FORMATS[fmt])
        return _capped(xml_safe_bytes(data) if fmt == "xml" else data, max_bytes)

    def _json(self, clean=None) -> bytes:
        if self.boolean is not None:
            doc = {"head": {}, "boolean": self.boolean}
        else:
            doc = {
                "head": {"vars": self.variables},
                "results": {
                    "bindings": [
                        {v: _json_term(t, clean) for v, t in zip(self.variables, row, strict=True) if t is not None}
                        for row in self.rows
                    ]
                },
            }
        return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


def _capped(data: bytes, max_bytes: int | None) -> bytes:
    if max_bytes is not None and len(data) > max_bytes:
        raise TooLarge(f"the answer is larger than {max_bytes:,} bytes: add a LIMIT or select less")
    return data


def _json_term(term, clean=None) -> dict:
    """One RDF term in the SPARQL 1.1 JSON results format (`clean` rewrites literal values)."""
    if isinstance(term, ox.NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, ox.BlankNode):
        return {"type": "bnode", "value": term.value}
    if isinstance(term, ox.Literal):
        doc = {"type": "literal", "value": clean(term.value) if clean else term.value}
        if term.language:
            doc["xml:lang"] = term.language
        elif term.datatype.value != XSD + "string":
            doc["datatype"] = term.datatype.value
        return doc
    return {
        "type": "triple",
        "value": {
            "subject": _json_term(term.subject, clean),
            "predicate": _json_term(term.predicate, clean),
            "object": _json_term(term.object, clean),
        },
    }


def execute(
    loaded: Loaded,
    query: Query,
    *,
    asserted_only: bool = False,
    max_rows: int | None = None,
    max_bytes: int | None = None,
    default_graphs: list[str] | None = None,
    named_graphs: list[str] | None = None,
    bindings: dict[str, str] | None = None,
) -> Answer:
    """Run a checked query in this process. Callers that must bound time use `workers.QueryPool`.

    `default_graphs`/`named_graphs` are the SPARQL Protocol's default-graph-uri/named-graph-uri
    (checked against the dataset's graphs); without them a query's FROM clauses choose, and
    without those the default graph is asserted (+ inferred). Relative IRIs in a query without a
    BASE of its own resolve against the dataset's base IRI (`<id/org/islamic-state>`). `max_rows`
    and `max_bytes` (the characters of the values, counted as they stream out of Oxigraph) bound
    the answer: TooLarge as soon as either is passed. Any error of the engine is a QueryError."""
    _check_graphs(loaded, default_graphs, named_graphs)
    if bindings:
        query = query.bound(bindings)
    targets = describe_targets(query.text) if query.form == "describe" else None
    if targets and all(entity_ref(t, loaded.base) is not None for t in targets):
        triples = sorted({t for iri in targets for t in describe(loaded, iri)}, key=str)
        return Answer("describe", triples=_bounded(iter(triples), max_rows, max_bytes, "triples"))
    with _engine_errors(query):
        result = _evaluate(loaded, query, asserted_only, default_graphs, named_graphs)
        if isinstance(result, ox.QueryBoolean):
            return Answer("ask", boolean=bool(result))
        if isinstance(result, ox.QuerySolutions):
            answer = Answer(
                query.form if query.form in ("select", "ask") else "select",
                variables=[v.value for v in result.variables],
            )
            width = len(answer.variables)
            answer.rows = _bounded((tuple(s[i] for i in range(width)) for s in result), max_rows, max_bytes, "rows")
            return answer
        triples = _bounded(iter(result), max_rows, max_bytes, "triples")
    return Answer(query.form or "construct", triples=sorted(set(triples), key=str))


def answer_bytes(
    loaded: Loaded,
    query: Query,
    fmt: str,
    *,
    max_rows: int | None = None,
    max_bytes: int | None = None,
    bindings: dict[str, str] | None = None,
    **graphs,
) -> bytes:
    """`execute(…).serialize(fmt, max_bytes)`, except that a SELECT or ASK answer in JSON (the endpoint's
    default) is written by Oxigraph's own results writer as the rows stream out of the engine, never made
    into Python terms: the same bytes (`tests/test_serve.py` compares them on every library query), sooner
    (1M, cq08's 30,975 rows in-process: 0.99 s against 1.72 s; docs/performance.md, "Serve, round 6"). `max_bytes`
    then counts the JSON as it is written (TooLarge as soon as it is passed); a row cap takes the other path.
    `graphs`: `execute`'s asserted_only, default_graphs, named_graphs."""
    if fmt != "json" or query.form not in ("select", "ask") or max_rows is not None:
        answer = execute(loaded, query, max_rows=max_rows, max_bytes=max_bytes, bindings=bindings, **graphs)
        return answer.serialize(fmt, max_bytes)
    _check_graphs(loaded, graphs.get("default_graphs"), graphs.get("named_graphs"))
    out = _CappedOutput(max_bytes)
    with _engine_errors(query):
        result = _evaluate(loaded, query.bound(bindings) if bindings else query, **graphs)
        result.serialize(out, format=ox.QueryResultsFormat.JSON)
    return out.getvalue() + b"\n"


class _CappedOutput(io.BytesIO):
    """A file for Oxigraph's writers that keeps what they write, TooLarge past `max_bytes`."""

    def __init__(self, max_bytes: int | None):
        super().__init__()
        self.max_bytes = max_bytes

    def write(self, data) -> int:
        if self.max_bytes is not None and self.tell() + len(data) > self.max_bytes:
            raise TooLarge(f"the answer is larger than {self.max_bytes:,} bytes: add a LIMIT or select less")
        return super().write(data)


def _check_graphs(loaded: Loaded, default_graphs: list[str] | None, named_graphs: list[str] | None) -> None:
    """QueryRefused for a default-graph-uri or named-graph-uri outside the dataset."""
    for iri in (default_graphs or []) + (named_graphs or []):
        if iri not in loaded.graph_iris:
            raise QueryRefused(
                f"graph <{iri}> is not part of this dataset: use one of "
                + ", ".join(f"<{g}>" for g in sorted(loaded.graph_iris))
            )


@contextmanager
def _engine_errors(query: Query):
    """Oxigraph's errors as ours: a SyntaxError at its line and column, any evaluation error a QueryError.
    A syntax error in a query that skipped rdflib's parse (`_plain_query`) is rdflib's, when rdflib finds
    one too: its message names the token at fault ("near 'FILTR(?o)'"), Oxigraph's what it expected there."""
    try:
        yield
    except SyntaxError as e:
        if not query.own_dataset:  # (FROM is never plain: rdflib has parsed those)
            _parsed_query(query.text, ())  # raises rdflib's QuerySyntaxError, if it has one
        raise syntax_error(str(e), query.text) from None
    except (RuntimeError, ValueError, TypeError, OSError) as e:  # Oxigraph's evaluation errors
        raise QueryError(f"the query could not be evaluated: {str(e)[:500]}") from None


def _evaluate(
    loaded: Loaded,
    query: Query,
    asserted_only: bool = False,
    default_graphs: list[str] | None = None,
    named_graphs: list[str] | None = None,
):
    """Oxigraph's (lazy) result of a checked query, on the graphs `execute` describes, its bindings pre-bound."""
    options: dict = {"prefixes": PREFIXES, "base_iri": loaded.base}
    if default_graphs or named_graphs:
        options["default_graph"] = [ox.NamedNode(g) for g in default_graphs or []] or ox.DefaultGraph()
        options["named_graphs"] = [ox.NamedNode(g) for g in named_graphs or []]
    elif not query.own_dataset:
        options["default_graph"] = loaded.default_graphs(asserted_only)
    text = query.text
    if query.bindings:
        bound = {ox.Variable(v): _term(t) for v, t in query.bindings}
        if re.search(r"\bCONSTRUCT\s+WHERE\b", text, re.I):  # the short form has no room for VALUES
            options["substitutions"] = bound
        else:
            # A VALUES block opening WHERE, not Oxigraph's substitutions: with the values in the query,
            # Oxigraph starts from the bound entity (parent-at-date at 100k: 2 s pre-bound, 1 ms so).
            text = _values_in_where(text, bound)
    try:
        return loaded.store.query(text, **options)
    except RuntimeError as e:  # Oxigraph substitutes projected variables only (and not in CONSTRUCT)
        if "substitutions" not in options or "does not contains variable" not in str(e):
            raise
        return loaded.store.query(_values_in_where(text, options.pop("substitutions")), **options)


def bound_text(text: str, bindings: dict[str, str]) -> str:
    """`text` with `bindings` (variable -> term in N-Triples syntax, as `bindings` makes them) in a VALUES
    block opening its WHERE clause, as `execute` pre-binds parameters: the text to give another store
    (Virtuoso) or an in-process run for the same answer. A library query run with its parameters unbound
    answers another question (every organization, every date), and costs accordingly."""
    return _values_in_where(text, {ox.Variable(k): _term(v) for k, v in bindings.items()}) if bindings else text


def _values_in_where(text: str, bound: dict) -> str:
    """The query with a VALUES block opening its WHERE clause: the same bindings, seen by every
    pattern and FILTER of that group, for variables the query does not project."""
    where = re.search(r"\bWHERE\s*\{", text, re.I) or re.search(r"\{", text)
    if where is None:
        raise QueryError("a bound variable needs a WHERE clause to bind it in")
    values = "VALUES (" + " ".join(str(v) for v in bound) + ") { (" + " ".join(str(t) for t in bound.values()) + ") } "
    return text[: where.end()] + values + text[where.end() :]


def _bounded(items, cap: int | None, max_bytes: int | None, what: str) -> list:
    out, size = [], 0
    for item in items:
        if cap is not None and len(out) >= cap:
            raise TooLarge(f"the answer has more than {cap} {what}: add a LIMIT (or narrow the query)")
        if max_bytes is not None:
            size += sum(len(str(term)) for term in item if term is not None)
            if size > max_bytes:
                raise TooLarge(f"the answer is larger than {max_bytes:,} bytes: add a LIMIT or select less")
        out.append(item)
    return out


def table(answer: Answer) -> str:
    """An aligned text table of a SELECT answer (prefixed names where a known prefix fits)."""
    if answer.boolean is not None:
        return ("true" if answer.boolean else "false") + "\n"
    header = [f"?{v}" for v in answer.variables]
    cells = [[_cell(t, answer.short_base) for t in row] for row in answer.rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip(), "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in cells]
    lines.append(f"({len(cells)} row{'s' if len(cells) != 1 else ''})")
    return "\n".join(lines) + "\n"


_LOCAL = re.compile(r"[\w-]*\Z")


def _cell(term, short_base: str = "") -> str:
    if term is None:
        return ""
    if isinstance(term, ox.NamedNode) and short_base:
        ref = entity_ref(term.value, short_base)
        if ref is not None:
            return ref
        if term.value.startswith(PGV):
            return "pgv:" + term.value[len(PGV) :]
    if isinstance(term, ox.NamedNode):
        for prefix, ns in PREFIXES.items():
            if term.value.startswith(ns) and _LOCAL.match(term.value[len(ns) :]):
                return f"{prefix}:{term.value[len(ns) :]}"
        return term.value
    if isinstance(term, ox.Literal):
        text = " ".join(term.value.split())
        return f"{text} @{term.language}" if term.language else text
    return str(term)


# -- parameters ----------------------------------------------------------------------------------

_DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_term(value: str, base: str = DEFAULT_BASE) -> str:
    """A parameter value as an RDF term in N-Triples syntax. VALUE is SPARQL term syntax
    (`<https://…>`, `"2015-07-01"^^xsd:date`, `pg:Pledge`, `42`), or for short a bare date
    (`2015-07-01`) or a record as KIND/ID (`org/islamic-state`). Read by Oxigraph's own parser."""
    value = value.strip()
    if _DATE_ONLY.fullmatch(value):
        value = f'"{value}"^^<{XSD}date>'
    elif is_ref(value):
        value = f"<{ref_iri(base, value)}>"
    if not value or any(c in value for c in "{}\n\r") or value.startswith("?") or value.startswith("$"):
        raise QueryError(
            f"'{value}' is not an RDF term: write <https://…>, \"2015-07-01\"^^xsd:date, "
            "a bare date 2015-07-01, or a record as KIND/ID (org/islamic-state)"
        )
    try:
        rows = list(ox.Store().query(f"SELECT ?x WHERE {{ VALUES ?x {{ {value} }} }}", prefixes=PREFIXES))
    except SyntaxError:
        rows = []
    if len(rows) != 1 or rows[0]["x"] is None:
        raise QueryError(
            f"'{value}' is not an RDF term: write <https://…>, \"2015-07-01\"^^xsd:date, "
            "a bare date 2015-07-01, or a record as KIND/ID (org/islamic-state)"
        )
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
            raise QueryError(
                f"query '{example.name}' has no parameter ?{var}; its parameters: "
                + (", ".join(f"?{v}" for v in declared) or "none")
            )
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
