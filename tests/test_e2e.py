"""End to end: the real bot (`run_polling`) long-polls the Bot API emulator over HTTP."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import run_polling
from bot.config import Settings, load_settings
from bot.domain.intake import STEP_BY_KEY
from bot.i18n import CatalogI18n
from bot.texts.menus import FAMILY_COMMANDS
from handlers.callbacks import RequestCb
from storage.models import TracingRequest
from tests.emulator import StoredMessage, TelegramEmulator
from tests.flows import FULL_INTAKE, SUBMIT, callback_for

CODE_RE = re.compile(r"HW-[2-9A-Z]{4}-[2-9A-Z]{2}")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class LiveBot:
    """The production entry point, started and stopped inside the test's event loop;
    started once it has made its first `ready_call` to the Bot API."""

    run = staticmethod(run_polling)
    ready_call = "getUpdates"

    def __init__(self, settings: Settings, emulator: TelegramEmulator) -> None:
        self.settings = settings
        self.emulator = emulator
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._stop = asyncio.Event()
        calls_before = len(self.emulator.calls(self.ready_call))
        self._task = asyncio.create_task(self.run(self.settings, stop=self._stop))
        await self.emulator.wait_until(
            lambda: len(self.emulator.calls(self.ready_call)) > calls_before or self._task.done(),
            timeout=15,
            message=f"the bot did not call {self.ready_call}",
        )
        if self._task.done():
            self._task.result()

    async def stop(self) -> None:
        if self._task is None:
            return
        self._stop.set()
        await asyncio.wait_for(self._task, 15)
        self._task = None


def live_settings(emulator: TelegramEmulator, db_url: str, admin: int | None = None) -> Settings:
    """Production settings pointed at the emulator and the test database. The people in
    these tests answer within milliseconds, where the default burst in one chat
    (CHAT_BURST, tested in test_pacer and test_instances_e2e) would hold every reply after
    the third for a second: the burst is raised so that they run at their own pace."""
    return load_settings(
        bot_token=emulator.token,
        database_url=db_url,
        telegram_api_url=emulator.base_url,
        admin_ids=str(admin) if admin else "",
        chat_burst=100,
        _env_file=None,
    )


@pytest.fixture
async def emulator() -> AsyncIterator[TelegramEmulator]:
    emu = TelegramEmulator()
    await emu.start()
    yield emu
    await emu.stop()


@pytest.fixture
async def live(
    emulator: TelegramEmulator, engine: AsyncEngine, db_url: str
) -> AsyncIterator[LiveBot]:
    bot = LiveBot(live_settings(emulator, db_url), emulator)
    await bot.start()
    yield bot
    await bot.stop()


async def press_data(emu: TelegramEmulator, user_id: int, data: str) -> None:
    """Press the button with this callback data on the newest message that shows it."""
    for message in reversed(emu.sent_to(user_id)):
        if data in message.callback_data:
            await emu.press(user_id, message.message_id, data)
            return
    raise AssertionError(f"no button {data!r}. {emu.describe_chat(user_id)}")


async def wait_shows(
    emu: TelegramEmulator, user_id: int, text: str, timeout: float = 5
) -> StoredMessage:
    """Wait until the newest bot message shows `text`: a question arrives either as a new
    message (after a typed answer) or by editing the message whose button was pressed."""

    def newest() -> StoredMessage | None:
        message = emu.last_message(user_id)
        return message if message is not None and text in (message.content or "") else None

    shown = await emu.wait_until(
        newest,
        timeout=timeout,
        message=lambda: f"{text!r} not shown. {emu.describe_chat(user_id)}",
    )
    emu.mark_read(user_id)  # later wait_for_message calls look only at what comes next
    return shown


def prompt(i18n: CatalogI18n, step: str, locale: str) -> str:
    return i18n.gettext(STEP_BY_KEY[step].prompt, locale=locale)


async def answer_steps(
    emu: TelegramEmulator,
    i18n: CatalogI18n,
    user_id: int,
    locale: str,
    start: int,
    end: int,
    timeout: float = 5,
) -> StoredMessage:
    """Answer FULL_INTAKE[start:end], checking that each next question (or finally the
    summary) is shown in the user's language."""
    message: StoredMessage | None = None
    for index in range(start, end):
        kind, step, value = FULL_INTAKE[index]
        if kind == "text":
            await emu.send_text(user_id, value)
        else:
            await press_data(emu, user_id, callback_for(kind, step, value))
        if index + 1 < len(FULL_INTAKE):
            expected = prompt(i18n, FULL_INTAKE[index + 1][1], locale)[:40]
        else:
            expected = i18n.gettext("Please check your request", locale=locale)
        message = await wait_shows(emu, user_id, expected, timeout)
    assert message is not None
    return message


