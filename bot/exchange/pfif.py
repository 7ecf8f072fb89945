"""The requests as PFIF 1.4 XML (People Finder Interchange Format, http://zesty.ca/pfif/1.4).

`pfif_document` writes person records, each with its notes nested, in the element order
of the specification, leaving out optional elements that are empty. `validate_pfif` checks
a document against `pfif-1.4.xsd` (written from the specification, next to this module);
it loads xmlschema only when called, so the running bot never imports it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import cache
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

if TYPE_CHECKING:
    import xmlschema

NAMESPACE = "http://zesty.ca/pfif/1.4"
SCHEMA_FILE = "pfif-1.4.xsd"


class Sex(StrEnum):
    FEMALE = "female"
    MALE = "male"
    OTHER = "other"


class NoteStatus(StrEnum):
    INFORMATION_SOUGHT = "information_sought"
    IS_NOTE_AUTHOR = "is_note_author"
    BELIEVED_ALIVE = "believed_alive"
    BELIEVED_MISSING = "believed_missing"
    BELIEVED_DEAD = "believed_dead"


_RECORD_ID = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.\-]*[A-Za-z0-9])?/\S.*", re.ASCII)
_DATE_OF_BIRTH = re.compile(r"\d{4}(?:-(?:0[1-9]|1[0-2])(?:-(?:0[1-9]|[12]\d|3[01]))?)?", re.ASCII)
_AGE = re.compile(r"\d+(?:-\d+)?", re.ASCII)
_COUNTRY = re.compile(r"[A-Z]{2}")


def _check_id(value: str, what: str) -> None:
    if not _RECORD_ID.fullmatch(value):
        raise ValueError(f"{what} must be domain/id")


@dataclass(frozen=True)
class PfifNote:
    note_record_id: str  # domain/id, e.g. homeward.example/HW-7K3M9Q.status
    person_record_id: str
    entry_date: datetime
    author_name: str
    source_date: datetime
    status: NoteStatus | str | None = None  # one of NoteStatus
    text: str = ""
    last_known_location: str | None = None
    linked_person_record_id: str | None = None  # the same person in another record
    author_made_contact: bool | None = None

    def __post_init__(self) -> None:
        _check_id(self.note_record_id, "note_record_id")
        _check_id(self.person_record_id, "person_record_id")
        if self.linked_person_record_id:
            _check_id(self.linked_person_record_id, "linked_person_record_id")
        if self.status is not None:
            NoteStatus(self.status)  # ValueError when not one of the five


@dataclass(frozen=True)
class PfifPerson:
    person_record_id: str  # domain/id, e.g. homeward.example/HW-7K3M9Q
    entry_date: datetime
    author_name: str
    source_name: str
    source_date: datetime
    full_name: str
    given_name: str | None = None
    family_name: str | None = None
    alternate_names: str | None = None
    description: str | None = None
    sex: Sex | str | None = None  # female, male or other; None when unknown
    date_of_birth: str | None = None  # YYYY, YYYY-MM or YYYY-MM-DD
    age: str | None = None  # "9" or "8-10"
    home_city: str | None = None
    home_state: str | None = None
    home_country: str | None = None  # ISO 3166-1 alpha-2, e.g. UA
    source_url: str | None = None
    photo_url: str | None = None
    expiry_date: datetime | None = None  # default: the document's now + expiry_days
    notes: tuple[PfifNote, ...] = ()

    def __post_init__(self) -> None:
        _check_id(self.person_record_id, "person_record_id")
        if self.sex:
            Sex(self.sex)
        if self.date_of_birth and not _DATE_OF_BIRTH.fullmatch(self.date_of_birth):
            raise ValueError("date_of_birth must be YYYY, YYYY-MM or YYYY-MM-DD")
        if self.age and not _AGE.fullmatch(self.age):
            raise ValueError("age must be a number or a range like 8-10")
        if self.home_country and not _COUNTRY.fullmatch(self.home_country):
            raise ValueError("home_country must be two capital letters")


def pfif_time(moment: datetime) -> str:
    """UTC as YYYY-MM-DDThh:mm:ssZ (a naive datetime is taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _text(value: str) -> str:
    return escape(_NOT_XML.sub("", value))


def _element(lines: list[str], indent: str, name: str, value: object) -> None:
    """One field, left out when empty."""
    if value is None:
        return
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, datetime):
        text = pfif_time(value)
    else:
        text = str(value).strip()
    if not text:
        return
    lines.append(f"{indent}<pfif:{name}>{_text(text)}</pfif:{name}>")


