"""Tests of the Telegram Bot API emulator, driven through a real aiogram Bot over HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import AsyncIterator, Iterator

import aiohttp
import pytest
import pytest_asyncio
from aiogram import Bot, Dispatcher, F, Router
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.filters import Command, CommandObject
from aiogram.types import (
    BotCommand,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
)

from tests.emulator import (
    NOT_MODIFIED,
    FastAiohttpSession,
    HtmlParseError,
    TelegramEmulator,
    make_bot,
    parse_html,
    run_polling,
)

pytestmark = pytest.mark.asyncio

TOKEN = "123456:" + "A" * 35
OLENA = 1001
PETRO = 1002


class FakeClock:
    """Manual clock so rate-limit windows do not depend on test speed."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest_asyncio.fixture
async def emu() -> AsyncIterator[TelegramEmulator]:
    async with TelegramEmulator(token=TOKEN, bot_id=123456) as emulator:
        emulator.add_user(OLENA, "Olena", language_code="uk")
        emulator.add_user(PETRO, "Petro", language_code="en")
        yield emulator


@pytest_asyncio.fixture
async def bot(emu: TelegramEmulator) -> AsyncIterator[Bot]:
    instance = make_bot(emu)
    yield instance
    await instance.session.close()


@contextlib.contextmanager
def bad_request(emu: TelegramEmulator, fragment: str) -> Iterator[None]:
    """A 400 provoked on purpose: the bot gets TelegramBadRequest, and the emulator, told
    to expect it, does not fail the test."""
    with emu.expect_errors(fragment), pytest.raises(TelegramBadRequest, match=re.escape(fragment)):
        yield


def keyboard(*pairs: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=t, callback_data=d)] for t, d in pairs]
    )


# ---- polling round trips --------------------------------------------------------------------


async def test_echo_round_trip(emu: TelegramEmulator, bot: Bot) -> None:
    dp = Dispatcher()

    @dp.message(F.text)
    async def echo(message: Message) -> None:
        await message.answer(f"echo: {message.text}")

    async with run_polling(dp, bot, emu=emu):
        sent = await emu.send_text(OLENA, "привіт")
        reply = await emu.wait_for_message(OLENA, timeout=2)
        await emu.send_text(OLENA, "second")
        second = await emu.wait_for_message(OLENA, timeout=2)

    assert sent["from"]["language_code"] == "uk"
    assert reply.text == "echo: привіт"
    assert reply["text"] == reply.text  # dict-style access works too
    assert reply.sender["id"] == 123456 and reply.sender["is_bot"]
    assert second.text == "echo: second"
    assert [m.text for m in emu.sent_to(OLENA)] == ["echo: привіт", "echo: second"]
    assert emu.last_text(OLENA) == "echo: second"
    assert emu.calls("sendMessage")[0]["chat_id"] == OLENA
    emu.assert_no_errors()


async def test_command_entities_and_args(emu: TelegramEmulator, bot: Bot) -> None:
    dp = Dispatcher()

    @dp.message(Command("status"))
    async def status(message: Message, command: CommandObject) -> None:
        await message.answer(f"status of {command.args}")

    async with run_polling(dp, bot, emu=emu):
        sent = await emu.send_text(OLENA, "/status HW-ABCD-12")
        reply = await emu.wait_for_message(OLENA, timeout=2)

    assert sent["entities"] == [{"type": "bot_command", "offset": 0, "length": 7}]
    assert reply.text == "status of HW-ABCD-12"


async def test_button_press_reaches_callback_handler(emu: TelegramEmulator, bot: Bot) -> None:
    router = Router()

    @router.message(Command("start"))
    async def start(message: Message) -> None:
        await message.answer("Choose:", reply_markup=keyboard(("Yes", "ans:yes"), ("No", "ans:no")))

    @router.callback_query(F.data.startswith("ans:"))
    async def answer(query: CallbackQuery) -> None:
        assert query.message is not None and query.data is not None
        await query.answer("noted")
        await query.message.edit_text(f"You said {query.data[4:]}")

    dp = Dispatcher()
    dp.include_router(router)
    async with run_polling(dp, bot, emu=emu):
        await emu.send_text(OLENA, "/start")
        menu = await emu.wait_for_message(OLENA, timeout=2)
        assert emu.buttons(menu) == ["Yes", "No"]
        query_id = await emu.press_button(OLENA, "Yes")
        answer_params = await emu.wait_for_answer(query_id, timeout=2)
        await emu.wait_until(lambda: menu.edit_date, timeout=2)

    assert answer_params["text"] == "noted"
    assert menu.text == "You said yes"
    assert menu.reply_markup is None  # an edit without reply_markup drops the keyboard
    assert menu.history[0]["text"] == "Choose:"
    # Answering the same query twice is rejected like Telegram does.
    with bad_request(emu, "query is too old"):
        await bot.answer_callback_query(query_id)
    with pytest.raises(AssertionError, match="buttons by message id"):
        await emu.press_button(OLENA, "Maybe")


