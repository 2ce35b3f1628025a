"""The bad-input corpus: every mistake a curator can make (and hostile input), each with where and
what its message must say.

One list, `CASES`, shared by tests/test_bad_input.py (which runs every case through `validate` and
`build` on a copy of the shipped data and checks exit code, file, line, message, time and that a
previous build is untouched) and tests/message_table.py (which prints the messages as a table).
A case's content is written to `zz-case.yaml` (a new file beside the shipped ones) or, when it names
a `file`, replaces that shipped file; a `setup` makes what a file's bytes cannot (a folder, a pipe,
a link). Longer cases live in tests/bad_input/ as files, named in FILE_CASES.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

CASE_FILE = "zz-case.yaml"
CASES_DIR = Path(__file__).parent / "bad_input"
SRC = "wikipedia-is-caucasus-province"
DB = "dailybeast-isis-comes-to-russia"
# words that occur once in the Daily Beast article: a real quote, so the quote check passes
QUOTE = "In November and December six commanders in the Chechen and Dagestan wings of the insurgency declared loyalty to ISIS."

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
      - source: {DB}
        quote: {QUOTE}
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
    founded: "2015"
    sources: [{SRC}]
"""

PLEDGE = f"""\
pledges:
  - id: test-pledge
    pledgers: [rustam-asildarov]
    to: islamic-state
    date: "2014-11"
    sources:
      - source: {DB}
        quote: {QUOTE}
"""

TENURE = f"""\
tenures:
  - id: test-tenure
    person: rustam-asildarov
    organization: vilayat-dagestan
    role: leader
    from: "2014"
    until: "2015"
    sources:
      - source: {DB}
        quote: {QUOTE}
"""

EVENT = f"""\
events:
  - id: test-event
    kind: [attack]
    label: A test event
    date: "2015-06"
    sources:
      - source: {DB}
        quote: {QUOTE}
"""

ACCEPTANCE = f"""\
acceptances:
  - id: test-acceptance
    accepts: [caucasus-velayats-pledge-2015-06]
    date: "2015-06-22"
    sources:
      - source: {DB}
        quote: {QUOTE}
"""


def org(oid: str, line_extra: str = "") -> str:
    return (f"  - id: {oid}\n    kind: [militant-group]\n    names: [{{name: {oid}, lang: en, sources: [{SRC}]}}]\n"
            f"    sources: [{SRC}]\n{line_extra}")


def branch(bid: str, child: str, parent: str) -> str:
    return f"  - id: {bid}\n    branch: {child}\n    parent: {parent}\n    sources: [{SRC}]\n"


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
    content: str | bytes | None
    line: int           # where the message must point (0: at the file, without a line)
    fragment: str       # words the message must contain
    exit_code: int = 1
    extra_shapes: bool = False
    file: str = CASE_FILE                            # the data file the content is written to
    setup: Callable[[Path], None] | None = None      # makes what bytes cannot, in the data directory
    name: str = ""

    @property
    def data(self) -> bytes:
        return self.content if isinstance(self.content, bytes) else self.content.encode()

    @property
    def id(self) -> str:
        return self.name or "".join(c if c.isalnum() else "-" for c in self.kind.lower()).strip("-")

    def apply(self, data_dir: Path) -> None:
        if self.content is not None:
            (data_dir / self.file).write_bytes(self.data)
        if self.setup is not None:
            self.setup(data_dir)


def _folder_instead_of(name: str):
    def setup(data_dir: Path) -> None:
        (data_dir / name).unlink()
        (data_dir / name).mkdir()
        (data_dir / name / "notes.txt").write_text("moved\n")
    return setup


def _pipe(data_dir: Path) -> None:
    os.mkfifo(data_dir / CASE_FILE)


def _link_outside(data_dir: Path) -> None:
    outside = data_dir.parent / "elsewhere.yaml"
    outside.write_text(PERSON)
    (data_dir / CASE_FILE).symlink_to(outside)


def _link_to_etc(data_dir: Path) -> None:
    (data_dir / CASE_FILE).symlink_to(Path("/etc/hostname"))


