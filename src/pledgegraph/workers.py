"""Queries that can be stopped: a pool of warm worker processes, checked, scheduled fairly, killed on timeout.

pyoxigraph holds the GIL while it evaluates and has no way to cancel a query, so a thread cannot
stop a runaway one. Each worker process loads the store once and then answers queries sent over
a pipe: it parses and checks the query itself (`store.check_query`, which can be slow on hostile
text), runs it, and serializes the answer within a size cap, all under the query's time limit;
when the limit passes the worker is killed (SIGKILL) and a fresh one is started in the background.

Fair scheduling, so cheap queries are not starved by heavy ones: the pool holds `workers` workers
for any query plus `heavy` more. A query still running after `cheap_seconds` is *heavy*: its
worker drops to the lowest CPU priority (nice 19) and counts against the heavy slots; once they
are all taken, a further query that turns heavy is stopped with Busy (503). So at least `workers`
workers are always free for, or busy with, queries that take under `cheap_seconds`. A waiting
query gets the next free worker when its client has the fewest queries running (round robin
between clients), so one client cannot queue ahead of everyone. A worker that ran a heavy query
is replaced (an unprivileged process cannot raise its priority again).

Workers are also sandboxed where the platform allows (Linux x86-64 / arm64, seccomp): they cannot
open network sockets at all nor set up io_uring, so even a query that slipped past the check could
not make Oxigraph reach another host. They run under a memory limit, so a query that builds a huge
intermediate result kills only its worker.
"""

from __future__ import annotations

import ctypes
import errno
import itertools
import multiprocessing
import os
import platform
import resource
import struct
import threading
import time
from collections import Counter, OrderedDict
from pathlib import Path

from . import errors
from .errors import Busy, QueryError, QueryTimeout

_STARTUP_SECONDS = 120
_CHECKED_CACHE = 256  # parsed-and-checked queries each worker remembers (rdflib's parser is slow)