async def test_user_media_group_and_other_content_reach_handlers(
    emu: TelegramEmulator, bot: Bot
) -> None:
    seen: list[tuple[str, str | None]] = []
    dp = Dispatcher()

    @dp.message(F.photo)
    async def photo(message: Message) -> None:
        assert message.photo is not None
        seen.append((message.photo[-1].file_id, message.media_group_id))

    @dp.message(F.sticker | F.voice | F.location | F.document | F.contact)
    async def other(message: Message) -> None:
        seen.append((message.content_type.value, None))

    async with run_polling(dp, bot, emu=emu):
        await emu.send_media_group(OLENA, ["ph1", "ph2", "ph3"], caption="my son")
        await emu.send_sticker(OLENA)
        await emu.send_voice(OLENA)
        await emu.send_location(OLENA, 50.45, 30.52)
        await emu.send_document(OLENA, file_id="doc1")
        await emu.send_contact(OLENA)
        await emu.wait_until(lambda: len(seen) == 8, timeout=2)

    photos = [s for s in seen if s[0].startswith("ph")]
    assert [p[0] for p in photos] == ["ph1", "ph2", "ph3"]
    assert len({p[1] for p in photos}) == 1 and photos[0][1] is not None
    assert {s[0] for s in seen if s[1] is None} == {
        "sticker",
        "voice",
        "location",
        "document",
        "contact",
    }


# ---- Telegram's validation --------------------------------------------------------------------


async def test_html_parse_mode(emu: TelegramEmulator, bot: Bot) -> None:
    for bad in ("<b>x", "a & b", "1 < 2", "<p>x</p>", "<b><i>x</b></i>", "</b>"):
        with bad_request(emu, "can't parse entities"):
            await bot.send_message(OLENA, bad, parse_mode="HTML")

    ok = await bot.send_message(OLENA, "&lt;b&gt; &amp; &#33;&#x21;", parse_mode="HTML")
    assert ok.text == "<b> & !!"
    stored = emu.sent_to(OLENA)[-1]
    assert stored.text == "<b> & !!"
    assert stored.html == "&lt;b&gt; &amp; &#33;&#x21;"

    rich = '<b>Bold</b> <a href="https://x.org/?a=1&b=2">link</a> <span class="tg-spoiler">s</span>'
    msg = await bot.send_message(OLENA, rich, parse_mode="HTML")
    assert msg.text == "Bold link s"
    assert [(e.type, e.offset, e.length) for e in msg.entities or []] == [
        ("bold", 0, 4),
        ("text_link", 5, 4),
        ("spoiler", 10, 1),
    ]
    # Without parse_mode the markup is just text.
    plain = await bot.send_message(OLENA, "a & <b>")
    assert plain.text == "a & <b>"


async def test_parse_html_errors_and_offsets() -> None:
    text, entities = parse_html("👋 <i>hi</i>\n<blockquote expandable>q</blockquote>")
    assert text == "👋 hi\nq"
    assert entities == [
        {"type": "italic", "offset": 3, "length": 2},  # the emoji is 2 UTF-16 units
        {"type": "expandable_blockquote", "offset": 6, "length": 1},
    ]
    text, entities = parse_html('<pre><code class="language-python">x = 1</code></pre>')
    assert entities == [{"type": "pre", "offset": 0, "length": 5, "language": "python"}]
    cases = {
        "<b>x": 'Can\'t find end tag corresponding to start tag "b"',
        "<p>": 'Unsupported start tag "p" at byte offset 0',
        "ы <br>": 'Unsupported start tag "br" at byte offset 3',
        "<b>x</i>": 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"',
        "x</b>": "Unexpected end tag at byte offset 1",
        '<a href="x': "Unclosed start tag at byte offset 0",
        "<span>x</span>": 'Tag "span" must have class "tg-spoiler" at byte offset 0',
    }
    for source, reason in cases.items():
        with pytest.raises(HtmlParseError) as info:
            parse_html(source)
        assert str(info.value) == reason
    assert parse_html("a & b", strict_entities=False)[0] == "a & b"


