"""Which instance runs the background jobs (draft purge, retention, matcher), and one
instance's start-up at a time.

With several instances on PostgreSQL, one of them at a time: the one holding a session
advisory lock on a connection of its own. The server drops the lock when that process or
its connection dies, and another instance takes over at its next try. SQLite has a single
instance (storage.db.InstanceLock), which always leads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger(__name__)

# Any 64-bit number, the same in every instance: "homeward" in ASCII.
ADVISORY_KEY = 0x686F6D6577617264
STARTING_KEY = ADVISORY_KEY + 1
POLLING_KEY = ADVISORY_KEY + 2


async def _lock_connection(engine: AsyncEngine) -> AsyncConnection:
    """A connection of its own for a session advisory lock. Autocommit: a lock held for
    hours must not be an idle open transaction."""
    connection = await engine.connect()
    return await connection.execution_options(isolation_level="AUTOCOMMIT")


async def _unlock(connection: AsyncConnection, key: int) -> None:
    await connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})


@contextlib.asynccontextmanager
async def one_start_at_a_time(engine: AsyncEngine) -> AsyncIterator[None]:
    """Migrations and the data key's first record, by one process at a time: instances
    started together on a new database (a compose file's) must not both create the tables
    or record the key. The lock is a session's, so a process that dies lets go of it."""
    if engine.dialect.name != "postgresql":
        yield  # SQLite: one instance (storage.db.InstanceLock), and its writes are serial
        return
    locked = await _lock_connection(engine)
    try:
        await locked.execute(text("SELECT pg_advisory_lock(:key)"), {"key": STARTING_KEY})
        try:
            yield
        finally:
            await _unlock(locked, STARTING_KEY)
    finally:
        await locked.close()


class Leadership:
    def __init__(self, engine: AsyncEngine, key: int = ADVISORY_KEY) -> None:
        self.engine = engine
        self.key = key
        self._connection: AsyncConnection | None = None
        self._leading = engine.dialect.name != "postgresql"
        # The jobs ask at the same time; one connection serves one question at a time.
        self._asking = asyncio.Lock()

    @property
    def shared(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    async def holds(self) -> bool:
        """Whether this instance leads now; tries to become the leader if nobody is."""
        if not self.shared:
            return True
        async with self._asking:
            return await self._ask()

    async def _ask(self) -> bool:
        try:
            if self._connection is None:
                self._connection = await _lock_connection(self.engine)
            if self._leading:
                await self._connection.execute(text("SELECT 1"))  # still connected: still held
                return True
            got = await self._connection.scalar(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}
            )
            self._leading = bool(got)
            if self._leading:
                log.info("this instance now runs the background jobs")
            return self._leading
        except asyncio.CancelledError:
            await asyncio.shield(self._drop())  # stopping: no connection left behind
            raise
        except (DBAPIError, SQLAlchemyError, OSError) as error:
            if self._leading:
                log.warning("lost the lead of the background jobs (%s)", type(error).__name__)
            await self._drop()
            return False

    async def _drop(self) -> None:
        self._leading = False
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                await connection.close()
            except (DBAPIError, SQLAlchemyError, OSError):
                pass

    async def release(self) -> None:
        """On a clean stop: another instance may take over at once."""
        async with self._asking:
            await self._release()

    async def _release(self) -> None:
        if self.shared and self._leading and self._connection is not None:
            try:
                await _unlock(self._connection, self.key)
            except (DBAPIError, SQLAlchemyError, OSError):
                pass
        await self._drop()
        self._leading = not self.shared


class PollingLockError(Exception):
    """Another instance polls Telegram for this database; said in one line."""


class PollingLock:
    """One instance in polling mode per PostgreSQL database: Telegram hands updates to one
    poller at a time and answers the other 409, so two would take turns failing. A session
    advisory lock on a connection of its own, dropped by the server if the process dies.
    SQLite has its own single-instance lock (storage.db.InstanceLock)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._connection: AsyncConnection | None = None

    async def acquire(self) -> None:
        if self.engine.dialect.name != "postgresql":
            return
        locked = await _lock_connection(self.engine)
        try:
            got = await locked.scalar(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": POLLING_KEY}
            )
        except BaseException:
            await locked.close()
            raise
        if not got:
            await locked.close()
            raise PollingLockError(
                "another Homeward bot polls Telegram for this database: polling serves one "
                "instance; for several, run them in webhook mode (see the README)"
            )
        self._connection = locked

    async def release(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                await _unlock(connection, POLLING_KEY)
                await connection.close()
            except (DBAPIError, SQLAlchemyError, OSError):
                pass  # the connection is gone, and the lock with it
