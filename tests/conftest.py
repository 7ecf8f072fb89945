"""Shared fixtures: database backends (SQLite always; PostgreSQL and Redis when reachable,
and required under CI=true), and a dispatcher wired like production."""

from __future__ import annotations

# First, as in production (`python -m bot`): aiogram's types then build their validators
# on first use (see bot/__init__.py), so the tests run the schemas the bot runs.
import bot  # noqa: F401  # isort: skip

import base64
import os
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
from aiogram import Dispatcher
from aiogram.fsm.storage.base import BaseEventIsolation, BaseStorage
from aiogram.fsm.storage.memory import SimpleEventIsolation
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.app import build_dispatcher
from bot.i18n import CatalogI18n, build_i18n
from storage.crypto import KeyRing, install, parse_keys
from storage.db import create_engine
from storage.fsm import SQLAlchemyStorage
from storage.migrate import upgrade_database
from storage.models import Base
from tests.recording import RecordingSession, make_bot

# pytest-xdist runs the suite in several worker processes (`-n` in pyproject.toml): each
# worker gets its own PostgreSQL database and Redis database number.
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
_WORKER_NUMBER = int(WORKER.removeprefix("gw") or 0)


def _per_worker(url: str) -> str:
    return f"{url}_{WORKER}" if WORKER else url


# One data key for the whole run, also handed to the bots the tests start (in-process,
# through load_settings, and as processes, through the environment).
TEST_DATA_KEY = base64.b64encode(bytes(range(32))).decode()
os.environ["DATA_KEY"] = TEST_DATA_KEY
install(KeyRing(parse_keys(TEST_DATA_KEY)))

PG_URL = _per_worker(
    os.environ.get(
        "TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/homeward_test"
    )
)
_REDIS_BASE, _REDIS_DB = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15").rsplit(
    "/", 1
)
REDIS_URL = f"{_REDIS_BASE}/{(int(_REDIS_DB) - _WORKER_NUMBER) % 16}"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _reachable(url: str, default_port: int) -> bool:
    parts = urlsplit(url.replace("+asyncpg", ""))
    try:
        with socket.create_connection(
            (parts.hostname or "127.0.0.1", parts.port or default_port), 1
        ):
            return True
    except OSError:
        return False


def require_service(name: str, url: str, port: int) -> None:
    """Skip when a server is absent on a developer's machine; fail under CI, never skip."""
    if _reachable(url, port):
        return
    if IN_CI:
        pytest.fail(f"{name} at {url} is not reachable, and CI=true requires it")
    pytest.skip(f"{name} is not reachable at {url}")


_pg_migrated = False


async def fresh_postgres(url: str) -> AsyncEngine:
    """An engine on `url` with an empty public schema, creating the database if missing.
    Shared by the tests and the benchmarks."""
    server, database = url.rsplit("/", 1)
    admin = create_async_engine(server + "/postgres", isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        exists = await conn.scalar(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": database}
        )
        if not exists:
            await conn.execute(text(f'CREATE DATABASE "{database}"'))
    await admin.dispose()
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    return engine


async def _prepare_postgres() -> AsyncEngine:
    """One database for the whole run, migrated once, emptied before each test."""
    global _pg_migrated
    if not _pg_migrated:
        engine = await fresh_postgres(PG_URL)
        await upgrade_database(engine)
        _pg_migrated = True
        return engine
    engine = create_engine(PG_URL)
    async with engine.begin() as conn:
        # DELETE, children first, then the sequences back to 1: a test leaves a few rows,
        # and TRUNCATE's new files for every table cost more than deleting them.
        for table in reversed(Base.metadata.sorted_tables):
            await conn.execute(table.delete())
        await conn.execute(
            text(
                "SELECT setval(oid::regclass, 1, false) FROM pg_class "
                "WHERE relkind = 'S' AND relnamespace = 'public'::regnamespace"
            )
        )
    return engine


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: object) -> str:
    if request.param == "postgres":
        require_service("PostgreSQL", PG_URL, 5432)
        return PG_URL
    return f"sqlite+aiosqlite:///{tmp_path}/homeward.db"


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    if db_url == PG_URL:
        engine = await _prepare_postgres()
    else:
        engine = create_engine(db_url)
        await upgrade_database(engine)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
def i18n() -> CatalogI18n:
    return build_i18n("en")


@dataclass
class Harness:
    """The production dispatcher, fed updates directly, with a recording bot."""

    dispatcher: Dispatcher
    session: RecordingSession
    engine: AsyncEngine
    storage: BaseStorage

    async def feed(self, update: object) -> None:
        await self.dispatcher.feed_update(make_bot(self.session), update)  # type: ignore[arg-type]


def make_harness(engine: AsyncEngine, i18n: CatalogI18n, **options: object) -> Harness:
    """The production dispatcher with database state; `options` as for build_dispatcher
    (admin_ids, review_mode, liaison_chat_id ...)."""
    storage = SQLAlchemyStorage(engine)
    isolation: BaseEventIsolation = SimpleEventIsolation()
    dispatcher = build_dispatcher(engine, storage, isolation, i18n, **options)  # type: ignore[arg-type]
    return Harness(dispatcher, RecordingSession(), engine, storage)


@pytest.fixture
async def harness(engine: AsyncEngine, i18n: CatalogI18n) -> AsyncIterator[Harness]:
    h = make_harness(engine, i18n)
    yield h
    await h.storage.close()


@pytest.fixture
async def redis_url() -> AsyncIterator[str]:
    require_service("Redis", REDIS_URL, 6379)
    from redis.asyncio import Redis

    client = Redis.from_url(REDIS_URL)
    await client.flushdb()
    yield REDIS_URL
    await client.flushdb()
    await client.aclose()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # The longest test (three instances, a kill and a restart) first, so that it does not
    # start last and keep one worker busy alone at the end (the same order in each worker).
    items.sort(key=lambda item: item.path.name != "test_instances_e2e.py")
    # mypy starts in the background while the tests run; with several workers, in the
    # first one only (test_types starts it itself wherever it runs).
    if WORKER not in ("", "gw0"):
        return
    if any(item.path.name == "test_types.py" for item in items):
        from tests import typecheck

        typecheck.start()
