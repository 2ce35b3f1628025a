"""Entity pages: names in every language, facts with their sources and quotes, relations both ways."""

from __future__ import annotations

import random
import re
from html.parser import HTMLParser

import pyoxigraph as ox
import pytest

from conftest import settings_for
from pledgegraph.delivery.release.pages import _Summary, entity_iris, page_graph, render_entity, render_index
from pledgegraph.model.iris import segment_and_slug
from pledgegraph.pipeline import ontology_triples

BASE = "https://w3id.org/pledgegraph/"


@pytest.fixture(scope="module")
def store(shipped):
    """The data and the ontology (which gives labels to properties and concepts) in named graphs."""
    s = ox.Store()
    for name, triples in (("asserted", shipped.built.triples), ("ontology", ontology_triples(settings_for()))):
        s.bulk_extend(ox.Quad(t.subject, t.predicate, t.object, ox.NamedNode(BASE + "graph/" + name)) for t in triples)
    return s


def link(iri):
    seg, slug = segment_and_slug(iri, BASE)
    return f"../{seg}/{slug}.html"


class _Text(HTMLParser):
    """The visible text and the hrefs of a page, parsed as a browser would."""

    def __init__(self):
        super().__init__()
        self.text, self.hrefs, self.skip = [], [], False

    def handle_starttag(self, tag, attrs):
        self.skip = tag in ("style", "code")  # <code>: the page's own IRI, shown on purpose
        if tag == "a":
            self.hrefs.append(dict(attrs)["href"])

    def handle_endtag(self, tag):
        self.skip = False

    def handle_data(self, data):
        if not self.skip:
            self.text.append(data)


def parsed(html):
    p = _Text()
    p.feed(html)
    return " ".join(" ".join(p.text).split()), p.hrefs


def test_person_page_shows_names_deaths_tenures_with_quotes(store):
    text, hrefs = parsed(render_entity(store, BASE + "id/person/rustam-asildarov", BASE, link))
    assert "Rustam Asildarov" in text and "Abu Muhammad al-Kadarskii" in text and "kunya" in text
    # a fact's quote, and who in the source said it
    assert "“Al-Adnani named 'Abu Mohammad al-Qadari' the leader of the group”" in text
    assert "said by Institute for the Study of War" in text
    # the reported death, with its place linked and its own quote
    assert "killed in a security operation" in text and "../place/makhachkala.html" in hrefs
    assert "reported that they had killed Asildarov and four of his associates" in text
    # incoming: the tenure that names him as member, with its period and organization
    assert "../tenure/asildarov-is-caucasus-province-leader.html" in hrefs
    assert "2015-06-23 – 2016-12-04" in text
    assert "../source/wikipedia-is-caucasus-province.html" in hrefs


def test_org_page_shows_names_in_all_languages_branches_and_leaders(store):
    text, hrefs = parsed(render_entity(store, BASE + "id/org/is-caucasus-province", BASE, link))
    assert "Вилаят Кавказ Исламского государства" in text and "الدولة الإسلامية - ولاية القوقاز" in text
    assert "../branch/is-caucasus-province-branch-of-islamic-state.html" in hrefs
    assert "../tenure/asildarov-is-caucasus-province-leader.html" in hrefs
    assert "../org/islamic-state.html" in hrefs


def test_the_pages_index_lists_the_entities_the_store_does(store):
    """publish lists the entities from the pages' index of the triples (no store scan): the same IRIs, in the
    same order, as the store's query finds, and nodes below entities or outside the entity space are not listed."""
    triples = [ox.Triple(q.subject, q.predicate, q.object) for q in store]
    listed = page_graph(store, BASE, link, triples).entities()
    assert listed == entity_iris(store, BASE)
    assert len(listed) > 100 and BASE + "id/person/rustam-asildarov" in listed
    assert not [i for i in listed if i.count("/") != BASE.count("/") + 2]


@pytest.fixture(scope="module")
def pages(store) -> dict[str, str]:
    """Every entity's page, rendered once for the tests that read them all (~16 s of CPU a rendering)."""
    return {iri: render_entity(store, iri, BASE, link) for iri in entity_iris(store, BASE)}


def test_every_link_on_every_page_goes_to_an_entity_or_outside(pages):
    entities = {link(i) for i in pages}
    for iri, html in pages.items():
        _, hrefs = parsed(html)
        for href in hrefs:
            assert href in entities or re.match(r"https?://", href), (iri, href)


def test_text_from_the_data_is_escaped():
    s = ox.Store()
    iri = BASE + "id/person/x"
    s.add(
        ox.Quad(
            ox.NamedNode(iri),
            ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"),
            ox.NamedNode("https://w3id.org/pledgegraph/ontology#Person"),
        )
    )
    s.add(
        ox.Quad(
            ox.NamedNode(iri),
            ox.NamedNode("http://www.w3.org/2004/02/skos/core#prefLabel"),
            ox.Literal('<script>alert("x")</script>', language="en"),
        )
    )
    page = render_entity(s, iri, BASE, link)
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "&lt;script&gt;" in render_index(s, BASE, link)


def test_index_lists_every_entity_once(store):
    _, hrefs = parsed(render_index(store, BASE, lambda i: "/".join(segment_and_slug(i, BASE))))
    assert sorted(hrefs) == sorted("/".join(segment_and_slug(i, BASE)) for i in entity_iris(store, BASE))


