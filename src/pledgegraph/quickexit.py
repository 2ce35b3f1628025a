"""Ending a command's process without freeing its objects one by one (as C's `quick_exit`).

A command that built millions of triples, terms and index entries spends seconds freeing them as its
functions return, after its work is done: 2.5 s of a 1M `publish`, once the release was complete. The
`pledgegraph` program marks its process (`ends_process`), a command hands what it holds to
`leave_for_exit` and calls `exit_now` when done, and the system takes the memory back at once. In the
Python API and the tests nothing is marked: objects are freed as usual and `exit_now` returns.
"""

from __future__ import annotations

import os
import sys

_left: list | None = None  # what a command's process ends with, never freed


def ends_process() -> None:
    """Mark this process as one run of a `pledgegraph` command: from now on `leave_for_exit` keeps what it
    is given, and `exit_now` ends the process."""
    global _left
    _left = []


def leave_for_exit(*objects) -> None:
    """Keep `objects` until the process ends (nothing is kept in a process `ends_process` did not mark)."""
    if _left is not None:
        _left.append(objects)


def exit_now(code: int = 0) -> None:
    """End a marked process now with `code`, stdout and stderr flushed, freeing nothing; else return."""
    if _left is None:
        return
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
