"""Command-line interface: parse options, make one library call, render, exit with its code.

Exit codes: 0 done / data valid, 1 data invalid, 2 usage error or unusable input.
"""

from __future__ import annotations

import json
import signal
import sys
import time
from pathlib import Path

import click

from . import __version__
from .errors import DataInvalid, PledgegraphError, Problem, UnusableInput


def _settings(data, out=None, base=None):
    from .settings import Settings

    return Settings.from_env(data_dir=data, out_dir=out, base=base)


def data_options(fn):
    """Options every data-reading command shares, spelled the same everywhere."""
    fn = click.option("--base", metavar="IRI", help="Base IRI for instances (default "
                      "https://w3id.org/pledgegraph/, or $PLEDGEGRAPH_BASE).")(fn)
    fn = click.option("--data", "data", type=click.Path(path_type=Path), default=None,
                      help="Data directory (default: data/, or $PLEDGEGRAPH_DATA_DIR).")(fn)
    return fn


def _render_problems(problems: list[Problem], fmt: str) -> None:
    if fmt == "json":
        click.echo(json.dumps({"problems": [p.as_dict() for p in problems], "summary": _counts(problems)},
                              indent=2, ensure_ascii=False))
        return
    colour = sys.stdout.isatty()
    for p in problems:
        line = p.format()
        if colour:
            line = click.style(line, fg="red" if p.severity == "error" else "yellow")
        click.echo(line)
    c = _counts(problems)
    click.echo(f"{c['error']} error(s), {c['warning']} warning(s)")


def _counts(problems: list[Problem]) -> dict[str, int]:
    return {"error": sum(p.severity == "error" for p in problems),
            "warning": sum(p.severity == "warning" for p in problems)}


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="pledgegraph")
def main():
    """Build, check and publish the pledgegraph knowledge graph from curated YAML."""


@main.command()
@data_options
@click.option("--format", "fmt", type=click.Choice(["text", "json", "turtle"]), default="text", show_default=True,
              help="text for people, json for tools, turtle for the SHACL validation report.")
@click.option("--strict", is_flag=True, help="Treat warnings as failures.")
def validate(data, base, fmt, strict):
    """Check the data: YAML format, references and SHACL shapes.

    Prints each problem as `file:line:column: severity: entity: message`.
    Exits 0 when valid, 1 when invalid, 2 when the input cannot be read.
    """
    from .pipeline import check

    try:
        result = check(_settings(data, base=base))
    except (DataInvalid, UnusableInput) as e:
        # Format and reference errors stop before SHACL runs, so there is no SHACL report to print.
        if e.problems:
            _render_problems(e.problems, "json" if fmt == "json" else "text")
        else:
            click.echo(f"error: {e}", err=True)
        sys.exit(e.exit_code)
    except PledgegraphError as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(e.exit_code)
    report = result.report
    if fmt == "turtle":
        click.echo(report.results_turtle)
    else:
        _render_problems(report.problems, fmt)
    failed = not report.conforms or (strict and report.problems)
    sys.exit(1 if failed else 0)


@main.command()
@data_options
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Output directory (default: dist/, or $PLEDGEGRAPH_OUT_DIR). Replaced only on success.")
def build(data, base, out):
    """Load, build, validate and write every output to dist/.

    Writes Turtle, N-Triples and JSON-LD of the graph, the ontology and the shapes. Nothing is
    written when the data is invalid; a previous dist/ is kept intact.
    """
    from .pipeline import build_all

    start = time.perf_counter()
    try:
        result = build_all(_settings(data, out, base),
                           on_stage=(lambda s: click.echo(f"  {s}...", err=True)) if sys.stderr.isatty() else None)
    except DataInvalid as e:
        _render_problems(e.problems, "text")
        click.echo("build failed: nothing was written", err=True)
        sys.exit(1)
    except UnusableInput as e:
        if e.problems:
            _render_problems(e.problems, "text")
        click.echo(f"error: {e}", err=True)
        sys.exit(2)
    except PledgegraphError as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(e.exit_code)
    elapsed = time.perf_counter() - start
    warnings = result.report.counts.get("warning", 0)
    click.echo(f"{len(result.dataset.records)} records from {len(result.dataset.files)} files -> "
               f"{len(result.built.triples)} triples, {warnings} warning(s), in {elapsed:.2f}s")
    for path in result.outputs:
        click.echo(f"  wrote {path}")


