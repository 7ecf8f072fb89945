"""Several bot instances: each outbox message and broadcast recipient is claimed by one
instance at a time (PostgreSQL's SKIP LOCKED), a broadcast's final report is sent once,
and a second bot on one SQLite file is refused."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bot import PROJECT_ROOT
from bot.app import create_app
from bot.config import load_settings
from bot.domain.states import BroadcastState
from storage.db import InstanceLockError
from storage.models import Broadcast, utcnow
from storage.repositories import BroadcastRepository, OutboxRepository

TOKEN = "123456:" + "A" * 35


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
async def test_two_instances_claim_different_outbox_messages(engine: AsyncEngine) -> None:
    async with AsyncSession(engine) as session:
        await session.run_sync(
            lambda s: [
                OutboxRepository(s).enqueue(None, 100 + n, "staff_new", {}) for n in range(6)
            ]
        )
        await session.commit()
    first, second = AsyncSession(engine), AsyncSession(engine)
    try:
        # The first instance's claiming transaction is still open when the second claims.
        mine = await first.run_sync(lambda s: [m.id for m in OutboxRepository(s).due(utcnow(), 4)])
        theirs = await second.run_sync(
            lambda s: [m.id for m in OutboxRepository(s).due(utcnow(), 4)]
        )
    finally:
        await first.close()
        await second.close()
    assert len(mine) == 4 and len(theirs) == 2 and not set(mine) & set(theirs)


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
async def test_two_instances_claim_different_recipients(engine: AsyncEngine) -> None:
    from storage.models import BroadcastRecipient

    async with AsyncSession(engine) as session:
        session.add(Broadcast(id=1, author_id=1, state=BroadcastState.SENDING))
        await session.flush()
        session.add_all(
            BroadcastRecipient(
                broadcast_id=1, chat_id=200 + n, version="uk", state="pending",
                attempts=0, next_attempt_at=utcnow(),
            )
            for n in range(5)
        )  # fmt: skip
        await session.commit()
    first, second = AsyncSession(engine), AsyncSession(engine)
    try:
        mine = await first.run_sync(lambda s: BroadcastRepository(s).due(1, utcnow(), 3))
        theirs = await second.run_sync(lambda s: BroadcastRepository(s).due(1, utcnow(), 3))
    finally:
        await first.close()
        await second.close()
    assert len(mine) == 3 and len(theirs) == 2
    assert not {c for c, _v, _a in mine} & {c for c, _v, _a in theirs}


async def test_a_stopping_outbox_hands_back_what_waits_for_its_chat(
    engine: AsyncEngine, i18n: object
) -> None:
    """A clean stop (an upgrade's restart) sends the message in hand and hands back those
    still waiting for their chat's turn, instead of sending them one a second first."""
    from aiogram.methods import SendMessage
    from sqlalchemy import select

    from bot.domain.states import OutboxState
    from bot.outbox import OutboxSender
    from bot.pacer import Pacer, PacerMiddleware
    from bot.services.uow import UnitOfWork
    from storage.models import OutboxMessage
    from tests.recording import RecordingSession, make_bot

    async with AsyncSession(engine) as session:
        await session.run_sync(
            lambda s: [
                OutboxRepository(s).enqueue(None, 100, "staff_broadcast", {"broadcast_id": 1})
                for _ in range(5)
            ]
        )
        await session.commit()
    recording = RecordingSession()
    bot = make_bot(recording)
    bot.session.middleware(PacerMiddleware(Pacer(100, chat_interval=0.5)))
    sender = OutboxSender(UnitOfWork(engine), bot, i18n)  # type: ignore[arg-type]
    delivering = asyncio.create_task(sender.deliver_due())
    for _ in range(500):
        if recording.calls:
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.1)  # the second waits for its turn (half a second after the first)
    sender.stop()
    await asyncio.wait_for(delivering, 10)
    sent = sum(isinstance(call, SendMessage) for call in recording.calls)
    async with AsyncSession(engine) as session:
        states = list(await session.scalars(select(OutboxMessage.state)))
    assert sent == 1  # the second, withdrawn when its turn came, was not sent
    assert sorted(states) == sorted([OutboxState.SENT] + [OutboxState.PENDING] * 4)


