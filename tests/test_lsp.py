"""`pledgegraph lsp` driven over stdio by a real LSP client (pytest-lsp), on a copy of the shipped data.

One server for the module: the tests edit its buffers (never the files on disk) and put them back.
The diagnostics of every file are compared with what `validate --format json` prints for the same
text, saved in a second copy, through edits that add, change and remove lines."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import pytest_asyncio
from lsprotocol import types as lsp
from pygls.protocol import default_converter
from pytest_lsp import LanguageClient, client_capabilities
from pytest_lsp.client import DEFAULT_CLIENT_FEATURES, register_lsp_features

from conftest import ROOT, SEEDS

pytestmark = pytest.mark.asyncio(loop_scope="module")
WAIT = 60  # seconds: at most, for the server's start-up or one re-check


def copy_project(where: Path) -> Path:
    """The data, ontology and shapes; data/checks.yaml keeps its archives (made absolute) but
    acknowledges nothing, so every warning is reported and can be compared."""
    shutil.copytree(ROOT / "data", where / "data")
    for name in ("ontology", "shapes"):
        shutil.copytree(ROOT / name, where / name)
    folders = [f for f in (SEEDS, ROOT / "archive") if f.is_dir()]
    (where / "data" / "checks.yaml").write_text("archives:\n" + "".join(f"  - {f}\n" for f in folders))
    return where


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    return copy_project(tmp_path_factory.mktemp("lsp"))


async def start_server(project: Path, files: list[str] | None = None) -> LanguageClient:
    """A client connected to `pledgegraph lsp` in `project`, once it has published the diagnostics of
    `files` (default: every data file)."""
    client = LanguageClient(converter_factory=default_converter)
    client.checked = {}  # uri -> the version of the buffer its last diagnostics were made from

    def published(ls, params: lsp.PublishDiagnosticsParams) -> None:
        ls.diagnostics[params.uri] = params.diagnostics
        ls.checked[params.uri] = params.version

    register_lsp_features(client, {**DEFAULT_CLIENT_FEATURES, lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS: published})
    await client.start_io(
        sys.executable,
        "-m",
        "pledgegraph",
        "lsp",
        "--data",
        "data",
        cwd=project,
        env={**os.environ, "PLEDGEGRAPH_ARCHIVE_DIR": ""},
    )
    await client.initialize_session(
        lsp.InitializeParams(capabilities=client_capabilities("visual-studio-code"), root_uri=project.as_uri())
    )
    files = files or sorted(p.name for p in (project / "data").glob("*.yaml") if p.name != "checks.yaml")
    await until(lambda: all(uri(project, f) in client.diagnostics for f in files))
    client.versions, client.buffers = {}, {}  # of the open buffers, by uri
    return client


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client(project):
    client = await start_server(project)
    yield client
    await client.shutdown_session()
    await client.stop()


def uri(project: Path, name: str) -> str:
    return (project / "data" / name).resolve().as_uri()


async def until(condition, timeout: float = WAIT) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.02)


async def open_file(client, project: Path, name: str) -> str:
    u = uri(project, name)
    if u not in client.versions:
        client.versions[u], client.buffers[u] = 1, (project / "data" / name).read_text()
        client.text_document_did_open(
            lsp.DidOpenTextDocumentParams(lsp.TextDocumentItem(u, "yaml", 1, client.buffers[u]))
        )
        await until(lambda: client.checked.get(u) == 1)
    return u


async def type_text(client, u: str, text: str, wait: bool = True) -> None:
    """Replace the buffer's text (unsaved) and wait until its diagnostics follow."""
    client.versions[u] += 1
    version, client.buffers[u] = client.versions[u], text
    client.text_document_did_change(
        lsp.DidChangeTextDocumentParams(
            lsp.VersionedTextDocumentIdentifier(version=version, uri=u),
            [lsp.TextDocumentContentChangeWholeDocument(text=text)],
        )
    )
    if wait:
        await until(lambda: client.checked.get(u) == version)


def buffer(client, u: str) -> str:
    return client.buffers[u]


def shown(client, project: Path) -> dict[str, list[tuple]]:
    """The published diagnostics, per data file, in `validate --format json`'s terms."""
    out = {}
    for p in sorted((project / "data").glob("*.yaml")):
        for d in client.diagnostics.get(p.resolve().as_uri(), []):
            data = dict(d.data)
            assert (d.range.start.line + 1, d.range.start.character + 1) >= (data["line"], data["column"])
            out.setdefault(data["file"], []).append(
                (
                    data["line"],
                    data["column"],
                    data["severity"],
                    data["entity"],
                    data["message"],
                    data["rule"],
                    data["value"],
                    data["hint"],
                )
            )
    return out


