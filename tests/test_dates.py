"""Dates keep the precision the source gives and get honest bounds."""

import re

import pytest

from pledgegraph.model.dates import DateError, parse_date


@pytest.mark.parametrize(
    "value, qualifier, earliest, latest, label",
    [
        ("2015", "on", "2015-01-01", "2015-12-31", "2015"),
        ("2015-02", "on", "2015-02-01", "2015-02-28", "2015-02"),
        ("2015-06-23", "on", "2015-06-23", "2015-06-23", "2015-06-23"),
        ({"by": "2015-04"}, "by", None, "2015-04-30", "by 2015-04"),
        ({"after": "2015-06-23"}, "after", "2015-06-24", None, "after 2015-06-23"),
        (
            {"from": "2014-11", "to": "2014-12", "as_stated": "November and December"},
            "between",
            "2014-11-01",
            "2014-12-31",
            "November and December",
        ),
        ({"in": "2014", "part": "late"}, "late", "2014-01-01", "2014-12-31", "late 2014"),
        ({"on": "2014", "approximate": True}, "approximate", "2014-01-01", "2014-12-31", "approximate 2014"),
    ],
)
def test_forms(value, qualifier, earliest, latest, label):
    d = parse_date(value)
    assert d.qualifier == qualifier
    assert (d.earliest.isoformat() if d.earliest else None) == earliest
    assert (d.latest.isoformat() if d.latest else None) == latest
    assert d.label == label


@pytest.mark.parametrize(
    "value",
    [
        "2015-1-01",
        "15",
        "2015-02-30",
        {"from": "2015"},
        {"by": "2015", "on": "2014"},
        {"from": "2015-02", "to": "2015-01"},
        {"in": "2014", "part": "autumn"},
    ],
)
def test_bad_dates_are_refused(value):
    with pytest.raises(DateError):
        parse_date(value)


# EDTF (ISO 8601-2): what a curator may write, what it means, and the EDTF each date publishes.
@pytest.mark.parametrize(
    "value, qualifier, earliest, latest, edtf",
    [
        ("2015-06-23", "on", "2015-06-23", "2015-06-23", "2015-06-23"),
        ("2015-04~", "approximate", "2015-04-01", "2015-04-30", "2015-04~"),
        ("[..2015-04]", "by", None, "2015-04-30", "[..2015-04]"),
        ("../2015-04", "by", None, "2015-04-30", "[..2015-04]"),
        ("2014-11/2014-12", "between", "2014-11-01", "2014-12-31", "[2014-11..2014-12]"),
        ("[2014-11..2014-12]", "between", "2014-11-01", "2014-12-31", "[2014-11..2014-12]"),
        (
            {"edtf": "2014-11/2015-02", "as_stated": "Starting in November 2014 … By February 2015"},
            "between",
            "2014-11-01",
            "2015-02-28",
            "[2014-11..2015-02]",
        ),
        ({"by": "2015-04"}, "by", None, "2015-04-30", "[..2015-04]"),
        ({"after": "2015-06-23"}, "after", "2015-06-24", None, "[2015-06-24..]"),
        ({"after": "2015-06"}, "after", "2015-07-01", None, "[2015-07..]"),
        ({"on": "2014", "approximate": True}, "approximate", "2014-01-01", "2014-12-31", "2014~"),
        ({"from": "2014", "to": "2015-02"}, "between", "2014-01-01", "2015-02-28", "[2014-01..2015-02]"),
    ],
)
def test_edtf_in_and_out(value, qualifier, earliest, latest, edtf):
    d = parse_date(value)
    assert d.qualifier == qualifier
    assert (d.earliest.isoformat() if d.earliest else None) == earliest
    assert (d.latest.isoformat() if d.latest else None) == latest
    assert d.edtf == edtf
    if d.qualifier != "after":  # what we publish reads back ("[X..]", on or after, is not an input form)
        again = parse_date(d.edtf)
        assert (again.earliest, again.latest) == (d.earliest, d.latest)


@pytest.mark.parametrize(
    "value, says",
    [
        ("2014?", "not a form curated dates use"),
        ("2015-21", "not a real calendar date"),
        ("[2015-06..]", "for 'after', write"),
        ("2015-06-23T10:00", "not a date"),
        ("../x", "not a date"),  # the edtf package's grammar crashes on it (TypeError), found by test_random_scalars
        ({"edtf": "../x"}, "not a date"),
        ("2015-02/2015-01", "ends (2015-01) before it starts"),
        ({"edtf": "2015", "on": "2015"}, "exactly one of"),
    ],
)
def test_edtf_forms_we_do_not_take_are_refused_with_the_forms_we_do(value, says):
    with pytest.raises(DateError, match=re.escape(says)):
        parse_date(value)
