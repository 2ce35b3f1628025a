"""Strict YAML reading with positions: the only place that touches the YAML parser.

We read the event stream of libyaml's C parser (never its constructor) and build plain Python
values ourselves, so that:
- nothing is typed implicitly: YAML 1.1's `no`, `012` or `2015-06-23` stay text until the format
  (schema.py) says what a field holds; a plain scalar is marked `Plain` so the loader can tell
  `count: 12` from `count: "12"`;
- aliases, anchors, merge keys, tags, duplicate keys and multiple documents are errors, so an alias
  bomb is refused before it expands;
- every mapping and sequence remembers the line and column of each key and item.
"""

from __future__ import annotations

from typing import Any

import yaml

try:  # libyaml is ~7x faster; PyYAML wheels ship it, but fall back rather than fail.
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover
    from yaml import SafeLoader as _Loader

MAX_DEPTH = 24
MAX_SCALAR = 100_000
NULLS = {"", "~", "null", "Null", "NULL"}


class YamlError(ValueError):
    def __init__(self, message: str, line: int, column: int, hint: str = ""):
        super().__init__(message)
        self.line, self.column, self.hint = line, column, hint


# libyaml's words -> what usually causes them
_SYNTAX_HINTS = (
    ("mapping values are not allowed", "quote a value that contains ': ' (e.g. title: \"Aim: Caliphate\")"),
    ("while scanning a quoted scalar", "a quoted value is not closed"),
    ("while parsing a flow", "a '[' or '{' is not closed, or an item in it is missing"),
    ("did not find expected key", "check the indentation: the keys of one mapping line up"),
    ("did not find expected '-' indicator", "check the indentation: the items of one list line up"),
)


def _syntax_error(e: yaml.MarkedYAMLError, text: str, last_scalar: yaml.ScalarEvent | None = None) -> YamlError:
    mark = e.problem_mark or e.context_mark
    quoted = last_scalar if last_scalar is not None and last_scalar.style in ("'", '"') else None
    if quoted and mark and quoted.start_mark.line < quoted.end_mark.line == mark.line:
        # a quote left open ran on to the next quote character lines below, and the error is found there:
        # point at where it opens (`key: "` then `quote: "…"` three lines down)
        start = quoted.start_mark
        return YamlError(
            f"YAML syntax: a quoted value opened on line {start.line + 1} runs on to line {mark.line + 1}, "
            f"where {e.problem or e.context}",
            start.line + 1,
            start.column + 1,
            "close the quote on the line it opens (or quote the whole value)",
        )
    if e.context_mark and e.context and "quoted scalar" in e.context:
        mark = e.context_mark  # an unclosed quote is found at the end of the file: point at where it opens
    line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    if mark and text[mark.index : mark.index + 1] == "\t":
        return YamlError("a tab character: YAML indentation must use spaces", line, col, "replace the tab with spaces")
    message = f"YAML syntax: {e.problem or e.context}"
    if e.problem and e.context:
        start = e.context_mark.line + 1 if e.context_mark else line
        message += f" ({e.context}" + (f" that starts at line {start})" if start != line else ")")
    hint = next((h for words, h in _SYNTAX_HINTS if words in message), "")
    return YamlError(message, line, col, hint)


class Plain(str):
    """A scalar written without quotes (so it may be a number or boolean, if the field says so)."""

    __slots__ = ()


class MDict(dict):
    """A mapping that knows where it and each of its keys and values start."""

    __slots__ = ("line", "column", "key_pos", "value_pos")
    line: int
    column: int
    key_pos: dict[str, tuple[int, int]]
    value_pos: dict[str, tuple[int, int]]


class MList(list):
    """A sequence that knows where it and each item start."""

    __slots__ = ("line", "column", "item_pos")
    line: int
    column: int
    item_pos: list[tuple[int, int]]


def _pos(event) -> tuple[int, int]:
    m = event.start_mark
    return m.line + 1, m.column + 1


def decode(data: bytes) -> str:
    """UTF-8 only; a BOM or another encoding is named, with the line of the first bad byte."""
    if data.startswith(b"\xef\xbb\xbf"):
        raise YamlError("file starts with a UTF-8 byte-order mark; save it as UTF-8 without BOM", 1, 1)
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise YamlError("file is UTF-16; save it as UTF-8", 1, 1)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        col = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        raise YamlError(f"byte 0x{data[e.start]:02x} is not UTF-8; save the file as UTF-8", line, col) from None
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise YamlError("file contains a NUL character", line, 1)
    return text


# Line breaks to YAML 1.1 (and libyaml) that editors show inside a line: libyaml would count lines
# differently from the curator's editor (every later position off) and fold them out of the value.
_HIDDEN_BREAKS = {"\x85": "NEXT LINE", "\u2028": "LINE SEPARATOR", "\u2029": "PARAGRAPH SEPARATOR"}