async def submit_full_request(
    emu: TelegramEmulator, i18n: CatalogI18n, user_id: int, locale: str, timeout: float = 5
) -> str:
    """The whole intake; `timeout` for each answer (longer for a machine under load)."""
    await emu.send_text(user_id, "/new")
    await emu.wait_for_message(
        user_id, contains=prompt(i18n, "sought_name", locale)[:40], timeout=timeout
    )
    summary = await answer_steps(emu, i18n, user_id, locale, 0, len(FULL_INTAKE), timeout)
    assert i18n.gettext("Please check your request", locale=locale) in summary.text
    await press_data(emu, user_id, SUBMIT)
    done = await emu.wait_for_message(
        user_id, predicate=lambda m: bool(CODE_RE.search(m.text or "")), timeout=timeout
    )
    return CODE_RE.search(done.text or "").group(0)  # type: ignore[union-attr]


@pytest.mark.parametrize("locale", ["uk", "ru", "en"])
async def test_full_intake_in_each_language(
    live: LiveBot, emulator: TelegramEmulator, i18n: CatalogI18n, engine: AsyncEngine, locale: str
) -> None:
    user_id = 5000 + ["uk", "ru", "en"].index(locale)
    emulator.add_user(user_id, first_name="Olena", language_code=locale)
    await emulator.send_text(user_id, "/start")
    greeting = await emulator.wait_for_message(user_id)
    assert greeting.buttons[0] == i18n.gettext("New request", locale=locale)

    code = await submit_full_request(emulator, i18n, user_id, locale)
    ack = emulator.last_text(user_id) or ""
    assert code in ack and "/status" in ack

    # The name was shown literally in the summary: HTML escaped, accepted by Telegram's parser.
    summary = next(m for m in emulator.sent_to(user_id) if "Петренко" in (m.text or ""))
    assert "Іван <b>Петренко</b> & Co" in (summary.text or "")

    await emulator.send_text(user_id, f"/status {code}")
    status = await emulator.wait_for_message(user_id, contains=code)
    assert i18n.gettext("Received", locale=locale) in (status.text or "")

    async with engine.connect() as conn:
        row = (await conn.execute(select(TracingRequest).where(TracingRequest.code == code))).one()
    assert row.family_id == user_id and row.locale == locale and row.now_adult

    # The command menu is registered in every language.
    commands = emulator.get_commands({"type": "all_private_chats"}, locale)
    assert commands is not None
    assert [c["command"] for c in commands] == [name for name, _ in FAMILY_COMMANDS]
    assert commands[0]["description"] == i18n.gettext(FAMILY_COMMANDS[0][1], locale=locale)
    emulator.assert_no_errors()


async def test_restart_in_the_middle_of_an_intake(
    live: LiveBot, emulator: TelegramEmulator, i18n: CatalogI18n
) -> None:
    user_id = 5100
    emulator.add_user(user_id, first_name="Iryna", language_code="uk")
    await emulator.send_text(user_id, "/new")
    await emulator.wait_for_message(user_id, contains=prompt(i18n, "sought_name", "uk")[:40])
    await answer_steps(emulator, i18n, user_id, "uk", 0, 11)

    await live.stop()
    await live.start()  # a new process would see the same: nothing in memory survives

    await emulator.send_text(user_id, "/new")
    resumed = await emulator.wait_for_message(user_id)
    assert i18n.gettext(
        "You have an unfinished request. Let us continue where you stopped.", locale="uk"
    ) in (resumed.text or "")
    assert prompt(i18n, FULL_INTAKE[11][1], "uk")[:40] in (resumed.text or "")
    await answer_steps(emulator, i18n, user_id, "uk", 11, len(FULL_INTAKE))
    await press_data(emulator, user_id, SUBMIT)
    await emulator.wait_for_message(user_id, predicate=lambda m: bool(CODE_RE.search(m.text or "")))
    emulator.assert_no_errors()


