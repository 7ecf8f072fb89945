"""The requests as CSV for a verification body: only what it needs to trace the person.

Data minimisation: no requester name or contact, no health data. UTF-8 with a BOM so that
Excel shows Cyrillic, comma-separated, a header row, and no cell that a spreadsheet would
run as a formula.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from bot.exchange.records import Column

BOM = "\ufeff"


@dataclass(frozen=True)
class ExportCase:
    code: str  # our reference code, e.g. HW-7K3M-9Q
    status: str  # our status value, e.g. "in_tracing"
    name: str  # the person sought, as the family wrote it
    aliases: str | None  # other names and spellings
    sex: str | None
    birth_text: str | None  # as the family wrote it: "2012", "12.03.2012", "about 9 years old"
    birth_date: date | None  # when a full date is known
    birth_year: int | None  # the year, exact or estimated
    birth_place: str | None
    separation_date_text: str | None  # as the family wrote it
    separation_place: str | None
    last_location: str | None  # last known whereabouts
    features: str | None  # distinguishing features
    submitted_on: date  # when the family sent the request


EXPORT_COLUMNS: tuple[Column, ...] = (
    Column("code", "always", "Our reference code of the request; quote it in any reply."),
    Column("status", "always", "Our status of the request, e.g. in_tracing, located."),
    Column("name", "always", "Name of the person sought, as the family wrote it."),
    Column("aliases", "if known", "Other names and spellings."),
    Column("sex", "if known", "female or male."),
    Column("birth_text", "if known", "Birth date or age as the family wrote it."),
    Column("birth_date", "if known", "Full birth date, YYYY-MM-DD."),
    Column("birth_year", "if known", "Birth year, exact or estimated from an age."),
    Column("birth_place", "if known", "Place of birth."),
    Column("separation_date", "if known", "When the family was separated, as written."),
    Column("separation_place", "if known", "Where the family was separated."),
    Column("last_location", "if known", "Last known whereabouts."),
    Column("features", "if known", "Distinguishing features."),
    Column("submitted_on", "always", "Date the request was received, YYYY-MM-DD."),
)

# A cell starting with one of these is run by spreadsheets as a formula (or turned into one):
# it gets a leading apostrophe. Full-width forms too, which some spreadsheets fold.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")


def safe_cell(value: object) -> str:
    """The cell's text, made inert for spreadsheets (CSV formula injection)."""
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    text = str(value).replace("\x00", "")
    if text.lstrip(" ").startswith(FORMULA_STARTS):
        return "'" + text
    return text


def _cells(case: ExportCase) -> list[str]:
    values: list[object] = [
        case.code,
        case.status,
        case.name,
        case.aliases,
        case.sex,
        case.birth_text,
        case.birth_date,
        case.birth_year,
        case.birth_place,
        case.separation_date_text,
        case.separation_place,
        case.last_location,
        case.features,
        case.submitted_on,
    ]
    return [safe_cell(value) for value in values]


def requests_csv(cases: Iterable[ExportCase]) -> bytes:
    """The cases as CSV bytes: UTF-8 with BOM, comma-separated, CRLF, a header row."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=",", quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow([column.name for column in EXPORT_COLUMNS])
    for case in cases:
        writer.writerow(_cells(case))
    return (BOM + out.getvalue()).encode("utf-8")
