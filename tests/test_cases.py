"""Case work: open, take, move along the lifecycle, notes, and the outbox to the family."""

from __future__ import annotations

from typing import Any

import pytest
from aiogram.exceptions import TelegramForbiddenError, TelegramRetryAfter, TelegramServerError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.i18n import CatalogI18n
from bot.outbox import OutboxSender
from bot.services.uow import UnitOfWork
from bot.texts.callbacks import CaseCb
from handlers.callbacks import LanguageCb
from storage.models import OutboxMessage, TracingRequest
from tests import updates as U
from tests.conftest import Harness, make_harness
from tests.recording import RecordingSession, make_bot
from tests.test_family_dispatcher import run_intake

ADMIN, LIAISON, FAMILY = 900, 901, 902


@pytest.fixture
async def office(engine: AsyncEngine, i18n: CatalogI18n) -> Harness:
    h = make_harness(engine, i18n, admin_ids=frozenset({ADMIN}))
    await h.feed(U.text(ADMIN, f"/grant {LIAISON}"))
    return h


async def submitted_case(h: Harness) -> tuple[str, int]:
    await h.feed(U.press(FAMILY, LanguageCb(locale="uk").pack(), "uk"))
    code = await run_intake(h, FAMILY, "uk")
    async with h.engine.connect() as conn:
        request_id = await conn.scalar(select(TracingRequest.id).where(TracingRequest.code == code))
    return code, request_id


class FlakySession(RecordingSession):
    """Fails sendMessage with the given errors, one per call, then succeeds."""

    def __init__(self, errors: list[Exception]) -> None:
        super().__init__()
        self.errors = errors

    async def make_request(self, bot: Any, method: Any, timeout: int | None = None) -> Any:
        if type(method).__name__ == "SendMessage" and self.errors:
            raise self.errors.pop(0)
        return await super().make_request(bot, method, timeout)


def sender(h: Harness, i18n: CatalogI18n, session: RecordingSession) -> OutboxSender:
    return OutboxSender(UnitOfWork(h.engine), make_bot(session), i18n)


async def outbox_rows(h: Harness) -> list[Any]:
    """The family's messages in the outbox (notices to the team are tested separately)."""
    async with h.engine.connect() as conn:
        return list(
            await conn.execute(
                select(OutboxMessage)
                .where(OutboxMessage.chat_id == FAMILY)
                .order_by(OutboxMessage.id)
            )
        )


async def test_case_card_take_move_and_family_notice(office: Harness, i18n: CatalogI18n) -> None:
    code, request_id = await submitted_case(office)
    office.session.clear()
    await office.feed(U.text(LIAISON, f"/case {code.lower()}"))
    card = office.session.texts(LIAISON)[-1]
    assert code in card and "Іван &lt;b&gt;Петренко&lt;/b&gt; &amp; Co" in card
    assert "Asthma" in card and "now an adult" in card
    buttons = [b.text for row in office.session.calls[-1].reply_markup.inline_keyboard for b in row]
    assert buttons == ["Take", "→ Under review", "Close…"]

    await office.feed(U.press(LIAISON, CaseCb(action="take", request_id=request_id).pack()))
    assert "Taken by: 901" in office.session.texts(LIAISON)[-1]
    await office.feed(
        U.press(LIAISON, CaseCb(action="move", request_id=request_id, value="in_review").pack())
    )
    assert "Under review" in office.session.texts(LIAISON)[-1]
    rows = await outbox_rows(office)
    assert [(r.template, r.state, r.chat_id) for r in rows] == [("status", "pending", FAMILY)]

    family_session = RecordingSession()
    await sender(office, i18n, family_session).deliver_due()
    notice = family_session.texts(FAMILY)
    assert len(notice) == 1 and code in notice[0] and "На розгляді" in notice[0]
    assert [r.state for r in await outbox_rows(office)] == ["sent"]
    assert await sender(office, i18n, RecordingSession()).deliver_due() == 0  # each sent once

    office.session.clear()
    await office.feed(U.text(LIAISON, f"/case {code}"))
    assert "Family notified: " in office.session.texts(LIAISON)[-1]


async def test_lifecycle_is_enforced(office: Harness) -> None:
    _code, request_id = await submitted_case(office)
    office.session.clear()
    forged = CaseCb(action="move", request_id=request_id, value="reunited").pack()
    await office.feed(U.press(LIAISON, forged))
    alert = [c for c in office.session.calls if type(c).__name__ == "AnswerCallbackQuery"][-1]
    assert alert.show_alert and "cannot move" in alert.text
    async with office.engine.connect() as conn:
        status = await conn.scalar(
            select(TracingRequest.status).where(TracingRequest.id == request_id)
        )
    assert status == "submitted" and await outbox_rows(office) == []