async def test_status_and_add_are_isolated_between_two_families(
    live: LiveBot, emulator: TelegramEmulator, i18n: CatalogI18n, engine: AsyncEngine
) -> None:
    emulator.add_user(5201, first_name="A", language_code="en")
    emulator.add_user(5202, first_name="B", language_code="ru")
    code_a = await submit_full_request(emulator, i18n, 5201, "en")
    code_b = await submit_full_request(emulator, i18n, 5202, "ru")
    not_found = i18n.gettext(
        "No request with this reference code was found among your requests. "
        "Please check the code, or send /status to see them all.",
        locale="en",
    )

    await emulator.send_text(5201, f"/status {code_b}")
    assert (await emulator.wait_for_message(5201)).text == not_found
    await emulator.send_text(5201, f"/add {code_b}")
    assert (await emulator.wait_for_message(5201)).text == not_found

    # A forged button with the other family's request id, pressed on A's own message.
    async with engine.connect() as conn:
        id_b = await conn.scalar(select(TracingRequest.id).where(TracingRequest.code == code_b))
    own = emulator.sent_to(5201)[-1]
    query = await emulator.press(
        5201, own.message_id, RequestCb(action="view", request_id=id_b).pack(), check=False
    )
    answer = await emulator.wait_for_answer(query)
    assert answer["text"] == i18n.gettext("This request was not found.", locale="en")
    await emulator.assert_no_message(5201, within=0.3)
    assert all(code_b not in (m.text or "") for m in emulator.sent_to(5201))

    # Each sees exactly its own request in the list.
    await emulator.send_text(5201, "/status")
    listing = await emulator.wait_for_message(5201, contains=code_a)
    assert code_b not in (listing.text or "")

    # B adds information; it is stored on B's request only.
    await emulator.send_text(5202, f"/add {code_b}")
    await emulator.wait_for_message(5202, contains=code_b)
    await emulator.send_text(5202, "Возможно, она сейчас в Ростове")
    await emulator.wait_for_message(5202, contains=code_b)
    emulator.assert_no_errors()


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_a_killed_process_loses_no_draft(
    emulator: TelegramEmulator, i18n: CatalogI18n, engine: AsyncEngine, db_url: str
) -> None:
    """SIGKILL the bot process in the middle of an intake; a new process continues it."""
    env = {
        **os.environ,
        "BOT_TOKEN": emulator.token,
        "DATABASE_URL": db_url,
        "TELEGRAM_API_URL": emulator.base_url,
        "LOG_LEVEL": "WARNING",
    }

    async def spawn() -> asyncio.subprocess.Process:
        polls = len(emulator.calls("getUpdates"))
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            cwd=ROOT,
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        await emulator.wait_until(
            lambda: len(emulator.calls("getUpdates")) > polls or process.returncode is not None,
            timeout=30,
            message="the bot process did not start polling",
        )
        assert process.returncode is None, (await process.stderr.read()).decode()  # type: ignore[union-attr]
        return process

    user_id = 5300
    emulator.add_user(user_id, first_name="Maria", language_code="ru")
    process = await spawn()
    try:
        await emulator.send_text(user_id, "/new")
        await emulator.wait_for_message(user_id, contains=prompt(i18n, "sought_name", "ru")[:40])
        await answer_steps(emulator, i18n, user_id, "ru", 0, 7)
    finally:
        process.send_signal(signal.SIGKILL)
        await process.wait()

    process = await spawn()
    try:
        await emulator.send_text(user_id, "/new")
        resumed = await emulator.wait_for_message(user_id)
        assert prompt(i18n, FULL_INTAKE[7][1], "ru")[:40] in (resumed.text or "")
    finally:
        process.send_signal(signal.SIGTERM)
        await process.wait()


async def test_replies_are_retried_through_telegram_failures(
    live: LiveBot, emulator: TelegramEmulator, i18n: CatalogI18n
) -> None:
    """A 500 and a 429 on the way out delay the reply; they do not lose it."""
    emulator.add_user(5400, first_name="Taras", language_code="uk")
    emulator.fail_next(1, status=500, methods={"sendMessage"})
    emulator.fail_next(1, status=429, retry_after=1, methods={"sendMessage"})
    await emulator.send_text(5400, "/help")
    reply = await emulator.wait_for_message(5400, timeout=10)
    assert "/new" in (reply.text or "")
    assert emulator.stats["injected"] == 2