def _dist_option(fn):
    return click.option("--dist", type=click.Path(path_type=Path), default=None,
                        help="The build output to read (default: dist/, or $PLEDGEGRAPH_OUT_DIR).")(fn)


@main.command()
@click.argument("query_text", metavar="[QUERY | -]", required=False)
@click.option("-f", "--file", "query_file", type=click.Path(path_type=Path, dir_okay=False),
              help="Read the query from a file.")
@click.option("--name", help="Run a query of the library by name (see --list).")
@click.option("--list", "list_queries", is_flag=True, help="List the query library with titles.")
@click.option("--asserted", is_flag=True, help="Query the curated facts only (no inferred triples).")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "tsv", "json", "xml", "turtle", "ntriples"]),
              default=None, help="table (SELECT/ASK default), csv, tsv, json, xml (SPARQL results formats); "
                                 "turtle (CONSTRUCT/DESCRIBE default) or ntriples.")
@_dist_option
def query(query_text, query_file, name, list_queries, asserted, fmt, dist):
    """Run a SPARQL query over the built graph (asserted + inferred facts by default).

    The query comes from the argument, from -f FILE, from stdin (`-`), or from the library
    (--name). Prefixes such as pg:, skos:, org:, prov:, time: are predeclared. Updates, SERVICE,
    LOAD and FROM with other graphs are refused. Exits 0 with an answer, 2 on a bad query
    (a syntax error shows its line and column) or when there is no build.
    """
    from . import store

    settings = _settings(None, dist)
    try:
        if list_queries:
            for example in store.examples(settings.queries_dir):
                click.echo(f"{example.name:40} {example.title}")
            return
        sources = [s for s in (query_text, query_file, name) if s is not None]
        if len(sources) != 1:
            raise click.UsageError("give one query: an argument, -f FILE, - for stdin, or --name NAME")
        if name:
            text = store.example(settings.queries_dir, name).text
        elif query_file:
            text = query_file.read_text(encoding="utf-8")
        else:
            text = sys.stdin.read() if query_text == "-" else query_text
        click.echo(store.run_once(settings.out_dir, text, fmt, asserted_only=asserted), nl=False)
    except PledgegraphError as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(e.exit_code)


def _stop_serving(signum, frame):
    raise KeyboardInterrupt


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535), help="Port (0: any free).")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64),
              help="Query worker processes (each holds a copy of the graph).")
@click.option("--timeout", default=10.0, show_default=True, type=click.FloatRange(0.1, 3600),
              help="Seconds a query may run before it is stopped (HTTP 408).")
@click.option("--max-rows", default=10_000, show_default=True, type=click.IntRange(1),
              help="Rows (or triples) an answer may have (HTTP 413 beyond).")
@_dist_option
def serve(host, port, workers, timeout, max_rows, dist):
    """Serve the built graph over HTTP: SPARQL at /sparql, entity pages and RDF at /id/….

    Read-only: updates, SERVICE, LOAD and foreign graphs are refused; each query has a time
    limit and a row cap. Every entity IRI dereferences to HTML, Turtle, JSON-LD or N-Triples by
    Accept header or suffix (.html, .ttl, .jsonld, .nt).
    """
    from .serve import make_server

    settings = _settings(None, dist)
    try:
        server = make_server(settings.out_dir, settings.queries_dir, host, port, workers=workers, timeout=timeout,
                             max_rows=max_rows, log=lambda line: click.echo(line, err=True))
    except PledgegraphError as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(e.exit_code)
    except OSError as e:
        click.echo(f"error: cannot listen on {host}:{port}: {e.strerror}", err=True)
        sys.exit(2)
    signal.signal(signal.SIGTERM, _stop_serving)  # a service manager's stop: close workers cleanly
    bound_host, bound_port = server.server_address[:2]
    click.echo(f"serving {server.app.base} on http://{bound_host}:{bound_port}/ "
               f"(SPARQL at /sparql; Ctrl-C to stop)", err=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
