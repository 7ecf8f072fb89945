"""Search and matching with a large database: /find, and matching one new request.

    python -m bench.search [--requests 100000] [--samples 300] [--backend sqlite|postgres|both]

Fills a database with N tracing requests of realistic Ukrainian and Russian children
(bench/names.py: names in both languages, Latin spellings, diminutives, typos, names in any
order, dates or years or ages, home towns in three spellings), indexed as the matcher
indexes them. Then, through the bot's dispatcher with a recording bot:

- `/find` with a liaison's query for one of them, written another way (another language
  or alphabet, a diminutive, a typo, sometimes only the surname and birth year); it prints
  p50/p95/p99 and how often the person sought was on the first page (5 results);
- matching one new request (another family's description of one of them) against all N:
  p50/p95/p99 of the matcher's transaction, and how often the person was among its
  possible matches.

PostgreSQL uses BENCH_DATABASE_URL (default: the local server, database homeward_bench).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from datetime import UTC, date, datetime

from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.names import Identity, Style, random_identity, random_style, render
from bench.queue import empty_database, summary
from bot.tracing.matching import PersonFacts
from tests import updates as U
from tests.families import code_for as _code
from tests.recording import RecordingSession, make_bot

ADMIN = 1


def request_values(facts: PersonFacts, rnd: random.Random) -> dict[str, object]:
    """A request's columns for a person as a family described them."""
    if facts.birth_date is not None:
        kind, shown, estimate = "date", facts.birth_date.strftime("%d.%m.%Y"), facts.birth_date
    elif facts.birth_year is not None:
        kind = "age" if facts.birth_year_approx else "year"
        shown, estimate = str(facts.birth_year), date(facts.birth_year, 7, 1)
    else:  # the family could only guess
        kind, shown, estimate = "age", "10", date(2014, 7, 1)
    places = list(facts.places) or ["—"]
    return {
        "sought_name": facts.name,
        "sought_aliases": facts.aliases,
        "sought_sex": facts.sex or rnd.choice(["female", "male"]),
        "birth_kind": kind,
        "birth_text": shown,
        "birth_estimate": estimate,
        "birth_place": places[0],
        "separation_place": places[1] if len(places) > 1 else places[0],
        "last_location": places[2] if len(places) > 2 else None,
    }


async def fill(engine: AsyncEngine, count: int) -> list[Identity]:
    from bot.services.tracing import _keys_of, request_facts
    from storage.crypto import installed
    from storage.models import NameKey, TracingRequest, User
    from tests.families import request_row

    ring = installed()  # the index holds keyed hashes of the keys (storage.crypto)

    rnd = random.Random(11)
    now = datetime.now(UTC)
    identities = [random_identity(rnd) for _ in range(count)]
    families = [{"id": 10_000 + i, "locale": "uk", "created_at": now} for i in range(count)]
    async with engine.begin() as conn:
        for start in range(0, count, 5000):
            await conn.execute(insert(User), families[start : start + 5000])
        rows, keys = [], []
        for i, identity in enumerate(identities, start=1):
            values = request_values(render(identity, random_style(rnd)), rnd)
            row = request_row(
                _code(i),
                10_000 + i - 1,
                rnd.choice(["submitted", "in_review", "in_tracing", "in_tracing"]),
                now,
                id=i,
                match_pending=False,
                **values,
            )
            rows.append(row)
            facts = request_facts(TracingRequest(**row))
            year = facts.birth_date.year if facts.birth_date else facts.birth_year
            keys.extend(
                {"key": ring.blind(k), "birth_year": year or 0, "owner_kind": "q", "owner_id": i}
                for k in _keys_of(facts)
            )
            if len(rows) == 5000:
                await conn.execute(insert(TracingRequest), rows)
                rows = []
        if rows:
            await conn.execute(insert(TracingRequest), rows)
        for start in range(0, len(keys), 20000):
            await conn.execute(insert(NameKey), keys[start : start + 20000])
        if engine.dialect.name == "postgresql":
            await conn.execute(
                text(
                    "SELECT setval('tracing_requests_id_seq', (SELECT max(id) FROM tracing_requests))"
                )
            )
    if engine.dialect.name == "postgresql":
        # As autovacuum would soon: the visibility map lets the index be read alone.
        async with engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text("VACUUM ANALYZE"))
    print(f"  name index: {len(keys)} keys, {len(keys) / count:.1f} a request")
    return identities


