"""Liaison handling time with a large database: /queue (pages and filters) and /case.

    python -m bench.queue [--requests 100000] [--samples 300] [--backend sqlite|postgres|both]
                          [--eager-types]

Fills a database with N tracing requests (a fifth of them waiting in the queue, with
status history, family follow-ups and drafts). Then a fresh process, started and
assembled as the bot is (`create_app` with the production settings), feeds /queue, queue
page turns, status filters and /case through its dispatcher with a recording bot, and
prints p50/p95/p99 per command, and its memory from /proc/self/status: RSS after
start-up, and RSS (VmRSS) and peak (VmHWM) after serving the commands. Filling happens in
this process, so its rows never count in those figures. PostgreSQL uses
BENCH_DATABASE_URL (default: the local server, database homeward_bench, created when
missing). --eager-types: the serving process imports aiogram first, which builds every
type's validator at import (aiogram's default, before bot/__init__.py): for comparison.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from bench.memory import read_status
from bot.texts.callbacks import QueueCb
from tests import updates as U
from tests.recording import RecordingSession, make_bot

ADMIN = 1
STATUSES = ["submitted", "in_review", "needs_information", "in_tracing", "located", "closed"]
PG_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/homeward_bench"
)


async def fill(engine: AsyncEngine, count: int) -> list[str]:
    # Only the filling process needs these: the serving process imports what the bot does.
    from sqlalchemy import insert, text

    from bot.domain.reference import new_reference_code
    from storage.models import Draft, FollowUp, StatusChange, TracingRequest, User
    from tests.families import request_row

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


async def serve(database_url: str, codes: list[str], samples: int) -> None:
    """The commands, in a process assembled like the bot: its memory is the bot's."""
    from bot.app import create_app
    from bot.config import load_settings
    from tests.emulator import DEFAULT_TOKEN

    settings = load_settings(
        bot_token=DEFAULT_TOKEN, database_url=database_url, admin_ids=str(ADMIN), _env_file=None
    )
    app = await create_app(settings)
    bot = make_bot(RecordingSession(keep=False))
    started = read_status()
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
            await app.dispatcher.feed_update(bot, make())
        timings = []
        for _ in range(samples):
            update = make()
            begin = time.perf_counter()
            await app.dispatcher.feed_update(bot, update)
            timings.append(time.perf_counter() - begin)
        print(summary(name, timings))
    served = read_status()
    print(
        f"  memory of that process: RSS {started['VmRSS']:.1f} MB after start-up; after the "
        f"commands RSS {served['VmRSS']:.1f} MB, peak {served['VmHWM']:.1f} MB",
        flush=True,
    )
    await app.close()


def _serve_process(database_url: str, codes: list[str], samples: int) -> None:
    asyncio.run(serve(database_url, codes, samples))


async def empty_database(backend: str, name: str) -> tuple[str, AsyncEngine]:
    """A new, migrated database: PostgreSQL at PG_URL, or SQLite in a temporary folder."""
    from storage.db import create_engine
    from storage.migrate import upgrade_database

    if backend == "postgres":
        from tests.conftest import fresh_postgres

        url = PG_URL
        engine = await fresh_postgres(url)
    else:
        url = f"sqlite+aiosqlite:///{Path(tempfile.mkdtemp())}/{name}.db"
        engine = create_engine(url)
    await upgrade_database(engine)
    return url, engine


async def run_backend(backend: str, count: int, samples: int) -> None:
    url, engine = await empty_database(backend, "queue")
    started = time.perf_counter()
    codes = await fill(engine, count)
    await engine.dispose()
    print(f"{backend}: {count} requests written in {time.perf_counter() - started:.1f} s")
    # Only the codes /case will ask for: 100,000 strings would weigh on the figures.
    asked = random.Random(5).sample(codes, min(len(codes), samples + 10))
    process = multiprocessing.get_context("spawn").Process(
        target=_serve_process, args=(url, asked, samples)
    )
    process.start()
    await asyncio.to_thread(process.join)
    if process.exitcode:
        raise RuntimeError(f"the serving process failed ({process.exitcode})")


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
    parser.add_argument("--eager-types", action="store_true")
    args = parser.parse_args()
    if args.eager_types:
        os.environ["BENCH_EAGER_TYPES"] = "1"  # read by bench/__init__.py in the serving process
    chosen = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    asyncio.run(main(args.requests, args.samples, chosen))
