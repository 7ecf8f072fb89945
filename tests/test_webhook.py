"""Webhook mode, health and metrics, through real HTTP: the emulator posts updates to the
bot's webhook server (retrying on non-2xx like Telegram), and the tests post to it too."""

from __future__ import annotations

import asyncio
import functools
import json
import os
import re
import signal
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiogram.exceptions import TelegramConflictError, TelegramForbiddenError
from aiohttp import web
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from bot.app import WebhookSetError, create_bot, run_polling
from bot.config import ConfigError, Settings, load_settings
from bot.domain.states import BroadcastState
from bot.i18n import CatalogI18n
from bot.metrics import Metrics
from bot.serving.health import Health, bound_port, serve
from bot.serving.webhook import (
    ATTEMPTS,
    BUSY_SECONDS,
    SECRET_HEADER,
    MemoryLedger,
    RedisLedger,
    Seen,
    run_webhook,
)
from handlers.family import start
from storage import stats
from storage.lease import PollingLockError
from storage.models import Broadcast, BroadcastRecipient, utcnow
from storage.repositories import OutboxRepository
from tests.balancer import free_port
from tests.conftest import PG_URL, TEST_DATA_KEY
from tests.emulator import TelegramEmulator, command_entities, make_bot
from tests.test_e2e import ROOT, LiveBot, answer_steps, prompt

SECRET = "s3cret_Token-for-tests"
USER = 7_654_321  # must never show in /metrics


def webhook_settings(emulator: TelegramEmulator, db_url: str, **extra: Any) -> Settings:
    port = free_port()
    return load_settings(
        bot_token=emulator.token,
        database_url=db_url,
        telegram_api_url=emulator.base_url,
        mode="webhook",
        webhook_url=f"http://127.0.0.1:{port}/telegram/hook",
        webhook_secret=SECRET,
        webhook_listen=f"127.0.0.1:{port}",
        _env_file=None,
        **extra,
    )


class WebhookBot(LiveBot):
    """`python -m bot webhook`, started and stopped inside the test's event loop."""

    run = staticmethod(run_webhook)
    ready_call = "setWebhook"

    def __init__(self, settings: Settings, emulator: TelegramEmulator) -> None:
        super().__init__(settings, emulator)
        assert settings.webhook_url is not None
        self.url = settings.webhook_url
        self.base = self.url.rsplit("/telegram/hook", 1)[0]


@pytest.fixture
async def emulator() -> AsyncIterator[TelegramEmulator]:
    emu = TelegramEmulator()
    await emu.start()
    yield emu
    await emu.stop()


@pytest.fixture
async def webhook(
    emulator: TelegramEmulator, engine: AsyncEngine, db_url: str
) -> AsyncIterator[WebhookBot]:
    bot = WebhookBot(webhook_settings(emulator, db_url), emulator)
    await bot.start()
    yield bot
    await bot.stop()


def text_update(update_id: int, text: str, user_id: int = USER) -> dict[str, Any]:
    user = {"id": user_id, "is_bot": False, "first_name": "Olena", "language_code": "en"}
    message = {
        "message_id": update_id,
        "date": int(time.time()),
        "chat": {"id": user_id, "type": "private", "first_name": "Olena"},
        "from": user,
        "text": text,
    }
    if entities := command_entities(text):
        message["entities"] = entities
    return {"update_id": update_id, "message": message}


async def post(
    url: str, body: bytes | Any, headers: dict[str, str] | None = None
) -> tuple[int, str]:
    async with (
        aiohttp.ClientSession() as client,
        client.post(url, data=body, headers=headers or {}) as response,
    ):
        return response.status, await response.text()


async def get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as client, client.get(url) as response:
        return response.status, await response.text()


def sample(metrics_text: str, name: str, **labels: str) -> float:
    """The value of one sample of /metrics (0 when absent)."""
    for line in metrics_text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}")[0]))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


