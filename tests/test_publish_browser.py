"""The release as a website: served by `python -m http.server`, read by headless Chromium and a harvester."""

from __future__ import annotations

import gzip
import re
import socket
import subprocess
import sys
import time
import urllib.request
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pyoxigraph as ox
import pytest

from conftest import CHROMIUM, headless_chromium

BASE = "https://w3id.org/pledgegraph/"
VOID = "http://rdfs.org/ns/void#"


@pytest.fixture(scope="module")
def site(release):
    """The publish directory served on 127.0.0.1; yields its root URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(release.parent)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(url, timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs = []

    def handle_starttag(self, tag, attrs):
        href = dict(attrs).get("href")
        if tag == "a" and href:
            self.hrefs.append(href)


def _dom(url: str, profile) -> str:
    """The page as Chromium renders it (the DOM after parsing, SVG included)."""
    run = headless_chromium(profile, "--dump-dom", url)
    assert run.returncode == 0, run.stderr[-2000:]
    return run.stdout


@pytest.mark.skipif(
    CHROMIUM is None,
    reason="Chromium is not installed: run scripts/install-test-deps.sh (needs root and apt-get; `make test` does)",
)
def test_pages_render_in_chromium_and_their_entity_links_resolve_inside_the_release(site, tmp_path):
    pages = [
        urljoin(site, "latest/index.html"),
        urljoin(site, "latest/person/rustam-asildarov.html"),
        urljoin(site, "latest/org/is-caucasus-province.html"),
    ]
    checked, doms = set(), {}
    for page in pages:
        dom = doms[page] = _dom(page, tmp_path / "profile")
        assert "<svg" in dom and "</main>" in dom
        parser = _Links()
        parser.feed(dom)
        internal = [urljoin(page, h) for h in parser.hrefs if not urlsplit(h).scheme]
        entity_links = [u for u in internal if u.endswith(".html") and "/latest/" in u]
        assert entity_links, page
        for url in internal:
            if url not in checked:
                with urllib.request.urlopen(url, timeout=5) as r:  # raises on 404
                    assert r.status == 200
                checked.add(url)
    assert "Rustam Asildarov" in doms[pages[1]] and "Вилаят Кавказ" in doms[pages[2]]
    assert len(checked) > 30


def _screenshot(url: str, png, profile, height: int = 1400):
    run = headless_chromium(profile, "--hide-scrollbars", f"--window-size=1200,{height}", f"--screenshot={png}", url)
    assert run.returncode == 0 and png.is_file(), run.stderr[-2000:]
    from PIL import Image

    with Image.open(png) as image:
        rgb = image.convert("RGB")
        return dict((colour, count) for count, colour in rgb.getcolors(rgb.width * rgb.height))  # RGB -> pixels


def _inked(pixels: dict[tuple[int, int, int], int]) -> float:
    """The share of the screen that is not (nearly) white."""
    return sum(n for colour, n in pixels.items() if min(colour) < 250) / sum(pixels.values())


def _has_colour(pixels: dict[tuple[int, int, int], int], hex_colour: str) -> bool:
    rgb = tuple(int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return pixels.get(rgb, 0) >= 20


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed: run scripts/install-test-deps.sh")
def test_screenshots_show_the_pictures_and_pages_a_person_reads(site, release, tmp_path):
    """Chromium draws the index, an organization's page and both pictures: not blank, every kind's legend
    colour drawn in the picture, the labels in the rendered DOM, and no IRI of ours where a name exists."""
    from pledgegraph.delivery.release.figures import COLOURS

    shots = tmp_path / "shots"
    shots.mkdir()
    profile = tmp_path / "profile"
    timeline = _screenshot(urljoin(site, "latest/timeline.svg"), shots / "timeline.png", profile, 1300)
    diagram = _screenshot(urljoin(site, "latest/branches.svg"), shots / "branches.png", profile, 1300)
    index = _screenshot(urljoin(site, "latest/index.html"), shots / "index.png", profile)
    page = _screenshot(urljoin(site, "latest/org/islamic-state.html"), shots / "islamic-state.png", profile, 7000)
    for pixels in (timeline, diagram, index, page):
        assert _inked(pixels) > 0.03  # ink on more than 3% of the screen: not blank
    # the legend's colours are the marks' colours, as drawn: each kind's colour is on the screen
    for kind in ("pledge", "acceptance", "tenure", "branch", "claimed", "attributed"):
        assert _has_colour(timeline, COLOURS[kind]), kind
    for kind in ("pledge", "branch"):
        assert _has_colour(diagram, COLOURS[kind]), kind
    # the Islamic State's page has its own timeline (our SVG writer) with a fact of every kind
    for kind in ("pledge", "acceptance", "tenure", "branch", "claimed", "attributed"):
        assert _has_colour(page, COLOURS[kind]), kind
    dom = _dom(urljoin(site, "latest/org/islamic-state.html"), profile)
    for label in (
        "Boko Haram → Islamic State",
        "Abu Bakr al-Baghdadi: leader of Islamic State",
        "Islamic State – Caucasus Province → Islamic State: branch, 2015-06-23 – end undated",
    ):
        assert label in dom, label
    visible = re.sub(r"<(svg|code|style|script|head)\b.*?</\1>|<[^>]+>", " ", dom, flags=re.S)
    assert BASE not in visible
    assert "qualifiedDerivation" not in visible and "hasSelector" not in visible


def test_harvesting_the_served_release_via_void_gives_the_build_graph(site, dist):
    void_url = urljoin(site, ".well-known/void")
    with urllib.request.urlopen(void_url, timeout=5) as r:
        void = list(ox.parse(r.read(), format=ox.RdfFormat.TURTLE, base_iri=void_url))
    # the dataset whose dump is N-Triples (the quad dumps are described as a dataset of their own)
    dataset, canonical = next(
        (t.subject, t.object.value)
        for t in void
        if t.predicate.value == VOID + "dataDump" and t.object.value.endswith(".nt.gz")
    )
    with urllib.request.urlopen(canonical, timeout=5) as r:
        harvested = {
            ox.Triple(q.subject, q.predicate, q.object)
            for q in ox.parse(gzip.decompress(r.read()), format=ox.RdfFormat.N_TRIPLES)
        }
    declared = next(int(t.object.value) for t in void if t.subject == dataset and t.predicate.value == VOID + "triples")
    built = {
        ox.Triple(q.subject, q.predicate, q.object)
        for q in ox.parse(path=str(dist / "pledgegraph.trig"))
        if q.graph_name.value.endswith(("graph/asserted", "graph/inferred"))
    }
    assert harvested == built  # no blank nodes in the data: equal sets are isomorphic graphs
    assert declared == len(harvested)
