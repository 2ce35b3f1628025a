"""A piece of work run in a forked process, its value fetched later: how the build and publish use both cores.

A module of its own so `publish` can fork without importing the build's pipeline (and its stages:
0.2 s of a 10k publish's start-up)."""

from __future__ import annotations

import multiprocessing as mp
import os
from typing import Callable

from pledgegraph import system


class Forked:
    """`work()` run in a forked process, its (picklable) value fetched by `result()`.

    So both cores work: the ontology is documented while the data loads (the loader uses one core),
    and the outputs are serialized while the parent validates. The child inherits the built graph
    without copying it. Where `fork` does not exist, or `parallel` is false, `result()` runs `work`
    in this process."""

    def __init__(self, what: str, work: Callable, parallel: bool = True):
        self.what = what
        self.work: Callable | None = work
        self.process = None
        self.parent = os.getpid()
        if parallel and "fork" in mp.get_all_start_methods():
            ctx = mp.get_context("fork")
            self.receive, send = ctx.Pipe(duplex=False)
            self.process = ctx.Process(target=self._child, args=(send,), daemon=True)
            self.process.start()
            send.close()

    def _child(self, send) -> None:
        system.die_with_parent(self.parent)
        try:
            send.send(("ok", self.work()))
        except BaseException as e:  # reported to the parent, which raises it
            send.send(("error", f"{type(e).__name__}: {e}"))

    def cancel(self) -> None:
        self.work = None
        if self.process is not None:
            self.process.kill()
            self.process.join()

    def ready(self) -> bool:
        """Whether `result()` would not wait for the child: it has sent its value (or there is no child)."""
        return self.process is None or self.receive.poll()

    def result(self):
        """The work's value, asked once. The work is dropped first: a closure over its owner (publish's entity
        files, which hold the pages' index and every description) would otherwise be a reference cycle that
        only a full collection frees (~6 s at interpreter exit at 1M), not freed with its owner."""
        work, self.work = self.work, None
        if self.process is None:
            if work is None:
                raise RuntimeError(f"{self.what}: its result was already asked for")
            return work()
        try:
            status, value = self.receive.recv()
        except EOFError:
            status, value = "error", "the process died"
        self.process.join()
        if status != "ok":
            raise RuntimeError(f"{self.what} failed: {value}")
        return value
