"""`pledgegraph lsp`: the curators' checks, completions and explanations in their editor (LSP over stdio).

A thin layer over `incremental.session.Session`, the engine of `validate --watch`: the editor's unsaved buffers are
handed to `Session.update` (debounced), and the diagnostics of a file are `validate`'s report for it,
at the range of the value each problem names. Everything else reads what the session loaded: record
ids of the right kind where a reference is expected (kinds and fields from `schema.py`), concepts from
the vocabularies, hovers and outlines from the records, quotes through `evidence.py`, and the fixes
of code actions are the hints the loader already wrote ("did you mean 'x'?", "write 12").
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from urllib.parse import unquote, urlparse

from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer

from pledgegraph import __version__
from pledgegraph.errors import DataInvalid, Problem, UnusableInput
from pledgegraph.incremental.session import Session, all_stamps
from pledgegraph.layout import Settings
from pledgegraph.model import schema
from pledgegraph.model.records import Claimed, Item, Record
from pledgegraph.model.vocab import PGV
from pledgegraph.stages.checks import read_checks
from pledgegraph.stages.evidence import quote_in_source
from pledgegraph.stages.load import reference_positions

DEBOUNCE = 0.05  # seconds of quiet after a keystroke before the buffers are re-checked (typing goes on meanwhile)
MAX_COMPLETIONS = 200
_SEVERITY = {
    "error": lsp.DiagnosticSeverity.Error,
    "warning": lsp.DiagnosticSeverity.Warning,
    "info": lsp.DiagnosticSeverity.Information,
}
_ID_CHARS = re.compile(r"[a-z0-9-]+")
_KEY_LINE = re.compile(r"^(\s*)((?:-\s+)*)([A-Za-z_][\w-]*):(?:\s|$)")


class CuratorServer(LanguageServer):
    """The session, the open buffers (by data file name), and what was last published."""

    def __init__(self, settings: Settings):
        super().__init__("pledgegraph", __version__)
        self.settings = settings
        self.session: Session | None = None
        self.startup_problems: list[Problem] = []  # the data could not be loaded: what `validate` says
        self.tried: dict = {}  # the files on disk when the session last started: it starts again when they change
        self.ready = asyncio.Event()
        self.reported: dict[str, list[Problem]] = {}  # by file: the problems its diagnostics were last made of
        self.made: dict[str, dict[tuple, lsp.Diagnostic]] = {}  # by file: its last diagnostics, by problem and
        # the text they underline (most stay the same from one keystroke to the next)
        self.names: tuple[frozenset, dict[str, str]] = (frozenset(), {})  # the session's files; uri -> file
        self.versions: dict[str, int | None] = {}  # of the buffers, when their diagnostics were last published
        self.pending: asyncio.TimerHandle | None = None
        self.closed: set[str] = set()  # buffers closed since the last re-check: the disk is the truth again

    # --- files and positions --------------------------------------------------------------------

    def name_of(self, uri: str) -> str | None:
        """The data file an editor's URI names, as the session (and messages) name it."""
        if self.session is None or not uri.startswith("file:"):
            return None
        files = frozenset(self.session.files)
        if files != self.names[0]:
            self.names = (files, {self.uri_of(n): n for n in files})
        return self.names[1].get(Path(unquote(urlparse(uri).path)).resolve().as_uri())

    def uri_of(self, name: str) -> str:
        """The URI of a file as messages name it (relative to the working directory, or else to the data's parent)."""
        path = self.session.files.get(name) if self.session else None
        if path is None:
            path = Path(name) if Path(name).exists() else self.settings.data_dir.parent / name
        return path.resolve().as_uri()

    def buffers(self) -> dict[str, str]:
        """The open buffers of data files: name -> unsaved text."""
        out = {}
        for uri, doc in self.workspace.text_documents.items():
            name = self.name_of(uri)
            if name is not None:
                out[name] = doc.source
        return out

    def text_of(self, name: str) -> str:
        buffer = self.buffers().get(name)
        if buffer is not None:
            return buffer
        if self.session is not None and name in self.session.texts:
            return self.session.texts[name]
        path = self.settings.data_dir.parent / name
        return path.read_text(encoding="utf-8", errors="replace") if path.is_file() else ""

    def client_range(self, lines: list[str], line: int, start: int, end: int) -> lsp.Range:
        text = lines[line] if line < len(lines) else ""
        return lsp.Range(lsp.Position(line, self.units(text[:start])), lsp.Position(line, self.units(text[:end])))

    def units(self, text: str) -> int:
        """The length of `text` in the client's position encoding (UTF-16 unless it chose another)."""
        if text.isascii():
            return len(text)
        encoding = self.workspace.position_encoding
        if encoding == lsp.PositionEncodingKind.Utf32:
            return len(text)
        if encoding == lsp.PositionEncodingKind.Utf8:
            return len(text.encode())
        return len(text.encode("utf-16-le")) // 2

    # --- checking -------------------------------------------------------------------------------

    def start_session(self) -> None:
        """Check everything (on a worker thread at start-up); what the loader refuses is reported."""
        self.tried = all_stamps(self.settings)
        try:
            session = Session(self.settings)
            session.check_all()
            self.session, self.startup_problems = session, []
        except (DataInvalid, UnusableInput) as e:
            self.session, self.startup_problems = None, list(e.problems)

    def recheck(self) -> None:
        """Hand the buffers that differ from what the session checked (and files changed on disk) to the session."""
        if (
            self.session is None
            and all_stamps(self.settings) != self.tried
            or self.session is not None
            and self.session.inputs_changed()
        ):
            self.start_session()
        session = self.session
        if session is not None:
            texts = self.buffers()
            names = sorted(
                {n for n, t in texts.items() if session.texts.get(n) != t}
                | {n for n in session.changed_files() if n not in texts}
                | {p.position.file for p in session.refused if p.position.file in session.files}
                | (self.closed - set(texts))
            )
            self.closed.clear()
            if names:
                try:
                    session.update(names, texts)
                except UnusableInput as e:  # a link out of the data directory: start over once fixed
                    self.session, self.startup_problems = None, list(e.problems)
        self.publish()

    def report(self) -> list[Problem]:
        """What `validate` reports now (the warnings acknowledged in data/checks.yaml left out, as there)."""
        if self.session is None:
            problems = self.startup_problems
        else:
            problems = self.session.refused or self.session.problems
        try:
            return read_checks(self.settings.data_dir).split(problems)[0]
        except UnusableInput:
            return problems

    def publish(self) -> None:
        """Diagnostics of the files whose report changed, then of the buffers edited since the last
        time (with their version, so a client knows its edit has been checked)."""
        by_file: dict[str, list[Problem]] = {}
        for p in self.report():
            by_file.setdefault(p.position.file, []).append(p)
        names = set(by_file) | set(self.reported)
        if self.session is not None:
            names |= set(self.session.files)
        versions = {
            name: doc.version
            for uri, doc in self.workspace.text_documents.items()
            if (name := self.name_of(uri)) is not None
        }
        last = [n for n, v in versions.items() if self.versions.get(n) != v]
        self.versions = versions
        for name in sorted(names - set(last)) + sorted(last):
            problems = by_file.get(name, [])
            if self.reported.get(name) == problems and name not in last:
                continue  # the same problems at the same places: the same diagnostics
            self.reported[name] = problems
            lines = self.text_of(name).split("\n")
            before, made = self.made.get(name, {}), {}
            for p in problems:
                line, start, end = problem_range(p, lines)
                key = (p, line, start, end, lines[line][:end] if line < len(lines) else "")
                made[key] = before.get(key) or diagnostic(p, self.client_range(lines, line, start, end))
            self.made[name] = made
            self.text_document_publish_diagnostics(
                lsp.PublishDiagnosticsParams(
                    uri=self.uri_of(name), diagnostics=list(made.values()), version=versions.get(name)
                )
            )

    def schedule(self) -> None:
        """Re-check after DEBOUNCE seconds without a keystroke."""
        if self.pending is not None:
            self.pending.cancel()
        loop = asyncio.get_running_loop()
        self.pending = loop.call_later(DEBOUNCE, lambda: loop.create_task(self._recheck_when_ready()))

    async def _recheck_when_ready(self) -> None:
        await self.ready.wait()
        self.recheck()

    # --- what the records say -------------------------------------------------------------------

    def record(self, rid: str) -> Record | None:
        return self.session.by_id.get(rid) if self.session else None

    def record_at(self, name: str, line: int) -> Record | None:
        """The record of file `name` holding 0-based `line`."""
        records = self.session.records.get(name, []) if self.session else []
        return max((r for r in records if r.position.line - 1 <= line), key=lambda r: r.position.line, default=None)


