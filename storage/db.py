"""Engine and session factory for SQLite (default) or PostgreSQL."""

from __future__ import annotations

import asyncio
import logging
import queue
import sqlite3
import threading
import weakref
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import StaticPool

log = logging.getLogger(__name__)


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


class DatabaseUnreachableError(Exception):
    """The database (or Redis) cannot be reached or refuses the bot; said in one line."""


START_WAIT_SECONDS = 60.0  # a server started with the bot (a compose file) gets this long
# asyncpg's errors of a server that is starting, stopping or full: worth waiting for.
_PASSING_SERVER_ERRORS = {"CannotConnectNowError", "TooManyConnectionsError"}


async def _wait_until_it_answers(
    name: str,
    where: str,
    setting: str,
    ping: Callable[[], Awaitable[object]],
    errors: tuple[type[BaseException], ...],
    refusal: Callable[[BaseException], str | None],
    within: float,
) -> None:
    """Until `ping` succeeds: a server that is still starting, or briefly unreachable, is
    waited for (one line in the log); one that refuses the bot (`refusal` gives the reason),
    or stays away for `within` seconds, stops the start-up with one line."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    delay, said = 0.5, False
    while True:
        try:
            await ping()
        except errors as error:
            reason = refusal(error)
            if reason is not None:
                raise DatabaseUnreachableError(
                    f"{name} at {where} refused the bot ({reason}): check {setting}"
                ) from None
            if loop.time() + delay > deadline:
                raise DatabaseUnreachableError(
                    f"cannot reach {name} at {where} ({type(error).__name__}) for "
                    f"{within:.0f} s: check {setting} and that the server runs"
                ) from None
            if not said:
                log.warning(
                    "%s at %s does not answer yet (%s); trying for %.0f s",
                    name,
                    where,
                    type(error).__name__,
                    within,
                )
                said = True
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
        else:
            if said:
                log.info("%s answers", name)
            return


def _database_refusal(error: BaseException) -> str | None:
    if isinstance(error, OSError):  # refused, unreachable, timed out: wait
        return None
    cause = getattr(error, "orig", None)
    cause = getattr(cause, "__cause__", None) or cause or error
    if type(cause).__name__ in _PASSING_SERVER_ERRORS:
        return None
    text = str(cause).strip()
    return type(cause).__name__ + (f": {text.splitlines()[0]}" if text else "")


async def wait_for_database(engine: AsyncEngine, within: float = START_WAIT_SECONDS) -> None:
    """Until the PostgreSQL server answers (see _wait_until_it_answers); SQLite has no
    server to wait for."""
    if engine.dialect.name != "postgresql":
        return

    async def ping() -> None:
        async with engine.connect() as connection:
            await connection.execute(sqlalchemy.text("SELECT 1"))

    where = engine.url.render_as_string(hide_password=True)
    await _wait_until_it_answers(
        "the database",
        where,
        "DATABASE_URL",
        ping,
        (OSError, DBAPIError),
        _database_refusal,
        within,
    )


def redis_address(url: str) -> str:
    """A Redis URL without its password, for the log and the operator."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


async def wait_for_redis(redis: Any, url: str, within: float = START_WAIT_SECONDS) -> None:
    """Until the Redis server of REDIS_URL answers (see _wait_until_it_answers)."""
    from redis.exceptions import AuthenticationError, RedisError, ResponseError

    def refusal(error: BaseException) -> str | None:
        refused = isinstance(error, AuthenticationError | ResponseError)
        return type(error).__name__ if refused else None

    await _wait_until_it_answers(
        "Redis", redis_address(url), "REDIS_URL", redis.ping, (RedisError, OSError), refusal, within
    )


class InstanceLockError(Exception):
    """Another bot process serves this SQLite file; said in one line."""


