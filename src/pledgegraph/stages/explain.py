"""SHACL results in a curator's words: the YAML line, the field, the value, no IRIs.

A validation engine reports a focus node, a property path, a value and a message. This module
turns those into a `Problem` that points at the line of the record, nested item or field that
produced the node (using the origins the builder recorded), names the rule as the YAML field path
the curator wrote (`pledge.to`, `event.claimed_by.by`, `organization.names.sources.quote`) and
shows values as the ids a curator wrote. It takes plain terms (strings, rdflib or pyoxigraph
terms), so it does not care which engine produced the results.
"""

from __future__ import annotations

import json
import re

from pledgegraph.errors import ERROR, Problem
from pledgegraph.model.graph import Built, locate
from pledgegraph.model.iris import term_text

_IRI_RE = re.compile(r"<?(https?://[^\s<>\"]+)>?")


def problem(
    built: Built, focus, path=None, value=None, message: str = "", severity: str = ERROR, shape=None
) -> Problem:
    """One validation result as a located, readable Problem."""
    focus_iri = _text(focus)
    path_iri = _text(path) if path is not None else ""
    entity, position, rule = locate(built, focus_iri, path_iri)
    if value is not None and _text(value) == focus_iri:  # a node-level result: the value is the record
        value = None
    if not rule:
        rule = (
            term_text(path_iri, built.base)
            if path_iri
            else (term_text(_text(shape), built.base) if shape is not None else "")
        )
    return Problem(
        position,
        readable(message or "does not conform", built.base),
        severity=severity,
        entity=entity,
        rule=rule,
        value=term_text(_text(value), built.base) if value is not None else "",
    )


def readable(message: str, base: str) -> str:
    """A message with any IRIs in it (engines' default messages have them) shortened."""
    return _IRI_RE.sub(lambda m: term_text(m.group(1), base), message)


def _text(term) -> str:
    """The IRI or lexical form of an rdflib term (a str), a pyoxigraph term (.value), or a plain or
    N-Triples string (`<iri>`, `"text"@en`, `"1"^^<…#integer>`), whichever engine produced it."""
    text = str(term) if isinstance(term, str) else str(getattr(term, "value", term))
    if text.startswith("<") and text.endswith(">"):
        return text[1:-1]
    if text.startswith('"') and text.rfind('"') > 0:
        return json.loads(text[: text.rfind('"') + 1])
    return text