def problem_range(p: Problem, lines: list[str]) -> tuple[int, int, int]:
    """(line, start, end), 0-based, of the value a problem names; the first line for a whole file."""
    if p.position.line:
        return value_range(lines, p.position.line - 1, p.position.column - 1, p.value)
    return 0, 0, len(lines[0]) if lines else 0


def diagnostic(p: Problem, where: lsp.Range) -> lsp.Diagnostic:
    """A problem as `validate` prints it (without its file, which the editor shows); `data` holds its
    fields, place included, as `validate --format json` writes them."""
    message = p.format()[len(f"{p.position}: {p.severity}:") :].lstrip()
    data = p.as_dict()
    return lsp.Diagnostic(
        range=where,
        message=message,
        severity=_SEVERITY.get(p.severity, lsp.DiagnosticSeverity.Error),
        code=p.rule or None,
        source="pledgegraph",
        data=data,
    )


def value_range(lines: list[str], line: int, start: int, value: str = "") -> tuple[int, int, int]:
    """(line, start, end) of the YAML value at `start` of `line` (0-based); of `value` alone when the
    place is a list holding it (the loader places a reference in a list at the list)."""
    text = lines[line] if 0 <= line < len(lines) else ""
    start = min(max(start, 0), len(text))
    end = token_end(text, start)
    if value and text[start : start + 1] in ("[", "-"):
        indent = len(text) - len(text.lstrip())
        for row in range(line, len(lines)):
            if (
                row > line
                and not lines[row].lstrip().startswith("- ")
                or row > line
                and len(lines[row]) - len(lines[row].lstrip()) != indent
            ):
                break
            span = (start, end) if row == line else (0, len(lines[row]))
            m = re.search(rf"(?<![\w-]){re.escape(value)}(?![\w-])", lines[row][span[0] : span[1]])
            if m:
                return row, span[0] + m.start(), span[0] + m.end()
            if text[start] == "[":
                break
    return line, start, end


