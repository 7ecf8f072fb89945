"""aiogram FSM storage in the application database.

State and data are written through to the database on every change, so a
half-filled request survives a crash or restart. Reads are served from a
bounded in-process cache: with this storage one bot process owns its users'
state (several instances share state through Redis instead, see README).

Writes are group-committed: every caller still waits until its own change is
committed, but changes that arrive together share one transaction. On SQLite
they run on the database's own thread (see storage.db.SQLiteThread).

The data (a half-filled request) is sealed with the data key before it is written.
"""

from __future__ import annotations

import asyncio
import json
from collections import OrderedDict
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Protocol, cast

from aiogram.exceptions import DataNotDictLikeError
from aiogram.fsm.state import State
from aiogram.fsm.storage.base import (
    BaseStorage,
    DefaultKeyBuilder,
    KeyBuilder,
    StateType,
    StorageKey,
)
from sqlalchemy import Executable, Table, delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.crypto import open_json, seal_json
from storage.db import SQLiteThread, sqlite_thread
from storage.models import FsmRecord, utcnow

# State and data, the data kept as its JSON text: that text is what gets written, and
# decoding it hands every reader a fresh copy, so nobody can change the stored draft.
_Record = tuple[str | None, str | None]
_EMPTY: _Record = (None, None)
# (key, state, data as JSON); state None and data None mean "delete the row".
_Row = tuple[str, str | None, str | None]


class _Backend(Protocol):
    async def load(self, key: str) -> tuple[str | None, str | None] | None: ...
    async def write(self, rows: list[_Row], now: datetime) -> None: ...
    async def purge(self, cutoff: datetime) -> int: ...
    async def close(self) -> None: ...


def _split(rows: list[_Row]) -> tuple[list[str], list[_Row]]:
    deletes = [key for key, state, data in rows if state is None and data is None]
    upserts = [row for row in rows if not (row[1] is None and row[2] is None)]
    return deletes, upserts


_UPSERT_SQL = (
    "INSERT INTO fsm_records (key, state, data, updated_at) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (key) DO UPDATE SET state = excluded.state, "
    "data = excluded.data, updated_at = excluded.updated_at"
)


class _SQLiteBackend:
    """The database's own thread: a batch is one round trip and one commit, and it never
    waits on a lock held by another connection of this process."""

    def __init__(self, thread: SQLiteThread) -> None:
        self._thread = thread

    def _load_sync(self, key: str) -> tuple[str | None, str | None] | None:
        row = (
            self._thread.dbapi()
            .execute("SELECT state, data FROM fsm_records WHERE key = ?", (key,))
            .fetchone()
        )
        return (row[0], row[1]) if row else None

    def _write_sync(self, rows: list[_Row], now: str) -> None:
        # Plain sqlite3: this runs for nearly every update, and the less Python it runs
        # on this thread, the less it competes with the event loop for the interpreter.
        deletes, upserts = _split(rows)
        connection = self._thread.dbapi()
        try:
            if deletes:
                connection.executemany(
                    "DELETE FROM fsm_records WHERE key = ?", [(key,) for key in deletes]
                )
            if upserts:
                connection.executemany(_UPSERT_SQL, [(*row, now) for row in upserts])
            connection.commit()
        except BaseException:
            connection.rollback()
            raise

    async def load(self, key: str) -> tuple[str | None, str | None] | None:
        return await self._thread.call(self._load_sync, key)

    def _purge_sync(self, cutoff: str) -> int:
        connection = self._thread.dbapi()
        deleted = connection.execute(
            "DELETE FROM fsm_records WHERE updated_at < ?", (cutoff,)
        ).rowcount
        connection.commit()
        return deleted

    async def purge(self, cutoff: datetime) -> int:
        return await self._thread.call(
            self._purge_sync, cutoff.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")
        )

    async def write(self, rows: list[_Row], now: datetime) -> None:
        # The text form SQLAlchemy's DateTime uses on SQLite (naive UTC).
        await self._thread.call(self._write_sync, rows, now.replace(tzinfo=None).isoformat(sep=" "))

    async def close(self) -> None:
        pass  # the thread and its engine belong to the database, not to this storage


