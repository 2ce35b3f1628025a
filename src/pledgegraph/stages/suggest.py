""" "Did you mean …?": the closest known word to a mistyped one, through an index, not a scan.

Comparing an unknown id with every id costs (unknown references × ids): 2,000 dangling references
in a dataset of 10,000 ids took most of a minute with difflib. Here the known words are indexed by
their character trigrams; a query looks up only its rarest trigrams, ranks the few words that share
the most of them, and scores only those (rapidfuzz's `fuzz.ratio`, the Indel similarity difflib's
ratio approximates, computed in C++: ~1 µs a pair where difflib took ~100). The cost of a query
depends on its own length and on how rare its trigrams are, not on how many words are known.
"""

from __future__ import annotations

from collections import Counter

from rapidfuzz import fuzz, process

CUTOFF = 60  # similarity (0-100) a suggestion must reach, as difflib.get_close_matches' 0.6
_RAREST = 8  # trigrams of the query that vote
_POSTINGS = 64  # words counted per trigram (a trigram in more words says little)
_COMPARED = 16  # best-voted words scored


def _grams(word: str) -> set[str]:
    padded = f"^{word}$"
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


class Suggester:
    """Suggestions from a fixed set of words (ids, field names, concepts)."""

    def __init__(self, words):
        self.words = sorted(set(map(str, words)))
        self._index: dict[str, list[str]] = {}
        for w in self.words:
            for g in _grams(w):
                self._index.setdefault(g, []).append(w)
        self._memo: dict[str, str | None] = {}

    def closest(self, word: str) -> str | None:
        """The most similar known word (ratio at least CUTOFF), or None."""
        word = str(word)
        if word not in self._memo:
            self._memo[word] = self._closest(word)
        return self._memo[word]

    def _closest(self, word: str) -> str | None:
        grams = sorted((g for g in _grams(word) if g in self._index), key=lambda g: (len(self._index[g]), g))
        votes: Counter = Counter()
        for g in grams[:_RAREST]:
            votes.update(self._index[g][:_POSTINGS])
        candidates = [w for w, _ in votes.most_common(_COMPARED)]  # ties in index order: deterministic
        best = process.extractOne(word, candidates, scorer=fuzz.ratio, score_cutoff=CUTOFF)
        return best[0] if best else None

    def hint(self, word: str) -> str:
        close = self.closest(word)
        return f"did you mean '{close}'?" if close else ""