async def test_length_limits(emu: TelegramEmulator, bot: Bot) -> None:
    await bot.send_message(OLENA, "x" * 4096)
    with bad_request(emu, "message is too long"):
        await bot.send_message(OLENA, "x" * 4097)
    # The limit applies to the rendered text, not to the HTML source.
    await bot.send_message(OLENA, "<b>" + "x" * 4096 + "</b>", parse_mode="HTML")
    with bad_request(emu, "message text is empty"):
        await bot.send_message(OLENA, "")
    with bad_request(emu, "message text is empty"):
        await bot.send_message(OLENA, " \n ")
    with bad_request(emu, "message text is empty"):
        await bot.send_message(OLENA, "<b></b>", parse_mode="HTML")

    emu.add_file("ph1")
    await bot.send_photo(OLENA, "ph1", caption="c" * 1024)
    with bad_request(emu, "message caption is too long"):
        await bot.send_photo(OLENA, "ph1", caption="c" * 1025)
    assert len(emu.sent_to(OLENA)) == 3


async def test_callback_data_limit_is_64_bytes(emu: TelegramEmulator, bot: Bot) -> None:
    await bot.send_message(OLENA, "ok", reply_markup=keyboard(("A", "d" * 64)))
    with bad_request(emu, "BUTTON_DATA_INVALID"):
        await bot.send_message(OLENA, "too long", reply_markup=keyboard(("A", "d" * 65)))
    with bad_request(emu, "BUTTON_DATA_INVALID"):
        # 33 Cyrillic letters are 66 bytes in UTF-8.
        await bot.send_message(OLENA, "bytes", reply_markup=keyboard(("A", "д" * 33)))
    with bad_request(emu, "BUTTON_DATA_INVALID"):
        await bot.send_message(OLENA, "empty", reply_markup=keyboard(("A", "")))
    reply_kb = ReplyKeyboardMarkup(keyboard=[[KeyboardButton(text="Share", request_contact=True)]])
    await bot.send_message(OLENA, "reply keyboard", reply_markup=reply_kb)
    assert emu.reply_keyboards[OLENA] is not None
    assert emu.buttons(emu.sent_to(OLENA)[-1]) == ["Share"]
    assert len(emu.sent_to(OLENA)) == 2


async def test_unknown_chat_and_blocked_user(emu: TelegramEmulator, bot: Bot) -> None:
    with bad_request(emu, "chat not found"):
        await bot.send_message(999, "hello?")
    emu.block_user(OLENA)
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(OLENA, "hello")
    with pytest.raises(TelegramForbiddenError):
        await bot.send_chat_action(OLENA, "typing")
    await bot.send_message(PETRO, "others still work")
    emu.unblock_user(OLENA)
    await bot.send_message(OLENA, "back")
    assert [e.error_code for e in emu.errors] == [400, 403, 403]


async def test_edit_errors(emu: TelegramEmulator, bot: Bot) -> None:
    msg = await bot.send_message(OLENA, "hi", reply_markup=keyboard(("A", "a")))
    with bad_request(emu, "message to edit not found"):
        await bot.edit_message_text(chat_id=OLENA, message_id=999, text="x")
    with emu.expect_errors(NOT_MODIFIED), pytest.raises(TelegramBadRequest) as info:
        await bot.edit_message_text(
            chat_id=OLENA, message_id=msg.message_id, text="hi", reply_markup=keyboard(("A", "a"))
        )
    assert info.value.message == f"Bad Request: {NOT_MODIFIED}"
    await bot.edit_message_reply_markup(chat_id=OLENA, message_id=msg.message_id)
    assert emu.sent_to(OLENA)[0].reply_markup is None
    with bad_request(emu, "message is not modified"):
        await bot.edit_message_reply_markup(chat_id=OLENA, message_id=msg.message_id)
    assert await bot.delete_message(OLENA, msg.message_id)
    assert emu.sent_to(OLENA)[0].deleted
    with bad_request(emu, "message to delete not found"):
        await bot.delete_message(OLENA, msg.message_id)


