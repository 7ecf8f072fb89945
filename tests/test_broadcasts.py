"""General notices: composing, exact preview, four-eyes approval, sending and control."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

import pytest
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.methods import SendMessage
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot import broadcasts as sending
from bot.broadcasts import BroadcastSender
from bot.domain.review import ReviewMode
from bot.i18n import CatalogI18n
from bot.outbox import OutboxSender
from bot.services import broadcasts as service
from bot.services.refusal import Refused
from bot.services.uow import UnitOfWork
from bot.texts.callbacks import BroadcastCb
from storage.models import AuditEntry, Broadcast, BroadcastRecipient, OutboxMessage, User, utcnow
from tests import updates as U
from tests.conftest import Harness, make_harness
from tests.families import Family, seed_families
from tests.recording import RecordingSession, make_bot

ADMIN, AUTHOR, REVIEWER, OUTSIDER = 900, 901, 903, 999
UK_TEXT = "Прийом у вівторок переноситься на середу."
RU_TEXT = "Приём во вторник переносится на среду."


def mixed_families() -> list[Family]:
    return [
        *(Family(1000 + i, "uk") for i in range(3)),
        *(Family(1100 + i, "ru", request_locale="ru") for i in range(2)),
        *(Family(1200 + i, "en", request_locale="en") for i in range(2)),
        # Never chose a language: the request's language counts.
        Family(1300, None, request_locale="ru"),
        Family(1400, "uk", notices=False),
        Family(1500, "ru", blocked=True),
        Family(1600, "en", status="closed"),
        Family(1700, "uk", status="in_tracing"),
    ]


@pytest.fixture
async def office(engine: AsyncEngine, i18n: CatalogI18n) -> Harness:
    h = make_harness(engine, i18n, admin_ids=frozenset({ADMIN}))
    await h.feed(U.text(ADMIN, f"/grant {AUTHOR}"))
    await h.feed(U.text(ADMIN, f"/grant {REVIEWER}"))
    await seed_families(engine, mixed_families())
    return h


def notice_id(h: Harness, chat_id: int) -> int:
    for text in reversed(h.session.texts(chat_id)):
        found = re.search(r"General notice #(\d+)", text or "")
        if found:
            return int(found.group(1))
    raise AssertionError(h.session.texts(chat_id))


def alert(h: Harness) -> str:
    answers = [c for c in h.session.calls if type(c).__name__ == "AnswerCallbackQuery"]
    return answers[-1].text or ""


async def compose_uk_ru(h: Harness) -> int:
    await h.feed(U.text(AUTHOR, f"/broadcast uk {UK_TEXT}"))
    await h.feed(U.text(AUTHOR, f"/broadcast ru {RU_TEXT}"))
    return notice_id(h, AUTHOR)


async def test_the_preview_counts_exactly_who_gets_which_version(office: Harness) -> None:
    number = await compose_uk_ru(office)
    card = office.session.texts(AUTHOR)[-1]
    # uk: 3 uk + in_tracing + closed-request en family? no: en families fall back to uk.
    # Recipients: 4 uk, 3 en (-> uk, by fallback), 2 ru + 1 whose request is in ru.
    assert "Recipients now:</b> 10 families" in card
    assert "Українська version: 7 families (3 of them have no version" in card
    assert "Русский version: 3 families" in card
    assert "1 family turned general notices off, 1 family blocked the bot" in card

    _view, preview = await service.preview(
        UnitOfWork(office.engine), AUTHOR, frozenset({ADMIN}), number, "en"
    )
    assert preview.recipients == 10 and preview.opted_out == 1 and preview.unreachable == 1
    assert {v.version: (v.families, v.by_fallback) for v in preview.versions} == {
        "uk": (7, 3),
        "ru": (3, 0),
    }


@pytest.mark.parametrize(
    ("value", "recipients"),
    [
        ("language.ru", 3),  # the blocked ru family is counted apart, not as a recipient
        ("status.in_tracing", 1),
        ("open", 9),
        ("no_open", 1),
        ("all", 10),
    ],
)
async def test_audience_filters(office: Harness, value: str, recipients: int) -> None:
    number = await compose_uk_ru(office)
    await office.feed(
        U.press(AUTHOR, BroadcastCb(action="aud", broadcast_id=number, value=value).pack())
    )
    _view, preview = await service.preview(
        UnitOfWork(office.engine), AUTHOR, frozenset({ADMIN}), number, "en"
    )
    assert preview.recipients == recipients
    assert f"Recipients now:</b> {recipients} famil" in office.session.texts(AUTHOR)[-1]


async def test_bad_input_is_answered_and_keeps_the_draft(office: Harness) -> None:
    number = await compose_uk_ru(office)
    await office.feed(U.text(AUTHOR, "/broadcast de Hallo"))
    assert "Please write: /broadcast uk, ru or en" in office.session.texts(AUTHOR)[-1]
    await office.feed(U.text(AUTHOR, "/broadcast en " + "x" * 4000))
    assert "This is too long: 4000 characters" in office.session.texts(AUTHOR)[-1]
    await office.feed(U.text(AUTHOR, "/broadcast photo"))
    assert "Send the photo itself" in office.session.texts(AUTHOR)[-1]
    await office.feed(U.text(AUTHOR, "/broadcast"))
    card = office.session.texts(AUTHOR)[-1]
    assert notice_id(office, AUTHOR) == number and UK_TEXT in card and RU_TEXT in card


async def test_show_as_families_see_it_sends_each_version_in_its_frame(office: Harness) -> None:
    number = await compose_uk_ru(office)
    office.session.clear()
    await office.feed(U.press(AUTHOR, BroadcastCb(action="show", broadcast_id=number).pack()))
    shown = office.session.texts(AUTHOR)
    assert len(shown) == 2
    assert UK_TEXT in shown[0] and "/notices off" in shown[0]
    assert RU_TEXT in shown[1] and "/notices off" in shown[1]


async def test_four_eyes_the_author_cannot_approve_a_second_liaison_can(office: Harness) -> None:
    number = await compose_uk_ru(office)
    await office.feed(U.press(AUTHOR, BroadcastCb(action="submit", broadcast_id=number).pack()))
    approve = BroadcastCb(action="approve", broadcast_id=number).pack()
    await office.feed(U.press(AUTHOR, approve))
    assert "second liaison must approve" in alert(office)
    await office.feed(U.press(OUTSIDER, approve))
    async with office.engine.connect() as conn:
        assert await conn.scalar(select(Broadcast.state)) == "awaiting_approval"
        refused = await conn.scalar(
            select(AuditEntry.id).where(AuditEntry.actor_id == OUTSIDER, ~AuditEntry.allowed)
        )
    assert refused is not None
    await office.feed(U.press(REVIEWER, approve))
    assert "Sending has started" in alert(office)
    async with office.engine.connect() as conn:
        assert await conn.scalar(select(Broadcast.state)) == "sending"
        recipients = (await conn.execute(select(BroadcastRecipient.chat_id))).scalars().all()
    assert len(recipients) == 10 and 1400 not in recipients and 1500 not in recipients
    assert "Sent 0 of 10" in office.session.texts(REVIEWER)[-1]


async def test_single_mode_asks_the_author_to_confirm(engine: AsyncEngine, i18n) -> None:
    h = make_harness(engine, i18n, admin_ids=frozenset({ADMIN}), review_mode="single")
    await h.feed(U.text(ADMIN, f"/grant {AUTHOR}"))
    await seed_families(engine, mixed_families())
    number = await compose_uk_ru(h)
    await h.feed(U.press(AUTHOR, BroadcastCb(action="submit", broadcast_id=number).pack()))
    await h.feed(U.press(AUTHOR, BroadcastCb(action="approve", broadcast_id=number).pack()))
    assert "Nobody else will review it" in h.session.texts(AUTHOR)[-1]
    async with engine.connect() as conn:
        assert await conn.scalar(select(Broadcast.state)) == "awaiting_approval"
    await h.feed(U.press(AUTHOR, BroadcastCb(action="confirm", broadcast_id=number).pack()))
    async with engine.connect() as conn:
        assert await conn.scalar(select(Broadcast.state)) == "sending"


async def test_decline_and_nothing_can_change_after_submission(office: Harness) -> None:
    number = await compose_uk_ru(office)
    await office.feed(U.press(AUTHOR, BroadcastCb(action="submit", broadcast_id=number).pack()))
    # The team hears of it, without its text.
    uow = UnitOfWork(office.engine)
    with pytest.raises(Refused):
        await service.set_audience(uow, AUTHOR, frozenset({ADMIN}), number, "open", None)
    await office.feed(U.text(AUTHOR, "/broadcast en Hello"))
    assert notice_id(office, AUTHOR) != number  # a new notice, the submitted one is unchanged
    await office.feed(U.press(REVIEWER, BroadcastCb(action="decline", broadcast_id=number).pack()))
    assert "Nothing was sent" in alert(office)
    view = await service.get(uow, number)
    assert view.state == "declined" and view.texts == {"uk": UK_TEXT, "ru": RU_TEXT}


class Telegramish(RecordingSession):
    """Answers 403 for blocked chats and 400 'chat not found' for unknown ones."""

    def __init__(self, blocked: set[int], unknown: set[int]) -> None:
        super().__init__()
        self.blocked, self.unknown = blocked, unknown

    async def make_request(self, bot, method, timeout=None):  # type: ignore[no-untyped-def]
        if isinstance(method, SendMessage) and method.chat_id in self.blocked:
            raise TelegramForbiddenError(method, "Forbidden: bot was blocked by the user")
        if isinstance(method, SendMessage) and method.chat_id in self.unknown:
            raise TelegramBadRequest(method, "Bad Request: chat not found")
        return await super().make_request(bot, method, timeout)


async def approved(office: Harness) -> int:
    number = await compose_uk_ru(office)
    await office.feed(U.press(AUTHOR, BroadcastCb(action="submit", broadcast_id=number).pack()))
    await office.feed(U.press(REVIEWER, BroadcastCb(action="approve", broadcast_id=number).pack()))
    return number


async def test_sending_records_every_outcome_and_reports(office: Harness, i18n) -> None:
    number = await approved(office)
    session = Telegramish(blocked={1001}, unknown={1002})
    sender = BroadcastSender(UnitOfWork(office.engine), make_bot(session), i18n, rate=1000)
    await sender.send(number)
    texts = {c.chat_id: c.text for c in session.calls if isinstance(c, SendMessage)}
    assert UK_TEXT in texts[1000] and UK_TEXT in texts[1200]  # en falls back to uk
    assert RU_TEXT in texts[1100] and RU_TEXT in texts[1300]
    assert 1400 not in texts and 1500 not in texts  # opted out, unreachable
    view = await service.get(UnitOfWork(office.engine), number)
    assert view.state == "done"
    assert view.counts == {"sent": 8, "blocked": 1, "failed": 1}
    async with office.engine.connect() as conn:
        blocked_at = await conn.scalar(select(User.blocked_at).where(User.id == 1001))
        error = await conn.scalar(
            select(BroadcastRecipient.last_error).where(BroadcastRecipient.chat_id == 1002)
        )
    assert blocked_at is not None and error == "chat not found"
    for chat in (AUTHOR, REVIEWER):
        assert "has finished" in texts[chat] and "Sent 8 of 10" in texts[chat]
    # Writing to the bot again makes the family reachable.
    await office.feed(U.text(1001, "/start", "uk"))
    async with office.engine.connect() as conn:
        assert await conn.scalar(select(User.blocked_at).where(User.id == 1001)) is None


async def test_claims_of_a_stopped_sender_are_sent_again_and_nobody_twice(
    office: Harness, i18n
) -> None:
    number = await approved(office)
    async with office.engine.begin() as conn:
        # A process died: three claimed but unrecorded, two recorded as sent.
        await conn.execute(
            update(BroadcastRecipient)
            .where(BroadcastRecipient.chat_id.in_([1000, 1001, 1002]))
            .values(state="sending")
        )
        await conn.execute(
            update(BroadcastRecipient)
            .where(BroadcastRecipient.chat_id.in_([1100, 1101]))
            .values(state="sent")
        )
    session = RecordingSession()
    sender = BroadcastSender(UnitOfWork(office.engine), make_bot(session), i18n, rate=1000)
    await sender.uow.run(lambda tx: tx.broadcasts.release_claims())
    await sender.send(number)
    chats = [c.chat_id for c in session.calls if isinstance(c, SendMessage)]
    families = [c for c in chats if c >= 1000]
    assert sorted(families) == sorted({1000, 1001, 1002, 1200, 1201, 1300, 1600, 1700})
    assert (await service.get(UnitOfWork(office.engine), number)).counts == {"sent": 10}


class HeldTelegram(RecordingSession):
    """Every message waits until `answered` is set: a slow Telegram."""

    def __init__(self, answered: asyncio.Event) -> None:
        super().__init__()
        self.answered = answered

    async def make_request(self, bot, method, timeout=None):  # type: ignore[no-untyped-def]
        if isinstance(method, SendMessage):
            await self.answered.wait()
        return await super().make_request(bot, method, timeout)


async def test_a_sender_renews_the_lease_of_the_claims_it_holds(
    office: Harness, i18n, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Claims waiting for a slow Telegram stay this sender's: another instance takes them
    only once nobody renews them (when this one died)."""
    monkeypatch.setattr(sending, "LEASE", timedelta(seconds=0.6))
    monkeypatch.setattr(sending, "LEASE_MARGIN", 0.2)
    monkeypatch.setattr(sending, "RENEW_EVERY", 0.1)
    number = await approved(office)
    answered = asyncio.Event()
    session = HeldTelegram(answered)
    uow = UnitOfWork(office.engine)
    sender = BroadcastSender(uow, make_bot(session), i18n, rate=1000)
    under_way = asyncio.create_task(sender.send(number))
    await asyncio.sleep(1.5)  # two and a half leases
    assert await uow.run(lambda tx: list(tx.broadcasts.due(number, utcnow(), 100))) == []
    answered.set()
    await asyncio.wait_for(under_way, 30)
    chats = [c.chat_id for c in session.calls if isinstance(c, SendMessage) and c.chat_id >= 1000]
    assert len(chats) == len(set(chats)) == 10  # each once
    assert (await service.get(uow, number)).counts == {"sent": 10}