# ---- settings -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({}, "WEBHOOK_URL is required in webhook mode"),
        ({"webhook_url": "https://bot.example.org/tg"}, "WEBHOOK_SECRET is required"),
        (
            {"webhook_url": "https://bot.example.org/tg", "webhook_secret": "with space"},
            "WEBHOOK_SECRET must be 1-256 characters",
        ),
        (
            {"webhook_url": "https://bot.example.org/tg", "webhook_secret": "x" * 257},
            "WEBHOOK_SECRET must be 1-256 characters",
        ),
        (
            {"webhook_url": "https://bot.example.org/metrics", "webhook_secret": "ok"},
            "WEBHOOK_URL's path must not be",
        ),
        ({"webhook_url": "bot.example.org", "webhook_secret": "ok"}, "WEBHOOK_URL must be"),
        (
            {"webhook_url": "https://b.org/tg", "webhook_secret": "ok", "webhook_listen": "x"},
            "WEBHOOK_LISTEN must be host:port",
        ),
        (
            {
                "webhook_url": "https://b.org/tg",
                "webhook_secret": "ok",
                "webhook_max_connections": "101",
            },
            "WEBHOOK_MAX_CONNECTIONS: Input should be less than or equal to 100",
        ),
    ],
)
def test_webhook_settings_are_checked_with_one_line_errors(
    options: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError) as error:
        load_settings(bot_token="123456:" + "A" * 35, mode="webhook", _env_file=None, **options)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_polling_needs_no_webhook_settings_and_health_listen_is_checked() -> None:
    token = "123456:" + "A" * 35
    settings = load_settings(bot_token=token, _env_file=None)
    assert settings.mode == "polling" and settings.health_listen is None
    assert load_settings(bot_token=token, health_listen="[::1]:9100", _env_file=None)
    with pytest.raises(ConfigError, match="HEALTH_LISTEN must be host:port"):
        load_settings(bot_token=token, health_listen="9100", _env_file=None)


# ---- the ledger of handled updates ------------------------------------------------------------


async def _handled_once(first: Any, second: Any) -> None:
    assert await first.claim(1) == 1
    assert await second.claim(1) is Seen.BUSY  # the other is handling it
    await first.failed(1)
    assert await second.claim(1) == 2  # delivered again: the second attempt
    await second.done(1)
    assert await first.claim(1) is Seen.DONE
    assert await second.claim(1) is Seen.DONE


async def test_the_memory_ledger_handles_each_update_once() -> None:
    ledger = MemoryLedger(limit=3)
    await _handled_once(ledger, ledger)
    for update_id in (2, 3, 4):  # the oldest is forgotten past the limit
        assert await ledger.claim(update_id) == 1
        await ledger.done(update_id)
    assert await ledger.claim(1) == 1
    await ledger.release(1)
    assert await ledger.claim(1) == 1


async def test_the_redis_ledger_agrees_between_instances(redis_url: str) -> None:
    from redis.asyncio import Redis

    client = Redis.from_url(redis_url)
    try:
        await _handled_once(RedisLedger(client, 123456), RedisLedger(client, 123456))
        ledger = RedisLedger(client, 123456)
        assert await ledger.claim(2) == 1
        key = ledger._key(2)
        await client.expire(key, 3)
        await ledger.keep(2)  # still handling it: the claim does not lapse
        assert 3 < await client.ttl(key) <= BUSY_SECONDS
        assert await RedisLedger(client, 654321).claim(1) == 1  # another bot's update 1
    finally:
        await client.aclose()


# ---- webhook mode end to end ------------------------------------------------------------------


@pytest.mark.slow
async def test_a_conversation_through_the_webhook(
    webhook: WebhookBot, emulator: TelegramEmulator, i18n: CatalogI18n
) -> None:
    set_webhook = emulator.calls("setWebhook")[-1]
    assert set_webhook["url"] == webhook.url and set_webhook["secret_token"] == SECRET
    assert {"message", "callback_query"} <= set(set_webhook["allowed_updates"])
    assert not set_webhook.get("drop_pending_updates")
    assert int(set_webhook["max_connections"]) == 40  # WEBHOOK_MAX_CONNECTIONS

    user_id = 5300
    emulator.add_user(user_id, first_name="Olena", language_code="uk")
    await emulator.send_text(user_id, "/start")
    greeting = await emulator.wait_for_message(user_id)
    assert greeting.buttons[0] == i18n.gettext("New request", locale="uk")
    await emulator.send_text(user_id, "/new")
    await emulator.wait_for_message(user_id, contains=prompt(i18n, "sought_name", "uk")[:40])
    await answer_steps(emulator, i18n, user_id, "uk", 0, 4)  # typed answers and buttons

    assert not emulator.calls("getUpdates")
    assert all(d.status == 200 for d in emulator.webhook_deliveries)
    info = (await make_bot(emulator).get_webhook_info()).model_dump()
    assert info["pending_update_count"] == 0

    await webhook.stop()  # a plain stop keeps the webhook: Telegram keeps the updates
    assert not emulator.calls("deleteWebhook") and emulator.webhook_url == webhook.url
    await emulator.send_text(user_id, "/status")
    await asyncio.sleep(0.3)
    assert emulator.pending_updates  # waiting for an instance, not lost
    await webhook.start()
    await emulator.wait_for_message(user_id)
    emulator.assert_no_errors()


