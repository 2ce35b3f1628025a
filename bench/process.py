"""Running one measured command as a fresh process: wall time, CPU time and peak memory (ru_maxrss).

Commands are started by a small launcher process (`start_launcher`), not by the bench itself: Linux gives a
started command the peak memory of the process that started it as its own (ru_maxrss is carried across
`exec`, and `subprocess` starts commands with vfork, sharing the starter's memory until then): after a
Python process had held 1.5 GB, `/bin/true` started from it reported 1,511 MB.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import subprocess
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass


@dataclass
class Ran:
    wall: float
    peak_mb: float
    cpu: float
    out: bytes
    err: bytes
    code: int
    system: float = 0.0  # of `cpu`, the kernel's: mostly page faults (first touches of fresh memory)
    faults: int = 0  # minor page faults, the command's and its children's


_launcher: ProcessPoolExecutor | None = None


def start_launcher() -> None:
    """Start the process that starts the measured commands (call it while this process is small: a forkserver
    is started from it, and the launcher is forked from that)."""
    global _launcher
    if _launcher is None:
        _launcher = ProcessPoolExecutor(1, mp_context=mp.get_context("forkserver"))
        _launcher.submit(int).result()  # the launcher exists from now on, whatever this process grows to


def timed_process(cmd: list[str], timeout: float, cwd=None) -> Ran | None:
    """The finished command's figures, or None when it ran past `timeout` seconds (it is then killed), from
    the launcher (started now if it was not)."""
    start_launcher()
    assert _launcher is not None
    return _launcher.submit(_timed_here, cmd, timeout, cwd).result()


def _timed_here(cmd: list[str], timeout: float, cwd=None) -> Ran | None:
    """`timed_process` in this process. The wait blocks until the command ends (a watchdog kills it at the
    timeout), so the wall time is the command's own: polling every 50 ms added up to 50 ms (8% of a 10k
    publish)."""
    out, err = tempfile.TemporaryFile(), tempfile.TemporaryFile()  # a pipe would fill up and stall it
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=err, start_new_session=True)
    timed_out = threading.Event()

    def stop() -> None:
        timed_out.set()
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:  # it ended as the time ran out
            pass

    watchdog = threading.Timer(timeout, stop)
    watchdog.start()
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    finally:
        watchdog.cancel()
    if timed_out.is_set():
        return None
    wall = round(time.perf_counter() - start, 3)
    out.seek(0)
    err.seek(0)
    return Ran(
        wall,
        round(usage.ru_maxrss / 1024, 1),
        round(usage.ru_utime + usage.ru_stime, 3),
        out.read(),
        err.read(),
        os.waitstatus_to_exitcode(status),
        round(usage.ru_stime, 3),
        usage.ru_minflt,
    )
