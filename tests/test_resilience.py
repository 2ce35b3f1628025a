"""Interrupted runs and sandboxing: a killed build or publish never damages what was there, and no
command touches the network or files it has no business with."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from conftest import ROOT, settings_for

KILLS = 4


def _tree(path: Path) -> dict[str, bytes]:
    """Every file below path (following the `latest` link as a link, not a copy)."""
    out = {}
    for p in sorted(path.rglob("*")):
        rel = str(p.relative_to(path))
        if p.is_symlink():
            out[rel] = b"-> " + os.readlink(p).encode()
        elif p.is_file():
            out[rel] = p.read_bytes()
    return out


def _cli(*args: str, **popen) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "pledgegraph", *args],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        **popen,
    )


def _second_version(tmp_path: Path) -> Path:
    data = tmp_path / "data-v2"
    shutil.copytree(ROOT / "data", data)
    dataset = data / "dataset.yaml"
    dataset.write_text(
        dataset.read_text()
        .replace("version: 0.1.0", "version: 0.2.0")
        .replace("modified: 2026-11-21", "modified: 2026-11-22")
    )
    return data


def _kill_at_random_points(args: list[str], rng: random.Random, check, scratch: Path) -> int:
    """Start the command KILLS times, SIGKILL it after a random delay, and check the target each time.
    Its temporary files go to `scratch` (TMPDIR): a killed process cannot remove them, so not into /tmp."""
    killed = 0
    scratch.mkdir(exist_ok=True)
    for _ in range(KILLS):
        proc = _cli(*args, env={**os.environ, "TMPDIR": str(scratch)})
        time.sleep(rng.uniform(0.05, 1.5))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            killed += 1
        proc.wait(60)
        check()
    deadline = time.monotonic() + 5
    while _still_running(args) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _still_running(args), "a helper process outlived its killed parent"
    return killed


def _still_running(args: list[str]) -> list[int]:
    """Processes (e.g. forked helpers of a killed command) whose command line is `args`'s."""
    wanted = "\0".join(args).encode()
    pids = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and wanted in (proc / "cmdline").read_bytes():
                pids.append(int(proc.name))
        except OSError:
            continue
    return pids


def test_killed_builds_leave_the_previous_output_or_the_complete_new_one(tmp_path):
    from pledgegraph.pipeline import build_all

    target, reference = tmp_path / "dist", tmp_path / "reference"
    build_all(settings_for(out_dir=target))
    old = _tree(target)
    data_v2 = _second_version(tmp_path)
    build_all(settings_for(data_dir=data_v2, out_dir=reference))
    new = _tree(reference)
    assert old != new

    def check():
        assert _tree(target) in (old, new)

    killed = _kill_at_random_points(
        ["build", "--data", str(data_v2), "--out", str(target)], random.Random(7), check, tmp_path / "tmp"
    )
    assert killed >= KILLS // 2, "the build finished before most kills: nothing was tested"
    final = subprocess.run(
        [sys.executable, "-m", "pledgegraph", "build", "--data", str(data_v2), "--out", str(target)],
        cwd=ROOT,
        capture_output=True,
        timeout=300,
    )
    assert final.returncode == 0
    assert _tree(target) == new
    assert not list(tmp_path.glob(".dist.tmp-*"))


def _published_twice(tmp_path: Path, dist: Path) -> tuple[Path, Path, Path]:
    """The data at version 0.2.0, built; a site with 0.1.0 published (from `dist`); a site with 0.1.0 then 0.2.0."""
    from pledgegraph.delivery.release.publish import publish
    from pledgegraph.pipeline import build_all

    dist_v2 = tmp_path / "dist-v2"
    build_all(settings_for(data_dir=_second_version(tmp_path), out_dir=dist_v2))
    first_only, both = tmp_path / "site", tmp_path / "reference"
    publish(first_only, dist)
    publish(both, dist)
    publish(both, dist_v2)
    return dist_v2, first_only, both


def test_publishing_again_after_a_stop_before_latest_was_pointed_finishes_the_job(tmp_path, dist):
    """A publish stopped after its release was renamed into place but before `latest` was pointed at it (a
    window the random kills below once hit): the same publish run again finds the release unchanged, and
    points `latest`, `latest.txt`, `index.html` and `.well-known/void` at it; run once more, it writes nothing."""
    from pledgegraph.delivery.release.publish import publish

    dist_v2, stopped, site = _published_twice(tmp_path, dist)
    shutil.copytree(site / "0.2.0", stopped / "0.2.0", symlinks=True)  # placed; `latest` still at 0.1.0
    assert os.readlink(stopped / "latest") == "0.1.0"
    assert publish(stopped, dist_v2).unchanged
    assert os.readlink(stopped / "latest") == "0.2.0"
    for pointer in ("latest.txt", "index.html", ".well-known/void"):
        assert (stopped / pointer).read_bytes() == (site / pointer).read_bytes(), pointer
    before = {path: path.stat().st_mtime_ns for path in stopped.iterdir() if not path.is_dir()}
    assert publish(stopped, dist_v2).unchanged
    assert {path: path.stat().st_mtime_ns for path in stopped.iterdir() if not path.is_dir()} == before