def _note(lines: list[str], indent: str, note: PfifNote) -> None:
    inner = indent + "  "
    lines.append(f"{indent}<pfif:note>")
    _element(lines, inner, "note_record_id", note.note_record_id)
    _element(lines, inner, "person_record_id", note.person_record_id)
    _element(lines, inner, "linked_person_record_id", note.linked_person_record_id)
    _element(lines, inner, "entry_date", note.entry_date)
    _element(lines, inner, "author_name", note.author_name)
    _element(lines, inner, "source_date", note.source_date)
    _element(lines, inner, "author_made_contact", note.author_made_contact)
    _element(lines, inner, "status", note.status)
    _element(lines, inner, "last_known_location", note.last_known_location)
    # text is required: written even when empty.
    lines.append(f"{inner}<pfif:text>{_text(note.text.strip())}</pfif:text>")
    lines.append(f"{indent}</pfif:note>")


def _person(lines: list[str], person: PfifPerson, expiry: datetime) -> None:
    indent = "    "
    lines.append("  <pfif:person>")
    _element(lines, indent, "person_record_id", person.person_record_id)
    _element(lines, indent, "entry_date", person.entry_date)
    _element(lines, indent, "expiry_date", person.expiry_date or expiry)
    _element(lines, indent, "author_name", person.author_name)
    _element(lines, indent, "source_name", person.source_name)
    _element(lines, indent, "source_date", person.source_date)
    _element(lines, indent, "source_url", person.source_url)
    # full_name is required: written even when empty.
    lines.append(f"{indent}<pfif:full_name>{_text(person.full_name.strip())}</pfif:full_name>")
    _element(lines, indent, "given_name", person.given_name)
    _element(lines, indent, "family_name", person.family_name)
    _element(lines, indent, "alternate_names", person.alternate_names)
    _element(lines, indent, "description", person.description)
    _element(lines, indent, "sex", person.sex)
    _element(lines, indent, "date_of_birth", person.date_of_birth)
    _element(lines, indent, "age", person.age)
    _element(lines, indent, "home_city", person.home_city)
    _element(lines, indent, "home_state", person.home_state)
    _element(lines, indent, "home_country", person.home_country)
    _element(lines, indent, "photo_url", person.photo_url)
    for note in person.notes:
        _note(lines, indent, note)
    lines.append("  </pfif:person>")


def pfif_document(persons: Sequence[PfifPerson], *, expiry_days: int = 365, now: datetime) -> bytes:
    """A PFIF 1.4 document (UTF-8) of these persons, each with its notes nested.

    A person without its own expiry_date expires `expiry_days` after `now`.
    """
    expiry = now + timedelta(days=expiry_days)
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', f'<pfif:pfif xmlns:pfif="{NAMESPACE}">']
    for person in persons:
        _person(lines, person, expiry)
    lines.append("</pfif:pfif>")
    return ("\n".join(lines) + "\n").encode("utf-8")


# --- validation (tests and the command line; never at import) -----------------------


@cache
def _schema() -> xmlschema.XMLSchema:
    from importlib.resources import files

    import xmlschema

    source = files(__package__ or "bot.exchange").joinpath(SCHEMA_FILE).read_text("utf-8")
    return xmlschema.XMLSchema(source)


def validate_pfif(xml: bytes) -> list[str]:
    """The problems of a PFIF 1.4 document against the schema; empty when it is valid."""
    import io

    import xmlschema

    schema = _schema()
    try:
        errors: list[Any] = list(schema.iter_errors(io.BytesIO(xml)))
    except (xmlschema.XMLResourceError, SyntaxError, ValueError) as error:
        return [f"not well-formed XML: {error}"]
    return [f"{error.path}: {error.reason}" for error in errors]