async def test_the_final_report_of_a_broadcast_is_claimed_once(engine: AsyncEngine) -> None:
    async with AsyncSession(engine) as session:
        session.add(Broadcast(id=1, author_id=1, state=BroadcastState.DONE))
        session.add(Broadcast(id=2, author_id=1, state=BroadcastState.PAUSED))
        await session.commit()

    async def claim(broadcast_id: int) -> bool:
        async with AsyncSession(engine) as session:
            won = await session.run_sync(
                lambda s: BroadcastRepository(s).claim_report(broadcast_id)
            )
            await session.commit()
            return won

    assert sorted(await asyncio.gather(claim(1), claim(1), claim(1))) == [False, False, True]
    assert await claim(2) is False  # not ended: nothing to report yet


async def test_a_second_bot_on_one_sqlite_file_is_refused(tmp_path: Path) -> None:
    settings = load_settings(
        bot_token=TOKEN, database_url=f"sqlite+aiosqlite:///{tmp_path}/h.db", _env_file=None
    )
    app = await create_app(settings)
    try:
        with pytest.raises(InstanceLockError, match="another Homeward bot is running"):
            await create_app(settings)
        env = {**os.environ, "BOT_TOKEN": TOKEN, "DATABASE_URL": settings.database_url}
        env["TELEGRAM_API_URL"] = "http://127.0.0.1:9"  # never reached: refused before
        result = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "bot"],
            cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert result.returncode == 1
        assert result.stderr.strip().count("\n") == 0, result.stderr
        assert "SQLite serves one bot instance" in result.stderr
    finally:
        await app.close()
    again = await create_app(settings)  # released with the first
    await again.close()


async def test_one_instance_at_a_time_runs_the_background_jobs(engine: AsyncEngine) -> None:
    from storage.lease import Leadership

    first, second = Leadership(engine), Leadership(engine)
    try:
        assert await first.holds()
        if engine.dialect.name == "sqlite":
            assert await second.holds()  # one instance per SQLite file: it always leads
            return
        assert not await second.holds()
        assert await first.holds()  # held, not taken twice
        await first.release()  # a clean stop hands it over
        assert await second.holds() and not await first.holds()
        # A process that dies loses its connection, and with it the lead.
        assert second._connection is not None
        await second._connection.invalidate()
        assert not await second.holds()
        assert await first.holds()
    finally:
        await first.release()
        await second.release()


async def test_instances_started_together_on_a_new_database_all_start() -> None:
    """A compose file starts its instances at once: one migrates and records the data key,
    the others wait for it instead of creating the same tables or the same key row."""
    from sqlalchemy import func, select

    from bot.services.keys import open_database
    from storage.models import DataKeyCheck
    from tests.conftest import PG_URL, TEST_DATA_KEY, fresh_postgres, require_service

    require_service("PostgreSQL", PG_URL, 5432)
    url = PG_URL + "_starting"
    await (await fresh_postgres(url)).dispose()
    starting = asyncio.gather(
        *(open_database(TEST_DATA_KEY, url) for _ in range(3)), return_exceptions=True
    )
    engines = await asyncio.wait_for(starting, 60)  # without the lock they lock each other
    try:
        assert [e for e in engines if isinstance(e, BaseException)] == []
        async with AsyncSession(engines[0]) as session:  # type: ignore[arg-type]
            assert await session.scalar(select(func.count()).select_from(DataKeyCheck)) == 1
    finally:
        for engine in engines:
            if isinstance(engine, AsyncEngine):
                await engine.dispose()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except OSError:
        pass
    finally:
        writer.close()


