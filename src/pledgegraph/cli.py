"""Command-line interface: parse options, make one library call, render, exit with its code.

Exit codes: 0 done / data valid, 1 data invalid, 2 usage error, unusable input or internal error.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import signal
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path

import click

from pledgegraph import quickexit
from pledgegraph.errors import DataInvalid, PledgegraphError, Problem, UnusableInput
from pledgegraph.layout import PUSH_LOADS, REASONERS, SHACL_ENGINES


def _settings(data, out=None, base=None, archive=None, engine=None, reasoner=None):
    from pledgegraph.layout import Settings

    return Settings.from_env(
        data_dir=data, out_dir=out, base=base, archive_dir=archive, shacl_engine=engine, reasoner=reasoner
    )


def _say_fallback(report) -> None:
    """Which shapes pySHACL checked instead of our engine, and why (on stderr: reports stay as they are)."""
    if report.fallback:
        click.echo(f"note: {report.fallback}", err=True)


ARCHIVE_HELP = (
    "Directory of the sources' archived plain texts (each source's `archived_as` file, or "
    "<source-id>.txt); default $PLEDGEGRAPH_ARCHIVE_DIR."
)


def data_options(fn):
    """Options every data-reading command shares, spelled the same everywhere."""
    fn = click.option(
        "--base",
        metavar="IRI",
        help="Base IRI for instances (default https://w3id.org/pledgegraph/, or $PLEDGEGRAPH_BASE).",
    )(fn)
    fn = click.option(
        "--data",
        "data",
        type=click.Path(path_type=Path),
        default=None,
        help="Data directory (default: data/, or $PLEDGEGRAPH_DATA_DIR).",
    )(fn)
    return fn


def _dist_option(fn):
    """The --dist option of every command that reads a build output."""
    return click.option(
        "--dist",
        type=click.Path(path_type=Path),
        default=None,
        help="The build output to read (default: dist/, or $PLEDGEGRAPH_OUT_DIR).",
    )(fn)


JSON_REPORT_VERSION = 1


def _render_problems(
    problems: list[Problem],
    fmt: str,
    scope: str = "all",
    checked: int | None = None,
    total: int | None = None,
    extra: dict | None = None,
    notes: Sequence[str] = (),
) -> None:
    """Problems for people (text) or tools (json: the schema is in README, "For curators").
    `notes` end the text summary line (acknowledged warnings, quotes checked)."""
    counts = _counts(problems)
    if fmt == "json":
        click.echo(
            json.dumps(
                {
                    "version": JSON_REPORT_VERSION,
                    "valid": counts["error"] == 0,
                    "scope": scope,
                    "records_checked": checked,
                    "records_total": total,
                    "problems": [p.as_dict() for p in problems],
                    "summary": counts,
                    **(extra or {}),
                },
                indent=2,
                ensure_ascii=False,
            )
        )
        return
    colour = sys.stdout.isatty()
    for p in problems:
        line = p.format()
        if colour:
            head, _, rest = line.partition(f" {p.severity}:")
            line = (
                click.style(head, bold=True)
                + " "
                + click.style(p.severity + ":", fg="red" if p.severity == "error" else "yellow", bold=True)
                + rest
            )
        click.echo(line)
    summary = f"{counts['error']} error(s), {counts['warning']} warning(s)"
    if checked is not None and total is not None and scope != "all":
        summary += f" in {checked} of {total} records ({scope})"
    click.echo("; ".join([summary, *notes]))


def _counts(problems: list[Problem]) -> dict[str, int]:
    return {s: sum(p.severity == s for p in problems) for s in ("error", "warning", "info")}


@contextlib.contextmanager
def _stage_progress():
    """On a terminal, one live line per pipeline stage with a spinner and its elapsed time (stderr,
    so output stays clean for pipes); elsewhere nothing. Yields the pipeline's `on_stage` callback."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    tasks = []
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description:<12}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
    ) as progress:

        def on_stage(name: str) -> None:
            if tasks:
                progress.update(tasks[-1], total=1, completed=1)
            tasks.append(progress.add_task(name, total=None))

        try:
            yield on_stage
        finally:
            if tasks:
                progress.update(tasks[-1], total=1, completed=1)