class InstanceLock:
    """One bot process per SQLite file: an exclusive lock on `<database>.lock`, held until
    `release` (or until the process dies, when the system drops it). SQLite cannot share
    the outbox and the broadcasts between processes; several instances need PostgreSQL."""

    def __init__(self, path: Path) -> None:
        import fcntl
        import os

        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fd: int | None = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._fd)
            self._fd = None
            raise InstanceLockError(
                f"another Homeward bot is running on {path.with_suffix('')}: SQLite serves "
                "one bot instance; for several, use PostgreSQL (see the README)"
            ) from None

    def release(self) -> None:
        import os

        if self._fd is not None:
            os.close(self._fd)  # closing drops the lock
            self._fd = None


def lock_single_instance(url: str) -> InstanceLock | None:
    """The instance lock for a SQLite file; None for PostgreSQL and in-memory SQLite."""
    parsed = make_url(url)
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return None
    if database.startswith("file:"):
        return None
    return InstanceLock(Path(database).expanduser().with_suffix(".db.lock"))


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


T = TypeVar("T")

# A job for the thread: the loop and future to answer, the function and its arguments.
_Job = tuple[asyncio.AbstractEventLoop, "asyncio.Future[Any]", Callable[..., Any], tuple[Any, ...]]


def _work(jobs: queue.SimpleQueue[_Job | None]) -> None:
    """The thread's loop. It holds the queue only, so the SQLiteThread can be collected
    (tests make an engine each), and its finalizer's None ends the thread."""
    while (job := jobs.get()) is not None:
        _run(*job)
        # Keep nothing of the last job while waiting: its function or the exception it
        # raised can refer back to the SQLiteThread and keep it (and this thread) alive.
        del job


def _run(
    loop: asyncio.AbstractEventLoop,
    future: asyncio.Future[Any],
    fn: Callable[..., Any],
    args: tuple[Any, ...],
) -> None:
    if future.cancelled():
        return  # nobody waits: skipped, as an executor skips a cancelled job
    try:
        result = fn(*args)
    except BaseException as error:  # handed to the caller, as an executor would
        _answer(loop, future, None, error)
    else:
        _answer(loop, future, result, None)


def _answer(
    loop: asyncio.AbstractEventLoop,
    future: asyncio.Future[Any],
    result: Any,
    error: BaseException | None,
) -> None:
    try:
        loop.call_soon_threadsafe(_settle, future, result, error)
    except RuntimeError:
        pass  # the loop is closed: nobody is left to answer


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():
        return  # cancelled meanwhile
    if error is None:
        future.set_result(result)
    else:
        future.set_exception(error)


class SQLiteThread:
    """Every write and service query to one SQLite file, on one thread, one connection.

    SQLite has a single writer. Through aiosqlite every statement is a round trip
    between the event loop and a thread, and under load each round trip waits for
    the loop's turn, so a transaction of six statements could hold the write lock
    for tens of milliseconds while other writers sleep on it. Here a whole
    transaction runs in one call on this thread: one round trip, no lock waits.

    The round trip is a queue and a future of the loop, not `run_in_executor`: nearly
    every update makes one, and concurrent.futures' machinery (its own future, a lock,
    the future chained to the loop's) cost ~20 µs of CPU more per call, mostly on the
    event loop. The thread is a daemon: whoever needs a result awaits it, and shutting
    down (`App.close`) waits for the FSM writes, so none is pending at exit.
    """

    def __init__(self, database: str) -> None:
        self.engine: Engine = sqlalchemy.create_engine(
            f"sqlite:///{database}",
            hide_parameters=True,
            poolclass=StaticPool,
            connect_args={"check_same_thread": False},
        )
        event.listen(self.engine, "connect", _sqlite_pragmas)
        self._dbapi: sqlite3.Connection | None = None
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        threading.Thread(target=_work, args=(self._jobs,), name="sqlite", daemon=True).start()
        weakref.finalize(self, self._jobs.put, None)

    def dbapi(self) -> sqlite3.Connection:
        """The thread's one sqlite3 connection, for hot paths that skip SQLAlchemy.
        Only to be used on this thread, between transactions of the engine."""
        if self._dbapi is None:
            connection = self.engine.raw_connection().driver_connection
            assert isinstance(connection, sqlite3.Connection)
            self._dbapi = connection
        return self._dbapi

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)` on the thread; its result or its exception here."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._jobs.put((loop, future, fn, args))
        return await future


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
