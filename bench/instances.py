"""Several instances: handled updates per second with 1, 2 and 3 bot instances, and a
general notice's sending rate over three instances as a share of the limit.

    python -m bench.instances [--families 60] [--notice 2000] [--rate 100]

Every instance is `python -m bot webhook`, a process of its own, on PostgreSQL (a fresh
database, TEST_DATABASE_URL's server) and Redis (TEST_REDIS_URL), behind a round-robin
balancer (tests/balancer.py, what nginx does), fed by the Bot API emulator in this process.

- **updates/s**: `--families` families fill in a whole request at once (each waits for the
  bot's answer before its next message, as a person does); the figure is the updates the
  instances answered 2xx, divided by the time from the first to the last. The emulator and
  the families run in this process and take their share of the machine's cores too; the
  cores busy meanwhile are printed beside (the bots, this process, the whole machine with
  PostgreSQL and Redis). These families answer within milliseconds, so CHAT_BURST is raised
  (see there), and BROADCAST_RATE is lifted to 1000: every answer is a message, and at
  `--rate` the answers, not the instances, would set the figure (printed last, for three).
- **notice rate**: three instances send one general notice to `--notice` families with the
  emulator's limits on (the global `--rate` and one message a second per chat, 429 beyond)
  and BROADCAST_RATE at the same value; the sustained rate is (messages - rate) / (last send
  - first send), since the limit lets the first second's messages go at once.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path

from bot.domain.review import ReviewMode
from bot.i18n import build_i18n
from bot.services import broadcasts as service
from bot.services.uow import UnitOfWork
from tests.balancer import WebhookInstances
from tests.emulator import TelegramEmulator
from tests.families import Family, seed_families
from tests.test_e2e import submit_full_request

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
PG_URL = PG_URL.rsplit("/", 1)[0] + "/homeward_bench_instances"
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/14")
ADMIN, REVIEWER = 900, 903
SECRET = "bench-instances"
LIFTED_RATE = 1000  # BROADCAST_RATE's highest value
# Each instance's warnings and errors, kept for a run that goes wrong.
LOG_DIR = Path(tempfile.mkdtemp(prefix="homeward-bench-instances-"))


async def fresh_database() -> None:
    from redis.asyncio import Redis

    from storage.migrate import upgrade_database
    from tests.conftest import fresh_postgres

    engine = await fresh_postgres(PG_URL)
    await upgrade_database(engine)
    await engine.dispose()
    client = Redis.from_url(REDIS_URL)
    await client.flushdb()
    await client.aclose()


def instances(
    emu: TelegramEmulator, count: int, rate: int, env: dict[str, str] | None = None
) -> WebhookInstances:
    return WebhookInstances(
        emu,
        count,
        database_url=PG_URL,
        redis_url=REDIS_URL,
        admin_ids=(ADMIN, REVIEWER),
        rate=rate,
        env=env,
        log_dir=LOG_DIR,
    )


def cpu_seconds(pid: int) -> float:
    """User and system CPU time a running process has used (Linux's /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy (every process: PostgreSQL and Redis
    too), from Linux's /proc/stat; 0 elsewhere."""
    try:
        fields = [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except OSError:
        return 0.0
    idle = fields[3] + fields[4]  # idle and iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


async def updates_per_second(
    count: int, families: int, rate: int
) -> tuple[float, float, float, float]:
    """(updates/s, and the cores busy: the instances, this process (the emulator and the
    families), the whole machine) while the families fill in their requests."""
    await fresh_database()
    emu = TelegramEmulator()
    await emu.start()
    i18n = build_i18n("en")
    users = [300_000 + i for i in range(families)]
    for user in (ADMIN, REVIEWER):
        emu.add_user(user, first_name="Staff", language_code="en")
    for user in users:
        emu.add_user(user, first_name="Family", language_code="uk")
    try:
        # The families answer within milliseconds: a person's pace would keep within the
        # default burst in a chat (CHAT_BURST=3), these would be held to one a second.
        async with instances(emu, count, rate, env={"CHAT_BURST": "100"}) as running:
            pids = [process.pid for process in running.processes]
            before = emu.stats["webhook:200"]
            bots_before = sum(cpu_seconds(pid) for pid in pids)
            harness_before = time.process_time()
            machine_before = machine_busy_seconds()
            started = time.monotonic()
            await asyncio.gather(
                *(submit_full_request(emu, i18n, user, "uk", timeout=120) for user in users)
            )
            elapsed = time.monotonic() - started
            bots = sum(cpu_seconds(pid) for pid in pids) - bots_before
            harness = time.process_time() - harness_before
            machine = machine_busy_seconds() - machine_before
            handled = emu.stats["webhook:200"] - before
    finally:
        await emu.stop(check=False)
    return handled / elapsed, bots / elapsed, harness / elapsed, machine / elapsed


async def notice_rate(families: int, rate: int) -> tuple[float, int, int]:
    """(sustained share of the limit, 429s, messages) for one notice over three instances."""
    from storage.db import create_engine

    await fresh_database()
    emu = TelegramEmulator(global_rate=rate, per_chat_rate=1)
    await emu.start()
    for user in (ADMIN, REVIEWER):
        emu.add_user(user, first_name="Staff", language_code="en")
    engine = create_engine(PG_URL)
    recipients = [Family(400_000 + i, "uk", request_locale="uk") for i in range(families)]
    await seed_families(engine, recipients)
    for family in recipients:
        emu.add_user(family.id, first_name="Family", language_code="uk")
    try:
        async with instances(emu, 3, rate):
            uow = UnitOfWork(engine)
            admins = frozenset({ADMIN, REVIEWER})
            view = await service.set_text(uow, ADMIN, admins, ("uk",), "uk", "Notice")
            await service.submit(uow, ADMIN, admins, view.id, staff_targets=())
            await service.approve(
                uow, REVIEWER, admins, view.id, ReviewMode.FOUR_EYES, "en", REVIEWER
            )
            await emu.wait_for_message(
                REVIEWER, contains="has finished", timeout=families / rate * 3 + 60
            )
    finally:
        await engine.dispose()
        await emu.stop(check=False)
    sends = sorted(
        r.timestamp for r in emu.requests if r.method.lower() == "sendmessage"
        and r.params.get("chat_id", 0) >= 400_000
    )  # fmt: skip
    # The limit lets the first second's messages go at once (as bench.broadcast counts).
    span = sends[-1] - sends[0] if len(sends) > 1 else 0.0
    sustained = (len(sends) - rate) / span if span > 0 else 0.0
    return sustained / rate, emu.stats["rate_limited"], len(sends)


async def main(args: argparse.Namespace) -> None:
    print(f"{args.families} families filling in a request at once; PostgreSQL + Redis")
    print(f"(the instances' logs: {LOG_DIR})")
    print(f"BROADCAST_RATE lifted to {LIFTED_RATE} messages/s, so that the instances set the pace:")
    for count in (1, 2, 3):
        rate, bots, harness, machine = await updates_per_second(count, args.families, LIFTED_RATE)
        print(
            f"  {count} instance{'s' if count > 1 else ' '}  {rate:7.1f} updates/s  (cores busy:"
            f" bots {bots:.2f}, emulator and families {harness:.2f}, machine {machine:.2f}"
            f" of {os.cpu_count()})"
        )
    rate, *_ = await updates_per_second(3, args.families, args.rate)
    print(
        f"  3 instances at BROADCAST_RATE {args.rate}: {rate:.1f} updates/s "
        f"(every answer is a message, and the messages keep to the limit)"
    )
    share, limited, sent = await notice_rate(args.notice, args.rate)
    print(
        f"one notice to {args.notice} families over 3 instances, limit {args.rate}/s: "
        f"{share:.1%} of the limit sustained, {limited} x 429, {sent} messages"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--families", type=int, default=60)
    parser.add_argument("--notice", type=int, default=2000)
    parser.add_argument("--rate", type=int, default=100)
    asyncio.run(main(parser.parse_args()))