class _Main(click.Group):
    """The command group: a library error exits with its code, anything unexpected with 2 and a
    short message (`--debug` or PLEDGEGRAPH_DEBUG=1 prints the traceback too)."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except BrokenPipeError:  # the reader went away (`| head`): stop quietly, as Unix tools do
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            ctx.exit(1)
        except PledgegraphError as e:
            if getattr(e, "problems", None):
                _render_problems(e.problems, "text")
            click.echo(f"error: {e}", err=True)
            ctx.exit(e.exit_code)
        except Exception as e:  # noqa: BLE001 - the one place that turns a bug into exit code 2
            debug = ctx.params.get("debug") or os.environ.get("PLEDGEGRAPH_DEBUG") == "1"
            if debug:
                click.echo(traceback.format_exc(), err=True, nl=False)
            click.echo(
                f"internal error: {type(e).__name__}: {e}"
                + ("" if debug else " (run `pledgegraph --debug ...` to see the traceback)"),
                err=True,
            )
            ctx.exit(2)


@click.group(cls=_Main, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="pledgegraph", prog_name="pledgegraph")  # read only when asked for
@click.option("--debug", is_flag=True, help="Show the traceback of an internal error.")
def main(debug):
    """Build, check and publish the pledgegraph knowledge graph from curated YAML."""


def run() -> None:
    """The `pledgegraph` program (and `python -m pledgegraph`): one command's run per process, which may end
    without freeing what it built (`quickexit`)."""
    quickexit.ends_process()
    main()


@main.command()
@data_options
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "turtle"]),
    default="text",
    show_default=True,
    help="text for people, json for tools, turtle for the SHACL validation report.",
)
@click.option("--strict", is_flag=True, help="Treat warnings as failures.")
@click.option(
    "--changed",
    is_flag=True,
    help="Check only records changed since git HEAD (staged, unstaged or new files) and what depends on them.",
)
@click.option("--since", "rev", metavar="REV", help="Like --changed, against the git revision REV.")
@click.option(
    "--archive",
    type=click.Path(path_type=Path),
    default=None,
    help=ARCHIVE_HELP + " When given, every quote is also checked against its source's text.",
)
@click.option(
    "--watch",
    is_flag=True,
    help="Check everything once, then keep the graph in memory and re-check each data file as it is "
    "saved (the records it changes and those depending on them, in well under a second). Ctrl-C stops.",
)
@click.option(
    "--engine",
    type=click.Choice(SHACL_ENGINES),
    default=SHACL_ENGINES[0],
    show_default=True,
    help="SHACL engine: ours (compiled to SPARQL; pySHACL checks the shapes it refuses, and says so), "
    "or pySHACL, the reference, for every shape.",
)
@click.option(
    "--reasoner",
    type=click.Choice(REASONERS),
    default=REASONERS[0],
    show_default=True,
    help="OWL 2 RL inference: ours, or owlrl, the reference (slow; not with --watch).",
)
@click.option(
    "--all",
    "show_all",
    is_flag=True,
    help="Show the warnings acknowledged in data/checks.yaml too (by default they are only counted).",
)
def validate(data, base, paths, fmt, strict, changed, rev, archive, watch, engine, reasoner, show_all):
    """Check the data: YAML format, references and SHACL shapes.

    Prints each problem as `file:line:column: severity: entity: message [rule] (hint: ...)`.
    With PATHS (data files), --changed or --since, shapes are checked only on the records touched
    and those that depend on them; format and reference checks always cover every file.
    Exits 0 when valid (warnings allowed unless --strict), 1 when invalid, 2 when the input
    cannot be read.
    """
    from pledgegraph.incremental import scope as scopes
    from pledgegraph.pipeline import check

    if sum(map(bool, (paths, changed, rev, watch))) > 1:
        raise click.UsageError("give data files, --changed, --since REV or --watch, not more than one")
    settings = _settings(data, base=base, archive=archive, engine=engine, reasoner=reasoner)
    if watch:
        if fmt == "turtle" or archive:
            raise click.UsageError("--watch reports as text or json, without --archive")
        if reasoner == "owlrl":
            raise click.UsageError(
                "--watch keeps our reasoner's closure up to date: --reasoner owlrl runs without --watch"
            )
        _watch(settings, fmt)
        return
    try:
        scope = None
        if paths:
            scope = scopes.for_paths(list(paths), settings.data_dir)
        elif changed or rev:
            scope = scopes.since(rev or "HEAD", settings.data_dir, settings.ontology_files + settings.shape_files)
        with _stage_progress() as on_stage:
            result = check(settings, on_stage=on_stage, scope=scope)
    except (DataInvalid, UnusableInput) as e:
        # Format and reference errors stop before SHACL runs, so there is no SHACL report to print.
        if e.problems:
            shown, known = (e.problems, []) if show_all else _split_acknowledged(e.problems, settings.data_dir)
            _render_problems(
                shown,
                "json" if fmt == "json" else "text",
                extra={"acknowledged": len(known)},
                notes=[f"{len(known)} acknowledged warning(s) not shown"] if known else [],
            )
        else:
            click.echo(f"error: {e}", err=True)
        sys.exit(e.exit_code)
    report = result.report
    _say_fallback(report)
    total = len(result.dataset.records)
    checked = total if result.checked is None else len(result.checked)
    label = "all" if scope is None else scope.label
    if fmt == "turtle":
        click.echo(report.results_turtle)
        sys.exit(0 if report.conforms else 1)
    shown, notes, extra = _curated_view(result, show_all, full=scope is None)
    _render_problems(shown, fmt, label, checked, total, extra, notes)
    failed = not report.conforms or (strict and any(p.severity == "warning" for p in shown))
    sys.exit(1 if failed else 0)


def _split_acknowledged(problems: list[Problem], data_dir: Path) -> tuple[list[Problem], list[Problem]]:
    """(problems to show, acknowledged warnings) when the data could not be loaded whole."""
    from pledgegraph.stages.checks import read_checks

    try:
        return read_checks(data_dir).split(problems)
    except UnusableInput:
        return problems, []


def _curated_view(result, show_all: bool, full: bool) -> tuple[list[Problem], list[str], dict]:
    """What `validate` shows: every problem (records that disappeared since git HEAD or the last build
    among them), minus the warnings acknowledged in data/checks.yaml (counted; `--all` shows them); and
    the notes of its summary line."""
    from pledgegraph.errors import sorted_unique
    from pledgegraph.incremental.removals import RULE

    checks = result.dataset.checks
    problems = result.report.problems
    removed = [p for p in problems if p.rule == RULE]
    shown, known = (problems, []) if show_all else checks.split(problems)
    if full and not show_all:
        shown = sorted_unique(shown + checks.stale(problems, set(result.dataset.by_id)))
    notes = []
    if known:
        notes.append(f"{len(known)} acknowledged warning(s) not shown (--all shows them)")
    if removed:
        notes.append(f"{len(removed)} record(s) removed since {result.compared}")
    notes.append(result.evidence.summary_line())
    extra = {"acknowledged": len(known), "evidence": result.evidence.summary()}
    return shown, notes, extra


def _watch(settings, fmt: str) -> None:
    """`validate --watch`: a report at start, then one per change, until Ctrl-C."""
    import time as clock

    from pledgegraph.incremental.session import watch

    def shown(problems):  # the warnings acknowledged in data/checks.yaml are left out, as in `validate`
        return _split_acknowledged(problems, settings.data_dir)[0]

    def on_start(session, report):
        _say_fallback(report)
        _render_problems(shown(report.problems), fmt, "all", session.total, session.total)
        click.echo(f"watching {len(session.files)} data file(s) in {settings.data_dir}; Ctrl-C stops", err=True)

    def on_update(update):
        if fmt == "text":
            click.echo(
                f"[{clock.strftime('%H:%M:%S')}] {', '.join(update.files)} changed: re-checked in {update.seconds:.2f}s"
            )
        _render_problems(
            shown(update.report.problems),
            fmt,
            "changed: " + ", ".join(update.files),
            len(update.checked),
            update.total,
            {"seconds": round(update.seconds, 3)} if fmt == "json" else None,
        )
        _say_fallback(update.report)

    def on_error(e):  # the start-up check failed; it is tried again when a file changes
        if e.problems:
            _render_problems(shown(e.problems), fmt)
        else:
            click.echo(f"error: {e}", err=True)
        click.echo("waiting for a change to the data; Ctrl-C stops", err=True)

    try:
        watch(settings, on_start, on_update, on_error)
    except KeyboardInterrupt:
        click.echo("stopped", err=True)


@main.command()
@data_options
def lsp(data, base):
    """Serve the data's checks to an editor: a language server over stdio (set-up: docs/curators.md).

    Diagnostics as `validate --watch` finds them in the unsaved buffers, completion of ids, fields and
    concepts, hover, go to definition, find references, quick fixes and the outline of records."""
    from pledgegraph.editor.lsp import serve

    serve(_settings(data, base=base))


@main.command()
@data_options
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="Output directory (default: dist/, or $PLEDGEGRAPH_OUT_DIR). Replaced only on success.",
)
@click.option(
    "--allow-removals",
    is_flag=True,
    help="Replace the output even though records in it are no longer in the data (their IRIs vanish).",
)
@click.option(
    "--low-memory",
    is_flag=True,
    help="Keep the SHACL store on disk (a temporary directory) instead of in memory, as a graph of 16M "
    "asserted triples or more always does: leaner, slower to validate (see docs/performance.md).",
)
def build(data, base, out, allow_removals, low_memory):
    """Load, build, validate and write every output to dist/.

    Writes Turtle, N-Triples and JSON-LD of the graph, the ontology and the shapes. Nothing is
    written when the data is invalid, or when records of the previous dist/ are missing from the
    data (unless --allow-removals); a previous dist/ is kept intact.
    """
    from pledgegraph.pipeline import build_all

    start = time.perf_counter()
    try:
        with _stage_progress() as on_stage:
            settings = dataclasses.replace(_settings(data, out, base), low_memory=low_memory)
            result = build_all(settings, on_stage=on_stage, allow_removals=allow_removals)
    except DataInvalid as e:
        shown, known = _split_acknowledged(e.problems, _settings(data).data_dir)
        _render_problems(shown, "text", notes=[f"{len(known)} acknowledged warning(s) not shown"] if known else [])
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
    _say_fallback(result.report)
    shown, known = result.dataset.checks.split(result.report.problems)
    warnings = sum(p.severity == "warning" for p in shown)
    click.echo(
        f"{len(result.dataset.records)} records from {len(result.dataset.files)} files -> "
        f"{len(result.built)} asserted + {len(result.inferred)} inferred triples, {warnings} warning(s) "
        f"(+{len(known)} acknowledged), in {elapsed:.2f}s; {result.evidence.summary_line()}"
    )
    for path in result.outputs:
        click.echo(f"  wrote {path}")


@main.command("schema")
@click.option(
    "--data",
    "data",
    type=click.Path(path_type=Path),
    default=None,
    help="Data directory (default: data/, or $PLEDGEGRAPH_DATA_DIR).",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="Where to write it (default: DATA/pledgegraph.schema.json; - for standard output).",
)
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if the file is not what would be written.")
def schema_command(data, out, check):
    """Write the JSON Schema of the data files, generated from the format definition.

    YAML editors use it (through each data file's first line) to complete field names, list
    vocabulary concepts and flag mistakes while typing. Regenerate it after changing
    schema.py or the vocabularies.
    """
    from pledgegraph.delivery.export import write_file
    from pledgegraph.editor.json_schema import FILE_NAME, data_schema, render
    from pledgegraph.stages.load import load_vocabulary

    settings = _settings(data)
    content = render(data_schema(load_vocabulary(settings.vocabulary_file)))
    target = out or settings.data_dir / FILE_NAME
    if str(target) == "-":
        click.echo(content.decode(), nl=False)
    elif check:
        if not target.is_file() or target.read_bytes() != content:
            click.echo(f"{target} is out of date: run `pledgegraph schema`", err=True)
            sys.exit(1)
        click.echo(f"{target} is up to date")
    else:
        write_file(target, content)
        click.echo(f"wrote {target}")


@main.command("diff")
@data_options
@click.argument("old")
@click.argument("new", required=False)
@click.option("--rdf", is_flag=True, help="Print the removed and added triples (sorted N-Triples, `- `/`+ `).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def diff_command(data, base, old, new, rdf, fmt):
    """Show what changed between two versions of the data, record by record and field by field.

    OLD and NEW are data directories or git revisions (NEW defaults to the data directory, so
    `pledgegraph diff HEAD` reviews uncommitted changes). Exits 0, or 1/2 if a side is invalid
    or unreadable.
    """
    from pledgegraph.incremental.diff import between

    settings = _settings(data, base=base)
    result = between(old, new, settings.data_dir, settings.vocabulary_file, settings.base, with_triples=rdf)
    if fmt == "json":
        click.echo(json.dumps(result.as_dict(), indent=2, ensure_ascii=False))
    else:
        click.echo(result.triples_text() if rdf else result.text())


@main.command()
@click.option("--archive", type=click.Path(path_type=Path), default=None, help=ARCHIVE_HELP)
@click.option(
    "--data",
    "data",
    type=click.Path(path_type=Path),
    default=None,
    help="Data directory (default: data/, or $PLEDGEGRAPH_DATA_DIR).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text for people, json for tools.",
)
def evidence(archive, data, fmt):
    """Check every quote against the archived text of the source it is cited to.

    A quote must occur in the text exactly once (or once with its prefix/suffix), after normalising
    whitespace, quote marks, dashes and ellipses. Each failure is printed as
    `file:line:column: error: record: source: quote not found` with the closest passage.
    Exits 0 when every quote is found, 1 when one is not, 2 when the input cannot be read.
    """
    from pledgegraph.pipeline import check_evidence

    settings = _settings(data, archive=archive)
    try:
        result, problems = check_evidence(settings)
    except PledgegraphError as e:
        if getattr(e, "problems", None):
            _render_problems(e.problems, fmt)
        click.echo(f"error: {e}", err=True)
        sys.exit(e.exit_code)
    _render_problems(problems, fmt, extra={"evidence": result.summary()}, notes=[result.summary_line()])
    if fmt == "text":
        click.echo(result.summary_text())
    sys.exit(1 if any(p.severity == "error" for p in problems) else 0)


@main.command()
@click.option(
    "--data",
    "data",
    type=click.Path(path_type=Path),
    default=None,
    help="Data directory (default: data/, or $PLEDGEGRAPH_DATA_DIR).",
)
def coverage(data):
    """Print, per seed (a source with an archived text), how many records of each kind cite it.

    The same Markdown table as data/README.md's (a test keeps the two equal). Exits 0, or 1/2 when
    the data is invalid or unreadable.
    """
    from pledgegraph.stages.evidence import coverage as coverage_table
    from pledgegraph.stages.load import load, load_vocabulary

    settings = _settings(data)
    click.echo(coverage_table(load(settings.data_dir, load_vocabulary(settings.vocabulary_file))), nl=False)


@main.command()
@click.argument("outdir", type=click.Path(path_type=Path))
@_dist_option
@click.option(
    "--force",
    is_flag=True,
    help="Replace a published version that has other content (the change set records the replacement).",
)
def publish(outdir, dist, force):
    """Write a versioned static release to OUTDIR/<version>/ and point OUTDIR/latest at it.

    Reads what `pledgegraph build` wrote (it does not rebuild): dumps, JSON-LD context, ontology,
    shapes, VoID, DCAT, a page and RDF files per entity, pictures, a sitemap, server config
    examples and the change set against the previous release in OUTDIR. A failed publish leaves
    earlier releases untouched. Versions only go forward: an older version, or a published one with
    other content (without --force), is refused. Exits 0 when published (or already published with
    this content), 2 when the build output cannot be read, 3 when refused.
    """
    from pledgegraph.delivery.release.publish import publish as publish_release

    start = time.perf_counter()
    try:
        result = publish_release(outdir, dist or _settings(None).out_dir, force=force)
    except PledgegraphError as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(e.exit_code)
    if result.unchanged:
        click.echo(f"release {result.version} in {result.release} already has this content: nothing written")
        return
    for warning in result.changes["warnings"]:
        click.echo(f"warning: {warning}", err=True)
    since = (
        f"since {result.previous}: +{result.changes['triples_added']} -{result.changes['triples_removed']} triples"
        if result.previous
        else "first release"
    )
    click.echo(
        f"published {result.version} to {result.release}: {result.triples} triples, {result.entities} "
        f"entities, {result.files} files ({since}) in {time.perf_counter() - start:.2f}s"
    )
    quickexit.exit_now(0)  # the release is complete: its objects are not freed one by one


@main.command()
@click.argument("endpoint")
@click.option(
    "--release",
    type=click.Path(path_type=Path),
    default=Path("release/latest"),
    show_default=True,
    help="The release directory to load (written by `pledgegraph publish`).",
)
@click.option("--graph", metavar="IRI", help="Named graph for the data (default <base>graph/release/<version>).")
@click.option(
    "--graph-store",
    metavar="URL",
    help="Graph Store HTTP Protocol endpoint for loading (default: SPARQL Update INSERT DATA).",
)
@click.option("--query", metavar="URL", help="SPARQL query endpoint for the checks (default: ENDPOINT).")
@click.option(
    "--release-url",
    metavar="URL",
    help="Where the release is hosted, for the links in its metadata (default <base><version>/).",
)
@click.option(
    "--allow-basic-over-http",
    is_flag=True,
    help="Answer a store's Basic authentication challenge over plain http:// (sends the password "
    "readable on the way; refused by default).",
)
@click.option(
    "--load",
    type=click.Choice(PUSH_LOADS),
    default=PUSH_LOADS[0],
    show_default=True,
    help="How the data reaches the store: bulk (Virtuoso reads files written into a folder of its "
    "DirsAllowed: same machine or shared disk), http (any SPARQL 1.1 store), auto (bulk when the store "
    "can read a probe file written here).",
)
def push(endpoint, release, graph, graph_store, query, release_url, allow_basic_over_http, load):
    """Load a release into a SPARQL 1.1 store at ENDPOINT (its update endpoint), in one swap.

    Stages the data and its VoID/DCAT metadata, moves both over the live graphs in one update,
    then checks the store's triple counts against VoID. Credentials: PLEDGEGRAPH_STORE_USER and
    PLEDGEGRAPH_STORE_PASSWORD, or a netrc entry for the host. Exits 0 when loaded and checked,
    2 when the release cannot be read, 3 when the store refuses or the counts differ.
    """
    from pledgegraph.delivery.push import Store
    from pledgegraph.delivery.push import push as push_release

    try:
        result = push_release(
            Store(endpoint, graph_store, query, allow_basic_over_http=allow_basic_over_http),
            release,
            graph,
            release_url,
            load,
        )
    except PledgegraphError as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(e.exit_code)
    click.echo(
        f"pushed {result.version}: {result.triples} triples into <{result.graph}>, "
        f"{result.metadata_triples} into <{result.metadata_graph}>; counts match VoID; "
        f"load ({result.load}) + swap {result.seconds:.2f}s"
    )


@main.command()
@click.argument("query_text", metavar="[QUERY | -]", required=False)
@click.option(
    "-f", "--file", "query_file", type=click.Path(path_type=Path, dir_okay=False), help="Read the query from a file."
)
@click.option("--name", help="Run a query of the library by name (see --list).")
@click.option(
    "--bind",
    "binds",
    multiple=True,
    metavar="VAR=VALUE",
    help="Pre-bind a variable (repeatable): VALUE in SPARQL term syntax (<https://…>, "
    '"2015-07-01"^^xsd:date), a bare date, or a record as KIND/ID (org/islamic-state). '
    "Library queries declare their parameters and defaults (see --list).",
)
@click.option("--list", "list_queries", is_flag=True, help="List the query library with titles.")
@click.option("--asserted", is_flag=True, help="Query the curated facts only (no inferred triples).")
@click.option(
    "--labels",
    is_flag=True,
    help="Add a ?<var>Label column (the name) after each column of IRIs; tables show entities as KIND/ID.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "tsv", "json", "xml", "turtle", "ntriples"]),
    default=None,
    help="table (SELECT/ASK default), csv, tsv, json, xml (SPARQL results formats); "
    "turtle (CONSTRUCT/DESCRIBE default) or ntriples.",
)
@_dist_option
def query(query_text, query_file, name, binds, list_queries, asserted, labels, fmt, dist):
    """Run a SPARQL query over the built graph (asserted + inferred facts by default).

    The query comes from the argument, from -f FILE, from stdin (`-`), or from the library
    (--name). Prefixes such as pg:, skos:, org:, prov:, time: are predeclared. Updates, SERVICE,
    LOAD and FROM with other graphs are refused. Terms the dataset does not know, and for an
    empty answer the pattern that matched nothing, are reported on stderr. Exits 0 with an
    answer, 2 on a bad query (a syntax error shows its line and column) or when there is no build.
    """
    from pledgegraph.delivery.endpoint import oneshot, store

    settings = _settings(None, dist)
    try:
        if list_queries:
            for example in store.examples(settings.queries_dir):
                params = " ".join(f"?{v}={d}" for v, d in example.parameters)
                click.echo(f"{example.name:40} {example.title}" + (f"  [{params}]" if params else ""))
            return
        sources = [s for s in (query_text, query_file, name) if s is not None]
        if len(sources) != 1:
            raise click.UsageError("give one query: an argument, -f FILE, - for stdin, or --name NAME")
        chosen = store.example(settings.queries_dir, name) if name else None
        if chosen:
            text = chosen.text
        elif query_file:
            text = query_file.read_text(encoding="utf-8")
        else:
            text = sys.stdin.read() if query_text == "-" else query_text
        bound = store.bindings(chosen, binds, settings.base)
        click.echo(
            oneshot.run_once(
                settings.out_dir,
                text,
                fmt,
                asserted_only=asserted,
                bound=bound,
                labels=labels,
                warn=lambda message: click.echo(f"warning: {message}", err=True),
            ),
            nl=False,
        )
    except PledgegraphError as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(e.exit_code)


def _search_kinds() -> list[str]:
    from pledgegraph.delivery.search import KIND_NAMES

    return sorted(KIND_NAMES)


@main.command()
@click.argument("text")
@click.option(
    "--kind",
    "kinds",
    multiple=True,
    type=click.Choice(_search_kinds()),
    help="Only entities of this kind (org or organization, person, place, event, source…; repeatable).",
)
@click.option("--lang", default="", help="Only names in this language tag (en, ru, ar-Latn…).")
@click.option("--limit", default=10, show_default=True, type=click.IntRange(1, 1000), help="Hits to show.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@_dist_option
def search(text, kinds, lang, limit, fmt, dist):
    """Find entities by any of their names, in any script, tolerating spelling variants and typos.

    Prints the best hits with their score (100: exact name), the name that matched and its
    language, the entity's kind, label and IRI. Exits 0 with hits, 1 with none, 2 when there is no build.
    """
    from pledgegraph.delivery import search as names

    settings = _settings(None, dist)
    try:
        hits = names.Index.load(settings.out_dir).search(text, [names.kind_named(k) for k in kinds], lang, limit)
    except PledgegraphError as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(e.exit_code)
    if fmt == "json":
        click.echo(json.dumps([names.hit_json(h) for h in hits], ensure_ascii=False, indent=2))
    else:
        click.echo(names.hits_table(hits), nl=False)
    sys.exit(0 if hits else 1)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535), help="Port (0: any free).")
@click.option(
    "--workers",
    default=2,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Query worker processes (each holds a copy of the graph).",
)
@click.option(
    "--timeout",
    default=10.0,
    show_default=True,
    type=click.FloatRange(0.1, 3600),
    help="Seconds a query may run before it is stopped (HTTP 503 saying so).",
)
@click.option(
    "--max-rows",
    default=None,
    type=click.IntRange(1),
    help="Rows (or triples) an answer may have (HTTP 422 beyond). Default: no row cap; the answer's "
    "size (--max-answer-mb) and time (--timeout) bound it.",
)
@click.option(
    "--max-answer-mb",
    default=16,
    show_default=True,
    type=click.IntRange(1, 1024),
    help="MiB an answer may have (HTTP 422 beyond; an HTML page a tenth of it).",
)
@click.option(
    "--keep-answers-mb",
    default=64,
    show_default=True,
    type=click.IntRange(0, 4096),
    help="MiB of answers kept to give again to the same request on the same build (0: compute every answer).",
)
@_dist_option
def serve(host, port, workers, timeout, max_rows, max_answer_mb, keep_answers_mb, dist):
    """Serve the built graph over HTTP: SPARQL at /sparql, entity pages and RDF at /id/….

    Read-only: updates, SERVICE, LOAD and foreign graphs are refused; each query has a time
    limit and a size cap. Every entity IRI dereferences to HTML, Turtle, JSON-LD or N-Triples by
    Accept header or suffix (.html, .ttl, .jsonld, .nt).
    """
    from pledgegraph.delivery.endpoint.serve import make_server, server_memory_mb
    from pledgegraph.system import limit_memory

    settings = _settings(None, dist)
    limit_memory(server_memory_mb(settings.out_dir))
    try:
        server = make_server(
            settings.out_dir,
            settings.queries_dir,
            host,
            port,
            workers=workers,
            timeout=timeout,
            max_rows=max_rows,
            max_answer=max_answer_mb << 20,
            keep_answers_mb=keep_answers_mb,
            log=lambda line: click.echo(line, err=True),
        )
    except PledgegraphError as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(e.exit_code)
    except OSError as e:
        click.echo(f"error: cannot listen on {host}:{port}: {e.strerror}", err=True)
        sys.exit(2)
    # a service manager's stop: finish in-flight requests for a second, then close the workers
    signal.signal(signal.SIGTERM, lambda signum, frame: server.shutdown())
    bound_host, bound_port = server.server_address[:2]
    click.echo(
        f"serving {server.app.base} on http://{bound_host}:{bound_port}/ (SPARQL at /sparql; Ctrl-C to stop)", err=True
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


@main.command()
@click.argument("entity", metavar="KIND/ID")
@_dist_option
def show(entity, dist):
    """Print an entity's page: names, facts with their sources and quotes, and what points at it.

    KIND/ID as in its IRI (org/islamic-state, person/rustam-asildarov) or the full IRI. The same
    content as the entity's web page. Exits 2 when the build has no such entity (with the
    closest ids or names).
    """
    from pledgegraph.delivery.endpoint import show as shown
    from pledgegraph.delivery.endpoint import store

    settings = _settings(None, dist)
    try:
        loaded = store.load(settings.out_dir)
        click.echo(shown.text_page(loaded, shown.resolve(loaded, entity)), nl=False)
    except PledgegraphError as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(e.exit_code)


@main.command()
@click.argument("entity", metavar="KIND/ID")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["turtle", "ntriples", "jsonld", "rdfxml"]),
    default="turtle",
    show_default=True,
)
@_dist_option
def export(entity, fmt, dist):
    """Print a record's whole subgraph: its triples and those of every node below it (names,
    citations, quotes, dates, periods), asserted and inferred: the triples of its served `.ttl`
    and of `DESCRIBE <iri>`. Exits 2 when the build has no such entity.
    """
    from pledgegraph.delivery.endpoint import show as shown
    from pledgegraph.delivery.endpoint import store
    from pledgegraph.delivery.export import serialize

    settings = _settings(None, dist)
    try:
        loaded = store.load(settings.out_dir)
        click.echo(serialize(store.describe(loaded, shown.resolve(loaded, entity)), fmt), nl=False)
    except PledgegraphError as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(e.exit_code)
