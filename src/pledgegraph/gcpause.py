"""Pausing Python's cyclic garbage collector around the stages that allocate millions of objects.

Loading, building, inferring and writing make strings, tuples and sets by the million and no
reference cycles, yet each allocation burst triggers collections that rescan everything alive:
at a million triples that was a third of the inference time. Used as a decorator or a `with`
block; nesting is fine, and the collector is left as it was found.

`frozen_gc` goes further for a whole build: what `freeze_alive` finds alive (the records, the
graph's node maps: ~14 million objects at ~10m, a full collection of them ~6 s of CPU at least)
is left out of every later collection, in this process and in the processes it forks (a child
that scanned them would also write to every page it shares with its parent).
"""

from __future__ import annotations

import contextlib
import gc


class paused_gc(contextlib.ContextDecorator):
    def __enter__(self):
        self.was_enabled = gc.isenabled()
        gc.disable()
        return self

    def __exit__(self, *exc):
        if self.was_enabled:
            gc.enable()
        return False


def freeze_alive() -> None:
    """Leave every object alive now out of later collections (`gc.freeze`), until `frozen_gc` ends."""
    gc.freeze()


class frozen_gc(contextlib.ContextDecorator):
    """Objects frozen inside it by `freeze_alive` are collectable again after it (`gc.unfreeze`),
    so a process that builds many times (the tests, the Python API) frees them."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        gc.unfreeze()
        return False