class QueryPool:
    """`workers` + `heavy` processes, each with its own copy of the store from `dist`.

    `timeout` bounds each query (seconds); `max_rows` and `max_bytes` bound each answer;
    `memory_mb` bounds each worker's address space. `run` raises QueryTimeout, TooLarge,
    QuerySyntaxError, QueryRefused, NotAcceptable, QueryError, or Busy when no worker frees up
    within `queue_wait` seconds (by default several query time limits, so a burst of heavy
    queries delays light ones instead of failing them) or every heavy slot is taken.
    """

    def __init__(self, dist: Path, *, workers: int = 2, heavy: int | None = None, timeout: float | None = 10.0,
                 max_rows: int | None = 10_000, max_bytes: int | None = 16 * 1024 * 1024, memory_mb: int = 2048,
                 queue_wait: float | None = None, cheap_seconds: float = 0.5):
        self.dist, self.timeout, self.max_rows, self.memory_mb = Path(dist), timeout, max_rows, memory_mb
        self.max_bytes = max_bytes
        self.heavy_slots = max(1, workers) if heavy is None else heavy
        self.cheap_seconds = cheap_seconds if timeout is None else min(cheap_seconds, timeout)
        self.queue_wait = queue_wait if queue_wait is not None else max(30.0, 3 * (timeout or 10.0))
        self._context = multiprocessing.get_context("spawn")  # never fork a threaded server
        self._closed = False
        self.respawn_error: Exception | None = None
        self._cond = threading.Condition()
        self._idle: list[_Worker] = []
        self._waiting: dict[int, str] = {}  # ticket -> client, in arrival order
        self._running: Counter[str] = Counter()
        self._heavy = 0  # heavy queries running + workers being replaced after one
        self._tickets = itertools.count()
        self._all: set[_Worker] = set()
        started = [self._start() for _ in range(max(1, workers) + self.heavy_slots)]
        for worker in started:
            self._await_ready(worker)
        self.sandboxed = all(w.sandboxed for w in started)

    def run(self, text: str, formats: dict[str, str | None], client: str = "", max_bytes: int | None = None,
            **options) -> tuple[str, bytes]:
        """(form, answer) for query `text`: the answer serialized in `formats["table"]` for SELECT
        and ASK or `formats["graph"]` for CONSTRUCT and DESCRIBE (NotAcceptable when that is None).
        `client` (e.g. an IP address) is the unit of fair scheduling."""
        cap = self.max_bytes if max_bytes is None else max_bytes
        worker = self._acquire(client)
        heavy = False
        try:
            worker.conn.send((text, formats, options, cap))
            if not worker.conn.poll(self.cheap_seconds):
                heavy = self._make_heavy(worker)
                left = None if self.timeout is None else self.timeout - self.cheap_seconds
                if not worker.conn.poll(left):
                    raise QueryTimeout(f"the query ran longer than {self.timeout:g} s and was stopped")
            reply = worker.conn.recv()
        except (EOFError, OSError):  # the worker died: out of memory, or killed from outside
            self._retire(worker, heavy)
            worker = None
            raise QueryError("the query could not be completed (its worker ran out of memory or stopped)") from None
        except BaseException:
            self._retire(worker, heavy)
            worker = None
            raise
        finally:
            self._release(client, worker, heavy)
        status, *payload = reply
        if status == "ok":
            return payload[0], payload[1]
        name, message, where = payload
        error = getattr(errors, name, QueryError)(message)
        if where:
            error.line, error.column = where
        raise error

    def close(self) -> None:
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

    def _acquire(self, client: str) -> _Worker:
        """The next idle worker, once this request is the one to serve: among waiting requests,
        the one whose client has the fewest queries running, then the oldest."""
        deadline = time.monotonic() + self.queue_wait
        with self._cond:
            ticket = next(self._tickets)
            self._waiting[ticket] = client
            try:
                while True:
                    if self._closed:
                        raise Busy("the service is shutting down")
                    if self._idle and ticket == min(self._waiting, key=lambda t: (self._running[self._waiting[t]], t)):
                        self._running[client] += 1
                        return self._idle.pop()
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise Busy("every query worker is busy: try again shortly")
                    self._cond.wait(left)
            finally:
                del self._waiting[ticket]
                self._cond.notify_all()

    def _make_heavy(self, worker: _Worker) -> bool:
        """Move a query past `cheap_seconds` to a heavy slot at the lowest priority; Busy when none is free."""
        with self._cond:
            if self._heavy >= self.heavy_slots:
                raise Busy(f"{self.heavy_slots} long-running queries are already running: try again shortly "
                           f"(queries that finish within {self.cheap_seconds:g} s are always served)")
            self._heavy += 1
        try:
            os.setpriority(os.PRIO_PROCESS, worker.process.pid, 19)
        except OSError:
            pass  # it exited meanwhile: the answer (or EOF) is in the pipe
        return True

    def _release(self, client: str, worker: _Worker | None, heavy: bool) -> None:
        with self._cond:
            self._running[client] -= 1
            if not self._running[client]:
                del self._running[client]
            self._cond.notify_all()
        if worker is not None:
            if heavy:  # it runs at nice 19 now and cannot come back: replace it
                self._retire(worker, heavy)
            else:
                with self._cond:
                    self._idle.append(worker)
                    self._cond.notify_all()

    # -- worker life ----------------------------------------------------------------------------

    def _start(self) -> _Worker:
        worker = _Worker(self._context, self.dist, self.max_rows, self.memory_mb)
        with self._cond:
            self._all.add(worker)
        return worker

    def _await_ready(self, worker: _Worker) -> None:
        if not worker.conn.poll(_STARTUP_SECONDS):
            worker.stop()
            raise errors.UnusableInput(f"a query worker did not start within {_STARTUP_SECONDS} s")
        status, *payload = worker.conn.recv()
        if status != "ready":
            worker.stop()
            raise errors.UnusableInput(payload[1])
        worker.sandboxed = payload[0]
        with self._cond:
            self._idle.append(worker)
            self._cond.notify_all()

    def _retire(self, worker: _Worker, heavy: bool) -> None:
        """Kill a worker and start its successor in the background, so the caller answers now. A
        worker retired after a heavy query keeps its heavy slot until the successor is ready."""
        if worker.retired:
            return
        worker.retired = True
        worker.stop()
        with self._cond:
            self._all.discard(worker)

        def respawn():
            delay = 0.5
            try:
                while not self._closed:  # keep trying: a pool that shrinks for good ends up answering nothing
                    try:
                        self._await_ready(self._start())
                        return
                    except errors.PledgegraphError as e:
                        self.respawn_error = e
                        time.sleep(delay)
                        delay = min(delay * 2, 10.0)
            finally:
                if heavy:
                    with self._cond:
                        self._heavy -= 1
                        self._cond.notify_all()

        threading.Thread(target=respawn, name="pledgegraph-respawn", daemon=True).start()


class _Worker:
    def __init__(self, context, dist: Path, max_rows, memory_mb: int):
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_worker_main, args=(child, str(dist), max_rows, memory_mb),
                                       name="pledgegraph-query", daemon=True)
        self.process.start()
        child.close()
        self.sandboxed = False
        self.retired = False

    def stop(self) -> None:
        self.process.kill()
        self.process.join(5)
        self.conn.close()


