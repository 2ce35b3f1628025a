"""The release's DCAT catalog, as a European data portal checks it: the DCAT-AP 3.0.1 SHACL shapes
(mandatory, recommended, class ranges) from ../shared/dcat-ap-3/ (see its SOURCE.md)."""

from __future__ import annotations

import pyshacl
import pytest
import rdflib

from conftest import SHARED

SHAPES = SHARED / "dcat-ap-3"
SH = rdflib.Namespace("http://www.w3.org/ns/shacl#")
# The recommended properties we leave out, each for a reason the README gives.
ACCEPTED_WARNINGS = {
    ("dataset#publisher", "http://purl.org/dc/terms/type"),  # no ADMS publisher type fits a volunteer project
    ("country/RUS", "http://www.w3.org/ns/dcat#bbox"),  # a country's geometry is the EU table's, not ours to copy
    ("country/RUS", "http://www.w3.org/ns/dcat#centroid"),
    ("dataset/0.1.0", "http://www.w3.org/ns/dcat#contactPoint"),  # the dataset record names no contact address
}

pytestmark = pytest.mark.skipif(not SHAPES.is_dir(), reason=f"needs {SHAPES} beside the project")


def results(catalog: rdflib.Graph, shapes: str) -> set[tuple[str, str, str]]:
    _, report, _ = pyshacl.validate(
        catalog, shacl_graph=rdflib.Graph().parse(SHAPES / shapes), inference="none", allow_warnings=True
    )
    return {
        (
            str(report.value(r, SH.resultSeverity)).rsplit("#", 1)[1],
            str(report.value(r, SH.focusNode)),
            str(report.value(r, SH.resultPath)),
        )
        for r in report.subjects(rdflib.RDF.type, SH.ValidationResult)
    }


@pytest.fixture(scope="module")
def catalog(release) -> rdflib.Graph:
    return rdflib.Graph().parse(release / "catalog.ttl", format="turtle", publicID="https://example.org/0.1.0/")


def test_no_violation_of_the_mandatory_shapes_or_the_class_ranges(catalog):
    assert results(catalog, "shapes.ttl") == set()
    assert results(catalog, "range.ttl") == set()


def test_at_most_the_explained_recommended_warnings(catalog):
    found = {(focus, path) for severity, focus, path in results(catalog, "shapes_recommended.ttl")}
    explained = {
        (focus, path) for focus, path in found for end, p in ACCEPTED_WARNINGS if focus.endswith(end) and path == p
    }
    assert found == explained and len(found) <= 5


def test_coverage_comes_from_the_data(catalog):
    dcat = rdflib.Namespace("http://www.w3.org/ns/dcat#")
    starts = {str(o) for o in catalog.objects(None, dcat.startDate)}
    ends = {str(o) for o in catalog.objects(None, dcat.endDate)}
    # the earliest dated fact: the Caucasus Emirate's creation, "in 2007"; the latest: the release's own data
    assert starts == {"2007-01-01"} and len(ends) == 1
