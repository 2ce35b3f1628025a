"""Queries that can be stopped: a pool of warm worker processes, checked, scheduled fairly, killed on timeout.

pyoxigraph holds the GIL while it evaluates and has no way to cancel a query, so a thread cannot
stop a runaway one. Each worker process loads the store once and then answers queries sent over
a pipe: it parses and checks the query itself (`store.check_query`, which can be slow on hostile
text), runs it, and serializes the answer within a size cap, all under the query's time limit;
when the limit passes the worker is killed (SIGKILL) and a fresh one is started in the background.

Fair scheduling, so cheap queries are not starved by heavy ones: `workers` *normal* workers
and up to `heavy` *low-priority* ones (nice 19, so a cheap query gets the CPU first). A query
still running after `cheap_seconds` is heavy: it must hold one of the `heavy` slots (none free:
stopped with Busy, 503), and a normal worker running it drops to nice 19 and is replaced by a
fresh normal one. The client and the query text are then *expected heavy* for a while: their
next queries wait for a heavy slot before they start, on a low-priority worker, instead of
taking a normal one (the cost estimate before admission). So `workers` normal workers are always
free for, or busy with, queries that take under `cheap_seconds`. Among waiting requests the next
worker goes first to clients whose recent queries were all cheap, then to the client with the
fewest queries running (round robin between clients), so one client cannot queue ahead of everyone
and a wave of unknown heavy queries does not queue ahead of known cheap clients.

Answers are kept (`_Answers`, QLever's technique): a build never changes under a running pool, so the same
query text with the same formats, options and cap gets the same bytes again, answered without a worker. An
answer is given again only while the build that answered it is still the one on disk (`zygote.stamp`, taken
before that worker loaded its store): after a rebuild in place, a worker loading the new build answers, never
the kept copy. Queries whose answer changes run to run (NOW, RAND, UUID, BNODE) are not kept, nor errors;
the kept answers are bounded in bytes, least recently used dropped first.

Workers are also sandboxed where the platform allows (Linux x86-64 / arm64, seccomp: `system.forbid_network`):
they cannot open network sockets at all nor set up io_uring, so even a query that slipped past the check could
not make Oxigraph reach another host. They run under a memory limit, so a query that builds a huge
intermediate result kills only its worker.
"""

from __future__ import annotations

import copy
import itertools
import json
import multiprocessing
import os
import threading
import time
from collections import Counter, OrderedDict
from pathlib import Path

from pledgegraph import errors, system
from pledgegraph.delivery.endpoint import zygote
from pledgegraph.errors import Busy, QueryError, QueryTimeout

_STARTUP_SECONDS = 120
_CHECKED_CACHE = 256  # parsed-and-checked queries each worker remembers (rdflib's parser is slow)
_SUSPECT_SECONDS = 60.0  # how long a client or text that ran a heavy query is expected to again
_SUSPECTS = 4096