async def test_claims_whose_lease_could_not_be_renewed_are_left_to_others(
    office: Harness, i18n, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The database stalls for this sender only: it cannot renew its claims, another
    instance takes them when their lease has run out, and this one no longer sends them."""
    monkeypatch.setattr(sending, "LEASE", timedelta(seconds=1))
    monkeypatch.setattr(sending, "LEASE_MARGIN", 0.5)
    monkeypatch.setattr(sending, "RENEW_EVERY", 0.2)

    def stalled(*_args: object) -> None:
        raise TimeoutError("the database did not answer")

    monkeypatch.setattr(sending, "_extend", stalled)
    claim, claims = sending._claim, 0

    def claim_first_only(tx: object, broadcast_id: int, limit: int) -> object:
        nonlocal claims
        claims += 1  # later, the other instance is quicker (SKIP LOCKED)
        return claim(tx, broadcast_id, limit) if claims == 1 else []  # type: ignore[arg-type]

    monkeypatch.setattr(sending, "_claim", claim_first_only)
    number = await approved(office)
    answered = asyncio.Event()
    session = HeldTelegram(answered)
    uow = UnitOfWork(office.engine)
    sender = BroadcastSender(uow, make_bot(session), i18n, rate=1000, concurrency=2)
    under_way = asyncio.create_task(sender.send(number))
    await asyncio.sleep(1.2)
    # Another instance: the lease has run out, it claims them all.
    other = await uow.run(lambda tx: claim(tx, number, 100))
    assert other is not None and len(other) == 10
    answered.set()
    await asyncio.sleep(0.5)
    # It sends the eight that were not on the way here yet.
    families = [c.chat_id for c in session.calls if isinstance(c, SendMessage)]
    rest = [chat for chat, _v, _a in other if chat not in families]
    assert len(families) == 2 and len(rest) == 8  # here: only the two on the way
    await uow.run(lambda tx: tx.broadcasts.set_state(number, rest, "sent", only_from=("sending",)))
    sender.wake()
    await asyncio.wait_for(under_way, 30)
    assert "8 claims lapsed" in caplog.text
    assert len([c for c in session.calls if isinstance(c, SendMessage) and c.chat_id >= 1000]) == 2
    assert (await service.get(uow, number)).counts == {"sent": 10}


async def test_a_slow_database_does_not_let_unrecorded_messages_pile_up(
    office: Harness, i18n, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a hard kill could repeat (sent, not yet recorded) stays within `concurrency`
    when writing the outcomes is slower than sending."""
    number = await approved(office)
    session = RecordingSession()
    recorded, most_unrecorded = 0, 0
    write = BroadcastSender._write

    def families_sent() -> int:
        return sum(isinstance(c, SendMessage) and c.chat_id >= 1000 for c in session.calls)

    async def slow_write(self: BroadcastSender, run: object, batch: list) -> None:  # type: ignore[type-arg]
        nonlocal recorded, most_unrecorded
        most_unrecorded = max(most_unrecorded, families_sent() - recorded)
        await asyncio.sleep(0.2)
        await write(self, run, batch)  # type: ignore[arg-type]
        recorded += len(batch)

    monkeypatch.setattr(BroadcastSender, "_write", slow_write)
    sender = BroadcastSender(UnitOfWork(office.engine), make_bot(session), i18n, concurrency=3)
    await asyncio.wait_for(sender.send(number), 30)
    assert families_sent() == 10 and recorded == 10
    assert 0 < most_unrecorded <= 3


async def test_pause_resume_and_cancel(office: Harness, i18n) -> None:
    number = await approved(office)
    uow = UnitOfWork(office.engine)
    pause = BroadcastCb(action="pause", broadcast_id=number).pack()
    await office.feed(U.press(REVIEWER, pause))
    assert (await service.get(uow, number)).state == "paused"
    session = RecordingSession()
    sender = BroadcastSender(uow, make_bot(session), i18n, rate=1000)
    await sender.send(number)  # paused: sends nothing
    assert not [c for c in session.calls if isinstance(c, SendMessage)]
    await office.feed(U.press(OUTSIDER, BroadcastCb(action="resume", broadcast_id=number).pack()))
    assert (await service.get(uow, number)).state == "paused"
    await office.feed(U.press(AUTHOR, BroadcastCb(action="resume", broadcast_id=number).pack()))
    assert (await service.get(uow, number)).state == "sending"
    await office.feed(U.press(AUTHOR, BroadcastCb(action="cancel", broadcast_id=number).pack()))
    assert "Families who already got it keep it" in office.session.texts(AUTHOR)[-1]
    await office.feed(U.press(AUTHOR, BroadcastCb(action="cancel_yes", broadcast_id=number).pack()))
    view = await service.get(uow, number)
    assert view.state == "cancelled" and view.counts == {"cancelled": 10}
    await sender.send(number)
    assert not [c for c in session.calls if isinstance(c, SendMessage) and c.chat_id >= 1000]
    with pytest.raises(Refused):
        await service.control(uow, AUTHOR, frozenset({ADMIN}), number, "resume")


async def test_broadcasts_lists_notices_for_staff_only(office: Harness) -> None:
    number = await approved(office)
    await office.feed(U.text(AUTHOR, "/broadcasts"))
    listing = office.session.texts(AUTHOR)[-1]
    assert f"#{number}" in listing and "sending" in listing and "sent 0 of 10" in listing
    office.session.clear()
    await office.feed(U.text(OUTSIDER, "/broadcasts"))
    assert "General notices" not in " ".join(office.session.texts(OUTSIDER))


async def test_approval_freezes_recipients_even_if_someone_opts_out_later(
    office: Harness,
) -> None:
    number = await approved(office)
    await office.feed(U.text(1000, "/notices off", "uk"))
    view = await service.get(UnitOfWork(office.engine), number)
    assert view.total == 10  # recorded at approval; the opt-out applies to the next notice
    _view, preview = await service.preview(
        UnitOfWork(office.engine), AUTHOR, frozenset({ADMIN}), number, "en"
    )
    assert preview.opted_out == 2


async def test_review_mode_is_enforced_in_the_service(office: Harness) -> None:
    number = await compose_uk_ru(office)
    uow = UnitOfWork(office.engine)
    await service.submit(uow, AUTHOR, frozenset({ADMIN}), number)
    with pytest.raises(Refused) as refused:
        await service.approve(
            uow, AUTHOR, frozenset({ADMIN}), number, ReviewMode.FOUR_EYES, "en", AUTHOR
        )
    assert refused.value.reason == "own_broadcast"


async def test_a_notice_with_a_photo_goes_as_one_captioned_photo(office: Harness, i18n) -> None:
    await office.feed(U.text(AUTHOR, "/broadcast uk " + "я" * 900))
    number = notice_id(office, AUTHOR)
    await office.feed(U.photo(AUTHOR, "notice-photo", caption="/broadcast photo"))
    assert "each version can be at most 850 characters" in office.session.texts(AUTHOR)[-1]
    await office.feed(U.text(AUTHOR, f"/broadcast uk {UK_TEXT}"))
    await office.feed(U.photo(AUTHOR, "notice-photo", caption="/broadcast photo"))
    assert "<b>Photo:</b> yes" in office.session.texts(AUTHOR)[-1]
    await office.feed(U.text(AUTHOR, "/broadcast ru " + "я" * 900))
    assert "This is too long: 900 characters" in office.session.texts(AUTHOR)[-1]
    await office.feed(U.press(AUTHOR, BroadcastCb(action="submit", broadcast_id=number).pack()))
    await office.feed(U.press(REVIEWER, BroadcastCb(action="approve", broadcast_id=number).pack()))
    session = RecordingSession()
    await BroadcastSender(UnitOfWork(office.engine), make_bot(session), i18n).send(number)
    photos = [c for c in session.calls if type(c).__name__ == "SendPhoto"]
    assert len(photos) == 10 and {p.photo for p in photos} == {"notice-photo"}
    assert all(UK_TEXT in p.caption for p in photos)


async def test_the_team_is_asked_to_approve_without_the_text(
    engine: AsyncEngine, i18n: CatalogI18n
) -> None:
    for group, expected in ((None, {ADMIN, REVIEWER}), (-100777, {-100777})):
        h = make_harness(engine, i18n, admin_ids=frozenset({ADMIN}), liaison_chat_id=group)
        await h.feed(U.text(ADMIN, f"/grant {AUTHOR}"))
        await h.feed(U.text(ADMIN, f"/grant {REVIEWER}"))
        await h.feed(U.text(AUTHOR, f"/broadcast uk {UK_TEXT}"))
        number = notice_id(h, AUTHOR)
        await h.feed(U.press(AUTHOR, BroadcastCb(action="submit", broadcast_id=number).pack()))
        async with engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(OutboxMessage.chat_id, OutboxMessage.params).where(
                        OutboxMessage.template == "staff_broadcast"
                    )
                )
            ).all()
            # The parameters are sealed in the database: compared once read back.
            chats = {chat for chat, params in rows if f'"broadcast_id": {number}' in params}
            assert chats == expected
        session = RecordingSession()
        await OutboxSender(UnitOfWork(engine), make_bot(session), i18n).deliver_due()
        notices = [t for t in session.texts() if f"#{number}" in t]
        assert notices and all(UK_TEXT not in t and "/broadcasts" in t for t in notices)


async def test_admins_see_who_did_what_to_a_notice(office: Harness) -> None:
    number = await approved(office)
    await office.feed(U.press(AUTHOR, BroadcastCb(action="pause", broadcast_id=number).pack()))
    await office.feed(U.text(ADMIN, f"/audit #{number}"))
    trail = office.session.texts(ADMIN)[-1]
    for line in (
        f"{AUTHOR} · wrote a notice",
        f"{AUTHOR} · submitted a notice for approval",
        f"{REVIEWER} · approved a notice",
        f"{AUTHOR} · paused the sending of a notice",
    ):
        assert line in trail
    assert UK_TEXT not in trail
