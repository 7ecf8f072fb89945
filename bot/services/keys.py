"""The data key: loading it at start-up, opening the database with it, and rotating it.

A rotation (`python -m bot keys rotate`) runs while the bots run:
1. with a key file, a new key goes first in the file; every process re-reads the file
   within a second or two (storage.crypto.KeyRing.maybe_reload) and seals with it from then;
2. every value sealed with another key is re-sealed, one short transaction per batch;
3. the name index is rebuilt with the new key's hashes (searches read both meanwhile);
4. when nothing sealed with an older key is left, the older keys are retired (and taken
   out of the key file).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.services import tracing
from bot.services.uow import Tx, UnitOfWork
from storage.crypto import (
    RELOAD_SECONDS,
    DataKeyError,
    KeyRing,
    generate_key,
    install,
    load_key_ring,
    read_key_file,
    write_key_file,
)
from storage.db import create_engine, wait_for_database
from storage.keys import (
    SealedColumns,
    count_sealed_with_others,
    reseal_batch,
    retire_other_keys,
    sealed_columns,
    verify_database_keys,
)
from storage.lease import one_start_at_a_time
from storage.migrate import upgrade_database
from storage.models import PersonRecord, TracingRequest

log = logging.getLogger(__name__)
REINDEX_BATCH = 200


def load_keys(data_key: str, database_url: str) -> KeyRing:
    """The key ring from DATA_KEY (or the key file beside a SQLite database), installed for
    this process. Raises DataKeyError with a one-line reason."""
    ring, notice = load_key_ring(data_key, database_url)
    if notice:
        log.warning("%s", notice)
    return install(ring)


async def open_database(data_key: str, database_url: str, *, migrate: bool = True) -> AsyncEngine:
    """The engine, once the key is loaded, the schema is current and the key opens it."""
    ring = load_keys(data_key, database_url)
    engine = create_engine(database_url)
    try:
        await wait_for_database(engine)
        async with one_start_at_a_time(engine):
            if migrate:
                await upgrade_database(engine)
            await verify_database_keys(engine, ring)
    except BaseException:
        await engine.dispose()
        raise
    return engine


@dataclass
class RotationReport:
    new_key: str | None  # the id of the key added to the key file, if one was
    resealed: int  # values re-sealed with the current key
    reindexed: int  # requests and records whose index entries were rebuilt
    retired: list[str]  # ids of the keys no longer used


async def rotate(
    engine: AsyncEngine,
    ring: KeyRing,
    *,
    add_key: bool,
    settle_seconds: float = 2 * RELOAD_SECONDS + 0.5,
    progress: Callable[[str], None] = lambda _line: None,
) -> RotationReport:
    new_key = None
    if add_key:
        if ring.source is None:
            raise DataKeyError(
                "DATA_KEY is a key, not a key file: put a new key first in DATA_KEY "
                "(`python -m bot keys new`), restart, then run `keys rotate --reseal-only`"
            )
        key = generate_key()
        write_key_file(ring.source, [key, *read_key_file(ring.source)])
        ring.reload()
        new_key = key.id
        await verify_database_keys(engine, ring)  # records the new key's check value
        progress(f"added key {key.id} to {ring.source}; running bots switch to it within 2 s")
        await asyncio.sleep(settle_seconds)

    resealed = 0
    for sealed in sealed_columns():
        after: object | None = None
        while True:

            def batch(
                connection: Connection, after: object | None = after, sealed: SealedColumns = sealed
            ) -> tuple[int, object | None]:
                return reseal_batch(connection, sealed, ring, after)

            async with engine.begin() as connection:
                changed, after = await connection.run_sync(batch)
            resealed += changed
            if after is None:
                break
        progress(f"{sealed.table.name}: done")

    reindexed = await _reindex_everything(UnitOfWork(engine))
    progress(f"name index rebuilt for {reindexed} requests and records")

    async with engine.begin() as connection:
        left = await connection.run_sync(count_sealed_with_others, ring)
    retired: list[str] = []
    if left == 0:
        async with engine.begin() as connection:
            retired = await connection.run_sync(retire_other_keys, ring)
        if ring.source is not None and len(ring.keys) > 1:
            write_key_file(ring.source, [ring.primary])
            ring.reload()
    else:
        progress(f"{left} values are still sealed with an older key: run the rotation again")
    return RotationReport(new_key, resealed, reindexed, retired)


async def _reindex_everything(uow: UnitOfWork) -> int:
    """Rebuild the index entries of every request and record, in short transactions."""
    done = 0
    for model, reindex in (
        (TracingRequest, tracing.reindex_request),
        (PersonRecord, tracing.reindex_record),
    ):
        after = 0
        while True:
            count, last = await uow.run(_reindex_batch(model, reindex, after))
            done += count
            if last is None:
                break
            after = last
    return done


def _reindex_batch(
    model: Any, reindex: Callable[[Tx, Any], None], after: int
) -> Callable[[Tx], tuple[int, int | None]]:
    def work(tx: Tx) -> tuple[int, int | None]:
        items = tx.session.scalars(
            select(model).where(model.id > after).order_by(model.id).limit(REINDEX_BATCH)
        ).all()
        for item in items:
            reindex(tx, item)
        return len(items), (items[-1].id if items else None)

    return work