def _alias_bomb() -> bytes:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    for prev, cur in zip("abcdefgh", "bcdefghi"):
        lines.append(f"{cur}: &{cur} [" + ", ".join([f"*{prev}"] * 9) + "]")
    return ("\n".join(lines) + "\n").encode()


CYCLE = "organizations:\n" + org("test-a") + org("test-b") + org("test-c") + "branches:\n" + \
    branch("test-a-under-b", "test-a", "test-b") + branch("test-b-under-c", "test-b", "test-c") + \
    branch("test-c-under-a", "test-c", "test-a")

CASES = [
    # --- YAML and encoding -----------------------------------------------------------------------
    Case("YAML syntax: unclosed bracket", "persons: [\n  - id: x\n", 2,
         "YAML syntax: did not find expected node content (while parsing a flow node) [yaml] "
         "(hint: a '[' or '{' is not closed, or an item in it is missing)", 2),
    Case("YAML syntax: unquoted ': ' in a value", PERSON + "    description: Aim: a caliphate\n", 8,
         "YAML syntax: mapping values are not allowed in this context [yaml] (hint: quote a value that "
         "contains ': '", 2),
    Case("tab used for indentation", "persons:\n\t- id: x\n", 2, "tab", 2),
    Case("a pasted LINE SEPARATOR (YAML's line break, not the editor's)",
         PERSON + "    description: Aim\u2028of a caliphate\n", 8,
         "character U+2028 (LINE SEPARATOR) is a line break to YAML but not to editors", 2),
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
    Case("UTF-16 file", "persons: []\n".encode("utf-16"), 1, "UTF-16", 2),
    Case("BOM on an otherwise empty list", b"\xef\xbb\xbfpersons: []\n", 1, "byte-order mark", 2),
    Case("Latin-1 byte in a comment", "persons: []\n# caf\xe9\n".encode("latin-1"), 2, "is not UTF-8", 2),
    Case("NUL byte on its own line", b"persons: []\n\x00\n", 2, "NUL character", 2),
    Case("binary garbage", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", 1, "byte 0x89 is not UTF-8", 2),
    Case("alias bomb", _alias_bomb(), 1, "anchor '&a' is not allowed", 2),
    Case("huge scalar (200,000 characters)", b"persons:\n  - id: a\n    names: " + b"x" * 200_000 + b"\n", 3,
         "longer than the 100000 allowed", 2),
    Case("deep block nesting", b"persons:\n" + b"".join(b"  " * i + b"- \n" for i in range(1, 60)), 26,
         "nesting deeper than", 2),
    Case("deep flow nesting", b"persons:\n  - id: a\n    names: " + b"[" * 5000 + b"\n", 3, "exceeded maximum nesting depth", 2),
    Case("unclosed quote", PERSON.replace("name: Test Person", 'name: "Test Person'), 4,
         "YAML syntax", 2),

    # --- file structure ----------------------------------------------------------------------------
    Case("unknown record kind", PERSON.replace("persons:", "people:"), 1,
         "unknown record kind 'people' [file-structure] (hint: record kinds: dataset, sources, organizations, persons"),
    Case("record kind misspelt", PERSON.replace("persons:", "persnos:"), 1,
         "unknown record kind 'persnos' [file-structure] (hint: did you mean 'persons'?)"),
    Case("top-level list, reported where it starts", "# a list of persons\n\n- id: a\n- id: b\n", 3,
         "a data file is a mapping of record kinds"),
    Case("empty data file (replacing persons.yaml)", "", 1, "the file holds no records (it is empty or only comments)",
         file="persons.yaml"),
    Case("every line commented out", "".join("# " + line + "\n" for line in PERSON.splitlines()), 1,
         "the file holds no records (it is empty or only comments)"),
    Case("a file whose lists are empty", "persons: []\nplaces: []\n", 1,
         "the file holds no records (every list is empty)"),
    Case("a folder where a data file was", None, 0, "is a folder, not a data file: its records are missing", 2,
         file="persons.yaml", setup=_folder_instead_of("persons.yaml")),
    Case("a named pipe among the data files", None, 0, "is not a regular file, not a data file", 2, setup=_pipe),
    Case("link leading outside the data directory", None, 0, "links outside the data directory", 2,
         setup=_link_outside),
    Case("link to a system file", None, 0, "links outside the data directory", 2, setup=_link_to_etc),

    # --- fields and values ---------------------------------------------------------------------------
    Case("unknown field", PERSON.replace("    names:", "    nmaes:"), 3,
         "unknown field 'nmaes' in person [person] (hint: did you mean 'names'?)"),
    Case("unknown field in a nested item, named by its path", EVENT + "    claimed_by:\n      - by: islamic-state\n"
         "        medum: audio\n        sources:\n          - source: " + DB + "\n            quote: " + QUOTE + "\n",
         11, "unknown field 'medum' in event.claimed_by [event.claimed_by] (hint: did you mean 'medium'?)"),
    Case("a mapping where text is expected", PERSON + "    description: {a: b}\n", 8,
         "'description' takes a single string value, not a mapping"),
    Case("a list field given one value", ESTIMATE + "    location: chechnya\n", 10,
         "'location' takes a list (value: 'chechnya') [estimate.location] (hint: write `location: [chechnya]`)"),
    Case("YAML 1.1 boolean in a true/false field", PERSON.replace("lang: en", "lang: en\n        preferred: yes"), 6,
         "'preferred' is true or false, not 'yes' [person.names.preferred]"),
    Case("leading zero in a number", ESTIMATE.replace("1200", "012"), 6, "'012' is not a whole number [estimate.value] "
         "(hint: write 12)"),
    Case("number with underscore", ESTIMATE.replace("1200", "1_200"), 6, "'1_200' is not a whole number"),
    Case("number in exponent form", ESTIMATE.replace("1200", "1.2e3"), 6, "'1.2e3' is not a whole number"),
    Case("number too large", ESTIMATE.replace("1200", "12345678901234567890"), 6,
         "'12345678901234567890' is not a whole number"),
    Case("negative number", ESTIMATE.replace("1200", "-5"), 6, "'-5' is not a whole number"),
    Case("quoted number", ESTIMATE.replace("1200", '"1200"'), 6,
         "'value' is a number: write it without quotes (value: '1200') [estimate.value] (hint: value: 1200)"),
    Case("number as a block scalar", ESTIMATE.replace("value: 1200", "value: |\n      1200"), 6,
         "'value' is a number: write it without quotes"),
    Case("concept not in the vocabulary", ORG.replace("[militant-group]", "[militant]"), 3,
         "'militant' is not a concept of the org-kind vocabulary [organization.kind] (hint: did you mean "
         "'militant-group'?)"),
    Case("bad language tag", PERSON.replace("lang: en", "lang: English"), 5, "'English' is not a BCP 47 language tag"),
    Case("language tag with a trailing line break", PERSON.replace("lang: en", 'lang: "en\\n"'), 5,
         "'en\\n' is not a BCP 47 language tag [person.names.lang]"),
    Case("language tag as a block scalar", PERSON.replace("lang: en", "lang: |\n          en"), 5,
         "is not a BCP 47 language tag"),
    Case("URL as a folded block scalar", "sources:\n  - id: test-source\n    title: A test source\n"
         "    url: >\n      https://example.org/a\n", 4, "is not an http(s) URL [source.url]"),
    Case("URL with a trailing line break", "sources:\n  - id: test-source\n    title: A test source\n"
         '    url: "https://example.org/a\\n"\n', 4, "is not an http(s) URL"),
    Case("URL with a space", "sources:\n  - id: test-source\n    title: A test source\n"
         '    url: "https://example.org/a b"\n', 4, "is not an http(s) URL"),
    Case("name of only invisible characters", PERSON.replace("name: Test Person", 'name: "\\u200b\\u2060 \\u00ad"'), 4,
         "'name' is blank (only invisible characters) (value: '\\u200b\\u2060 \\xad') [person.names.name]"),
    Case("blank name", PERSON.replace("name: Test Person", 'name: "   "'), 4, "'name' is blank"),
    Case("name with a line break", PERSON.replace("name: Test Person", "name: |\n          Test Person"), 4,
         "'name' holds a line break (value: 'Test Person\\n') [person.names.name] (hint: write it on one line"),
    Case("title as a folded block scalar", "sources:\n  - id: test-source\n    title: >\n      A test source\n", 3,
         "'title' holds a line break (value: 'A test source\\n') [source.title]"),
    Case("text with a control character", PERSON.replace("Test Person", 'Test\\u0007Person').replace(
         "name: Test\\u0007Person", 'name: "Test\\u0007Person"'), 4, "text contains control characters"),

    # --- dates ---------------------------------------------------------------------------------------
    Case("impossible date", ORG.replace('"2015"', "2016-13-04"), 9, "'2016-13-04' is not a real calendar date"),
    Case("date in words", ORG.replace('"2015"', "June 2015"), 9,
         "'June 2015' is not a date: write YYYY, YYYY-MM or YYYY-MM-DD, at the precision the source gives "
         "[organization.founded] (hint: write 2015-06)"),
    Case("date day/month/year", ORG.replace('"2015"', "02/05/2016"), 9,
         "(hint: write 2016-05-02 (day first) or 2016-02-05 (month first), as the source means it)"),
    Case("date month day, year", ORG.replace('"2015"', '"June 21, 2015"'), 9, "(hint: write 2015-06-21)"),
    Case("date in words, day first", ORG.replace('"2015"', '"2 May 2016"'), 9, "(hint: write 2016-05-02)"),
    Case("date day/month/year, day past 12", ORG.replace('"2015"', "13/05/2016"), 9, "(hint: write 2016-05-13)"),
    Case("date year/month/day", ORG.replace('"2015"', "2016/05/02"), 9,
         "(somewhere between) [organization.founded] (hint: write 2016-05-02)"),
    Case("date with slashes, year first", ORG.replace('"2015"', "2015/06/21"), 9, "(hint: write 2015-06-21)"),
    Case("date without zero padding", ORG.replace('"2015"', "2015-6-1"), 9, "(hint: write 2015-06-01)"),
    Case("date as a folded block scalar", ORG.replace('founded: "2015"', "founded: >\n      2010"), 9,
         "'2010\\n' is not a date: write YYYY, YYYY-MM or YYYY-MM-DD"),
    Case("date with a trailing space in quotes", ORG.replace('"2015"', '"2015 "'), 9, "(hint: write 2015)"),
    Case("date in full-width digits", ORG.replace('"2015"', "２０１５"), 9, "'２０１５' is not a date"),
    Case("year zero", ORG.replace('"2015"', '"0000"'), 9, "'0000' is not a real calendar date"),
    Case("nothing after the calendar's end", ORG.replace('"2015"', '{after: "9999-12-31"}'), 9,
         "nothing comes after 9999-12-31 in this calendar (years 0001 to 9999)"),
    Case("date range that ends before it starts", ORG.replace('"2015"', "{from: 2015-02, to: 2015-01}"), 9,
         "the range ends (2015-01) before it starts (2015-02)"),
    Case("unknown key in a date mapping", ORG.replace('"2015"', '{on: "2015", circa: true}'), 9,
         "unknown date key(s) circa"),
    Case("two forms in one date mapping", ORG.replace('"2015"', '{on: "2015", by: "2016"}'), 9,
         "a date mapping takes exactly one of on, by, after, from (with to), in (with part)"),
    Case("forecast given as yes", ORG.replace('"2015"', '{on: "2015", forecast: yes}'), 9,
         "forecast must be true or false"),
    Case("date a century after the dataset's date", ORG.replace('"2015"', '"2126"'), 9,
         "is dated 2126, after the dataset's own date (2026-11-21) [organization.founded] (hint: check the year"),
    Case("nested date after the dataset's date", PERSON + f"    deaths:\n      - date: 2999-01-01\n        sources: [{SRC}]\n",
         9, "is dated 2999-01-01, after the dataset's own date (2026-11-21) [person.deaths.date]"),
    Case("'after' a date that makes it future", EVENT.replace('"2015-06"', '{after: "2026-11-21"}'), 5,
         "after the dataset's own date"),
    Case("tenure that ends before it starts, at the until line", TENURE.replace('until: "2015"', 'until: "2010"'), 7,
         "ends (2010) before it starts (2014) [tenure.until] (hint: swap `from` and `until`"),
    Case("a tenure's end dated before it starts", TENURE + f"    end:\n      - manner: killed\n        date: \"2001\"\n"
         f"        sources:\n          - source: {DB}\n            quote: {QUOTE}\n", 13,
         "ends (2001) before the tenure starts (2014) [tenure.end.date]"),
    Case("relation that ends before it starts", f"relations:\n  - id: test-relation\n    subject: caucasus-emirate\n"
         f"    kind: rival-of\n    object: islamic-state\n    from: \"2015\"\n    until: \"2014-06\"\n    sources: [{SRC}]\n",
         7, "ends (2014-06) before it starts (2015) [relation.until]"),
    Case("organization dissolved before it was founded", ORG + '    dissolved: "2001"\n', 11,
         "is dissolved before it was founded, by every account (value: '2001') [organization.dissolved]"),
    Case("acceptance dated before the pledge it accepts", ACCEPTANCE.replace('"2015-06-22"', '"2015-06-01"'), 4,
         "is dated 2015-06-01, before the pledge it accepts ('caucasus-velayats-pledge-2015-06', June 21) "
         "[acceptance.date]"),

    # --- self-reference and cycles -------------------------------------------------------------------
    Case("a group that pledges to itself", PLEDGE.replace("[rustam-asildarov]", "[islamic-state]"), 4,
         "pledges allegiance to itself ('islamic-state' is in both 'to' and 'pledgers') [pledge.to]"),
    Case("a pledge that renounces the group it pledges to", PLEDGE + "    renounces: islamic-state\n", 9,
         "renounces the group it pledges to ('islamic-state' is in both 'renounces' and 'to') [pledge.renounces]"),
    Case("a pledge on behalf of the group pledged to", PLEDGE + "    on_behalf_of: [islamic-state]\n", 9,
         "pledges on behalf of the group it pledges to ('islamic-state' is in both"),
    Case("a pledge that results in itself", PLEDGE + "    resulted_in: [test-pledge]\n", 9,
         "a pledge cannot result in itself (value: 'test-pledge') [pledge.resulted_in]"),
    Case("a relation of an organization with itself", f"relations:\n  - id: test-relation\n    subject: caucasus-emirate\n"
         f"    kind: rival-of\n    object: caucasus-emirate\n    sources: [{SRC}]\n", 5,
         "is a relation of an organization with itself ('caucasus-emirate' is in both 'object' and 'subject') "
         "[relation.object]"),
    Case("a tenure that is its own predecessor", TENURE + "    predecessor: rustam-asildarov\n", 11,
         "names the person as their own predecessor ('rustam-asildarov' is in both 'predecessor' and 'person') "
         "[tenure.predecessor]"),
    Case("a tenure whose successor is its holder", TENURE + f"    end:\n      - manner: killed\n"
         f"        successor: rustam-asildarov\n        sources:\n          - source: {DB}\n            quote: {QUOTE}\n",
         13, "names the person as their own successor (value: 'rustam-asildarov') [tenure.end.successor]"),
    Case("replaced_by pointing at itself", PERSON + "    deprecated: true\n    replaced_by: test-person\n", 9,
         "is replaced by itself (value: 'test-person') [person.replaced_by]"),
    Case("an organization made a branch of itself", "branches:\n" + branch("test-branch", "vilayat-dagestan",
                                                                              "vilayat-dagestan"), 4,
         "makes an organization a branch of itself ('vilayat-dagestan' is in both 'parent' and 'branch') "
         "[branch.parent]"),
    Case("a branch cycle through three organizations, at the record that closes it", CYCLE, 27,
         "closes a cycle: test-c → test-a → test-b → test-c [branch.parent]"),
    Case("a branch cycle through the shipped organizations", "branches:\n" + branch(
         "test-emirate-under-dagestan", "caucasus-emirate", "vilayat-dagestan"), 4, "closes a cycle: caucasus-emirate → "
         "vilayat-dagestan → caucasus-emirate [branch.parent]"),
    Case("an event part of itself", EVENT + "    part_of: test-event\n", 9, "an event cannot be part of itself (value: 'test-event') [event.part_of]"),
    Case("events part of each other", EVENT + "    part_of: test-event-2\n" + EVENT.split("\n", 1)[1].replace(
         "test-event", "test-event-2") + "    part_of: test-event\n", 18, "closes a cycle: test-event-2 → test-event → "
         "test-event-2 [event.part_of]"),
    Case("a place within itself", f"places:\n  - id: test-place\n    kind: city\n    names: [{{name: T, lang: en, "
         f"sources: [{SRC}]}}]\n    within: test-place\n    sources: [{SRC}]\n", 5,
         "a place cannot lie within itself (value: 'test-place') [place.within]"),
    Case("a statement about itself", f"statements:\n  - id: test-statement\n    kind: claim\n    summary: A test.\n"
         f"    about: [test-statement]\n    sources: [{SRC}]\n", 5, "a statement is about other records, not itself"),
    Case("a source that cites itself", "sources:\n  - id: test-source\n    title: A test source\n"
         "    cites: [test-source]\n", 4, "a document cannot cite itself (value: 'test-source') [source.cites]"),
    Case("a body designating itself", f"designations:\n  - id: test-designation\n    designated: fsb\n    by: fsb\n"
         f"    designation: terrorist-organization\n    sources:\n      - source: {DB}\n        quote: {QUOTE}\n", 4,
         "has a body designating itself ('fsb' is in both 'by' and 'designated') [designation.by]"),

    # --- one item listed twice (it would be one node: IRIs come from content) --------------------------
    Case("a name listed twice", ORG.replace("    founded:", f"      - {{name: Test Org, lang: en, sources: [{SRC}]}}\n"
                                            "    founded:"), 9,
         "repeats the name 'Test Org' (also at line 5): the two would be one node of the graph [organization.names]"),
    Case("a citation listed twice", PLEDGE.replace(f"      - source: {DB}\n        quote: {QUOTE}\n",
                                                   f"      - source: {DB}\n        quote: {QUOTE}\n" * 2), 9,
         f"repeats the citation of '{DB}' (also at line 7)"),
    Case("a claimed value listed twice", ORG.replace('founded: "2015"', f'founded:\n      - {{value: "2015", sources: [{SRC}]}}'
                                                     f'\n      - {{value: "2015", sources: [{DB}]}}'), 11,
         "repeats the value '2015' (also at line 10): the two would be one node of the graph [organization.founded]"),

    # --- estimates -----------------------------------------------------------------------------------
    Case("an estimate with both a value and a range", ESTIMATE + "    min: 1000\n    max: 1500\n", 6,
         "gives both a single value and a range (value: '1200') [estimate.value] (hint: keep `value` for one figure"),
    Case("a range whose max is below its min", ESTIMATE.replace("    value: 1200\n", "    min: 1500\n    max: 1000\n"), 7,
         "the range's max (1000) is below its min (1500) [estimate.max]"),

    # --- the dataset record --------------------------------------------------------------------------
    Case("a dataset version publish would refuse", (Path(__file__).parent.parent / "data" / "dataset.yaml").read_text(
         encoding="utf-8").replace("version: 0.1.0", 'version: "0.1 beta"'), 7,
         "'0.1 beta' cannot name a release [dataset.version]", file="dataset.yaml"),
    Case("dataset missing its version", (Path(__file__).parent.parent / "data" / "dataset.yaml").read_text(
         encoding="utf-8").replace("  version: 0.1.0\n", ""), 2, "missing required field 'version' in dataset",
         file="dataset.yaml"),

    # --- ids and references --------------------------------------------------------------------------
    Case("unknown reference (near miss)", PERSON + "    origin: chechnia\n", 8,
         "unknown place 'chechnia' in 'origin' [person.origin] (hint: did you mean 'chechnya'?)"),
    Case("unknown reference in a nested item, named by its path", EVENT + "    claimed_by:\n      - by: islamic-stat\n"
         f"        sources:\n          - source: {DB}\n            quote: {QUOTE}\n", 10,
         "unknown person/organization 'islamic-stat' in 'by' [event.claimed_by.by] (hint: did you mean 'islamic-state'?)"),
    Case("reference to the wrong kind", PERSON + "    origin: caucasus-emirate\n", 8,
         "'caucasus-emirate' is an organization, but 'origin' expects a place"),
    Case("unknown source", _record_sources(PERSON, "[wikipedia-is-caucasus]"), 7,
         "unknown source 'wikipedia-is-caucasus' in 'source' [person.sources.source] (hint: did you mean "
         "'wikipedia-is-caucasus-province'?)"),
    Case("duplicate id", PERSON.replace("id: test-person", "id: rustam-asildarov"), 2,
         "duplicate id 'rustam-asildarov' (first defined at data/persons.yaml:"),
    Case("invalid id", PERSON.replace("id: test-person", "id: Test Person"), 2,
         "'Test Person' is not a valid id [person.id] (hint: ids are lowercase ASCII letters, digits and single "
         "hyphens, at most 80 characters, e.g. 'test-person')"),
    Case("id with a trailing line break", PERSON.replace("id: test-person", 'id: "test-person\\n"'), 2,
         "'test-person\\n' is not a valid id"),
    Case("missing required field", PERSON.rsplit("    sources:", 1)[0], 2,
         "missing required field 'sources' in person"),
    Case("empty sources", _record_sources(PERSON, "[]"), 7,
         "sources is empty: every fact needs at least one source"),
    Case("empty field", PERSON + "    origin:\n", 8, "'origin' is empty [person.origin]"),

    # --- evidence ------------------------------------------------------------------------------------
    Case("a made-up quote", PLEDGE.replace(QUOTE, "Six commanders pledged to ISIS in a video."), 8,
         f"{DB}: quote not found (value: 'Six commanders pledged to ISIS in a video.') [evidence.quote] (hint: "
         "closest passage"),
    Case("a quote cited to the wrong source", PLEDGE.replace(f"source: {DB}", f"source: {SRC}"), 8,
         f"the quote is in {DB}: cited to the wrong source?"),
    Case("a pledge without a quote", PLEDGE.replace(f"      - source: {DB}\n        quote: {QUOTE}\n",
                                                    f"      - {DB}\n"), 7,
         f"citation of '{DB}' has no quote; pledges need one [pledge.sources.quote]"),
    Case("prefix without a quote", PLEDGE.replace(f"        quote: {QUOTE}\n", "        prefix: In November\n"), 8,
         "'prefix' without 'quote': it only anchors a quote [pledge.sources.prefix]"),

    # --- SHACL ---------------------------------------------------------------------------------------
    Case("SHACL violation: two preferred names in one language",
         PERSON.replace(f"        sources: [{SRC}]\n", f"        preferred: true\n        sources: [{SRC}]\n"
                        f"      - {{name: Other, lang: en, preferred: true, sources: [{SRC}]}}\n", 1), 4,
         "has two preferred names in one language: mark only one `preferred: true` per language [person.names]"),
    Case("SHACL violation on a derived date node", ORG.replace('"2015"', "1815"), 9,
         "error: test-org: is before 1900: check the year (value: '1815-01-01') [organization.founded]",
         extra_shapes=True),
]

# Committed files in tests/bad_input/: (file, exit code, line, message fragment), each reviewed by hand.
FILE_CASES = [
    ("archive-path-traversal.yaml", 1, 4, "'../../../../etc/passwd' is not a plain file name"),
    ("bool-yaml11-word.yaml", 1, 6, "'preferred' is true or false, not 'yes'"),
    ("claimed-value-extra-key.yaml", 1, 6, "a claimed value takes only 'value', 'sources' and 'rank', not sorces"),
    ("concept-unknown.yaml", 1, 3, "'planet' is not a concept of the place-kind vocabulary"),
    ("date-free-text.yaml", 1, 9, "'June 2015' is not a date"),
    ("date-impossible.yaml", 1, 9, "'2015-02-30' is not a real calendar date"),
    ("date-padded-by-mapping-list.yaml", 1, 9, "a date is a string or a mapping, not a list"),
    ("date-reversed-range.yaml", 1, 9, "the range ends (2015) before it starts (2016)"),
    ("field-required-missing.yaml", 1, 2, "missing required field 'to' in pledge"),
    ("field-unknown.yaml", 1, 3, "unknown field 'nmaes' in person"),
    ("id-duplicate-across-files.yaml", 1, 2, "duplicate id 'caucasus-emirate' (first defined at"),
    ("id-javascript-scheme.yaml", 1, 2, "'javascript:alert(1)' is not a valid id"),
    ("id-missing.yaml", 1, 2, "person record has no id"),
    ("id-path-traversal-source.yaml", 1, 6, "'../../etc/passwd' is not a valid id"),
    ("id-unicode-lookalike.yaml", 1, 2, "'tеst-person' is not a valid id"),
    ("id-with-angle-bracket.yaml", 1, 2, "'a>b' is not a valid id"),
    ("id-with-double-quote.yaml", 1, 2, "'a\"b' is not a valid id"),
    ("id-with-newline.yaml", 1, 2, "'a\\nb' is not a valid id"),
    ("id-with-space.yaml", 1, 2, "'test person' is not a valid id"),
    ("lang-not-bcp47.yaml", 1, 5, "'english' is not a BCP 47 language tag"),
    ("lang-underscore.yaml", 1, 5, "'en_US' is not a BCP 47 language tag"),
    ("number-as-string.yaml", 1, 7, "'count' is a number: write it without quotes"),
    ("number-leading-zero.yaml", 1, 7, "'012' is not a whole number"),
    ("quote-too-long.yaml", 1, 8, "'quote' is 320 characters; at most 300"),
    ("ref-missing-record.yaml", 1, 8, "unknown place 'atlantis' in 'origin'"),
    ("ref-near-miss.yaml", 1, 8, "unknown place 'chechnia' in 'origin'"),
    ("ref-wrong-kind.yaml", 1, 8, "'caucasus-emirate' is an organization, but 'origin' expects a place"),
    ("shacl-two-preferred-names.yaml", 1, 4, "has two preferred names in one language"),
    ("sources-empty.yaml", 1, 6, "sources is empty: every fact needs at least one source"),
    ("sources-missing.yaml", 1, 2, "missing required field 'sources' in person"),
    ("sources-unknown.yaml", 1, 6, "unknown source 'the-daily-bugle'"),
    ("string-as-number.yaml", 1, 7, "'five' is not a whole number"),
    ("structure-item-not-mapping.yaml", 1, 2, "each item of 'persons' must be a mapping"),
    ("structure-kind-not-a-list.yaml", 1, 1, "'persons' must be a list of records"),
    ("structure-top-level-list.yaml", 1, 1, "a data file is a mapping of record kinds"),
    ("structure-unknown-kind.yaml", 1, 1, "unknown record kind 'people'"),
    ("text-control-character.yaml", 1, 4, "text contains control characters"),
    ("url-javascript.yaml", 1, 4, "'javascript:alert(1)' is not an http(s) URL"),
    ("value-is-a-list-not-scalar.yaml", 1, 3, "'kind' takes a single concept value, not a list"),
    ("yaml-alias.yaml", 2, 2, "anchor '&p' is not allowed"),
    ("yaml-bad-indentation.yaml", 2, 3, "YAML syntax: did not find expected '-' indicator"),
    ("yaml-duplicate-key.yaml", 2, 3, "duplicate key 'id' (first at line 2)"),
    ("yaml-merge-key.yaml", 2, 2, "merge key '<<' is not allowed"),
    ("yaml-python-tag.yaml", 2, 2, "tag 'tag:yaml.org,2002:python/object:os.system' is not allowed"),
    ("yaml-tab-indent.yaml", 2, 2, "a tab character: YAML indentation must use spaces"),
    ("yaml-two-documents.yaml", 2, 2, "more than one YAML document ('---') in a file"),
    ("yaml-unclosed-bracket.yaml", 2, 3, "YAML syntax: did not find expected ',' or '}'"),
]

CASES += [Case(name.removesuffix(".yaml").replace("-", " "), (CASES_DIR / name).read_bytes(), line, fragment, code,
               name=name.removesuffix(".yaml"))
          for name, code, line, fragment in FILE_CASES]

# Variations the format accepts: each, applied to every shipped data file, must give the same triples.
MUST_PASS = ["crlf-line-endings", "no-final-newline", "comments-everywhere", "flow-style", "other-key-order",
             "lowercase-script-subtags"]