def test_killed_publishes_leave_earlier_releases_intact(tmp_path, dist):
    dist_v2, site, reference = _published_twice(tmp_path, dist)
    first = _tree(site / "0.1.0")
    complete_second = _tree(reference / "0.2.0")

    def check():
        assert _tree(site / "0.1.0") == first
        latest = os.readlink(site / "latest")
        assert latest in ("0.1.0", "0.2.0")
        if latest == "0.2.0" or (site / "0.2.0").exists():
            assert _tree(site / "0.2.0") == complete_second

    _kill_at_random_points(["publish", str(site), "--dist", str(dist_v2)], random.Random(11), check, tmp_path / "tmp")
    subprocess.run(
        [sys.executable, "-m", "pledgegraph", "publish", str(site), "--dist", str(dist_v2)],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=300,
    )
    assert os.readlink(site / "latest") == "0.2.0"
    assert _tree(site / "0.2.0") == complete_second and _tree(site / "0.1.0") == first


AUDIT = r"""
import json, os, sys
log = []
def hook(event, args):
    if event == "open" and args and isinstance(args[0], (str, bytes)):
        path = os.fsdecode(args[0]); mode = args[1] or "r"; flags = args[2] if len(args) > 2 else 0
        writes = any(c in str(mode) for c in "wax+") or bool(flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT))
        log.append(("open", os.path.abspath(path), writes))
    elif event in ("socket.connect", "socket.getaddrinfo", "socket.gethostbyname", "socket.bind",
                   "socket.sendto", "urllib.Request"):
        log.append(("net", event, repr(args)[:200]))
        if event != "socket.bind":
            raise PermissionError("network access blocked by the test: " + event)
    elif event == "socket.__new__" and len(args) > 1 and args[1] not in (1,):  # only AF_UNIX (1) allowed
        log.append(("net", event, repr(args)[:200]))
        raise PermissionError("network socket blocked by the test")
sys.addaudithook(hook)
import atexit
atexit.register(lambda: open(os.environ["AUDIT_LOG"], "w").write(json.dumps(log)))
from pledgegraph.cli import main
sys.argv = ["pledgegraph"] + json.loads(os.environ["AUDIT_ARGS"])
main()
"""


def _audited(args: list[str], log: Path) -> tuple[subprocess.CompletedProcess, list]:
    env = {**os.environ, "AUDIT_LOG": str(log), "AUDIT_ARGS": json.dumps(args)}
    proc = subprocess.run([sys.executable, "-c", AUDIT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    return proc, json.loads(log.read_text()) if log.exists() else []


def _allowed_reads(extra: list[Path]) -> tuple[str, ...]:
    roots = [ROOT, Path(sys.prefix), Path(sys.base_prefix), Path(sys.exec_prefix), Path(tempfile.gettempdir()), *extra]
    return tuple(str(r.resolve()) for r in roots) + (
        "/dev/",
        "/proc/",
        "/sys/",
        "/etc/localtime",
        "/etc/mime.types",
        "/usr/share/zoneinfo",
        "/usr/lib/locale",
    )


@pytest.mark.parametrize("command", ["validate", "build", "evidence", "publish", "query"])
def test_no_network_and_no_surprise_file_access(tmp_path, dist, command):
    out = tmp_path / "out"
    seeds = ROOT.parent / "shared" / "seeds"
    args = {
        "validate": ["validate"],
        "build": ["build", "--out", str(out)],
        "evidence": ["evidence", "--archive", str(seeds)],
        "publish": ["publish", str(out), "--dist", str(dist)],
        "query": [
            "query",
            "--dist",
            str(dist),
            "--format",
            "json",
            "SELECT ?s WHERE { ?s a <https://w3id.org/pledgegraph/ontology#Pledge> } LIMIT 2",
        ],
    }[command]
    proc, log = _audited(args, tmp_path / "audit.json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert [e for e in log if e[0] == "net"] == []
    opened = [(path, writes) for kind, path, writes in (e for e in log if e[0] == "open")]
    assert opened, "the audit hook saw nothing: the test would prove nothing"
    readable = _allowed_reads([dist, seeds])
    writable = (str(out.resolve()), str(tmp_path.resolve()), "/dev/null", "/dev/shm", tempfile.gettempdir())
    surprises = [p for p, w in opened if not p.startswith(readable)]
    writes_elsewhere = [p for p, w in opened if w and not p.startswith(writable)]
    assert surprises == [] and writes_elsewhere == []