def _worker_main(conn, dist: str, max_rows, memory_mb: int) -> None:
    from . import store  # in the child only: the parent need not import Oxigraph's query side

    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    sandboxed = forbid_network()
    try:
        loaded = store.load(Path(dist))
    except errors.PledgegraphError as e:
        conn.send(("failed", type(e).__name__, str(e)))
        return
    store.check_query("ASK {}", loaded.graph_iris)  # load the parser now, not in the first query's time
    checked: OrderedDict[str, object] = OrderedDict()
    conn.send(("ready", sandboxed))
    while True:
        try:
            text, formats, options, max_bytes = conn.recv()
        except EOFError:
            return
        try:
            conn.send(_answer(store, loaded, checked, text, formats, options, max_rows, max_bytes))
        except errors.PledgegraphError as e:
            conn.send(("error", type(e).__name__, str(e), (getattr(e, "line", 0), getattr(e, "column", 0))))
        except MemoryError:
            conn.send(("error", "TooLarge", "the query needed more memory than a query may use", None))
        except RecursionError:
            conn.send(("error", "QuerySyntaxError", "the query is nested too deeply", None))
        except Exception as e:  # whatever else the engine raises is the query's problem, not the worker's
            conn.send(("error", "QueryError", f"the query could not be evaluated: {str(e)[:500]}", None))


def _answer(store, loaded, checked: OrderedDict, text: str, formats: dict, options: dict, max_rows, max_bytes):
    """Check (remembering the verdict for recent texts), run and serialize one query."""
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
    kind = "graph" if verdict.graph_result else "table"
    fmt = formats.get(kind)
    if fmt is None:
        raise errors.NotAcceptable(f"a {verdict.form.upper()} answer is "
                                   + ("RDF" if kind == "graph" else "a table") + ": the Accept header allows no "
                                   "format for it")
    answer = store.execute(loaded, verdict, max_rows=max_rows, max_bytes=max_bytes, **options)
    return ("ok", verdict.form, answer.serialize(fmt, max_bytes))


# -- the network sandbox -----------------------------------------------------------------------

# (audit architecture, socket(2) syscall number) per machine; io_uring_setup is 425 on both
_SECCOMP_ARCH = {"x86_64": (0xC000003E, 41), "aarch64": (0xC00000B7, 198)}
_IO_URING_SETUP, _IO_URING_REGISTER = 425, 427
_X32_SYSCALL_BIT = 0x40000000
_PR_SET_NO_NEW_PRIVS, _PR_SET_SECCOMP, _SECCOMP_MODE_FILTER = 38, 22, 2
_AF_UNIX = 1


def forbid_network() -> bool:
    """Make socket(2) fail with EACCES for every family but AF_UNIX, and io_uring (which can open
    and connect sockets without socket(2)) fail with ENOSYS, in this process, for good.

    A seccomp filter: the kernel refuses the call, whatever library makes it. Returns False
    where seccomp is unavailable (other OS or machine, or a container that forbids it)."""
    arch = _SECCOMP_ARCH.get(platform.machine())
    if arch is None or platform.system() != "Linux":
        return False
    audit_arch, socket_nr = arch

    def op(code, jt, jf, k):
        return struct.pack("HBBI", code, jt, jf, k)

    load, jump_eq, jump_ge, ret = 0x20, 0x15, 0x35, 0x06  # BPF_LD|W|ABS, BPF_JMP|JEQ|K, BPF_JMP|JGE|K, BPF_RET|K
    deny_socket, deny_uring, allow = 0x00050000 | errno.EACCES, 0x00050000 | errno.ENOSYS, 0x7FFF0000
    program = b"".join([
        op(load, 0, 0, 4),                         # 0: seccomp_data.arch
        op(jump_eq, 0, 8, audit_arch),             # 1: another ABI (i386, ...): ENOSYS (10)
        op(load, 0, 0, 0),                         # 2: seccomp_data.nr
        op(jump_ge, 6, 0, _X32_SYSCALL_BIT),       # 3: an x32 call: ENOSYS (10)
        op(jump_eq, 0, 3, socket_nr),              # 4: socket(2)? else to 8
        op(load, 0, 0, 16),                        # 5: args[0]: the address family
        op(jump_eq, 4, 0, _AF_UNIX),               # 6: AF_UNIX: allow (11)
        op(ret, 0, 0, deny_socket),                # 7
        op(jump_ge, 0, 2, _IO_URING_SETUP),        # 8: below io_uring_setup: allow (11)
        op(jump_ge, 1, 0, _IO_URING_REGISTER + 1),  # 9: past io_uring_register: allow (11)
        op(ret, 0, 0, deny_uring),                 # 10: io_uring_setup / enter / register, other ABIs
        op(ret, 0, 0, allow),                      # 11
    ])

    class _Program(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    buffer = ctypes.create_string_buffer(program)
    prog = _Program(len(program) // 8, ctypes.cast(buffer, ctypes.c_void_p))
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        return False
    return libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0) == 0
