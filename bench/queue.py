"""Liaison handling time with a large database: /queue (pages and filters) and /case.

    python -m bench.queue [--requests 100000] [--samples 300] [--backend sqlite|postgres|both]

Fills a database with N tracing requests (a fifth of them waiting in the queue, with
status history, family follow-ups and drafts), then feeds /queue, queue page turns,
status filters and /case through the production dispatcher with a recording bot, and
prints p50/p95/p99 per command. PostgreSQL uses BENCH_DATABASE_URL (default: the local
server, database homeward_bench, created when missing).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiogram.fsm.storage.memory import SimpleEventIsolation
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import build_dispatcher
from bot.domain.reference import new_reference_code
from bot.i18n import build_i18n
from bot.texts.callbacks import QueueCb
from storage.db import create_engine
from storage.fsm import SQLAlchemyStorage
from storage.migrate import upgrade_database
from storage.models import Draft, FollowUp, StatusChange, TracingRequest, User
from tests import updates as U
from tests.conftest import fresh_postgres
from tests.families import request_row
from tests.recording import RecordingSession, make_bot

ADMIN = 1
STATUSES = ["submitted", "in_review", "needs_information", "in_tracing", "located", "closed"]
PG_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/homeward_bench"
)


async def fill(engine: AsyncEngine, count: int) -> list[str]:
    rng = random.Random(7)
    now = datetime.now(UTC)
    codes: set[str] = set()
    while len(codes) < count:
        codes.add(new_reference_code())
    code_list = sorted(codes)
    families = [
        {"id": 10_000 + i, "locale": "uk", "created_at": now, "updated_at": now}
        for i in range(count // 2)
    ]
    requests, history, followups, drafts = [], [], [], []
    for i, code in enumerate(code_list, start=1):
        status = rng.choice(STATUSES)
        created = now - timedelta(minutes=rng.randint(1, 60 * 24 * 400))
        waiting = status == "submitted" or rng.random() < 0.05
        requests.append(
            request_row(
                code,
                10_000 + (i % (count // 2)),
                status,
                created,
                id=i,
                sought_name=f"Person {i}",
                health_needs="needs" if rng.random() < 0.1 else None,
                now_adult=rng.random() < 0.1,
                priority=rng.choice((1, 2, 3, 3, 3)),
                attention_since=created if waiting else None,
            )
        )
        history.append(
            {
                "request_id": i,
                "from_status": None,
                "to_status": "submitted",
                "actor_id": None,
                "created_at": created,
            }
        )
        if status != "submitted":
            history.append(
                {
                    "request_id": i,
                    "from_status": "submitted",
                    "to_status": status,
                    "actor_id": ADMIN,
                    "created_at": created,
                }
            )
        if rng.random() < 0.05:
            followups.append(
                {
                    "request_id": i,
                    "author_id": 10_000,
                    "text": "More information",
                    "created_at": created,
                    "seen_at": None,
                }
            )
        if rng.random() < 0.01:
            drafts.append(
                {
                    "request_id": i,
                    "author_id": ADMIN,
                    "kind": "update",
                    "text": "Draft",
                    "state": "pending",
                    "created_at": created,
                }
            )
    async with engine.begin() as conn:
        for table, rows in (
            (User, families),
            (TracingRequest, requests),
            (StatusChange, history),
            (FollowUp, followups),
            (Draft, drafts),
        ):
            for start in range(0, len(rows), 5000):
                await conn.execute(insert(table), rows[start : start + 5000])
        if engine.dialect.name == "postgresql":
            await conn.execute(
                text(
                    "SELECT setval('tracing_requests_id_seq', (SELECT max(id) FROM tracing_requests))"
                )
            )
            await conn.execute(text("ANALYZE"))
    return code_list


def summary(name: str, samples: list[float]) -> str:
    ordered = sorted(samples)

    def q(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000

    return f"  {name:<22} p50 {q(0.5):6.2f} ms  p95 {q(0.95):6.2f} ms  p99 {q(0.99):6.2f} ms  mean {statistics.fmean(ordered) * 1000:6.2f} ms"


async def run_backend(backend: str, count: int, samples: int) -> None:
    if backend == "postgres":
        engine = await fresh_postgres(PG_URL)
    else:
        engine = create_engine(f"sqlite+aiosqlite:///{Path(tempfile.mkdtemp())}/queue.db")
    await upgrade_database(engine)
    started = time.perf_counter()
    codes = await fill(engine, count)
    print(f"{backend}: {count} requests written in {time.perf_counter() - started:.1f} s")
    storage = SQLAlchemyStorage(engine)
    dispatcher = build_dispatcher(
        engine, storage, SimpleEventIsolation(), build_i18n("en"), admin_ids=frozenset({ADMIN})
    )
    bot = make_bot(RecordingSession(keep=False))
    rng = random.Random(3)
    kinds = {
        "/queue": lambda: U.text(ADMIN, "/queue"),
        "queue page turn": lambda: U.press(ADMIN, QueueCb(page=rng.randint(0, 50)).pack()),
        "queue by status": lambda: U.press(
            ADMIN, QueueCb(page=0, status=rng.choice(STATUSES[:3])).pack()
        ),
        "/case CODE": lambda: U.text(ADMIN, f"/case {rng.choice(codes)}"),
    }
    for name, make in kinds.items():
        for _ in range(10):  # warm caches and connections
            await dispatcher.feed_update(bot, make())
        timings = []
        for _ in range(samples):
            update = make()
            begin = time.perf_counter()
            await dispatcher.feed_update(bot, update)
            timings.append(time.perf_counter() - begin)
        print(summary(name, timings))
    await storage.close()
    await engine.dispose()


async def main(count: int, samples: int, backends: list[str]) -> None:
    for backend in backends:
        await run_backend(backend, count, samples)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    args = parser.parse_args()
    chosen = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    asyncio.run(main(args.requests, args.samples, chosen))
