"""Dates keep the precision the source gives and get honest bounds."""

import pytest

from pledgegraph.dates import DateError, parse_date


@pytest.mark.parametrize("value, qualifier, earliest, latest, label", [
    ("2015", "on", "2015-01-01", "2015-12-31", "2015"),
    ("2015-02", "on", "2015-02-01", "2015-02-28", "2015-02"),
    ("2015-06-23", "on", "2015-06-23", "2015-06-23", "2015-06-23"),
    ({"by": "2015-04"}, "by", None, "2015-04-30", "by 2015-04"),
    ({"after": "2015-06-23"}, "after", "2015-06-24", None, "after 2015-06-23"),
    ({"from": "2014-11", "to": "2014-12", "as_stated": "November and December"}, "between",
     "2014-11-01", "2014-12-31", "November and December"),
    ({"in": "2014", "part": "late"}, "late", "2014-01-01", "2014-12-31", "late 2014"),
    ({"on": "2014", "approximate": True}, "approximate", "2014-01-01", "2014-12-31", "approximate 2014"),
])
def test_forms(value, qualifier, earliest, latest, label):
    d = parse_date(value)
    assert d.qualifier == qualifier
    assert (d.earliest.isoformat() if d.earliest else None) == earliest
    assert (d.latest.isoformat() if d.latest else None) == latest
    assert d.label == label


@pytest.mark.parametrize("value", ["2015-1-01", "15", "2015-02-30", {"from": "2015"}, {"by": "2015", "on": "2014"},
                                   {"from": "2015-02", "to": "2015-01"}, {"in": "2014", "part": "autumn"}])
def test_bad_dates_are_refused(value):
    with pytest.raises(DateError):
        parse_date(value)