class QueryPool:
    """`workers` normal + `heavy` low-priority processes, each with its own copy of the store from `dist`.

    `timeout` bounds each query (seconds); `max_rows` and `max_bytes` bound each answer;
    `memory_mb` bounds each worker's address space beyond the store it holds (so the cap grows with
    the data). `run` raises QueryTimeout, TooLarge,
    QuerySyntaxError, QueryRefused, NotAcceptable, QueryError, or Busy when no worker frees up
    within `queue_wait` seconds (by default several query time limits, so a burst of queries
    delays others instead of failing them) or every heavy slot is taken.
    """

    def __init__(
        self,
        dist: Path,
        *,
        workers: int = 2,
        heavy: int | None = None,
        timeout: float | None = 10.0,
        max_rows: int | None = None,
        max_bytes: int | None = 16 * 1024 * 1024,
        memory_mb: int = 2048,
        queue_wait: float | None = None,
        cheap_seconds: float = 1.0,
        queries_dir: Path | None = None,
        answers_mb: int = 64,
    ):
        self.dist, self.timeout, self.max_rows, self.memory_mb = Path(dist), timeout, max_rows, memory_mb
        self.max_bytes = max_bytes
        self.answers = _Answers(answers_mb * 1024 * 1024)
        self.normal_count = max(1, workers)
        self.heavy_slots = max(1, workers) if heavy is None else max(1, heavy)
        self.cheap_seconds = cheap_seconds if timeout is None else min(cheap_seconds, timeout)
        self.queue_wait = queue_wait if queue_wait is not None else max(30.0, 3 * (timeout or 10.0))
        # Never fork the threaded server itself: workers fork from a fork server, a fresh process
        # that has already imported Oxigraph and rdflib's SPARQL grammar (1 s of the 1.3 s a
        # worker took to start) and loaded the store (`zygote`: once, not once per worker), so a
        # killed worker is replaced in a fraction of a second. The server process has one fork
        # server: when it was started for another build, each worker loads its own store.
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload(
            [
                "pledgegraph.delivery.endpoint.store",
                "rdflib.plugins.sparql.parser",
                "rdflib.plugins.sparql.algebra",
                "pledgegraph.delivery.endpoint.zygote",
            ]
        )
        zygote.start_fork_server(self.dist, queries_dir)
        self._closed = False
        self.respawn_error: Exception | None = None
        self._cond = threading.Condition()
        self._idle: dict[bool, list[_Worker]] = {False: [], True: []}  # low priority? -> idle workers
        self._waiting: dict[int, tuple[str, bool]] = {}  # ticket -> (client, expected heavy), in arrival order
        self._running: Counter[str] = Counter()
        self._heavy = 0  # queries holding a heavy slot
        self._strangers = 0  # normal workers held by clients not known to be cheap
        self._suspects: OrderedDict[str, float] = OrderedDict()  # client or query text -> when it last ran heavy
        self._cheap_clients: OrderedDict[str, float] = OrderedDict()  # client -> when a cheap query of it ended
        self._tickets = itertools.count()
        self._answering: dict[str, _Answering] = {}  # key -> the request whose worker is answering it now
        self._all: set[_Worker] = set()
        started = [self._start(low=False) for _ in range(self.normal_count)]
        started += [self._start(low=True) for _ in range(self.heavy_slots)]
        for worker in started:
            self._await_ready(worker)
        self.sandboxed = all(w.sandboxed for w in started)
        self.base = started[0].base  # the base IRI of the build the workers hold

    def run(
        self, text: str, formats: dict[str, str | None], client: str = "", max_bytes: int | None = None, **options
    ) -> tuple[str, bytes]:
        """(form, answer) for query `text`: the answer serialized in `formats["table"]` for SELECT
        and ASK or `formats["graph"]` for CONSTRUCT and DESCRIBE (NotAcceptable when that is None).
        `client` (e.g. an IP address) is the unit of fair scheduling."""
        cap = self.max_bytes if max_bytes is None else max_bytes
        key = json.dumps([text, formats, options, cap], sort_keys=True)
        kept = self.answers.get(key, self.dist)
        if kept is not None:
            return kept
        # The same query asked again while a worker answers it (a burst of one heavy query) waits for that
        # answer, kept as it comes, instead of taking a worker of its own or being turned away (Busy).
        with self._cond:
            answering = self._answering.get(key)
            first = answering is None
            if first:
                answering = self._answering[key] = _Answering()
        if not first:
            answering.done.wait(self.timeout)
            if answering.answer is not None:  # handed over even when too large to keep
                return answering.answer
            if answering.error is not None:  # it failed (timed out, too large...): so would this one
                raise copy.copy(answering.error)
            # NOW, RAND... (each run its own answer), or still running: answered on its own below
        try:
            form, data, repeatable = self._answer_with_worker(key, text, formats, client, cap, options)
            if first and repeatable:
                answering.answer = (form, data)
            return form, data
        except Exception as e:
            if first:
                answering.error = e
            raise
        finally:
            if first:
                with self._cond:
                    del self._answering[key]
                answering.done.set()

    def _answer_with_worker(
        self, key: str, text: str, formats: dict[str, str | None], client: str, cap: int | None, options: dict
    ) -> tuple[str, bytes, bool]:
        """The answer to `text` from a worker, kept when it can be, and whether running it again gives the same."""
        expected_heavy = self._suspected(client, text)
        worker, stranger = self._acquire(client, expected_heavy)
        heavy = expected_heavy
        try:
            worker.conn.send((text, formats, options, cap))
            answered = not heavy and worker.conn.poll(self.cheap_seconds)
            if not heavy and not answered:
                self._suspect(client, text)
                self._make_heavy(worker, stranger)
                heavy, stranger = True, False
            waited = 0 if expected_heavy else self.cheap_seconds
            if not answered and not worker.conn.poll(None if self.timeout is None else self.timeout - waited):
                raise QueryTimeout(f"the query ran longer than {self.timeout:g} s and was stopped")
            reply = worker.conn.recv()
            if not heavy:
                self._vouch(client)
        except (EOFError, OSError):  # the worker died: out of memory, or killed from outside
            self._retire(worker)
            worker = None
            raise QueryError("the query could not be completed (its worker ran out of memory or stopped)") from None
        except BaseException:
            self._retire(worker)
            worker = None
            raise
        finally:
            self._release(client, worker, heavy, stranger)
        status, *payload = reply
        if status == "ok":
            form, data, built = payload
            if built is not None:
                self.answers.put(key, built, form, data)
            return form, data, built is not None
        name, message, where = payload
        error = getattr(errors, name, QueryError)(message)
        if where:
            error.line, error.column = where
        raise error

    def close(self) -> None:
        if self._closed:  # the server closes the pool as its loop ends, and again when it is closed
            return
        self._closed = True
        with self._cond:
            workers = list(self._all)
            self._cond.notify_all()
        for worker in workers:
            worker.stop()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- scheduling ---------------------------------------------------------------------------

    def _suspected(self, client: str, text: str) -> bool:
        """Whether this client or this text ran a heavy query within the last minute."""
        now = time.monotonic()
        with self._cond:
            while self._suspects and next(iter(self._suspects.values())) < now - _SUSPECT_SECONDS:
                self._suspects.popitem(last=False)
            return client in self._suspects or "\0" + text in self._suspects

    def _suspect(self, client: str, text: str) -> None:
        with self._cond:
            self._cheap_clients.pop(client, None)
            for key in (client, "\0" + text):
                self._suspects.pop(key, None)
                self._suspects[key] = time.monotonic()
            while len(self._suspects) > _SUSPECTS:
                self._suspects.popitem(last=False)

    def _vouch(self, client: str) -> None:
        """Remember a client whose query finished within `cheap_seconds` (for `_SUSPECT_SECONDS`)."""
        now = time.monotonic()
        with self._cond:
            if client in self._suspects:
                return
            self._cheap_clients.pop(client, None)
            self._cheap_clients[client] = now
            while self._cheap_clients and (
                len(self._cheap_clients) > _SUSPECTS
                or next(iter(self._cheap_clients.values())) < now - _SUSPECT_SECONDS
            ):
                self._cheap_clients.popitem(last=False)

    def _ready_for(self, heavy: bool, client: str) -> bool:
        """Heavy queries run only on low-priority workers, so the normal ones stay free for cheap
        queries; the others only on normal ones, so their time says what they cost. Clients not
        known to be cheap hold at most all normal workers but one: that one is for known clients,
        whom a wave of new clients' heavy queries (each costing a worker restart) cannot delay."""
        if heavy:
            return self._heavy < self.heavy_slots and bool(self._idle[True])
        if client in self._cheap_clients:
            return bool(self._idle[False])
        return bool(self._idle[False]) and self._strangers < max(1, self.normal_count - 1)

    def _acquire(self, client: str, heavy: bool) -> tuple[_Worker, bool]:
        """An idle worker (and a heavy slot, for a query expected to be heavy), once this request
        is the one to serve: among waiting requests that could start, the one whose client has
        the fewest queries running, then the oldest. Also whether it counts as a stranger's."""
        deadline = time.monotonic() + self.queue_wait
        with self._cond:
            ticket = next(self._tickets)
            self._waiting[ticket] = (client, heavy)
            try:
                while True:
                    if self._closed:
                        raise Busy("the service is shutting down")
                    ready = [t for t, (c, h) in self._waiting.items() if self._ready_for(h, c)]
                    if ticket in ready and ticket == min(ready, key=self._turn):
                        self._running[client] += 1
                        if heavy:
                            self._heavy += 1
                            return self._idle[True].pop(), False
                        stranger = client not in self._cheap_clients
                        self._strangers += stranger
                        return self._idle[False].pop(), stranger
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise Busy("every query worker is busy: try again shortly")
                    self._cond.wait(left)
            finally:
                del self._waiting[ticket]
                self._cond.notify_all()

    def _turn(self, ticket: int) -> tuple:
        """Serving order: clients whose recent queries were all cheap, then the one with the fewest
        queries running, then the oldest request."""
        client = self._waiting[ticket][0]
        return (client not in self._cheap_clients, self._running[client], ticket)

    def _make_heavy(self, worker: _Worker, stranger: bool) -> None:
        """Give a query past `cheap_seconds` a heavy slot and the lowest priority, so it leaves the
        normal workers (and a stranger's share of them); Busy when no slot is free."""
        with self._cond:
            if self._heavy >= self.heavy_slots:
                raise Busy(
                    f"{self.heavy_slots} long-running queries are already running: try again shortly "
                    f"(queries that finish within {self.cheap_seconds:g} s are always served)"
                )
            self._heavy += 1
            self._strangers -= stranger
            self._cond.notify_all()
            if not worker.low:
                self._lower(worker)

    def _lower(self, worker: _Worker) -> None:
        """Drop a normal worker to nice 19 for good, and start a normal one in its place (lock held)."""
        try:
            os.setpriority(os.PRIO_PROCESS, worker.process.pid, 19)
        except OSError:
            pass  # it exited meanwhile: the pipe will say so
        worker.low = True
        self._respawn(low=False)

    def _release(self, client: str, worker: _Worker | None, heavy: bool, stranger: bool) -> None:
        with self._cond:
            self._strangers -= stranger
            self._running[client] -= 1
            if not self._running[client]:
                del self._running[client]
            if heavy:
                self._heavy -= 1
            if worker is not None:
                if worker.low and sum(w.low for w in self._all) > self.heavy_slots:
                    self._all.discard(worker)  # one low-priority worker too many, after a demotion
                    threading.Thread(target=worker.stop, daemon=True).start()
                else:
                    self._idle[worker.low].append(worker)
            self._cond.notify_all()

    # -- worker life ----------------------------------------------------------------------------

    def _start(self, low: bool) -> _Worker:
        worker = _Worker(self._context, self.dist, self.max_rows, self.memory_mb, low)
        with self._cond:
            self._all.add(worker)
        return worker

    def _await_ready(self, worker: _Worker) -> None:
        if not worker.conn.poll(_STARTUP_SECONDS):
            worker.stop()
            raise errors.UnusableInput(f"a query worker did not start within {_STARTUP_SECONDS} s")
        try:
            status, *payload = worker.conn.recv()
        except (EOFError, OSError):
            worker.stop()
            raise errors.UnusableInput("a query worker stopped while starting") from None
        if status != "ready":
            worker.stop()
            raise errors.UnusableInput(payload[1])
        worker.sandboxed, worker.base = payload[0], payload[1]
        with self._cond:
            self._idle[worker.low].append(worker)
            self._cond.notify_all()

    def _retire(self, worker: _Worker) -> None:
        """Kill a worker and start its successor (of the same priority) in the background."""
        worker.stop()
        with self._cond:
            self._all.discard(worker)
            low_left = sum(w.low for w in self._all)
        if not worker.low or low_left < self.heavy_slots:
            self._respawn(low=worker.low)

    def _respawn(self, low: bool) -> None:
        def respawn():
            delay = 0.5
            while not self._closed:  # keep trying: a pool that shrinks for good ends up answering nothing
                try:
                    self._await_ready(self._start(low))
                    return
                except errors.PledgegraphError as e:
                    self.respawn_error = e
                    time.sleep(delay)
                    delay = min(delay * 2, 10.0)

        threading.Thread(target=respawn, name="pledgegraph-respawn", daemon=True).start()


