"""Checks on what families type. Errors carry a translatable message and its values."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from bot.domain.markers import N_


class InputError(Exception):
    """A bad answer: `message` is a msgid marked with N_, `params` fill its placeholders."""

    def __init__(self, message: str, **params: Any) -> None:
        super().__init__(message)
        self.message = message
        self.params = params


@dataclass(frozen=True)
class FuzzyDate:
    """A date as precisely as the family knows it."""

    kind: str  # "date" | "month" | "year" | "age"
    text: str  # normalised for display: 12.03.2012, 03.2012, 2012, "9"
    estimate: date  # a single day to compute ages with

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "text": self.text, "estimate": self.estimate.isoformat()}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> FuzzyDate:
        return cls(raw["kind"], raw["text"], date.fromisoformat(raw["estimate"]))


_SEP = r"[./\-\s]"
_DMY = re.compile(rf"^(\d{{1,2}}){_SEP}(\d{{1,2}}){_SEP}(\d{{4}})$")
_YMD = re.compile(rf"^(\d{{4}}){_SEP}(\d{{1,2}}){_SEP}(\d{{1,2}})$")
_MY = re.compile(rf"^(\d{{1,2}}){_SEP}(\d{{4}})$")
_Y = re.compile(r"^(\d{4})$")
_AGE = re.compile(r"^~?\s*(\d{1,3})$")
EARLIEST_YEAR = 1900


def clean_text(raw: str | None, *, max_length: int) -> str:
    """Trimmed text of a bounded length, or an InputError explaining what to fix."""
    text = re.sub(r"[ \t]+", " ", (raw or "").strip())
    if not text:
        raise InputError(N_("Please answer with a text message."))
    if len(text) > max_length:
        raise InputError(
            N_("This is too long: {length} characters. Please keep it under {limit}."),
            length=len(text),
            limit=max_length,
        )
    return text


def _make_date(year: int, month: int, day: int) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise InputError(
            N_("This date does not exist. Please check the day and the month.")
        ) from None


def _check_range(value: date, today: date) -> None:
    if value > today:
        raise InputError(N_("This date is in the future. Please check it."))
    if value.year < EARLIEST_YEAR:
        raise InputError(N_("Please check the year: it looks too early."))


def parse_fuzzy_date(raw: str, today: date, *, allow_age: bool = False) -> FuzzyDate:
    """Parse 12.03.2012, 2012-03-12, 03.2012 or 2012; with allow_age, also an age like 9."""
    text = raw.strip()
    if m := _DMY.match(text):
        day, month, year = int(m[1]), int(m[2]), int(m[3])
    elif m := _YMD.match(text):
        year, month, day = int(m[1]), int(m[2]), int(m[3])
    else:
        day = 0
        if m := _MY.match(text):
            month, year = int(m[1]), int(m[2])
            if not 1 <= month <= 12:
                raise InputError(
                    N_("This date does not exist. Please check the day and the month.")
                )
            _check_range(date(year, month, 1), today)
            # Mid-month, but never later than today.
            estimate = min(date(year, month, 15), today)
            return FuzzyDate("month", f"{month:02d}.{year}", estimate)
        if m := _Y.match(text):
            year = int(m[1])
            _check_range(date(year, 1, 1), today)
            return FuzzyDate("year", str(year), min(date(year, 7, 1), today))
        if allow_age and (m := _AGE.match(text)):
            age = int(m[1])
            if age > 120:
                raise InputError(N_("Please check the age: it looks too high."))
            # Someone aged N today was born between N+1 and N years ago; take the middle.
            estimate = (
                _years_before(today, age)
                - (_years_before(today, age) - _years_before(today, age + 1)) / 2
            )
            return FuzzyDate("age", str(age), estimate)
        if allow_age:
            raise InputError(
                N_(
                    "Please write the date of birth as 12.03.2012, or only the year, "
                    "such as 2012, or the approximate age today in years, such as 9."
                )
            )
        raise InputError(
            N_(
                "Please write the date as 12.03.2022, or the month and year as 03.2022, or the year."
            )
        )
    value = _make_date(year, month, day)
    _check_range(value, today)
    return FuzzyDate("date", value.strftime("%d.%m.%Y"), value)


def _years_before(today: date, years: int) -> date:
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February
        return today.replace(year=today.year - years, day=28)


def age_on(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def is_now_adult(birth: FuzzyDate, separation: FuzzyDate, today: date) -> bool:
    """Under 18 when separated, 18 or older today: liaisons need to know."""
    return age_on(birth.estimate, separation.estimate) < 18 <= age_on(birth.estimate, today)


def check_separation_after_birth(birth: FuzzyDate | None, separation: FuzzyDate) -> None:
    if birth is not None and birth.kind != "age" and separation.estimate < birth.estimate:
        # Compare on the coarsest shared precision: a year-only birth may be any day of that year.
        if birth.kind == "date" or separation.estimate.year < birth.estimate.year:
            raise InputError(
                N_("The separation date is before the date of birth. Please check it.")
            )
