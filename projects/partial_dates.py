"""Partial dates: a year, a year and month, or a full day, written as ISO strings.

Stored as a date (the first day of the period) plus a precision, so that they sort, compare
and index like dates while remembering how much the source actually said.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.db import models

PARTIAL_DATE_RE = re.compile(r"^(?P<year>\d{4})(?:-(?P<month>\d{2})(?:-(?P<day>\d{2}))?)?$")


class Precision(models.TextChoices):
    YEAR = "year", "Year"
    MONTH = "month", "Month"
    DAY = "day", "Day"


@dataclass(frozen=True, order=True)
class PartialDate:
    date: dt.date
    precision: str

    @classmethod
    def parse(cls, text: str) -> PartialDate:
        """Parse "2018", "2018-05" or "2018-05-12"; raise ValueError naming the problem."""
        match = PARTIAL_DATE_RE.match(text.strip()) if isinstance(text, str) else None
        if match is None:
            raise ValueError(f"{text!r} is not a date of the form YYYY, YYYY-MM or YYYY-MM-DD")
        year, month, day = match["year"], match["month"], match["day"]
        precision = Precision.DAY if day else Precision.MONTH if month else Precision.YEAR
        try:
            date = dt.date(int(year), int(month or 1), int(day or 1))
        except ValueError as error:
            raise ValueError(f"{text!r} is not a valid date: {error}") from None
        return cls(date=date, precision=str(precision))

    def isoformat(self) -> str:
        if self.precision == Precision.YEAR:
            return f"{self.date.year:04d}"
        if self.precision == Precision.MONTH:
            return f"{self.date.year:04d}-{self.date.month:02d}"
        return self.date.isoformat()

    def __str__(self) -> str:
        return self.isoformat()


def partial_date_property(name: str) -> property:
    """The partial date kept in the columns `<name>_on` and `<name>_precision`.

    A property (not a custom descriptor) so that `Model(<name>="2018-05")` works too.
    """
    date_field, precision_field = f"{name}_on", f"{name}_precision"

    def get(instance) -> PartialDate | None:
        date = getattr(instance, date_field)
        if date is None:
            return None
        return PartialDate(date=date, precision=getattr(instance, precision_field))

    def set(instance, value: PartialDate | str | None) -> None:
        if isinstance(value, str):
            value = PartialDate.parse(value) if value.strip() else None
        setattr(instance, date_field, value.date if value else None)
        setattr(instance, precision_field, value.precision if value else "")

    return property(get, set, doc=f"The {name} date, as precise as the source.")


def partial_date_fields(verbose_name: str) -> tuple[models.DateField, models.CharField]:
    """The two columns behind a partial date."""
    return (
        models.DateField(
            f"{verbose_name} (first day of the period)",
            null=True,
            blank=True,
            db_index=True,
        ),
        models.CharField(
            f"{verbose_name} precision", max_length=5, choices=Precision.choices, blank=True
        ),
    )


def partial_date_constraint(model_name: str, name: str) -> models.CheckConstraint:
    """A partial date is either absent, or a date whose precision matches its value."""
    on, precision = f"{name}_on", f"{name}_precision"
    return models.CheckConstraint(
        condition=(
            models.Q(**{f"{on}__isnull": True, precision: ""})
            | models.Q(**{f"{on}__isnull": False, precision: Precision.DAY})
            | models.Q(**{f"{on}__isnull": False, precision: Precision.MONTH, f"{on}__day": 1})
            | models.Q(
                **{
                    f"{on}__isnull": False,
                    precision: Precision.YEAR,
                    f"{on}__month": 1,
                    f"{on}__day": 1,
                }
            )
        ),
        name=f"{model_name}_{name}_partial_date_valid",
        violation_error_message=f"{name.capitalize()} must be a year, a year and month or a day.",
    )