class _Answering:
    """A query a worker is answering now, for the same query asked meanwhile: done when it ends, with its answer
    or its error."""

    def __init__(self):
        self.done = threading.Event()
        self.answer: tuple[str, bytes] | None = None  # when repeatable: the same for every request
        self.error: BaseException | None = None


class _Answers:
    """Answers by request (`key`), each with the `zygote.stamp` of the build that answered it, at most
    `max_bytes` in all (least recently used dropped first; an answer over a quarter of it is not kept)."""

    def __init__(self, max_bytes: int):
        self.max_bytes, self.size = max_bytes, 0
        self._kept: OrderedDict[str, tuple[tuple, str, bytes]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str, dist: Path) -> tuple[str, bytes] | None:
        """(form, answer) kept for `key`, if the build that answered it is the one in `dist` now."""
        with self._lock:
            kept = self._kept.get(key)
            if kept is None:
                return None
            self._kept.move_to_end(key)
        try:
            current = zygote.stamp(dist)
        except OSError:
            current = None
        return (kept[1], kept[2]) if kept[0] == current else None

    def put(self, key: str, built: tuple, form: str, data: bytes) -> None:
        if len(data) > self.max_bytes // 4:
            return
        with self._lock:
            old = self._kept.pop(key, None)
            if old is not None:
                self.size -= len(old[2])
            self._kept[key] = (built, form, data)
            self.size += len(data)
            while self.size > self.max_bytes:
                self.size -= len(self._kept.popitem(last=False)[1][2])