def token_end(text: str, start: int) -> int:
    """Where the YAML value (or key) starting at `start` ends on its line: a quoted string, a flow
    collection, or a plain word up to a comment, a `key: ` colon, or a flow separator."""
    if start >= len(text):
        return len(text)
    first = text[start]
    if first in "\"'":
        i = start + 1
        while i < len(text):
            if text[i] == "\\" and first == '"':
                i += 2
                continue
            if text[i] == first:
                if first == "'" and text[i + 1 : i + 2] == "'":
                    i += 2
                    continue
                return i + 1
            i += 1
        return len(text)
    if first in "[{":
        depth, i, quote = 0, start, ""
        while i < len(text):
            c = text[i]
            if quote:
                quote = "" if c == quote else quote
            elif c in "\"'":
                quote = c
            elif c in "[{":
                depth += 1
            elif c in "]}":
                depth -= 1
                if depth == 0:
                    return i + 1
            i += 1
        return len(text)
    in_flow = text[:start].count("[") + text[:start].count("{") > text[:start].count("]") + text[:start].count("}")
    i = start
    while i < len(text):
        c = text[i]
        if in_flow and c in ",]}":
            break
        if c == "#" and i > start and text[i - 1] in " \t":
            break
        if c == ":" and text[i + 1 : i + 2] in ("", " ", "\t"):
            break
        i += 1
    return len(text[:i].rstrip()) if i > start else i


def word_at(text: str, character: int) -> tuple[str, int, int]:
    """The id-like word (lowercase letters, digits, hyphens) around `character`: (word, start, end)."""
    for m in _ID_CHARS.finditer(text):
        if m.start() <= character <= m.end():
            return m.group(), m.start(), m.end()
    return "", character, character


# --- where the cursor is, in the format's terms ---------------------------------------------------


