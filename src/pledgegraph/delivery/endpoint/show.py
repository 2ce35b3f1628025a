"""An entity for the terminal (`pledgegraph show KIND/ID`) and its subgraph (`export`, DESCRIBE).

The page is the one `pages.py` renders for the web (names in every language, facts with their
sources and quotes, the organization's place over time, every record that points at it), turned
into indented plain text here, so the two can never say different things. Links become KIND/ID,
the form this command takes.
"""

from __future__ import annotations

import difflib
import re
import weakref
from html.parser import HTMLParser

from pledgegraph.delivery.endpoint.store import Loaded, describe
from pledgegraph.errors import UnusableInput
from pledgegraph.model.iris import entity_ref, ref_iri

_BLOCKS = {
    "p",
    "div",
    "h1",
    "h2",
    "h3",
    "section",
    "blockquote",
    "table",
    "tr",
    "figure",
    "nav",
    "ul",
    "ol",
    "dl",
    "dt",
}
_SKIP = {"style", "script", "head", "title", "svg", "nav", "figure"}


def resolve(loaded: Loaded, ref: str) -> str:
    """The IRI of KIND/ID (or of a full IRI) in this build; UnusableInput naming the closest
    entities when there is none."""
    iri = ref[1:-1] if ref.startswith("<") and ref.endswith(">") else ref
    if not re.match(r"https?://", iri):
        iri = ref_iri(loaded.base, ref.strip("/"))
    if describe(loaded, iri):
        return iri
    raise UnusableInput(f"no entity {ref} in this build" + did_you_mean(loaded, iri))


# Each store's entity names, read once (a server answers many 404s from one store: 0.27 s each at 100k before).
_ENTITY_NAMES: weakref.WeakKeyDictionary[Loaded, dict[str, str]] = weakref.WeakKeyDictionary()


def did_you_mean(loaded: Loaded, iri: str) -> str:
    """' (did you mean org/x, org/y?)' from the entities of this build, by their id and names."""
    from pledgegraph.delivery.endpoint.labels import names

    refs = {entity_ref(e, loaded.base): e for e in loaded.entities}
    wanted = entity_ref(iri, loaded.base) or iri
    near = difflib.get_close_matches(wanted, list(refs), n=3, cutoff=0.6)
    if not near:  # maybe a name: "asilderov" finds the person whose name is spelt so
        slug = wanted.rsplit("/", 1)[-1].replace("-", " ").lower()
        labels = _ENTITY_NAMES.get(loaded)
        if labels is None:
            labels = _ENTITY_NAMES[loaded] = names(loaded, loaded.entities)
        near = [entity_ref(e, loaded.base) for e, label in labels.items() if slug and slug in label.lower()][:3]
    return f" (did you mean {', '.join(near)}?)" if near else ""


def text_page(loaded: Loaded, iri: str) -> str:
    """The entity's page as plain text."""
    import pyoxigraph as ox

    from pledgegraph.delivery.release.pages import render_entity
    from pledgegraph.layout import graph_iri

    base = loaded.base
    curated = ox.Store()  # the asserted facts and the ontology's labels: no inferred inverses and
    for name in ("asserted", "ontology"):  # superproperties repeating what the page already says
        graph = ox.NamedNode(graph_iri(base, name))
        curated.extend(
            ox.Quad(q.subject, q.predicate, q.object, graph)
            for q in loaded.store.quads_for_pattern(None, None, None, graph)
        )
    html = render_entity(curated, iri, base, link=lambda target: target)
    parser = _Text(base)
    parser.feed(html)
    return parser.text()


class _Text(HTMLParser):
    def __init__(self, base: str):
        super().__init__(convert_charrefs=True)
        self.base = base
        self.lines: list[str] = []
        self.current = ""
        self.depth = 0  # list nesting
        self.skip = 0
        self.href: str | None = None

    def _flush(self):
        text = " ".join(self.current.split())
        if text:
            self.lines.append("  " * max(self.depth - 1, 0) + text)
        self.current = ""

    def handle_starttag(self, tag, attrs):
        if tag in _SKIP:
            self.skip += 1
            return
        if tag in ("ul", "ol"):
            self._flush()
            self.depth += 1
        elif tag == "li":
            self._flush()
            self.current = "- "
        elif tag in _BLOCKS or tag == "br":
            self._flush()
            if tag == "h2":
                self.lines.append("")
        elif tag == "a":
            self.href = dict(attrs).get("href")
        elif tag == "td" or tag == "th":
            self.current += "  "

    def handle_endtag(self, tag):
        if tag in _SKIP:
            self.skip -= 1
            return
        if tag in ("ul", "ol"):
            self._flush()
            self.depth -= 1
        elif tag == "a" and self.href:
            ref = entity_ref(self.href, self.base)
            if ref is not None:
                self.current += f" [{ref}]"
            self.href = None
        elif tag == "dt":
            self.current += ": "
        elif tag in _BLOCKS or tag == "li" or tag == "dd":
            self._flush()
            if tag == "h1":
                self.lines.append("=" * len(self.lines[-1]) if self.lines else "")

    def handle_data(self, data):
        if not self.skip:
            self.current += data

    def text(self) -> str:
        self._flush()
        out = [line for i, line in enumerate(self.lines) if line or (i and self.lines[i - 1])]
        return "\n".join(out).strip() + "\n"
