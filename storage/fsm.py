"""aiogram FSM storage in the application database.

State and data are written through to the database on every change, so a
half-filled request survives a crash or restart. Reads are served from a
bounded in-process cache: with this storage one bot process owns its users'
state (several instances share state through Redis instead, see README).
Concurrent writes are group-committed: every caller still waits for its own
commit, but writes that arrive together share one transaction.
"""

from __future__ import annotations

import asyncio
import json
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from aiogram.exceptions import DataNotDictLikeError
from aiogram.fsm.state import State
from aiogram.fsm.storage.base import (
    BaseStorage,
    DefaultKeyBuilder,
    KeyBuilder,
    StateType,
    StorageKey,
)
from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.models import FsmRecord, utcnow

_Record = tuple[str | None, dict[str, Any]]
_MISSING: _Record = (None, {})


class SQLAlchemyStorage(BaseStorage):
    def __init__(
        self,
        engine: AsyncEngine,
        key_builder: KeyBuilder | None = None,
        cache_size: int = 20_000,
    ) -> None:
        self.engine = engine
        self.key_builder = key_builder or DefaultKeyBuilder(with_destiny=True)
        self._cache: OrderedDict[str, _Record] = OrderedDict()
        self._cache_size = cache_size
        insert = pg_insert if engine.dialect.name == "postgresql" else sqlite_insert
        self._upsert = insert(FsmRecord.__table__)
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
        # A JSON round trip both validates and detaches the stored copy from the caller's dict.
        await self._store(built, (state, json.loads(json.dumps(data))))

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        _, data = await self._load(self.key_builder.build(key))
        return json.loads(json.dumps(data)) if data else {}

    async def close(self) -> None:
        if self._writer is not None:
            await asyncio.shield(self._writer)

    # --- internals -----------------------------------------------------------
    async def _load(self, key: str) -> _Record:
        for queued in (self._pending, self._inflight):
            if key in queued:
                return queued[key]
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        async with self.engine.connect() as connection:
            row = (
                await connection.execute(
                    select(FsmRecord.state, FsmRecord.data).where(FsmRecord.key == key)
                )
            ).first()
        record: _Record = (row.state, json.loads(row.data) if row.data else {}) if row else _MISSING
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
            try:
                await self._write(batch)
            except BaseException as exc:
                for key in batch:
                    self._cache.pop(key, None)
                for waiter in waiters:
                    if not waiter.done():
                        waiter.set_exception(exc)
                self._inflight = {}
                if not isinstance(exc, Exception):
                    raise
                continue
            self._inflight = {}
            for key, record in batch.items():
                self._remember(key, record)
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(None)

    async def _write(self, batch: dict[str, _Record]) -> None:
        now = utcnow()
        upserts = []
        deletes = []
        for key, (state, data) in batch.items():
            if state is None and not data:
                deletes.append(key)
            else:
                upserts.append(
                    {"key": key, "state": state, "data": json.dumps(data), "updated_at": now}
                )
        async with self.engine.begin() as connection:
            if deletes:
                await connection.execute(delete(FsmRecord).where(FsmRecord.key.in_(deletes)))
            if upserts:
                statement = self._upsert.on_conflict_do_update(
                    index_elements=[FsmRecord.key],
                    set_={
                        "state": self._upsert.excluded.state,
                        "data": self._upsert.excluded.data,
                        "updated_at": self._upsert.excluded.updated_at,
                    },
                )
                await connection.execute(statement, upserts)
