"""The pictures a person reads: the timeline has a line for every tenure, branch relation, pledge (who to
whom), acceptance and attack (claimed or attributed, told apart), imprecise dates as bands and undated
sides marked; the allegiance diagram (Graphviz) has an arrow for every branch relation and pledge between
named entities; the legends' colours are the marks' colours. Expected counts come from the curators'
YAML, not from the code under test. Both ways to a timeline are held to the same properties on every row
of the shipped data: the whole graph's picture, and the writer of entities' own pictures given all rows."""

from __future__ import annotations

import dataclasses
import re
import xml.etree.ElementTree as ET

import pyoxigraph as ox
import pytest
import yaml

from conftest import settings_for
from pledgegraph.delivery.release import figures as module
from pledgegraph.delivery.release.figures import Figures
from pledgegraph.delivery.release.pages import label_of
from pledgegraph.errors import PledgegraphError

BASE = "https://w3id.org/pledgegraph/"
SVG = "{http://www.w3.org/2000/svg}"
XLINK = "{http://www.w3.org/1999/xlink}"


@pytest.fixture(scope="module")
def store(shipped):
    s = ox.Store()
    s.bulk_extend(ox.Quad(t.subject, t.predicate, t.object) for t in shipped.built.triples)
    return s


@pytest.fixture(scope="module")
def figures(store):
    return Figures(store, BASE)


@pytest.fixture(scope="module", params=["whole graph", "svg writer"])
def timeline(figures, request):
    """Every row of the shipped data drawn by each writer: the whole graph's picture, and the writer of
    entities' own pictures given all rows."""
    if request.param == "whole graph":
        return ET.fromstring(figures.timeline(lambda iri: iri))
    svg = module._timeline_svg(figures.rows, figures.modified, lambda iri: iri, "all rows")
    return ET.fromstring(svg)


@pytest.fixture(scope="module")
def diagram(figures):
    return ET.fromstring(figures.branches(lambda iri: iri))


def data(name: str) -> dict:
    return yaml.safe_load((settings_for().data_dir / f"{name}.yaml").read_text())


def groups(svg: ET.Element, prefix: str) -> dict[str, ET.Element]:
    return {g.get("id"): g for g in svg.iter(SVG + "g") if re.fullmatch(prefix + r"\d+", g.get("id") or "")}


def rows(svg: ET.Element) -> list[tuple[str, str, str]]:
    """(label, dates, link) of each line of the timeline, top to bottom."""
    labels, dates = groups(svg, "label"), groups(svg, "dates")
    out = []
    for n in range(len(labels)):
        a = labels[f"label{n}"].find(SVG + "a")
        out.append((a.find(SVG + "text").text, "".join(dates[f"dates{n}"].itertext()).strip(), a.get(XLINK + "href")))
    return out


def fills(element: ET.Element, opaque_only: bool = False) -> set[str]:
    found = set()
    for e in element.iter():
        style = e.get("style") or ""
        m = re.search(r"fill: (#[0-9a-f]{6})", style)
        if m and not (opaque_only and "fill-opacity" in style):
            found.add(m.group(1))
    return found


def test_the_timeline_has_a_line_for_every_dated_kind_of_fact(timeline):
    shown = rows(timeline)
    linked = {link.split("/id/")[1].split("/")[0] for _, _, link in shown}
    events = data("events")["events"]
    counts = {
        "tenure": len(data("tenures")["tenures"]),
        "branch": len(data("branches")["branches"]),
        "pledge": len(data("pledges")["pledges"]),
        "acceptance": len(data("pledges")["acceptances"]),
        "event": sum("claimed_by" in e or "attributed_to" in e for e in events),
    }
    assert linked == set(counts)
    for segment, count in counts.items():
        assert sum(f"/id/{segment}/" in link for _, _, link in shown) == count, segment


def test_pledges_say_who_pledged_to_whom(timeline):
    labels = [label for label, _, _ in rows(timeline)]
    assert "Boko Haram → Islamic State" in labels and "Amir Khamzat → Islamic State" in labels
    assert "Galgaicho and 3 more → Islamic State" in labels
    # a pledge by a group the source does not name is said in the source's words
    assert any(label.startswith("several North Caucasian") and label.endswith("→ Islamic State") for label in labels)
    assert not any(label.startswith("Pledge") for label in labels)


