"""Bad inputs a curator can write, each with the line and words of the message they must get.

Shared by tests/test_messages.py (which checks every case through `pledgegraph validate`) and
tests/message_table.py (which prints the table of messages for the docs and the issue).
Each case is one file, `zz-case.yaml`, added to a copy of the shipped data.
"""

from __future__ import annotations

from dataclasses import dataclass

SRC = "wikipedia-is-caucasus-province"

PERSON = f"""\
persons:
  - id: test-person
    names:
      - name: Test Person
        lang: en
        sources: [{SRC}]
    sources: [{SRC}]
"""

ESTIMATE = f"""\
estimates:
  - id: test-estimate
    quantity: fighters-abroad
    population: militants from the North Caucasus
    bound: approximately
    value: 1200
    sources:
      - source: {SRC}
        quote: militants from the North Caucasus
"""

ORG = f"""\
organizations:
  - id: test-org
    kind: [militant-group]
    names:
      - name: Test Org
        lang: en
        sources:
          - source: {SRC}
            quote: Test Org
    founded: "2015"
    sources: [{SRC}]
"""

def _record_sources(text: str, value: str) -> str:
    """The record's own (last) `sources:` line replaced."""
    head, _ = text.rsplit("    sources:", 1)
    return f"{head}    sources: {value}\n".replace(": \n", ":\n")


# Extra shapes for the cases that need a warning or a rule on derived nodes (the shipped shapes
# only say what must hold; these say what a reviewer would like to see).
EXTRA_SHAPES = """\
@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix pg: <https://w3id.org/pledgegraph/ontology#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix pgt: <https://w3id.org/pledgegraph/test-shapes#> .

pgt:NameKind a sh:NodeShape ;
    sh:targetClass pg:NameAttestation ;
    sh:property [ sh:path pg:nameKind ; sh:minCount 1 ; sh:severity sh:Warning ;
        sh:message "says not what kind of name this is: add `kind:` (real-name, kunya, transliteration...)" ] .

pgt:PlausibleDate a sh:NodeShape ;
    sh:targetClass pg:DateSpecification ;
    sh:property [ sh:path pg:earliest ; sh:minInclusive "1900-01-01"^^xsd:date ;
        sh:message "is before 1900: check the year" ] .
"""


@dataclass(frozen=True)
class Case:
    kind: str           # what is wrong, as the table names it
    content: str | bytes
    line: int           # where the message must point (in zz-case.yaml)
    fragment: str       # words the message must contain
    exit_code: int = 1
    extra_shapes: bool = False

    @property
    def data(self) -> bytes:
        return self.content if isinstance(self.content, bytes) else self.content.encode()