def owner_at(lines: list[str], line: int, column: int) -> tuple[list[str], str]:
    """The keys enclosing a place (from the kind's key down) and the key whose value is there
    ('' when a key is being written)."""
    before = lines[line][:column]
    m = re.match(r"^(\s*)((?:-\s+)*)([A-Za-z_][\w-]*):\s*(.*)$", before)
    if m:
        at, value_of = len(m.group(1)) + len(m.group(2)), m.group(3)
    elif re.fullmatch(r"\s*(?:-\s+)*[\w-]*", before):
        m2 = re.match(r"^(\s*)((?:-\s+)*)", before)
        assert m2 is not None  # every line starts so
        at, value_of = len(m2.group(1)) + len(m2.group(2)), ""
        if m2.group(2):  # an item of a block list: a value of the list's key (or a key of its mapping)
            at, value_of = len(m2.group(1)), None
    else:
        return [], ""
    chain = []
    for i in range(line - 1, -1, -1):
        km = _KEY_LINE.match(lines[i])
        if km is None:
            continue
        column_of_key = len(km.group(1)) + len(km.group(2))
        if column_of_key < at:
            chain.append(km.group(3))
            at = column_of_key
            if at == 0:
                break
    chain.reverse()
    if value_of is None:  # `- ` under `key:`: a value of that key
        return chain[:-1], chain[-1] if chain else ""
    return chain, value_of


def fields_of(chain: list[str]) -> tuple[schema.Field, ...]:
    """The fields a mapping at the end of `chain` (kind key, field, nested field...) may hold."""
    kind = schema.KIND_BY_KEY.get(chain[0]) if chain else None
    if kind is None:
        return ()
    fields, last = kind.fields, None
    for key in chain[1:]:
        spec = next((f for f in fields if f.name == key), None)
        if spec is None:
            if last is not None and last.claimed and key in ("value", "sources", "rank"):
                if key == "sources":
                    fields = schema.STRUCTS["citation"].fields
                continue
            return ()
        last = spec
        if spec.type == "citations":
            fields = schema.STRUCTS["citation"].fields
        elif spec.base_type == "struct":
            fields = schema.STRUCTS[spec.target].fields
        elif spec.claimed:
            fields = (
                schema.Field("value", spec.type, spec.doc),
                schema.Field("sources", "citations", ""),
                schema.Field("rank", "string", "preferred, normal or deprecated."),
            )
    return fields


def field_at(chain: list[str], key: str) -> schema.Field | None:
    if key == "sources" and chain and chain[-1] != "sources":
        return schema.Field("sources", "citations", "")
    spec = next((f for f in fields_of(chain) if f.name == key), None)
    if spec is None and key == "value" and len(chain) > 1:  # `value:` of a claimed field
        return next((f for f in fields_of(chain[:-1]) if f.name == chain[-1]), None)
    return spec


def preferred_names(record: Record) -> dict[str, str]:
    """Language -> the preferred name (the one marked, else the first in that language)."""
    out: dict[str, str] = {}
    marked: set[str] = set()
    for n in record.data.get("names", []):
        lang = n.data.get("lang", "")
        if lang not in marked and (lang not in out or n.data.get("preferred")):
            out[lang] = n.data.get("name", "")
            if n.data.get("preferred"):
                marked.add(lang)
    return out


def label(record: Record) -> str:
    names = preferred_names(record)
    return names.get("en") or next(iter(names.values()), "") or str(record.data.get("title", ""))


def _sources(value) -> list[str]:
    if isinstance(value, Item):
        found = [value.data["source"]] if value.kind == "citation" and "source" in value.data else []
        return found + [s for v in value.data.values() for s in _sources(v)]
    if isinstance(value, Claimed):
        return _sources(value.sources)
    if isinstance(value, list):
        return [s for v in value for s in _sources(v)]
    return []


def _shown(value) -> str:
    if isinstance(value, Claimed):
        return _shown(value.value)
    if isinstance(value, list):
        return ", ".join(_shown(v) for v in value)
    if isinstance(value, Item):
        parts = [f"{k} {_shown(v)}" for k, v in value.data.items() if k != "sources" and not isinstance(v, list)]
        return "(" + "; ".join(parts) + ")"
    if hasattr(value, "edtf"):
        return value.edtf()
    text = str(value)
    return text if len(text) <= 80 else text[:77] + "..."