@pytest.mark.slow
async def test_start_up_errors_are_one_clear_line(emulator: TelegramEmulator, tmp_path) -> None:
    async def run(extra_env: dict[str, str]) -> tuple[int, str]:
        env = {k: v for k, v in os.environ.items() if k != "BOT_TOKEN"}
        env.update({"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/x.db", **extra_env})
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            cwd=tmp_path,
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        _, stderr = await asyncio.wait_for(process.communicate(), 60)
        return process.returncode or 0, stderr.decode()

    code, err = await run({})
    assert code == 2 and "BOT_TOKEN is not set" in err and "Traceback" not in err
    wrong = "999999:" + "B" * 35  # not the emulator's token: Telegram answers 401
    code, err = await run({"BOT_TOKEN": wrong, "TELEGRAM_API_URL": emulator.base_url})
    assert code == 1 and "rejected BOT_TOKEN" in err and "Traceback" not in err


async def test_staff_menus_are_per_chat_and_outsiders_get_the_unknown_answer(
    emulator: TelegramEmulator, engine: AsyncEngine, db_url: str, i18n: CatalogI18n
) -> None:
    admin, outsider = 6001, 6002
    emulator.add_user(admin, first_name="Admin", language_code="en")
    emulator.add_user(outsider, first_name="Someone", language_code="uk")
    bot = LiveBot(live_settings(emulator, db_url, admin=admin), emulator)
    await bot.start()
    try:
        menu = emulator.get_commands({"type": "chat", "chat_id": admin})
        assert menu is not None and "grant" in [c["command"] for c in menu]
        assert emulator.get_commands({"type": "chat", "chat_id": outsider}) is None
        public = emulator.get_commands({"type": "all_private_chats"}, "uk")
        assert public is not None and "grant" not in [c["command"] for c in public]

        await emulator.send_text(outsider, "/grant 6002")
        reply = await emulator.wait_for_message(outsider)
        with i18n.context(), i18n.use_locale("uk"):
            from handlers.family.fallback import unknown_text

            assert reply.text == unknown_text()

        await emulator.send_text(admin, f"/grant {outsider}")
        await emulator.wait_for_message(admin, contains=f"User {outsider} is now a liaison.")
        menu = emulator.get_commands({"type": "chat", "chat_id": outsider}, "uk")
        assert menu is not None and menu[0]["description"] == i18n.gettext(
            FAMILY_COMMANDS[0][1], locale="uk"
        )
        emulator.assert_no_errors()
    finally:
        await bot.stop()


async def test_staff_who_never_wrote_get_their_menu_on_their_first_start(
    emulator: TelegramEmulator, engine: AsyncEngine, db_url: str, i18n: CatalogI18n
) -> None:
    """Telegram refuses a chat's menu until the person has opened the chat ("chat not
    found"): an admin in ADMIN_IDS or a liaison granted by id gets it on their first /start,
    once, and the refusal breaks nothing."""
    admin, liaison = 6011, 6012
    emulator.add_user(admin, first_name="Admin", language_code="uk", opened_chat=False)
    emulator.add_user(liaison, first_name="Liaison", language_code="en", opened_chat=False)
    admin_menu = {"type": "chat", "chat_id": admin}
    liaison_menu = {"type": "chat", "chat_id": liaison}
    bot = LiveBot(live_settings(emulator, db_url, admin=admin), emulator)
    with emulator.expect_errors("chat not found", methods=["setMyCommands"]) as refused:
        await bot.start()
    try:
        assert refused.seen  # tried at start-up, and Telegram said no
        assert emulator.get_commands(admin_menu) is None

        await emulator.send_text(admin, "/start")
        await emulator.wait_for_message(admin)  # the greeting first, then the menu
        await emulator.wait_until(
            lambda: all(emulator.get_commands(admin_menu, lang) for lang in ("", "uk", "ru", "en"))
        )
        menu = emulator.get_commands(admin_menu, "uk")
        assert menu is not None and "audit" in [c["command"] for c in menu]
        assert menu[0]["description"] == i18n.gettext(FAMILY_COMMANDS[0][1], locale="uk")
        menus_set = len(emulator.calls("setMyCommands"))
        await emulator.send_text(admin, "/start")  # remembered: not set again
        await emulator.wait_for_message(admin)

        with emulator.expect_errors("chat not found", methods=["setMyCommands"]):
            await emulator.send_text(admin, f"/grant {liaison}")
            await emulator.wait_for_message(admin, contains=str(liaison))
        assert emulator.get_commands(liaison_menu) is None
        assert len(emulator.calls("setMyCommands")) == menus_set + 1  # the refused one
        await emulator.send_text(liaison, "/start")
        await emulator.wait_for_message(liaison)
        menu = await emulator.wait_until(lambda: emulator.get_commands(liaison_menu, "en"))
        assert "queue" in [c["command"] for c in menu] and "audit" not in str(menu)
        emulator.assert_no_unexpected_errors()
    finally:
        await bot.stop()


