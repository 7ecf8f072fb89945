"""The relay invariant: a liaison's text reaches a family only as an approved draft."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.domain.review import ReviewMode
from bot.i18n import CatalogI18n
from bot.services import drafts
from bot.services.refusal import Refused
from bot.services.uow import UnitOfWork
from bot.texts.callbacks import CaseCb, DraftCb
from storage.models import Draft, OutboxMessage, TracingRequest, utcnow
from tests import updates as U
from tests.conftest import Harness, make_harness
from tests.recording import RecordingSession
from tests.test_cases import FAMILY, submitted_case
from tests.test_cases import sender as make_sender

ADMIN, AUTHOR, REVIEWER = 900, 901, 903
SECRET = "We found a record in the Rostov children's register"


async def office_with(engine: AsyncEngine, i18n: CatalogI18n, mode: str) -> Harness:
    h = make_harness(engine, i18n, admin_ids=frozenset({ADMIN}), review_mode=mode)
    await h.feed(U.text(ADMIN, f"/grant {AUTHOR}"))
    await h.feed(U.text(ADMIN, f"/grant {REVIEWER}"))
    return h


@pytest.fixture
async def office(engine: AsyncEngine, i18n: CatalogI18n) -> Harness:
    return await office_with(engine, i18n, "four_eyes")


async def draft_by_author(h: Harness, code: str, text: str = SECRET) -> int:
    await h.feed(U.text(AUTHOR, f"/update {code} {text}"))
    card = h.session.texts(AUTHOR)[-1]
    return int(re.search(r"Draft #(\d+)", card).group(1))


async def family_receives(h: Harness, i18n: CatalogI18n) -> list[str]:
    session = RecordingSession()
    await make_sender(h, i18n, session).deliver_due()
    return session.texts(FAMILY)


def alert(h: Harness) -> str:
    answers = [c for c in h.session.calls if type(c).__name__ == "AnswerCallbackQuery"]
    return answers[-1].text or ""


async def test_approved_by_a_second_liaison_arrives_once_in_the_family_frame(
    office: Harness, i18n: CatalogI18n
) -> None:
    code, _ = await submitted_case(office)
    draft_id = await draft_by_author(office, code, SECRET + " <b>&</b>")
    assert await family_receives(office, i18n) == []  # a draft is not sent
    await office.feed(U.press(REVIEWER, DraftCb(action="approve", draft_id=draft_id).pack()))
    (message,) = await family_receives(office, i18n)
    assert SECRET + " &lt;b&gt;&amp;&lt;/b&gt;" in message
    assert f"Повідомлення щодо вашого запиту {code}" in message  # the family's language (uk)
    assert await family_receives(office, i18n) == []  # exactly once


async def test_unapproved_and_declined_drafts_never_leave(office: Harness, i18n) -> None:
    code, _ = await submitted_case(office)
    pending = await draft_by_author(office, code)
    declined = await draft_by_author(office, code, "Another text")
    await office.feed(U.text(REVIEWER, f"/decline {declined} Not verified yet"))
    assert "declined" in office.session.texts(REVIEWER)[-1]
    await office.feed(U.press(REVIEWER, DraftCb(action="approve", draft_id=declined).pack()))
    assert "already been approved or declined" in alert(office)
    assert await family_receives(office, i18n) == []
    async with office.engine.connect() as conn:
        states = dict((await conn.execute(select(Draft.id, Draft.state))).all())
        reason = await conn.scalar(select(Draft.decline_reason).where(Draft.id == declined))
        rows = (
            await conn.execute(select(OutboxMessage).where(OutboxMessage.template == "liaison"))
        ).all()
    assert states == {pending: "pending", declined: "declined"}
    assert reason == "Not verified yet" and rows == []


async def test_four_eyes_refuses_self_approval(office: Harness, i18n) -> None:
    code, _ = await submitted_case(office)
    draft_id = await draft_by_author(office, code)
    await office.feed(U.press(AUTHOR, DraftCb(action="approve", draft_id=draft_id).pack()))
    assert "second liaison" in alert(office)
    assert await family_receives(office, i18n) == []


async def test_a_revoked_liaison_cannot_approve(office: Harness, i18n) -> None:
    code, _ = await submitted_case(office)
    draft_id = await draft_by_author(office, code)
    await office.feed(U.text(ADMIN, f"/revoke {REVIEWER}"))
    office.session.clear()
    await office.feed(U.press(REVIEWER, DraftCb(action="approve", draft_id=draft_id).pack()))
    assert alert(office) == "This button is no longer active."  # the filter: like any stale button
    with pytest.raises(Refused) as refused:  # and the service checks again
        await drafts.approve(
            UnitOfWork(office.engine), REVIEWER, frozenset({ADMIN}), draft_id, ReviewMode.FOUR_EYES
        )
    assert refused.value.reason == "not_permitted"
    assert await family_receives(office, i18n) == []


async def test_forged_callbacks_and_closed_cases(office: Harness, i18n) -> None:
    code, request_id = await submitted_case(office)
    draft_id = await draft_by_author(office, code)
    # A family forging the approval of a real draft id: refused by the staff filter.
    await office.feed(U.press(FAMILY, DraftCb(action="approve", draft_id=draft_id).pack(), "uk"))
    # A draft id that does not exist.
    await office.feed(U.press(REVIEWER, DraftCb(action="approve", draft_id=draft_id + 999).pack()))
    assert "no such draft" in alert(office)
    # Closing the case stops everything still in draft.
    await office.feed(
        U.press(AUTHOR, CaseCb(action="reason", request_id=request_id, value="withdrawn").pack())
    )
    await office.feed(U.press(REVIEWER, DraftCb(action="approve", draft_id=draft_id).pack()))
    assert "case is closed" in alert(office)
    await office.feed(U.text(AUTHOR, f"/ask {code} One more question"))
    assert "case is closed" in office.session.texts(AUTHOR)[-1]
    delivered = await family_receives(office, i18n)
    assert len(delivered) == 1 and "Закрито" in delivered[0]  # only the status notice
    assert all(SECRET not in text for text in delivered)


async def test_the_sender_refuses_a_liaison_message_without_an_approved_draft(
    office: Harness, i18n
) -> None:
    """Even a row written around the services (a bug, a manual insert) cannot leak a draft."""
    code, request_id = await submitted_case(office)
    draft_id = await draft_by_author(office, code)
    now = utcnow()
    async with office.engine.begin() as conn:
        await conn.execute(
            insert(OutboxMessage).values(
                request_id=request_id,
                chat_id=FAMILY,
                template="liaison",
                params=json.dumps({"draft_id": draft_id}),
                state="pending",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )
    assert await family_receives(office, i18n) == []
    async with office.engine.connect() as conn:
        state = await conn.scalar(
            select(OutboxMessage.state).where(OutboxMessage.template == "liaison")
        )
    assert state == "failed"


async def test_single_review_mode_needs_an_explicit_confirmation(
    engine: AsyncEngine, i18n: CatalogI18n
) -> None:
    office = await office_with(engine, i18n, "single")
    code, _ = await submitted_case(office)
    draft_id = await draft_by_author(office, code)
    await office.feed(U.press(AUTHOR, DraftCb(action="approve", draft_id=draft_id).pack()))
    assert "Nobody else will review it" in office.session.texts(AUTHOR)[-1]
    assert await family_receives(office, i18n) == []
    await office.feed(U.press(AUTHOR, DraftCb(action="confirm", draft_id=draft_id).pack()))
    (message,) = await family_receives(office, i18n)
    assert SECRET in message
    async with office.engine.connect() as conn:
        assert await conn.scalar(select(TracingRequest.code)) == code