def _refuse_hidden_breaks(text: str) -> None:
    found = [text.index(c) for c in _HIDDEN_BREAKS if c in text]
    if found:
        at = min(found)
        char = text[at]
        raise YamlError(
            f"character U+{ord(char):04X} ({_HIDDEN_BREAKS[char]}) is a line break to YAML but not to editors, "
            "and YAML would fold it out of the value",
            text.count("\n", 0, at) + 1,
            at - (text.rfind("\n", 0, at) + 1) + 1,
            f"remove it, or write it as \\u{ord(char):04X} inside a double-quoted value",
        )


def read(text: str) -> Any:
    """Parse one YAML document into MDict/MList/str/Plain/None values."""
    _refuse_hidden_breaks(text)
    stack: list = []
    keys: list = []
    root: Any = None
    docs = 0
    last_scalar = None  # where the last value was: a syntax error just after a runaway quote is its doing
    try:
        for event in yaml.parse(text, Loader=_Loader):
            kind = type(event)
            if kind is yaml.ScalarEvent:
                last_scalar = event
            if kind is yaml.ScalarEvent or kind is yaml.MappingStartEvent or kind is yaml.SequenceStartEvent:
                if event.anchor is not None:
                    raise YamlError(
                        f"anchor '&{event.anchor}' is not allowed: write the value out in full", *_pos(event)
                    )
                if event.tag is not None and not (kind is yaml.ScalarEvent and event.tag == "!"):
                    raise YamlError(f"tag '{event.tag}' is not allowed: this format has no YAML tags", *_pos(event))
                if kind is yaml.ScalarEvent:
                    if len(event.value) > MAX_SCALAR:
                        raise YamlError(
                            f"value of {len(event.value)} characters is longer than the {MAX_SCALAR} allowed",
                            *_pos(event),
                        )
                    if event.style is None or event.style == "":
                        value = None if event.value in NULLS else Plain(event.value)
                    else:
                        value = event.value
                    _attach(stack, keys, value, event)
                    if not stack:
                        root = value
                    continue
                if len(stack) >= MAX_DEPTH:
                    raise YamlError(f"nesting deeper than {MAX_DEPTH} levels", *_pos(event))
                container: MDict | MList
                if kind is yaml.MappingStartEvent:
                    container = MDict()
                    container.key_pos, container.value_pos = {}, {}
                else:
                    container = MList()
                    container.item_pos = []
                container.line, container.column = _pos(event)
                _attach(stack, keys, container, event)
                if not stack:
                    root = container
                stack.append(container)
                keys.append(_NO_KEY)
            elif kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
                stack.pop()
                keys.pop()
            elif kind is yaml.AliasEvent:
                raise YamlError(f"alias '*{event.anchor}' is not allowed: write the value out in full", *_pos(event))
            elif kind is yaml.DocumentStartEvent:
                docs += 1
                if docs > 1:
                    raise YamlError("more than one YAML document ('---') in a file", *_pos(event))
    except yaml.MarkedYAMLError as e:
        raise _syntax_error(e, text, last_scalar) from None
    except yaml.reader.ReaderError as e:  # a character YAML does not allow, anywhere in the file
        at = e.position if isinstance(e.position, int) else 0
        line = text.count("\n", 0, at) + 1
        raise YamlError(
            f"character U+{e.character:04X} is not allowed in YAML (a control character); remove it",
            line,
            at - (text.rfind("\n", 0, at) + 1) + 1,
        ) from None
    except yaml.YAMLError as e:
        raise YamlError(f"YAML syntax: {e}", 1, 1) from None
    return root


_NO_KEY = object()


def _attach(stack: list, keys: list, value, event) -> None:
    if not stack:
        return
    parent = stack[-1]
    line, col = _pos(event)
    if type(parent) is MList:
        parent.append(value)
        parent.item_pos.append((line, col))
        return
    key = keys[-1]
    if key is _NO_KEY:
        if not isinstance(value, str):
            raise YamlError(
                "mapping keys must be plain words, not " + ("empty" if value is None else "mappings or lists"),
                line,
                col,
            )
        if value == "<<":
            raise YamlError("merge key '<<' is not allowed: write the fields out in full", line, col)
        if value in parent:
            first = parent.key_pos[value][0]
            raise YamlError(f"duplicate key '{value}' (first at line {first}): each key may appear once", line, col)
        keys[-1] = str(value)
        parent.key_pos[str(value)] = (line, col)
        return
    parent[key] = value
    parent.value_pos[key] = (line, col)
    keys[-1] = _NO_KEY