class _Worker:
    def __init__(self, context, dist: Path, max_rows, memory_mb: int, low: bool):
        self.conn, child = context.Pipe()
        self.process = context.Process(
            target=_worker_main,
            args=(child, str(dist), max_rows, memory_mb, low),
            name="pledgegraph-query",
            daemon=True,
        )
        self.process.start()
        child.close()
        self.sandboxed = False
        self.base = ""
        self.low = low
        self._stopping = threading.Lock()
        self._stopped = False

    def stop(self) -> None:
        """Kill the worker and close its pipe, once: two threads may stop the same worker (a retirement, and
        its start-up wait seeing it die), and a second close of the pipe's descriptor could close another
        worker's pipe that took the same number meanwhile (seen as EBADF when that one was stopped)."""
        with self._stopping:
            if self._stopped:
                return
            self._stopped = True
            self.process.kill()
            self.process.join(5)
            self.conn.close()


def _worker_main(conn, dist: str, max_rows, memory_mb: int, low: bool) -> None:
    if low:
        os.nice(19)  # before loading: a low-priority worker starts without slowing cheap queries
    from pledgegraph.delivery.endpoint import (
        store,  # in the child only: the parent need not import Oxigraph's query side
    )

    sandboxed = system.forbid_network()
    try:
        loaded, library, built = zygote.loaded_for(Path(dist))
    except errors.PledgegraphError as e:
        conn.send(("failed", type(e).__name__, str(e)))
        return
    # `memory_mb` for the queries, beyond the store the worker holds (shared with the fork server until written)
    system.limit_memory(system.address_space_mb() + memory_mb, for_good=True)
    store.check_query("ASK {}", loaded.graph_iris, full=True)  # load the parser now, not in the first query's time
    checked: OrderedDict[str, object] = OrderedDict(library)  # the library's texts, checked by the fork server
    conn.send(("ready", sandboxed, loaded.base))
    while True:
        try:
            text, formats, options, max_bytes = conn.recv()
        except EOFError:
            return
        try:
            conn.send(_answer(store, loaded, built, checked, text, formats, options, max_rows, max_bytes, sandboxed))
        except errors.PledgegraphError as e:
            conn.send(("error", type(e).__name__, str(e), (getattr(e, "line", 0), getattr(e, "column", 0))))
        except MemoryError:
            conn.send(("error", "TooLarge", "the query needed more memory than a query may use", None))
        except RecursionError:
            conn.send(("error", "QuerySyntaxError", "the query is nested too deeply", None))
        except Exception as e:  # whatever else the engine raises is the query's problem, not the worker's
            conn.send(("error", "QueryError", f"the query could not be evaluated: {str(e)[:500]}", None))