def describe_record(record: Record) -> str:
    """Markdown for a hover: kind, names in every language, main facts with their sources."""
    out = [f"**{record.kind}** `{record.id}`", ""]
    names = preferred_names(record)
    if names:
        out.append("Names: " + "; ".join(f"{name} ({lang})" for lang, name in sorted(names.items())))
        out.append("")
    for spec in schema.KINDS[record.kind].fields:
        value = record.data.get(spec.name)
        if value is None or spec.name in ("names", "sources"):
            continue
        cited = sorted(set(_sources(value)))
        out.append(f"- {spec.name}: {_shown(value)}" + (f" — sources: {', '.join(cited)}" if cited else ""))
    own = sorted(set(_sources(record.data.get("sources", []))))
    if own:
        out.append(f"- sources: {', '.join(own)}")
    return "\n".join(out)


def citation_at(record: Record, line: int) -> Item | None:
    """The citation whose quote is written on 1-based `line` (or on a line of its multi-line value)."""

    def walk(value):
        if isinstance(value, Item):
            if value.kind == "citation" and "quote" in value.field_positions:
                first = value.field_positions["quote"].line
                if first <= line <= first + str(value.data.get("quote", "")).count("\n") + 2:
                    yield value
            for v in value.data.values():
                yield from walk(v)
        elif isinstance(value, Claimed):
            yield from walk(value.sources)
        elif isinstance(value, list):
            for v in value:
                yield from walk(v)

    return max(walk(record), key=lambda c: c.field_positions["quote"].line, default=None)


# --- fixes: the loader's hints that say exactly what to write ---------------------------------------


def fix_of(d: lsp.Diagnostic, lines: list[str]) -> tuple[str, lsp.Range, str] | None:
    """(title, range, new text) of the one obvious fix a diagnostic's hint gives, if it gives one."""
    data = d.data if isinstance(d.data, dict) else {}
    hint, rule = data.get("hint", ""), data.get("rule", "")
    line = d.range.start.line
    text = lines[line] if line < len(lines) else ""
    if m := re.fullmatch(r"did you mean '([^']+)'\?", hint):
        return f"Replace with '{m.group(1)}'", d.range, m.group(1)
    if m := re.fullmatch(r"write (\S+)", hint):
        return f"Write {m.group(1)}", d.range, m.group(1)
    if m := re.fullmatch(r"write `([\w-]+): (.+)`", hint):
        return f"Write {m.group(2)}", d.range, m.group(2)
    if (m := re.fullmatch(r"([\w-]+): (\S+)", hint)) and rule.rsplit(".", 1)[-1] == m.group(1):
        return f"Write {m.group(2)} without quotes", d.range, m.group(2)
    if hint == "replace the tab with spaces":
        indent = len(text) - len(text.lstrip(" \t"))
        return (
            "Replace the tab with spaces",
            lsp.Range(lsp.Position(line, 0), lsp.Position(line, indent)),
            " " * _indent_for(lines, line),
        )
    if hint.startswith("quote a value that contains ': '"):
        m = re.match(r"^(\s*(?:-\s+)*[\w-]+:\s+)(.*?)\s*$", text)
        if m and m.group(2) and m.group(2)[0] not in "\"'[{|>":
            value = m.group(2).replace("\\", "\\\\").replace('"', '\\"')
            start, end = len(m.group(1)), len(m.group(1)) + len(m.group(2))
            return "Quote the value", lsp.Range(lsp.Position(line, start), lsp.Position(line, end)), f'"{value}"'
    return None


def _indent_for(lines: list[str], line: int) -> int:
    """The indentation a line written with a tab most likely means: its sibling's above (the key
    after a `- ` item's first key, or a level deeper than a line opening a mapping)."""
    for i in range(line - 1, -1, -1):
        above = lines[i]
        if not above.strip() or above.lstrip().startswith("#") or "\t" in above[: len(above) - len(above.lstrip())]:
            continue
        m = re.match(r"^(\s*)((?:-\s+)*)", above)
        assert m is not None  # every line starts so
        indent = len(m.group(1)) + len(m.group(2))
        return indent + 2 if above.rstrip().endswith(":") and not m.group(2) else indent
    return 0


# --- the server -----------------------------------------------------------------------------------


