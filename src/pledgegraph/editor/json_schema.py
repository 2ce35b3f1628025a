"""The JSON Schema of the data files, generated from `schema.py` (never edited by hand).

YAML editors (VS Code's YAML extension, any yaml-language-server client, JetBrains IDEs) read it
through the first line of each data file, `# yaml-language-server: $schema=pledgegraph.schema.json`,
and then complete field names, list the concepts of each vocabulary and flag mistakes while the
curator types. It is an aid, not the authority: the loader is stricter (it knows which ids exist
and refuses what YAML 1.1 would silently retype), and the schema is looser where an editor reading
YAML 1.2 types a value differently from us (`founded: 2007` is a number to the editor, a year to us).
"""

from __future__ import annotations

import json

from pledgegraph.model import schema
from pledgegraph.model.dates import DATE_PATTERN, EDTF_FORMS, EDTF_PATTERN, PARTS
from pledgegraph.model.records import Vocabulary
from pledgegraph.model.schema import Field
from pledgegraph.stages.load import FILENAME_RE, ID_MAX, LANG_RE

DRAFT = "http://json-schema.org/draft-07/schema#"
FILE_NAME = "pledgegraph.schema.json"


def _ref(name: str) -> dict:
    return {"$ref": f"#/definitions/{name}"}


def data_schema(vocabulary: Vocabulary) -> dict:
    """The schema of one data file: a mapping of record kinds to lists of records."""
    defs: dict = {
        "id": {
            "type": "string",
            "pattern": schema.ID_PATTERN,
            "maxLength": ID_MAX,
            "description": "An id: lowercase ASCII letters, digits and single hyphens.",
        },
        "text": {
            "type": ["string", "number", "boolean"],
            "description": "Text (a plain scalar is read as text in a text field).",
        },
        "date-point": {
            "anyOf": [
                {"type": "string", "pattern": DATE_PATTERN},
                {"type": "integer", "minimum": 1000, "maximum": 9999},
            ],
            "description": "YYYY, YYYY-MM or YYYY-MM-DD, at the precision the source gives.",
        },
        "edtf": {"type": "string", "pattern": EDTF_PATTERN, "description": "EDTF (ISO 8601-2): " + EDTF_FORMS},
        "date": {
            "anyOf": [
                _ref("date-point"),
                _ref("edtf"),
                {
                    "type": "object",
                    "properties": {
                        **{k: _ref("date-point") for k in ("on", "by", "after", "from", "to", "in")},
                        "part": {"enum": list(PARTS)},
                        "approximate": {"type": "boolean"},
                        "forecast": {"type": "boolean"},
                        "as_stated": {**_ref("text")},
                        "edtf": _ref("edtf"),
                    },
                    "additionalProperties": False,
                    "anyOf": [
                        {"required": ["on"]},
                        {"required": ["by"]},
                        {"required": ["after"]},
                        {"required": ["from", "to"]},
                        {"required": ["in", "part"]},
                        {"required": ["edtf"]},
                    ],
                },
            ],
            "description": 'A date: "2015-06-23", or {by: ...}, {after: ...}, {from: ..., to: ...}, '
            "{in: ..., part: early|mid|late}, {on: ..., approximate: true}, or EDTF; "
            "any may add as_stated, and forecast: true for a date still to come.",
        },
        "citations": {
            "anyOf": [_ref("id"), {"type": "array", "minItems": 1, "items": {"anyOf": [_ref("id"), _ref("citation")]}}],
            "description": 'Source ids, or citations {source: id, quote: "..."}.',
        },
    }
    for struct in schema.STRUCTS.values():
        defs[struct.name] = _object(struct.doc, struct.fields, vocabulary)
    for kind in schema.KINDS.values():
        defs[kind.name] = _object(kind.doc, kind.fields, vocabulary, with_id=kind.name not in schema.SINGLETON_KINDS)
    properties = {}
    for kind in schema.KINDS.values():
        if kind.name in schema.SINGLETON_KINDS:
            properties[kind.key] = {"description": kind.doc, **_ref(kind.name)}
        else:
            properties[kind.key] = {"description": kind.doc, "type": "array", "items": _ref(kind.name)}
    return {
        "$schema": DRAFT,
        "title": "pledgegraph data file",
        "description": "Generated from src/pledgegraph/model/schema.py by `pledgegraph schema`; do not edit.",
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
        "definitions": defs,
    }


def _object(doc: str, fields: tuple[Field, ...], vocabulary: Vocabulary, with_id: bool = False) -> dict:
    properties = {"id": {"description": "Stable id; the IRI ends with it.", **_ref("id")}} if with_id else {}
    for f in fields:
        properties[f.name] = _field(f, vocabulary)
    required = (["id"] if with_id else []) + [f.name for f in fields if f.required]
    out = {"type": "object", "description": doc, "properties": properties, "additionalProperties": False}
    if required:
        out["required"] = required
    return out


def _field(f: Field, vocabulary: Vocabulary) -> dict:
    one = _value(f, vocabulary)
    if f.claimed:
        with_sources = {
            "type": "object",
            "properties": {"value": one, "sources": _ref("citations"), "rank": {"enum": list(schema.RANKS)}},
            "required": ["value"],
            "additionalProperties": False,
        }
        either = {"anyOf": [one, with_sources]}
        out: dict = {"anyOf": [either, {"type": "array", "minItems": 1, "items": either}]}
    elif f.many and f.type != "citations":
        out = {"type": "array", "items": one}
    else:
        out = one
    return {"description": f.doc, **out} if "$ref" not in out else {"description": f.doc, "allOf": [out]}


def _value(f: Field, vocabulary: Vocabulary) -> dict:
    t = f.base_type
    if t == "string":
        return {**_ref("text")} if not f.max_length else {"allOf": [_ref("text")], "maxLength": f.max_length}
    if t == "int":
        return {"type": "integer", "minimum": 0}
    if t == "bool":
        return {"type": "boolean"}
    if t == "url":
        return {"type": "string", "pattern": "^https?://"}
    if t == "filename":
        return {"type": "string", "pattern": FILENAME_RE.pattern}
    if t == "lang":
        return {"type": "string", "pattern": LANG_RE.pattern}
    if t == "date":
        return _ref("date")
    if t == "ref":
        return _ref("id")
    if t == "concept":
        return {"enum": sorted(vocabulary.concepts.get(f.target, ()))}
    if t == "struct":
        return _ref(f.target)
    if t == "citations":
        return _ref("citations")
    raise AssertionError(f"no JSON Schema for field type {f.type}")


def render(document: dict) -> bytes:
    """Stable bytes: the same format always gives the same file."""
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode()
