"""Queries that can be stopped: a pool of warm worker processes, killed and replaced on timeout.

pyoxigraph holds the GIL while it evaluates and has no way to cancel a query, so a thread cannot
stop a runaway one. Each worker process loads the store once and then answers queries sent over
a pipe; when one takes longer than the limit the worker is killed (SIGKILL) and a fresh one is
started in the background, so the common path costs one pipe round trip.

Workers are also sandboxed where the platform allows (Linux x86-64 / arm64, seccomp): they cannot
open network sockets at all, so even a query that slipped past `store.check_query` could not make
Oxigraph reach another host. They run under a memory limit, so a query that builds a huge
intermediate result kills only its worker.
"""

from __future__ import annotations

import ctypes
import errno
import multiprocessing
import platform
import queue
import resource
import struct
import threading
import time
from pathlib import Path

from . import errors
from .errors import Busy, QueryError, QueryRefused, QueryTimeout

_STARTUP_SECONDS = 120


class QueryPool:
    """`workers` processes, each with its own copy of the store from `dist`.

    `timeout` bounds each query (seconds); `max_rows` bounds each answer; `memory_mb` bounds each
    worker's address space. `run` raises QueryTimeout, TooLarge, QuerySyntaxError, QueryRefused,
    or Busy when no worker frees up within `queue_wait` seconds (by default several query time
    limits, so a burst of heavy queries delays light ones instead of failing them).
    """

    def __init__(self, dist: Path, *, workers: int = 2, timeout: float | None = 10.0, max_rows: int | None = 10_000,
                 memory_mb: int = 2048, queue_wait: float | None = None):
        self.dist, self.timeout, self.max_rows, self.memory_mb = Path(dist), timeout, max_rows, memory_mb
        self.queue_wait = queue_wait if queue_wait is not None else max(30.0, 3 * (timeout or 10.0))
        self._context = multiprocessing.get_context("spawn")  # never fork a threaded server
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._closed = False
        self.respawn_error: Exception | None = None
        self._lock = threading.Lock()
        self._all: set[_Worker] = set()
        started = [self._start() for _ in range(max(1, workers))]
        for worker in started:
            self._await_ready(worker)
        self.sandboxed = all(w.sandboxed for w in started)

    def run(self, query, fmt: str, **options) -> bytes:
        """The answer to a checked `store.Query`, serialized as `fmt` (see `store.Answer.serialize`)."""
        if query.needs_sandbox and not self.sandboxed:
            raise QueryRefused('the word "service" may appear only where this platform can block network access '
                               "for queries; rephrase it (e.g. REGEX(?x, \"servic[e]\", \"i\"))")
        try:
            worker = self._idle.get(timeout=self.queue_wait)
        except queue.Empty:
            raise Busy("every query worker is busy: try again shortly") from None
        try:
            worker.conn.send((query, fmt, options))
            if not worker.conn.poll(self.timeout):
                self._replace(worker)
                raise QueryTimeout(f"the query ran longer than {self.timeout:g} s and was stopped")
            status, *payload = worker.conn.recv()
        except (EOFError, OSError):  # the worker died: out of memory, or killed from outside
            self._replace(worker)
            raise QueryError("the query could not be completed (its worker ran out of memory or stopped)") from None
        self._idle.put(worker)
        if status == "ok":
            return payload[0]
        name, message, where = payload
        error = getattr(errors, name, QueryError)(message)
        if where:
            error.line, error.column = where
        raise error

    def close(self) -> None:
        self._closed = True
        with self._lock:
            workers = list(self._all)
        for worker in workers:
            worker.stop()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _start(self) -> _Worker:
        worker = _Worker(self._context, self.dist, self.max_rows, self.memory_mb)
        with self._lock:
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
        self._idle.put(worker)

    def _replace(self, worker: _Worker) -> None:
        """Kill a worker and start its successor in the background, so the caller answers now."""
        worker.stop()
        with self._lock:
            self._all.discard(worker)

        def respawn():
            delay = 0.5
            while not self._closed:  # keep trying: a pool that shrinks for good ends up answering nothing
                try:
                    self._await_ready(self._start())
                    return
                except errors.PledgegraphError as e:
                    self.respawn_error = e
                    time.sleep(delay)
                    delay = min(delay * 2, 10.0)

        threading.Thread(target=respawn, name="pledgegraph-respawn", daemon=True).start()


class _Worker:
    def __init__(self, context, dist: Path, max_rows, memory_mb: int):
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_worker_main, args=(child, str(dist), max_rows, memory_mb),
                                       name="pledgegraph-query", daemon=True)
        self.process.start()
        child.close()
        self.sandboxed = False

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
    conn.send(("ready", sandboxed))
    while True:
        try:
            query, fmt, options = conn.recv()
        except EOFError:
            return
        try:
            answer = store.execute(loaded, query, max_rows=max_rows, **options)
            conn.send(("ok", answer.serialize(fmt)))
        except errors.PledgegraphError as e:
            conn.send(("error", type(e).__name__, str(e), (getattr(e, "line", 0), getattr(e, "column", 0))))
        except OSError as e:  # for a query naming "service", a connection attempt the sandbox blocked
            if query.needs_sandbox:
                conn.send(("error", "QueryRefused", f"the query tried to reach the network, which is not allowed "
                                                    f"({e})", None))
            else:
                conn.send(("error", "QueryError", f"the query failed: {e}", None))
        except MemoryError:
            conn.send(("error", "TooLarge", "the query needed more memory than a query may use", None))


# -- the network sandbox -----------------------------------------------------------------------

# (audit architecture, socket(2) syscall number) per machine
_SECCOMP_ARCH = {"x86_64": (0xC000003E, 41), "aarch64": (0xC00000B7, 198)}
_PR_SET_NO_NEW_PRIVS, _PR_SET_SECCOMP, _SECCOMP_MODE_FILTER = 38, 22, 2
_AF_UNIX = 1


def forbid_network() -> bool:
    """Make socket(2) fail with EACCES for every family but AF_UNIX in this process, for good.

    A seccomp filter: the kernel refuses the call, whatever library makes it. Returns False
    where seccomp is unavailable (other OS or machine, or a container that forbids it)."""
    arch = _SECCOMP_ARCH.get(platform.machine())
    if arch is None or platform.system() != "Linux":
        return False
    audit_arch, socket_nr = arch

    def op(code, jt, jf, k):
        return struct.pack("HBBI", code, jt, jf, k)

    load, jump_eq, ret = 0x20, 0x15, 0x06  # BPF_LD|W|ABS, BPF_JMP|JEQ|K, BPF_RET|K
    program = b"".join([
        op(load, 0, 0, 4),                    # seccomp_data.arch
        op(jump_eq, 0, 5, audit_arch),        # another ABI: allow (not used by this process)
        op(load, 0, 0, 0),                    # seccomp_data.nr
        op(jump_eq, 0, 3, socket_nr),         # not socket(2): allow
        op(load, 0, 0, 16),                   # args[0]: the address family
        op(jump_eq, 1, 0, _AF_UNIX),          # AF_UNIX: allow
        op(ret, 0, 0, 0x00050000 | errno.EACCES),
        op(ret, 0, 0, 0x7FFF0000),
    ])

    class _Program(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    buffer = ctypes.create_string_buffer(program)
    prog = _Program(len(program) // 8, ctypes.cast(buffer, ctypes.c_void_p))
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        return False
    return libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0) == 0
