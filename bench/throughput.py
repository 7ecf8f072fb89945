"""Update throughput: Homeward vs a bare aiogram echo bot vs the common template pattern.

    python -m bench.throughput [--families 150] [--concurrency 8] [--rounds 3] [--steps]
                               [--profile submit|mix] [--top 25]

Every bot gets the same number of updates, fed through aiogram's dispatcher with a
recording bot session (no network), with the same concurrency: many families at
once, each family's updates in order, as Telegram delivers them.
- bare: an echo handler, aiogram's in-memory FSM; the ceiling.
- common: an echo handler behind the usual template middleware: open a SQLAlchemy
  session, load or create the user's row, commit once per update (SQLite, WAL).
- homeward: the production dispatcher on SQLite, with the FSM state persisted in the
  database as in production, fed a realistic family mix: /start, /new, every intake
  question (typed answers and button presses), submit, /status.

--steps prints the homeward handling time per step of the script (from the best round).
--profile submit|mix: where the time goes, after the measured rounds, on a fresh database:
every family is brought to the summary, then the submit presses (or, with `mix`, the whole
family script) are fed under cProfile, with the same concurrency. Both threads that do the
work are profiled, the event loop's and the SQLite thread's (storage.db.SQLiteThread),
in CPU time (time.thread_time): waiting is not counted, the CPU the throughput is made of
is. It prints the CPU per submit on each thread next to the wall time per submit (one
over the rate), each thread's own CPU by package (aiogram, pydantic, sqlalchemy,
Homeward's layers, the harness...), and the top functions by own and by cumulative time;
profiling slows everything down about threefold, evenly enough to rank.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from aiogram import BaseMiddleware, Dispatcher
from aiogram.fsm.storage.memory import SimpleEventIsolation
from aiogram.types import Message, TelegramObject, Update
from sqlalchemy import BigInteger, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from bot.app import build_dispatcher
from bot.i18n import build_i18n
from storage import crypto
from storage.db import create_engine, create_sessionmaker, sqlite_thread
from storage.fsm import SQLAlchemyStorage
from storage.migrate import upgrade_database
from tests import updates as U
from tests.flows import FULL_INTAKE, SUBMIT, callback_for
from tests.recording import RecordingSession, make_bot

LANGS = ("uk", "ru", "en")


def family_script(user_id: int) -> list[Update]:
    lang = LANGS[user_id % 3]
    script = [U.text(user_id, "/start", lang), U.text(user_id, "/new", lang)]
    for kind, step, value in FULL_INTAKE:
        if kind == "text":
            script.append(U.text(user_id, value, lang))
        else:
            script.append(U.press(user_id, callback_for(kind, step, value), lang))
    script.append(U.press(user_id, SUBMIT, lang))
    script.append(U.text(user_id, "/status", lang))
    return script


def step_labels() -> list[str]:
    """What each update of `family_script` is."""
    return [
        "/start",
        "/new",
        *(f"{kind} {step}" for kind, step, _ in FULL_INTAKE),
        "submit",
        "/status",
    ]


def echo_script(user_id: int, length: int) -> list[Update]:
    return [U.text(user_id, f"hello {i}") for i in range(length)]


async def drive(
    dispatcher: Dispatcher,
    scripts: Sequence[list[Update]],
    concurrency: int,
    steps: list[list[float]] | None = None,
) -> tuple[float, list[float], int]:
    """Feed each script in order, `concurrency` scripts at a time; returns seconds, latencies.
    With `steps`, each latency is also added to the list of its position in the script."""
    bot = make_bot(RecordingSession(keep=False))
    latencies: list[float] = []
    queue: asyncio.Queue[list[Update]] = asyncio.Queue()
    for script in scripts:
        queue.put_nowait(script)

    async def worker() -> None:
        while not queue.empty():
            script = queue.get_nowait()
            for position, update in enumerate(script):
                started = time.perf_counter()
                await dispatcher.feed_update(bot, update)
                elapsed = time.perf_counter() - started
                latencies.append(elapsed)
                if steps is not None:
                    steps[position].append(elapsed)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started, latencies, sum(len(s) for s in scripts)


# --- the three bots -----------------------------------------------------------------
def bare_dispatcher() -> Dispatcher:
    dispatcher = Dispatcher()

    @dispatcher.message()
    async def echo(message: Message) -> None:
        await message.answer(message.text or "")

    return dispatcher


class TemplateBase(DeclarativeBase):
    pass


class TemplateUser(TemplateBase):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    first_name: Mapped[str] = mapped_column(String(100))
    language: Mapped[str | None] = mapped_column(String(8))


async def common_dispatcher(url: str) -> tuple[Dispatcher, Any]:
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(TemplateBase.metadata.create_all)
    sessionmaker = create_sessionmaker(engine)

    class DbSessionMiddleware(BaseMiddleware):
        async def __call__(
            self,
            handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
            event: TelegramObject,
            data: dict[str, Any],
        ) -> Any:
            async with sessionmaker() as session:
                tg_user = data["event_from_user"]
                user = await session.get(TemplateUser, tg_user.id)
                if user is None:
                    user = TemplateUser(
                        id=tg_user.id, first_name=tg_user.first_name, language=tg_user.language_code
                    )
                    session.add(user)
                data["session"] = session
                data["user"] = user
                result = await handler(event, data)
                await session.commit()
                return result

    dispatcher = Dispatcher()
    dispatcher.update.outer_middleware(DbSessionMiddleware())

    @dispatcher.message()
    async def echo(message: Message, user: TemplateUser) -> None:
        await message.answer(message.text or "")

    return dispatcher, engine


async def homeward_dispatcher(url: str) -> tuple[Dispatcher, Any, SQLAlchemyStorage]:
    engine = create_engine(url)
    await upgrade_database(engine)
    storage = SQLAlchemyStorage(engine)
    dispatcher = build_dispatcher(engine, storage, SimpleEventIsolation(), build_i18n("en"))
    return dispatcher, engine, storage


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def one_round(
    workdir: Path,
    round_no: int,
    scripts: list[list[Update]],
    echo_scripts: list[list[Update]],
    concurrency: int,
) -> tuple[float, float, float, list[float], list[list[float]], float]:
    """Seconds for bare, common, homeward and homeward in clear on the same updates."""
    bare_s, _, _ = await drive(bare_dispatcher(), echo_scripts, concurrency)
    common, common_engine = await common_dispatcher(
        f"sqlite+aiosqlite:///{workdir}/common{round_no}.db"
    )
    common_s, _, _ = await drive(common, echo_scripts, concurrency)
    await common_engine.dispose()
    ours, engine, storage = await homeward_dispatcher(
        f"sqlite+aiosqlite:///{workdir}/homeward{round_no}.db"
    )
    steps: list[list[float]] = [[] for _ in scripts[0]]
    ours_s, latencies, _ = await drive(ours, scripts, concurrency, steps)
    await storage.close()
    await engine.dispose()
    # The same bot with its personal fields kept in clear: what encryption at rest costs.
    sealing = crypto.installed()
    crypto.install(ClearRing())
    try:
        clear, clear_engine, clear_storage = await homeward_dispatcher(
            f"sqlite+aiosqlite:///{workdir}/clear{round_no}.db"
        )
        clear_s, _, _ = await drive(clear, scripts, concurrency)  # its own database
        await clear_storage.close()
        await clear_engine.dispose()
    finally:
        crypto.install(sealing)
    return bare_s, common_s, ours_s, latencies, steps, clear_s


class ClearRing(crypto.KeyRing):
    """For the comparison only: seals nothing, hashes nothing."""

    def __init__(self) -> None:
        super().__init__([crypto.generate_key()])

    def seal(self, text: str) -> str:
        return text

    def open(self, token: str) -> str:
        return token

    def seal_bytes(self, data: bytes) -> bytes:
        return data

    def open_bytes(self, blob: bytes) -> bytes:
        return blob

    def blind(self, value: str, key: crypto.DataKey | None = None) -> str:
        return value

    def blinds(self, value: str) -> list[str]:
        return [value]


def print_steps(steps: list[list[float]]) -> None:
    print("homeward handling time per step (ms):")
    for label, values in zip(step_labels(), steps, strict=True):
        print(
            f"  {label:<28} p50 {percentile(values, 0.5) * 1000:6.2f}  "
            f"p99 {percentile(values, 0.99) * 1000:6.2f}  mean {statistics.fmean(values) * 1000:6.2f}"
        )


_ROOT = Path(__file__).resolve().parent.parent


def _package(filename: str, function: str) -> str:
    """Who a profiled function belongs to: a library, Homeward's layer, the harness."""
    if filename == "~":  # a C function: named by its type where it tells the library
        for library in ("pydantic_core", "sqlite3", "select", "_socket"):
            if library in function:
                return {"pydantic_core": "pydantic", "select": "asyncio", "_socket": "asyncio"}.get(
                    library, library
                )
        return "builtins"
    if "site-packages/" in filename:
        return filename.split("site-packages/", 1)[1].split("/", 1)[0].removesuffix(".py")
    path = Path(filename)
    if path.is_relative_to(_ROOT):
        top = path.relative_to(_ROOT).parts[0]
        return "harness" if top in ("tests", "bench") else f"homeward {top}"
    return "asyncio" if "asyncio" in path.parts else "stdlib"