def test_claimed_and_attributed_attacks_are_told_apart(timeline):
    shown = rows(timeline)
    claimed = [n for n, (label, _, _) in enumerate(shown) if "(claimed by " in label]
    attributed = [n for n, (label, _, _) in enumerate(shown) if "(attributed to " in label]
    events = data("events")["events"]
    assert len(claimed) == sum("claimed_by" in e for e in events)
    assert len(attributed) == sum("attributed_to" in e and "claimed_by" not in e for e in events)
    shapes = {g.get("id"): g for g in timeline.iter(SVG + "g") if (g.get("id") or "").startswith("row")}

    def colour(n):
        return {c for i, g in shapes.items() if i.startswith(f"row{n}-") for c in fills(g)}

    assert set().union(*map(colour, claimed)).isdisjoint(set().union(*map(colour, attributed)))


def test_precision_is_drawn_as_bands_and_undated_sides_are_marked(timeline):
    shown = {label: (n, dates) for n, (label, dates, _) in enumerate(rows(timeline))}
    # a year-only date is a band over the year, not a point on 1 January
    year_row, year_dates = next(
        (n, dates)
        for n, (_, dates, link) in enumerate(rows(timeline))
        if link.endswith("/event/magnitogorsk-building-collapse-2018")
    )
    assert year_dates == "2018"
    # a month: its bounds in words
    assert shown["Amir Khamzat → Islamic State"][1] == "2015-06"
    # undated: at the left edge, said so; a period with an undated start, said so
    assert shown["Boko Haram → Islamic State"][1] == "undated"
    assert shown["Abu Bakr al-Baghdadi: leader of Islamic State"][1] == "start undated – end undated"
    assert shown["Abu Usman Gimrinsky: leader of Caucasus Emirate"][1] == "2015-04-30 – end undated"
    assert shown["Galgaicho branch of Caucasus Emirate"][1] == "start undated – 2015-06-21"
    # an undated point is a hollow mark: white inside, its kind's colour around
    undated = [
        g for g in timeline.iter(SVG + "g") if g.get("id") == f"row{shown['Boko Haram → Islamic State'][0]}-pledge-0"
    ]
    assert len(undated) == 1 and fills(undated[0]) == {"#ffffff"}
    assert module.COLOURS["pledge"] in ET.tostring(undated[0], encoding="unicode")
    # widths: the year band against a period known to the day (2015-06-23 – 2016-12-04: 530 days)
    period_row = shown["Rustam Asildarov: leader of Islamic State – Caucasus Province"][0]

    def width(n):
        shape = next(
            g
            for g in timeline.iter(SVG + "g")
            if g.get("id") == f"row{n}-" + ("claimed" if n == year_row else "tenure") + "-0"
        )
        xs = [float(x) for x in re.findall(r"[ML] ([\d.]+) ", shape.find(f".//{SVG}path").get("d"))]
        return max(xs) - min(xs)

    assert width(year_row) / width(period_row) == pytest.approx(365 / 530, rel=0.02)


def test_the_timeline_legend_shows_the_marks_colours(timeline):
    legend = next(g for g in timeline.iter(SVG + "g") if g.get("id") == "legend_1")
    texts = {t.text for t in legend.iter(SVG + "text")}
    assert {
        "post held",
        "attack, responsibility claimed",
        "attack, attributed (not claimed)",
        "start or end undated",
        "undated",
        "date known only within these bounds",
    } <= texts
    drawn = set().union(
        *(
            fills(g, opaque_only=True)
            for g in timeline.iter(SVG + "g")
            if re.fullmatch(r"row\d+-\w+-\d+", g.get("id") or "")
        )
    )
    assert drawn and drawn == fills(legend, opaque_only=True) - {"#888888"}


