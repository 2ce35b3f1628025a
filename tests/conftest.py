"""Shared fixtures: the shipped project, and throwaway copies of its data to break on purpose."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
SEEDS = SHARED / "seeds"

# Test tiers, decided here and only here. `make check` (every edit) runs what is none of these;
# `make test` (CI) runs everything. slow: more than a few seconds on this 2-core machine (whole
# builds and publishes, property-based and differential tests, servers); service / browser: need
# Virtuoso or Chromium, which `make test` installs. Tests that read ../shared (the seed texts and the
# public test suites) skip, saying so, where it is not beside the project.
SLOW_MODULES = {
    "test_resilience.py",
    "test_web_servers.py",
    "test_publish.py",
    "test_fast_paths.py",
    "test_bench.py",
    "test_session.py",
    "test_properties.py",
    "test_endpoint_attack.py",
    "test_serve.py",
    "test_serve_http.py",
    "test_incremental.py",
    "test_shapes.py",
    "test_diff.py",
    "test_cli.py",
    "test_build.py",
    "test_dcat_ap.py",
    "test_shacl_differential.py",
    "test_owl_dl.py",
    "test_random_scalars.py",
    "test_reconcile.py",
    "test_push.py",
    "test_first_hour.py",
    "test_shacl_w3c.py",
    "test_bad_input.py",
    "test_output_safety.py",
    "test_lsp.py",
}
SLOW_TESTS = (
    "test_pages.py::test_every_link_on_every_page_goes_to_an_entity_or_outside",
    "test_pages.py::test_pages_show_labels_not_iris_or_property_names",
    "test_reason.py::test_inferred_triples_equal_owlrl_closure",
    "test_research_tools.py::test_export_describe_and_record_subgraph_agree",
    "test_query.py::test_every_library_query_has_a_title_and_runs",
    "test_validate.py::test_the_reference_engine_and_reasoner_are_one_flag_away",
    "test_ontology.py::test_ontology_is_consistent_under_owl_rl",
    "test_reason.py::test_an_edit_gives_what_closing",
    "test_time_true.py::test_short_paths_agree",
    "test_shacl_engine.py::test_shipped_shapes_on_broken_data",
    "test_shacl_engine.py::test_shipped_data_and_shapes",
    "test_api.py::test_check_build_publish_and_query",
    "test_curation.py::test_build_refuses_to_drop_records_of_the_current_build_unless_told",
    "test_curation.py::test_five_thousand_dangling_references_are_reported_in_under_two_seconds",
    "test_curation.py::test_suggestions_cost_does_not_grow_with_the_number_of_ids",
    "test_search.py::test_the_release_ships_the_index_and_a_search_script",
    "test_search.py::test_the_release_script_finds_names_in_any_script",
    "test_audit.py::test_watch_re_audits_an_edited_record_as_a_full_run_would",
)
SERVICE_MODULES = {"test_push_virtuoso.py", "test_web_servers.py"}
BROWSER_MODULES = {"test_publish_browser.py"}
SHARED_MODULES = {
    "test_evidence.py",
    "test_competency.py",
    "test_audit.py",
    "test_curation.py",
    "test_first_hour.py",
    "test_search.py",
    "test_reconcile.py",
}


def pytest_configure(config):
    for name, doc in (
        ("slow", "takes more than a few seconds: not in `make check`"),
        ("service", "needs a machine service (Virtuoso, nginx, Apache): not in `make check`"),
        ("browser", "needs headless Chromium: not in `make check`"),
    ):
        config.addinivalue_line("markers", f"{name}: {doc}")


# The modules that take longest, run first: `make test`'s `--dist loadfile` hands whole files to the two
# workers in collection order, and a long file handed out late keeps one core busy alone at the end.
# Ordered by their time in `pytest -n 2 --dist loadfile --junitxml` (6 December 2026, suite-r1), the
# pySHACL oracle runs after reference_results prepared each SPARQL constraint once (4-8x faster).
LONGEST_FIRST = (
    "test_session.py",
    "test_shacl_differential.py",
    "test_bad_input.py",
    "test_publish.py",
    "test_reason.py",
    "test_push_virtuoso.py",
    "test_fast_paths.py",
    "test_pages.py",
    "test_resilience.py",
    "test_endpoint_attack.py",
    "test_shapes.py",
    "test_shacl_engine.py",
    "test_serve.py",
    "test_web_servers.py",
)


def pytest_collection_modifyitems(config, items):
    items.sort(
        key=lambda item: LONGEST_FIRST.index(item.path.name) if item.path.name in LONGEST_FIRST else len(LONGEST_FIRST)
    )
    for item in items:
        module = item.path.name
        short_id = item.nodeid.split("/")[-1]
        if module in SLOW_MODULES or short_id.startswith(SLOW_TESTS):
            item.add_marker(pytest.mark.slow)
        if module in SERVICE_MODULES:
            item.add_marker(pytest.mark.service)
        if module in BROWSER_MODULES:
            item.add_marker(pytest.mark.browser)
        if module in SHARED_MODULES and not SEEDS.is_dir():
            item.add_marker(pytest.mark.skip(reason=f"needs {SHARED} (seed texts) beside the project"))


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


def copy_data(target: Path) -> Path:
    """A copy of the shipped data whose data/checks.yaml still finds the archived texts."""
    shutil.copytree(ROOT / "data", target)
    checks = target / "checks.yaml"
    checks.write_text(
        checks.read_text(encoding="utf-8").replace("  - ../../shared/seeds", f"  - {SEEDS}"), encoding="utf-8"
    )
    return target


@pytest.fixture
def data_copy(tmp_path) -> Path:
    """A writable copy of the shipped data directory."""
    return copy_data(tmp_path / "data")


@pytest.fixture
def project(monkeypatch, tmp_path):
    """Run commands from the repository root so default paths (data/, ontology/, shapes/) resolve."""
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("PLEDGEGRAPH_OUT_DIR", str(tmp_path / "dist"))
    return ROOT


def settings_for(data_dir: Path | None = None, out_dir: Path | None = None):
    from pledgegraph.layout import Settings

    return Settings(
        data_dir=data_dir or ROOT / "data",
        ontology_dir=ROOT / "ontology",
        shapes_dir=ROOT / "shapes",
        out_dir=out_dir or ROOT / "dist",
    )


@pytest.fixture(scope="session")
def shipped():
    """The shipped data, loaded, built and validated once for the whole session."""
    from pledgegraph.pipeline import check

    return check(settings_for())


@pytest.fixture(scope="session")
def asserted_store(shipped):
    """The shipped data's asserted graph plus the ontology in one Oxigraph store: what the library
    queries meet once published, without the inferred triples."""
    import pyoxigraph as ox

    from pledgegraph.pipeline import ontology_triples

    store = ox.Store()
    store.bulk_extend(ox.Quad(t.subject, t.predicate, t.object) for t in shipped.built.triples)
    store.bulk_extend(ox.Quad(t.subject, t.predicate, t.object) for t in ontology_triples(settings_for()))
    return store


@pytest.fixture(scope="session")
def dist(tmp_path_factory) -> Path:
    """`pledgegraph build` output of the shipped data, written once."""
    from pledgegraph.pipeline import build_all

    out = tmp_path_factory.mktemp("build") / "dist"
    build_all(settings_for(out_dir=out))
    return out


@pytest.fixture(scope="session")
def release(dist, tmp_path_factory) -> Path:
    """A published release of the shipped data: OUTDIR/0.1.0 (OUTDIR also has `latest`)."""
    from pledgegraph.delivery.release.publish import publish

    outdir = tmp_path_factory.mktemp("site")
    publish(outdir, dist)
    return outdir / "0.1.0"


def edited_dist(tmp_path: Path, data_copy: Path) -> Path:
    """The shipped data as version 0.2.0, a day later, with one curator's note reworded, built."""
    from pledgegraph.pipeline import build_all

    dataset = data_copy / "dataset.yaml"
    dataset.write_text(
        dataset.read_text()
        .replace("version: 0.1.0", "version: 0.2.0")
        .replace("modified: 2026-11-21", "modified: 2026-11-22")
    )
    sources = data_copy / "sources.yaml"
    old_note = "note: Undated; written after 23 June 2015, from its content."
    assert old_note in sources.read_text()
    sources.write_text(sources.read_text().replace(old_note, "note: Undated; re-checked."))
    out = tmp_path / "dist2"
    build_all(settings_for(data_dir=data_copy, out_dir=out))
    return out


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def headless_chromium(profile: Path, *args: str) -> subprocess.CompletedProcess:
    """Debian's Chromium, headless, in its own profile, with nothing fetched in the background."""
    assert CHROMIUM is not None
    return subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            f"--user-data-dir={profile}",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
