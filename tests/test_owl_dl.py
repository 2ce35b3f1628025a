"""OWL 2 DL: the OWL API's OWL 2 DL profile check and HermiT's consistency check, on the ontology
alone, with the shipped data's asserted graph, and with the reasoner's output added.

Both run in one JVM (scripts/OwlDlCheck.java, a single-file Java program) against the HermiT jar
owlready2 ships, which bundles the OWL API 3.4.3. The checks are cumulative: each adds files to the
previous one. The last three add known-bad data, so the test also shows the checks can fail.
How xsd:date, xsd:gYearMonth and xsd:gYear reach HermiT (which lacks them) is explained in the
Java file's header: each literal is validated, then given as the xsd:dateTime it starts at."""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import ROOT, settings_for

CHECK = ROOT / "scripts" / "OwlDlCheck.java"


def _jdk() -> str | None:
    """`java`, if it can run a single-file source program (needs the jdk.compiler module)."""
    java = shutil.which("java")
    if java is None:
        return None
    modules = subprocess.run([java, "--list-modules"], capture_output=True, text=True, timeout=60).stdout
    return java if "jdk.compiler@" in modules else None


JAVA = _jdk()
pytestmark = pytest.mark.skipif(
    JAVA is None,
    reason="needs a JDK (java with jdk.compiler; Debian: default-jdk-headless): "
    "run scripts/install-test-deps.sh as root",
)

# Plain W3C ORG data from elsewhere: an organization that is a member of another. Consistent with our
# ontology (it used to make the member a pg:Person, and so, typed pg:Organization, inconsistent).
PLAIN_ORG = """@prefix org: <http://www.w3.org/ns/org#> .
@prefix pg: <https://w3id.org/pledgegraph/ontology#> .
@prefix ex: <http://example.org/> .
ex:membership a org:Membership ; org:member ex:acme ; org:organization ex:holding .
ex:acme a pg:Organization .
"""
# An organization given as a tenure's predecessor (range pg:Person): person and organization are disjoint.
WRONG_KIND = """@prefix pg: <https://w3id.org/pledgegraph/ontology#> .
@prefix ex: <http://example.org/> .
ex:tenure a pg:Tenure ; pg:predecessor ex:acme .
"""
# RDF reification vocabulary (reserved in OWL 2 DL), and a date that does not exist.
NOT_DL = """@prefix rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> .
@prefix pg: <https://w3id.org/pledgegraph/ontology#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix ex: <http://example.org/> .
ex:claim a pg:Claim ; rdf:subject ex:date ; rdf:object "a value" .
ex:date a pg:DateSpecification ; pg:earliest "2015-02-30"^^xsd:date .
"""


def hermit_jar() -> Path:
    spec = importlib.util.find_spec("owlready2")
    assert spec is not None, "owlready2 is a test dependency: pip install -e '.[test]'"
    return Path(spec.submodule_search_locations[0]) / "hermit" / "HermiT.jar"


def run_checks(stages: list[list[Path]]) -> tuple[list[dict], str]:
    args = [str(f) for f in stages[0]]
    for stage in stages[1:]:
        args += ["--then", *map(str, stage)]
    out = subprocess.run(
        [JAVA, "-cp", str(hermit_jar()), str(CHECK), *args], capture_output=True, text=True, timeout=600
    )
    results = [dict(re.findall(r"(\w+)=(\S+)", line)) for line in out.stdout.splitlines() if line.startswith("result:")]
    assert len(results) == len(stages), out.stdout + out.stderr
    return results, out.stdout


def test_ontology_and_data_are_owl2_dl_and_consistent(shipped, tmp_path):
    asserted, inferred = tmp_path / "asserted.nt", tmp_path / "inferred.nt"
    asserted.write_bytes(shipped.built.ntriples())
    inferred.write_bytes(shipped.inferred.ntriples())
    extra = {}
    for name, text in (("plain-org", PLAIN_ORG), ("wrong-kind", WRONG_KIND), ("not-dl", NOT_DL)):
        extra[name] = tmp_path / f"{name}.ttl"
        extra[name].write_text(text)
    results, stdout = run_checks(
        [
            settings_for().ontology_files,
            [asserted],
            [inferred],
            [extra["plain-org"]],
            [extra["wrong-kind"]],
            [extra["not-dl"]],
        ]
    )
    ontology, asserted_only, with_inferred, org, wrong_kind, not_dl = results
    for result in (ontology, asserted_only, with_inferred, org):
        assert (result["violations"], result["unparsed"], result["consistent"], result["invalid"]) == (
            "0",
            "0",
            "true",
            "0",
        ), stdout
    assert int(ontology["axioms"]) > 1000 and int(asserted_only["axioms"]) > int(ontology["axioms"]) + 5000
    assert int(asserted_only["dates"]) > 100  # the data's dates went through the substitution
    assert (wrong_kind["violations"], wrong_kind["consistent"]) == ("0", "false")
    assert int(not_dl["violations"]) > 0 and not_dl["unparsed"] == "1"  # rdf:object flagged, rdf:subject dropped
    assert not_dl["invalid"] == "1" and not_dl["consistent"] == "unknown"
    assert 'invalid literal: "2015-02-30"^^xsd:date' in stdout