def make_server(settings: Settings) -> CuratorServer:
    server = CuratorServer(settings)

    @server.feature(lsp.INITIALIZED)
    async def initialized(ls: CuratorServer, params: lsp.InitializedParams) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, ls.start_session)
        ls.ready.set()
        ls.recheck()  # buffers opened while the data was being checked
        if ls.session is not None:  # what the first re-check needs and is slow to make, made before a keystroke
            await loop.run_in_executor(None, ls.session.validator.reads_across)

    @server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
    @server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
    @server.feature(lsp.TEXT_DOCUMENT_DID_SAVE)
    def changed(ls: CuratorServer, params) -> None:
        ls.schedule()

    @server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
    def closed(ls: CuratorServer, params: lsp.DidCloseTextDocumentParams) -> None:
        name = ls.name_of(params.text_document.uri)
        if name is not None:
            ls.closed.add(name)
        ls.schedule()

    @server.feature(lsp.TEXT_DOCUMENT_COMPLETION, lsp.CompletionOptions(trigger_characters=[" ", "[", ","]))
    def completion(ls: CuratorServer, params: lsp.CompletionParams) -> lsp.CompletionList | None:
        doc = ls.workspace.get_text_document(params.text_document.uri)
        if ls.session is None:
            return None
        lines = doc.source.split("\n")
        where = doc.position_codec.position_from_client_units(lines, params.position)
        chain, key = owner_at(lines, where.line, where.character)
        typed = re.findall(r"[\w-]*$", lines[where.line][: where.character])[0]
        spec = field_at(chain, key) if key else None
        if spec is not None and spec.base_type == "struct":  # `- ` in a list of mappings: their keys
            chain, key = chain + [key], ""
        if not key:  # a field name
            items = [
                lsp.CompletionItem(
                    label=f.name,
                    kind=lsp.CompletionItemKind.Field,
                    detail=f.type,
                    documentation=f.doc,
                    insert_text=f.name + ": ",
                )
                for f in fields_of(chain)
                if f.name.startswith(typed)
            ]
            return lsp.CompletionList(is_incomplete=False, items=items)
        if spec is None:
            return None
        if spec.type == "citations":
            spec = schema.STRUCTS["citation"].field("source")
            assert spec is not None
        if spec.base_type == "concept":
            concepts = sorted(ls.session.vocabulary.concepts.get(spec.target, ()))
            labels = ls.session.vocabulary.labels
            items = [
                lsp.CompletionItem(
                    label=c,
                    kind=lsp.CompletionItemKind.EnumMember,
                    detail=", ".join(f"{t}@{lang}" for t, lang in labels.get(f"{PGV}{spec.target}/{c}", [])[:2]),
                )
                for c in concepts
                if typed in c
            ]
            return lsp.CompletionList(is_incomplete=False, items=items)
        if spec.base_type != "ref":
            return None
        kinds = spec.ref_kinds
        found = [r for rid, r in sorted(ls.session.by_id.items()) if typed in rid and ("*" in kinds or r.kind in kinds)]
        items = [
            lsp.CompletionItem(label=r.id, kind=lsp.CompletionItemKind.Reference, detail=f"{r.kind}: {label(r)}")
            for r in found[:MAX_COMPLETIONS]
        ]
        return lsp.CompletionList(is_incomplete=len(found) > MAX_COMPLETIONS, items=items)

    @server.feature(lsp.TEXT_DOCUMENT_HOVER)
    def hover(ls: CuratorServer, params: lsp.HoverParams) -> lsp.Hover | None:
        doc = ls.workspace.get_text_document(params.text_document.uri)
        name = ls.name_of(params.text_document.uri)
        if ls.session is None:
            return None
        lines = doc.source.split("\n")
        where = doc.position_codec.position_from_client_units(lines, params.position)
        text = lines[where.line] if where.line < len(lines) else ""
        here = ls.record_at(name, where.line) if name else None
        cite = citation_at(here, where.line + 1) if here is not None else None
        quote_key = text.find("quote:")
        on_quote = (
            0 <= quote_key < where.character
            or quote_key < 0
            and not _KEY_LINE.match(text)
            and not text.lstrip().startswith(("-", "#"))
        )
        if cite is not None and here is not None and on_quote:
            source = ls.record(cite.data["source"])
            if source is not None:
                found, note = quote_in_source(here, cite, source, ls.session.archives)
                head = {
                    True: f"Quote found in `{source.id}`:",
                    False: f"Quote **not found** in `{source.id}`:",
                    None: "Quote not checked:",
                }[found]
                return lsp.Hover(contents=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value=f"{head}\n\n{note}"))
        word, start, end = word_at(text, where.character)
        record = ls.record(word)
        if record is None:
            return None
        return lsp.Hover(
            contents=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value=describe_record(record)),
            range=ls.client_range(lines, where.line, start, end),
        )

    def location(ls: CuratorServer, position, value: str = "") -> lsp.Location:
        lines = ls.text_of(position.file).split("\n")
        line, start, end = value_range(lines, position.line - 1, position.column - 1, value)
        return lsp.Location(uri=ls.uri_of(position.file), range=ls.client_range(lines, line, start, end))

    def id_at(ls: CuratorServer, params) -> str:
        doc = ls.workspace.get_text_document(params.text_document.uri)
        lines = doc.source.split("\n")
        where = doc.position_codec.position_from_client_units(lines, params.position)
        return word_at(lines[where.line] if where.line < len(lines) else "", where.character)[0]

    @server.feature(lsp.TEXT_DOCUMENT_DEFINITION)
    def definition(ls: CuratorServer, params: lsp.DefinitionParams) -> lsp.Location | None:
        record = ls.record(id_at(ls, params))
        return location(ls, record.position) if record is not None else None

    @server.feature(lsp.TEXT_DOCUMENT_REFERENCES)
    def references(ls: CuratorServer, params: lsp.ReferenceParams) -> list[lsp.Location] | None:
        rid = id_at(ls, params)
        target = ls.record(rid)
        if target is None or ls.session is None:
            return None
        found = [
            pos
            for referrer in sorted(ls.session.referrers.get(rid, ()))
            if (r := ls.record(referrer))
            for t, pos in reference_positions(r)
            if t == rid
        ]
        places = [location(ls, pos, rid) for pos in sorted(set(found))]
        return ([location(ls, target.position)] if params.context.include_declaration else []) + places

    @server.feature(
        lsp.TEXT_DOCUMENT_CODE_ACTION, lsp.CodeActionOptions(code_action_kinds=[lsp.CodeActionKind.QuickFix])
    )
    def code_action(ls: CuratorServer, params: lsp.CodeActionParams) -> list[lsp.CodeAction]:
        doc = ls.workspace.get_text_document(params.text_document.uri)
        lines = doc.source.split("\n")
        actions = []
        for d in params.context.diagnostics:
            fix = fix_of(d, lines)
            if fix is not None:
                title, where, new_text = fix
                edit = lsp.WorkspaceEdit(changes={params.text_document.uri: [lsp.TextEdit(where, new_text)]})
                actions.append(
                    lsp.CodeAction(
                        title=title, kind=lsp.CodeActionKind.QuickFix, diagnostics=[d], edit=edit, is_preferred=True
                    )
                )
        return actions

    @server.feature(lsp.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
    def symbols(ls: CuratorServer, params: lsp.DocumentSymbolParams) -> list[lsp.DocumentSymbol]:
        name = ls.name_of(params.text_document.uri)
        if name is None or ls.session is None:
            return []
        lines = ls.text_of(name).split("\n")
        records = sorted(ls.session.records.get(name, []), key=lambda r: r.position)
        out = []
        for r, after in zip(records, records[1:] + [None], strict=True):
            first = r.position.line - 1
            last = (after.position.line - 2) if after is not None else len(lines) - 1
            while last > first and (not lines[last].strip() or not lines[last].startswith((" ", "-", "\t"))):
                last -= 1
            whole = ls.client_range(lines, first, 0, 0)
            whole.end = ls.client_range(lines, last, len(lines[last]), len(lines[last])).end
            out.append(
                lsp.DocumentSymbol(
                    name=r.id,
                    detail=f"{r.kind}: {label(r)}",
                    kind=lsp.SymbolKind.Object,
                    range=whole,
                    selection_range=location(ls, r.position).range,
                )
            )
        return out

    return server


def serve(settings: Settings) -> None:
    """Run the server on stdin/stdout until the editor shuts it down."""
    make_server(settings).start_io()
