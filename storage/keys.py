"""The data keys and the database: the start-up check, and re-sealing for a rotation."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import Column, LargeBinary, MetaData, Table, Text, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.crypto import DataKeyError, EncryptedBytes, EncryptedText, KeyRing
from storage.models import Base, DataKeyCheck, FsmRecord, utcnow

CHECK_TEXT = "homeward data key check"
BATCH = 500


@dataclass(frozen=True)
class SealedColumns:
    """The columns of one table that hold sealed values, as plain columns (no decorator),
    so that they can be read and rewritten without opening them."""

    table: Table
    key: str
    text: tuple[str, ...]
    binary: tuple[str, ...]


def sealed_columns() -> list[SealedColumns]:
    """Every sealed column, found from the models' column types, plus the conversation
    state, which storage.fsm seals itself."""
    found = []
    for table in Base.metadata.sorted_tables:
        text = tuple(c.name for c in table.columns if isinstance(c.type, EncryptedText))
        binary = tuple(c.name for c in table.columns if isinstance(c.type, EncryptedBytes))
        if table.name == FsmRecord.__tablename__:
            text = ("data",)
        if not text and not binary:
            continue
        key = next(iter(table.primary_key.columns)).name
        plain = Table(
            table.name,
            MetaData(),
            Column(key, primary_key=True),
            *(Column(name, Text) for name in text),
            *(Column(name, LargeBinary) for name in binary),
        )
        found.append(SealedColumns(plain, key, text, binary))
    return found


def check_keys(connection: Connection, ring: KeyRing) -> None:
    """Stop with one line if the ring lacks a key that sealed data here or cannot open
    it; record the current key the first time it is used."""
    rows = connection.execute(
        select(DataKeyCheck.key_id, DataKeyCheck.check, DataKeyCheck.retired_at)
    ).all()
    for key_id, check, retired_at in rows:
        if retired_at is not None:
            continue
        if key_id not in {key.id for key in ring.keys}:
            raise DataKeyError(
                f"DATA_KEY does not hold key {key_id}, which sealed the data in this database"
            )
        try:
            opened = ring.open(check)
        except DataKeyError:
            opened = None
        if opened != CHECK_TEXT:
            raise DataKeyError(f"DATA_KEY does not open this database (key {key_id})")
    known = {key_id: retired_at for key_id, _check, retired_at in rows}
    primary = ring.primary
    if primary.id not in known:
        connection.execute(
            insert(DataKeyCheck).values(
                key_id=primary.id, check=ring.seal(CHECK_TEXT), added_at=utcnow()
            )
        )
    elif known[primary.id] is not None:
        connection.execute(
            update(DataKeyCheck).where(DataKeyCheck.key_id == primary.id).values(retired_at=None)
        )


async def verify_database_keys(engine: AsyncEngine, ring: KeyRing) -> None:
    async with engine.begin() as connection:
        await connection.run_sync(check_keys, ring)


def _batches(connection: Connection, sealed: SealedColumns) -> Iterator[list[tuple[object, ...]]]:
    table, key = sealed.table, sealed.table.c[sealed.key]
    columns = [table.c[name] for name in (*sealed.text, *sealed.binary)]
    last = None
    while True:
        query = select(key, *columns).order_by(key).limit(BATCH)
        if last is not None:
            query = query.where(key > last)
        rows = [tuple(row) for row in connection.execute(query).all()]
        if not rows:
            return
        yield rows
        last = rows[-1][0]


def reseal_batch(
    connection: Connection, sealed: SealedColumns, ring: KeyRing, after: object | None
) -> tuple[int, object | None]:
    """Re-seal with the current key the values of one batch of rows sealed with another
    key; returns (values re-sealed, the last row key, None when the table is done)."""
    table, key = sealed.table, sealed.table.c[sealed.key]
    names = (*sealed.text, *sealed.binary)
    query = select(key, *(table.c[name] for name in names)).order_by(key).limit(BATCH)
    if after is not None:
        query = query.where(key > after)
    rows = connection.execute(query).all()
    if not rows:
        return 0, None
    primary = ring.primary.id
    changed = 0
    for row in rows:
        values: dict[str, object] = {}
        for name, value in zip(names, row[1:], strict=True):
            if value is None:
                continue
            if name in sealed.text:
                if ring.key_id_of(str(value)) != primary:
                    values[name] = ring.seal(ring.open(str(value)))
            elif ring.bytes_key_id(bytes(value)) != primary:
                values[name] = ring.seal_bytes(ring.open_bytes(bytes(value)))
        if values:
            connection.execute(update(table).where(key == row[0]).values(**values))
            changed += len(values)
    return changed, rows[-1][0]


def count_sealed_with_others(connection: Connection, ring: KeyRing) -> int:
    """How many values are still sealed with a key other than the current one."""
    primary = ring.primary.id
    left = 0
    for sealed in sealed_columns():
        for rows in _batches(connection, sealed):
            for row in rows:
                for name, value in zip((*sealed.text, *sealed.binary), row[1:], strict=True):
                    if value is None:
                        continue
                    if name in sealed.text:
                        left += ring.key_id_of(str(value)) != primary
                    else:
                        left += ring.bytes_key_id(bytes(value)) != primary  # type: ignore[call-overload]
    return left


def retire_other_keys(connection: Connection, ring: KeyRing) -> list[str]:
    """Mark every key but the current one retired; returns their ids."""
    others = [
        key_id
        for key_id in connection.execute(
            select(DataKeyCheck.key_id).where(
                DataKeyCheck.retired_at.is_(None), DataKeyCheck.key_id != ring.primary.id
            )
        ).scalars()
    ]
    if others:
        connection.execute(
            update(DataKeyCheck).where(DataKeyCheck.key_id.in_(others)).values(retired_at=utcnow())
        )
    return others