def validate_report(texts: dict[str, str], where: Path) -> dict[str, list[tuple]]:
    """`pledgegraph validate --format json` on a copy of the project (in `where`) whose data files
    `texts` (name -> text) hold the given text."""
    if where.exists():
        shutil.rmtree(where)
    copy_project(where)
    for name, text in texts.items():
        (where / "data" / name).write_text(text)
    done = subprocess.run(
        [sys.executable, "-m", "pledgegraph", "validate", "--format", "json", "--data", "data"],
        cwd=where,
        capture_output=True,
        text=True,
        env={**os.environ, "PLEDGEGRAPH_ARCHIVE_DIR": ""},
    )
    out = {}
    for p in json.loads(done.stdout)["problems"]:
        out.setdefault(p["file"], []).append(
            (p["line"], p["column"], p["severity"], p["entity"], p["message"], p["rule"], p["value"], p["hint"])
        )
    return out


def first_record_line(text: str) -> int:
    """The index of the line after the first record's `- id:` line (or the dataset's key)."""
    lines = text.split("\n")
    return next(i for i, line in enumerate(lines) if line.lstrip().startswith("- id:") or line == "dataset:") + 1


async def test_every_file_reports_what_validate_reports_through_edits(client, project, tmp_path):
    names = sorted(p.name for p in (project / "data").glob("*.yaml") if p.name != "checks.yaml")
    originals = {n: (project / "data" / n).read_text() for n in names}
    uris = {n: await open_file(client, project, n) for n in names}

    async def compare(texts: dict[str, str]) -> dict:
        for n, text in texts.items():  # typed in every file at once: re-checked together
            if buffer(client, uris[n]) != text:
                await type_text(client, uris[n], text, wait=False)
        await until(lambda: all(client.checked.get(uris[n]) == client.versions[uris[n]] for n in texts))
        expected = validate_report(texts, tmp_path / "saved")
        assert shown(client, project) == expected
        return expected

    start = await compare(originals)
    assert sum(map(len, start.values())) > 50  # the shipped warnings, nothing acknowledged here

    # lines added inside each file's first record (so every problem below moves), and at its head
    grown = {}
    for n, text in originals.items():
        lines = text.split("\n")
        at = first_record_line(text)
        indent = " " * (len(lines[at]) - len(lines[at].lstrip()))
        grown[n] = "\n".join(["# added at the head", *lines[:at], f"{indent}# two lines added", "", *lines[at:]])
    await compare(grown)

    # a reference to nothing: `validate` then reports the loader's problems only, and so does the server
    broken = {**grown, "pledges.yaml": grown["pledges.yaml"].replace("to: islamic-state", "to: islamic-stat", 1)}
    refused = await compare(broken)
    assert any("unknown organization 'islamic-stat'" in p[4] for p in refused["data/pledges.yaml"])

    # lines removed: the added ones, and a line of each file's first record
    shrunk = {}
    for n, text in originals.items():
        lines = text.split("\n")
        at = first_record_line(text)
        removable = next(
            (i for i in range(at, len(lines)) if lines[i].strip().startswith("#") or not lines[i].strip()), None
        )
        shrunk[n] = "\n".join(lines[:removable] + lines[removable + 1 :]) if removable is not None else text
    await compare(shrunk)
    await compare(originals)


async def test_a_typed_mistake_is_reported_at_its_range_and_its_quick_fix_gives_a_clean_file(client, project):
    u = await open_file(client, project, "pledges.yaml")
    original = buffer(client, u)
    lines = original.split("\n")
    for mistake, fixed_by in (
        (("to: islamic-state", "to: islamic-stat"), "Replace with 'islamic-state'"),
        (("pledger_count: 6", "pledger_count: 06"), "Write 6"),
        (("pledger_count: 6", 'pledger_count: "6"'), "Write 6 without quotes"),
        (("    to: islamic-state", "\tto: islamic-state"), "Replace the tab with spaces"),
        (("pledger_group: commanders in", "pledger_group: commanders: in"), "Quote the value"),
    ):
        old, new = mistake
        line = next(i for i, text in enumerate(lines) if old in text)
        await type_text(client, u, original.replace(old, new, 1))
        errors = [d for d in client.diagnostics[u] if d.severity == lsp.DiagnosticSeverity.Error]
        assert len(errors) == 1, (new, errors)
        (d,) = errors
        if fixed_by.startswith(("Replace with", "Write")):  # at the value's range
            value = new.split(": ", 1)[1]
            assert d.range.start == lsp.Position(line, lines[line].index(old) + len(old) - len(old.split(": ")[1]))
            assert d.range.end.character - d.range.start.character == len(value)
        else:
            assert d.range.start.line == line, d
        actions = await client.text_document_code_action_async(
            lsp.CodeActionParams(lsp.TextDocumentIdentifier(u), d.range, lsp.CodeActionContext([d]))
        )
        assert [a.title for a in actions] == [fixed_by]
        text = buffer(client, u)
        for e in actions[0].edit.changes[u]:  # one edit each
            lines_now = text.split("\n")
            row = lines_now[e.range.start.line]
            lines_now[e.range.start.line] = row[: e.range.start.character] + e.new_text + row[e.range.end.character :]
            text = "\n".join(lines_now)
        await type_text(client, u, text)
        assert not [d for d in client.diagnostics[u] if d.severity == lsp.DiagnosticSeverity.Error], text
        if fixed_by != "Quote the value":
            assert text == original
    await type_text(client, u, original)


