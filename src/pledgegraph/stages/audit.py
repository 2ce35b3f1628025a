"""Curation audit: what a machine can check of "every fact says what its quote says, in the source's voice".

Three warnings, each at the YAML line a curator must look at (`validate` reports them with the
loader's warnings):

- `audit.hedge`: a quote hedges ("allegedly", "purportedly", "reportedly", "claimed", "suspected",
  "apparently", or a prediction: "will", "may", "likely") but its citation carries no `hedge:` and
  names no speaker (`said_by`), so the graph would state in its own voice what the source only
  reports or predicts. Facts that are someone's word by nature (statements, estimates, claims of
  responsibility, attributions, disputes, reported deaths and figures) are not flagged.
- `audit.date`: a fact's date is in none of the quotes of its record (nor of the record that ended
  it): the date must come from the cited words, in the document's own form ("June 21", "23 June
  2015", its `as_stated`), not from a sentence left uncited.
- `audit.id-date`: a record id reads as a day or month (`…-2014-11-12`) that no date of the record has.

`paragraph_coverage` says, per seed and per paragraph, how many quotes rest on it (data/README.md's
paragraph table is checked against it).
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from pledgegraph.errors import WARNING, Problem
from pledgegraph.model import schema
from pledgegraph.model.dates import DAY, MONTH, YEAR, DateSpec, Point
from pledgegraph.model.records import Claimed, Dataset, Item, Record
from pledgegraph.stages.evidence import normalize

# Hedging words and the hedge concept (pgv:hedge/…) each calls for.
HEDGES: tuple[tuple[str, re.Pattern], ...] = tuple(
    (concept, re.compile(rf"\b(?:{words})\b", flags))
    for concept, words, flags in (
        ("alleged", r"allegedly|alleged", re.I),
        ("purported", r"purportedly|purported", re.I),
        ("reported", r"reportedly|reported|according to", re.I),
        ("claimed", r"claimed|claims|claiming", re.I),
        ("suspected", r"suspected", re.I),
        ("apparent", r"apparently|appears? to", re.I),
        # case-sensitive: "May" is also a month
        ("predicted", r"[Ww]ill|may|[Mm]ight|[Cc]ould|[Ll]ikely|[Uu]nlikely", 0),
    )
)
# Facts that are someone's word by nature: their own fields say whose.
_ATTRIBUTED_KINDS = {"statement", "estimate", "designation", "disagreement"}  # a disagreement's sides are
# each held by someone (`by:`), who says so in their own voice
_ATTRIBUTED_STRUCTS = {"responsibility", "attribution", "dispute"}
# An entity's own citations and its names say that it exists and how it is spelled: a hedge in the
# sentence they are read in is about something else.
_ENTITY_KINDS = {"organization", "person", "place"}
_REPORTER_FIELDS = ("reported_by", "reported_by_label")
_ID_DAY = re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)")
_ID_MONTH = re.compile(r"(?<!\d)(\d{4})-(\d{2})(?![\d])")


def audit(dataset: Dataset) -> list[Problem]:
    """Every audit warning for the dataset's records, in file order."""
    return audit_records(dataset.records, dataset.by_id)


def audit_records(records, by_id: dict[str, Record]) -> list[Problem]:
    """The audit warnings of some records (`validate --watch` re-audits the records it re-checks)."""
    out: list[Problem] = []
    for record in records:
        if record.kind in ("source", "dataset") or record.data.get("deprecated"):
            continue
        out += _hedges(record)
        out += _dates(record, by_id)
        out += _id_dates(record)
    return out


# --- the walk --------------------------------------------------------------------------------


@dataclass
class _Fact:
    """One cited fact: the item it is (a record, nested item or claimed value) and its citations."""

    owner: str  # kind or struct name
    item: Item | Claimed
    citations: list[Item]


def _facts(item: Item, owner: str, specs) -> Iterator[_Fact]:
    own = item.data.get("sources")
    if own:
        yield _Fact(owner, item, [c for c in own if isinstance(c, Item)])
    for spec in specs:
        value = item.data.get(spec.name)
        if value is None or spec.type == "citations":
            continue
        if spec.base_type == "struct":
            for v in value if spec.many else [value]:
                yield from _facts(v, spec.target, schema.STRUCTS[spec.target].fields)
        elif spec.claimed:
            for c in value:
                if c.sources:
                    yield _Fact(f"{owner}.{spec.name}", c, [s for s in c.sources if isinstance(s, Item)])


def _record_facts(record: Record) -> list[_Fact]:
    return list(_facts(record, record.kind, schema.KINDS[record.kind].fields))


def _quotes(record: Record) -> list[str]:
    return [normalize(c.data["quote"]) for f in _record_facts(record) for c in f.citations if "quote" in c.data]


# --- hedges ----------------------------------------------------------------------------------


def hedges_in(quote: str) -> list[str]:
    """The hedge concepts a quote's words call for, in HEDGES order."""
    return [concept for concept, pattern in HEDGES if pattern.search(quote)]