def by_package(stats: pstats.Stats) -> list[tuple[str, float]]:
    """Own CPU time per package, as shares of the total, largest first."""
    totals: dict[str, float] = {}
    for (filename, _line, function), (_cc, _nc, own, _cum, _callers) in stats.stats.items():
        package = _package(filename, function)
        totals[package] = totals.get(package, 0.0) + own
    whole = sum(totals.values()) or 1.0
    return sorted(((p, t / whole) for p, t in totals.items()), key=lambda item: -item[1])


async def profile(workdir: Path, what: str, families: int, concurrency: int, top: int) -> None:
    """cProfile, in CPU time, of the event loop's thread and of the SQLite thread."""
    ours, engine, storage = await homeward_dispatcher(f"sqlite+aiosqlite:///{workdir}/profile.db")
    thread = sqlite_thread(engine)
    assert thread is not None
    scripts = [family_script(50_000_000 + i) for i in range(families)]
    submit = step_labels().index("submit")
    if what == "submit":
        await drive(ours, [script[:submit] for script in scripts], concurrency)
        scripts = [script[submit : submit + 1] for script in scripts]
    on_loop = cProfile.Profile(time.thread_time)
    on_thread = cProfile.Profile(time.thread_time)
    await thread.call(on_thread.enable)  # the executor has one thread: it stays enabled there
    on_loop.enable()
    seconds, _, count = await drive(ours, scripts, concurrency)
    on_loop.disable()
    await thread.call(on_thread.disable)
    await storage.close()
    await engine.dispose()

    unit = "submit" if what == "submit" else "update"
    loop_stats, thread_stats = pstats.Stats(on_loop), pstats.Stats(on_thread)
    loop_cpu = loop_stats.total_tt / count * 1000
    thread_cpu = thread_stats.total_tt / count * 1000
    print(
        f"\nprofile of {count} {unit}s ({what}), {concurrency} at a time, under cProfile: "
        f"{count / seconds:.0f}/s; CPU per {unit}: event loop {loop_cpu:.2f} ms, "
        f"SQLite thread {thread_cpu:.2f} ms; wall time per {unit} {seconds / count * 1000:.2f} ms"
    )
    for name, stats in (("event loop", loop_stats), ("SQLite thread", thread_stats)):
        shares = by_package(stats)
        print(
            f"{name}, own CPU by package: "
            + ", ".join(f"{package} {share:.0%}" for package, share in shares if share >= 0.01)
        )
    for name, stats in (("event loop", loop_stats), ("SQLite thread", thread_stats)):
        for order in ("tottime", "cumulative"):
            print(f"\n--- {name}: top {top} by {order} ---")
            stats.sort_stats(order).print_stats(top)


