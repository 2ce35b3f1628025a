"""How fast is the quote check? Thousands of quotes, found and not found, against the seed texts.

Run: .venv/bin/python bench/evidence_speed.py   (not part of the test suite)
"""

from __future__ import annotations

import random
import time
from pathlib import Path

from pledgegraph.stages.evidence import _Text, normalize

SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"


def main(n: int = 5000) -> None:
    rng = random.Random(1)
    texts = [_Text(p.read_text(encoding="utf-8")) for p in sorted(SEEDS.glob("*.txt"))]
    quotes = []
    for _ in range(n):
        t = rng.choice(texts)
        start = rng.randrange(0, len(t.text) - 200)
        q = t.text[start : start + rng.randrange(40, 300)]
        if rng.random() < 0.5:  # tamper with half of them: one word changed
            words = q.split(" ")
            words[len(words) // 2] = "tampered"
            q = " ".join(words)
        quotes.append((t, normalize(q)))
    start = time.perf_counter()
    missing = 0
    for t, q in quotes:
        if not t.occurrences(q):
            missing += 1
            t.closest(q)
    elapsed = time.perf_counter() - start
    print(
        f"{n} quotes ({missing} not found, each with its closest passage) in {elapsed:.2f}s "
        f"({elapsed / n * 1000:.2f} ms/quote)"
    )


if __name__ == "__main__":
    main()