def _answer(
    store,
    loaded,
    built,
    checked: OrderedDict,
    text: str,
    formats: dict,
    options: dict,
    max_rows,
    max_bytes,
    sandboxed: bool,
):
    """Check (remembering the verdict for recent texts), run and serialize one query; with the answer, the
    `zygote.stamp` of the build it came from when the same query would answer the same again, else None.
    Without the sandbox (no second line) a checked text that still spells "service" anywhere is refused too."""
    verdict = checked.pop(text, None)
    if verdict is None:
        try:
            verdict = store.check_query(text, loaded.graph_iris)
        except errors.QueryError as e:
            verdict = e
    checked[text] = verdict
    if len(checked) > _CHECKED_CACHE:
        checked.popitem(last=False)
    if isinstance(verdict, Exception):
        raise verdict
    if not sandboxed and "service" in verdict.text.lower():
        raise errors.QueryRefused(
            'the word "service" may appear only where this platform can block network access '
            'for queries; rephrase it (e.g. REGEX(?x, "servic[e]", "i"))'
        )
    kind = "graph" if verdict.graph_result else "table"
    fmt = formats.get(kind)
    if fmt is None:
        raise errors.NotAcceptable(
            f"a {verdict.form.upper()} answer is "
            + ("RDF" if kind == "graph" else "a table")
            + ": the Accept header allows no "
            "format for it"
        )
    data = store.answer_bytes(loaded, verdict, fmt, max_rows=max_rows, max_bytes=max_bytes, **options)
    return ("ok", verdict.form, data, built if verdict.repeatable else None)
