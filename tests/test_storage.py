"""The FSM storages (database and Redis) and the migrations."""

from __future__ import annotations

import asyncio

from aiogram.fsm.storage.base import StorageKey
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import build_storage
from bot.config import load_settings
from storage.fsm import SQLAlchemyStorage
from storage.migrate import current_revision

KEY = StorageKey(bot_id=42, chat_id=7, user_id=7)


async def test_migrations_create_the_schema(engine: AsyncEngine) -> None:
    assert await current_revision(engine) == "0011"
    async with engine.connect() as conn:
        tables = await conn.run_sync(lambda sync: set(inspect(sync).get_table_names()))
    assert {
        "users",
        "tracing_requests",
        "fsm_records",
        "followups",
        "status_changes",
        "liaisons",
        "invites",
        "audit_log",
        "broadcasts",
        "broadcast_recipients",
        "person_records",
        "record_photos",
        "name_keys",
        "possible_matches",
    } <= tables


async def test_state_and_data_survive_a_restart(engine: AsyncEngine) -> None:
    storage = SQLAlchemyStorage(engine)
    await storage.set_state(KEY, "Intake:active")
    await storage.set_data(KEY, {"draft": {"step": "birth", "answers": {"sought_name": "Іван"}}})
    await storage.close()

    reopened = SQLAlchemyStorage(engine)  # a new process: empty cache, same database
    assert await reopened.get_state(KEY) == "Intake:active"
    data = await reopened.get_data(KEY)
    assert data["draft"]["answers"]["sought_name"] == "Іван"
    # Callers get copies: changing one must not change the stored draft.
    data["draft"]["step"] = "changed"
    assert (await reopened.get_data(KEY))["draft"]["step"] == "birth"


async def test_clearing_removes_the_row(engine: AsyncEngine) -> None:
    storage = SQLAlchemyStorage(engine)
    await storage.set_state(KEY, "Intake:active")
    await storage.set_data(KEY, {"x": 1})
    await storage.set_state(KEY, None)
    await storage.set_data(KEY, {})
    reopened = SQLAlchemyStorage(engine)
    assert await reopened.get_state(KEY) is None
    assert await reopened.get_data(KEY) == {}


async def test_concurrent_writes_are_all_committed(engine: AsyncEngine) -> None:
    storage = SQLAlchemyStorage(engine)
    keys = [StorageKey(bot_id=42, chat_id=i, user_id=i) for i in range(200)]
    await asyncio.gather(*(storage.set_data(k, {"n": k.user_id}) for k in keys))
    reopened = SQLAlchemyStorage(engine)
    values = await asyncio.gather(*(reopened.get_data(k) for k in keys))
    assert [v["n"] for v in values] == list(range(200))


async def test_redis_storage_is_used_when_configured(engine: AsyncEngine, redis_url: str) -> None:
    settings = load_settings(bot_token="123456:" + "A" * 35, redis_url=redis_url, _env_file=None)
    storage, _isolation = build_storage(settings, engine)
    try:
        await storage.set_state(KEY, "Intake:active")
        await storage.set_data(KEY, {"draft": {"step": "birth"}})
        assert type(storage).__name__ == "RedisStorage"
    finally:
        await storage.close()
    again, _ = build_storage(settings, engine)
    try:
        assert await again.get_state(KEY) == "Intake:active"
        assert (await again.get_data(KEY))["draft"]["step"] == "birth"
    finally:
        await again.close()


async def test_abandoned_drafts_are_purged(engine: AsyncEngine) -> None:
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import update

    from storage.models import FsmRecord

    storage = SQLAlchemyStorage(engine)
    old = StorageKey(bot_id=42, chat_id=1, user_id=1)
    await storage.set_data(old, {"draft": {"answers": {"sought_name": "x"}}})
    await storage.set_data(KEY, {"draft": {"answers": {}}})
    async with engine.begin() as conn:
        await conn.execute(
            update(FsmRecord)
            .where(FsmRecord.key.contains(":1:1"))
            .values(updated_at=datetime.now(UTC) - timedelta(days=40))
        )
    deleted = await storage.purge_older_than(datetime.now(UTC) - timedelta(days=30))
    assert deleted == 1
    assert await storage.get_data(old) == {}  # not even from the cache
    assert await storage.get_data(KEY) == {"draft": {"answers": {}}}


async def test_migrations_match_the_models(engine: AsyncEngine) -> None:
    """Alembic finds nothing to add: the tables the code expects are the ones migrated."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from storage.models import Base

    def differences(sync: object) -> list[object]:
        context = MigrationContext.configure(sync, opts={"compare_type": False})  # type: ignore[arg-type]
        return [
            diff
            for diff in compare_metadata(context, Base.metadata)
            # Server defaults and index names of the first migrations are not worth a migration.
            if not (isinstance(diff, tuple) and diff[0] in ("add_index", "remove_index"))
        ]

    async with engine.connect() as conn:
        found = await conn.run_sync(differences)
    assert found == []
