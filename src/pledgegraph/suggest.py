""""Did you mean …?": the closest known word to a mistyped one, through an index, not a scan.

Comparing an unknown id with every id costs (unknown references × ids): 2,000 dangling references
in a dataset of 10,000 ids took most of a minute with difflib. Here the known words are indexed by
their character trigrams; a query looks up only its rarest trigrams, ranks the few words that share
the most of them, and compares only those with difflib. The cost of a query depends on its own
length and on how rare its trigrams are, not on how many words are known.
"""

from __future__ import annotations

import difflib
from collections import Counter

CUTOFF = 0.6        # difflib ratio a suggestion must reach (as `difflib.get_close_matches`)
_RAREST = 8         # trigrams of the query that vote
_POSTINGS = 200     # words counted per trigram (a trigram in more words says little)
_COMPARED = 8       # best-voted words compared with difflib


def _grams(word: str) -> set[str]:
    padded = f"^{word}$"
    return {padded[i:i + 3] for i in range(len(padded) - 2)}


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
        best, best_ratio = None, CUTOFF
        matcher = difflib.SequenceMatcher(autojunk=False)
        matcher.set_seq2(word)
        for candidate, _ in sorted(votes.items(), key=lambda kv: (-kv[1], kv[0]))[:_COMPARED]:
            matcher.set_seq1(candidate)
            if matcher.real_quick_ratio() >= best_ratio and matcher.quick_ratio() >= best_ratio:
                ratio = matcher.ratio()
                if ratio > best_ratio or (ratio == best_ratio and best is None):
                    best, best_ratio = candidate, ratio
        return best

    def hint(self, word: str) -> str:
        close = self.closest(word)
        return f"did you mean '{close}'?" if close else ""