async def main(
    families: int,
    concurrency: int,
    rounds: int,
    show_steps: bool = False,
    profile_what: str | None = None,
    top: int = 25,
) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="homeward-bench-"))
    per_user = len(family_script(1))
    total = families * per_user
    print(
        f"{families} families x {per_user} updates = {total} updates per bot, "
        f"{concurrency} families at a time, best of {rounds} interleaved rounds"
    )

    # Warm-up (imports, catalogs, first connections) outside the measured runs.
    warm, warm_engine, warm_storage = await homeward_dispatcher(
        f"sqlite+aiosqlite:///{workdir}/warm.db"
    )
    await drive(warm, [family_script(1)], 1)
    await warm_storage.close()
    await warm_engine.dispose()

    results = []
    for round_no in range(rounds):
        # Fresh users every round: each round starts from first contact, as a real day would.
        base = 1_000_000 * (round_no + 1)
        scripts = [family_script(base + i) for i in range(families)]
        echo_scripts = [echo_script(base + 500_000 + i, per_user) for i in range(families)]
        results.append(await one_round(workdir, round_no, scripts, echo_scripts, concurrency))

    # Noise on a shared machine only ever slows a run down: report each bot's best.
    bare_rate = total / min(r[0] for r in results)
    common_rate = total / min(r[1] for r in results)
    best = min(results, key=lambda r: r[2])
    ours_rate = total / best[2]
    latencies = best[3]
    print(f"bare aiogram echo      {bare_rate:8.0f} updates/s")
    print(
        f"common template echo   {common_rate:8.0f} updates/s  "
        f"({common_rate / bare_rate:.0%} of bare)"
    )
    print(
        f"homeward family mix    {ours_rate:8.0f} updates/s  "
        f"({ours_rate / bare_rate:.0%} of bare, {ours_rate / common_rate:.1f}x common)"
    )
    clear_rate = total / min(r[5] for r in results)
    print(
        f"homeward, fields in clear {clear_rate:5.0f} updates/s  "
        f"(encryption at rest costs {1 - ours_rate / clear_rate:.0%})"
    )
    print(
        f"homeward handling time p50 {percentile(latencies, 0.5) * 1000:.2f} ms, "
        f"p99 {percentile(latencies, 0.99) * 1000:.2f} ms, "
        f"mean {statistics.fmean(latencies) * 1000:.2f} ms"
    )
    if show_steps:
        print_steps(best[4])
    if profile_what:
        await profile(workdir, profile_what, families, concurrency, top)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--families", type=int, default=150)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", action="store_true", help="handling time per script step")
    parser.add_argument("--profile", choices=["submit", "mix"], default=None)
    parser.add_argument("--top", type=int, default=25, help="functions listed per profile")
    args = parser.parse_args()
    asyncio.run(
        main(args.families, args.concurrency, args.rounds, args.steps, args.profile, args.top)
    )
