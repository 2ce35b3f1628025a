"""YAML files -> checked records. Stage 1 of the pipeline.

Reads every `*.yaml` under the data directory (in sorted order), checks each record against the
format in `schema.py`, then checks ids and references across files. All problems are collected;
the stage raises `DataInvalid` (or `UnusableInput` for unreadable files) with every one of them.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from typing import Any

from pledgegraph.errors import ERROR, DataInvalid, Position, Problem, ProblemList, UnusableInput, relative
from pledgegraph.gcpause import paused_gc
from pledgegraph.model import schema
from pledgegraph.model.dates import DateError, iso_forms, parse_date
from pledgegraph.model.records import CHECKS_FILE, Claimed, Dataset, Item, Record, Vocabulary
from pledgegraph.model.schema import Field
from pledgegraph.model.vocab import PG, PGV, SKOS
from pledgegraph.stages import sanity
from pledgegraph.stages.checks import read_checks
from pledgegraph.stages.suggest import Suggester
from pledgegraph.stages.yamlread import MDict, MList, Plain, YamlError, decode, read

ID_RE = re.compile(schema.ID_PATTERN)
ID_MAX = 80
# Every pattern is applied with fullmatch: `$` alone would let a trailing line break through.
# BCP 47 tags are case-insensitive (`ar-latn` is `ar-Latn`).
LANG_RE = re.compile(
    r"^[a-zA-Z]{2,3}(-[a-zA-Z]{4})?(-(?:[a-zA-Z]{2}|[0-9]{3}))?"
    r"(-(?:[0-9A-Za-z]{5,8}|[0-9][0-9A-Za-z]{3}))*$"
)
INT_RE = re.compile(r"^(0|[1-9][0-9]{0,15})$")
URL_RE = re.compile(r"^https?://[^\s<>\"{}|\\^`]+$")
FILENAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,200}$")
PROSE = frozenset({"description", "note", "summary", "quote", "prefix", "suffix", "alternative"})  # may span lines
CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
MAX_FILE_BYTES = 64 * 1024 * 1024


def load_vocabulary(path: Path) -> Vocabulary:
    """Concept ids per scheme from `vocabularies.ttl` (concepts are `pgv:<scheme>/<id>`)."""
    import pyoxigraph as ox

    concepts: dict[str, set[str]] = {}
    implied: dict[str, str] = {}
    in_scheme = ox.NamedNode(SKOS + "inScheme")
    implies = ox.NamedNode(PG + "impliesClass")
    pref_label = ox.NamedNode(SKOS + "prefLabel")
    labels: dict[str, list[tuple[str, str]]] = {}
    try:
        triples = list(ox.parse(path=str(path), format=ox.RdfFormat.TURTLE))
    except (OSError, SyntaxError) as e:
        raise UnusableInput(f"cannot read vocabularies {path}: {e}") from None
    for t in triples:
        if t.predicate == in_scheme and t.subject.value.startswith(PGV):
            scheme = t.object.value[len(PGV) :]
            concept = t.subject.value[len(PGV) :]
            prefix = scheme + "/"
            if concept.startswith(prefix):
                concepts.setdefault(scheme, set()).add(concept[len(prefix) :])
        elif t.predicate == implies:
            implied[t.subject.value] = t.object.value
        elif t.predicate == pref_label and t.subject.value.startswith(PGV):
            labels.setdefault(t.subject.value, []).append((t.object.value, t.object.language or ""))
    return Vocabulary(concepts, implied, {c: sorted(v) for c, v in labels.items()})


def data_files(data_dir: Path) -> list[Path]:
    """Every YAML file below data_dir (but `checks.yaml`, the curators' settings), refusing links that
    lead outside it and paths that are not regular files (a folder or a pipe named like a data file)."""
    if not data_dir.is_dir():
        raise UnusableInput(f"data directory {data_dir} does not exist")
    root = data_dir.resolve()
    files = []
    problems = []
    for path in sorted(p for p in data_dir.rglob("*") if p.suffix in (".yaml", ".yml")):
        if path.parent == data_dir and path.name == CHECKS_FILE:
            continue
        real = path.resolve()
        where = Position(f"{relative(path.parent, data_dir)}/{path.name}")  # the link's name, not its target's
        if not real.is_relative_to(root):
            problems.append(
                Problem(
                    where, f"links outside the data directory (to {real}); copy the file in instead", rule="data-files"
                )
            )
        elif not path.is_file():
            what = "a folder" if path.is_dir() else "not a regular file"
            problems.append(
                Problem(
                    where,
                    f"is {what}, not a data file: its records are missing",
                    rule="data-files",
                    hint="restore the file, or move what is there out of the data directory",
                )
            )
        else:
            files.append(path)
    if problems:
        raise UnusableInput("data directory holds paths that are not data files", problems)
    return files


@paused_gc()
def load(data_dir: Path, vocabulary: Vocabulary) -> Dataset:
    """Read and check every data file; raise with all problems found."""
    files = data_files(data_dir)
    problems = ProblemList()
    records: list[Record] = []
    unreadable: list[Problem] = []
    names = []
    for path in files:
        name = relative(path, data_dir)
        names.append(name)
        found, problem = read_records(path, name, vocabulary, problems)
        records.extend(found)
        if problem is not None:
            unreadable.append(problem)
    if unreadable:
        errors = [p for p in problems.items if p.severity == ERROR]  # warnings wait for a readable run
        raise UnusableInput(f"{len(unreadable)} file(s) could not be read", unreadable + errors)
    by_id = index_ids(records, problems)
    check_across(records, by_id, problems)
    if problems.has_errors:
        raise DataInvalid(problems.items)
    return Dataset(records, by_id, vocabulary, names, warnings=problems.items, checks=read_checks(data_dir))


def read_records(
    path: Path, name: str, vocabulary: Vocabulary, problems: ProblemList
) -> tuple[list[Record], Problem | None]:
    """One data file's records, checked on their own (ids and references are checked across files
    by `index_ids` and `check_references`); or the problem that made the file unreadable."""
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            return [], Problem(
                Position(name, 1, 1), f"file is larger than {MAX_FILE_BYTES >> 20} MiB; split it", rule="yaml"
            )
        text = decode(path.read_bytes())
    except YamlError as e:
        return [], Problem(Position(name, e.line, e.column), str(e), rule="yaml", hint=e.hint)
    except OSError as e:
        return [], Problem(Position(name), f"cannot read: {e.strerror}", rule="file")
    return records_of_text(text, name, vocabulary, problems, whole=True)


def records_of_text(
    text: str, name: str, vocabulary: Vocabulary, problems: ProblemList, whole: bool = False
) -> tuple[list[Record], Problem | None]:
    """`read_records` of a file's text (or of a part of it, padded so lines keep their numbers;
    only a `whole` file must hold records)."""
    try:
        tree = read(text)
    except YamlError as e:
        return [], Problem(Position(name, e.line, e.column), str(e), rule="yaml", hint=e.hint)
    return _file_records(tree, name, vocabulary, problems, whole), None


# --- one file ---------------------------------------------------------------------------------


def _file_records(tree: Any, file: str, vocab: Vocabulary, problems: ProblemList, whole: bool) -> list[Record]:
    if tree is None and not whole:
        return []
    if tree is None:
        problems.add(
            Position(file, 1, 1),
            "the file holds no records (it is empty or only comments)",
            rule="file-structure",
            hint="restore its records, or delete the file if they moved elsewhere",
        )
        return []
    if not isinstance(tree, MDict):
        problems.add(
            Position(file, tree.line, tree.column) if isinstance(tree, MList) else Position(file, 1, 1),
            "a data file is a mapping of record kinds (e.g. `pledges:`) to lists of records",
            rule="file-structure",
        )
        return []
    out = []
    items = 0
    for key, value in tree.items():
        kpos = Position(file, *tree.key_pos[key])
        kind = schema.KIND_BY_KEY.get(key)
        if kind is None:
            problems.add(
                kpos,
                f"unknown record kind '{key}'",
                rule="file-structure",
                value=key,
                hint=_suggest(key, schema.KIND_BY_KEY) or f"record kinds: {', '.join(schema.KIND_BY_KEY)}",
            )
            items += 1
            continue
        if kind.name in schema.SINGLETON_KINDS:
            items += 1
            if not isinstance(value, MDict):
                problems.add(kpos, f"'{key}' is a single mapping, not a list", rule="file-structure")
                continue
            rec = _record(kind, value, file, vocab, problems)
            if rec:
                out.append(rec)
            continue
        if not isinstance(value, MList):
            problems.add(
                kpos, f"'{key}' must be a list of records (each item starting with '- id:')", rule="file-structure"
            )
            items += 1
            continue
        items += len(value)
        for i, item in enumerate(value):
            if not isinstance(item, MDict):
                problems.add(
                    Position(file, *value.item_pos[i]), f"each item of '{key}' must be a mapping", rule="file-structure"
                )
                continue
            rec = _record(kind, item, file, vocab, problems)
            if rec:
                out.append(rec)
    if not items and whole:
        problems.add(
            Position(file, tree.line, tree.column),
            "the file holds no records (every list is empty)",
            rule="file-structure",
            hint="restore its records, or delete the file if they moved elsewhere",
        )
    return out


def _record(kind: schema.Kind, node: MDict, file: str, vocab: Vocabulary, problems: ProblemList) -> Record | None:
    pos = Position(file, node.line, node.column)
    rid: Any
    if kind.name in schema.SINGLETON_KINDS:
        rid = kind.name
    else:
        rid = node.get("id")
        if rid is None:
            problems.add(
                pos,
                f"{kind.name} record has no id",
                rule=f"{kind.name}.id",
                hint="add `id: some-slug` (lowercase letters, digits and hyphens)",
            )
            return None
        if not _check_id(rid, Position(file, *node.value_pos["id"]), "", kind.name + ".id", problems):
            return None
    ctx = _Ctx(file, str(rid), vocab, problems, kind.key if kind.quotes_required else "")
    data, fpos = ctx.fields(kind.fields, node, kind.name, skip=("id",))
    return Record(kind.name, data, pos, fpos, id=str(rid))


def _check_id(value: Any, pos: Position, entity: str, rule: str, problems: ProblemList) -> bool:
    if not isinstance(value, str) or not ID_RE.fullmatch(value) or len(value) > ID_MAX:
        hint = "ids are lowercase ASCII letters, digits and single hyphens, at most 80 characters"
        if isinstance(value, str):
            odd = next((c for c in value if not c.isascii() or not c.isprintable()), None)
            if odd is not None:
                hint = f"it contains {odd!r} (U+{ord(odd):04X}); " + hint
            slug = re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-")[:ID_MAX]
            if slug and ID_RE.fullmatch(slug):
                hint += f", e.g. '{slug}'"
        problems.add(pos, f"{_shown(value)} is not a valid id", entity=entity, rule=rule, value=str(value), hint=hint)
        return False
    return True


def _shown(value: Any) -> str:
    """A value quoted for a message, with newlines and control characters escaped."""
    text = str(value)
    if text.isprintable():
        return f"'{text}'"
    return repr(text)


def _a(noun: str) -> str:
    return ("an " if noun[:1] in "aeiou" else "a ") + noun


class _Ctx:
    """Field conversion for one record, reporting problems against its file and id."""

    def __init__(self, file: str, entity: str, vocab: Vocabulary, problems: ProblemList, quotes_required_in: str = ""):
        self.file, self.entity, self.vocab, self.problems = file, entity, vocab, problems
        self.quotes_required_in = quotes_required_in  # the kind's YAML key when quotes are required

    def err(
        self,
        line_col: tuple[int, int],
        message: str,
        rule: str,
        value: Any = "",
        hint: str = "",
        severity: str = "error",
    ) -> None:
        self.problems.add(
            Position(self.file, *line_col),
            message,
            entity=self.entity,
            rule=rule,
            value="" if value is None else str(value)[:200],
            hint=hint,
            severity=severity,
        )

    def fields(self, specs: tuple[Field, ...], node: MDict, owner: str, skip=()) -> tuple[dict, dict]:
        data: dict[str, Any] = {}
        fpos: dict[str, Position] = {}
        known = {f.name: f for f in specs}
        for key, value in node.items():
            if key in skip:
                continue
            at = node.value_pos.get(key, node.key_pos[key])
            spec = known.get(key)
            if spec is None:
                self.err(
                    node.key_pos[key],
                    f"unknown field '{key}' in {owner}",
                    rule=owner,
                    value=key,
                    hint=_suggest(key, known) or f"{owner} fields: {', '.join(known)}",
                )
                continue
            fpos[key] = Position(self.file, *at)
            rule = f"{owner}.{key}"
            if value is None:
                self.err(at, f"'{key}' is empty", rule=rule, hint="give a value or remove the line")
                continue
            converted = self.field(spec, value, at, rule)
            if converted is not None:
                data[key] = converted
        for spec in specs:
            if spec.required and spec.name not in node and spec.name not in skip:
                hint = "add at least one source id" if spec.type == "citations" else ""
                self.err(
                    (node.line, node.column),
                    f"missing required field '{spec.name}' in {owner}",
                    rule=f"{owner}.{spec.name}",
                    hint=hint,
                )
        return data, fpos

    def field(self, spec: Field, value: Any, at: tuple[int, int], rule: str) -> Any:
        if spec.type == "citations":
            return self.citations(value, at, rule)
        if spec.claimed:
            return self.claims(spec, value, at, rule)
        if spec.many:
            items = value if isinstance(value, MList) else None
            if items is None:
                self.err(
                    at,
                    f"'{spec.name}' takes a list",
                    rule=rule,
                    value=value,
                    hint=f"write `{spec.name}: [{value}]`" if isinstance(value, str) else "",
                )
                return None
            out = []
            for i, v in enumerate(items):
                c = self.value(spec, v, items.item_pos[i], rule)
                if c is not None:
                    out.append(c)
            return out or None
        return self.value(spec, value, at, rule)

    def claims(self, spec: Field, value: Any, at: tuple[int, int], rule: str) -> list[Claimed] | None:
        items = list(zip(value, value.item_pos)) if isinstance(value, MList) else [(value, at)]
        out = []
        for v, vpos in items:
            if isinstance(v, MDict) and "value" in v:
                extra = set(v) - {"value", "sources", "rank"}
                if extra:
                    self.err(
                        vpos,
                        f"a claimed value takes only 'value', 'sources' and 'rank', not {', '.join(sorted(extra))}",
                        rule=rule,
                    )
                inner = self.value(spec, v["value"], v.value_pos["value"], rule)
                cites = (
                    self.citations(v["sources"], v.value_pos["sources"], rule + ".sources") if "sources" in v else []
                )
                rank = v.get("rank", "normal")
                if rank not in schema.RANKS:
                    self.err(
                        v.value_pos["rank"],
                        f"rank '{rank}' is not one of {', '.join(schema.RANKS)}",
                        rule=rule,
                        hint="preferred: the best-supported value; deprecated: kept but known wrong",
                    )
                    rank = "normal"
                if inner is not None:
                    out.append(Claimed(inner, cites or [], Position(self.file, *vpos), rank))
            else:
                inner = self.value(spec, v, vpos, rule)
                if inner is not None:
                    out.append(Claimed(inner, [], Position(self.file, *vpos)))
        return out or None

    def citations(self, value: Any, at: tuple[int, int], rule: str) -> list[Item] | None:
        if isinstance(value, str):
            value, positions = [value], [at]
        elif isinstance(value, MList):
            positions = value.item_pos
        else:
            self.err(at, "sources must be a list of source ids or citations", rule=rule)
            return None
        if not value:
            self.err(
                at,
                "sources is empty: every fact needs at least one source",
                rule=rule,
                hint="add the id of the source document that states it",
            )
            return None
        out = []
        struct = schema.STRUCTS["citation"]
        for v, vpos in zip(value, positions):
            if isinstance(v, str):
                if _check_id(v, Position(self.file, *vpos), self.entity, rule + ".source", self.problems):
                    out.append(
                        Item(
                            "citation",
                            {"source": str(v)},
                            Position(self.file, *vpos),
                            {"source": Position(self.file, *vpos)},
                        )
                    )
                    self.quote_missing(str(v), vpos, rule)
            elif isinstance(v, MDict):
                data, fpos = self.fields(struct.fields, v, rule)
                if "source" in data:
                    out.append(Item("citation", data, Position(self.file, *vpos), fpos))
                    if "quote" not in v:
                        self.quote_missing(data["source"], vpos, rule, bare=False)
                    for key in ("prefix", "suffix"):
                        if key in data and "quote" not in v:
                            self.err(
                                v.key_pos[key],
                                f"'{key}' without 'quote': it only anchors a quote",
                                rule=f"{rule}.{key}",
                                hint="add the quote, or remove the line",
                            )
            else:
                self.err(vpos, "a citation is a source id or a mapping with `source:`", rule=rule)
        return out or None

    def quote_missing(self, source: str, at: tuple[int, int], rule: str, bare: bool = True) -> None:
        """Required (an error) in the kinds that demand quotes, recommended (a warning) elsewhere."""
        how = (
            f'write {{source: {source}, quote: "…"}}' if bare else 'add quote: "…"'
        ) + " with the words in the source that state it"
        if self.quotes_required_in:
            self.err(
                at,
                f"citation of '{source}' has no quote; {self.quotes_required_in} need one",
                rule=f"{rule}.quote",
                value=source,
                hint=how,
            )
        else:
            self.err(
                at,
                f"citation of '{source}' has no quote",
                rule=f"{rule}.quote",
                value=source,
                hint=how,
                severity="warning",
            )

    def value(self, spec: Field, v: Any, at: tuple[int, int], rule: str) -> Any:
        t = spec.base_type
        if t == "struct":
            struct = schema.STRUCTS[spec.target]
            if not isinstance(v, MDict):
                self.err(at, f"'{spec.name}' items are mappings ({struct.doc.rstrip('.')})", rule=rule, value=v)
                return None
            data, fpos = self.fields(struct.fields, v, rule)  # rules are the path the curator wrote
            return Item(struct.name, data, Position(self.file, *at), fpos)
        if t == "date":
            if isinstance(v, MList):
                self.err(at, "a date is a string or a mapping, not a list", rule=rule)
                return None
            try:
                return parse_date(_plain_dict(v))
            except DateError as e:
                self.err(at, str(e), rule=rule, value=v, hint=_date_hint(v))
                return None
        if not isinstance(v, str):
            self.err(
                at,
                f"'{spec.name}' takes a single {t} value, not a " + ("list" if isinstance(v, MList) else "mapping"),
                rule=rule,
            )
            return None
        if t == "string":
            if CONTROL_RE.search(v):
                self.err(at, "text contains control characters", rule=rule, value=repr(v))
                return None
            if spec.max_length and len(v) > spec.max_length:
                self.err(
                    at,
                    f"'{spec.name}' is {len(v)} characters; at most {spec.max_length}",
                    rule=rule,
                    value=v[:60] + "...",
                    hint="quote only the words that state the fact",
                )
                return None
            if not _visible(v):
                self.err(
                    at,
                    f"'{spec.name}' is blank" + (" (only invisible characters)" if v.strip() else ""),
                    rule=rule,
                    value=v,
                )
                return None
            if spec.name not in PROSE and ("\n" in v or "\r" in v):
                self.err(
                    at,
                    f"'{spec.name}' holds a line break",
                    rule=rule,
                    value=v,
                    hint="write it on one line; a block scalar (`|` or `>`) adds a line break at the end",
                )
                return None
            return str(v)
        if t == "ref":
            return str(v) if _check_id(v, Position(self.file, *at), self.entity, rule, self.problems) else None
        if t == "concept":
            ids = self.vocab.concepts.get(spec.target, set())
            if v not in ids:
                self.err(
                    at,
                    f"{_shown(v)} is not a concept of the {spec.target} vocabulary",
                    rule=rule,
                    value=v,
                    hint=_suggest(v, ids) or f"one of: {', '.join(sorted(ids))}",
                )
                return None
            return str(v)
        if t == "int":
            if not isinstance(v, Plain):
                self.err(
                    at,
                    f"'{spec.name}' is a number: write it without quotes",
                    rule=rule,
                    value=v,
                    hint=f"{spec.name}: {v.strip()}" if INT_RE.fullmatch(v.strip()) else "",
                )
                return None
            if not INT_RE.fullmatch(v):
                hint = f"write {v.lstrip('0') or '0'}" if v.isdigit() else "a whole number without separators"
                self.err(at, f"{_shown(v)} is not a whole number", rule=rule, value=v, hint=hint)
                return None
            return int(v)
        if t == "bool":
            if isinstance(v, Plain) and v in ("true", "false"):
                return v == "true"
            self.err(
                at,
                f"'{spec.name}' is true or false, not {_shown(v)}",
                rule=rule,
                value=v,
                hint="YAML 1.1 words like yes/no/on/off are not read as booleans here",
            )
            return None
        if t == "lang":
            if not LANG_RE.fullmatch(v):
                self.err(
                    at,
                    f"{_shown(v)} is not a BCP 47 language tag",
                    rule=rule,
                    value=v,
                    hint="e.g. en, ru, ar, ar-Latn, ru-Latn, ce (lowercase language, Title-case script)",
                )
                return None
            return _canonical_lang(v)
        if t == "filename":
            if not FILENAME_RE.fullmatch(v) or ".." in v:
                self.err(
                    at,
                    f"{_shown(v)} is not a plain file name",
                    rule=rule,
                    value=v,
                    hint="give only the file's name; it is looked up inside the archive directory",
                )
                return None
            return str(v)
        if t == "url":
            if not URL_RE.fullmatch(v):
                self.err(at, f"{_shown(v)} is not an http(s) URL", rule=rule, value=v)
                return None
            return str(v)
        raise AssertionError(f"unknown field type {spec.type}")


def _canonical_lang(tag: str) -> str:
    """A BCP 47 tag in its conventional case (tags are case-insensitive: `AR-latn` is `ar-Latn`), so
    one language gives one literal tag in the graph however it was typed."""
    parts = tag.split("-")
    out = [parts[0].lower()]
    for p in parts[1:]:
        out.append(p.title() if len(p) == 4 and p.isalpha() else p.upper() if len(p) == 2 else p.lower())
    return "-".join(out)


def _visible(text: str) -> bool:
    """Whether text has a letter, digit, punctuation mark or symbol (not only spaces, controls,
    format characters such as zero-width spaces, or lone combining marks)."""
    return any(unicodedata.category(c)[0] in "LNPS" for c in text)


def _date_hint(v: Any) -> str:
    """The ISO form of a date written another common way, when there is one."""
    forms = iso_forms(str(v)) if isinstance(v, str) else []
    if not forms:
        return ""
    if len(forms) == 1:
        return f"write {forms[0]}"
    return f"write {forms[0]} (day first) or {forms[1]} (month first), as the source means it"


def _plain_dict(v: Any) -> Any:
    """Date mappings hold plain values; turn `approximate: true` into a bool for dates.py."""
    if isinstance(v, MDict):
        return {
            k: (
                val == "true"
                if k in ("approximate", "forecast") and isinstance(val, Plain) and val in ("true", "false")
                else (str(val) if isinstance(val, str) else val)
            )
            for k, val in v.items()
        }
    return str(v) if isinstance(v, str) else v


def _suggest(word: str, choices) -> str:
    return Suggester(choices).hint(word)


# --- across files -----------------------------------------------------------------------------


def index_ids(records: list[Record], problems: ProblemList) -> dict[str, Record]:
    """Records by id; a second record with an id already taken is a problem."""
    by_id: dict[str, Record] = {}
    for r in records:
        first = by_id.get(r.id)
        if first is not None:
            problems.add(
                r.position,
                f"duplicate id '{r.id}' (first defined at {first.position})",
                entity=r.id,
                rule="unique-id",
                value=r.id,
                hint="ids are unique across all kinds; choose another or merge the records",
            )
            continue
        by_id[r.id] = r
    return by_id


def _refs(item: Item, specs, path: str) -> list[tuple[Field, str, Position, str]]:
    """(field, target id, position, YAML field path) of every reference in an item."""
    out = []
    for spec in specs:
        value = item.data.get(spec.name)
        if value is None:
            continue
        pos = item.where(spec.name)
        here = f"{path}.{spec.name}"
        if spec.type == "citations":
            for c in value:
                out += _refs(c, schema.STRUCTS["citation"].fields, here)
            continue
        values = value if isinstance(value, list) else [value]
        for v in values:
            if isinstance(v, Claimed):
                for c in v.sources:
                    out += _refs(c, schema.STRUCTS["citation"].fields, here + ".sources")
                vpos, v = v.position, v.value
            else:
                vpos = pos
            if spec.base_type == "ref":
                out.append((spec, v, vpos, here))
            elif spec.base_type == "struct":
                out += _refs(v, schema.STRUCTS[spec.target].fields, here)
    return out


def references(record: Record) -> set[str]:
    """Ids of the records this one refers to (in any field, citation or nested item)."""
    return {target for _, target, _, _ in _refs(record, schema.KINDS[record.kind].fields, record.kind)}


def reference_positions(record: Record) -> list[tuple[str, Position]]:
    """Each reference of a record, as (target id, where it is written): for find-references in an editor."""
    return [(target, pos) for _, target, pos, _ in _refs(record, schema.KINDS[record.kind].fields, record.kind)]


def check_across(
    records: list[Record],
    by_id: dict[str, Record],
    problems: ProblemList,
    ruled: list[Record] | None = None,
    linked: list[Record] | None = None,
) -> None:
    """The checks that look across records, one path for `load` and `validate --watch`: the
    references of `records`, then the sanity rules on `ruled` (default: `records`), loops looked for
    among `linked` (a re-check gives every record of the kinds that can make one)."""
    check_references(records, by_id, problems)
    sanity.check(records if ruled is None else ruled, by_id, problems, linked)


def check_references(records: list[Record], by_id: dict[str, Record], problems: ProblemList) -> None:
    """Each reference of these records names a record of a kind its field accepts."""
    suggesters: dict[tuple[str, ...], Suggester] = {}  # one index per set of accepted kinds

    def suggest(kinds: tuple[str, ...], target: str) -> str:
        if kinds not in suggesters:
            suggesters[kinds] = Suggester(i for i, rec in by_id.items() if "*" in kinds or rec.kind in kinds)
        return suggesters[kinds].hint(target)

    for r in records:
        for spec, target, pos, path in _refs(r, schema.KINDS[r.kind].fields, r.kind):
            kinds = spec.ref_kinds
            found = by_id.get(target)
            if found is None:
                problems.add(
                    pos,
                    f"unknown {'/'.join(kinds) if '*' not in kinds else 'record'} '{target}' in '{spec.name}'",
                    entity=r.id,
                    rule=path,
                    value=target,
                    hint=suggest(kinds, target) or f"define a {kinds[0]} with id '{target}'",
                )
            elif "*" not in kinds and found.kind not in kinds:
                problems.add(
                    pos,
                    f"'{target}' is {_a(found.kind)}, but '{spec.name}' expects {' or '.join(_a(k) for k in kinds)}",
                    entity=r.id,
                    rule=path,
                    value=target,
                )
