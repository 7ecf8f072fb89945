"""Memory of the bot process: idle after start-up, and after serving families.

    python -m bench.memory [--idle 5] [--families 300] [--database-url URL]
                           [--eager-types] [--env NAME=VALUE] [--breakdown]

The bot runs as in production, `python -m bot` in a process of its own, long-polling the
Bot API emulator, which runs in another process (its memory is not counted). Figures come
from /proc/<pid>/status of the bot process: VmRSS (resident now), VmHWM (the peak since
start), RssAnon (heap and other private memory) and RssFile (mapped files, mostly shared
libraries). Three readings:
- first start on an empty database (the migrations run at start-up), after --idle seconds;
- a restart on the same database (schema at head), after --idle seconds;
- after --families families each sent /start, /new, the whole intake, submit and /status.
The database is a fresh SQLite file unless --database-url is given (a PostgreSQL database
given there is dropped and created again).

--eager-types starts the bot with aiogram imported first, which builds the validators of
all its types at import as aiogram does by default: the figure before bot/__init__.py.
--breakdown: what the memory is: a fresh interpreter imports the bot's dependencies one
group at a time, then builds the app as `create_app` does, and prints what each step adds.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

from bot import PROJECT_ROOT

LANGS = ("uk", "ru", "en")
FIRST_FAMILY = 500_000
STATUS_FIELDS = ("VmRSS", "VmHWM", "RssAnon", "RssFile")


def read_status(pid: int | str = "self") -> dict[str, float]:
    """The memory fields of /proc/<pid>/status, in MB."""
    figures: dict[str, float] = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            key, _, value = line.partition(":")
            if key in STATUS_FIELDS:
                figures[key] = int(value.split()[0]) / 1024
    return figures


def format_status(figures: dict[str, float]) -> str:
    return (
        f"VmRSS {figures['VmRSS']:6.1f} MB  VmHWM {figures['VmHWM']:6.1f} MB  "
        f"(anon {figures['RssAnon']:.1f}, files {figures['RssFile']:.1f})"
    )


# --- the emulator process -------------------------------------------------------------
async def _press(emu: Any, user_id: int, data: str) -> None:
    for message in reversed(emu.sent_to(user_id)):
        if data in message.callback_data:
            await emu.press(user_id, message.message_id, data)
            return
    raise RuntimeError(f"family {user_id}: no button {data!r}. {emu.describe_chat(user_id)}")


def _family_steps() -> list[tuple[str, str]]:
    from tests.flows import FULL_INTAKE, SUBMIT, callback_for

    steps = [("text", "/start"), ("text", "/new")]
    for kind, step, value in FULL_INTAKE:
        steps.append(
            ("text", value) if kind == "text" else ("press", callback_for(kind, step, value))
        )
    return [*steps, ("press", SUBMIT), ("text", "/status")]


async def _play(emu: Any, params: dict[str, Any]) -> int:
    """Every family takes each step, then the bot answers them all, then the next step."""
    first, count = int(params["first"]), int(params["count"])
    families = range(first, first + count)
    for user_id in families:
        emu.add_user(user_id, language_code=LANGS[user_id % 3])
    for kind, value in _family_steps():
        seen = len(emu.requests)
        for user_id in families:
            if kind == "text":
                await emu.send_text(user_id, value)
            else:
                await _press(emu, user_id, value)
        await _settle(emu, set(families), seen)
    return count


async def _settle(emu: Any, waiting: set[int], seen: int, quiet: float = 0.3) -> None:
    """Until the bot has called the API for every family since request number `seen`,
    every update is fetched, and no call came for `quiet` seconds. (`emu.wait_idle` would
    count the request this runs in as one in flight.)"""
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        calls = len(emu.requests)
        for request in emu.requests[seen:calls]:
            chat_id = request.params.get("chat_id")
            if chat_id is not None:
                waiting.discard(int(chat_id))
        seen = calls
        await asyncio.sleep(quiet)
        if not waiting and not emu.pending_updates and len(emu.requests) == calls:
            return
    raise RuntimeError(f"the bot did not answer {len(waiting)} families")


def _serve(ready: Any, stop: Any) -> None:
    async def main() -> None:
        from tests.emulator import TelegramEmulator

        emu = TelegramEmulator()
        emu.register_method("benchPolls", lambda _params: len(emu.calls("getUpdates")))
        emu.register_method("benchPlay", lambda params: _play(emu, params))
        await emu.start()
        ready.put(emu.base_url)
        await asyncio.to_thread(stop.wait)
        await emu.stop(check=False)

    asyncio.run(main())


async def _call(base_url: str, method: str, **params: Any) -> Any:
    import aiohttp

    from tests.emulator import DEFAULT_TOKEN

    timeout = aiohttp.ClientTimeout(total=1800)
    async with (
        aiohttp.ClientSession(timeout=timeout) as session,
        session.post(f"{base_url}/bot{DEFAULT_TOKEN}/{method}", json=params) as response,
    ):
        return (await response.json())["result"]


# --- the bot process ------------------------------------------------------------------
class BotProcess:
    """`python -m bot` with production settings pointed at the emulator."""

    def __init__(
        self,
        base_url: str,
        database_url: str,
        workdir: Path,
        eager: bool,
        extra_env: dict[str, str],
    ) -> None:
        from tests.emulator import DEFAULT_TOKEN

        self.base_url = base_url
        self.env = {
            **os.environ,
            "BOT_TOKEN": DEFAULT_TOKEN,
            "TELEGRAM_API_URL": base_url,
            "DATABASE_URL": database_url,
            "LOG_LEVEL": "WARNING",
            # Replies are paced to 25 a second by default: measure memory, not the pacer.
            "BROADCAST_RATE": "1000",
            "PYTHONPATH": str(PROJECT_ROOT),
        }
        self.env.pop("REDIS_URL", None)
        self.env.update(extra_env)
        # `python -m bot`, or the same after importing aiogram first (its default behaviour).
        code = "import aiogram.types, runpy; runpy.run_module('bot', run_name='__main__')"
        self.argv = [sys.executable, "-c", code] if eager else [sys.executable, "-m", "bot"]
        self.workdir = workdir  # no .env of the project is read from here
        self.log = workdir / "bot.log"
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> float:
        polls = await _call(self.base_url, "benchPolls")
        began = time.monotonic()
        with self.log.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                *self.argv, env=self.env, cwd=self.workdir, stdout=log, stderr=log
            )
        while await _call(self.base_url, "benchPolls") <= polls:
            if self.process.returncode is not None:
                raise RuntimeError(f"the bot exited: {self.log.read_text()[-2000:]}")
            await asyncio.sleep(0.05)
        return time.monotonic() - began

    def status(self) -> dict[str, float]:
        assert self.process is not None
        return read_status(self.process.pid)

    async def stop(self) -> None:
        if self.process is None:
            return
        self.process.send_signal(signal.SIGINT)  # aiogram stops polling, the bot shuts down
        try:
            await asyncio.wait_for(self.process.wait(), 30)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
        self.process = None


async def _fresh_database(url: str | None, workdir: Path) -> str:
    if url is None:
        return f"sqlite+aiosqlite:///{workdir / 'homeward.db'}"
    if url.startswith("postgresql"):
        from tests.conftest import fresh_postgres

        engine = await fresh_postgres(url)
        await engine.dispose()
    return url


async def measure(args: argparse.Namespace) -> None:
    context = multiprocessing.get_context("spawn")
    ready, stop = context.Queue(), context.Event()
    server = context.Process(target=_serve, args=(ready, stop), daemon=True)
    server.start()
    base_url = ready.get(timeout=120)
    workdir = Path(tempfile.mkdtemp(prefix="homeward-memory-"))
    bot: BotProcess | None = None
    try:
        database_url = await _fresh_database(args.database_url, workdir)
        extra_env = dict(item.split("=", 1) for item in args.env)
        kind = "aiogram's types built at import" if args.eager_types else "python -m bot"
        print(
            f"{kind}; {database_url.split(':')[0]}; idle {args.idle:.0f} s before each reading"
            + "".join(f"; {item}" for item in args.env)
        )
        bot = BotProcess(base_url, database_url, workdir, args.eager_types, extra_env)
        took = await bot.start()
        await asyncio.sleep(args.idle)
        print(
            f"  {'first start, empty database':<29}{format_status(bot.status())}  (polling after {took:.1f} s)"
        )
        await bot.stop()

        bot = BotProcess(base_url, database_url, workdir, args.eager_types, extra_env)
        took = await bot.start()
        await asyncio.sleep(args.idle)
        print(
            f"  {'restart, schema at head':<29}{format_status(bot.status())}  (polling after {took:.1f} s)"
        )
        if args.families:
            began = time.monotonic()
            await _call(base_url, "benchPlay", first=FIRST_FAMILY, count=args.families)
            took = time.monotonic() - began
            await asyncio.sleep(args.idle)
            print(
                f"  {f'after {args.families} families':<29}{format_status(bot.status())}  "
                f"({args.families * len(_family_steps())} updates in {took:.1f} s)"
            )
    finally:
        if bot is not None:
            await bot.stop()
        stop.set()
        server.join(timeout=15)


# --- what the memory is -----------------------------------------------------------------
_BREAKDOWN = textwrap.dedent(
    """
    import asyncio, gc, sys, tempfile

    def rss():  # bench.memory.read_status, without importing bench (which imports bot)
        with open("/proc/self/status") as status:
            return next(int(l.split()[1]) / 1024 for l in status if l.startswith("VmRSS"))

    last = rss()
    print(f"  {'python, asyncio (which loads OpenSSL)':<64} {last:6.1f} MB")

    def step(label):
        global last
        gc.collect()
        now = rss()
        print(f"  {label:<64} {now:6.1f} MB  +{now - last:5.1f}")
        last = now

    import pydantic; step("pydantic, pydantic-core")
    import aiohttp; step("aiohttp (its default SSL contexts load the CA store)")
    if EAGER:
        import aiogram.types; step("aiogram, every type's validator built at import")
    import bot, aiogram.types; step("aiogram (types built on first use, bot/__init__.py)")
    import bot.config; step("pydantic-settings, bot.config")
    import sqlalchemy.orm, sqlalchemy.ext.asyncio, aiosqlite; step("SQLAlchemy core, ORM, asyncio; aiosqlite")
    import storage.crypto; step("cryptography: the data key (AES-GCM, HMAC, HKDF)")
    import storage.models, storage.repositories, storage.fsm; step("storage: models, repositories, FSM")
    import babel.dates, babel.messages.pofile, bot.i18n; step("Babel, bot.i18n")
    import bot.services.families, bot.services.cases, bot.services.broadcasts; step("services")
    import bot.app; step("senders, menus, bot.app")
    import alembic.command; step("Alembic, Mako, Pygments (imported only to migrate)")
    import asyncpg; step("asyncpg (imported only for PostgreSQL)")
    import redis.asyncio, aiogram.fsm.storage.redis; step("redis (imported only with REDIS_URL)")

    from bot.app import build_dispatcher, build_storage, create_bot
    from bot.config import load_settings
    from bot.i18n import build_i18n
    from storage.crypto import KeyRing, generate_key, install
    from storage.db import create_engine
    from storage.migrate import upgrade_database
    from tests.emulator import DEFAULT_TOKEN

    async def main():
        # What create_app does, a step at a time.
        folder = tempfile.mkdtemp()
        settings = load_settings(
            bot_token=DEFAULT_TOKEN, database_url=f"sqlite+aiosqlite:///{folder}/m.db",
            _env_file=None,
        )
        install(KeyRing([generate_key()]))  # as load_keys does from DATA_KEY
        engine = create_engine(settings.database_url)
        await upgrade_database(engine)
        step("engine; migrations run on an empty database")
        i18n = build_i18n(settings.default_locale)
        step("gettext catalogs compiled from locales/*.po")
        storage, isolation = build_storage(settings, engine)
        dispatcher = build_dispatcher(engine, storage, isolation, i18n)
        step("FSM storage, its SQLite thread; dispatcher, routers, handlers")
        bot = create_bot(settings)
        step("create_bot: aiohttp session, its SSL context")
        await bot.session.close()
        await storage.close()
        await engine.dispose()

    asyncio.run(main())
    """
)


def breakdown(eager: bool) -> None:
    print("what each step adds to a fresh interpreter (RSS after gc):")
    subprocess.run(
        [sys.executable, "-c", f"EAGER = {eager!r}\n" + _BREAKDOWN],
        cwd=PROJECT_ROOT,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
        check=True,
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--idle", type=float, default=5.0, help="seconds idle before a reading")
    parser.add_argument("--families", type=int, default=300)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--eager-types", action="store_true")
    parser.add_argument("--breakdown", action="store_true")
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment of the bot process, e.g. MALLOC_ARENA_MAX=2",
    )
    arguments = parser.parse_args()
    if arguments.breakdown:
        breakdown(arguments.eager_types)
    else:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(measure(arguments))