def _hedges(record: Record) -> list[Problem]:
    if record.kind in _ATTRIBUTED_KINDS:
        return []
    out = []
    for fact in _record_facts(record):
        if fact.owner in _ATTRIBUTED_STRUCTS or fact.owner == "name" or fact.owner in _ENTITY_KINDS:
            continue
        if isinstance(fact.item, Item) and any(fact.item.data.get(f) for f in _REPORTER_FIELDS):
            continue
        for cite in fact.citations:
            data = cite.data
            if "quote" not in data or data.get("hedge") or data.get("said_by") or data.get("said_by_label"):
                continue
            found = hedges_in(data["quote"])
            if found:
                out.append(
                    Problem(
                        cite.where("quote"),
                        f"the quote hedges ({', '.join(found)}) but the citation carries no "
                        "hedge or speaker: the graph would state it in its own voice",
                        WARNING,
                        record.id,
                        "audit.hedge",
                        found[0],
                        hint=f"add `hedge: {found[0]}` (or `said_by:` the speaker), or quote only the words that "
                        "state the fact",
                    )
                )
    return out


# --- dates -----------------------------------------------------------------------------------


def _date_fields(item: Item, owner_specs) -> Iterator[tuple[Item, str, DateSpec]]:
    """(item, field, date) for every date of an item and its nested items and claimed values."""
    for spec in owner_specs:
        value = item.data.get(spec.name)
        if value is None:
            continue
        if spec.base_type == "date":
            for v in value if isinstance(value, list) else [value]:
                if isinstance(v, Claimed):
                    yield item, spec.name, v.value
                elif isinstance(v, DateSpec):
                    yield item, spec.name, v
        elif spec.base_type == "struct":
            for v in value if spec.many else [value]:
                yield from _date_fields(v, schema.STRUCTS[spec.target].fields)


def _points(d: DateSpec) -> list[tuple[dt.date, str]]:
    if d.point is not None:
        return [(d.point.first, d.point.precision)]
    return [(day, d.range_precision) for day in (d.earliest, d.latest) if day is not None]


@functools.cache
def _month_words(month: int) -> tuple[str, str]:
    """A month's name and abbreviation, lowercased ("june", "jun."): made once each, since the
    calendar module formats a date for every name it is asked for."""
    return (calendar.month_name[month].lower(), calendar.month_abbr[month].lower() + ".")


@functools.cache
def _day_pattern(day: int, month: int) -> re.Pattern[str]:
    """A day beside its month's name, either way round ("23 june", "june 23rd"), compiled once."""
    months = "|".join(re.escape(m) for m in _month_words(month))
    return re.compile(rf"\b(?:{day}(?:st|nd|rd|th)? (?:{months})|(?:{months}) {day}(?:st|nd|rd|th)?)\b")


def mentioned(d: DateSpec, quotes: list[str]) -> bool:
    """Whether (normalised) quotes give this date: its `as_stated` words, or each end at its precision
    (a year; a month name; a day beside its month name: "June 23", "23 June"). A year the document
    leaves implicit ("June 21") is accepted, as data/README.md's judgement calls allow."""
    text = " | ".join(quotes).lower()
    if d.as_stated and all(part.strip().lower() in text for part in d.as_stated.split("…") if part.strip()):
        return True
    for day, precision in _points(d):
        if precision == YEAR:
            if str(day.year) not in text:
                return False
        elif precision == MONTH:
            if not any(m in text for m in _month_words(day.month)):
                return False
        elif not _day_pattern(day.day, day.month).search(text) and day.isoformat() not in text:
            return False
    return True


def _dates(record: Record, by_id: dict[str, Record]) -> list[Problem]:
    quotes = _quotes(record)
    ender = by_id.get(record.data.get("ended_by", ""))
    if ender is not None:
        quotes += _quotes(ender)
    out = []
    for item, name, d in _date_fields(record, schema.KINDS[record.kind].fields):
        if not mentioned(d, quotes):
            out.append(
                Problem(
                    item.where(name),
                    f"the date {d.label!r} is in none of the record's quotes",
                    WARNING,
                    record.id,
                    "audit.date",
                    d.label,
                    hint="cite the words that give the date (or correct the date to what the quotes say)",
                )
            )
    return out


def _id_dates(record: Record) -> list[Problem]:
    m = _ID_DAY.search(record.id)
    if m:
        precision, wanted = DAY, dt.date(int(m[1]), int(m[2]), int(m[3])) if _valid(m) else None
    else:
        m = _ID_MONTH.search(record.id)
        if not m or not 1 <= int(m[2]) <= 12:
            return []
        precision, wanted = MONTH, dt.date(int(m[1]), int(m[2]), 1)
    dates = [d for _, _, d in _date_fields(record, schema.KINDS[record.kind].fields)]
    if wanted is not None and (
        any(_has(d, wanted, precision) for d in dates) or _quoted(wanted, precision, _quotes(record))
    ):
        return []
    return [
        Problem(
            record.where("id"),
            f"the id reads as {m[0]}, which no date of the record has",
            WARNING,
            record.id,
            "audit.id-date",
            m[0],
            hint="ids never change: retire it (`deprecated: true`, `replaced_by:`) for one named after "
            "the date as the source gives it",
        )
    ]


