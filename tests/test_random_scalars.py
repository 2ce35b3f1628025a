"""Any scalar a curator (or a paste) can put in any field of a real record gives either a clean message
at that field's lines or a graph that survives writing and reading back.

Hypothesis writes random YAML scalars — plain, quoted, literal and folded blocks with every chomping,
trailing whitespace and line breaks, text from every Unicode category, huge and tiny numbers, dates
at the edges of the calendar — into one field of records like the shipped ones, added beside the
shipped data. Loading (with the sanity rules and the quote check) must then either raise with a
problem located in that file within the lines the value spans, or succeed, and the built graph must
round-trip through N-Triples and Turtle unchanged. (SHACL is left out to keep examples fast: its
results are traced to lines by the validation path's own tests.)
"""

from __future__ import annotations

import json
import re

import pyoxigraph as ox
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bad_inputs import DB, QUOTE, SRC
from conftest import ROOT, SEEDS
from pledgegraph.delivery.export import serialize
from pledgegraph.errors import PledgegraphError
from pledgegraph.stages.build import build
from pledgegraph.stages.evidence import check_quotes
from pledgegraph.stages.load import load, load_vocabulary

VOCAB = load_vocabulary(ROOT / "ontology" / "vocabularies.ttl")
BASE = "https://w3id.org/pledgegraph/"

TEMPLATE = f"""\
estimates:
  - id: test-estimate
    quantity: fighters-abroad
    population: militants from the North Caucasus
    origin: chechnya
    bound: approximately
    value: 1200
    date: "2015-06"
    description: A test estimate.
    sources:
      - source: {DB}
        quote: {QUOTE}
persons:
  - id: test-person
    names:
      - name: Test Person
        lang: en
        preferred: true
        sources: [{SRC}]
    origin: chechnya
    sources: [{SRC}]
sources:
  - id: test-source
    title: A test source
    url: https://example.org/a
    language: en
    date: "2015"
    archived_as: test-source.txt
"""
LINES = TEMPLATE.splitlines()
# every line that holds one `key: scalar` (the fields hypothesis writes into)
FIELDS = [i for i, line in enumerate(LINES) if re.fullmatch(r"\s*(- )?[a-z_]+: [^\[{].*", line)]

EDGE_TEXT = [
    "",
    " ",
    "~",
    "null",
    "yes",
    "no",
    "on",
    "true",
    "0",
    "-0",
    "012",
    "1e999",
    "0x1F",
    ".inf",
    "-.nan",
    "9" * 40,
    "1_000",
    "0001-01-01",
    "9999-12-31",
    "10000-01-01",
    "0000",
    "2015-02-29",
    "2016-02-29",
    "1582-10-10",
    "12/31/2015",
    "31.12.2015",
    "June 2015",
    "2015-W01",
    "2015-06-21T12:00:00Z",
    "\u200b",
    "\ufeff",
    "\u00ad",
    "\u202e",
    "a\u0301",
    "\U0001f600",
    "\x85",
    "\u2028",
    "\u2029",
    "# not a comment",
    "a: b",
    "- a",
    "[a]",
    "{a: b}",
    "&a",
    "*a",
    "!x",
    "%TAG",
    "@",
    "`",
    "'",
    '"',
    "ar-latn",
    "AR-LATN",
    "en\n",
    "https://example.org/a b",
    "javascript:alert(1)",
    "..",
    "../x",
]

text = st.one_of(
    st.sampled_from(EDGE_TEXT),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40),
    st.from_regex(r"[0-9]{1,4}(-[0-9]{1,2}(-[0-9]{1,2})?)?", fullmatch=True),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)
whitespace = st.sampled_from(["", " ", "  ", "\t", "\n", "\n\n", " \n"])
_YAML_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")


def render(value: str, style: str, indent: int) -> str:
    """The value as YAML in one style, to follow `key: ` on a line indented `indent` spaces."""
    if style == "plain":
        return value
    if style == "single":
        return "'" + value.replace("'", "''") + "'"
    if style == "double":
        return json.dumps(value, ensure_ascii=False)
    pad = " " * (indent + 2)
    header = {"literal": "|", "folded": ">"}[style[:-1] if style[-1] in "+-" else style]
    header += style[-1] if style[-1] in "+-" else ""
    return header + "\n" + "\n".join(pad + line if line else "" for line in value.split("\n"))


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    from conftest import copy_data

    data = copy_data(tmp_path_factory.mktemp("fuzz") / "data")
    archive = data.parent / "archive"
    archive.mkdir()
    (archive / "test-source.txt").write_text("A test source.\n")
    return data


@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(
    field=st.sampled_from(FIELDS),
    value=text,
    tail=whitespace,
    style=st.sampled_from(
        ["plain", "single", "double", "literal", "literal-", "literal+", "folded", "folded-", "folded+"]
    ),
)
@example(field=1, value="\r0", tail="", style="plain")  # a carriage return alone: YAML's next line (found in CI)
@example(field=1, value='"', tail="", style="plain")  # a quote left open runs to the next one (found in CI)
def test_a_random_scalar_in_any_field_is_reported_at_its_line_or_round_trips(data_dir, field, value, tail, style):
    line = LINES[field]
    key, _ = line.split(": ", 1)
    indent = len(line) - len(line.lstrip(" -"))
    rendered = render(value + tail, style, indent)
    lines = LINES[:field] + [f"{key}: {rendered}"] + LINES[field + 1 :]
    (data_dir / "zz-case.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    # 1-based lines the value spans, and the next, counted as YAML (and editors) count them: a carriage
    # return alone, and NEL, LS and PS, break a line too (a stray "\r" put the message on the next line)
    first, last = field + 1, field + 2 + len(_YAML_BREAK.findall(rendered))
    try:
        dataset = load(data_dir, VOCAB)
        evidence = check_quotes(dataset, [SEEDS, data_dir.parent / "archive"])
    except PledgegraphError as e:
        ours = [p for p in getattr(e, "problems", []) if p.position.file.endswith("zz-case.yaml")]
        assert ours, f"{e}: {[str(p.format()) for p in getattr(e, 'problems', [])]}"
        assert any(first - 1 <= p.position.line <= last for p in ours), [p.format() for p in ours]
        return
    errors = [p for p in evidence.problems if p.severity == "error"]
    if errors:
        assert all(p.position.file.endswith("zz-case.yaml") and first <= p.position.line <= last for p in errors)
        return
    built = build(dataset, BASE)
    expected = set(ox.parse(built.ntriples(), format=ox.RdfFormat.N_TRIPLES))
    assert len(expected) == len(built)
    turtle = serialize(built.triples, "turtle")
    assert set(ox.parse(turtle, format=ox.RdfFormat.TURTLE)) == expected
