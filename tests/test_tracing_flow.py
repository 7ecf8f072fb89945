"""The tracing work through the bot: /find, possible matches on the case card, list
import by document and from the command line, export (CSV, PFIF), the dossier."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.exchange.pfif import validate_pfif
from bot.exchange.records import read_records
from bot.i18n import CatalogI18n
from bot.services import records, tracing
from bot.services.refusal import NotPermitted
from bot.services.uow import UnitOfWork
from storage.models import AuditEntry, PersonRecord, PossibleMatch, TracingRequest, User
from tests import updates as U
from tests.conftest import Harness, make_harness
from tests.families import request_row

ADMIN = 900
LIAISON = 901  # not a liaison at all: an outsider with a forged button
FAMILIES = (7001, 7002, 7003, 7004)


@pytest.fixture
async def staff(engine: AsyncEngine, i18n: CatalogI18n) -> Harness:
    return make_harness(engine, i18n, admin_ids=frozenset({ADMIN}))


def calls(h: Harness, name: str) -> list[Any]:
    return [c for c in h.session.calls if type(c).__name__ == name]


PEOPLE = [
    # code, name, aliases, sex, birth (kind, text, date), places
    ("HW-2222-22", "Ковальчук Олександр Петрович", "Сашко", "male", "2012-03-14", "Маріуполь"),
    ("HW-3333-33", "Шевченко Катерина", None, "female", "2015", "Херсон"),
    ("HW-4444-44", "Коваленко Марія Іванівна", None, "female", "2009-11-02", "Бахмут"),
    # Another family, another spelling of the first one: a possible match.
    ("HW-5555-55", "Aleksandr Kovalchuk", "Sasha", "male", "2012", "Mariupol"),
]


async def seed(engine: AsyncEngine) -> dict[str, int]:
    now = datetime.now(UTC)
    rows = []
    for family, (code, name, aliases, sex, birth, place) in zip(FAMILIES, PEOPLE, strict=True):
        if len(birth) == 4:
            kind, estimate = "year", datetime(int(birth), 7, 1).date()
        else:
            kind, estimate = "date", datetime.fromisoformat(birth).date()
        rows.append(
            request_row(
                code,
                family,
                "in_tracing",
                now,
                sought_name=name,
                sought_aliases=aliases,
                sought_sex=sex,
                birth_kind=kind,
                birth_text=birth,
                birth_estimate=estimate,
                birth_place=place,
                separation_place=place,
                match_pending=True,
            )
        )
    async with engine.begin() as conn:
        await conn.execute(
            insert(User), [{"id": f, "locale": "uk", "created_at": now} for f in FAMILIES]
        )
        await conn.execute(insert(TracingRequest), rows)
        ids = dict((await conn.execute(select(TracingRequest.code, TracingRequest.id))).all())
    await tracing.match_everything_pending(UnitOfWork(engine))
    return ids


async def test_find_by_name_in_another_alphabet_code_and_year(staff: Harness) -> None:
    await seed(staff.engine)
    await staff.feed(U.text(ADMIN, "/find Kovalchuk Oleksandr"))
    shown = staff.session.texts(ADMIN)[-1]
    assert "HW-2222-22" in shown and "Ковальчук Олександр Петрович" in shown
    assert "HW-3333-33" not in shown
    staff.session.clear()
    await staff.feed(U.text(ADMIN, "/find Катерина Шевченко"))
    assert "HW-3333-33" in staff.session.texts(ADMIN)[-1]
    staff.session.clear()
    await staff.feed(U.text(ADMIN, "/find hw 4444 44"))
    assert "Коваленко Марія Іванівна" in staff.session.texts(ADMIN)[-1]
    staff.session.clear()
    await staff.feed(U.text(ADMIN, "/find 2009"))
    listing = staff.session.texts(ADMIN)[-1]
    assert "HW-4444-44" in listing and "HW-2222-22" not in listing
    staff.session.clear()
    await staff.feed(U.text(ADMIN, "/find Zzyzx Qwrtpl"))
    assert "Nothing found" in staff.session.texts(ADMIN)[-1]
    await staff.feed(U.text(ADMIN, "/find"))
    assert "/find Kovalchuk Oleksandr" in staff.session.texts(ADMIN)[-1]
    # Searches are audited (who, not what: the text is a child's name).
    async with staff.engine.connect() as conn:
        targets = (
            await conn.scalars(select(AuditEntry.target).where(AuditEntry.action == "find"))
        ).all()
    assert len(targets) == 5 and set(targets) == {None}


async def test_find_pages_keep_the_query(staff: Harness) -> None:
    now = datetime.now(UTC)
    async with staff.engine.begin() as conn:
        await conn.execute(insert(User), [{"id": 6000, "locale": "uk", "created_at": now}])
        await conn.execute(
            insert(TracingRequest),
            [
                request_row(
                    f"HW-7{c}{c}{c}-22",
                    6000,
                    "in_review",
                    now,
                    sought_name=f"Бондаренко {n}",
                    match_pending=True,
                )
                for c, n in zip(
                    "2345678",
                    ("Іван", "Петро", "Олена", "Ганна", "Юрій", "Сергій", "Андрій"),
                    strict=True,
                )
            ],
        )
    await tracing.match_everything_pending(UnitOfWork(staff.engine))
    await staff.feed(U.text(ADMIN, "/find Bondarenko"))
    first = staff.session.texts(ADMIN)[-1]
    assert "7 requests found" in first and "Page 1 of 2" in first
    await staff.feed(U.press(ADMIN, "fd1:1"))
    second = staff.session.texts(ADMIN)[-1]
    assert "Page 2 of 2" in second and second.count("Бондаренко") == 2


async def test_possible_match_is_shown_confirmed_and_linked(staff: Harness) -> None:
    ids = await seed(staff.engine)
    async with staff.engine.connect() as conn:
        matches = (await conn.execute(select(PossibleMatch))).all()
    pair = {(m.request_id, m.other_id) for m in matches if m.other_kind == "q"}
    assert (ids["HW-2222-22"], ids["HW-5555-55"]) in pair
    assert all(ids["HW-3333-33"] not in p for p in pair)

    await staff.feed(U.text(ADMIN, "/case HW-5555-55"))
    card = staff.session.texts(ADMIN)[-1]
    assert "Possible matches" in card and "HW-2222-22" in card
    match_id = next(m.id for m in matches if m.other_id == ids["HW-5555-55"])
    # A family member, or anyone not on the team, can't confirm it with a forged button.
    staff.session.clear()
    await staff.feed(U.press(LIAISON, f"mt1:same:{match_id}"))
    assert [c.text for c in calls(staff, "AnswerCallbackQuery")] == [
        "This button is no longer active."
    ]
    await staff.feed(U.press(ADMIN, f"mt1:same:{match_id}"))
    assert "HW-2222-22 leads" in calls(staff, "AnswerCallbackQuery")[-1].text
    async with staff.engine.connect() as conn:
        lead = await conn.scalar(
            select(TracingRequest.lead_request_id).where(TracingRequest.code == "HW-5555-55")
        )
        actions = (
            await conn.execute(
                select(AuditEntry.action, AuditEntry.target, AuditEntry.allowed).where(
                    AuditEntry.action.like("match%")
                )
            )
        ).all()
    assert lead == ids["HW-2222-22"]
    assert ("match_confirm", "case:HW-2222-22", True) in actions
    assert ("match_confirm", "case:HW-5555-55", True) in actions
    await staff.feed(U.text(ADMIN, "/case HW-2222-22"))
    assert "this case leads" in staff.session.texts(ADMIN)[-1]
    # Pressed again: already decided, said so, and audited as refused.
    staff.session.clear()
    await staff.feed(U.press(ADMIN, f"mt1:not:{match_id}"))
    assert [c.text for c in calls(staff, "AnswerCallbackQuery")] == [
        "This possible match has already been decided."
    ]
    async with staff.engine.connect() as conn:
        state = await conn.scalar(select(PossibleMatch.state).where(PossibleMatch.id == match_id))
    assert state == "confirmed"
    # No family was told anything about another family.
    assert not [c for c in staff.session.calls if getattr(c, "chat_id", None) in FAMILIES]


def _list_csv(rows: list[str]) -> bytes:
    header = "source,source_id,surname,first_name,patronymic,sex,birth_date,current_place,status,welfare,photos"
    return ("\n".join([header, *rows]) + "\n").encode()


GOOD = "UA-VB,77,Ковальчук,Олександр,Петрович,m,14.03.2012,Ростов-на-Дону,located,Здоровий,a.png"
BAD_DATE = "UA-VB,78,Шевченко,Катерина,,f,31.02.2015,Херсон,located,,"
NO_NAME = "UA-VB,79,,,,f,2014,Херсон,located,,"


def _png() -> bytes:
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = zlib.compress(b"\x00\xff\x00\x00" * 1)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", raw)
        + chunk(b"IEND", b"")
    )


def _zip(csv_bytes: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("list.csv", csv_bytes)
        archive.writestr("a.png", _png())
    return buffer.getvalue()


async def test_import_by_document_names_bad_rows_and_matches(staff: Harness) -> None:
    ids = await seed(staff.engine)
    staff.session.files["list1"] = _zip(_list_csv([GOOD, BAD_DATE, NO_NAME]))
    await staff.feed(U.document(ADMIN, "list1", "list.zip", caption="/import"))
    report = "\n".join(staff.session.texts(ADMIN))
    assert "1 new record" in report
    assert "2 lines were not imported" in report
    assert "line 3, birth_date" in report and "line 4" in report
    assert "possible match" in report
    async with staff.engine.connect() as conn:
        stored = (await conn.execute(select(PersonRecord))).all()
        linked = (
            await conn.scalars(
                select(PossibleMatch.request_id).where(PossibleMatch.other_kind == "r")
            )
        ).all()
    assert [(r.source, r.source_id, r.name) for r in stored] == [
        ("UA-VB", "77", "Ковальчук Олександр Петрович")
    ]
    assert ids["HW-2222-22"] in linked and ids["HW-3333-33"] not in linked
    # The same list again: nothing new, nothing doubled.
    staff.session.clear()
    staff.session.files["list2"] = staff.session.files["list1"]
    await staff.feed(U.document(ADMIN, "list2", "list.zip", caption="/import"))
    assert "1 record already up to date" in "\n".join(staff.session.texts(ADMIN))
    async with staff.engine.connect() as conn:
        assert await conn.scalar(select(func.count()).select_from(PersonRecord)) == 1
    # Without a file, or with the wrong kind of file: told what to send.
    staff.session.clear()
    await staff.feed(U.text(ADMIN, "/import"))
    assert "/import" in staff.session.texts(ADMIN)[-1]
    await staff.feed(U.document(ADMIN, "x", "photo.jpg", caption="/import"))
    assert ".csv" in staff.session.texts(ADMIN)[-1]
    # The card of the matched case shows the record, and the dossier carries it.
    await staff.feed(U.text(ADMIN, "/case HW-2222-22"))
    assert "record <code>77</code> from UA-VB" in staff.session.texts(ADMIN)[-1]


async def test_import_from_the_command_line_service(engine: AsyncEngine) -> None:
    await seed(engine)
    uow = UnitOfWork(engine)
    parsed = read_records("list.csv", _list_csv([GOOD.replace(",a.png", ","), BAD_DATE]))
    report = await records.import_records(uow, records.CLI_ACTOR, None, parsed)
    assert (report.created, report.rejected_lines) == (1, 1)
    again = await records.import_records(uow, records.CLI_ACTOR, None, parsed)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 1)
    # An outsider can't import through the bot's service.
    with pytest.raises(NotPermitted):
        await records.import_records(uow, 555, frozenset({ADMIN}), parsed)


async def test_export_csv_and_valid_pfif(staff: Harness) -> None:
    await seed(staff.engine)
    await staff.feed(U.text(ADMIN, "/export"))
    documents = calls(staff, "SendDocument")
    assert len(documents) == 2
    table = documents[0].document.data.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(table)))
    assert {row["code"] for row in rows} == {p[0] for p in PEOPLE}
    assert "Ковальчук Олександр Петрович" in table
    assert "Requester" not in table  # no requester names or contacts leave
    xml = documents[1].document.data
    assert validate_pfif(xml) == []
    assert "Шевченко Катерина".encode() in xml
    staff.session.clear()
    await staff.feed(U.text(ADMIN, "/export HW-3333-33"))
    one = calls(staff, "SendDocument")[0].document.data.decode("utf-8-sig")
    assert "HW-3333-33" in one and "HW-2222-22" not in one
    await staff.feed(U.text(ADMIN, "/export no_such_status"))
    assert "/export in_tracing" in staff.session.texts(ADMIN)[-1]


async def test_dossier_is_a_pdf_with_the_names_in_cyrillic(staff: Harness) -> None:
    from pypdf import PdfReader

    await seed(staff.engine)
    await staff.feed(U.text(ADMIN, "/dossier HW-2222-22"))
    sent = calls(staff, "SendDocument")
    assert len(sent) == 1
    pdf = sent[0].document.data
    assert pdf.startswith(b"%PDF")
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "Ковальчук Олександр Петрович" in text
    async with staff.engine.connect() as conn:
        audited = await conn.scalar(select(AuditEntry.target).where(AuditEntry.action == "dossier"))
    assert audited == "case:HW-2222-22"
    await staff.feed(U.text(ADMIN, "/dossier HW-9999-99"))
    assert staff.session.texts(ADMIN)[-1] == "There is no case HW-9999-99."


async def test_new_information_from_the_family_is_matched_again(engine: AsyncEngine) -> None:
    from bot.services import families

    ids = await seed(engine)
    uow = UnitOfWork(engine)
    await families.add_followup(uow, FAMILIES[1], ids["HW-3333-33"], "Вона могла бути в Одесі")
    async with engine.connect() as conn:
        pending = (
            await conn.scalars(
                select(TracingRequest.code).where(TracingRequest.match_pending.is_(True))
            )
        ).all()
    assert pending == ["HW-3333-33"]
    assert (await tracing.match_pending(uow)).processed == 1
