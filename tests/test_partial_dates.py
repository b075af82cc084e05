import datetime as dt

import pytest

from projects.partial_dates import PartialDate


@pytest.mark.parametrize(
    ("text", "date", "precision"),
    [
        ("2018", dt.date(2018, 1, 1), "year"),
        ("2018-05", dt.date(2018, 5, 1), "month"),
        ("2018-05-12", dt.date(2018, 5, 12), "day"),
        (" 2020-02-29 ", dt.date(2020, 2, 29), "day"),
    ],
)
def test_it_parses_years_months_and_days(text, date, precision):
    parsed = PartialDate.parse(text)
    assert (parsed.date, parsed.precision) == (date, precision)
    assert parsed.isoformat() == text.strip()


@pytest.mark.parametrize(
    "text", ["18", "2018-5", "2018/05", "2018-13", "2019-02-29", "May 2018", ""]
)
def test_it_rejects_what_is_not_a_partial_date(text):
    with pytest.raises(ValueError, match="date"):
        PartialDate.parse(text)


def test_a_model_attribute_reads_and_writes_both_columns(make_project):
    project = make_project(announced="2016-05")
    assert (project.announced_on, project.announced_precision) == (dt.date(2016, 5, 1), "month")
    assert str(project.announced) == "2016-05"
    project.announced = None
    assert project.announced_on is None and project.announced_precision == ""
