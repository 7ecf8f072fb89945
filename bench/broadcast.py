"""Broadcast sending: achieved rate against the configured limit, 429s, memory.

    python -m bench.broadcast [--families 20000] [--rate 1000] [--short-families 500]

The Bot API emulator runs in its own process (its own core) and enforces the limits
exactly as configured: the global rate and one message a second per chat, answering
429 beyond them. The bot side is production code: the bot session with its retry and
pacer middlewares, the broadcast sender, SQLite. Two runs:
- large: many families with the limit set high (default 1000/s) to measure the sender;
- short: the real default, 25 messages a second.

Figures:
- achieved rate, as a fraction of the limit. The limit allows `rate` messages in any
  one second, so the first second's messages go at once; the sustained rate is
  (messages - rate) / (last send - first send);
- 429s the emulator answered (the target is 0);
- peak memory of the bot process while sending (RSS above the level before), and CPU
  time of the bot process per message.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware
from aiogram.methods import SendMessage

from bot.app import create_bot
from bot.broadcasts import BroadcastSender
from bot.config import load_settings
from bot.domain.review import ReviewMode
from bot.i18n import build_i18n
from bot.services import broadcasts as service
from bot.services.uow import UnitOfWork
from storage.db import create_engine
from storage.migrate import upgrade_database
from tests.emulator import DEFAULT_TOKEN, TelegramEmulator
from tests.families import Family, seed_families

AUTHOR, REVIEWER = 1, 2
FIRST_FAMILY = 100_000


def _serve(rate: int, families: int, ready: Any, stop: Any) -> None:
    """The emulator process: limits on, every family known, stats on request."""

    async def main() -> None:
        emu = TelegramEmulator(global_rate=rate, per_chat_rate=1)
        emu.register_method("benchStats", lambda _params: dict(emu.stats))
        await emu.start()
        for user_id in (AUTHOR, REVIEWER, *range(FIRST_FAMILY, FIRST_FAMILY + families)):
            emu.add_user(user_id, language_code="uk")
        ready.put(emu.base_url)
        # `stop` is a multiprocessing Event: waited for in a thread, not on the loop.
        await asyncio.to_thread(stop.wait)
        await emu.stop()

    asyncio.run(main())


class SendTimes(BaseRequestMiddleware):
    """When each message request starts (inside the pacer: when its slot was granted)."""

    def __init__(self) -> None:
        self.times: list[float] = []

    async def __call__(self, make_request, bot, method):  # type: ignore[no-untyped-def]
        if isinstance(method, SendMessage):
            self.times.append(time.monotonic())
        return await make_request(bot, method)


def _rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * resource.getpagesize() / 2**20


async def _stats(base_url: str) -> dict[str, int]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{base_url}/bot{DEFAULT_TOKEN}/benchStats") as response,
    ):
        return (await response.json())["result"]


async def run(families: int, rate: int, label: str) -> None:
    context = multiprocessing.get_context("spawn")
    ready, stop = context.Queue(), context.Event()
    server = context.Process(target=_serve, args=(rate, families, ready, stop), daemon=True)
    server.start()
    base_url = ready.get(timeout=120)
    folder = tempfile.TemporaryDirectory()
    engine = create_engine(f"sqlite+aiosqlite:///{Path(folder.name) / 'bench.db'}")
    try:
        await upgrade_database(engine)
        await seed_families(
            engine,
            [Family(FIRST_FAMILY + i, ("uk", "ru", "en")[i % 3]) for i in range(families)],
        )
        uow = UnitOfWork(engine)
        admins = frozenset({AUTHOR, REVIEWER})
        fallback = ("uk", "ru", "en")
        view = await service.set_text(uow, AUTHOR, admins, fallback, "uk", "Оголошення для родин.")
        await service.set_text(uow, AUTHOR, admins, fallback, "ru", "Объявление для семей.")
        await service.submit(uow, AUTHOR, admins, view.id, staff_targets=())
        await service.approve(uow, REVIEWER, admins, view.id, ReviewMode.FOUR_EYES, "en", REVIEWER)

        settings = load_settings(
            bot_token=DEFAULT_TOKEN,
            telegram_api_url=base_url,
            broadcast_rate=rate,
            _env_file=None,
        )
        bot: Bot = create_bot(settings)
        times = SendTimes()
        bot.session.middleware(times)
        sender = BroadcastSender(uow, bot, build_i18n(), rate=rate, progress_interval=3600)

        rss_before = _rss_mb()
        peak = rss_before
        sampling = True

        async def sample() -> None:
            nonlocal peak
            while sampling:
                peak = max(peak, _rss_mb())
                await asyncio.sleep(0.1)

        sampler = asyncio.create_task(sample())
        cpu_before = time.process_time()
        began = time.monotonic()
        await sender.send(view.id)
        elapsed = time.monotonic() - began
        cpu = time.process_time() - cpu_before
        sampling = False
        await sampler
        stats = await _stats(base_url)
        await bot.session.close()

        final = await service.get(uow, view.id)
        sent = final.count("sent")
        # After the first second (whose messages the limit lets go at once): sends / time.
        first = times.times[0] if times.times else 0.0
        later = [t for t in times.times if t >= first + 1.0]
        span = later[-1] - (first + 1.0) if later else 0.0
        sustained = len(later) / span if span > 0 else float("nan")
        print(
            f"{label}: {families} families at a limit of {rate}/s: sent {sent} "
            f"(state {final.state}) in {elapsed:.1f} s\n"
            f"  achieved {sustained:.1f}/s sustained = {sustained / rate:.1%} of the limit; "
            f"{sent / elapsed:.1f}/s over the whole run\n"
            f"  429 answered: {stats.get('rate_limited', 0)} "
            f"(global {stats.get('rate_limited:global', 0)}, "
            f"per chat {stats.get('rate_limited:per_chat', 0)})\n"
            f"  memory: {rss_before:.0f} MB before, peak {peak:.0f} MB while sending "
            f"(+{peak - rss_before:.1f} MB); CPU {cpu / max(sent, 1) * 1e3:.2f} ms per message"
        )
    finally:
        stop.set()
        server.join(timeout=10)
        await engine.dispose()
        folder.cleanup()


async def main(args: argparse.Namespace) -> None:
    await run(args.families, args.rate, "large")
    if args.short_families:
        await run(args.short_families, 25, "short, the default limit")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--families", type=int, default=20_000)
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--short-families", type=int, default=500)
    asyncio.run(main(parser.parse_args()))
