"""Measure `pledgegraph lsp` as an editor sees it: start-up, and keystroke -> updated diagnostics.

    .venv/bin/python -m bench.lsp_latency [--orgs 210] [--keystrokes 20] [DATA]

Generates the bench's synthetic data (`python -m bench.generate`, 210 organization units: the
100k-triple size) unless a data directory is given, starts the server as an editor does (a fresh
process over stdio, through pygls' LSP client), and reports:
- start-up: from launching the process to the diagnostics of the opened file (load, build, reason,
  compile shapes, check everything), and to the answer to `initialize`;
- keystroke latency: one character typed into a name of an organization (`--field name`), or the
  last digit of its founding month changed 08 <-> 09 (`--field founded`: an edit every record that
  refers to it must be re-checked for, as a pledge may not predate it), an incremental
  change, unsaved, until the diagnostics of that buffer version arrive: median and worst of N
  keystrokes, each waited for (so the debounce is inside the figure); and the CPU time the server
  process spent on each (from /proc: what the figure would be on an idle machine, less the debounce).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from lsprotocol import types as lsp
from pygls.lsp.client import LanguageClient

ROOT = Path(__file__).resolve().parent.parent


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# Which organization's name the keystrokes go into: the generator's first organization is one of the few
# central groups every pledge goes to (~160 records refer to it; a name typed there is read by none of
# their shapes, so they are not re-checked, but what the server does per referring record shows here);
# the middle and the last are typical records (a dozen or two referring records).
RECORDS = ("first", "middle", "last")


async def measure(data: Path, keystrokes: int, record: str = "first", field: str = "name") -> dict:
    client = LanguageClient("bench", "1")
    checked: dict[str, int | None] = {}

    @client.feature(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    def published(params: lsp.PublishDiagnosticsParams) -> None:
        checked[params.uri] = params.version

    async def until(condition, timeout: float = 600) -> None:
        async with asyncio.timeout(timeout):
            while not condition():
                await asyncio.sleep(0.001)

    path = sorted(data.glob("organizations*.yaml"))[0].resolve()
    uri, text = path.as_uri(), path.read_text()
    start = time.perf_counter()
    await client.start_io(sys.executable, "-m", "pledgegraph", "lsp", "--data", str(data), cwd=ROOT)
    await client.initialize_async(lsp.InitializeParams(capabilities=lsp.ClientCapabilities(), process_id=None))
    answered = time.perf_counter() - start
    client.initialized(lsp.InitializedParams())
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(lsp.TextDocumentItem(uri, "yaml", 1, text)))
    await until(lambda: checked.get(uri) == 1)
    ready = time.perf_counter() - start

    lines = text.split("\n")
    rows = [i for i, line in enumerate(lines) if "- name: " in line]
    row = {"first": rows[0], "middle": rows[len(rows) // 2], "last": rows[-1]}[record]
    if field == "founded":  # the founding month below that name: "1990-09" -> "1990-08" -> "1990-09" …
        row = next(i + 1 for i in range(row, len(lines)) if lines[i].strip() == "founded:")
    column = len(lines[row].rstrip()) - 1  # inside the quoted value, before its closing quote
    seconds, cpu = [], []
    pid = client._server.pid
    for version in range(2, keystrokes + 2):
        if field == "name":  # a character typed at the end of the name
            at = lsp.Position(row, column + version - 2)
            change = lsp.TextDocumentContentChangePartial(range=lsp.Range(at, at), text="x")
        else:  # the month's last digit replaced
            span = lsp.Range(lsp.Position(row, column - 1), lsp.Position(row, column))
            change = lsp.TextDocumentContentChangePartial(range=span, text="8" if version % 2 == 0 else "9")
        used = cpu_seconds(pid)
        sent = time.perf_counter()
        client.text_document_did_change(
            lsp.DidChangeTextDocumentParams(lsp.VersionedTextDocumentIdentifier(version=version, uri=uri), [change])
        )
        await until(lambda v=version: checked.get(uri) == v)
        seconds.append(time.perf_counter() - sent)
        cpu.append(cpu_seconds(pid) - used)
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    return {
        "initialize": answered,
        "ready": ready,
        "median": statistics.median(seconds),
        "worst": max(seconds),
        "cpu": statistics.median(cpu),
        "keystrokes": keystrokes,
        "record": record,
        "field": field,
        "load": os.getloadavg()[0],
    }


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("data", nargs="?", type=Path, help="a data directory (default: generate the bench's data)")
    p.add_argument("--orgs", type=int, default=210, help="size of the generated data, in organization units")
    p.add_argument("--keystrokes", type=int, default=20)
    p.add_argument("--record", choices=RECORDS, action="append", help="whose record is edited (default: each)")
    p.add_argument("--field", choices=("name", "founded"), default="name", help="what is edited (see above)")
    a = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        data = a.data
        if data is None:
            from bench.generate import main as generate

            data = Path(tmp) / "data"
            generate([str(data), "--orgs", str(a.orgs)])
        for record in a.record or RECORDS:
            r = asyncio.run(measure(data, a.keystrokes, record, a.field))
            print(
                f"start-up: initialize answered in {r['initialize'] * 1000:.0f} ms, diagnostics of the opened file "
                f"in {r['ready']:.2f} s"
            )
            print(
                f"keystroke -> diagnostics in the {record} organization's {a.field}: "
                f"median {r['median'] * 1000:.0f} ms, "
                f"worst {r['worst'] * 1000:.0f} ms ({r['keystrokes']} keystrokes); server CPU per keystroke: "
                f"median {r['cpu'] * 1000:.0f} ms; load average {r['load']:.1f} on {os.cpu_count()} cores"
            )


if __name__ == "__main__":
    main()
