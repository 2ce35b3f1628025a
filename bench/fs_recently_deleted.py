"""How long creating N small files takes in a fresh folder, and again right after deleting as many.

`python -m bench.fs_recently_deleted DIR [N]`. On an ext4 without a journal the kernel's inode allocator
skips each inode freed in the last minute (six while its inode table block is dirty), one lookup each
(`recently_deleted` in fs/ext4/ialloc.c), so the second figure grows with N squared; with a journal the three
figures are alike. This is why `bench/deliver.py` deletes earlier bench sites only once nothing more is timed.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path


def create(folder: Path, count: int) -> float:
    folder.mkdir(parents=True)
    start = time.perf_counter()
    for i in range(count):
        fd = os.open(folder / f"f{i:06d}.html", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        os.write(fd, b"x" * 2000)
        os.close(fd)
    return time.perf_counter() - start


if __name__ == "__main__":
    root, count = Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 20_000
    print(f"{count:,} files into a fresh folder: {create(root / 'a', count):.2f} s")
    shutil.rmtree(root / "a")
    print(f"right after deleting as many: {create(root / 'a', count):.2f} s")
    print(f"into another fresh folder: {create(root / 'b', count):.2f} s")
    shutil.rmtree(root)