def test_pages_show_labels_not_iris_or_property_names(store, pages):
    """No IRI of ours and no raw property name (`qualifiedDerivation`, `hasSelector`, `oa#identifying`) in
    what a reader sees: properties and classes by their labels, nodes of other records by kind and record."""
    raw_name = re.compile(r"\b[a-z]+[A-Z][A-Za-z]*\b|\w#\w")
    for iri, html in pages.items():
        text, _ = parsed(html)
        assert BASE not in text, (iri, text[text.index(BASE) - 80 : text.index(BASE) + 80])
        terms = re.findall(r"<dt>([^<]*)</dt>", html) + re.findall(r'<span class="kind">([^<]*)</span>', html)
        assert not [t for t in terms if raw_name.search(t)], iri
    # a node of another record: named by its kind and the record, linked to the record's page
    text, hrefs = parsed(render_entity(store, BASE + "id/disagreement/caucasus-emirate-still-active-2015", BASE, link))
    assert "contradicts position of Was the Caucasus Emirate still active" in text
    # labels from the ontology (rdfs:label), not local names
    text, _ = parsed(render_entity(store, BASE + "id/pledge/boko-haram-pledge", BASE, link))
    assert "pledged to" in text and "pledgedTo" not in text


def test_the_changes_page_names_entities_and_says_which_facts_changed(shipped, store):
    """A founding date moved by a day and a label added: the page names the organization and shows
    `founding date › date as stated: old → new` and the added name, no IRI."""
    from pledgegraph.delivery.release.changeset import diff, summary_html
    from pledgegraph.delivery.release.pages import label_of

    org = BASE + "id/org/is-caucasus-province"
    date_label = ox.NamedNode("https://w3id.org/pledgegraph/ontology#dateLabel")
    old = list(shipped.built.triples)
    new = [
        ox.Triple(t.subject, t.predicate, ox.Literal("2015-06-24"))
        if t.subject.value == org + "/founded/2015-06-23" and t.predicate == date_label
        else t
        for t in old
    ]
    new.append(
        ox.Triple(
            ox.NamedNode(org),
            ox.NamedNode("http://www.w3.org/2004/02/skos/core#altLabel"),
            ox.Literal("ISCP", language="en"),
        )
    )
    changes = diff("0.1.0", old, new, BASE)
    assert changes.entities_changed == [org]
    text, hrefs = parsed(summary_html(changes, "0.2.0", link, lambda iri: label_of(store, iri, BASE)))
    assert "Islamic State – Caucasus Province" in text and link(org) in hrefs and BASE not in text
    assert "founding date › date as stated: “2015-06-23” → “2015-06-24”" in text
    assert "alternative label: added “ISCP”" in text


def _summary(bits: list[tuple[str, str]]) -> _Summary:
    return _Summary([o for o, _ in bits], lambda i: bits[i][1])


@pytest.mark.parametrize("seen_from", ["a", "b", "c", "d", "absent"])
def test_a_summary_line_without_one_entity_is_the_other_bits_joined(seen_from):
    """The related-record line drops every bit about the page's own entity, wherever they lie (first,
    last, repeated, side by side), and reads as if those bits had never been there."""
    bits = [("a", "x: A"), ("b", "y: B"), ("b", "z: B"), ("c", "w: C"), ("a", "v: A"), ("d", "1999")]
    expected = " · ".join(bit for o, bit in bits if o != seen_from)
    summary = _summary(bits)
    assert summary.without(seen_from) == expected
    assert summary.without(seen_from) == expected  # asked again (the line seen from elsewhere is kept)
    assert _summary([]).without(seen_from) == ""


@pytest.mark.parametrize("seen_from", ["hub", "e0", "e11", "absent"])
def test_a_long_summary_line_shows_its_first_bits_and_counts_the_rest(seen_from):
    """A record linking many entities is one short line on each of their pages: its first twelve bits other
    than those about the page's entity, then how many more there are (not the whole list, which made the
    pages grow with the square of a hub's links)."""
    bits = [("hub", "1999")] + [(f"e{i}", f"has member: E{i}") for i in range(20)] + [("hub", "part of: Hub")]
    kept = [bit for o, bit in bits if o != seen_from]
    expected = " · ".join(kept[:12]) + f" · and {len(kept) - 12} more"
    assert _summary(bits).without(seen_from) == expected
    assert _summary(bits[:13]).without("absent") == " · ".join(bit for _, bit in bits[:12]) + " · and 1 more"
    assert _summary(bits[:12]).without("absent") == " · ".join(bit for _, bit in bits[:12])


def test_summary_lines_asked_in_any_order_are_those_of_their_definition():
    """`_Summary` makes its line piecemeal, as far as a page needs it: whatever the order pages ask in, each
    line is the definition's (the first twelve bits not about the page's entity, then how many more)."""
    rng = random.Random(7)
    for _ in range(300):
        bits = [(f"e{rng.randrange(8)}", f"bit {i}") for i in range(rng.randrange(30))]
        summary = _summary(bits)
        for seen_from in rng.sample([f"e{i}" for i in range(9)], 9):
            kept = [bit for o, bit in bits if o != seen_from]
            expected = kept[:12] + ([f"and {len(kept) - 12} more"] if len(kept) > 12 else [])
            assert summary.without(seen_from) == " · ".join(expected)
