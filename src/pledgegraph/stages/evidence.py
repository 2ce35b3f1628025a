"""Every quote checked against the archived plain text of the source it is cited to.

A curator must not be able to cite a source for words it does not contain. Each citation's `quote`
is looked up in its source's archived text (the source's `archived_as` file, or `<source-id>.txt`,
in the first of the archive folders that has it; symlinks there are followed) after normalising
both sides the same way:
Unicode compatibility forms (NFKC: `…` is `...`, no-break spaces are spaces), every kind of quote
mark to `"` or `'` (curly, low-9, guillemets), every dash to `-`, invisible characters removed,
runs of whitespace to one space, and no space around dashes and ellipses. Case and wording must
match. The quote must occur exactly once, or once with its `prefix` immediately before and its
`suffix` immediately after. A quote whose source has no archived text is counted, and the summary
line names those sources: never silently skipped. The archived texts are only read, never published.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from pledgegraph.errors import ERROR, Problem, sorted_unique
from pledgegraph.model import schema
from pledgegraph.model.records import Claimed, Dataset, Item, Record

RULE = "evidence.quote"
_MARKS = str.maketrans(
    {
        **dict.fromkeys("“”„‟«»〝〞〟＂❝❞", '"'),
        **dict.fromkeys("‘’‚‛‹›❛❜`´", "'"),
        **dict.fromkeys("‐‑‒–—―−⁃﹘﹣－", "-"),
        **dict.fromkeys("\u00ad\u200b\u200c\u200d\u2060\ufeff", None),
    }
)
_SPACE = re.compile(r"\s+")
_DOTS = re.compile(r"\.\s?\.\s?\.")
_GLUE = re.compile(r" ?(\.\.\.|-) ?")  # no space around dashes and ellipses: "Caucasus — in" = "Caucasus—in"
_WORD = re.compile(r"\w+")
_ANCHORS = 8  # rarest quote words that vote for where the quote would start
_PER_ANCHOR = 50  # occurrences of each anchor word counted
_WINDOWS = 8  # best-voted places compared with difflib
_SHOWN = 3  # occurrences shown for an ambiguous quote


def normalize(text: str) -> str:
    """The form quotes and source texts are compared in (see the module docstring)."""
    text = unicodedata.normalize("NFKC", text).translate(_MARKS)
    text = _SPACE.sub(" ", text)
    text = _DOTS.sub("...", text)
    return _GLUE.sub(r"\1", text).strip()


@dataclass
class Evidence:
    """What the check found: its problems, and how many facts carry quotes, per record kind."""

    problems: list[Problem]
    facts: Counter = field(default_factory=Counter)  # kind -> facts (cited items)
    facts_quoted: Counter = field(default_factory=Counter)  # kind -> facts with at least one quote
    quotes: Counter = field(default_factory=Counter)  # kind -> quotes
    checked: int = 0  # quotes compared with an archived text
    texts: int = 0  # archived texts read
    unchecked: Counter = field(default_factory=Counter)  # source id -> quotes without an archived text

    @property
    def failed(self) -> int:
        return sum(p.severity == ERROR and p.rule == RULE for p in self.problems)

    def summary(self) -> dict:
        kinds = sorted(self.facts)
        return {
            "quotes": sum(self.quotes.values()),
            "checked": self.checked,
            "found": self.checked - self.failed,
            "failed": self.failed,
            "archived_texts": self.texts,
            "unchecked": dict(sorted(self.unchecked.items())),
            "per_kind": {
                k: {"facts": self.facts[k], "facts_with_quotes": self.facts_quoted[k], "quotes": self.quotes[k]}
                for k in kinds
            },
        }

    def summary_line(self) -> str:
        """One line for every report: how many quotes were checked, and which sources could not be."""
        total = sum(self.quotes.values())
        line = f"{self.checked} of {total} quotes checked against {self.texts} archived texts"
        if self.unchecked:
            missing = sorted(self.unchecked.items(), key=lambda kv: (-kv[1], kv[0]))
            shown = ", ".join(f"{s} ({n})" for s, n in missing[:5]) + (
                f" and {len(missing) - 5} more" if len(missing) > 5 else ""
            )
            line += f"; {sum(self.unchecked.values())} quotes not checked: no archived text for {shown}"
        return line

    def summary_text(self) -> str:
        s = self.summary()
        kinds = ", ".join(
            f"{k} {v['facts_with_quotes']}/{v['facts']} ({v['quotes']})" for k, v in s["per_kind"].items()
        )
        return (
            f"{s['checked']} of {s['quotes']} quotes checked against {s['archived_texts']} archived texts: "
            f"{s['found']} found, {s['failed']} failed\nfacts with quotes/facts (quotes), per kind: {kinds}"
        )


def facts(item: Item, specs: tuple[schema.Field, ...]):
    """The citation lists of every fact in an item: its own, each nested item's, each claimed value's."""
    for spec in specs:
        value = item.data.get(spec.name)
        if value is None:
            continue
        if spec.type == "citations":
            yield value
        elif spec.base_type == "struct":
            for v in value if spec.many else [value]:
                yield from facts(v, schema.STRUCTS[spec.target].fields)
        elif spec.claimed:
            yield from (c.sources for c in value if c.sources)


class _Text:
    """One archived text, normalised, with a word index built only when a quote fails."""

    def __init__(self, raw: str):
        self.text = normalize(raw)
        self._words: list[re.Match] | None = None
        self._index: dict[str, list[int]] = {}

    def occurrences(self, quote: str) -> list[int]:
        out, i = [], self.text.find(quote)
        while i != -1:
            out.append(i)
            i = self.text.find(quote, i + 1)
        return out

    def closest(self, quote: str) -> tuple[float, str]:
        """The passage most like the quote, word for word.

        Each occurrence of the quote's rarest words votes for where the quote would start; difflib
        compares only the best-voted windows, so a failing quote costs about a millisecond.
        """
        if self._words is None:
            self._words = list(_WORD.finditer(self.text))
            for i, m in enumerate(self._words):
                self._index.setdefault(m.group().lower(), []).append(i)
        words = [m.group().lower() for m in _WORD.finditer(quote)]
        first: dict[str, int] = {}
        for i, w in enumerate(words):
            first.setdefault(w, i)
        anchors = sorted((w for w in first if w in self._index), key=lambda w: (len(self._index[w]), w))
        votes: Counter = Counter()
        for w in anchors[:_ANCHORS]:
            for at in self._index[w][:_PER_ANCHOR]:
                votes[max(0, at - first[w])] += 1
        best = (0.0, "")
        matcher = difflib.SequenceMatcher(autojunk=False)
        matcher.set_seq2(words)
        for start, _ in sorted(votes.items(), key=lambda kv: (-kv[1], kv[0]))[:_WINDOWS]:
            window = self._words[start : start + len(words)]
            matcher.set_seq1([m.group().lower() for m in window])
            if matcher.quick_ratio() > best[0] and (ratio := matcher.ratio()) > best[0]:
                best = (ratio, self.text[window[0].start() : window[-1].end()])
        return best

    def sentence(self, at: int, length: int, most: int = 300) -> str:
        """The sentence(s) holding text[at:at + length], the quote marked, at most `most` characters each side."""
        ends = [self.text.rfind(mark, max(0, at - most), at) for mark in (". ", "! ", "? ", "\n")]
        start = max(max(ends) + 2, at - most, 0) if max(ends) >= 0 else max(0, at - most)
        stops = [i for mark in (". ", "! ", "? ") if (i := self.text.find(mark, at + length, at + length + most)) >= 0]
        end = min(stops) + 1 if stops else min(len(self.text), at + length + most)
        return f"{self.text[start:at]}⟨{self.text[at : at + length]}⟩{self.text[at + length : end]}"

    def around(self, at: int, length: int, width: int = 40) -> str:
        before = self.text[max(0, at - width) : at]
        after = self.text[at + length : at + length + width]
        return f"…{before}⟨quote⟩{after}…"


def _text_path(source: Record, archives: list[Path]) -> tuple[Path | None, list[str]]:
    """The archived text of a source: its `archived_as` file, else `<id>.txt`, in the first archive
    folder that has one (names are plain file names, so a text is always inside its folder)."""
    names = [source.data["archived_as"]] if "archived_as" in source.data else []
    names.append(source.id + ".txt")
    for folder in archives:
        for name in names:
            path = folder / name
            if path.is_file():
                return path, names
    return None, names


def check_quotes(dataset: Dataset, archives: Path | list[Path], records: list[Record] | None = None) -> Evidence:
    """Look every quote up in its source's archived text; report each one that is not found exactly once.
    Only the quotes of `records` when given (`validate --watch` after an edit)."""
    archives = [archives] if isinstance(archives, Path) else list(archives)
    ev = Evidence([])
    by_source: dict[str, list[tuple[Record, Item]]] = {}
    for r in dataset.records if records is None else records:
        for cites in facts(r, schema.KINDS[r.kind].fields):
            quoted = [c for c in cites if "quote" in c.data]
            ev.facts[r.kind] += 1
            ev.facts_quoted[r.kind] += bool(quoted)
            ev.quotes[r.kind] += len(quoted)
            for c in quoted:
                by_source.setdefault(c.data["source"], []).append((r, c))
    texts: dict[str, _Text | None] = {}

    def text_of(source_id: str) -> _Text | None:
        if source_id not in texts:
            texts[source_id] = _read(dataset.by_id[source_id], archives, ev.problems)
        return texts[source_id]

    def sources_with(quote: str) -> list[str]:
        return [s.id for s in dataset.of_kind("source") if (t := text_of(s.id)) and t.occurrences(quote)]

    for source_id in sorted(by_source):
        text = text_of(source_id)
        if text is None:
            ev.unchecked[source_id] = len(by_source[source_id])
            continue
        ev.texts += 1
        for record, cite in by_source[source_id]:
            ev.checked += 1
            problem = _check(record, cite, text, sources_with)
            if problem is not None:
                ev.problems.append(problem)
    ev.problems = sorted_unique(ev.problems)
    return ev


def quote_in_source(record: Record, cite: Item, source: Record, archives: list[Path]) -> tuple[bool | None, str]:
    """Whether a citation's quote is in its source's archived text, as `check_quotes` decides: (True, the
    sentence around it there), (False, the problem and its hint), or (None, why it cannot be checked)."""
    problems: list[Problem] = []
    text = _read(source, archives, problems)
    if text is None:
        return (
            None,
            problems[0].message
            if problems
            else f"{source.id} has no archived text ({' or '.join(_text_path(source, archives)[1])}): not checked",
        )
    problem = _check(record, cite, text, lambda quote: [])
    if problem is not None:
        return False, f"{problem.message} ({problem.hint})"
    quote = normalize(cite.data["quote"])
    prefix, suffix = normalize(cite.data.get("prefix", "")), normalize(cite.data.get("suffix", ""))
    at = next(at for at in text.occurrences(quote) if _fits(text.text, at, len(quote), prefix, suffix))
    return True, text.sentence(at, len(quote))


def _read(source: Record, archives: list[Path], problems: list[Problem]) -> _Text | None:
    path, _ = _text_path(source, archives)
    if path is None:
        return None
    try:
        return _Text(path.read_bytes().decode("utf-8"))
    except (OSError, UnicodeDecodeError) as e:
        problems.append(
            Problem(
                source.where("archived_as"),
                f"cannot read its archived text {path}: {getattr(e, 'strerror', None) or e}",
                entity=source.id,
                rule="evidence.archive",
                hint="save the document's plain text as UTF-8",
            )
        )
        return None


def coverage(dataset: Dataset) -> str:
    """Markdown: per seed (a source with an archived text), how many records of each kind cite it
    (anywhere inside the record: its names, claims and nested facts too)."""
    columns = [k.name for k in schema.KINDS.values() if k.name not in ("dataset", "source")]
    seeds = [s for s in dataset.of_kind("source") if "archived_as" in s.data]
    counts = {(s.id, k): 0 for s in seeds for k in columns}
    for record in dataset.records:
        for source in _cited(record):
            if (source, record.kind) in counts:
                counts[source, record.kind] += 1
    header = "| seed | " + " | ".join(columns) + " | all |\n"
    rule = "|---|" + "---:|" * (len(columns) + 1) + "\n"
    rows = "".join(
        f"| `{s.id}` | "
        + " | ".join(str(counts[s.id, k]) for k in columns)
        + f" | {sum(counts[s.id, k] for k in columns)} |\n"
        for s in seeds
    )
    return header + rule + rows


def _cited(value) -> set[str]:
    if isinstance(value, Item):
        found = {value.data["source"]} if value.kind == "citation" else set()
        return found.union(*(_cited(v) for v in value.data.values()))
    if isinstance(value, Claimed):
        return _cited(value.sources)
    if isinstance(value, list):
        return set().union(*(_cited(v) for v in value))
    return set()


def _check(record: Record, cite: Item, text: _Text, sources_with) -> Problem | None:
    source = cite.data["source"]
    quote = normalize(cite.data["quote"])
    prefix = normalize(cite.data.get("prefix", ""))
    suffix = normalize(cite.data.get("suffix", ""))
    found = text.occurrences(quote)

    def problem(message: str, hint: str) -> Problem:
        return Problem(
            cite.where("quote"),
            f"{source}: {message}",
            entity=record.id,
            rule=RULE,
            value=cite.data["quote"][:200],
            hint=hint,
        )

    if not found:
        ratio, passage = text.closest(quote)
        hint = (
            f'closest passage ({ratio:.0%} alike): "{passage}"'
            if passage
            else "no word of the quote occurs in this source"
        )
        elsewhere = sources_with(quote)
        if elsewhere:
            hint = f"the quote is in {', '.join(elsewhere)}: cited to the wrong source? {hint}"
        return problem("quote not found", hint)
    anchored = [at for at in found if _fits(text.text, at, len(quote), prefix, suffix)]
    if len(anchored) == 1:
        return None
    shown = "; ".join(text.around(at, len(quote)) for at in (anchored or found)[:_SHOWN])
    if not anchored:
        return problem(f"quote found {len(found)} time(s) but never with this prefix/suffix", f"in the source: {shown}")
    return problem(
        f"quote occurs {len(anchored)} times; add prefix/suffix",
        f"prefix: the words just before it, suffix: just after; it occurs as {shown}",
    )


def _fits(text: str, at: int, length: int, prefix: str, suffix: str) -> bool:
    """Prefix immediately before and suffix immediately after the quote (one space between allowed)."""
    before, after = text[:at], text[at + length :]
    return (not prefix or before.endswith(prefix) or before.endswith(prefix + " ")) and (
        not suffix or after.startswith(suffix) or after.startswith(" " + suffix)
    )
