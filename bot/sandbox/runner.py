"""Start the sandbox: the emulator, the real bot (`bot.app.run_polling`, unchanged) pointed at
it with its own database and data key, and the web chat."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource
from sqlalchemy import func, select

from bot.config import Settings
from bot.sandbox.emulator import DEFAULT_TOKEN, TelegramEmulator
from bot.sandbox.people import People, Person

log = logging.getLogger(__name__)

DEFAULT_DATA_DIR = Path("data") / "sandbox"
START_TIMEOUT = 15.0


class SandboxSettings(Settings):
    """The bot's settings from the arguments only: no environment, no .env. The real
    DATABASE_URL, DATA_KEY, REDIS_URL or LIAISON_CHAT_ID can never leak into the sandbox."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


def database_url(data_dir: Path) -> str:
    # The data key is made beside it on first start: <data_dir>/sandbox.key.
    return f"sqlite+aiosqlite:///{data_dir.resolve() / 'sandbox.db'}"


class Sandbox:
    """Everything of one sandbox, in one event loop."""

    def __init__(self, data_dir: Path = DEFAULT_DATA_DIR, *, log_level: str = "INFO") -> None:
        self.data_dir = data_dir
        self.log_level = log_level
        self.people = People(data_dir / "people.json")
        self.emulator = TelegramEmulator(
            DEFAULT_TOKEN,
            bot_username="homeward_sandbox_bot",
            bot_first_name="Homeward (sandbox)",
            # Telegram's limit over all chats; each chat's own pace is the bot's pacer's.
            global_rate=30,
            # Errors are shown in the page's log, not raised: nobody here is a test.
            strict_errors=(),
        )
        self._stop_bot = asyncio.Event()
        self._bot_task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self.listeners: list[Any] = []  # callables told about new people (the web hub)

    # ---- settings and the bot ---------------------------------------------------------------

    @property
    def admin_ids(self) -> frozenset[int]:
        return frozenset(p.id for p in self.people.of_role("admin"))

    def settings(self) -> Settings:
        return SandboxSettings(
            bot_token=SecretStr(DEFAULT_TOKEN),
            database_url=database_url(self.data_dir),
            # The key file beside the sandbox database (made on first start), never DATA_KEY.
            data_key=SecretStr(""),
            telegram_api_url=self.emulator.base_url,
            admin_ids=sorted(self.admin_ids),
            log_level=self.log_level,
        )

    async def start_bot(self) -> None:
        from bot.app import run_polling

        self._stop_bot = asyncio.Event()
        polls = len(self.emulator.calls("getUpdates"))
        task = asyncio.create_task(run_polling(self.settings(), stop=self._stop_bot))
        self._bot_task = task
        await self.emulator.wait_until(
            lambda: len(self.emulator.calls("getUpdates")) > polls or task.done(),
            timeout=START_TIMEOUT,
            message="the bot did not start polling the sandbox's Bot API",
        )
        if task.done():
            task.result()  # raises why it stopped

    async def stop_bot(self) -> None:
        task, self._bot_task = self._bot_task, None
        if task is None:
            return
        self._stop_bot.set()
        await asyncio.wait_for(task, 20)

    # ---- people -----------------------------------------------------------------------------

    def _register(self, person: Person, *, opened: bool) -> None:
        self.emulator.add_user(
            person.id,
            first_name=person.name,
            language_code=person.locale,
            opened_chat=opened,
        )

    async def add_person(self, role: str, locale: str, name: str | None = None) -> Person:
        """A new person. Like on Telegram, their chat opens with their first message; a
        liaison is granted by the first admin with /grant, an admin joins ADMIN_IDS (the bot
        restarts, as after changing ADMIN_IDS)."""
        async with self._lock:
            person = self.people.add(role, locale, name)
            self._register(person, opened=False)
            if role == "admin":
                await self.stop_bot()
                await self.start_bot()
            elif role == "liaison":
                admin = self.people.of_role("admin")[0]
                await self.emulator.send_text(admin.id, f"/grant {person.id}")
        for listener in self.listeners:
            listener(person)
        return person

    # ---- seeding ----------------------------------------------------------------------------

    async def seed(self) -> int:
        """Fictional families and requests, if the sandbox has no request yet; returns how
        many requests were added."""
        from bot.sandbox.seed import FICTIONAL, seed
        from bot.services.keys import open_database
        from bot.services.uow import UnitOfWork
        from storage.models import TracingRequest

        settings = self.settings()
        engine = await open_database("", settings.database_url)
        try:
            async with engine.connect() as conn:
                existing = await conn.scalar(select(func.count()).select_from(TracingRequest))
            if existing:
                return 0
            if not self.people.of_role("liaison"):
                self._register(self.people.add("liaison", "en", "Liaison 1"), opened=True)
            families = [
                self.people.add("family", item.locale, item.requester) for item in FICTIONAL
            ]
            for person in families:
                self._register(person, opened=True)
            admin = self.people.of_role("admin")[0]
            liaisons = [p.id for p in self.people.of_role("liaison")]
            made = await seed(
                UnitOfWork(engine), [p.id for p in families], admin.id, liaisons, self.admin_ids
            )
            return len(made)
        finally:
            await engine.dispose()

    # ---- the whole -------------------------------------------------------------------------

    async def start(self, *, seed: bool = False) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        await self.emulator.start()
        if not self.people.of_role("admin"):
            self.people.add("admin", "en", "Admin 1")
        for person in self.people:
            # They wrote to the bot before (or were made by the seed): their chats are open.
            self._register(person, opened=True)
        if seed:
            added = await self.seed()
            if not added:
                log.info("the sandbox has requests already: nothing seeded")
        await self.start_bot()

    async def stop(self) -> None:
        with contextlib.suppress(Exception):
            await self.stop_bot()
        await self.emulator.stop(check=False)


async def serve(
    port: int,
    *,
    seed: bool,
    data_dir: Path = DEFAULT_DATA_DIR,
    host: str = "127.0.0.1",
    log_level: str = "INFO",
) -> None:
    from bot.sandbox.server import WebChat

    sandbox = Sandbox(data_dir, log_level=log_level)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
    web = WebChat(sandbox)
    try:
        await sandbox.start(seed=seed)
        url = await web.start(host, port)
        print(
            f"Homeward sandbox ready: {url} (fictional data in {data_dir}; Ctrl+C stops it)",
            file=sys.stderr,
            flush=True,
        )
        await stop.wait()
    finally:
        await web.stop()
        await sandbox.stop()


def main(port: int, *, seed: bool, data_dir: Path, log_level: str) -> int:
    """`python -m bot sandbox`: runs until Ctrl+C."""
    from storage.db import InstanceLockError

    try:
        asyncio.run(serve(port, seed=seed, data_dir=data_dir, log_level=log_level))
    except KeyboardInterrupt:
        pass
    except InstanceLockError as error:
        print(f"homeward sandbox: {error}", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"homeward sandbox: cannot start: {error}", file=sys.stderr)
        return 1
    return 0