async def test_refused_requests_and_a_replay(
    webhook: WebhookBot, emulator: TelegramEmulator
) -> None:
    emulator.add_user(USER, first_name="Olena")
    update = text_update(10_001, "/help")
    body = json.dumps(update).encode()

    assert (await post(webhook.url, body, {SECRET_HEADER: "wrong"}))[0] == 401
    assert (await post(webhook.url, body))[0] == 401  # no secret at all
    assert (await post(webhook.url, body, {SECRET_HEADER: SECRET + "x"}))[0] == 401
    assert (await post(webhook.url, b"{not json", {SECRET_HEADER: SECRET}))[0] == 400
    assert (await post(webhook.url, b'{"no": "update"}', {SECRET_HEADER: SECRET}))[0] == 400
    huge = b"x" * (2 << 20)
    assert (await post(webhook.url, huge, {SECRET_HEADER: SECRET}))[0] == 413

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: refused while reading
        for _ in range(40):
            yield b" " * 65536

    assert (await post(webhook.url, chunks(), {SECRET_HEADER: SECRET}))[0] == 413
    await asyncio.sleep(0.2)
    assert not emulator.sent_to(USER)  # nothing refused was handled

    assert (await post(webhook.url, body, {SECRET_HEADER: SECRET}))[0] == 200
    assert len(emulator.sent_to(USER)) == 1
    assert (await post(webhook.url, body, {SECRET_HEADER: SECRET}))[0] == 200  # a replay
    await asyncio.sleep(0.2)
    assert len(emulator.sent_to(USER)) == 1  # handled once

    status, text = await get(webhook.base + "/metrics")
    assert status == 200
    assert sample(text, "homeward_updates_total", type="message", outcome="ok") == 1
    assert sample(text, "homeward_updates_total", type="message", outcome="duplicate") == 1
    assert sample(text, "homeward_updates_total", type="unknown", outcome="refused") == 7
    assert sample(text, "homeward_update_seconds_count", type="message") == 1
    assert sample(text, "homeward_messages_sent_total", method="sendMessage", outcome="ok") >= 1
    assert "homeward_outbox_backlog 0.0" in text and "homeward_broadcast_backlog 0.0" in text
    assert str(USER) not in text and "Olena" not in text


def database_down(monkeypatch: pytest.MonkeyPatch, times: int) -> None:
    """The next `times` answers to /help fail as if the database were restarting."""
    real = start.help_text
    left = [times]

    def help_text() -> str:
        if left[0] > 0:
            left[0] -= 1
            raise OperationalError("SELECT", {}, ConnectionRefusedError("database restarting"))
        return real()

    monkeypatch.setattr(start, "help_text", help_text)