def test_the_diagram_draws_every_branch_relation_and_pledge_with_undated_ones_dashed(store, diagram):
    edges = {
        a.get(XLINK + "title"): a.find(SVG + "path")
        for a in diagram.iter(SVG + "a")
        if a.find(SVG + "path") is not None
    }
    name = {r["id"]: label_of(store, f"{BASE}id/org/{r['id']}", BASE) for r in data("organizations")["organizations"]}
    for branch in data("branches")["branches"]:
        drawn = f"{name[branch['branch']]} → {name[branch['parent']]}: branch, "
        arrow = [(t, p) for t, p in edges.items() if t.startswith(drawn)]
        assert len(arrow) == 1, branch["id"]
        title, path = arrow[0]
        assert ("undated" in title) == (path.get("stroke-dasharray") is not None), title
    pledges = [t for t in edges if ": pledge, " in t]
    assert "Boko Haram → Islamic State: pledge, undated" in pledges
    assert sum(t.startswith("Rustam Asildarov → Islamic State: pledge, 2014-11-01..") for t in pledges) == 2
    legend = {
        g.get("id"): g.find(SVG + "path").get("stroke")
        for g in diagram.iter(SVG + "g")
        if (g.get("id") or "").startswith("legend_")
    }
    assert legend == {
        "legend_pledge": edges["Boko Haram → Islamic State: pledge, undated"].get("stroke"),
        "legend_branch": edges[arrow[0][0]].get("stroke"),
    }


def test_an_entity_gets_its_own_pictures_when_it_relates_two_facts(figures):
    islamic_state = BASE + "id/org/islamic-state"
    own = [label for label, _, _ in rows(ET.fromstring(figures.timeline(lambda iri: iri, focus=islamic_state)))]
    assert "Boko Haram → Islamic State" in own and "Abu Bakr al-Baghdadi: leader of Islamic State" in own
    assert not any(label.startswith("Dokku Umarov") for label in own)
    assert figures.timeline(lambda iri: iri, focus=BASE + "id/tenure/bortnikov-fsb-director") == ""


