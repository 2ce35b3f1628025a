"""Outputs that hostile data or a hostile output folder cannot subvert (issue 18, break 7):
publish follows no link it did not create and reads a previous dump only so far, figures are
valid XML whatever characters the data holds, and a file name cannot forge lines of output."""

from __future__ import annotations

import shutil
import time
from xml.etree import ElementTree

import pyoxigraph as ox
import pytest
from click.testing import CliRunner

from pledgegraph.cli import main
from pledgegraph.delivery.endpoint.store import load
from pledgegraph.delivery.release import figures
from pledgegraph.delivery.release.publish import publish, releases
from pledgegraph.errors import UnusableInput


@pytest.fixture
def site(release, tmp_path):
    """A copy of a publish folder holding release 0.1.0, in which to plant things."""
    outdir = tmp_path / "site"
    shutil.copytree(release.parent, outdir, symlinks=True)
    shutil.rmtree(outdir / ".well-known", ignore_errors=True)
    return outdir


def _untouched(outdir, before: set) -> bool:
    return {p.name for p in outdir.iterdir()} == before


def test_publish_follows_no_planted_well_known_link(site, dist, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (site / ".well-known").symlink_to(elsewhere)
    before = {p.name for p in site.iterdir()}
    with pytest.raises(UnusableInput, match="follows no link it did not create"):
        publish(site, dist)
    assert list(elsewhere.iterdir()) == [] and _untouched(site, before)


def test_a_real_latest_directory_is_refused_not_crashed_on(site, dist):
    (site / "latest").unlink()
    (site / "latest").mkdir()
    (site / "latest" / "mine.txt").write_text("keep")
    with pytest.raises(UnusableInput, match="latest is not the symbolic link"):
        publish(site, dist)
    assert (site / "latest" / "mine.txt").read_text() == "keep"


def test_odd_old_release_names_are_not_releases(site):
    odd = site / "0.0.1>x"
    shutil.copytree(site / "0.1.0", odd)
    (site / "0.0.2").symlink_to(site / "0.1.0")  # a link is never taken for a release either
    assert releases(site) == ["0.1.0"]


def _bomb(path, megabytes: int) -> None:
    """A gzip file of `megabytes` MiB of zeros, written without holding them in memory."""
    import gzip

    with gzip.open(path, "wb", compresslevel=1) as f:
        chunk = bytes(1 << 20)
        for _ in range(megabytes):
            f.write(chunk)


def test_a_gzip_bomb_as_previous_dump_is_read_only_so_far(site, dist):
    previous = site / "0.0.9"
    shutil.copytree(site / "0.1.0", previous)
    shutil.rmtree(site / "0.1.0")
    _bomb(previous / "pledgegraph.nt.gz", 300)
    start = time.perf_counter()
    with pytest.raises(UnusableInput, match="unpacks to more than"):
        publish(site, dist)
    assert time.perf_counter() - start < 20


def test_a_linked_previous_dump_is_not_followed(site, dist, tmp_path):
    previous = site / "0.0.9"
    shutil.copytree(site / "0.1.0", previous)
    shutil.rmtree(site / "0.1.0")
    target = tmp_path / "outside.nt.gz"
    (previous / "pledgegraph.nt.gz").rename(target)
    (previous / "pledgegraph.nt.gz").symlink_to(target)
    with pytest.raises(UnusableInput, match="follows no symbolic link"):
        publish(site, dist)


def test_timeline_is_valid_xml_whatever_the_labels_hold(dist):
    loaded = load(dist)
    store = loaded.store
    label = ox.NamedNode("http://www.w3.org/2004/02/skos/core#prefLabel")
    for quad in list(store.quads_for_pattern(None, label, None)):
        if quad.object.language == "en":
            store.remove(quad)
            store.add(
                ox.Quad(
                    quad.subject, label, ox.Literal(quad.object.value + "\uffff\x01", language="en"), quad.graph_name
                )
            )
    svg = figures.Figures(store, loaded.base).timeline(lambda iri: "#")
    assert svg and "\ufffd" in svg
    ElementTree.fromstring(svg)


def test_a_file_name_cannot_forge_lines_of_validate_output(data_copy):
    forged = data_copy / "x.yaml\norgs.yaml:1:1: error: FORGED.yaml"
    forged.write_text("a: [unclosed\n")
    result = CliRunner().invoke(main, ["validate", "--data", str(data_copy)])
    assert result.exit_code != 0
    lines = result.output.splitlines()
    assert not any(line.startswith("orgs.yaml:1:1: error: FORGED") for line in lines)
    assert any("x.yaml\\norgs.yaml" in line for line in lines), result.output


def test_xml_safe_replaces_exactly_the_characters_xml_forbids():
    """Every code point, against XML 1.0's own definition of a character (production [2], Char): kept when
    the standard allows it, replaced by U+FFFD when not."""
    from pledgegraph.model.formats import xml_safe

    def is_xml_char(c: int) -> bool:
        return c in (0x9, 0xA, 0xD) or 0x20 <= c <= 0xD7FF or 0xE000 <= c <= 0xFFFD or 0x10000 <= c <= 0x10FFFF

    every = "".join(map(chr, range(0x110000)))
    expected = "".join(ch if is_xml_char(ord(ch)) else "\ufffd" for ch in every)
    assert xml_safe(every) == expected
