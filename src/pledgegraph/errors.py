"""One home for what can go wrong: located problems and the exceptions that carry them.

A `Problem` knows where it is (file, line, column), which record it concerns, the rule it breaks
and, where one is obvious, how to fix it. Stages collect problems instead of stopping at the
first, so a curator sees every mistake in one run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

ERROR = "error"
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
WARNING = "warning"


@dataclass(frozen=True, order=True, slots=True)
class Position:
    file: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        # a file name is data: a newline or terminal escape in it must not start a line of its own
        file = _CONTROL.sub(lambda m: repr(m.group())[1:-1], self.file)
        if not self.line:
            return file
        return f"{file}:{self.line}:{self.column}" if self.column else f"{file}:{self.line}"


@dataclass(frozen=True)
class Problem:
    position: Position
    message: str
    severity: str = ERROR
    entity: str = ""
    rule: str = ""
    value: str = ""
    hint: str = ""

    def sort_key(self) -> tuple:
        return (self.position, self.severity, self.entity, self.message)

    def format(self) -> str:
        entity = f" {self.entity}:" if self.entity else ""
        text = f"{self.position}: {self.severity}:{entity} {self.message}"
        shown = f"'{self.value}'" if self.value.isprintable() else repr(self.value)
        if self.value and self.value not in self.message and shown not in self.message:
            text += f" (value: {shown})"
        if self.rule:
            text += f" [{self.rule}]"
        if self.hint:
            text += f" (hint: {self.hint})"
        return text

    def as_dict(self) -> dict:
        return {
            "file": self.position.file,
            "line": self.position.line,
            "column": self.position.column,
            "severity": self.severity,
            "entity": self.entity,
            "message": self.message,
            "rule": self.rule,
            "value": self.value,
            "hint": self.hint,
        }


def sorted_unique(problems: list[Problem]) -> list[Problem]:
    """Problems in file/line order with exact repeats removed."""
    return sorted(set(problems), key=Problem.sort_key)


class PledgegraphError(Exception):
    """Base of every error the library raises on purpose; the CLI maps it to an exit code."""

    exit_code = 2


class UnusableInput(PledgegraphError):
    """Input that cannot be read at all (missing directory, not UTF-8, broken YAML...)."""

    exit_code = 2

    def __init__(self, message: str, problems: list[Problem] | None = None):
        super().__init__(message)
        self.problems = sorted_unique(problems or [])


class ReleaseRefused(PledgegraphError):
    """`publish` would replace a published version with other content, or go back to an older one."""

    exit_code = 3


class DataInvalid(PledgegraphError):
    """The data was read but breaks the format, a reference or a shape."""

    exit_code = 1

    def __init__(self, problems: list[Problem]):
        self.problems = sorted_unique(problems)
        errors = sum(p.severity == ERROR for p in self.problems)
        super().__init__(f"{errors} error(s) in the data")


@dataclass
class ProblemList:
    """Accumulates problems during a stage."""

    items: list[Problem] = field(default_factory=list)

    def add(self, position: Position, message: str, **kw) -> None:
        self.items.append(Problem(position, message, **kw))

    @property
    def has_errors(self) -> bool:
        return any(p.severity == ERROR for p in self.items)


def relative(path: Path, root: Path) -> str:
    """Paths in messages are shown relative to where the user is, when possible."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        try:
            return str(path.resolve().relative_to(root.resolve().parent))
        except ValueError:
            return str(path)


class QueryError(UnusableInput):
    """A SPARQL query that cannot be answered as asked; the server maps each subclass to a status."""


class QuerySyntaxError(QueryError):
    """The query does not parse; `line` and `column` (1-based) say where, when the parser knows."""

    def __init__(self, message: str, line: int = 0, column: int = 0):
        super().__init__(message)
        self.line, self.column = line, column


class QueryRefused(QueryError):
    """A query this read-only service will not run: an update, SERVICE, LOAD, or a foreign graph."""


class QueryTimeout(QueryError):
    """The query ran past its time limit and was stopped."""


class TooLarge(QueryError):
    """An answer beyond a cap (rows, bytes, or a worker's memory): refused, never cut short."""


class NotAcceptable(QueryError):
    """The answer (a table or a graph) has no format the client accepts."""


class Busy(PledgegraphError):
    """Every query worker is taken; the client may retry."""