async def test_a_passing_failure_gets_500_and_the_redelivery_is_handled(
    webhook: WebhookBot,
    emulator: TelegramEmulator,
    i18n: CatalogI18n,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    emulator.add_user(USER, first_name="Olena")
    database_down(monkeypatch, 1)
    await emulator.send_text(USER, "/help")
    await emulator.wait_idle(timeout=10)
    update_id = emulator.webhook_deliveries[-1].update_id
    assert emulator.webhook_statuses(update_id) == [500, 200]
    assert len(emulator.sent_to(USER)) == 1  # the answer, once, and no apology
    assert i18n.gettext("Sorry, something went wrong", locale="en") not in (
        emulator.last_text(USER) or ""
    )

    # Failing at every delivery: at the last one the person is told, and it is dropped.
    other = USER + 1
    emulator.add_user(other, first_name="Iryna")
    database_down(monkeypatch, ATTEMPTS)
    await emulator.send_text(other, "/help")
    await emulator.wait_idle(timeout=10)
    update_id = emulator.webhook_deliveries[-1].update_id
    assert emulator.webhook_statuses(update_id) == [500] * (ATTEMPTS - 1) + [200]
    assert [m.text for m in emulator.sent_to(other)] == [
        i18n.gettext(
            "Sorry, something went wrong on our side. What you entered is kept. "
            "Please try again in a minute.",
            locale="en",
        )
    ]

    _, text = await get(webhook.base + "/metrics")
    assert sample(text, "homeward_updates_total", type="message", outcome="error") == ATTEMPTS + 1
    assert sample(text, "homeward_updates_total", type="message", outcome="ok") == 1
    assert str(USER) not in text and str(other) not in text


async def test_a_refusal_of_telegram_is_answered_at_once_not_redelivered(
    webhook: WebhookBot, emulator: TelegramEmulator, i18n: CatalogI18n
) -> None:
    emulator.add_user(USER, first_name="Olena")
    # Telegram refuses the answer (400): another delivery would fail the same way.
    emulator.fail_next(1, status=400, methods=["sendMessage"], description="Bad Request: test")
    await emulator.send_text(USER, "/help")
    await emulator.wait_idle(timeout=10)
    update_id = emulator.webhook_deliveries[-1].update_id
    assert emulator.webhook_statuses(update_id) == [200]
    apology = i18n.gettext("Sorry, something went wrong on our side.", locale="en")
    assert apology[:30] in (emulator.last_text(USER) or "")
    _, text = await get(webhook.base + "/metrics")
    assert sample(text, "homeward_updates_total", type="message", outcome="error") == 1
    assert (
        sample(text, "homeward_messages_sent_total", method="sendMessage", outcome="bad_request")
        == 1
    )


async def test_health_and_readiness_of_the_webhook_server(
    webhook: WebhookBot, emulator: TelegramEmulator
) -> None:
    assert await get(webhook.base + "/healthz") == (200, '{"status": "ok"}')
    status, text = await get(webhook.base + "/readyz")
    assert status == 200
    assert json.loads(text)["checks"] == {"database": "ok", "telegram": "ok"}


async def test_readiness_says_which_check_failed(db_url: str, emulator: TelegramEmulator) -> None:
    if db_url == PG_URL:
        dead = PG_URL.replace(":5432/", ":1/")  # nothing listens on port 1
    else:
        dead = "sqlite+aiosqlite:////dev/null/homeward.db"  # a file under a file: no database
    engine = create_async_engine(dead)  # not storage.db's, which makes the directory
    bot = make_bot(emulator)
    health = Health(engine, bot, Metrics(), timeout=1.0)
    runner = await serve(health.application(), "127.0.0.1:0")
    base = f"http://127.0.0.1:{bound_port(runner)}"
    try:
        assert (await get(base + "/healthz"))[0] == 200  # the process is up all the same
        status, text = await get(base + "/readyz")
        assert status == 503
        assert json.loads(text) == {
            "status": "not ready",
            "checks": {"database": "failed", "telegram": "ok"},
        }
        assert (await get(base + "/metrics"))[0] == 200  # the backlog is not read: no error
    finally:
        await runner.cleanup()
        await bot.session.close()
        await engine.dispose()


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
async def test_webhook_mode_with_redis(
    emulator: TelegramEmulator, engine: AsyncEngine, db_url: str, redis_url: str
) -> None:
    bot = WebhookBot(webhook_settings(emulator, db_url, redis_url=redis_url), emulator)
    await bot.start()
    try:
        status, text = await get(bot.base + "/readyz")
        assert status == 200 and json.loads(text)["checks"]["redis"] == "ok"
        emulator.add_user(USER, first_name="Olena")
        body = json.dumps(text_update(20_001, "/help")).encode()
        assert (await post(bot.url, body, {SECRET_HEADER: SECRET}))[0] == 200
        await bot.stop()
        await bot.start()  # a restart (or another instance) remembers it through Redis
        assert (await post(bot.url, body, {SECRET_HEADER: SECRET}))[0] == 200
        await asyncio.sleep(0.2)
        assert len(emulator.sent_to(USER)) == 1
    finally:
        await bot.stop()


# ---- polling mode ---------------------------------------------------------------------------


async def test_polling_serves_health_and_metrics_with_health_listen(
    emulator: TelegramEmulator, engine: AsyncEngine, db_url: str
) -> None:
    port = free_port()
    settings = load_settings(
        bot_token=emulator.token,
        database_url=db_url,
        telegram_api_url=emulator.base_url,
        health_listen=f"127.0.0.1:{port}",
        _env_file=None,
    )
    bot = LiveBot(settings, emulator)
    await bot.start()
    try:
        base = f"http://127.0.0.1:{port}"
        assert (await get(base + "/healthz"))[0] == 200
        assert (await get(base + "/readyz"))[0] == 200
        emulator.add_user(USER, first_name="Olena")
        await emulator.send_text(USER, "/help")
        await emulator.wait_for_message(USER)
        await emulator.wait_idle()
        _, text = await get(base + "/metrics")
        assert sample(text, "homeward_updates_total", type="message", outcome="ok") == 1
        assert str(USER) not in text
    finally:
        await bot.stop()
    with pytest.raises(aiohttp.ClientConnectionError):  # the server stopped with the bot
        await get(f"http://127.0.0.1:{port}/healthz")


async def test_polling_while_a_webhook_is_set_stops_with_one_line(
    emulator: TelegramEmulator, engine: AsyncEngine, db_url: str, tmp_path: Any
) -> None:
    """Telegram answers every getUpdates 409 while a webhook is set: the bot says so at
    start-up and stops, instead of running and never hearing from anyone."""
    bot = make_bot(emulator)
    try:
        assert await bot.set_webhook("https://bot.example.org/telegram", secret_token=SECRET)
        settings = load_settings(
            bot_token=emulator.token,
            database_url=db_url,
            telegram_api_url=emulator.base_url,
            _env_file=None,
        )
        with pytest.raises(WebhookSetError, match="python -m bot webhook"):
            await asyncio.wait_for(run_polling(settings), 30)
        assert not emulator.calls("getUpdates")
        assert (await bot.get_webhook_info()).url  # left as it was: not ours to delete
        if db_url != PG_URL:
            return
        env = {
            **os.environ,
            "BOT_TOKEN": emulator.token,
            "DATABASE_URL": db_url,
            "DATA_KEY": TEST_DATA_KEY,
            "TELEGRAM_API_URL": emulator.base_url,
            "LOG_LEVEL": "WARNING",
        }
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", cwd=ROOT, env=env,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        _, stderr = await asyncio.wait_for(process.communicate(), 60)
        assert process.returncode == 1
        line = stderr.decode().strip()
        assert line.startswith("homeward: a webhook is set") and "\n" not in line, line
    finally:
        await bot.session.close()


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
async def test_a_second_poller_on_one_postgres_database_is_refused(
    emulator: TelegramEmulator, engine: AsyncEngine, db_url: str
) -> None:
    """Telegram hands updates to one poller: a second polling instance on the database
    stops at start-up (several instances run in webhook mode); the first goes on."""
    settings = load_settings(
        bot_token=emulator.token,
        database_url=db_url,
        data_key=TEST_DATA_KEY,
        telegram_api_url=emulator.base_url,
        _env_file=None,
    )
    first = LiveBot(settings, emulator)
    await first.start()  # polling
    try:
        with pytest.raises(PollingLockError, match="webhook mode"):
            await asyncio.wait_for(run_polling(settings), 30)
        emulator.add_user(USER, first_name="Olena")
        await emulator.send_text(USER, "/help")
        await emulator.wait_for_message(USER)  # the first still answers
    finally:
        await first.stop()
    # A clean stop lets go: the next poller starts (start() raises if it was refused).
    again = LiveBot(settings, emulator)
    await again.start()
    await again.stop()


async def test_the_backlog_gauges_count_waiting_rows(engine: AsyncEngine) -> None:
    async with AsyncSession(engine) as session:
        await session.run_sync(
            lambda s: [
                OutboxRepository(s).enqueue(None, 100 + n, "staff_new", {}) for n in range(3)
            ]
        )
        session.add(Broadcast(id=1, author_id=1, state=BroadcastState.SENDING))
        session.add(Broadcast(id=2, author_id=1, state=BroadcastState.DONE))
        await session.flush()
        session.add_all(
            BroadcastRecipient(
                broadcast_id=broadcast_id, chat_id=200 + n, version="uk", state=state,
                attempts=0, next_attempt_at=utcnow(),
            )
            for broadcast_id, n, state in [
                (1, 0, "pending"), (1, 1, "sending"), (1, 2, "sent"), (2, 3, "pending"),
            ]
        )  # fmt: skip
        await session.commit()
    metrics = Metrics(backlog=functools.partial(stats.backlog, engine))
    text = (await metrics.exposition()).decode()
    assert sample(text, "homeward_outbox_backlog") == 3
    assert sample(text, "homeward_broadcast_backlog") == 2  # of the running notice only


# ---- the bot's requests to Telegram -------------------------------------------------------------


async def test_sends_are_counted_by_method_and_outcome(emulator: TelegramEmulator) -> None:
    metrics = Metrics()
    settings = load_settings(
        bot_token=emulator.token, telegram_api_url=emulator.base_url, _env_file=None
    )
    bot = create_bot(settings, metrics)  # the production chain: counts, retries, pacer
    try:
        emulator.add_user(USER, first_name="Olena")
        emulator.add_user(USER + 1, first_name="Iryna")
        emulator.block_user(USER + 1)
        emulator.fail_next(1, status=429, retry_after=1, methods=["sendMessage"])
        await bot.send_message(USER, "first")  # a 429, then sent
        emulator.fail_next(1, status=502, methods=["sendMessage"])
        await bot.send_message(USER, "second")  # a 502, then sent
        with pytest.raises(TelegramForbiddenError):
            await bot.send_message(USER + 1, "blocked")
        await bot.get_me()  # not a message: not counted
    finally:
        await bot.session.close()
    text = (await metrics.exposition()).decode()
    assert sample(text, "homeward_messages_sent_total", method="sendMessage", outcome="ok") == 2
    assert (
        sample(text, "homeward_messages_sent_total", method="sendMessage", outcome="blocked") == 1
    )
    assert sample(text, "homeward_blocked_total") == 1
    assert sample(text, "homeward_telegram_429_total", method="sendMessage") == 1
    assert sample(text, "homeward_retries_total", method="sendMessage", reason="rate_limited") == 1
    assert sample(text, "homeward_retries_total", method="sendMessage", reason="server_error") == 1
    assert "getMe" not in text and str(USER) not in text


# ---- the emulator's webhook ---------------------------------------------------------------------


async def test_the_emulator_posts_updates_and_retries_like_telegram(
    emulator: TelegramEmulator,
) -> None:
    received: list[tuple[str | None, dict[str, Any]]] = []
    answers = iter([500, 200, 200])

    async def hook(request: web.Request) -> web.Response:
        received.append((request.headers.get(SECRET_HEADER), await request.json()))
        return web.Response(status=next(answers))

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = await serve(app, "127.0.0.1:0")
    bot = make_bot(emulator)
    try:
        emulator.add_user(USER, first_name="Olena")
        await emulator.send_text(USER, "before")  # waits for the webhook
        url = f"http://127.0.0.1:{bound_port(runner)}/hook"
        assert await bot.set_webhook(
            url, secret_token=SECRET, allowed_updates=["message"], max_connections=1
        )
        with pytest.raises(TelegramConflictError):
            await bot.get_updates()  # a webhook excludes polling
        await emulator.send_text(USER, "after")
        await emulator.wait_idle(timeout=5)
        assert [(secret, u["message"]["text"]) for secret, u in received] == [
            (SECRET, "before"),  # 500: delivered again
            (SECRET, "before"),
            (SECRET, "after"),
        ]
        assert emulator.webhook_statuses(1) == [500, 200]
        info = await bot.get_webhook_info()
        assert info.url == url and info.pending_update_count == 0
        assert info.allowed_updates == ["message"]

        assert await bot.delete_webhook()  # back to polling: nothing posted any more
        await emulator.send_text(USER, "polled")
        updates = await bot.get_updates(timeout=0)
        assert [u.message.text for u in updates if u.message] == ["polled"]
        assert len(received) == 3
    finally:
        await bot.session.close()
        await runner.cleanup()


# ---- the command line -----------------------------------------------------------------------------


@pytest.mark.slow
async def test_python_m_bot_webhook_serves_and_stops_on_sigterm(
    emulator: TelegramEmulator, engine: AsyncEngine, db_url: str
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram/hook"
    env = {
        **os.environ,
        "BOT_TOKEN": emulator.token,
        "DATABASE_URL": db_url,
        "TELEGRAM_API_URL": emulator.base_url,
        "WEBHOOK_URL": url,
        "WEBHOOK_SECRET": SECRET,
        "WEBHOOK_LISTEN": f"127.0.0.1:{port}",
        "LOG_LEVEL": "WARNING",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "webhook",
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await emulator.wait_until(
            lambda: emulator.webhook_url == url or process.returncode is not None,
            timeout=30,
            message="the bot process did not set its webhook",
        )
        assert process.returncode is None, (await process.stderr.read()).decode()  # type: ignore[union-attr]
        emulator.add_user(USER, first_name="Olena")
        await emulator.send_text(USER, "/help")
        await emulator.wait_for_message(USER)
        assert (await get(f"http://127.0.0.1:{port}/healthz"))[0] == 200
    finally:
        process.send_signal(signal.SIGTERM)
        stderr = (await process.stderr.read()).decode()  # type: ignore[union-attr]
        await process.wait()
    assert process.returncode == 0, stderr
    assert not emulator.calls("deleteWebhook")
    assert SECRET not in stderr and "Olena" not in stderr