async def test_close_with_reason_and_notes_stay_internal(office: Harness, i18n) -> None:
    code, request_id = await submitted_case(office)
    await office.feed(U.text(LIAISON, f"/note {code} Called the bureau, ref 55-A"))
    assert office.session.texts(LIAISON)[-1] == f"Internal note added to {code}."
    await office.feed(U.press(LIAISON, CaseCb(action="close", request_id=request_id).pack()))
    await office.feed(
        U.press(LIAISON, CaseCb(action="reason", request_id=request_id, value="duplicate").pack())
    )
    family_session = RecordingSession()
    await sender(office, i18n, family_session).deliver_due()
    (notice,) = family_session.texts(FAMILY)
    assert "Закрито" in notice and "55-A" not in notice
    office.session.clear()
    await office.feed(U.text(LIAISON, f"/case {code}"))
    assert "Called the bureau, ref 55-A" in office.session.texts(LIAISON)[-1]
    assert all("55-A" not in t for t in office.session.texts(FAMILY))


async def test_outbox_retries_and_marks_blocked_families(office: Harness, i18n) -> None:
    code, request_id = await submitted_case(office)
    await sender(office, i18n, RecordingSession()).deliver_due()  # the team's notices first
    move = CaseCb(action="move", request_id=request_id, value="in_review").pack()
    await office.feed(U.press(LIAISON, move))
    method: Any = None
    flaky = FlakySession(
        [
            TelegramRetryAfter(method=method, message="Too Many Requests", retry_after=0),
            TelegramServerError(method=method, message="Internal Server Error"),
        ]
    )
    out = sender(office, i18n, flaky)
    await out.deliver_due()  # 429 with retry_after 0: due again at once
    (row,) = await outbox_rows(office)
    assert row.state == "pending" and row.last_error == "429"
    await out.deliver_due()  # 500: backed off
    (row,) = await outbox_rows(office)
    assert row.state == "pending" and row.attempts == 2 and row.next_attempt_at is not None
    assert await out.deliver_due() == 0  # not due yet: nothing sent twice, nothing lost

    blocked = FlakySession([TelegramForbiddenError(method=method, message="Forbidden: blocked")])
    await office.feed(
        U.press(
            LIAISON, CaseCb(action="move", request_id=request_id, value="needs_information").pack()
        )
    )
    await sender(office, i18n, blocked).deliver_due()
    rows = await outbox_rows(office)
    assert rows[-1].state == "unreachable"
    async with office.engine.connect() as conn:
        assert await conn.scalar(
            select(TracingRequest.family_unreachable).where(TracingRequest.id == request_id)
        )
    office.session.clear()
    await office.feed(U.text(LIAISON, f"/case {code}"))
    assert "family unreachable" in office.session.texts(LIAISON)[-1]


async def test_audit_trail_of_a_case(office: Harness) -> None:
    code, request_id = await submitted_case(office)
    await office.feed(U.text(LIAISON, f"/case {code}"))
    await office.feed(U.press(LIAISON, CaseCb(action="take", request_id=request_id).pack()))
    await office.feed(U.text(LIAISON, f"/note {code} checked"))
    await office.feed(
        U.press(LIAISON, CaseCb(action="move", request_id=request_id, value="in_review").pack())
    )
    office.session.clear()
    await office.feed(U.text(ADMIN, f"/audit {code}"))
    trail = office.session.texts(ADMIN)[0]
    for action in (
        "opened the case",
        "took the case",
        "added an internal note",
        "moved the status from Received to Under review",
    ):
        assert f"{LIAISON} · {action}" in trail
    assert "checked" not in trail  # the trail says what was done, not what was written


async def test_the_team_hears_of_new_requests_and_information_without_personal_data(
    office: Harness, i18n: CatalogI18n
) -> None:
    code, _request_id = await submitted_case(office)
    session = RecordingSession()
    await sender(office, i18n, session).deliver_due()
    for member in (ADMIN, LIAISON):
        (card,) = session.texts(member)
        assert f"New tracing request {code}" in card and "P1" in card  # health needs: P1
        assert "Петренко" not in card and "Mariupol" not in card and "Asthma" not in card
    buttons = [b.text for b in session.calls[-1].reply_markup.inline_keyboard[0]]
    assert buttons == ["Open", "Take"]
    assert session.texts(FAMILY) == []

    await office.feed(U.text(FAMILY, f"/add {code}", "uk"))
    for photo in ("a1", "a2", "a3"):  # an album: one notice, not three
        await office.feed(U.photo(FAMILY, photo, "uk", media_group_id="album"))
    session = RecordingSession()
    await sender(office, i18n, session).deliver_due()
    assert [t.splitlines()[0] for t in session.texts(LIAISON)] == [
        f"<b>New information on {code}</b>"
    ]


async def test_with_a_liaison_group_the_card_links_to_a_private_chat(
    engine: AsyncEngine, i18n: CatalogI18n
) -> None:
    group = -100500
    office = make_harness(engine, i18n, admin_ids=frozenset({ADMIN}), liaison_chat_id=group)
    code, _ = await submitted_case(office)
    session = RecordingSession()
    out = OutboxSender(UnitOfWork(engine), make_bot(session), i18n, bot_username="homeward_bot")
    await out.deliver_due()
    sent = [c for c in session.calls if type(c).__name__ == "SendMessage"]
    assert [c.chat_id for c in sent] == [group]  # the group only, not each liaison
    (button,) = sent[0].reply_markup.inline_keyboard[0]
    assert button.url == f"https://t.me/homeward_bot?start=case-{code}"
    assert "Петренко" not in sent[0].text