async def hover_text(client, u: str, at: lsp.Position) -> str:
    return (await client.text_document_hover_async(lsp.HoverParams(lsp.TextDocumentIdentifier(u), at))).contents.value


def position_of(text: str, needle: str, offset: int = 0) -> lsp.Position:
    lines = text.split("\n")
    line = next(i for i, row in enumerate(lines) if needle in row)
    return lsp.Position(line, lines[line].index(needle) + offset)


async def test_completion_offers_what_the_field_takes(client, project):
    u = await open_file(client, project, "pledges.yaml")
    original = buffer(client, u)

    async def complete(old: str, new: str) -> list[str]:
        await type_text(client, u, original.replace(old, new, 1))
        at = position_of(buffer(client, u), new, len(new))
        found = await client.text_document_completion_async(lsp.CompletionParams(lsp.TextDocumentIdentifier(u), at))
        return [i.label for i in found.items]

    organizations = await complete("to: islamic-state", "to: islamic")  # organizations only (not persons)
    assert "islamic-state" in organizations and "abu-bakr-al-baghdadi" not in organizations
    assert set(organizations) <= {
        line.split("id: ")[1]
        for line in (project / "data" / "organizations.yaml").read_text().splitlines()
        if line.startswith("  - id: ")
    }
    assert await complete("to_leader: abu-bakr-al-baghdadi", "to_leader: abu-bakr") == ["abu-bakr-al-baghdadi"]
    assert await complete("pledger_bound: exactly", "pledger_bound: ex") == ["exactly"]  # a concept
    sources = await complete("  - source: dailybeast-isis-comes-to-russia", "  - source: dailybeast")
    assert sources == ["dailybeast-isis-comes-to-russia"]
    assert "pledger_group" in await complete("    pledger_count: 6", "    pledger_")  # field names of a pledge
    await type_text(client, u, original)


async def test_hover_definition_references_and_outline(client, project):
    u = await open_file(client, project, "pledges.yaml")
    text = buffer(client, u)
    on_id = position_of(text, "to: islamic-state", 6)
    hover = await hover_text(client, u, on_id)
    assert hover.startswith("**organization** `islamic-state`")
    assert "Islamic State (en)" in hover and "sources:" in hover

    where = await client.text_document_definition_async(lsp.DefinitionParams(lsp.TextDocumentIdentifier(u), on_id))
    organizations = (project / "data" / "organizations.yaml").read_text().split("\n")
    assert where.uri == uri(project, "organizations.yaml")
    assert organizations[where.range.start.line] == "  - id: islamic-state"

    found = await client.text_document_references_async(
        lsp.ReferenceParams(
            text_document=lsp.TextDocumentIdentifier(u), position=on_id, context=lsp.ReferenceContext(False)
        )
    )
    files = {r.uri.rsplit("/", 1)[1] for r in found}
    assert {"pledges.yaml", "branches.yaml"} <= files
    assert all(
        Path(r.uri.removeprefix("file://"))
        .read_text()
        .split("\n")[r.range.start.line][r.range.start.character : r.range.end.character]
        == "islamic-state"
        for r in found
    )

    symbols = await client.text_document_document_symbol_async(lsp.DocumentSymbolParams(lsp.TextDocumentIdentifier(u)))
    ids = [line.split("id: ")[1] for line in text.split("\n") if line.startswith("  - id: ")]
    assert [s.name for s in symbols] == ids


@pytest.mark.skipif(not SEEDS.is_dir(), reason="needs the seed texts beside the project")
async def test_hover_on_a_quote_says_where_the_source_says_it(client, project):
    u = await open_file(client, project, "pledges.yaml")
    text = buffer(client, u)
    on_quote = position_of(text, "quote: In November and December six commanders", 20)
    hover = await hover_text(client, u, on_quote)
    assert hover.startswith("Quote found in `dailybeast-isis-comes-to-russia`:")
    assert "⟨In November and December six commanders" in hover

    await type_text(client, u, text.replace("six commanders in the Chechen", "seven commanders in the Chechen", 1))
    hover = await hover_text(client, u, on_quote)
    assert hover.startswith("Quote **not found** in `dailybeast-isis-comes-to-russia`:")
    assert any(
        d.data["rule"] == "evidence.quote" and d.range.start.line == on_quote.line for d in client.diagnostics[u]
    )
    await type_text(client, u, text)


async def test_data_that_cannot_be_loaded_is_reported_as_validate_reports_it(tmp_path):
    """At start-up, a file that is not YAML: `validate` stops at it, and so does the server (until saved)."""
    project = copy_project(tmp_path / "broken")
    path = project / "data" / "persons.yaml"
    path.write_text(path.read_text().replace("  - id: ", "  - id: [", 1))
    client = await start_server(project, ["persons.yaml"])
    try:
        expected = validate_report({"persons.yaml": path.read_text()}, tmp_path / "saved")
        assert expected and shown(client, project) == expected
        assert [p[5] for p in expected["data/persons.yaml"]] == ["yaml"]
    finally:
        await client.shutdown_session()
        await client.stop()
