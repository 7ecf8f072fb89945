"""Broadcasts end to end: the production bot against the Bot API emulator, limits on.

The emulator enforces Telegram's limits (a global rate and one message a second per
chat) and answers 429 when they are exceeded; these tests require it never does.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import Settings, load_settings
from bot.domain.review import ReviewMode
from bot.services import broadcasts as service
from bot.services.uow import UnitOfWork
from storage.models import BroadcastRecipient, User
from tests.emulator import TelegramEmulator
from tests.families import Family, seed_families
from tests.test_e2e import ROOT, LiveBot

pytestmark = pytest.mark.slow

AUTHOR, REVIEWER = 900, 903
UK_TEXT = "Шановні родини, графік прийому змінено."
RU_TEXT = "Уважаемые семьи, график приёма изменён."


def settings_for(emulator: TelegramEmulator, db_url: str, rate: int) -> Settings:
    return load_settings(
        bot_token=emulator.token,
        database_url=db_url,
        telegram_api_url=emulator.base_url,
        admin_ids=f"{AUTHOR},{REVIEWER}",
        broadcast_rate=rate,
        _env_file=None,
    )


async def limited_emulator(rate: int) -> TelegramEmulator:
    """Telegram's limits at `rate` a second and one a second per chat: 429 beyond them."""
    emu = TelegramEmulator(global_rate=rate, per_chat_rate=1)
    await emu.start()
    emu.add_user(AUTHOR, first_name="Author", language_code="en")
    emu.add_user(REVIEWER, first_name="Reviewer", language_code="en")
    return emu


@pytest.fixture
async def limited() -> AsyncIterator[TelegramEmulator]:
    emu = await limited_emulator(100)
    yield emu
    await emu.stop()


async def add_families(engine: AsyncEngine, emu: TelegramEmulator, families: list[Family]) -> None:
    await seed_families(engine, families)
    for family in families:
        emu.add_user(family.id, first_name="Family", language_code=family.locale or "uk")


def family_messages(emu: TelegramEmulator, families: list[Family]) -> dict[int, list[str]]:
    return {f.id: [m.content or "" for m in emu.sent_to(f.id)] for f in families}


async def human_pause() -> None:
    """People do not type twice a second; the emulator's per-chat limit is strict, and the
    pacer lets a reply follow the person's pace (bot.pacer)."""
    await asyncio.sleep(1.05)


async def compose_and_approve(emu: TelegramEmulator) -> None:
    """The whole staff side through Telegram: compose, submit, a second liaison approves."""
    await emu.send_text(AUTHOR, f"/broadcast uk {UK_TEXT}")
    await emu.wait_for_message(AUTHOR, contains="General notice #")
    await human_pause()
    await emu.send_text(AUTHOR, f"/broadcast ru {RU_TEXT}")
    await emu.wait_for_message(AUTHOR, contains=RU_TEXT)
    await emu.press_button(AUTHOR, "Submit for approval")
    await emu.wait_for_message(REVIEWER, contains="waiting for approval", timeout=10)
    await human_pause()
    await emu.send_text(REVIEWER, "/broadcasts")
    await emu.wait_for_message(REVIEWER, contains="General notices")
    await human_pause()
    await emu.press_button(REVIEWER, "#1")
    await emu.wait_until(
        lambda: "Approve and send" in str(emu.last_message(REVIEWER).inline_markup),
        message="no approve button",
    )
    await emu.press_button(REVIEWER, "Approve and send")
    await emu.wait_for_message(REVIEWER, contains="Sent 0 of")


def mixed(count: int, start: int = 10_000) -> list[Family]:
    """A third each in uk, ru and en (there is no en version: they get the uk one)."""
    families = []
    for i in range(count):
        locale = ("uk", "ru", "en")[i % 3]
        families.append(Family(start + i, locale, request_locale=locale))
    return families


async def test_five_hundred_families_within_the_limits_each_once_in_its_language(
    limited: TelegramEmulator, engine: AsyncEngine, db_url: str
) -> None:
    emu = limited
    families = mixed(500)
    opted_out = {f.id for f in families[:10]}
    known_blocked = {f.id for f in families[10:15]}
    newly_blocked = {f.id for f in families[15:23]}
    families = [
        Family(f.id, f.locale, notices=f.id not in opted_out, blocked=f.id in known_blocked,
               request_locale=f.request_locale)
        for f in families
    ]  # fmt: skip
    await add_families(engine, emu, families)
    for chat_id in newly_blocked:
        emu.block_user(chat_id)

    bot = LiveBot(settings_for(emu, db_url, rate=100), emu)
    await bot.start()
    try:
        await compose_and_approve(emu)
        report = await emu.wait_for_message(REVIEWER, contains="has finished", timeout=60)
    finally:
        await bot.stop()

    received = family_messages(emu, families)
    for family in families:
        got = received[family.id]
        if family.id in opted_out | known_blocked | newly_blocked:
            assert got == [], family
            continue
        assert len(got) == 1, (family, got)
        expected = RU_TEXT if family.locale == "ru" else UK_TEXT
        assert expected in got[0] and "/notices off" in got[0]
    assert emu.stats["rate_limited"] == 0
    assert "Sent 477 of 485" in (report.content or "")
    assert "blocked the bot 8" in (report.content or "")
    async with engine.connect() as conn:
        blocked = set(
            (await conn.execute(select(User.id).where(User.blocked_at.is_not(None)))).scalars()
        )
        states = set((await conn.execute(select(BroadcastRecipient.state).distinct())).scalars())
    assert blocked == known_blocked | newly_blocked
    assert states == {"sent", "blocked"}


