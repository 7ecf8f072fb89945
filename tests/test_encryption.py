"""Encryption at rest: personal data never reaches the database, Redis, the logs or a
backup in clear; search still finds people; keys rotate while data stays readable; a
missing or wrong key stops the bot with one line; backups restore exactly."""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiogram.fsm.storage.base import StorageKey
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

import storage.crypto as crypto
from bot import PROJECT_ROOT
from bot.config import load_settings
from bot.i18n import CatalogI18n
from bot.services import keys as key_service
from bot.services import tracing
from bot.services.uow import UnitOfWork
from storage.backup import BackupError, backup, restore
from storage.crypto import (
    DataKeyError,
    KeyRing,
    generate_key,
    parse_keys,
    read_key_file,
    write_key_file,
)
from storage.db import create_engine
from storage.keys import CHECK_TEXT, sealed_columns, verify_database_keys
from storage.migrate import upgrade_database
from storage.models import Base, DataKeyCheck, TracingRequest
from tests import updates as U
from tests.conftest import PG_URL, TEST_DATA_KEY, Harness, fresh_postgres, make_harness
from tests.flows import SUBMIT, callback_for
from tests.recording import BOT_USER

ADMIN = 900
FAMILY, DRAFTING = 7101, 7102

# Every answer holds a marker that must never be found in clear at rest.
SECRETS = {
    "sought_name": "Zoriana Kvitkovska",
    "sought_aliases": "Zorianka Kvitka",
    "features": "birthmark shaped like a crescent",
    "health_needs": "insulin dependent diabetes",
    "separation_place": "Vovchansk, Kharkiv region",
    "requester_name": "Marharyta Kvitkovska",
    "contact": "+380 67 555 12 34",
    "country": "Moldova",
}
PHOTO = "AgACAgIAAxkBAAIsecretphotofileid"
NOTE = "neighbour Halyna Dzvinchuk saw her"
UPDATE = "The registry of Poltava has a record for Zoriana"
STILL_TYPING = "Ostap Hnatyshyn"
# Lower-case forms, as a search index would keep them, must not be there either.
MARKERS = [
    *SECRETS.values(), PHOTO, NOTE, UPDATE, STILL_TYPING,
    "kvitkovsk", "zorian", "dzvinchuk", "hnatyshyn", "555 12 34", "5551234", "insulin",
]  # fmt: skip


def intake(secrets: dict[str, str]) -> list[tuple[str, str, str]]:
    return [
        ("text", "sought_name", secrets["sought_name"]),
        ("text", "sought_aliases", secrets["sought_aliases"]),
        ("pick", "sought_sex", "female"),
        ("text", "birth", "12.03.2009"),
        ("skip", "birth_place", ""),
        ("text", "features", secrets["features"]),
        ("text", "health_needs", secrets["health_needs"]),
        ("photo", "photos", PHOTO),
        ("text", "separation_date", "03.2022"),
        ("text", "separation_place", secrets["separation_place"]),
        ("pick", "circumstances", "fighting"),
        ("skip", "last_location", ""),
        ("text", "last_contact", "2022"),
        ("skip", "companions", ""),
        ("pick", "relationship", "parent"),
        ("text", "requester_name", secrets["requester_name"]),
        ("text", "contact", secrets["contact"]),
        ("text", "country", secrets["country"]),
        ("skip", "reported_elsewhere", ""),
        ("agree", "consent", ""),
    ]


async def submit(h: Harness, family: int) -> str:
    await h.feed(U.text(family, "/new"))
    for kind, step, value in intake(SECRETS):
        if kind == "text":
            await h.feed(U.text(family, value))
        elif kind == "photo":
            await h.feed(U.photo(family, value))
            await h.feed(U.press(family, callback_for("skip", step, "")))
        else:
            await h.feed(U.press(family, callback_for(kind, step, value)))
    await h.feed(U.press(family, SUBMIT))
    async with h.engine.connect() as conn:
        code = await conn.scalar(select(TracingRequest.code))
    assert code is not None
    return code


async def everything_in_the_database(engine: AsyncEngine) -> str:
    """Every row of every table as text, as anyone with the database would see it."""
    parts = []
    async with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            if engine.dialect.name == "postgresql":
                query = f'SELECT t::text FROM "{table.name}" t'
            else:
                query = f'SELECT * FROM "{table.name}"'
            for row in (await conn.execute(text(query))).all():
                parts.append(" ".join(repr(v) for v in row))
    return "\n".join(parts)