def liaison_query(identity: Identity, rnd: random.Random) -> str:
    """What a liaison types: another form of the name, sometimes the surname and a year."""
    style = random_style(rnd)
    written = render(identity, Style(**{**style.__dict__, "birth": "none"}))
    if rnd.random() < 0.25:
        surname = written.name.split()[0 if style.order == "sgp" else -1]
        return f"{surname} {identity.birth.year}"
    return written.name


async def measure(url: str, identities: list[Identity], samples: int) -> None:
    from bot.app import create_app
    from bot.config import load_settings
    from bot.services import tracing
    from bot.services.uow import UnitOfWork
    from storage.models import PossibleMatch, TracingRequest
    from tests.emulator import DEFAULT_TOKEN
    from tests.families import request_row

    settings = load_settings(
        bot_token=DEFAULT_TOKEN, database_url=url, admin_ids=str(ADMIN), _env_file=None
    )
    app = await create_app(settings)
    session = RecordingSession()
    bot = make_bot(session)
    rnd = random.Random(5)
    uow = UnitOfWork(app.engine)
    timings, found, listed, namesakes = [], 0, 0, []
    for round_ in range(samples + 10):
        number = rnd.randrange(len(identities))
        query = liaison_query(identities[number], rnd)
        session.clear()
        begin = time.perf_counter()
        await app.dispatcher.feed_update(bot, U.text(ADMIN, f"/find {query}"))
        elapsed = time.perf_counter() - begin
        if round_ >= 10:  # the first ones warm caches and connections
            timings.append(elapsed)
            found += _code(number + 1) in (session.texts(ADMIN) or [""])[-1]
            hits = await uow.run(
                lambda tx, q=query: tracing.search(tx, tracing.parse_query(q), date.today())
            )
            codes = [hit.code for hit in hits]
            if _code(number + 1) in codes:
                listed += 1
                namesakes.append(codes.index(_code(number + 1)))
    print(summary("/find", timings))
    print(
        f"  the person sought on the first page: {found}/{samples} ({found / samples:.0%}); "
        f"among the results: {listed}/{samples} ({listed / samples:.0%}), "
        f"median place {sorted(namesakes)[len(namesakes) // 2] + 1 if namesakes else '-'}"
    )

    now = datetime.now(UTC)
    match_timings, matched = [], 0
    first_new = len(identities) + 1
    for n in range(samples):
        number = rnd.randrange(len(identities))
        family = _family_description(identities[number], rnd)
        row = request_row(
            _code(first_new + n),
            10_000 + number,
            "submitted",
            now,
            id=first_new + n,
            match_pending=True,
            **request_values(family, rnd),
        )
        async with app.engine.begin() as conn:
            await conn.execute(insert(TracingRequest), [row])
        begin = time.perf_counter()
        run = await tracing.match_pending(uow, batch=1)
        match_timings.append(time.perf_counter() - begin)
        assert run.processed == 1
        async with app.engine.connect() as conn:
            pairs = (
                await conn.execute(
                    select(PossibleMatch.request_id, PossibleMatch.other_id).where(
                        PossibleMatch.other_id == first_new + n
                    )
                )
            ).all()
        matched += any(a == number + 1 for a, _ in pairs)
    print(summary("match a new request", match_timings))
    print(f"  the person among its possible matches: {matched}/{samples} ({matched / samples:.0%})")
    await app.close()


def _family_description(identity: Identity, rnd: random.Random) -> PersonFacts:
    """How another family (or the same one again) describes the person."""
    style = random_style(rnd)
    return render(identity, Style(**{**style.__dict__, "script": "cyr", "places": "home"}))


async def run_backend(backend: str, count: int, samples: int) -> None:
    url, engine = await empty_database(backend, "search")
    started = time.perf_counter()
    identities = await fill(engine, count)
    await engine.dispose()
    print(f"{backend}: {count} requests written in {time.perf_counter() - started:.1f} s")
    await measure(url, identities, samples)


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
