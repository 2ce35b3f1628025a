"""The git commands the curator's loop needs (the repository top, paths in it, what changed since a
revision), each failure an `UnusableInput` that says what to do instead."""

from __future__ import annotations

import subprocess
from pathlib import Path

from pledgegraph.errors import UnusableInput


def toplevel(data_dir: Path) -> Path:
    """The top of the git repository holding the data directory."""
    if not data_dir.is_dir():
        raise UnusableInput(f"data directory {data_dir} does not exist")
    return Path(
        git(
            ["rev-parse", "--show-toplevel"],
            data_dir.resolve(),
            f"{data_dir} is not in a git repository; name the files to check instead",
        ).strip()
    )


def repo_path(path: Path, top: Path) -> str:
    """`path` relative to the repository top, as git names it."""
    try:
        return str(path.resolve().relative_to(top.resolve())) or "."
    except ValueError:
        raise UnusableInput(f"{path} is not inside the git repository at {top}") from None


def git(args: list[str], cwd: Path, failure: str = "", binary: bool = False, missing_ok: bool = False):
    """Run git; its failure is unusable input, with `failure` as the message when given."""
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True)
    except FileNotFoundError:
        raise UnusableInput("git is not installed; name the files to check instead") from None
    if done.returncode != 0:
        if missing_ok:
            return None
        detail = failure or done.stderr.decode(errors="replace").strip() or f"git {args[0]} failed"
        raise UnusableInput(detail)
    return done.stdout if binary else done.stdout.decode()


def changed_files(rev: str, top: Path, paths: list[str]) -> list[str]:
    """Files differing from `rev` in the working tree, plus untracked ones (paths from the top)."""
    diff = git(["diff", "--name-only", "--no-renames", "-z", rev, "--", *paths], top)
    untracked = git(["ls-files", "--others", "--exclude-standard", "-z", "--", *paths], top)
    return sorted({n for n in (diff + untracked).split("\0") if n})
