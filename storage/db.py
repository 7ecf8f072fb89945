"""Engine and session factory for SQLite (default) or PostgreSQL."""

from __future__ import annotations

import asyncio
import sqlite3
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import StaticPool


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An engine with the settings Homeward relies on.

    SQLite gets WAL (readers never block the writer), foreign keys, and
    synchronous=NORMAL: in WAL mode a committed transaction survives a crash
    of the bot process; only a power cut can lose the last commits.
    """
    # Database errors must not quote the values they failed on: those are personal data.
    kwargs.setdefault("hide_parameters", True)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_async_engine(url, **kwargs)


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


T = TypeVar("T")


class SQLiteThread:
    """Every write and service query to one SQLite file, on one thread, one connection.

    SQLite has a single writer. Through aiosqlite every statement is a round trip
    between the event loop and a thread, and under load each round trip waits for
    the loop's turn, so a transaction of six statements could hold the write lock
    for tens of milliseconds while other writers sleep on it. Here a whole
    transaction runs in one call on this thread: one round trip, no lock waits.
    """

    def __init__(self, database: str) -> None:
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite")
        self.engine: Engine = sqlalchemy.create_engine(
            f"sqlite:///{database}",
            hide_parameters=True,
            poolclass=StaticPool,
            connect_args={"check_same_thread": False},
        )
        event.listen(self.engine, "connect", _sqlite_pragmas)
        self._dbapi: sqlite3.Connection | None = None

    def dbapi(self) -> sqlite3.Connection:
        """The thread's one sqlite3 connection, for hot paths that skip SQLAlchemy.
        Only to be used on this thread, between transactions of the engine."""
        if self._dbapi is None:
            self._dbapi = self.engine.raw_connection().driver_connection
        return self._dbapi

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)


_sqlite_threads: weakref.WeakKeyDictionary[Engine, SQLiteThread] = weakref.WeakKeyDictionary()


def sqlite_thread(engine: AsyncEngine) -> SQLiteThread | None:
    """The thread that owns this SQLite file for services and FSM state; None for
    PostgreSQL and in-memory SQLite, which use the async engine directly."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        return None
    thread = _sqlite_threads.get(engine.sync_engine)
    if thread is None:
        thread = _sqlite_threads[engine.sync_engine] = SQLiteThread(database)
    return thread