def _quoted(wanted: dt.date, precision: str, quotes: list[str]) -> bool:
    """The id's day or month, with its year, in the record's quotes ("since at least January 2015")."""
    point = Point(wanted.isoformat() if precision == DAY else wanted.isoformat()[:7], precision, wanted, wanted)
    text = " | ".join(quotes)
    return str(wanted.year) in text and mentioned(DateSpec("on", point, wanted, wanted), quotes)


def _valid(m: re.Match) -> bool:
    try:
        dt.date(int(m[1]), int(m[2]), int(m[3]))
        return True
    except ValueError:
        return False


def _has(d: DateSpec, wanted: dt.date, precision: str) -> bool:
    """A date of the record stated at (at least) the id's precision and covering its day or month."""
    for day, p in _points(d):
        if precision == DAY and p == DAY and day == wanted:
            return True
        if precision == MONTH and p in (MONTH, DAY) and (day.year, day.month) == (wanted.year, wanted.month):
            return True
    return False


# --- paragraph coverage ------------------------------------------------------------------------


@dataclass(frozen=True)
class Paragraph:
    source: str  # the sources: id
    line: int  # 1-based line of the archived text
    opening: str  # its first words
    quotes: int  # quotes of the data that rest on it (wholly or in part)


def paragraph_coverage(dataset: Dataset, archive: Path) -> list[Paragraph]:
    """Every non-blank line (a paragraph in the seeds) of every archived source, with how many of the
    data's quotes fall on it."""
    quotes: dict[str, list[str]] = {}
    for record in dataset.records:
        for fact in _record_facts(record):
            for c in fact.citations:
                if "quote" in c.data:
                    quotes.setdefault(c.data["source"], []).append(normalize(c.data["quote"]))
    out = []
    for source in dataset.of_kind("source"):
        name = source.data.get("archived_as")
        if not name or not (archive / name).is_file():
            continue
        lines = (archive / name).read_text(encoding="utf-8").split("\n")
        spans, parts, at = [], [], 0
        for n, line in enumerate(lines, 1):
            text = normalize(line)
            if text:
                spans.append((at, at + len(text), n, text))
                parts.append(text)
                at += len(text) + 1
        joined = " ".join(parts)
        counts = {n: 0 for _, _, n, _ in spans}
        for q in quotes.get(source.id, []):
            i = joined.find(q)
            while i != -1:
                for start, end, n, _ in spans:
                    if start < i + len(q) and i < end:
                        counts[n] += 1
                i = joined.find(q, i + 1)
        out += [Paragraph(source.id, n, " ".join(text.split()[:6]), counts[n]) for _, _, n, text in spans]
    return out


def paragraph_table(paragraphs: list[Paragraph], reasons: dict[tuple[str, int], str]) -> str:
    """data/README.md's per-paragraph coverage table: a row per curated paragraph, and a row per run
    of left-out paragraphs with the curator's reason (`reasons`, keyed by (source, first line)); a run
    ends where the next left-out paragraph has its own reason. A left-out row with no reason is
    printed with an empty reason (the test refuses it). Then the totals per seed."""
    rows: list[list] = []  # [source, first, last, opening, quotes, reason]
    for p in paragraphs:
        last = rows[-1] if rows else None
        own = reasons.get((p.source, p.line))
        if p.quotes == 0 and last is not None and last[0] == p.source and last[4] == 0 and own is None:
            last[2] = p.line
            continue
        rows.append([p.source, p.line, p.line, p.opening, p.quotes, "" if p.quotes else (own or "")])
    out = ["| seed | lines | opens with | quotes | left out because |", "|---|---|---|---:|---|"]
    for source, first, last, opening, quotes, reason in rows:
        lines = str(first) if first == last else f"{first}–{last}"
        shown = opening.replace("|", "\\|")
        out.append(f"| `{source}` | {lines} | {shown} … | {quotes} | {reason or ('—' if quotes else '')} |")
    out += ["", "| seed | paragraphs | curated | left out | quotes |", "|---|---:|---:|---:|---:|"]
    totals = [0, 0, 0]
    for source in dict.fromkeys(p.source for p in paragraphs):
        mine = [p for p in paragraphs if p.source == source]
        curated = sum(1 for p in mine if p.quotes)
        quotes = sum(p.quotes for p in mine)
        totals = [totals[0] + len(mine), totals[1] + curated, totals[2] + quotes]
        out.append(f"| `{source}` | {len(mine)} | {curated} | {len(mine) - curated} | {quotes} |")
    out.append(f"| all | {totals[0]} | {totals[1]} | {totals[0] - totals[1]} | {totals[2]} |")
    return "\n".join(out) + "\n"


_ROW = re.compile(r"^\| `([a-z0-9-]+)` \| (\d+)(?:–\d+)? \| .* \| \d+ \| (.*) \|$")


def reasons_of(table: str) -> dict[tuple[str, int], str]:
    """The curator's reasons in a paragraph table, keyed by (source, first line)."""
    out = {}
    for line in table.splitlines():
        m = _ROW.match(line)
        if m and m[3].strip() not in ("", "—"):
            out[(m[1], int(m[2]))] = m[3].strip()
    return out