@pytest.mark.slow
async def test_liaison_moves_a_case_and_the_family_hears_only_the_status(
    emulator: TelegramEmulator, engine: AsyncEngine, db_url: str, i18n: CatalogI18n
) -> None:
    from bot.texts.callbacks import CaseCb

    liaison, family = 6101, 6102
    emulator.add_user(liaison, first_name="Liaison", language_code="en")
    emulator.add_user(family, first_name="Olha", language_code="uk")
    bot = LiveBot(live_settings(emulator, db_url, admin=liaison), emulator)
    await bot.start()
    try:
        code = await submit_full_request(emulator, i18n, family, "uk")
        emulator.mark_read(family)
        await emulator.send_text(liaison, f"/note {code} Private: neighbour saw her in 2023")
        await emulator.wait_for_message(liaison, contains="Internal note added")
        await emulator.send_text(liaison, f"/case {code}")
        card = await emulator.wait_for_message(liaison, contains=f"Case {code}")
        async with engine.connect() as conn:
            request_id = await conn.scalar(
                select(TracingRequest.id).where(TracingRequest.code == code)
            )
        await emulator.press(
            liaison, card.message_id, CaseCb(action="take", request_id=request_id).pack()
        )
        await emulator.wait_until(
            lambda: "Taken by" in (emulator.message(liaison, card.message_id).text or "")
        )
        move = CaseCb(action="move", request_id=request_id, value="in_review").pack()
        await emulator.press(liaison, card.message_id, move)

        notice = await emulator.wait_for_message(family, contains=code)
        assert i18n.gettext("Under review", locale="uk") in (notice.text or "")
        await emulator.assert_no_message(family, within=0.5)  # exactly one notice
        assert all("neighbour" not in (m.text or "") for m in emulator.sent_to(family))
        emulator.assert_no_errors()
    finally:
        await bot.stop()


