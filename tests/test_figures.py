"""The pictures follow the time-true model: every dated link is drawn, imprecise dates as bands,
undated sides marked, and pledges say who pledged."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pyoxigraph as ox
import pytest

from pledgegraph.delivery.release.figures import Figures

BASE = "https://w3id.org/pledgegraph/"
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def store(shipped):
    s = ox.Store()
    s.bulk_extend(ox.Quad(t.subject, t.predicate, t.object) for t in shipped.built.triples)
    return s


def titles(svg: str) -> list[str]:
    return [t.text for a in ET.fromstring(svg).iter(SVG + "a") for t in a.iter(SVG + "title")]


def test_the_branch_diagram_draws_every_direct_link_with_undated_starts_marked(store):
    shown = titles(Figures(store, BASE).branches(lambda iri: iri))
    # four vilayats under the Emirate (start undated, until 21 June 2015), four under the Islamic State by
    # the accepted pledge, the Province, and the Ingushetia sector under the Province "by April 2024"
    under_emirate = [t for t in shown if "start undated – 2015-06-21" in t]
    assert len(under_emirate) == 4
    assert sum("2015-06-23 – …" in t for t in shown) == 5
    assert any(t.startswith("Vilayat Kavkaz (sector Ingushetia)") and "2024-04-30 – …" in t for t in shown)


def test_the_timeline_names_pledgers_shows_month_dates_as_bands_and_marks_undated_items(store):
    svg = Figures(store, BASE).timeline(lambda iri: iri)
    shown = titles(svg)
    assert any(t.startswith("Boko Haram pledge to Islamic State (undated)") and t.endswith("(undated)") for t in shown)
    # "In June" (2015): a band over the month, not a day
    assert any(t.startswith("Amir Khamzat pledge to Islamic State") and "2015-06-01..2015-06-30" in t for t in shown)
    assert not any(t.startswith("Pledge to") for t in shown)