async def test_the_notice_link_opens_the_case_for_staff_only(office: Harness) -> None:
    code, _request_id = await submitted_case(office)
    office.session.clear()
    await office.feed(U.text(LIAISON, f"/start case-{code}"))
    assert f"Case {code}" in office.session.texts(LIAISON)[-1]
    await office.feed(U.text(555, f"/start case-{code}"))  # someone else: the usual greeting
    greeting = office.session.texts(555)[-1]
    assert "Homeward" in greeting and code not in greeting


async def test_close_command_keeps_the_duplicate_code_for_the_team_only(
    office: Harness, i18n: CatalogI18n
) -> None:
    code, _request_id = await submitted_case(office)
    other, _ = await submitted_case(office)
    await office.feed(U.text(LIAISON, f"/close {code} duplicate {other}"))
    card = office.session.texts(LIAISON)[-1]
    assert "Closed" in card and other in card
    await office.feed(U.text(LIAISON, f"/close {other} nonsense"))
    assert "withdrawn, duplicate, out_of_scope, other" in office.session.texts(LIAISON)[-1]
    session = RecordingSession()
    await sender(office, i18n, session).deliver_due()
    (notice,) = [t for t in session.texts(FAMILY) if code in t]
    assert "Закрито" in notice and other not in notice


async def test_a_claim_left_by_a_crashed_sender_is_retried_after_its_lease(
    office: Harness, i18n: CatalogI18n
) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from bot.outbox import _claim
    from storage.models import utcnow

    _code, request_id = await submitted_case(office)
    await sender(office, i18n, RecordingSession()).deliver_due()  # the team's notices
    await office.feed(
        U.press(LIAISON, CaseCb(action="move", request_id=request_id, value="in_review").pack())
    )
    uow = UnitOfWork(office.engine)
    claimed = await uow.run(lambda tx: _claim(tx, utcnow(), 10, "en"))  # then the process dies
    assert len(claimed) == 1
    assert await sender(office, i18n, RecordingSession()).deliver_due() == 0  # leased
    async with office.engine.begin() as conn:  # the lease runs out
        await conn.execute(
            update(OutboxMessage).values(next_attempt_at=utcnow() - timedelta(seconds=1))
        )
    session = RecordingSession()
    assert await sender(office, i18n, session).deliver_due() == 1
    assert len(session.texts(FAMILY)) == 1
    assert [r.state for r in await outbox_rows(office)] == ["sent"]


async def test_a_claim_held_up_past_its_lease_is_left_to_the_next_claim(
    office: Harness, i18n: CatalogI18n, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two messages to one family go in order, a second apart; when the first is held up
    until the second's lease may have run out (another instance may be sending it), the
    second is not sent by this claim but by the next one."""
    import asyncio
    from datetime import timedelta

    from aiogram.methods import SendMessage

    from bot import outbox

    _code, request_id = await submitted_case(office)
    await sender(office, i18n, RecordingSession()).deliver_due()  # the team's notices
    for status in ("in_review", "needs_information"):
        await office.feed(
            U.press(LIAISON, CaseCb(action="move", request_id=request_id, value=status).pack())
        )
    monkeypatch.setattr(outbox, "LEASE", timedelta(seconds=1))
    monkeypatch.setattr(outbox, "LEASE_MARGIN", 0.5)

    class SlowTelegram(RecordingSession):
        async def make_request(self, bot, method, timeout=None):  # type: ignore[no-untyped-def]
            if isinstance(method, SendMessage) and not self.texts(FAMILY):
                await asyncio.sleep(1.2)  # the first one takes long
            return await super().make_request(bot, method, timeout)

    session = SlowTelegram()
    assert await sender(office, i18n, session).deliver_due() == 1
    assert len(session.texts(FAMILY)) == 1
    assert [r.state for r in await outbox_rows(office)] == ["sent", "sending"]
    assert await sender(office, i18n, session).deliver_due() == 1  # its lease has run out
    assert len(session.texts(FAMILY)) == 2
    assert [r.state for r in await outbox_rows(office)] == ["sent", "sent"]


async def test_a_long_case_card_stays_valid_html_within_the_limit(office: Harness) -> None:
    from tests.emulator import parse_html

    code, _request_id = await submitted_case(office)
    for n in range(12):
        await office.feed(U.text(LIAISON, f"/note {code} {n} <&> " + "x" * 1900))
    office.session.clear()
    await office.feed(U.text(LIAISON, f"/case {code}"))
    card = office.session.texts(LIAISON)[-1]
    plain, _entities = parse_html(card)  # raises on a broken tag or entity
    assert len(card) <= 4000 and len(plain) <= 4096
