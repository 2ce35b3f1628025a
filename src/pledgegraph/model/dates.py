"""Dates at the precision the source gives, with honest earliest/latest bounds for sorting.

Accepted forms (YAML):
  "2015" | "2015-06" | "2015-06-23"            on that year / month / day
  {on: "2014", approximate: true}               about then
  {by: "2015-04"}                               on or before
  {after: "2015-06-23"}                         strictly after
  {from: "2014-11", to: "2014-12"}              somewhere in that range
  {in: "2014", part: late}                      early / mid / late in a period
  "2014-11/2014-12", "[..2015-04]", "2015-04~"  EDTF (Library of Congress Extended Date/Time Format,
  {edtf: "2014-11/2014-12"}                     ISO 8601-2), read with the `edtf` package: see EDTF_FORMS
Any mapping may add `as_stated: "late 2014"`: the words of the source.

Every date also has its EDTF string (`DateSpec.edtf`), published beside the date node's bounds.
Any mapping may add `as_stated: "late 2014"`: the words of the source, and `forecast: true` for a
date the source gives as still to come (the loader refuses other dates after the dataset's own).
Every date lies in years 0001..9999, and no bound is computed outside them.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass, replace

DATE_PATTERN = r"^([0-9]{4})(?:-([0-9]{2})(?:-([0-9]{2}))?)?$"
_DATE_RE = re.compile(DATE_PATTERN)  # applied with fullmatch: "2010\n" is not a date
_EDTF_MARKS = re.compile(r"[/\[\]~?%]|\.\.")  # a string with these is read as EDTF

YEAR, MONTH, DAY = "year", "month", "day"
QUALIFIERS = ("on", "by", "after", "between", "early", "mid", "late", "approximate")
PARTS = ("early", "mid", "late")
DATE_KEYS = {"on", "by", "after", "from", "to", "in", "part", "approximate", "as_stated", "edtf", "forecast"}
# The shapes of those EDTF forms, for editors (the `edtf` package decides validity).
EDTF_PATTERN = (
    r"^(\d{4}(-\d{2}(-\d{2})?)?~"
    r"|\[?(\.\.)?\d{4}(-\d{2}(-\d{2})?)?((/|\.\.)\d{4}(-\d{2}(-\d{2})?)?)?\]?"
    r"|\.\./\d{4}(-\d{2}(-\d{2})?)?)$"
)
# The EDTF forms a curator may write, and the qualifier each becomes.
EDTF_FORMS = (
    '"2015-06-23" (on), "2015-04~" (approximately), "[..2015-04]" or "../2015-04" (by), '
    '"2014-11/2014-12" or "[2014-11..2014-12]" (somewhere between)'
)


class DateError(ValueError):
    """A date the format cannot read; the message says what form is expected."""


@dataclass(frozen=True, slots=True)
class Point:
    """A calendar date at year, month or day precision."""

    text: str
    precision: str
    first: dt.date
    last: dt.date


@dataclass(frozen=True, slots=True)
class DateSpec:
    qualifier: str
    point: Point | None
    earliest: dt.date | None
    latest: dt.date | None
    as_stated: str = ""
    range_precision: str = DAY  # of a `between` range: the finer of its two ends
    forecast: bool = False

    @property
    def edtf(self) -> str:
        """The date in EDTF (ISO 8601-2). A date known only to lie in a range is a one-of set
        (`[2014-11..2014-12]`, `[..2015-04]`), not an interval, which would mean it lasted that long.
        Early/mid/late have no EDTF form: their period is given."""
        q, p = self.qualifier, self.point
        if q == "between":
            assert self.earliest and self.latest  # a range has both ends
            return f"[{_edtf_point(self.earliest, self.precision)}..{_edtf_point(self.latest, self.precision)}]"
        assert p is not None  # every other qualifier states one date
        if q == "approximate":
            return p.text + "~"
        if q == "by":
            return f"[..{p.text}]"
        if q == "after":
            assert self.earliest
            return f"[{_edtf_point(self.earliest, p.precision)}..]"
        return p.text

    @property
    def precision(self) -> str:
        """The finest precision of the stated date(s)."""
        return self.point.precision if self.point else self.range_precision

    @property
    def label(self) -> str:
        if self.as_stated:
            return self.as_stated
        if self.qualifier == "between":
            assert self.earliest and self.latest
            return f"{self.earliest.isoformat()}/{self.latest.isoformat()}"
        assert self.point is not None
        if self.qualifier == "on":
            return self.point.text
        return f"{self.qualifier} {self.point.text}"


def parse_point(text: str) -> Point:
    m = _DATE_RE.fullmatch(text)
    if not m:
        shown = f"'{text}'" if text.isprintable() else repr(text)
        raise DateError(f"{shown} is not a date: write YYYY, YYYY-MM or YYYY-MM-DD, at the precision the source gives")
    year, month, day = int(m[1]), m[2], m[3]
    try:
        if day:
            d = dt.date(year, int(month), int(day))
            return Point(text, DAY, d, d)
        if month:
            mo = int(month)
            if not 1 <= mo <= 12:
                raise ValueError("month must be in 1..12")
            return Point(text, MONTH, dt.date(year, mo, 1), dt.date(year, mo, calendar.monthrange(year, mo)[1]))
        return Point(text, YEAR, dt.date(year, 1, 1), dt.date(year, 12, 31))
    except ValueError as e:
        raise DateError(f"'{text}' is not a real calendar date ({e})") from None


def _edtf_point(d: dt.date, precision: str) -> str:
    return {YEAR: d.isoformat()[:4], MONTH: d.isoformat()[:7]}.get(precision, d.isoformat())


def parse_edtf(text: str, as_stated: str = "") -> DateSpec:
    """Read an EDTF string (validated by the `edtf` package) as one of our date forms."""
    from edtf import parse_edtf as edtf_parse
    from edtf.parser.edtf_exceptions import EDTFParseException

    try:
        parsed = edtf_parse(text)
    except (EDTFParseException, TypeError, ValueError, AttributeError, IndexError):
        # the package's own exception for most strings it cannot read, but a crash inside its grammar for some
        # ('../x': TypeError, UncertainOrApproximate(**None), found by tests/test_random_scalars.py)
        raise DateError(
            f"'{text}' is not a date: write YYYY, YYYY-MM or YYYY-MM-DD at the precision the "
            f"source gives, or EDTF: {EDTF_FORMS}"
        ) from None
    kind = type(parsed).__name__
    if kind == "Date":
        p = parse_point(text)
        return DateSpec("on", p, p.first, p.last, as_stated)
    if kind == "UncertainOrApproximate" and parsed.is_approximate and not parsed.is_uncertain:
        p = parse_point(text.rstrip("~"))
        return DateSpec("approximate", p, p.first, p.last, as_stated)
    inner = text[1:-1] if text.startswith("[") and text.endswith("]") else text
    start, sep, end = inner.partition(".." if kind == "OneOfASet" else "/")
    if kind in ("OneOfASet", "Level1Interval", "Interval") and sep:
        if start in ("", "..") and _DATE_RE.fullmatch(end):
            p = parse_point(end)
            return DateSpec("by", p, None, p.last, as_stated)
        if _DATE_RE.fullmatch(start) and _DATE_RE.fullmatch(end):
            first, last = parse_point(start), parse_point(end)
            if last.last < first.first:
                raise DateError(f"the range ends ({end}) before it starts ({start})")
            return DateSpec(
                "between", None, first.first, last.last, as_stated, _finest(first.precision, last.precision)
            )
    raise DateError(
        f"'{text}' is valid EDTF, but not a form curated dates use here: {EDTF_FORMS}; "
        "for 'after', write {after: \"2015-06-23\"}"
    )


def _finest(a: str, b: str) -> str:
    order = (YEAR, MONTH, DAY)
    return max(a, b, key=order.index)


def parse_date(value: object) -> DateSpec:
    """Read a date field from its YAML value (a string or a mapping of strings)."""
    spec = _parse_date(value)
    if isinstance(value, dict) and "forecast" in value:
        if value["forecast"] not in (True, False):
            raise DateError("forecast must be true or false")
        spec = replace(spec, forecast=value["forecast"])
    return spec


def _parse_date(value: object) -> DateSpec:
    if isinstance(value, str):
        if _EDTF_MARKS.search(value):
            return parse_edtf(value)
        p = parse_point(value)  # says what is wrong, with the ISO form as a hint
        return DateSpec("on", p, p.first, p.last)
    if not isinstance(value, dict):
        raise DateError('a date is a string like "2015-06-23" or a mapping such as {by: "2015-04"}')
    unknown = set(value) - DATE_KEYS
    if unknown:
        raise DateError(
            f"unknown date key(s) {', '.join(sorted(unknown))}; use one of "
            "on, by, after, from/to, in/part, approximate, as_stated"
        )
    as_stated = value.get("as_stated", "")
    if not isinstance(as_stated, str):
        raise DateError("as_stated must be text")
    forms = [k for k in ("on", "by", "after", "from", "in", "edtf") if k in value]
    if len(forms) != 1:
        raise DateError("a date mapping takes exactly one of on, by, after, from (with to), in (with part), edtf")
    if forms == ["edtf"]:
        if not isinstance(value["edtf"], str) or set(value) - {"edtf", "as_stated", "forecast"}:
            raise DateError('edtf takes a quoted EDTF string and nothing but as_stated: {edtf: "2014-11/2014-12"}')
        return parse_edtf(value["edtf"], as_stated)
    form = forms[0]
    for key in ("on", "by", "after", "from", "to", "in"):
        if key in value and not isinstance(value[key], str):
            raise DateError(f"'{key}' must be a quoted date string like \"2015-06\"")
    approximate = value.get("approximate", False)
    if approximate not in (True, False):
        raise DateError("approximate must be true or false")
    if approximate and form != "on":
        raise DateError('approximate goes with on: {on: "2014", approximate: true}')
    if ("to" in value) != (form == "from"):
        raise DateError('from and to go together: {from: "2014-11", to: "2014-12"}')
    if ("part" in value) != (form == "in"):
        raise DateError('in and part go together: {in: "2014", part: late}')

    if form == "on":
        p = parse_point(value["on"])
        return DateSpec("approximate" if approximate else "on", p, p.first, p.last, as_stated)
    if form == "by":
        p = parse_point(value["by"])
        return DateSpec("by", p, None, p.last, as_stated)
    if form == "after":
        p = parse_point(value["after"])
        if p.last == dt.date.max:
            raise DateError(f"nothing comes after {p.text} in this calendar (years 0001 to 9999)")
        return DateSpec("after", p, p.last + dt.timedelta(days=1), None, as_stated)
    if form == "from":
        start, end = parse_point(value["from"]), parse_point(value["to"])
        if end.last < start.first:
            raise DateError(f"the range ends ({end.text}) before it starts ({start.text})")
        return DateSpec("between", None, start.first, end.last, as_stated, _finest(start.precision, end.precision))
    part = value["part"]
    if part not in PARTS:
        raise DateError(f"part must be one of {', '.join(PARTS)}")
    p = parse_point(value["in"])
    return DateSpec(part, p, p.first, p.last, as_stated)


_MONTHS = {
    name: i
    for i, names in enumerate(
        [
            (),
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ]
    )
    for name in names
}
_NUMERIC = re.compile(r"([0-9]{1,4})[/.\-]([0-9]{1,2})[/.\-]([0-9]{1,4})", re.ASCII)
_WORDS = re.compile(
    r"(?:([0-9]{1,2})(?:st|nd|rd|th)?\s+)?([A-Za-z]+)\.?"  # [21] June
    r"(?:\s+([0-9]{1,2})(?:st|nd|rd|th)?,?)?\s+([0-9]{4})",
    re.ASCII,
)  # [21,] 2015


def iso_forms(text: str) -> list[str]:
    """The ISO forms a date written another common way may mean ("02/05/2016" -> day first
    2016-05-02, or month first 2016-02-05; "June 21, 2015" -> 2015-06-21); [] if none."""
    if _DATE_RE.fullmatch(text.strip()):  # a stray space or line break (e.g. from `date: >`)
        return [text.strip()] if text != text.strip() else []
    text = text.strip()
    out: list[str] = []

    def add(y: int, m: int, d: int | None = None) -> None:
        try:
            dt.date(y, m, d or 1)
        except ValueError:
            return
        iso = f"{y:04d}-{m:02d}" + (f"-{d:02d}" if d else "")
        if iso not in out:
            out.append(iso)

    if m := _NUMERIC.fullmatch(text):
        a, b, c = m.groups()
        if len(a) == 4:  # 2016/05/02
            add(int(a), int(b), int(c))
        elif len(c) == 4:  # 02/05/2016: day first (most of the world), then month first
            add(int(c), int(b), int(a))
            add(int(c), int(a), int(b))
    elif m := _WORDS.fullmatch(text):
        day_before, month, day_after, year = m.groups()
        month_no = _MONTHS.get(month.lower())
        day = day_before or day_after
        if month_no and not (day_before and day_after):
            add(int(year), month_no, int(day) if day else None)
    elif re.fullmatch(r"[0-9]{4}-[0-9]{1,2}(-[0-9]{1,2})?", text):  # 2015-6-1
        parts = [int(x) for x in text.split("-")]
        add(*parts)
    return out