class _SQLAlchemyBackend:
    """PostgreSQL (and in-memory SQLite): the application's async engine."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._upsert_statement: Executable | None = None

    async def purge(self, cutoff: datetime) -> int:
        async with self.engine.begin() as connection:
            result = await connection.execute(
                delete(FsmRecord).where(FsmRecord.updated_at < cutoff)
            )
        return result.rowcount or 0

    async def load(self, key: str) -> tuple[str | None, str | None] | None:
        async with self.engine.connect() as connection:
            row = (
                await connection.execute(
                    select(FsmRecord.state, FsmRecord.data).where(FsmRecord.key == key)
                )
            ).first()
        return (row.state, row.data) if row else None

    async def write(self, rows: list[_Row], now: datetime) -> None:
        deletes, upserts = _split(rows)
        async with self.engine.begin() as connection:
            if deletes:
                await connection.execute(delete(FsmRecord).where(FsmRecord.key.in_(deletes)))
            if upserts:
                await connection.execute(
                    self._upsert(),
                    [
                        {"key": key, "state": state, "data": data, "updated_at": now}
                        for key, state, data in upserts
                    ],
                )

    def _upsert(self) -> Executable:
        # Built once: statements are immutable, and this one runs on nearly every update.
        if self._upsert_statement is None:
            self._upsert_statement = self._build_upsert()
        return self._upsert_statement

    def _build_upsert(self) -> Executable:
        set_ = ("state", "data", "updated_at")
        table = cast(Table, FsmRecord.__table__)
        if self.engine.dialect.name == "postgresql":
            pg = pg_insert(table)
            return pg.on_conflict_do_update(
                index_elements=[FsmRecord.key], set_={c: pg.excluded[c] for c in set_}
            )
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        lite = sqlite_insert(table)
        return lite.on_conflict_do_update(
            index_elements=[FsmRecord.key], set_={c: lite.excluded[c] for c in set_}
        )

    async def close(self) -> None:
        pass


class SQLAlchemyStorage(BaseStorage):
    def __init__(
        self,
        engine: AsyncEngine,
        key_builder: KeyBuilder | None = None,
        cache_size: int = 20_000,
    ) -> None:
        self.key_builder = key_builder or DefaultKeyBuilder(with_destiny=True)
        thread = sqlite_thread(engine)
        self._backend: _Backend = (
            _SQLiteBackend(thread) if thread is not None else _SQLAlchemyBackend(engine)
        )
        self._cache: OrderedDict[str, _Record] = OrderedDict()
        self._cache_size = cache_size
        self._pending: dict[str, _Record] = {}
        self._inflight: dict[str, _Record] = {}
        self._waiters: list[asyncio.Future[None]] = []
        self._writer: asyncio.Task[None] | None = None

    # --- aiogram interface -------------------------------------------------
    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        built = self.key_builder.build(key)
        _, data = await self._load(built)
        new_state = state.state if isinstance(state, State) else state
        await self._store(built, (new_state, data))

    async def get_state(self, key: StorageKey) -> str | None:
        state, _ = await self._load(self.key_builder.build(key))
        return state

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        if not isinstance(data, dict):
            msg = f"Data must be a dict or dict-like object, got {type(data).__name__}"
            raise DataNotDictLikeError(msg)
        built = self.key_builder.build(key)
        state, _ = await self._load(built)
        await self._store(built, (state, json.dumps(data) if data else None))

    async def set_record(
        self, key: StorageKey, state: StateType, data: Mapping[str, Any] | None
    ) -> None:
        """State and data in one write (aiogram's FSMContext would make two)."""
        new_state = state.state if isinstance(state, State) else state
        await self._store(
            self.key_builder.build(key), (new_state, json.dumps(data) if data else None)
        )

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        _, data = await self._load(self.key_builder.build(key))
        return json.loads(data) if data else {}

    async def purge_older_than(self, cutoff: datetime) -> int:
        """Delete conversation state untouched since `cutoff` (abandoned drafts hold
        personal data); returns how many were deleted."""
        if self._writer is not None:
            await asyncio.shield(self._writer)
        deleted = await self._backend.purge(cutoff)
        self._cache.clear()  # cached copies of purged drafts must not come back
        return deleted

    async def close(self) -> None:
        if self._writer is not None:
            await asyncio.shield(self._writer)
        await self._backend.close()

    # --- internals -----------------------------------------------------------
    async def _load(self, key: str) -> _Record:
        for queued in (self._pending, self._inflight):
            if key in queued:
                return queued[key]
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        row = await self._backend.load(key)
        record: _Record = (row[0], open_json(row[1]) or None) if row else _EMPTY
        self._remember(key, record)
        return record

    def _remember(self, key: str, record: _Record) -> None:
        self._cache[key] = record
        self._cache.move_to_end(key)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)

    async def _store(self, key: str, record: _Record) -> None:
        """Queue the write and wait until it is committed."""
        self._pending[key] = record
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._flush_loop())
        await waiter

    async def _flush_loop(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, {}
            waiters, self._waiters = self._waiters, []
            self._inflight = batch
            # The data is a half-filled request: sealed with the data key (storage.crypto).
            rows: list[_Row] = [
                (key, state, None if state is None and not data else seal_json(data or "{}"))
                for key, (state, data) in batch.items()
            ]
            try:
                await self._backend.write(rows, utcnow())
            except Exception as exc:
                # Nobody may believe an unsaved change: forget it and tell every waiter.
                for key in batch:
                    self._cache.pop(key, None)
                for waiter in waiters:
                    if not waiter.done():
                        waiter.set_exception(exc)
                continue
            finally:
                self._inflight = {}
            for key, record in batch.items():
                self._remember(key, record)
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(None)