def assert_no_marker(blob: str | bytes, where: str) -> None:
    haystack = blob.decode("utf-8", "replace") if isinstance(blob, bytes) else blob
    haystack = haystack.lower()
    found = [m for m in MARKERS if m.lower() in haystack]
    assert not found, f"{found} in clear in {where}"


@pytest.fixture
async def office(engine: AsyncEngine, i18n: CatalogI18n) -> AsyncIterator[Harness]:
    h = make_harness(engine, i18n, admin_ids=frozenset({ADMIN}))
    yield h
    await h.storage.close()


async def fill(office: Harness) -> str:
    """A submitted request with a photo, a note, a draft update, an index, and a second
    family in the middle of its intake."""
    code = await submit(office, FAMILY)
    await office.feed(U.text(ADMIN, f"/note {code} {NOTE}"))
    await office.feed(U.text(ADMIN, f"/update {code} {UPDATE}"))
    await office.feed(U.text(DRAFTING, "/new"))
    await office.feed(U.text(DRAFTING, STILL_TYPING))
    await tracing.match_everything_pending(UnitOfWork(office.engine))
    return code


async def test_nothing_personal_is_stored_in_clear_and_everything_still_works(
    office: Harness, db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    code = await fill(office)
    await office.storage.close()  # the conversation state is written

    assert_no_marker(await everything_in_the_database(office.engine), "the database")
    if db_url.startswith("sqlite"):
        await office.engine.dispose()  # the WAL stays: it is checked as it is
        database = Path(db_url.split("///", 1)[1])
        for path in database.parent.glob(database.name + "*"):
            assert_no_marker(path.read_bytes(), path.name)
    assert_no_marker(caplog.text, "the logs")

    # The bot reads it all back: the liaison's case card, search by name in any spelling.
    office.session.clear()
    await office.feed(U.text(ADMIN, f"/case {code}"))
    card = "\n".join(office.session.texts(ADMIN))
    assert SECRETS["sought_name"] in card and SECRETS["contact"] in card
    for query in ("Kvitkovska", "Квітковська Зоряна", "zoriana kvitkovskaya"):
        office.session.clear()
        await office.feed(U.text(ADMIN, f"/find {query}"))
        assert code in "\n".join(office.session.texts(ADMIN)), query
    # The half-typed answer of the second family is still there for it.
    state = await office.storage.get_data(
        StorageKey(bot_id=BOT_USER.id, chat_id=DRAFTING, user_id=DRAFTING)
    )
    assert STILL_TYPING in str(state)


async def test_conversation_state_in_redis_is_sealed(redis_url: str) -> None:
    from redis.asyncio import Redis

    from bot.app import build_storage

    settings = load_settings(
        bot_token="123456:" + "A" * 35,
        redis_url=redis_url,
        database_url="sqlite://",
        _env_file=None,
    )
    storage, _isolation = build_storage(settings, create_engine("sqlite+aiosqlite://"))
    key = StorageKey(bot_id=1, chat_id=DRAFTING, user_id=DRAFTING)
    await storage.set_data(key, {"draft": {"answers": {"sought_name": STILL_TYPING}}})
    assert (await storage.get_data(key))["draft"]["answers"]["sought_name"] == STILL_TYPING
    client = Redis.from_url(redis_url)
    try:
        names = await client.keys("*")
        assert names
        for name in names:
            if await client.type(name) == b"string":
                assert_no_marker(await client.get(name) or b"", f"redis {name!r}")
    finally:
        await client.aclose()
        await storage.close()


@pytest.fixture
def own_ring() -> Iterator[None]:
    """Tests that install their own key ring put the suite's back afterwards."""
    before = crypto._ring
    yield
    crypto._ring = before


async def test_a_rotation_reseals_everything_and_search_keeps_working(
    office: Harness, tmp_path: Path, own_ring: None
) -> None:
    key_file = tmp_path / "data.key"
    write_key_file(key_file, parse_keys(TEST_DATA_KEY))
    ring = crypto.install(KeyRing(read_key_file(key_file), source=key_file))
    old_id = ring.primary.id
    await verify_database_keys(office.engine, ring)
    code = await fill(office)

    report = await key_service.rotate(office.engine, ring, add_key=True, settle_seconds=0)

    assert report.new_key is not None and report.new_key != old_id
    assert report.resealed > 10 and report.reindexed >= 1 and report.retired == [old_id]
    assert [k.id for k in read_key_file(key_file)] == [report.new_key]
    assert (key_file.stat().st_mode & 0o777) == 0o600
    async with office.engine.connect() as conn:
        for sealed in sealed_columns():
            rows = (await conn.execute(select(sealed.table))).all()
            for row in rows:
                for value in row[1:]:
                    if value is None:
                        continue
                    found = (
                        ring.key_id_of(value)
                        if isinstance(value, str)
                        else ring.bytes_key_id(bytes(value))
                    )
                    assert found == report.new_key, (sealed.table.name, found)
        checks = dict(
            (await conn.execute(select(DataKeyCheck.key_id, DataKeyCheck.retired_at))).all()
        )
    assert checks[old_id] is not None and checks[report.new_key] is None

    # A process that only has the new key reads everything, and finds the person.
    crypto.install(KeyRing(read_key_file(key_file)))
    office.session.clear()
    await office.feed(U.text(ADMIN, "/find Kvitkovska"))
    assert code in "\n".join(office.session.texts(ADMIN))
    office.session.clear()
    await office.feed(U.text(ADMIN, f"/case {code}"))
    assert NOTE in "\n".join(office.session.texts(ADMIN))


async def test_search_finds_entries_of_both_keys_while_a_rotation_runs(
    office: Harness, tmp_path: Path, own_ring: None
) -> None:
    """Between the new key's arrival and the end of the re-indexing, some index entries
    are under the old key: a search reads both."""
    old = parse_keys(TEST_DATA_KEY)[0]
    code = await fill(office)  # indexed with the old key
    crypto.install(KeyRing([generate_key(), old]))  # the new key first, the old still read
    office.session.clear()
    await office.feed(U.text(ADMIN, "/find Kvitkovska"))
    assert code in "\n".join(office.session.texts(ADMIN))


async def test_a_wrong_key_is_refused_before_anything_is_read(
    engine: AsyncEngine, own_ring: None
) -> None:
    ring = crypto.installed()
    await verify_database_keys(engine, ring)
    stranger = KeyRing([generate_key()])
    with pytest.raises(DataKeyError, match="does not hold key"):
        await verify_database_keys(engine, stranger)
    # A ring that holds the id but a different secret cannot exist (the id is a hash);
    # a damaged check value is reported as a key that does not open the database.
    async with engine.begin() as conn:
        await conn.execute(
            DataKeyCheck.__table__.update().values(check=KeyRing([generate_key()]).seal("x"))
        )
    with pytest.raises(DataKeyError):
        await verify_database_keys(engine, ring)
    assert ring.open(ring.seal(CHECK_TEXT)) == CHECK_TEXT


def run_cli(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


@pytest.mark.slow
def test_the_sqlite_setup_makes_a_key_file_and_a_wrong_key_is_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DATA_KEY", "BOT_TOKEN")}
    env.update(DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/data/homeward.db", LOG_LEVEL="WARNING")
    env["PYTHONPATH"] = str(PROJECT_ROOT)
    first = run_cli("db", "upgrade", env=env, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    key_file = tmp_path / "data" / "homeward.key"
    assert key_file.exists() and (key_file.stat().st_mode & 0o777) == 0o600
    assert "Generated the data key" in first.stderr
    assert run_cli("db", "upgrade", env=env, cwd=tmp_path).stderr == ""  # kept, said once

    wrong = run_cli(
        "db", "upgrade", env={**env, "DATA_KEY": generate_key().encoded()}, cwd=tmp_path
    )
    assert wrong.returncode == 2
    assert wrong.stderr.strip().count("\n") == 0 and "Traceback" not in wrong.stderr
    assert "data key error: DATA_KEY does not hold key" in wrong.stderr
    missing = run_cli("db", "upgrade", env={**env, "DATA_KEY": "/nowhere/data.key"}, cwd=tmp_path)
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    malformed = run_cli("db", "upgrade", env={**env, "DATA_KEY": "not a key"}, cwd=tmp_path)
    assert malformed.returncode == 2 and "Traceback" not in malformed.stderr

    pg_env = {**env, "DATABASE_URL": "postgresql+asyncpg://postgres@127.0.0.1:1/none"}
    no_key = run_cli("db", "upgrade", env=pg_env, cwd=tmp_path)
    assert no_key.returncode == 2 and "DATA_KEY is not set" in no_key.stderr


async def table_contents(engine: AsyncEngine) -> dict[str, list[tuple[object, ...]]]:
    contents = {}
    async with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            rows = (await conn.execute(select(table).order_by(*table.primary_key.columns))).all()
            contents[table.name] = [tuple(row) for row in rows]
    return contents


async def test_a_backup_is_sealed_and_restores_exactly(
    office: Harness, db_url: str, tmp_path: Path
) -> None:
    await fill(office)
    await office.storage.close()
    before = await table_contents(office.engine)
    assert before["tracing_requests"] and before["case_notes"] and before["fsm_records"]
    ring = crypto.installed()
    target = tmp_path / "backup.hwb"

    info = await asyncio.to_thread(backup, db_url, ring, target)
    assert info.size > 0 and info.key_id == ring.primary.id
    assert_no_marker(target.read_bytes(), "the backup")
    assert b"SQLite format" not in target.read_bytes() and b"PGDMP" not in target.read_bytes()

    if db_url.startswith("sqlite"):
        restored_url = f"sqlite+aiosqlite:///{tmp_path}/restored.db"
    else:
        restored_url = PG_URL + "_restored"
        await (await fresh_postgres(restored_url)).dispose()
        async with create_engine(restored_url).begin() as conn:  # empty: no schema at all
            await conn.execute(text("DROP SCHEMA public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
    with pytest.raises(BackupError, match="DATA_KEY does not hold"):
        restore(restored_url, KeyRing([generate_key()]), target)
    await asyncio.to_thread(restore, restored_url, ring, target)
    restored = create_engine(restored_url)
    try:
        await upgrade_database(restored)  # already at the head: nothing to do
        assert await table_contents(restored) == before
    finally:
        await restored.dispose()
    with pytest.raises(BackupError, match=r"not empty|exists"):
        restore(restored_url, ring, target)

    damaged = tmp_path / "damaged.hwb"
    data = bytearray(target.read_bytes())
    data[-40] ^= 1
    damaged.write_bytes(bytes(data))
    with pytest.raises(BackupError, match="damaged"):
        restore(f"sqlite+aiosqlite:///{tmp_path}/other.db", ring, damaged) if db_url.startswith(
            "sqlite"
        ) else restore(restored_url, ring, damaged, force=True)
    cut = tmp_path / "cut.hwb"
    cut.write_bytes(target.read_bytes()[: len(data) // 2])
    with pytest.raises(BackupError, match=r"cut off|damaged"):
        restore(f"sqlite+aiosqlite:///{tmp_path}/cut.db", ring, cut) if db_url.startswith(
            "sqlite"
        ) else restore(restored_url, ring, cut, force=True)


def test_keys_are_parsed_strictly() -> None:
    key = generate_key()
    assert parse_keys(f"# comment, with a comma\n{key.encoded()}  # current\n")[0].id == key.id
    urlsafe = base64.urlsafe_b64encode(key.master).decode().rstrip("=")
    assert parse_keys(urlsafe)[0].id == key.id
    with pytest.raises(DataKeyError):
        parse_keys(base64.b64encode(b"short").decode())
    with pytest.raises(DataKeyError):
        parse_keys("# only a comment")
    ring = KeyRing([key])
    sealed = ring.seal("Зоряна")
    assert sealed.startswith("hw1:" + key.id) and ring.seal("Зоряна") != sealed  # fresh nonce
    assert ring.open(sealed) == "Зоряна"
    assert ring.open_bytes(ring.seal_bytes(b"\x00photo")) == b"\x00photo"
    tampered = sealed[:-2] + ("A" if sealed[-2] != "A" else "B") + sealed[-1]
    with pytest.raises(DataKeyError):
        ring.open(tampered)
    assert (
        ring.blind("kvitkovska")
        == ring.blind("kvitkovska")
        != KeyRing([generate_key()]).blind("kvitkovska")
    )


def test_a_running_process_takes_up_a_rotated_key_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What `keys rotate` relies on: a bot that is running seals with the new key within
    RELOAD_SECONDS of the file changing, and still opens what the old key sealed."""
    key_file = tmp_path / "data.key"
    old = generate_key()
    write_key_file(key_file, [old])
    ring = KeyRing(read_key_file(key_file), source=key_file)
    before = ring.seal("Зоряна")
    new = generate_key()
    write_key_file(key_file, [new, old])
    os.utime(key_file, (1, 1))  # a different mtime, however fast the file was rewritten
    clock = [1000.0]
    monkeypatch.setattr(crypto.time, "monotonic", lambda: clock[0])
    ring._checked_at = clock[0]
    assert ring.key_id_of(ring.seal("x")) == old.id  # not checked again yet
    clock[0] += crypto.RELOAD_SECONDS
    assert ring.key_id_of(ring.seal("x")) == new.id
    assert ring.open(before) == "Зоряна"