CASES = [
    Case("YAML syntax: unclosed bracket", "persons: [\n  - id: x\n", 2,
         "YAML syntax: did not find expected node content (while parsing a flow node) [yaml] "
         "(hint: a '[' or '{' is not closed, or an item in it is missing)", 2),
    Case("YAML syntax: unquoted ': ' in a value", PERSON + "    description: Aim: a caliphate\n", 8,
         "YAML syntax: mapping values are not allowed in this context [yaml] (hint: quote a value that "
         "contains ': '", 2),
    Case("tab used for indentation", "persons:\n\t- id: x\n", 2, "tab", 2),
    Case("duplicate key", PERSON + "    names: []\n", 8,
         "duplicate key 'names' (first at line 3)", 2),
    Case("anchor / alias", PERSON + "  - &p {id: other}\n", 8, "anchor '&p' is not allowed", 2),
    Case("merge key", "persons:\n  - <<: {id: a}\n", 2, "merge key '<<' is not allowed", 2),
    Case("YAML tag", "persons:\n  - !!str id: a\n", 2, "tag 'tag:yaml.org,2002:str' is not allowed", 2),
    Case("two YAML documents in one file", PERSON + "---\npersons: []\n", 8, "more than one YAML document", 2),
    Case("byte-order mark", b"\xef\xbb\xbf" + PERSON.encode(), 1, "byte-order mark", 2),
    Case("not UTF-8 (Latin-1)", PERSON.replace("Test Person", "Test Pers\xf6n").encode("latin-1"), 4,
         "byte 0xf6 is not UTF-8", 2),
    Case("NUL character", PERSON.replace("Test Person", "Test\x00Person"), 4, "NUL character", 2),
    Case("huge scalar", PERSON.replace("Test Person", "x" * 100_001), 4,
         "value of 100001 characters is longer than the 100000 allowed", 2),
    Case("nesting too deep", "persons: " + "[" * 30 + "]" * 30 + "\n", 1, "nesting deeper than 24 levels", 2),
    Case("unknown record kind", PERSON.replace("persons:", "people:"), 1,
         "unknown record kind 'people' [file-structure] (hint: record kinds: dataset, sources, organizations, persons"),
    Case("unknown field", PERSON.replace("    names:", "    nmaes:"), 3,
         "unknown field 'nmaes' in person [person] (hint: did you mean 'names'?)"),
    Case("a mapping where text is expected", PERSON + "    description: {a: b}\n", 8,
         "'description' takes a single string value, not a mapping"),
    Case("a list field given one value", ESTIMATE + "    location: chechnya\n", 10,
         "'location' takes a list (value: 'chechnya') [estimate.location] (hint: write `location: [chechnya]`)"),
    Case("YAML 1.1 boolean in a true/false field", PERSON.replace("lang: en", "lang: en\n        preferred: yes"), 6,
         "'preferred' is true or false, not 'yes'"),
    Case("leading zero in a number", ESTIMATE.replace("1200", "012"), 6, "'012' is not a whole number [estimate.value] "
         "(hint: write 12)"),
    Case("number with underscore", ESTIMATE.replace("1200", "1_200"), 6, "'1_200' is not a whole number"),
    Case("number in exponent form", ESTIMATE.replace("1200", "1.2e3"), 6, "'1.2e3' is not a whole number"),
    Case("quoted number", ESTIMATE.replace("1200", '"1200"'), 6,
         "'value' is a number: write it without quotes (value: '1200') [estimate.value] (hint: value: 1200)"),
    Case("impossible date", ORG.replace('"2015"', "2016-13-04"), 10, "'2016-13-04' is not a real calendar date"),
    Case("date in words", ORG.replace('"2015"', "June 2015"), 10,
         "'June 2015' is not a date: write YYYY, YYYY-MM or YYYY-MM-DD"),
    Case("date range that ends before it starts", ORG.replace('"2015"', "{from: 2015-02, to: 2015-01}"), 10,
         "the range ends (2015-01) before it starts (2015-02)"),
    Case("unknown reference (near miss)", PERSON + "    origin: chechnia\n", 8,
         "unknown place 'chechnia' in 'origin' [person.origin] (hint: did you mean 'chechnya'?)"),
    Case("reference to the wrong kind", PERSON + "    origin: caucasus-emirate\n", 8,
         "'caucasus-emirate' is an organization, but 'origin' expects a place"),
    Case("unknown source", _record_sources(PERSON, "[wikipedia-is-caucasus]"), 7,
         "unknown source 'wikipedia-is-caucasus' in 'source'"),
    Case("duplicate id", PERSON.replace("id: test-person", "id: rustam-asildarov"), 2,
         "duplicate id 'rustam-asildarov' (first defined at data/persons.yaml:"),
    Case("invalid id", PERSON.replace("id: test-person", "id: Test Person"), 2,
         "'Test Person' is not a valid id [person.id] (hint: ids are lowercase ASCII letters, digits and single "
         "hyphens, at most 80 characters, e.g. 'test-person')"),
    Case("missing required field", PERSON.rsplit("    sources:", 1)[0], 2,
         "missing required field 'sources' in person"),
    Case("empty sources", _record_sources(PERSON, "[]"), 7,
         "sources is empty: every fact needs at least one source"),
    Case("concept not in the vocabulary", ORG.replace("[militant-group]", "[militant]"), 3,
         "'militant' is not a concept of the org-kind vocabulary [organization.kind] (hint: did you mean "
         "'militant-group'?)"),
    Case("bad language tag", PERSON.replace("lang: en", "lang: English"), 5, "'English' is not a BCP 47 language tag"),
    Case("SHACL violation: two preferred names in one language",
         PERSON.replace(f"        sources: [{SRC}]\n", f"        preferred: true\n        sources: [{SRC}]\n"
                        f"      - {{name: Other, lang: en, preferred: true, sources: [{SRC}]}}\n", 1), 4,
         "has two preferred names in one language: mark only one `preferred: true` per language [person.names]"),
    Case("SHACL warning on a nested name (no kind)", ORG, 5,
         "warning: test-org: says not what kind of name this is: add `kind:` (real-name, kunya, transliteration...) "
         "[name.kind]", 0, extra_shapes=True),
    Case("SHACL violation on a derived date node", ORG.replace('"2015"', "1815"), 10,
         "error: test-org: is before 1900: check the year (value: '1815-01-01') [organization.founded]",
         extra_shapes=True),
]