@pytest.mark.slow
async def test_the_whole_liaison_loop(
    emulator: TelegramEmulator, engine: AsyncEngine, db_url: str, i18n: CatalogI18n
) -> None:
    """A takes the case, notes, moves it and drafts an update; B approves; the family gets
    exactly the status notices and the approved text in Ukrainian, never the note; an
    outsider gets nothing from any staff command."""
    from bot.texts.callbacks import CaseCb
    from handlers.family.fallback import unknown_text
    from handlers.liaison import liaison_command_names, staff_command_names

    a, b, family, outsider = 6201, 6202, 6203, 6204
    for user, lang in ((a, "en"), (b, "en"), (family, "uk"), (outsider, "ru")):
        emulator.add_user(user, first_name=f"U{user}", language_code=lang)
    bot = LiveBot(live_settings(emulator, db_url, admin=b), emulator)
    await bot.start()
    try:
        await emulator.send_text(b, f"/grant {a}")
        await emulator.wait_for_message(b, contains="is now a liaison")
        code = await submit_full_request(emulator, i18n, family, "uk")
        emulator.mark_read(family)
        async with engine.connect() as conn:
            request_id = await conn.scalar(
                select(TracingRequest.id).where(TracingRequest.code == code)
            )

        await emulator.send_text(a, f"/case {code}")
        card = await emulator.wait_for_message(a, contains=f"Case {code}")
        await emulator.press(
            a, card.message_id, CaseCb(action="take", request_id=request_id).pack()
        )
        await emulator.send_text(a, f"/note {code} Internal: called the registry")
        await emulator.wait_for_message(a, contains="Internal note added")
        await emulator.send_text(a, f"/case {code}")
        card = await emulator.wait_for_message(a, contains=f"Case {code}")
        await emulator.press(
            a,
            card.message_id,
            CaseCb(action="move", request_id=request_id, value="in_review").pack(),
        )
        status_notice = await emulator.wait_for_message(family, timeout=10)
        assert i18n.gettext("Under review", locale="uk") in (status_notice.text or "")
        await emulator.send_text(a, f"/update {code} The registry has a record that may match.")
        draft_card = await emulator.wait_for_message(a, contains="Draft #")
        approve = draft_card.callback_data[0]
        await emulator.press(a, draft_card.message_id, approve)  # own draft: refused
        await emulator.wait_until(
            lambda: any(q.answered for q in emulator.callback_queries.values())
        )
        await emulator.assert_no_message(family, within=0.3)
        await emulator.send_text(b, f"/case {code}")
        b_card = await emulator.wait_for_message(b, contains=f"Case {code}")
        assert approve in b_card.callback_data
        await emulator.press(b, b_card.message_id, approve)

        framed = (await emulator.wait_for_message(family, timeout=10)).text or ""
        assert framed.startswith(f"Повідомлення щодо вашого запиту {code}")
        assert "The registry has a record that may match." in framed
        await emulator.assert_no_message(family, within=0.5)  # exactly two: status, update
        assert all("Internal" not in (m.text or "") for m in emulator.sent_to(family))

        with i18n.context(), i18n.use_locale("ru"):
            unknown = unknown_text()
        for command in sorted((staff_command_names() | liaison_command_names()) - {"start"}):
            await emulator.send_text(outsider, f"/{command} {code} text")
            assert (await emulator.wait_for_message(outsider)).text == unknown, command
        for data in (CaseCb(action="take", request_id=request_id).pack(), approve):
            own = emulator.sent_to(outsider)[-1]
            query = await emulator.press(outsider, own.message_id, data, check=False)
            await emulator.wait_for_answer(query)
        await emulator.assert_no_message(family, within=0.3)
        emulator.assert_no_errors()
    finally:
        await bot.stop()


@pytest.mark.slow
async def test_approved_messages_survive_faults_and_a_restart_exactly_once(
    emulator: TelegramEmulator, engine: AsyncEngine, db_url: str, i18n: CatalogI18n
) -> None:
    """500s and 429s for a while, a restart in the middle of delivery: each approved
    message arrives once."""
    from bot.domain.review import ReviewMode
    from bot.services import drafts as draft_service
    from bot.services.uow import UnitOfWork

    reviewer, family = 6302, 6303
    for user in (reviewer, family):
        emulator.add_user(user, first_name=f"U{user}", language_code="uk")
    bot = LiveBot(live_settings(emulator, db_url, admin=reviewer), emulator)
    await bot.start()
    try:
        code = await submit_full_request(emulator, i18n, family, "uk")
        emulator.mark_read(family)
        uow = UnitOfWork(engine)
        admins = frozenset({reviewer})
        drafts = [
            await draft_service.create_draft(uow, reviewer, admins, code, "update", f"Message {n}")
            for n in range(4)
        ]
        # Telegram fails: two 500s, then a 429 asking to wait a second, then recovers.
        emulator.fail_next(2, status=500, methods={"sendMessage"})
        emulator.fail_next(1, status=429, retry_after=1, methods={"sendMessage"})
        for draft in drafts:  # one-person team: the author approves (single review mode)
            await draft_service.approve(uow, reviewer, admins, draft.id, ReviewMode.SINGLE)
        await emulator.wait_until(
            lambda: any("Message" in (m.text or "") for m in emulator.sent_to(family)), timeout=20
        )
        await bot.stop()  # in the middle of delivery
        await bot.start()
        await emulator.wait_until(
            lambda: sum("Message" in (m.text or "") for m in emulator.sent_to(family)) >= 4,
            timeout=20,
        )
        await asyncio.sleep(0.5)
        delivered = [m.text or "" for m in emulator.sent_to(family) if "Message" in (m.text or "")]
        assert sorted(t.splitlines()[-1] for t in delivered) == [f"Message {n}" for n in range(4)]
        assert emulator.stats["injected"] >= 3
    finally:
        await bot.stop()