def test_without_graphviz_the_diagram_fails_with_a_message_that_says_what_to_install(figures, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(PledgegraphError, match="graphviz"):
        figures.branches(lambda iri: iri)


def test_diagrams_drawn_in_one_dot_run_are_those_graphviz_draws_one_by_one(figures):
    """`diagrams` hands every entity's graph to one `dot` process; each SVG must be the one graphviz's own
    `pipe` draws for that graph alone (the path before the batch, the reference)."""
    from pledgegraph.model.formats import xml_safe

    def link(iri: str) -> str:
        return iri

    focuses = sorted({e for edge in figures.edges for e in (edge.lower, edge.upper, edge.iri)}) + [None]
    batch = figures.diagrams(link, focuses)
    drawn = [focus for focus in focuses if batch[focus]]
    assert len(drawn) >= 5 and None in drawn  # several graphs after the first in dot's input
    for focus in focuses:
        edges = figures.edges if focus is None else figures._edges_by_entity.get(focus, [])
        if not batch[focus]:
            assert focus is not None and len(edges) < module.FOCUS_MINIMUM
            continue
        names = {iri: figures.graph.label(iri) for e in edges for iri in (e.lower, e.upper)}
        title = "Branch relations and pledges of allegiance"
        alone = module._diagram(edges, names, link, title).pipe(format="svg", encoding="utf-8")
        assert batch[focus] == xml_safe(alone[alone.index("<svg") :]), focus


def test_one_dot_kept_across_batches_draws_what_a_dot_started_for_each_batch_draws(figures):
    """publish's writing processes keep one `dot` for all their batches (`Dot`): batch after batch, each SVG is
    the one a `dot` started for that batch alone draws, and closing it ends the process."""

    def link(iri: str) -> str:
        return iri

    focuses = sorted({e for edge in figures.edges for e in (edge.lower, edge.upper, edge.iri)})
    batches = [focuses[k : k + 3] for k in range(0, len(focuses), 3)] + [[None]]
    with module.Dot() as kept:
        for batch in batches:
            assert figures.diagrams(link, batch, kept) == figures.diagrams(link, batch)
        process = kept.process
        assert process is not None and process.poll() is None
    assert kept.process is None and process.returncode == 0


def test_threads_sharing_one_dot_each_get_their_own_diagrams(figures):
    """publish's main process draws the whole graph's diagram in a thread with the `dot` its batches use
    afterwards (or meanwhile, on a slow machine): drawings from two threads at once must each get their own
    SVGs, the ones a `dot` of their own draws, never the other thread's (their bytes interleave in one pipe)."""
    from concurrent.futures import ThreadPoolExecutor

    def link(iri: str) -> str:
        return iri

    focuses = sorted({e for edge in figures.edges for e in (edge.lower, edge.upper, edge.iri)})
    alone = figures.diagrams(link, focuses + [None])
    with module.Dot() as shared, ThreadPoolExecutor(2) as pool:
        rounds = [
            pool.submit(lambda batch=batch: figures.diagrams(link, batch, shared))
            for _ in range(20)
            for batch in (focuses, [None] + focuses[::-1])
        ]
        for drawn in rounds:
            assert drawn.result() == {focus: alone[focus] for focus in drawn.result()}


def test_a_dot_closed_while_a_thread_would_still_draw_starts_no_other_dot(figures):
    """publish closes its `dot` when it fails, perhaps before the whole diagram's thread asks for its drawing:
    that drawing fails instead of starting a `dot` nobody would end."""
    dot = module.Dot()
    dot.close()
    with pytest.raises(PledgegraphError, match="closed"):
        figures.diagrams(lambda iri: iri, [None], dot)
    assert dot.process is None


def test_a_graph_dot_cannot_read_fails_with_dots_message_instead_of_waiting(figures):
    class Unreadable:
        source = "digraph { a -> -> b }\n"

    with module.Dot() as dot, pytest.raises(PledgegraphError, match="syntax error"):
        dot.draw([Unreadable()])


def test_the_entity_writer_escapes_labels_and_links_and_draws_the_same_whatever_the_order(figures):
    tricky = ["<script>alert(\"x\")</script> & 'quoted'", "الدولة الإسلامية → ولاية القوقاز", "a\x01b"]
    drawn = [dataclasses.replace(row, label=label) for row, label in zip(figures.rows, tricky)]

    def link(iri: str) -> str:
        return iri + '?a=1&b=<2>"'

    svg = module._timeline_svg(drawn, figures.modified, link, "<title> & co")
    assert svg == module._timeline_svg(drawn[::-1], figures.modified, link, "<title> & co")
    shown = rows(ET.fromstring(svg))
    assert sorted(label for label, _, _ in shown) == sorted([tricky[0], tricky[1], "a\ufffdb"])
    assert all(href.endswith('?a=1&b=<2>"') for _, _, href in shown)
    assert "<script>" not in svg


def test_past_their_limits_the_whole_graph_pictures_show_the_central_groups_and_say_so(figures, monkeypatch):
    """The whole graph's timeline and diagram stay bounded: past `WHOLE_TIMELINE_ROWS` rows or
    `DIAGRAM_ARROWS` arrows they show those of the group most pledged to (and branched under) first, and
    their caption says how many of how many."""
    monkeypatch.setattr(module, "WHOLE_TIMELINE_ROWS", 10)
    monkeypatch.setattr(module, "DIAGRAM_ARROWS", 4)
    into: dict[str, int] = {}
    for pledge in data("pledges")["pledges"]:
        into[pledge["to"]] = into.get(pledge["to"], 0) + len(pledge.get("pledgers", []))
    for branch in data("branches")["branches"]:
        into[branch["parent"]] = into.get(branch["parent"], 0) + 1
    central = max(into, key=lambda org: into[org])
    assert central == "islamic-state"
    name = label_of(figures.store, f"{BASE}id/org/{central}", BASE)

    timeline = ET.fromstring(figures.timeline(lambda iri: iri))
    shown = rows(timeline)
    all_rows = sum(len(data(f)[k]) for f, k in [("tenures", "tenures"), ("branches", "branches")]) + sum(
        len(data("pledges")[k]) for k in ("pledges", "acceptances")
    )
    all_rows += sum("claimed_by" in e or "attributed_to" in e for e in data("events")["events"])
    caption = f"10 of {all_rows} facts shown: the central groups' first; each entity's own picture is on its page"
    assert len(shown) == 10 and caption in "".join(timeline.itertext())
    assert all(name in label for label, _, _ in shown)  # every row shown is one of the central group's

    diagram = ET.fromstring(figures.branches(lambda iri: iri))
    arrows = [a.get(XLINK + "title") for a in diagram.iter(SVG + "a") if a.find(SVG + "path") is not None]
    arrows = [title for title in arrows if " → " in title]
    assert len(arrows) == 4 and all(title.split(": ")[0].endswith(f"→ {name}") for title in arrows)
    assert f"4 of {sum(into.values())} arrows shown" in "".join(diagram.itertext())