async def _forward_later(port: int, host: str, to_port: int) -> asyncio.Server:
    """A server that starts late: `port` starts forwarding to host:to_port only now."""

    async def forward(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        to_reader, to_writer = await asyncio.open_connection(host, to_port)
        await asyncio.gather(_pipe(reader, to_writer), _pipe(to_reader, writer))

    return await asyncio.start_server(forward, "127.0.0.1", port)


async def test_start_up_waits_for_a_database_server_that_is_still_starting(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A compose file starts the bot beside PostgreSQL: the bot waits for the server (here a
    port that starts forwarding to it after a second) instead of stopping at once."""
    from sqlalchemy.engine import make_url

    from storage.db import create_engine, wait_for_database
    from tests.balancer import free_port
    from tests.conftest import PG_URL, require_service

    require_service("PostgreSQL", PG_URL, 5432)
    server = make_url(PG_URL)
    port = free_port()
    url = server.set(port=port, password="s3cret-pass").render_as_string(hide_password=False)

    engine = create_engine(url)
    waiting = asyncio.create_task(wait_for_database(engine, within=30))
    try:
        await asyncio.sleep(0.6)
        assert not waiting.done()
        forwarder = await _forward_later(port, server.host or "127.0.0.1", server.port or 5432)
        try:
            await asyncio.wait_for(waiting, 30)
        finally:
            forwarder.close()
    finally:
        await engine.dispose()
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and "does not answer yet" in warnings[0]
    assert "s3cret-pass" not in caplog.text  # the password never goes to the log


async def test_start_up_stops_in_one_line_when_the_database_refuses_or_stays_away(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from sqlalchemy.engine import make_url

    from storage.db import DatabaseUnreachableError, create_engine, wait_for_database
    from tests.balancer import free_port
    from tests.conftest import PG_URL, require_service

    require_service("PostgreSQL", PG_URL, 5432)
    server = make_url(PG_URL)
    stranger = create_engine(server.set(username="nobody_here").render_as_string(False))
    try:
        with pytest.raises(DatabaseUnreachableError, match=r'refused the bot.*"nobody_here"'):
            await wait_for_database(stranger, within=30)
        assert "does not answer yet" not in caplog.text  # a refusal is not waited for
    finally:
        await stranger.dispose()
    away = server.set(port=free_port(), password="s3cret-pass").render_as_string(False)
    nobody = create_engine(away)
    try:
        with pytest.raises(DatabaseUnreachableError, match="cannot reach") as stopped:
            await wait_for_database(nobody, within=0.6)
        assert "s3cret-pass" not in str(stopped.value) and "***" in str(stopped.value)
        assert "\n" not in str(stopped.value)
    finally:
        await nobody.dispose()


async def test_start_up_waits_for_redis_and_stops_in_one_line_without_it(
    redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    from urllib.parse import urlsplit

    from redis.asyncio import Redis

    from storage.db import DatabaseUnreachableError, wait_for_redis
    from tests.balancer import free_port

    server = urlsplit(redis_url)
    port = free_port()
    url = f"redis://:s3cret-pass@127.0.0.1:{port}{server.path}"

    client = Redis.from_url(url.replace(":s3cret-pass@", ""))
    try:
        with pytest.raises(DatabaseUnreachableError, match="cannot reach Redis") as stopped:
            await wait_for_redis(client, url, within=0.6)
        assert "s3cret-pass" not in str(stopped.value)
        waiting = asyncio.create_task(wait_for_redis(client, url, within=30))
        await asyncio.sleep(0.6)
        assert not waiting.done()
        forwarder = await _forward_later(port, server.hostname or "127.0.0.1", server.port or 6379)
        try:
            await asyncio.wait_for(waiting, 30)  # the server came: the start-up goes on
        finally:
            forwarder.close()
    finally:
        await client.aclose()
    assert "s3cret-pass" not in caplog.text


async def send_through(
    pacer: object, chat_id: int, starts: list[float], *, reply: bool = False
) -> None:
    import time

    from bot.pacer import Pacer, Priority

    assert isinstance(pacer, Pacer)
    async with pacer.slot(chat_id, Priority.REPLY if reply else Priority.BROADCAST):
        starts.append(time.monotonic())
        await asyncio.sleep(0.01)  # the request to Telegram


@pytest.mark.slow
async def test_three_instances_together_stay_under_the_rate(redis_url: str) -> None:
    from redis.asyncio import Redis

    from bot.limits import SharedLimits
    from bot.pacer import Pacer

    rate = 10
    clients = [Redis.from_url(redis_url) for _ in range(3)]
    pacers = [Pacer(rate, shared=SharedLimits(client, rate)) for client in clients]
    starts: list[float] = []
    try:
        await asyncio.gather(
            *(
                send_through(pacer, 1000 + 100 * n + i, starts)
                for n, pacer in enumerate(pacers)
                for i in range(12)
            )
        )
        # Two instances push to one chat: a second apart, as Telegram wants.
        chat: list[float] = []
        await asyncio.gather(send_through(pacers[0], 77, chat), send_through(pacers[1], 77, chat))
    finally:
        for client in clients:
            await client.aclose()
    starts.sort()
    assert len(starts) == 36
    # Any `rate` + 1 messages in a row span at least a second (a few ms for the clocks).
    spans = [starts[i + rate] - starts[i] for i in range(len(starts) - rate)]
    assert min(spans) >= 0.98, min(spans)
    chat.sort()
    assert chat[1] - chat[0] >= 0.98


@pytest.mark.slow
async def test_replies_from_three_instances_to_one_chat_keep_to_the_burst(redis_url: str) -> None:
    """A person tapping fast, each update handled by another instance: three replies go at
    once, the fourth and fifth wait until the first ones are three intervals old (a
    quarter of a second here instead of Telegram's second, to keep the test short)."""
    from redis.asyncio import Redis

    from bot.limits import SharedLimits
    from bot.pacer import CHAT_BURST, Pacer

    clients = [Redis.from_url(redis_url) for _ in range(3)]
    interval = 0.25
    pacers = [
        Pacer(30, chat_interval=interval, shared=SharedLimits(client, 30)) for client in clients
    ]
    await clients[0].delete("homeward:limits:recent:4242")
    starts: list[float] = []
    try:
        for n in range(CHAT_BURST + 2):  # one after the other, as updates of one person go
            await send_through(pacers[n % 3], 4242, starts, reply=True)
    finally:
        for client in clients:
            await client.aclose()
    assert starts[CHAT_BURST - 1] - starts[0] < 0.5  # the burst went at once
    for i in range(len(starts) - CHAT_BURST):
        assert starts[i + CHAT_BURST] - starts[i] >= CHAT_BURST * interval - 0.02


async def test_a_reply_from_one_instance_goes_before_another_instances_stream(
    redis_url: str,
) -> None:
    """A liaison's chat gets a stream of notices from one instance; their command is
    answered by another instance before the rest of the stream, not after it."""
    import time

    from redis.asyncio import Redis

    from bot.limits import SharedLimits
    from bot.pacer import Pacer, Priority

    clients = [Redis.from_url(redis_url) for _ in range(2)]
    interval = 0.25
    streaming, answering = (
        Pacer(30, chat_interval=interval, shared=SharedLimits(client, 30)) for client in clients
    )
    chat = 4343
    await clients[0].delete(f"homeward:limits:recent:{chat}", f"homeward:limits:chat:{chat}")
    pushed: list[float] = []

    async def notice() -> None:
        async with streaming.slot(chat, Priority.CASE):
            pushed.append(time.monotonic())
            await asyncio.sleep(0.01)

    try:
        stream = [asyncio.create_task(notice()) for _ in range(10)]
        await asyncio.sleep(0.75)
        asked = time.monotonic()
        replies: list[float] = []
        await send_through(answering, chat, replies, reply=True)
        await asyncio.gather(*stream)
    finally:
        for client in clients:
            await client.aclose()
    after = [t for t in pushed if t > asked]
    assert after, "the stream ended before the reply was asked: nothing was shown"
    assert replies[0] < min(after)  # before the rest of the stream
    assert replies[0] - asked < 4 * interval  # a turn of the chat, not the whole stream


async def test_an_unreachable_redis_leaves_each_instance_its_own_limits(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from redis.asyncio import Redis

    from bot.limits import SharedLimits
    from bot.pacer import Pacer

    client = Redis.from_url("redis://127.0.0.1:9/0", socket_connect_timeout=0.2)
    pacer = Pacer(10, shared=SharedLimits(client, 10))
    starts: list[float] = []
    try:
        await send_through(pacer, 5, starts)
        await send_through(pacer, 6, starts)
    finally:
        await client.aclose()
    assert len(starts) == 2  # sent all the same
    assert caplog.text.count("shared limits unreachable") == 1  # said once, not per message