async def test_bot_media_group(emu: TelegramEmulator, bot: Bot) -> None:
    await emu.send_photo(OLENA, "ph1")  # makes the file ids known, like a real upload would
    await emu.send_photo(OLENA, "ph2")
    album = [InputMediaPhoto(media="ph1", caption="<b>one</b>"), InputMediaPhoto(media="ph2")]
    sent = await bot.send_media_group(OLENA, album)
    assert len({m.media_group_id for m in sent}) == 1
    assert sent[0].photo is not None and sent[0].photo[-1].file_id == "ph1"
    stored = await emu.wait_for_messages(OLENA, 2, timeout=1)
    assert stored[0].caption == "<b>one</b>"  # no parse_mode: verbatim
    with bad_request(emu, "too much messages"):
        await bot.send_media_group(OLENA, [InputMediaPhoto(media="ph1")] * 11)
    with bad_request(emu, "2-10"):
        await bot.send_media_group(OLENA, [InputMediaPhoto(media="ph1")])
    with bad_request(emu, "wrong file identifier"):
        await bot.send_photo(OLENA, "never-seen")


async def test_set_my_commands(emu: TelegramEmulator, bot: Bot) -> None:
    commands = [
        BotCommand(command="start", description="Start"),
        BotCommand(command="status", description="Status"),
    ]
    await bot.set_my_commands(commands, scope=BotCommandScopeAllPrivateChats(), language_code="uk")
    assert emu.get_commands({"type": "all_private_chats"}, "uk") == [
        {"command": "start", "description": "Start"},
        {"command": "status", "description": "Status"},
    ]
    got = await bot.get_my_commands(scope=BotCommandScopeAllPrivateChats(), language_code="uk")
    assert [c.command for c in got] == ["start", "status"]
    assert await bot.get_my_commands() == []
    with bad_request(emu, "BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand(command="Start", description="x")])
    with bad_request(emu, "description"):
        await bot.set_my_commands([BotCommand(command="start", description="x" * 257)])
    await bot.delete_my_commands(scope=BotCommandScopeAllPrivateChats(), language_code="uk")
    assert emu.commands == {}


async def test_a_chat_the_user_never_opened_has_no_menu_until_they_write(
    emu: TelegramEmulator, bot: Bot
) -> None:
    newcomer = 1003
    emu.add_user(newcomer, "Nadia", opened_chat=False)
    commands = [BotCommand(command="queue", description="Queue")]
    for chat_id in (newcomer, 4242):  # never wrote; unknown altogether
        with bad_request(emu, "chat not found"):
            await bot.set_my_commands(commands, scope=BotCommandScopeChat(chat_id=chat_id))
    with pytest.raises(TelegramForbiddenError, match="can't initiate conversation"):
        await bot.send_message(newcomer, "Hello")
    await emu.send_text(newcomer, "/start")  # writing opens the chat
    await bot.set_my_commands(commands, scope=BotCommandScopeChat(chat_id=newcomer))
    assert emu.get_commands({"type": "chat", "chat_id": newcomer}) == [
        {"command": "queue", "description": "Queue"}
    ]


# ---- faults and rate limits -------------------------------------------------------------------


async def test_fail_next(emu: TelegramEmulator, bot: Bot) -> None:
    emu.fail_next(1, status=429, retry_after=3)
    with pytest.raises(TelegramRetryAfter) as info:
        await bot.send_message(OLENA, "one")
    assert info.value.retry_after == 3
    await bot.send_message(OLENA, "two")

    emu.fail_next(2, status=500, methods=["sendMessage"])
    await bot.send_chat_action(OLENA, "typing")  # not a matching method
    for _ in range(2):
        with pytest.raises(TelegramServerError):
            await bot.send_message(OLENA, "down")
    await bot.send_message(OLENA, "up")

    emu.set_outage(True)
    with pytest.raises(TelegramServerError):
        await bot.send_message(OLENA, "outage")
    assert await bot.get_me()  # only send* methods are affected by default
    emu.set_outage(False)
    await bot.send_message(OLENA, "recovered")
    assert [m.text for m in emu.sent_to(OLENA)] == ["two", "up", "recovered"]
    assert emu.stats["injected"] == 4
    emu.assert_no_errors()  # injected faults are not the bot's fault


async def test_fail_for_uses_the_emulator_clock(emu: TelegramEmulator, bot: Bot) -> None:
    emu.clock = clock = FakeClock()
    emu.fail_for(5, status=502)
    with pytest.raises(TelegramServerError, match="Bad Gateway"):
        await bot.send_message(OLENA, "down")
    clock.now += 5
    await bot.send_message(OLENA, "up")


async def test_rate_limits() -> None:
    clock = FakeClock()
    async with TelegramEmulator(token=TOKEN, per_chat_rate=1, global_rate=2, clock=clock) as emu:
        bot = make_bot(emu)
        emu.add_user(OLENA, "Olena")
        emu.add_user(PETRO, "Petro")
        emu.add_user(1003, "Ivan")
        await bot.send_message(OLENA, "1")
        with pytest.raises(TelegramRetryAfter) as info:
            await bot.send_message(OLENA, "2")  # 1/s per chat
        assert info.value.retry_after == 1
        await bot.send_message(PETRO, "3")
        with pytest.raises(TelegramRetryAfter):
            await bot.send_message(1003, "4")  # 2/s overall
        clock.now += 1.01  # the sliding window moves on
        await bot.send_message(OLENA, "5")
        await bot.session.close()
    assert [m.text for m in emu.sent_to(OLENA)] == ["1", "5"]
    assert emu.stats["rate_limited"] == 2
    assert emu.stats["rate_limited:per_chat"] == 1
    assert emu.stats["rate_limited:global"] == 1
    assert emu.stats["status:429"] == 2


async def test_wrong_token_and_unknown_method(emu: TelegramEmulator) -> None:
    stranger = Bot("654321:" + "B" * 35, session=FastAiohttpSession(api=emu.api_server))
    with pytest.raises(TelegramUnauthorizedError):
        await stranger.get_me()
    await stranger.session.close()
    async with aiohttp.ClientSession() as http:
        url = f"{emu.base_url}/bot{TOKEN}/sendCarrierPigeon"
        async with http.post(url, json={"chat_id": OLENA}) as resp:
            assert resp.status == 404
            assert await resp.json() == {
                "ok": False,
                "error_code": 404,
                "description": "Not Found: method not found",
            }
        # Plain JSON bodies work as well as aiogram's multipart, and method names are
        # case-insensitive like Telegram's.
        url = f"{emu.base_url}/bot{TOKEN}/SENDMESSAGE"
        markup = {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}
        body = {"chat_id": str(OLENA), "text": "json", "reply_markup": markup}
        async with http.post(url, json=body) as resp:
            data = await resp.json()
            assert data["ok"] and data["result"]["reply_markup"] == markup


# ---- strictness: a 400 the test did not expect fails it ---------------------------------------


@contextlib.asynccontextmanager
async def bot_of(emu: TelegramEmulator) -> AsyncIterator[Bot]:
    instance = make_bot(emu)
    try:
        yield instance
    finally:
        await instance.session.close()


async def test_a_400_nobody_expected_fails_the_test_even_if_the_bot_swallowed_it() -> None:
    emu = TelegramEmulator(token=TOKEN)
    with pytest.raises(AssertionError, match="sendMessage -> 400 Bad Request: chat not found"):
        async with emu, bot_of(emu) as bot:
            with contextlib.suppress(TelegramBadRequest):  # as a careless handler would
                await bot.send_message(999, "hello?")
    assert [e.description for e in emu.unexpected_errors] == ["Bad Request: chat not found"]


async def test_an_expected_400_passes_only_where_it_was_expected() -> None:
    emu = TelegramEmulator(token=TOKEN)
    emu.add_user(OLENA, "Olena")
    with pytest.raises(AssertionError) as failure:
        async with emu, bot_of(emu) as bot:
            msg = await bot.send_message(OLENA, "hi")
            with emu.expect_errors("MESSAGE IS NOT MODIFIED") as expected:  # case ignored
                with pytest.raises(TelegramBadRequest):
                    await bot.edit_message_text("hi", chat_id=OLENA, message_id=msg.message_id)
            assert [str(e) for e in expected.seen] == [
                f"editMessageText -> 400 Bad Request: {NOT_MODIFIED}"
            ]
            with pytest.raises(TelegramBadRequest):  # after the block: not expected any more
                await bot.edit_message_text("hi", chat_id=OLENA, message_id=msg.message_id)
    assert str(failure.value).count("message is not modified") == 1


async def test_an_expectation_holds_until_stop_and_only_for_its_methods() -> None:
    emu = TelegramEmulator(token=TOKEN)
    with pytest.raises(AssertionError) as failure:
        async with emu, bot_of(emu) as bot:
            emu.expect_errors("chat not found", methods=["sendMessage"])
            for _ in range(2):
                with pytest.raises(TelegramBadRequest):
                    await bot.send_message(999, "hello?")
            with pytest.raises(TelegramBadRequest):
                await bot.send_chat_action(999, "typing")
    assert "sendChatAction -> 400 Bad Request: chat not found" in str(failure.value)
    assert "sendMessage" not in str(failure.value)


async def test_injected_faults_403_and_429_are_not_checked() -> None:
    clock = FakeClock()
    async with TelegramEmulator(token=TOKEN, per_chat_rate=1, clock=clock) as emu:
        emu.add_user(OLENA, "Olena")
        async with bot_of(emu) as bot:
            emu.fail_next(1, status=400, description="Bad Request: injected")
            with pytest.raises(TelegramBadRequest, match="injected"):
                await bot.send_message(OLENA, "1")  # the test asked for it
            await bot.send_message(OLENA, "2")
            with pytest.raises(TelegramRetryAfter):
                await bot.send_message(OLENA, "3")  # the limiter's 429
            emu.block_user(OLENA)
            clock.now += 1.01
            with pytest.raises(TelegramForbiddenError):
                await bot.send_message(OLENA, "4")
    assert [e.error_code for e in emu.errors] == [400, 429, 403]
    assert emu.unexpected_errors == []


async def test_each_unexpected_error_is_reported_once() -> None:
    emu = TelegramEmulator(token=TOKEN)
    await emu.start()
    async with bot_of(emu) as bot:
        with pytest.raises(TelegramBadRequest):
            await bot.send_message(999, "hello?")
    with pytest.raises(AssertionError, match="chat not found"):
        emu.assert_no_unexpected_errors()
    await emu.stop()  # reported already: a fixture's teardown does not fail the test again


async def test_a_failing_test_keeps_its_own_error_and_notes_the_unexpected_ones() -> None:
    emu = TelegramEmulator(token=TOKEN)
    with pytest.raises(LookupError) as failure:
        async with emu, bot_of(emu) as bot:
            with contextlib.suppress(TelegramBadRequest):
                await bot.send_message(999, "hello?")
            raise LookupError("the test's own failure")
    assert any("chat not found" in note for note in failure.value.__notes__)


async def test_an_emulator_bug_fails_the_test() -> None:
    def broken(params: dict[str, object]) -> object:
        raise KeyError("oops")

    emu = TelegramEmulator(token=TOKEN)
    emu.register_method("sendMessage", broken)
    emu.add_user(OLENA, "Olena")
    with pytest.raises(AssertionError, match="emulator bug: KeyError"):
        async with emu, bot_of(emu) as bot:
            with pytest.raises(TelegramServerError):
                await bot.send_message(OLENA, "hi")


async def test_strictness_can_be_switched_off() -> None:
    async with TelegramEmulator(token=TOKEN, strict_errors=()) as emu, bot_of(emu) as bot:
        with pytest.raises(TelegramBadRequest):
            await bot.send_message(999, "hello?")
    assert emu.unexpected_errors == [] and len(emu.errors) == 1


# ---- getUpdates semantics ---------------------------------------------------------------------


async def test_get_updates_offset_semantics(emu: TelegramEmulator, bot: Bot) -> None:
    for text in ("a", "b", "c"):
        await emu.send_text(OLENA, text)
    first = await bot.get_updates(timeout=0)
    assert [u.message.text for u in first if u.message] == ["a", "b", "c"]
    again = await bot.get_updates(timeout=0)  # nothing confirmed yet
    assert [u.update_id for u in again] == [u.update_id for u in first]
    tail = await bot.get_updates(offset=first[1].update_id, timeout=0)  # confirms "a"
    assert [u.message.text for u in tail if u.message] == ["b", "c"]
    assert await bot.get_updates(offset=first[-1].update_id + 1, timeout=0) == []
    assert emu.pending_updates == []

    for text in ("d", "e", "f"):
        await emu.send_text(OLENA, text)
    last = await bot.get_updates(offset=-1, timeout=0)  # forget all but the last one
    assert [u.message.text for u in last if u.message] == ["f"]
    assert [u.message.text for u in await bot.get_updates(limit=5) if u.message] == ["f"]

    # Long polling: the request is parked until an update arrives, then answers at once.
    started = time.monotonic()
    poll = asyncio.create_task(bot.get_updates(offset=last[0].update_id + 1, timeout=10))
    await asyncio.sleep(0.05)
    assert not poll.done()
    await emu.send_text(OLENA, "g")
    woken = await asyncio.wait_for(poll, 5)
    assert [u.message.text for u in woken if u.message] == ["g"]
    assert time.monotonic() - started < 5  # woken by the update, not by its 10 s timeout

    # A second concurrent poller terminates the first one, like Telegram.
    parked = asyncio.create_task(bot.get_updates(offset=woken[0].update_id + 1, timeout=10))
    await asyncio.sleep(0.05)
    assert await bot.get_updates(offset=woken[0].update_id + 1, timeout=0) == []
    with pytest.raises(TelegramConflictError):
        await asyncio.wait_for(parked, 2)


async def test_wait_for_message_timeout_explains(emu: TelegramEmulator, bot: Bot) -> None:
    await bot.send_message(OLENA, "first")
    with bad_request(emu, "can't parse entities"):
        await bot.send_message(OLENA, "<b>broken", parse_mode="HTML")
    assert (await emu.wait_for_message(OLENA, contains="first", timeout=0.5)).text == "first"
    with pytest.raises(AssertionError) as info:
        await emu.wait_for_message(OLENA, timeout=0.05)
    assert "first" in str(info.value) and "can't parse entities" in str(info.value)
    await emu.assert_no_message(OLENA, within=0.02)


async def test_group_chat(emu: TelegramEmulator, bot: Bot) -> None:
    emu.add_group(chat_id=-100123, title="Liaisons", members=[PETRO])
    dp = Dispatcher()

    @dp.message(Command("ping"))
    async def ping(message: Message) -> None:
        assert message.from_user is not None
        await message.reply(f"pong {message.from_user.first_name} in {message.chat.type}")

    async with run_polling(dp, bot, emu=emu):
        await emu.send_text(OLENA, "/ping@homeward_test_bot", chat_id=-100123)
        reply = await emu.wait_for_message(-100123, timeout=2)

    assert reply.text == "pong Olena in supergroup"
    assert reply.reply_to_message is not None and reply.reply_to_message["text"].startswith("/ping")
    chat = await bot.get_chat(-100123)
    assert chat.title == "Liaisons"
    member = await bot.get_chat_member(-100123, OLENA)  # joined by writing
    assert member.status == "member"
    emu.remove_bot_from_group(-100123)
    with pytest.raises(TelegramForbiddenError, match="kicked from the supergroup chat"):
        await bot.send_message(-100123, "still here?")


async def test_files_round_trip(emu: TelegramEmulator, bot: Bot) -> None:
    # An upload arrives as multipart "attach://"; the emulator keeps the bytes.
    sent = await bot.send_photo(OLENA, BufferedInputFile(b"\xff\xd8jpeg", filename="p.jpg"))
    assert sent.photo is not None
    file_id = sent.photo[-1].file_id
    assert emu.files[file_id].content == b"\xff\xd8jpeg"
    downloaded = await bot.download(file_id)
    assert downloaded is not None and downloaded.read() == b"\xff\xd8jpeg"
    # A user's document can be downloaded, but not re-sent as a photo.
    await emu.send_document(OLENA, file_id="doc9", content=b"%PDF")
    assert (await bot.download("doc9")).read() == b"%PDF"  # type: ignore[union-attr]
    with bad_request(emu, "type of file mismatch"):
        await bot.send_photo(OLENA, "doc9")
