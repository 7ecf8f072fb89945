"""The family side through the real dispatcher, with a recording bot, on SQLite and PostgreSQL."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from handlers.callbacks import (
    CancelCb,
    IntakeAction,
    IntakeCb,
    LanguageCb,
    MenuAction,
    MenuCb,
    RequestCb,
)
from storage.models import FollowUp, RequestPhoto, StatusChange, TracingRequest, User
from tests import updates as U
from tests.conftest import Harness
from tests.flows import FULL_INTAKE, SUBMIT, callback_for

CODE_RE = re.compile(r"HW-[2-9A-Z]{4}-[2-9A-Z]{2}")


async def run_intake(h: Harness, uid: int, lang: str = "en", steps=FULL_INTAKE) -> str:
    await h.feed(U.text(uid, "/new", lang))
    for kind, step, value in steps:
        if kind == "text":
            await h.feed(U.text(uid, value, lang))
        else:
            await h.feed(U.press(uid, callback_for(kind, step, value), lang))
    h.session.clear()
    await h.feed(U.press(uid, SUBMIT, lang))
    texts = h.session.texts(uid)
    match = CODE_RE.search(texts[-1])
    assert match, texts
    return match.group(0)


async def test_start_greets_in_the_telegram_language(harness: Harness) -> None:
    await harness.feed(U.text(1, "/start", "uk"))
    await harness.feed(U.text(2, "/start", "ru"))
    await harness.feed(U.text(3, "/start", "de"))  # unsupported: DEFAULT_LOCALE (en)
    uk, ru, en = (harness.session.texts(i)[0] for i in (1, 2, 3))
    assert "Homeward" in uk and "Homeward" in ru
    assert "not the police" in en
    assert uk != en and ru != en and uk != ru
    buttons = [
        b.text for row in harness.session.calls[-1].reply_markup.inline_keyboard for b in row
    ]
    assert buttons == ["New request", "My requests", "Language", "Help", "Privacy"]


async def test_full_intake_stores_the_request(harness: Harness) -> None:
    code = await run_intake(harness, 10)
    async with harness.engine.connect() as conn:
        row = (await conn.execute(select(TracingRequest).where(TracingRequest.code == code))).one()
        changes = await conn.scalar(select(func.count(StatusChange.id)))
    assert row.family_id == 10
    assert row.sought_name == "Іван <b>Петренко</b> & Co"
    assert row.status == "submitted"
    assert row.birth_text == "12.03.2007" and row.separation_text == "03.2022"
    assert row.now_adult is True  # 15 at separation, 19 today
    assert row.health_needs == "Asthma, uses an inhaler"
    assert row.consent_version
    assert changes == 1
    # The draft is gone once submitted.
    harness.session.clear()
    await harness.feed(U.text(10, "/new"))
    assert "unfinished" not in harness.session.texts(10)[0]


async def test_user_values_are_escaped(harness: Harness) -> None:
    await run_intake(harness, 11)
    harness.session.clear()
    await harness.feed(U.text(11, "/status"))
    text = harness.session.texts(11)[0]
    assert "Іван &lt;b&gt;Петренко&lt;/b&gt; &amp; Co" in text
    assert "<b>Петренко</b>" not in text


async def test_wrong_input_reprompts_and_keeps_answers(harness: Harness) -> None:
    await harness.feed(U.text(12, "/new"))
    await harness.feed(U.text(12, "Ivan"))
    await harness.feed(U.sticker(12))  # a sticker where text is asked
    await harness.feed(U.press(12, IntakeCb(action="skip", step="sought_aliases").pack()))
    await harness.feed(U.text(12, "male"))  # typed label of a choice button works
    harness.session.clear()
    await harness.feed(U.text(12, "31.02.2010"))
    reply = harness.session.texts(12)[0]
    assert "does not exist" in reply and "Date of birth" in reply
    harness.session.clear()
    await harness.feed(U.photo(12, "ph"))  # a photo where a date is asked
    assert "text message" in harness.session.texts(12)[0]
    harness.session.clear()
    await harness.feed(U.text(12, "2010"))
    assert "Place of birth" in harness.session.texts(12)[0]
    data = await harness.storage.get_data(_key(12))
    assert data["draft"]["answers"]["sought_name"] == "Ivan"
    assert data["draft"]["answers"]["sought_sex"] == "male"


async def test_too_long_text_is_refused_with_numbers(harness: Harness) -> None:
    await harness.feed(U.text(13, "/new"))
    harness.session.clear()
    await harness.feed(U.text(13, "x" * 201))
    assert "201 characters" in harness.session.texts(13)[0]
    assert "under 200" in harness.session.texts(13)[0]


async def test_cancel_asks_first_then_deletes(harness: Harness) -> None:
    await harness.feed(U.text(14, "/new"))
    await harness.feed(U.text(14, "Ivan"))
    harness.session.clear()
    await harness.feed(U.text(14, "/cancel"))
    assert "Everything you entered will be deleted" in harness.session.texts(14)[0]
    await harness.feed(U.press(14, CancelCb(confirm=False).pack()))
    assert (await harness.storage.get_data(_key(14)))["draft"]["answers"]["sought_name"] == "Ivan"
    await harness.feed(U.text(14, "/cancel"))
    await harness.feed(U.press(14, CancelCb(confirm=True).pack()))
    assert await harness.storage.get_state(_key(14)) is None
    assert await harness.storage.get_data(_key(14)) == {}


async def test_declining_consent_stores_nothing(harness: Harness) -> None:
    steps = FULL_INTAKE[:-1]
    await harness.feed(U.text(15, "/new"))
    for kind, step, value in steps:
        if kind == "text":
            await harness.feed(U.text(15, value))
        else:
            await harness.feed(U.press(15, callback_for(kind, step, value)))
    harness.session.clear()
    await harness.feed(U.press(15, IntakeCb(action="decline", step="consent").pack()))
    assert "Without your consent" in harness.session.texts(15)[0]
    await harness.feed(U.press(15, IntakeCb(action="decline_confirm").pack()))
    assert "Nothing has been stored" in harness.session.texts(15)[-1]
    assert await harness.storage.get_data(_key(15)) == {}
    async with harness.engine.connect() as conn:
        assert await conn.scalar(select(func.count(TracingRequest.id))) == 0


async def test_summary_edit_and_photos(harness: Harness) -> None:
    uid = 16
    await harness.feed(U.text(uid, "/new"))
    for kind, step, value in FULL_INTAKE[:7]:
        if kind == "text":
            await harness.feed(U.text(uid, value))
        else:
            await harness.feed(U.press(uid, callback_for(kind, step, value)))
    for i in range(3):
        await harness.feed(U.photo(uid, f"photo{i}", media_group_id="g1"))
    await harness.feed(U.text(uid, "hello"))  # text where a photo is asked: re-prompt
    assert "send a photo" in harness.session.texts(uid)[-1]
    await harness.feed(U.press(uid, IntakeCb(action="done", step="photos").pack()))
    for kind, step, value in FULL_INTAKE[8:]:
        if kind == "text":
            await harness.feed(U.text(uid, value))
        else:
            await harness.feed(U.press(uid, callback_for(kind, step, value)))
    summary = harness.session.texts(uid)[-1]
    assert "Please check your request" in summary and "3 photos" in summary
    await harness.feed(U.press(uid, IntakeCb(action="editmenu").pack()))
    await harness.feed(U.press(uid, IntakeCb(action="edit", step="country").pack()))
    await harness.feed(U.text(uid, "Poland"))
    assert "Poland" in harness.session.texts(uid)[-1]
    harness.session.clear()
    await harness.feed(U.press(uid, SUBMIT))
    code = CODE_RE.search(harness.session.texts(uid)[-1]).group(0)
    async with harness.engine.connect() as conn:
        row = (await conn.execute(select(TracingRequest).where(TracingRequest.code == code))).one()
        photos = await conn.scalar(select(func.count(RequestPhoto.id)))
    assert row.country == "Poland" and photos == 3


async def test_stale_button_is_refused_politely(harness: Harness) -> None:
    await harness.feed(U.text(17, "/new"))
    harness.session.clear()
    await harness.feed(
        U.press(17, IntakeCb(action="pick", step="relationship", value="parent").pack())
    )
    answer = harness.session.calls[0]
    assert type(answer).__name__ == "AnswerCallbackQuery"
    assert "no longer active" in answer.text


async def test_old_and_unknown_buttons_are_answered_not_applied(harness: Harness) -> None:
    await harness.feed(U.text(18, "/new"))
    await harness.feed(U.text(18, "Ivan"))
    draft = (await harness.storage.get_data(_key(18)))["draft"]
    harness.session.clear()
    stale = [
        # The Back button under the first question, pressed after it was answered.
        IntakeCb(action=IntakeAction.BACK, step="sought_name").pack(),
        IntakeCb(action=IntakeAction.SUBMIT).pack(),  # not on the summary yet
        IntakeCb(action=IntakeAction.DECLINE_CONFIRMED).pack(),  # not at the consent
        IntakeCb(action=IntakeAction.SUMMARY).pack(),
        "in1:gone:sought_aliases:",  # an action this version no longer has
    ]
    for data in stale:
        await harness.feed(U.press(18, data))
    answers = [c.text for c in harness.session.calls]
    assert answers == ["This button is no longer active."] * len(stale)
    assert (await harness.storage.get_data(_key(18)))["draft"] == draft


async def test_buttons_sent_before_the_enums_still_work(harness: Harness) -> None:
    """The wire format did not change: plain strings pack exactly as the enum members."""
    assert IntakeCb(action=IntakeAction.EDIT_MENU).pack() == "in1:editmenu::"
    assert MenuCb(action=MenuAction.HELP).pack() == "mn1:help"
    await harness.feed(U.text(19, "/new"))
    await harness.feed(U.text(19, "Ivan"))
    await harness.feed(U.press(19, "in1:back:sought_aliases:"))
    draft = (await harness.storage.get_data(_key(19)))["draft"]
    assert draft["step"] == "sought_name"
    harness.session.clear()
    for action in ("help", "privacy", "language"):
        await harness.feed(U.press(19, f"mn1:{action}"))
    help_text, privacy, language = harness.session.texts(19)
    assert "What you can do here" in help_text
    assert "Your data" in privacy
    assert language == "Choose the language:"


async def test_the_two_others_read_differently_and_can_be_typed(harness: Harness) -> None:
    uid = 25
    await harness.feed(U.text(uid, "/new", "uk"))
    first = harness.session.texts(uid)[-1]
    assert "Прізвище, ім’я та по батькові" in first and "Повне ім’я" not in first
    for kind, step, value in FULL_INTAKE[:10]:
        if kind == "text":
            await harness.feed(U.text(uid, value, "uk"))
        else:
            await harness.feed(U.press(uid, callback_for(kind, step, value), "uk"))
    circumstances = [
        b.text for row in harness.session.calls[-1].reply_markup.inline_keyboard for b in row
    ]
    assert "Інше" in circumstances and "Переміщення внаслідок бойових дій" in circumstances
    await harness.feed(U.text(uid, "інше", "uk"))  # a typed label chooses, as a button does
    await harness.feed(U.text(uid, "Нас розділили на блокпосту", "uk"))
    for kind, step, value in FULL_INTAKE[11:14]:
        if kind == "text":
            await harness.feed(U.text(uid, value, "uk"))
        else:
            await harness.feed(U.press(uid, callback_for(kind, step, value), "uk"))
    relationship = [
        b.text for row in harness.session.calls[-1].reply_markup.inline_keyboard for b in row
    ]
    assert "Хтось інший" in relationship and "Інше" not in relationship
    await harness.feed(U.text(uid, "Хтось інший", "uk"))
    answers = (await harness.storage.get_data(_key(uid)))["draft"]["answers"]
    assert answers["circumstances"] == "other" and answers["relationship"] == "other"
    assert "прізвище" in harness.session.texts(uid)[-1].lower()  # the requester's name next


async def test_status_and_add_are_isolated_between_families(harness: Harness) -> None:
    code_a = await run_intake(harness, 20)
    code_b = await run_intake(harness, 21)
    harness.session.clear()
    await harness.feed(U.text(20, f"/status {code_b}"))
    assert "No request with this reference code" in harness.session.texts(20)[0]
    await harness.feed(U.text(20, f"/add {code_b.lower()}"))
    assert "No request with this reference code" in harness.session.texts(20)[1]
    async with harness.engine.connect() as conn:
        id_b = await conn.scalar(select(TracingRequest.id).where(TracingRequest.code == code_b))
    # Forged buttons carrying the other family's request id.
    harness.session.clear()
    await harness.feed(U.press(20, RequestCb(action="view", request_id=id_b).pack()))
    await harness.feed(U.press(20, RequestCb(action="add", request_id=id_b).pack()))
    assert all(code_b not in (getattr(c, "text", "") or "") for c in harness.session.calls)
    assert [c.text for c in harness.session.calls] == ["This request was not found."] * 2
    # Their own request works, with the family-facing status and its meaning.
    harness.session.clear()
    await harness.feed(U.text(20, f"/status {code_a}"))
    details = harness.session.texts(20)[0]
    assert code_a in details and "Received" in details and "A liaison will look at it" in details


async def test_add_information_later(harness: Harness) -> None:
    code = await run_intake(harness, 22)
    await harness.feed(U.text(22, f"/add {code}"))
    await harness.feed(U.text(22, "She may be in Rostov now"))
    await harness.feed(U.photo(22, "later1", media_group_id="m"))
    await harness.feed(U.photo(22, "later2", media_group_id="m"))
    await harness.feed(U.sticker(22))
    assert "Please send text or a photo" in harness.session.texts(22)[-1]
    async with harness.engine.connect() as conn:
        texts = (await conn.scalars(select(FollowUp.text))).all()
        photos = (await conn.scalars(select(RequestPhoto.file_id))).all()
    assert "She may be in Rostov now" in texts
    assert {"later1", "later2"} <= set(photos)
    acknowledgements = [t for t in harness.session.texts(22) if "Added to request" in t]
    assert len(acknowledgements) == 2  # one for the text, one for the album


async def test_language_choice_is_stored_and_used(harness: Harness) -> None:
    await harness.feed(U.text(23, "/start", "en"))
    harness.session.clear()
    await harness.feed(U.press(23, LanguageCb(locale="uk").pack(), "en"))
    async with harness.engine.connect() as conn:
        assert await conn.scalar(select(User.locale).where(User.id == 23)) == "uk"
    harness.session.clear()
    await harness.feed(U.text(23, "/help", "en"))  # Telegram still says en; the choice wins
    assert "/new" in harness.session.texts(23)[0]
    assert "What you can do here" not in harness.session.texts(23)[0]


async def test_status_list_uses_plurals_and_locale_dates(harness: Harness) -> None:
    await run_intake(harness, 24, "uk")
    await run_intake(harness, 24, "uk")
    harness.session.clear()
    await harness.feed(U.text(24, "/status", "uk"))
    text = harness.session.texts(24)[0]
    assert "2 запити" in text
    assert re.search(r"\d{1,2} [а-яіїєґ’]+ 20\d\d[\s\u202f]р\.", text)


def _key(user_id: int):
    from aiogram.fsm.storage.base import StorageKey

    return StorageKey(bot_id=42, chat_id=user_id, user_id=user_id)


async def test_a_redelivered_answer_is_not_applied_twice(harness: Harness) -> None:
    """After a crash Telegram can deliver the same update again."""
    await harness.feed(U.text(30, "/new"))
    answer = U.text(30, "Ivan")
    await harness.feed(answer)
    await harness.feed(answer)
    draft = (await harness.storage.get_data(_key(30)))["draft"]
    assert draft["step"] == "sought_aliases"
    assert "sought_aliases" not in draft["answers"]


async def test_intake_with_redis_state_survives_a_restart(engine, i18n, redis_url: str) -> None:
    """With REDIS_URL set the draft lives in Redis; a new bot process continues it."""
    from bot.app import build_dispatcher, build_storage
    from bot.config import load_settings
    from tests.recording import RecordingSession

    settings = load_settings(bot_token="123456:" + "A" * 35, redis_url=redis_url, _env_file=None)

    def fresh() -> Harness:
        storage, isolation = build_storage(settings, engine)
        dispatcher = build_dispatcher(engine, storage, isolation, i18n)
        return Harness(dispatcher, RecordingSession(), engine, storage)

    first = fresh()
    await first.feed(U.text(40, "/new"))
    for kind, step, value in FULL_INTAKE[:8]:
        await first.feed(
            U.text(40, value) if kind == "text" else U.press(40, callback_for(kind, step, value))
        )
    await first.storage.close()

    second = fresh()
    await second.feed(U.text(40, "/new"))
    assert "unfinished request" in second.session.texts(40)[0]
    for kind, step, value in FULL_INTAKE[8:]:
        await second.feed(
            U.text(40, value) if kind == "text" else U.press(40, callback_for(kind, step, value))
        )
    await second.feed(U.press(40, SUBMIT))
    assert CODE_RE.search(second.session.texts(40)[-1])
    # Submitting clears the draft from Redis too.
    assert await second.storage.get_state(_key(40)) is None
    assert await second.storage.get_data(_key(40)) == {}
    await second.storage.close()


async def test_logs_carry_no_personal_data(harness: Harness, caplog) -> None:
    """Names, places, free text and contacts never reach the logs, at any level."""
    import logging

    secret = [
        ("text", "sought_name", "Nadiia Secretname"),
        *FULL_INTAKE[1:15],
        ("text", "requester_name", "Requester Hiddenperson"),
        ("text", "contact", "+380 00 000 0000"),
        *FULL_INTAKE[17:],
    ]
    with caplog.at_level(logging.DEBUG):
        code = await run_intake(harness, 50, steps=secret)
        await harness.feed(U.text(50, f"/add {code}"))
        await harness.feed(U.text(50, "Private detail about the family"))
        await harness.feed(U.text(50, "31.02.2020"))  # an error path too
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert code in logged  # codes and ids are fine, and show that logging happened
    for value in ("Secretname", "Hiddenperson", "+380", "Private detail", "Mariupol"):
        assert value not in logged


async def test_privacy_states_how_long_drafts_are_kept(harness: Harness) -> None:
    await harness.feed(U.text(60, "/privacy", "uk"))
    text = harness.session.texts(60)[0]
    assert "30 днів" in text and "згод" in text


async def test_general_notices_can_be_turned_off_and_on(harness: Harness) -> None:
    from storage.models import User

    await harness.feed(U.text(70, "/notices off", "ru"))
    assert "выключены" in harness.session.texts(70)[-1]
    async with harness.engine.connect() as conn:
        assert await conn.scalar(select(User.notices_enabled).where(User.id == 70)) is False
    await harness.feed(U.text(70, "/notices on", "ru"))
    async with harness.engine.connect() as conn:
        assert await conn.scalar(select(User.notices_enabled).where(User.id == 70)) is True
    await harness.feed(U.text(70, "/notices maybe", "ru"))
    assert "/notices off" in harness.session.texts(70)[-1]