async def test_pause_resume_and_cancel_from_the_progress_message(
    engine: AsyncEngine, db_url: str
) -> None:
    emu = await limited_emulator(10)
    families = mixed(60)
    await add_families(engine, emu, families)

    def delivered() -> int:
        return sum(len(v) for v in family_messages(emu, families).values())

    bot = LiveBot(settings_for(emu, db_url, rate=10), emu)
    await bot.start()
    try:
        await compose_and_approve(emu)
        await emu.wait_until(lambda: delivered() >= 10, timeout=10, message="nothing sent")
        await emu.press_button(REVIEWER, "Pause")
        await asyncio.sleep(0.5)  # messages already in flight arrive
        paused_at = delivered()
        await asyncio.sleep(1.5)
        assert delivered() == paused_at
        await emu.press_button(REVIEWER, "Resume")
        await emu.wait_until(lambda: delivered() > paused_at, timeout=5, message="not resumed")
        await emu.press_button(REVIEWER, "Cancel")
        await emu.wait_for_message(REVIEWER, contains="keep it")
        await emu.press_button(REVIEWER, "Yes, cancel the sending")
        report = await emu.wait_for_message(REVIEWER, contains="been cancelled", timeout=10)
        await asyncio.sleep(1.0)
        final = delivered()
    finally:
        await bot.stop()
        await emu.stop()

    assert 10 < final < 60
    assert all(len(v) <= 1 for v in family_messages(emu, families).values())
    view = await service.get(UnitOfWork(engine), 1)
    assert view.state == "cancelled"
    assert view.count("sent") == final and view.count("cancelled") == 60 - final
    assert f"Sent {final} of 60" in (report.content or "")
    assert emu.stats["rate_limited"] == 0


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_a_killed_process_resumes_the_broadcast_and_nobody_gets_it_twice(
    engine: AsyncEngine, db_url: str
) -> None:
    rate = 20
    emu = await limited_emulator(rate)
    families = mixed(120)
    await add_families(engine, emu, families)
    uow = UnitOfWork(engine)
    admins = frozenset({AUTHOR, REVIEWER})
    fallback = ("uk", "ru", "en")
    view = await service.set_text(uow, AUTHOR, admins, fallback, "uk", UK_TEXT)
    await service.set_text(uow, AUTHOR, admins, fallback, "ru", RU_TEXT)
    await service.submit(uow, AUTHOR, admins, view.id, staff_targets=())
    await service.approve(uow, REVIEWER, admins, view.id, ReviewMode.FOUR_EYES, "en", REVIEWER)

    env = {
        **os.environ,
        "BOT_TOKEN": emu.token,
        "DATABASE_URL": db_url,
        "TELEGRAM_API_URL": emu.base_url,
        "ADMIN_IDS": f"{AUTHOR},{REVIEWER}",
        "BROADCAST_RATE": str(rate),
        "LOG_LEVEL": "WARNING",
    }

    def delivered() -> int:
        return sum(len(v) for v in family_messages(emu, families).values())

    async def spawn() -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", cwd=ROOT, env=env,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip

    process = await spawn()
    try:
        await emu.wait_until(lambda: delivered() >= 2 * rate, timeout=20, message="too slow")
        # Between two bursts: the last answers are in and recorded, the next not started.
        last, quiet_since = delivered(), time.monotonic()
        while time.monotonic() - quiet_since < 0.25:
            await asyncio.sleep(0.01)
            if delivered() != last:
                last, quiet_since = delivered(), time.monotonic()
    finally:
        process.send_signal(signal.SIGKILL)
        await process.wait()
    killed_at = delivered()
    assert killed_at < len(families)

    process = await spawn()
    try:
        await emu.wait_for_message(REVIEWER, contains="has finished", timeout=30)
    finally:
        process.send_signal(signal.SIGTERM)
        await process.wait()
        await emu.stop()

    received = family_messages(emu, families)
    assert all(len(got) == 1 for got in received.values()), {
        k: len(v) for k, v in received.items() if len(v) != 1
    }
    assert emu.stats["rate_limited"] == 0


async def test_server_errors_and_a_429_are_retried_and_everyone_gets_it_once(
    limited: TelegramEmulator, engine: AsyncEngine, db_url: str
) -> None:
    emu = limited
    families = mixed(40)
    await add_families(engine, emu, families)
    bot = LiveBot(settings_for(emu, db_url, rate=100), emu)
    await bot.start()
    try:
        await compose_and_approve(emu)
        emu.fail_next(3, status=500, methods=["sendMessage"])
        emu.fail_next(1, status=429, retry_after=1, methods=["sendMessage"])
        await emu.wait_for_message(REVIEWER, contains="has finished", timeout=30)
    finally:
        await bot.stop()
    assert all(len(got) == 1 for got in family_messages(emu, families).values())
    injected = [e.error_code for e in emu.errors if e.injected]
    assert sorted(injected) == [429, 500, 500, 500]  # no 429 of the emulator's own limits
    progress = [m for m in emu.sent_to(REVIEWER) if "Sent 40 of 40" in (m.content or "")]
    assert progress and not progress[0].inline_markup  # the progress message, final
