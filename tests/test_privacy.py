"""Families' own data: /mydata, /forget, a liaison's /erase approved by another admin, and
the retention of closed and reunited cases. Erasure is checked by reading every table."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.domain.review import ReviewMode
from bot.domain.statuses import CloseReason
from bot.i18n import CatalogI18n, format_day
from bot.outbox import OutboxSender
from bot.services import access, cases, drafts, families, privacy, records, tracing
from bot.services.notices import StaffRouting
from bot.services.refusal import NotPermitted, Refused
from bot.services.uow import UnitOfWork
from bot.texts.callbacks import DraftAction, DraftCb, ErasureAction, ErasureCb
from handlers.callbacks import ForgetAction, ForgetCb, LanguageCb, RequestAction, RequestCb
from storage.models import (
    AuditEntry,
    Base,
    Broadcast,
    BroadcastRecipient,
    Draft,
    ErasureRequest,
    NameKey,
    OutboxMessage,
    StatusChange,
    TracingRequest,
    User,
)
from tests import updates as U
from tests.conftest import Harness, make_harness
from tests.flows import FULL_INTAKE
from tests.recording import RecordingSession, make_bot
from tests.test_family_dispatcher import run_intake
from tests.test_queue import TODAY, draft_with

ADMIN, ADMIN2, LIAISON, FAMILY, OTHER, OUTSIDER = 900, 905, 901, 902, 903, 999
ADMINS = frozenset({ADMIN, ADMIN2})

# What the family typed: none of it may be left anywhere after /forget.
PERSONAL = {
    "sought_name": "Іван Петрушенко",
    "sought_aliases": "Ivan Petrushenko",
    "features": "A birthmark on the right wrist",
    "health_needs": "Diabetes, needs insulin",
    "separation_place": "Berdiansk, Zaporizhzhia region",
    "last_location": "Shelter on Zelena street",
    "companions": "with grandmother Halyna",
    "requester_name": "Olena Petrushenko",
    "contact": "+380 67 123 4567",
    "country": "Moldova",
    "reported_elsewhere": "Police report 77-ZX",
}
FOLLOW_UP = "He has a blue backpack"
NOTE = "Spoke to the neighbour Halyna"
MESSAGE = "Please send a recent photo"
PENDING = "Unapproved wording about Petrushenko"
DRAFT_NAME = "Unfinished Draftname"


def intake_steps() -> list[tuple[str, str, str]]:
    steps = []
    for kind, step, value in FULL_INTAKE:
        if step in PERSONAL:
            kind, value = "text", PERSONAL[step]
        steps.append((kind, step, value))
    return steps


@pytest.fixture
async def office(engine: AsyncEngine, i18n: CatalogI18n) -> Harness:
    h = make_harness(engine, i18n, admin_ids=ADMINS)
    await h.feed(U.text(ADMIN, f"/grant {LIAISON}"))
    return h


async def request_id_of(h: Harness, code: str) -> int:
    async with h.engine.connect() as conn:
        found = await conn.scalar(select(TracingRequest.id).where(TracingRequest.code == code))
    assert found is not None
    return int(found)


def calls(h: Harness, name: str) -> list[Any]:
    return [c for c in h.session.calls if type(c).__name__ == name]


async def every_value(engine: AsyncEngine) -> dict[str, list[tuple[str, object]]]:
    """Every value of every row of every table, by table: (column, value)."""
    found: dict[str, list[tuple[str, object]]] = {}
    async with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            rows = (await conn.execute(select(table))).mappings().all()
            found[table.name] = [(key, value) for row in rows for key, value in row.items()]
    return found


async def busy_family(h: Harness) -> str:
    """A family with everything a family can have: a request with photos, information
    added later, a note, an approved and a pending message, possible matches, a general
    notice received and an unfinished second request."""
    await h.feed(U.press(FAMILY, LanguageCb(locale="uk").pack(), "uk"))
    code = await run_intake(h, FAMILY, "uk", intake_steps())
    request_id = await request_id_of(h, code)
    await h.feed(U.text(FAMILY, f"/add {code}", "uk"))
    await h.feed(U.text(FAMILY, FOLLOW_UP, "uk"))
    await h.feed(U.photo(FAMILY, "family-photo-1", "uk"))
    done = RequestCb(action=RequestAction.DONE, request_id=request_id)
    await h.feed(U.press(FAMILY, done.pack(), "uk"))
    # Another family looking for someone of the same name: a possible match.
    await run_intake(
        h,
        OTHER,
        "ru",
        [(k, s, "Петрушенко Иван" if s == "sought_name" else v) for k, s, v in FULL_INTAKE],
    )
    uow = UnitOfWork(h.engine)
    await tracing.match_everything_pending(uow)
    await h.feed(U.text(LIAISON, f"/note {code} {NOTE}"))
    await h.feed(U.text(LIAISON, f"/update {code} {MESSAGE}"))
    await h.feed(U.text(LIAISON, f"/ask {code} {PENDING}"))
    async with h.engine.connect() as conn:
        first_draft = await conn.scalar(select(func.min(Draft.id)))
    await h.feed(U.press(ADMIN, DraftCb(action=DraftAction.APPROVE, draft_id=first_draft).pack()))
    await cases.close_case(
        uow, LIAISON, ADMINS, code, CloseReason.OTHER, "family moved, see Petrushenko file"
    )
    async with h.engine.begin() as conn:
        notice = (
            await conn.execute(insert(Broadcast).values(author_id=LIAISON, state="done"))
        ).inserted_primary_key
        assert notice is not None
        await conn.execute(
            insert(BroadcastRecipient).values(
                broadcast_id=notice[0], chat_id=FAMILY, version="uk", state="sent"
            )
        )
    await h.feed(U.text(FAMILY, "/new", "uk"))
    await h.feed(U.text(FAMILY, DRAFT_NAME, "uk"))
    assert request_id
    return code


async def test_forget_erases_every_personal_value_in_one_go(office: Harness) -> None:
    code = await busy_family(office)
    before = await every_value(office.engine)
    assert before["possible_matches"] and before["name_keys"] and before["fsm_records"]
    flat_before = repr(before)
    for value in (*PERSONAL.values(), FOLLOW_UP, NOTE, MESSAGE):
        assert value in flat_before, value
    # The unfinished request (its data sealed with the data key): a row keyed by the family.
    assert any(f":{FAMILY}:{FAMILY}:" in str(v) for c, v in before["fsm_records"] if c == "key")

    office.session.clear()
    await office.feed(U.text(FAMILY, "/forget", "uk"))
    question = office.session.texts(FAMILY)[-1]
    assert code in question and "/mydata" in question
    buttons = [
        b.callback_data
        for row in calls(office, "SendMessage")[-1].reply_markup.inline_keyboard
        for b in row
    ]
    assert buttons == [ForgetCb(action=a).pack() for a in (ForgetAction.ERASE, ForgetAction.KEEP)]
    await office.feed(U.press(FAMILY, ForgetCb(action=ForgetAction.ERASE).pack(), "uk"))
    assert "видалено" in office.session.texts(FAMILY)[-1]

    after = await every_value(office.engine)
    flat = repr(after)
    for value in (*PERSONAL.values(), FOLLOW_UP, NOTE, MESSAGE, PENDING, DRAFT_NAME, "Petrushenko"):
        assert value not in flat, value
    for table, values in after.items():
        if table == "audit_log":
            continue  # who asked for /mydata and /forget, with reference codes only
        assert FAMILY not in [v for _column, v in values], table
    assert not after["users"] or all(v != FAMILY for c, v in after["users"] if c == "id")
    assert not [v for c, v in after["request_photos"]]
    assert not [v for c, v in after["followups"]]
    assert not [v for c, v in after["drafts"]]
    assert not [v for c, v in after["broadcast_recipients"]]
    assert not [v for c, v in after["fsm_records"]]
    async with office.engine.connect() as conn:
        request = (
            await conn.execute(select(TracingRequest).where(TracingRequest.code == code))
        ).one()
        history = (
            await conn.execute(
                select(StatusChange.to_status, StatusChange.reason).where(
                    StatusChange.request_id == request.id
                )
            )
        ).all()
        keys = await conn.scalar(
            select(func.count()).select_from(NameKey).where(NameKey.owner_id == request.id)
        )
        audit = (
            await conn.execute(
                select(AuditEntry.actor_id, AuditEntry.action, AuditEntry.target).where(
                    AuditEntry.action == "forget"
                )
            )
        ).all()
    assert request.status == "closed" and request.erased_reason == "family"
    assert request.erased_at is not None and request.family_id is None
    assert request.sought_name == "" and request.health_needs is None and request.contact is None
    assert [tuple(h) for h in history] == [("submitted", None), ("closed", "other")]
    assert keys == 0
    assert [tuple(a) for a in audit] == [(FAMILY, "forget", f"case:{code}")]

    # The team still sees the case: its code, dates and statuses, and that it was erased.
    office.session.clear()
    await office.feed(U.text(LIAISON, f"/case {code}"))
    card = office.session.texts(LIAISON)[-1]
    assert code in card and "erased at the family’s request" in card
    assert "insulin" not in card and NOTE not in card
    await office.feed(U.text(LIAISON, f"/find {code}"))
    assert "erased at the family’s request" in office.session.texts(LIAISON)[-1]
    await office.feed(U.text(LIAISON, f"/note {code} more"))
    assert "erased" in office.session.texts(LIAISON)[-1]
    await office.feed(U.text(LIAISON, f"/dossier {code}"))
    assert "erased" in office.session.texts(LIAISON)[-1]
    exported = await records.export_requests(
        UnitOfWork(office.engine), LIAISON, ADMINS, records.Selection(codes=(code,))
    )
    assert exported.cases == []

    # Writing again, the family starts afresh: nothing of the old requests is theirs.
    office.session.clear()
    await office.feed(U.text(FAMILY, "/status", "uk"))
    assert "/new" in office.session.texts(FAMILY)[-1]
    await office.feed(U.text(FAMILY, "/new", "uk"))
    assert DRAFT_NAME not in repr(office.session.texts(FAMILY))
    await office.feed(U.press(FAMILY, LanguageCb(locale="en").pack(), "uk"))
    async with office.engine.connect() as conn:
        user = (await conn.execute(select(User).where(User.id == FAMILY))).one()
    assert user.locale == "en" and user.created_at > request.erased_at


async def test_forget_can_be_called_off(office: Harness) -> None:
    code = await run_intake(office, FAMILY)
    await office.feed(U.text(FAMILY, "/forget"))
    await office.feed(U.press(FAMILY, ForgetCb(action=ForgetAction.KEEP).pack()))
    assert "Nothing has been erased" in office.session.texts(FAMILY)[-1]
    assert (await families.get_request(UnitOfWork(office.engine), FAMILY, code=code)).code == code


async def test_mydata_sends_everything_that_is_theirs_and_nothing_of_the_team(
    office: Harness,
) -> None:
    code = await busy_family(office)
    office.session.clear()
    await office.feed(U.text(FAMILY, "/mydata", "uk"))
    documents = calls(office, "SendDocument")
    assert [d.document.filename for d in documents] == [
        "homeward-my-data.txt",
        "homeward-my-data.json",
    ]
    readable = documents[0].document.data.decode("utf-8")
    data = json.loads(documents[1].document.data)
    assert data["telegram_user_id"] == FAMILY and data["language"] == "uk"
    assert data["general_notices"] is True
    (request,) = data["requests"]
    assert request["reference_code"] == code and request["status"] == "closed"
    for key, value in PERSONAL.items():
        assert request["answers"][key] == value
    assert request["photos"] == 0
    assert request["information_added"][0]["text"] == FOLLOW_UP
    assert [a["photos"] for a in request["information_added"]] == [0, 1]
    assert [s["status"] for s in request["status_history"]] == ["submitted", "closed"]
    assert request["status_history"][1]["close_reason"] == "other"
    assert [m["text"] for m in request["messages_from_the_team"]] == [MESSAGE]
    for document in (readable, documents[1].document.data.decode("utf-8")):
        assert NOTE not in document and PENDING not in document  # the team's working data
        assert "family moved" not in document  # the team's details of the closing
        assert str(LIAISON) not in document and str(ADMIN) not in document
    # The readable copy is in the family's language, dates written by Babel.
    assert f"Запит {code}" in readable and "Закрито" in readable
    assert PERSONAL["health_needs"] in readable and FOLLOW_UP in readable
    assert format_day(TODAY, "uk") in readable  # e.g. "1 грудня 2026 р."
    async with office.engine.connect() as conn:
        audited = (
            await conn.execute(
                select(AuditEntry.actor_id, AuditEntry.target).where(AuditEntry.action == "mydata")
            )
        ).all()
    assert [tuple(a) for a in audited] == [(FAMILY, None)]


async def test_mydata_of_someone_without_requests(office: Harness) -> None:
    await office.feed(U.text(OUTSIDER, "/mydata"))
    data = json.loads(calls(office, "SendDocument")[1].document.data)
    assert data["requests"] == [] and data["telegram_user_id"] == OUTSIDER


async def refusals(engine: AsyncEngine) -> list[tuple[int, str, str | None]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(AuditEntry.actor_id, AuditEntry.action, AuditEntry.target)
            .where(AuditEntry.allowed.is_(False))
            .order_by(AuditEntry.id)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


async def test_erase_is_approved_by_another_admin_and_refusals_are_audited(
    office: Harness, i18n: CatalogI18n
) -> None:
    code = await run_intake(office, FAMILY, "en", intake_steps())
    await office.feed(U.text(OUTSIDER, f"/erase {code} asked by phone"))  # no staff member
    office.session.clear()
    await office.feed(U.text(LIAISON, f"/erase {code}"))
    assert "/erase HW-7K3P-9Q" in office.session.texts(LIAISON)[-1]
    await office.feed(U.text(LIAISON, f"/erase {code} asked by phone on 1 Dec"))
    assert "waiting for an admin" in office.session.texts(LIAISON)[-1]
    async with office.engine.connect() as conn:
        (erasure_id,) = (await conn.scalars(select(ErasureRequest.id))).all()
        notices = (
            await conn.execute(
                select(OutboxMessage.chat_id).where(OutboxMessage.template == "staff_erasure")
            )
        ).all()
    assert sorted(n[0] for n in notices) == sorted(ADMINS)
    session = RecordingSession()
    await OutboxSender(UnitOfWork(office.engine), make_bot(session), i18n).deliver_due()
    (notice,) = [t for t in session.texts(ADMIN) if "Erasure request" in t]
    assert code in notice and "asked by phone" in notice and PERSONAL["sought_name"] not in notice
    approve = ErasureCb(action=ErasureAction.APPROVE, erasure_id=erasure_id).pack()
    sent = next(c for c in session.calls if getattr(c, "text", None) == notice)
    assert sent.reply_markup.inline_keyboard[0][0].callback_data == approve

    # A liaison may not approve (nor may the one who asked, if they are an admin).
    office.session.clear()
    await office.feed(U.press(LIAISON, approve))
    answers = [c.text for c in calls(office, "AnswerCallbackQuery")]
    assert answers == ["This button is no longer active."]
    await office.feed(U.press(ADMIN, approve))
    assert "erased" in office.session.texts(ADMIN)[-1]
    await office.feed(U.press(ADMIN2, approve))  # already decided
    alert = calls(office, "AnswerCallbackQuery")[-1]
    assert alert.show_alert and "already been decided" in alert.text

    office.session.clear()
    await office.feed(U.text(LIAISON, f"/case {code}"))
    card = office.session.texts(LIAISON)[-1]
    assert "personal data erased: asked by phone on 1 Dec" in card
    assert PERSONAL["health_needs"] not in card
    await office.feed(U.text(LIAISON, f"/erase {code} again"))
    assert "already been erased" in office.session.texts(LIAISON)[-1]
    await office.feed(U.text(LIAISON, f"/ask {code} a question"))
    assert "erased" in office.session.texts(LIAISON)[-1]

    # An admin's own erasure request waits for the other admin; declining erases nothing.
    uow = UnitOfWork(office.engine)
    other = await run_intake(office, OTHER)
    own = await privacy.request_erasure(uow, ADMIN, ADMINS, other, "duplicate entry")
    with pytest.raises(Refused) as caught:
        await privacy.decide_erasure(uow, ADMIN, ADMINS, own.id, approve=True)
    assert caught.value.reason == "own_erasure"
    with pytest.raises(NotPermitted):
        await privacy.request_erasure(uow, OUTSIDER, ADMINS, other, "x")
    declined = await privacy.decide_erasure(uow, ADMIN2, ADMINS, own.id, approve=False)
    assert declined.state == "declined"
    assert (await families.get_request(uow, OTHER, code=other)).code == other

    assert await refusals(office.engine) == [
        (OUTSIDER, "/erase", None),
        (LIAISON, "erase:approve", f"erasure:{erasure_id}"),  # not an admin
        (ADMIN2, "erase:approve", f"case:{code}"),  # already decided
        (LIAISON, "erase", f"case:{code}"),
        (LIAISON, "draft:question", f"case:{code}"),
        (ADMIN, "erase:approve", f"case:{other}"),
        (OUTSIDER, "erase", f"case:{other}"),
    ]
    async with office.engine.connect() as conn:
        done = (
            await conn.execute(
                select(AuditEntry.actor_id, AuditEntry.action, AuditEntry.target).where(
                    AuditEntry.allowed.is_(True), AuditEntry.action.like("erase%")
                )
            )
        ).all()
    assert [tuple(d) for d in done] == [
        (LIAISON, "erase:request", f"case:{code}"),
        (ADMIN, "erase:approve", f"case:{code}"),
        (ADMIN, "erase:request", f"case:{other}"),
        (ADMIN2, "erase:decline", f"case:{other}"),
    ]


async def test_a_liaison_is_refused_approving_by_the_service_too(engine: AsyncEngine) -> None:
    uow = UnitOfWork(engine)
    await access.grant(uow, ADMIN, LIAISON, ADMINS)
    code = await families.submit_request(uow, FAMILY, "en", draft_with(), TODAY)
    view = await privacy.request_erasure(uow, LIAISON, ADMINS, code, "withdrawn by phone")
    with pytest.raises(NotPermitted):
        await privacy.decide_erasure(uow, LIAISON, ADMINS, view.id, approve=True)
    assert await refusals(engine) == [(LIAISON, "erase:approve", f"erasure:{view.id}")]


async def test_retention_warns_the_team_a_week_ahead_then_erases(
    engine: AsyncEngine, i18n: CatalogI18n
) -> None:
    uow = UnitOfWork(engine)
    await access.grant(uow, ADMIN, LIAISON, ADMINS)
    routing = StaffRouting(ADMINS)
    closed = await families.submit_request(uow, FAMILY, "en", draft_with(), TODAY)
    reunited = await families.submit_request(uow, FAMILY, "en", draft_with(), TODAY)
    working = await families.submit_request(uow, OTHER, "en", draft_with(), TODAY)
    await cases.close_case(uow, LIAISON, ADMINS, closed, CloseReason.WITHDRAWN)
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        for code, status, age in (
            (closed, "closed", 400),
            (reunited, "reunited", 360),
            (working, "in_tracing", 800),
        ):
            await conn.execute(
                update(TracingRequest)
                .where(TracingRequest.code == code)
                .values(status=status, status_changed_at=now - timedelta(days=age))
            )
        await conn.execute(update(OutboxMessage).values(state="sent"))

    assert await privacy.apply_retention(uow, 0, routing, now=now) == privacy.RetentionRun()
    first = await privacy.apply_retention(uow, 365, routing, now=now, batch=1)
    assert sorted(first.warned) == sorted([closed, reunited]) and first.erased == []
    again = await privacy.apply_retention(uow, 365, routing, now=now + timedelta(days=3))
    assert again == privacy.RetentionRun()  # warned once per case, not erased before a week

    session = RecordingSession()
    await OutboxSender(uow, make_bot(session), i18n).deliver_due()
    warnings = session.texts(LIAISON)
    assert len(warnings) == 2 and all("retention period" in w for w in warnings)
    assert any(closed in w for w in warnings) and any(reunited in w for w in warnings)

    later = await privacy.apply_retention(uow, 365, routing, now=now + timedelta(days=8))
    assert sorted(later.erased) == sorted([closed, reunited]) and later.warned == []
    async with engine.connect() as conn:
        rows = {
            r.code: r
            for r in (
                await conn.execute(
                    select(
                        TracingRequest.code,
                        TracingRequest.erased_reason,
                        TracingRequest.sought_name,
                        TracingRequest.status,
                    )
                )
            ).all()
        }
        audit = (
            await conn.execute(
                select(AuditEntry.actor_id, AuditEntry.target).where(
                    AuditEntry.action == "retention"
                )
            )
        ).all()
    assert rows[closed].erased_reason == "retention" and rows[closed].sought_name == ""
    assert rows[reunited].erased_reason == "retention" and rows[reunited].status == "reunited"
    assert rows[working].erased_reason is None and rows[working].sought_name != ""
    assert sorted(tuple(a) for a in audit) == sorted(
        [(privacy.SYSTEM_ACTOR, f"case:{closed}"), (privacy.SYSTEM_ACTOR, f"case:{reunited}")]
    )
    # The family still exists (retention erases cases, not people) but no longer sees them.
    assert await families.list_requests(uow, FAMILY) == []
    view = await cases.open_case(uow, LIAISON, ADMINS, code=closed)
    assert view.erased_reason == "retention" and view.answers["health_needs"] is None


async def test_a_draft_approved_before_erasure_is_never_sent(engine: AsyncEngine) -> None:
    uow = UnitOfWork(engine)
    await access.grant(uow, ADMIN, LIAISON, ADMINS)
    code = await families.submit_request(uow, FAMILY, "en", draft_with(), TODAY)
    draft = await drafts.create_draft(uow, LIAISON, ADMINS, code, "update", MESSAGE)
    await drafts.approve(uow, ADMIN, ADMINS, draft.id, ReviewMode.FOUR_EYES)
    await privacy.forget_family(uow, FAMILY)
    async with engine.connect() as conn:
        chats = (await conn.scalars(select(OutboxMessage.chat_id))).all()
    assert FAMILY not in chats
