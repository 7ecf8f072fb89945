"""The audit log: every read of a case's personal data is on record (who, when, which
case), and admins read it in words with /audit CODE and /audit USER_ID."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.i18n import CatalogI18n, format_day
from bot.services import access, records, tracing
from bot.services.refusal import NotPermitted
from bot.services.uow import UnitOfWork
from handlers.family.fallback import unknown_text
from storage.models import AuditEntry
from tests import updates as U
from tests.conftest import Harness, make_harness
from tests.test_tracing_flow import seed

ADMIN, LIAISON, OUTSIDER = 900, 901, 555
ADMINS = frozenset({ADMIN})
CODE_RE = re.compile(r"HW-[2-9A-Z]{4}-[2-9A-Z]{2}")

Row = tuple[int, str, str | None, bool]


@pytest.fixture
async def office(engine: AsyncEngine, i18n: CatalogI18n) -> Harness:
    h = make_harness(engine, i18n, admin_ids=ADMINS)
    await h.feed(U.text(ADMIN, f"/grant {LIAISON}"))
    await seed(engine)
    return h


async def audit_rows(engine: AsyncEngine) -> list[Row]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(
                AuditEntry.actor_id, AuditEntry.action, AuditEntry.target, AuditEntry.allowed
            ).order_by(AuditEntry.id)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


async def by(engine: AsyncEngine, actor: int) -> list[tuple[str, str | None]]:
    return [(action, target) for a, action, target, _ok in await audit_rows(engine) if a == actor]


async def reads_of_a_liaison(office: Harness) -> list[str]:
    """The liaison opens a case, searches, exports two and looks at the queue; the codes
    the search showed."""
    await office.feed(U.text(LIAISON, "/case HW-2222-22"))
    await office.feed(U.text(LIAISON, "/find Kovalchuk Oleksandr"))
    found = CODE_RE.findall(office.session.texts(LIAISON)[-1])
    await office.feed(U.text(LIAISON, "/export HW-3333-33 HW-4444-44"))
    await office.feed(U.text(LIAISON, "/queue"))
    return list(dict.fromkeys(found))


async def test_every_read_of_a_case_is_recorded_with_who_and_which_case(
    office: Harness,
) -> None:
    found = await reads_of_a_liaison(office)
    assert "HW-2222-22" in found
    await records.dossier_data(UnitOfWork(office.engine), LIAISON, ADMINS, "HW-2222-22")
    rows = await by(office.engine, LIAISON)
    assert rows[:2] == [("open", "case:HW-2222-22"), ("find", None)]
    shown = rows[2 : 2 + len(found)]
    assert sorted(shown) == sorted(("find_result", f"case:{code}") for code in found)
    assert rows[2 + len(found) :] == [
        ("records_export", "requests:2"),
        ("export", "case:HW-3333-33"),
        ("export", "case:HW-4444-44"),
        ("queue", None),  # codes and flags, no names: one row for the page
        ("dossier", "case:HW-2222-22"),
    ]
    # Ids and codes only: the search text and the names stay out of the log.
    assert not any("Kovalchuk" in str(target) for _action, target in rows)


async def test_a_search_records_the_cases_of_the_page_shown_only(
    office: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tracing, "PAGE_SIZE", 1)
    uow = UnitOfWork(office.engine)
    page = await tracing.find(uow, LIAISON, ADMINS, "Kovalchuk Oleksandr", page=1)
    assert page.pages > 1 and len(page.items) == 1
    assert await by(office.engine, LIAISON) == [
        ("find", None),
        ("find_result", f"case:{page.items[0].code}"),
    ]


async def test_an_export_at_the_server_is_recorded_per_case_too(engine: AsyncEngine) -> None:
    await seed(engine)
    selection = records.Selection(codes=("HW-2222-22", "HW-5555-55"))
    export = await records.export_requests(UnitOfWork(engine), 0, None, selection)
    assert [case.code for case in export.cases] == ["HW-2222-22", "HW-5555-55"]
    assert await by(engine, 0) == [
        ("records_export", "requests:2"),
        ("export", "case:HW-2222-22"),
        ("export", "case:HW-5555-55"),
    ]


async def test_admins_read_a_case_trail_in_words_in_their_language(
    office: Harness, i18n: CatalogI18n
) -> None:
    await reads_of_a_liaison(office)
    today = datetime.now(UTC)
    office.session.clear()
    await office.feed(U.text(ADMIN, "/audit HW-3333-33"))
    trail = office.session.texts(ADMIN)[0]
    lines = trail.splitlines()
    assert lines[:2] == ["<b>Audit trail of HW-3333-33</b>", "Newest first."]
    assert lines[2].endswith(f"{LIAISON} · exported the case")
    assert lines[2].startswith(format_day(today, "en"))
    assert "Шевченко" not in trail  # what was done, never the personal data itself

    office.session.clear()
    await office.feed(U.text(ADMIN, "/audit HW-2222-22", "uk"))
    trail = office.session.texts(ADMIN)[0]
    for action in ("opened the case", "searched and saw it in the results"):
        assert f"{LIAISON} · {i18n.gettext(action, locale='uk')}" in trail
    assert format_day(today, "uk") in trail and " UTC · " in trail
    # Reading the trail is on record itself.
    assert (await by(office.engine, ADMIN))[-2:] == [
        ("audit", "case:HW-3333-33"),
        ("audit", "case:HW-2222-22"),
    ]


async def test_admins_list_what_one_liaison_did_newest_first(office: Harness) -> None:
    await office.feed(U.text(LIAISON, "/case HW-2222-22"))
    await office.feed(U.text(LIAISON, "/export HW-3333-33"))
    office.session.clear()
    await office.feed(U.text(ADMIN, f"/audit {LIAISON}"))
    lines = office.session.texts(ADMIN)[0].splitlines()
    assert lines[0] == f"<b>Actions of user {LIAISON}</b>"
    assert lines[1] == "Newest first."
    assert [line.split(" UTC · ", 1)[1] for line in lines[2:]] == [
        "<code>HW-3333-33</code> · exported the case",
        "1 request · exported requests",
        "<code>HW-2222-22</code> · opened the case",
    ]
    office.session.clear()
    await office.feed(U.text(ADMIN, f"/audit @{LIAISON}"))
    assert office.session.texts(ADMIN)[0].splitlines()[2:] == lines[2:]
    assert (await by(office.engine, ADMIN))[-1] == ("audit", f"user:{LIAISON}")
    office.session.clear()
    await office.feed(U.text(ADMIN, "/audit 777"))
    assert office.session.texts(ADMIN) == ["Nothing is recorded for user 777."]


async def test_a_long_list_is_capped_with_a_note(office: Harness) -> None:
    now = datetime.now(UTC)
    async with office.engine.begin() as conn:
        await conn.execute(
            insert(AuditEntry),
            [
                {
                    "actor_id": LIAISON,
                    "action": "open",
                    "target": "case:HW-2222-22",
                    "allowed": True,
                    "created_at": now,
                }
                for _ in range(45)
            ],
        )
    await office.feed(U.text(LIAISON, "/case HW-3333-33"))
    office.session.clear()
    await office.feed(U.text(ADMIN, f"/audit {LIAISON}"))
    lines = office.session.texts(ADMIN)[0].splitlines()
    assert lines[1] == "Newest first: the last 40 of 46 entries."
    assert len(lines) == 42 and "HW-3333-33" in lines[2]
    office.session.clear()
    await office.feed(U.text(ADMIN, "/audit HW-2222-22"))
    assert office.session.texts(ADMIN)[0].splitlines()[1] == (
        "Newest first: the last 40 of 45 entries."
    )


async def test_only_admins_read_the_audit_log_and_every_refusal_is_recorded(
    office: Harness, i18n: CatalogI18n
) -> None:
    with i18n.context(), i18n.use_locale("en"):
        unknown = unknown_text()
    for user in (LIAISON, OUTSIDER):
        for argument in (str(LIAISON), "HW-2222-22"):
            office.session.clear()
            await office.feed(U.text(user, f"/audit {argument}"))
            assert office.session.texts(user) == [unknown]
    uow = UnitOfWork(office.engine)
    for call in (
        access.recent_audit(uow, LIAISON, ADMINS, user_id=ADMIN),
        access.recent_audit(uow, OUTSIDER, ADMINS, target="case:HW-2222-22"),
    ):
        with pytest.raises(NotPermitted):
            await call
    rows = await audit_rows(office.engine)
    refused = [(actor, action, target) for actor, action, target, ok in rows if not ok]
    assert refused == [
        (LIAISON, "/audit", None),
        (LIAISON, "/audit", None),
        (OUTSIDER, "/audit", None),
        (OUTSIDER, "/audit", None),
        (LIAISON, "audit", f"user:{ADMIN}"),
        (OUTSIDER, "audit", "case:HW-2222-22"),
    ]
    office.session.clear()
    await office.feed(U.text(ADMIN, "/audit"))
    assert "/audit 123456789" in office.session.texts(ADMIN)[0]
