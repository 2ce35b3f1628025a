"""What each entity's files cost to make: publish's per-entity work in one process, nothing written.

`python -m bench.entity_files DIST [--every N]` reads a build output as `publish` does, makes the
descriptions and the pages' index (once, as publish does before its fork), then every (or every Nth)
entity's Turtle, N-Triples, JSON-LD, pictures and page exactly as `publish._EntityFiles` does, and
prints the CPU seconds (`time.process_time`) of each part and the total per entity. One process and no
file writes: the steadier figure on a shared machine, and comparable across sizes (is the cost per entity
flat?). The `dot` processes the diagrams start are not counted.
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict
from itertools import chain
from pathlib import Path

from pledgegraph.delivery.export import serialize, term_prefixes
from pledgegraph.delivery.release import describe, figures, jsonld, pages, publish, webservers
from pledgegraph.gcpause import paused_gc
from pledgegraph.model import iris


@paused_gc()  # as publish runs
def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("dist", type=Path)
    p.add_argument("--every", type=int, default=1, help="render every Nth entity only (the indexes stay whole)")
    args = p.parse_args(argv)
    spent: dict[str, float] = defaultdict(float)
    clock = time.process_time()

    def tick(part: str) -> None:
        nonlocal clock
        now = time.process_time()
        spent[part] += now - clock
        clock = now

    loading = publish._StoreLoad(args.dist)
    src = publish.read_dist(args.dist)
    store = loading.wait()(src)
    context = jsonld.make_context(src.graphs["ontology"])
    link = publish._linker(src.base, "../")
    data = src.data()[0]
    tick("read (not counted below)")
    owners = iris.Owners(src.base)
    graph = pages.page_graph(store, src.base, link, chain.from_iterable(src.graphs.values()), owners)
    entities = graph.entities()[:: args.every]
    tick("pages' index and the entities")
    described = describe.descriptions(data, src.base, entities, ordered=True, owners=owners)
    tick("descriptions")
    pages.make_related_rows(graph, graph.entities())  # as publish does before its fork
    tick("related rows")
    pictures = figures.Figures(store, src.base, graph)  # as publish makes them: from the pages' index
    tick("pictures' rows")
    for start in range(0, len(entities), publish.BATCH_MOST):
        batch = entities[start : start + publish.BATCH_MOST]
        diagrams = pictures.diagrams(link, batch)
        tick("diagrams")
        for iri in batch:
            triples = described[iri]
            ntriples = serialize(triples, "ntriples")
            tick("N-Triples")
            serialize(triples, "turtle", term_prefixes(ntriples), prefixes_used=True)
            tick("Turtle")
            jsonld.document(triples, context)
            tick("JSON-LD")
            own = [svg for svg in (pictures.timeline(link, focus=iri), diagrams[iri]) if svg]
            tick("timeline")
            slug = iris.segment_and_slug(iri, src.base)[1]
            pages.render_entity(
                store,
                iri,
                src.base,
                link,
                figures=own,
                alternates=pages.alternates_for(slug, webservers.ENTITY_FORMATS),
                home="../index.html",
                graph=graph,
            ).encode()
            tick("page")
    per_entity = [
        part
        for part in spent
        if part not in ("read (not counted below)", "descriptions", "pages' index", "pictures' rows")
    ]
    for part, seconds in spent.items():
        each = f"  {1000 * seconds / len(entities):.3f} ms an entity" if part in per_entity else ""
        print(f"{part:26} {seconds:8.2f} s{each}")
    total = sum(spent[part] for part in per_entity)
    print(f"{'every entity file':26} {total:8.2f} s  {1000 * total / len(entities):.3f} ms an entity ({len(entities)})")


if __name__ == "__main__":
    main()
