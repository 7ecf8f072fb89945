"""Sending approved broadcasts: paced, resumable, and reported.

Recipients are claimed from the database in batches (state "sending"), handed to a
pool of workers that send through the bot session (where the pacer keeps Telegram's
limits, with broadcasts last in line), and their outcomes are written back in groups
as they come in: sent, blocked (403: the family is marked unreachable), failed (400,
for example "chat not found", or a failure that outlasted every retry), or pending
again after a 429 or a network or server error.

After a restart, claims left by the stopped process are sent again, so nobody is
skipped; a graceful stop finishes the messages in flight and records them, so nobody
gets a notice twice. Only a hard kill can repeat the few messages that were on the way
or sent but not yet recorded at that moment: at most `concurrency`, however slow the
database is.

A claim is a lease (`LEASE`), renewed every `RENEW_EVERY` seconds while the sender holds
it: with several instances, the claims of one that died are sent by the others once
their lease has run out, 20 seconds later, not at the end of a long notice. A sender
that could not renew its claims in time (its database connection stalled) leaves them to
the others instead of sending them too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramRetryAfter,
)
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import I18n

from bot.domain.states import BROADCASTS, BroadcastState, RecipientState
from bot.pacer import Priority, SendAborted, traffic
from bot.services import broadcasts as service
from bot.services.broadcasts import BroadcastView
from bot.services.uow import Tx, UnitOfWork
from bot.texts.family import broadcast_message
from bot.texts.staff import final_report, progress_keyboard, progress_text
from storage.models import utcnow

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=20)
RENEW_EVERY = 5.0  # seconds; a lease missed twice in a row is still held
# A claim is sent only this long before its lease runs out at the latest: time for the
# request itself, and for the clocks of the instances to differ a little.
LEASE_MARGIN = 5.0
MAX_ATTEMPTS = 5  # each already retried inside the session (bot.retry)
MAX_BACKOFF = timedelta(minutes=5)


@dataclass(frozen=True)
class Outcome:
    chat_id: int
    state: RecipientState  # sent, blocked, failed, or pending again
    error: str | None = None
    retry_at: datetime | None = None


def _record(tx: Tx, broadcast_id: int, outcomes: list[Outcome]) -> None:
    now = utcnow()
    by_state: dict[tuple[RecipientState, str | None], list[int]] = {}
    for outcome in outcomes:
        if outcome.state is RecipientState.PENDING:
            tx.broadcasts.set_state(
                broadcast_id,
                [outcome.chat_id],
                RecipientState.PENDING,
                only_from=(RecipientState.SENDING,),
                next_attempt_at=outcome.retry_at or now,
                last_error=outcome.error,
            )
            continue
        by_state.setdefault((outcome.state, outcome.error), []).append(outcome.chat_id)
    for (state, error), chat_ids in by_state.items():
        values: dict[str, object] = {"last_error": error}
        if state is RecipientState.SENT:
            values["sent_at"] = now
        tx.broadcasts.set_state(
            broadcast_id, chat_ids, state, only_from=(RecipientState.SENDING,), **values
        )
        if state is RecipientState.BLOCKED:
            tx.broadcasts.mark_blocked_users(chat_ids)


def _claim(tx: Tx, broadcast_id: int, limit: int) -> list[tuple[int, str, int]] | None:
    """The next recipients, claimed; None once the broadcast is no longer sending."""
    broadcast = tx.broadcasts.get(broadcast_id)
    if broadcast is None or broadcast.state != BroadcastState.SENDING:
        return None
    now = utcnow()
    due = list(tx.broadcasts.due(broadcast_id, now, limit))
    tx.broadcasts.claim(broadcast_id, [chat_id for chat_id, _v, _a in due], now + LEASE)
    return due


def _finish_if_complete(tx: Tx, broadcast_id: int) -> tuple[bool, datetime | None]:
    """(finished, when the next retry is due)."""
    broadcast = tx.broadcasts.get(broadcast_id)
    if broadcast is None or broadcast.state != BroadcastState.SENDING:
        return True, None
    next_due = tx.broadcasts.next_due(broadcast_id)
    if next_due is not None:
        return False, next_due
    broadcast.state = BROADCASTS.move(broadcast.state, BroadcastState.DONE)
    broadcast.finished_at = utcnow()
    return True, None


def _extend(broadcast_id: int, chat_ids: list[int], until: datetime, tx: Tx) -> None:
    tx.broadcasts.extend_lease(broadcast_id, chat_ids, until)


def _release(tx: Tx, broadcast_id: int, chat_ids: list[int]) -> None:
    """Claimed but not sent (paused, cancelled or stopping): back to pending, or cancelled."""
    broadcast = tx.broadcasts.get(broadcast_id)
    cancelled = broadcast is None or broadcast.state == BroadcastState.CANCELLED
    state = RecipientState.CANCELLED if cancelled else RecipientState.PENDING
    tx.broadcasts.set_state(
        broadcast_id,
        chat_ids,
        state,
        only_from=(RecipientState.SENDING,),
        next_attempt_at=utcnow(),
    )


class _Run:
    """What the feeder, the workers and the writer of one broadcast share."""

    def __init__(self, view: BroadcastView, texts: dict[str, str], concurrency: int) -> None:
        self.view = view
        self.texts = texts
        # Messages on the way or sent but not yet recorded: what a hard kill could repeat.
        # A worker takes a permit before it sends; the writer gives it back once the outcome
        # is in the database, so a slow database cannot let more pile up.
        self.unrecorded = asyncio.Semaphore(concurrency)
        self.queue: asyncio.Queue[tuple[int, str, int] | None] = asyncio.Queue()
        self.outcomes: list[Outcome] = []
        self.unsent: list[int] = []
        # Claimed by this run, outcome not yet recorded: until when (monotonic) it may be sent.
        self.held: dict[int, float] = {}
        self.lapsed = 0  # claims left to other instances: their lease could not be renewed
        self.have_outcomes = asyncio.Event()
        self.idle = asyncio.Event()
        self.in_flight = 0
        self.writing = False
        self.halted = False

    async def written(self) -> None:
        """Until every outcome so far is in the database."""
        while self.outcomes or self.writing:
            self.idle.clear()
            self.have_outcomes.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.idle.wait(), 10)


class BroadcastSender:
    def __init__(
        self,
        uow: UnitOfWork,
        bot: Bot,
        i18n: I18n,
        *,
        rate: int = 25,
        concurrency: int | None = None,
        progress_interval: float = 3.0,
        leads: Callable[[], Awaitable[bool]] | None = None,
    ) -> None:
        self.uow = uow
        self.bot = bot
        self.i18n = i18n
        # Several instances send one broadcast together; one of them (the leader of the
        # background jobs) keeps its progress message up to date.
        self.leads = leads
        # Enough messages in flight to fill the rate; the pacer does the spacing.
        self.concurrency = concurrency or max(4, min(64, rate // 4 + 4))
        self.batch = max(20, min(500, rate * 2))
        self.progress_interval = progress_interval
        self._wake = asyncio.Event()
        self._stopping = False
        # What each progress message shows now: an edit that changes nothing is a needless
        # call, and Telegram answers it with 400 "message is not modified".
        self._shown: dict[int, tuple[str, str]] = {}

    # ---- control -----------------------------------------------------------------------

    def wake(self) -> None:
        """Something changed (approved, paused, resumed, cancelled): look again now."""
        self._wake.set()

    def progress_shown(
        self, broadcast_id: int, text: str, markup: InlineKeyboardMarkup | None
    ) -> None:
        """A handler put this on the progress message (when it was pressed)."""
        self._shown[broadcast_id] = (text, _signature(markup))

    def stop(self) -> None:
        """Finish the messages in flight, record them, hand back the rest, and return."""
        self._stopping = True
        self._wake.set()

    async def run(self, idle_seconds: float = 2.0) -> None:
        with traffic(Priority.BROADCAST):
            # SQLite has this one instance, so a claim left behind is a stopped process's.
            # With several instances on PostgreSQL it may be a live one's: it is sent again
            # only when its lease runs out.
            if self.uow.engine.dialect.name == "sqlite":
                released = await self.uow.run(lambda tx: tx.broadcasts.release_claims())
                if released:
                    log.info("resuming broadcasts: %d claims of a stopped process", released)
            while not self._stopping:
                try:
                    running = await self.uow.run(
                        lambda tx: [b.id for b in tx.broadcasts.in_state(BroadcastState.SENDING)]
                    )
                    if running:
                        await self.send(running[0])
                        continue
                except Exception:
                    log.exception("broadcast sending failed; will try again")
                    await asyncio.sleep(1)
                if self._stopping:
                    return
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), idle_seconds)

    # ---- one broadcast -----------------------------------------------------------------

    async def send(self, broadcast_id: int) -> None:
        """Send one broadcast until it is done, paused or cancelled, or the sender stops."""
        view = await service.get(self.uow, broadcast_id)
        run = _Run(view, await self._render(view), self.concurrency)
        workers = [asyncio.create_task(self._worker(run)) for _ in range(self.concurrency)]
        writing = asyncio.create_task(self._writer(run))
        progress = asyncio.create_task(self._progress_loop(broadcast_id))
        leasing = asyncio.create_task(self._keep_leases(run))
        try:
            await self._feed(run)
        finally:
            run.halted = True
            for _ in workers:
                run.queue.put_nowait(None)
            await asyncio.gather(*workers, return_exceptions=True)
            while not run.queue.empty():
                item = run.queue.get_nowait()
                if item is not None:
                    run.unsent.append(item[0])
            await run.written()
            writing.cancel()
            progress.cancel()
            leasing.cancel()
            await asyncio.gather(writing, progress, leasing, return_exceptions=True)
            if run.unsent:
                await self.uow.run(lambda tx: _release(tx, broadcast_id, run.unsent))
            if run.lapsed:
                log.warning(
                    "broadcast %s: %d claims lapsed before they could be sent; "
                    "they are sent by another instance, or by this one again",
                    broadcast_id,
                    run.lapsed,
                )
        await self._report(broadcast_id)

    async def _feed(self, run: _Run) -> None:
        """Keep the workers' queue filled with claimed recipients until there are no more."""
        broadcast_id = run.view.id
        while not self._stopping:
            if self._wake.is_set():
                self._wake.clear()
                if await self._halted(broadcast_id):
                    return
            if run.queue.qsize() >= self.batch // 2:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), 0.05)
                continue
            claimed_at = time.monotonic()
            due = await self.uow.run(lambda tx: _claim(tx, broadcast_id, self.batch))
            sendable_until = claimed_at + LEASE.total_seconds() - LEASE_MARGIN
            if due is None:
                return  # paused or cancelled
            for item in due:
                if item[0] not in run.held:  # else it waits in the queue already (renewed)
                    run.queue.put_nowait(item)
                run.held[item[0]] = sendable_until
            if due:
                continue
            if not run.queue.empty() or run.in_flight:
                await asyncio.sleep(0.05)
                continue
            # Nothing due and nothing under way: all is done, or some wait for a retry.
            await run.written()
            finished, next_due = await self.uow.run(
                lambda tx: _finish_if_complete(tx, broadcast_id)
            )
            if finished:
                return
            wait = 1.0
            if next_due is not None:
                wait = min(wait, max(0.05, (next_due - utcnow()).total_seconds()))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait)

    async def _worker(self, run: _Run) -> None:
        current = 0  # the chat this worker is sending to

        def lapsed() -> bool:
            # Its lease may have run out: another instance may be sending it now.
            return time.monotonic() > run.held.get(current, math.inf)

        def withdrawn() -> bool:
            return run.halted or self._stopping or lapsed()

        # The pacer asks `withdrawn` again once the message's turn has come.
        with traffic(Priority.BROADCAST, abort=withdrawn):
            while (item := await run.queue.get()) is not None:
                current, version, attempts = item
                await run.unrecorded.acquire()
                if not withdrawn():
                    run.in_flight += 1
                    try:
                        outcome = await self._send_one(run, current, version, attempts)
                        run.outcomes.append(outcome)  # the writer gives the permit back
                        run.have_outcomes.set()
                        continue
                    except SendAborted:
                        pass
                    finally:
                        run.in_flight -= 1
                run.unrecorded.release()  # nothing went out
                if lapsed():
                    run.held.pop(current, None)  # not ours any more: neither sent nor released
                    run.lapsed += 1
                else:
                    run.unsent.append(current)

    async def _writer(self, run: _Run) -> None:
        """Record outcomes as they come, in groups: one transaction per group, not per send."""
        while True:
            await run.have_outcomes.wait()
            run.have_outcomes.clear()
            if not run.outcomes:
                continue
            batch, run.outcomes = run.outcomes, []
            run.writing = True
            try:
                await self._write(run, batch)
            finally:
                for _ in batch:
                    run.unrecorded.release()
                run.writing = False
                run.idle.set()

    async def _write(self, run: _Run, batch: list[Outcome]) -> None:
        broadcast_id = run.view.id
        for attempt in range(5):
            try:
                await self.uow.run(lambda tx: _record(tx, broadcast_id, batch))
                for outcome in batch:
                    run.held.pop(outcome.chat_id, None)
                return
            except Exception:
                # The messages are out; what is lost here would be sent again after a restart.
                log.exception(
                    "could not record %d broadcast outcomes (try %d)", len(batch), attempt
                )
                await asyncio.sleep(0.5 * 2**attempt)

    async def _keep_leases(self, run: _Run) -> None:
        """Renew the lease of every claim this run holds, so that no other instance takes
        them while they wait in the queue or are on the way."""
        while True:
            await asyncio.sleep(RENEW_EVERY)
            held = sorted(run.held)
            if not held:
                continue
            renewed_at = time.monotonic()
            try:
                await self.uow.run(partial(_extend, run.view.id, held, utcnow() + LEASE))
                sendable_until = renewed_at + LEASE.total_seconds() - LEASE_MARGIN
                for chat_id in held:
                    if chat_id in run.held:
                        run.held[chat_id] = sendable_until
            except Exception as error:  # the next beat tries again, well within the lease
                log.warning(
                    "broadcast %s: could not renew %d claims (%s)",
                    run.view.id,
                    len(held),
                    type(error).__name__,
                )

    async def _halted(self, broadcast_id: int) -> bool:
        view = await service.get(self.uow, broadcast_id)
        return view.state != BroadcastState.SENDING

    async def _render(self, view: BroadcastView) -> dict[str, str]:
        rendered = {}
        for version, text in view.texts.items():
            with self.i18n.context(), self.i18n.use_locale(version):
                rendered[version] = broadcast_message(text)
        return rendered

    async def _send_one(self, run: _Run, chat_id: int, version: str, attempts: int) -> Outcome:
        text = run.texts.get(version) or next(iter(run.texts.values()))
        try:
            if run.view.photo:
                await self.bot.send_photo(chat_id, run.view.photo, caption=text)
            else:
                await self.bot.send_message(chat_id, text)
        except TelegramForbiddenError:
            return Outcome(chat_id, RecipientState.BLOCKED, "403")
        except TelegramBadRequest as error:
            reason = "chat not found" if "chat not found" in error.message.lower() else "400"
            return Outcome(chat_id, RecipientState.FAILED, reason)
        except TelegramRetryAfter as error:
            retry_at = utcnow() + timedelta(seconds=error.retry_after)
            return Outcome(chat_id, RecipientState.PENDING, "429", retry_at)
        except (TimeoutError, TelegramAPIError, OSError) as error:
            # Server and network errors, already retried in the session.
            name = type(error).__name__[:64]
            if attempts + 1 >= MAX_ATTEMPTS:
                return Outcome(chat_id, RecipientState.FAILED, name)
            backoff = min(MAX_BACKOFF, timedelta(seconds=5 * 2**attempts))
            return Outcome(
                chat_id, RecipientState.PENDING, name, utcnow() + backoff * random.uniform(0.8, 1.2)
            )
        return Outcome(chat_id, RecipientState.SENT)

    # ---- progress and the final report -------------------------------------------------

    async def _staff_locale(self, chat_id: int) -> str:
        stored = await self.uow.run(lambda tx: tx.users.locale(chat_id))
        return stored or self.i18n.default_locale

    async def _progress_loop(self, broadcast_id: int) -> None:
        while True:
            await asyncio.sleep(self.progress_interval)
            try:
                if self.leads is not None and not await self.leads():
                    continue  # another instance shows it
                await self._show_progress(broadcast_id)
            except Exception:
                log.warning("could not update the progress of broadcast %s", broadcast_id)

    async def _show_progress(self, broadcast_id: int, *, final: bool = False) -> None:
        view = await service.get(self.uow, broadcast_id)
        if view.progress_chat_id is None or view.progress_message_id is None:
            return
        locale = await self._staff_locale(view.progress_chat_id)
        with self.i18n.context(), self.i18n.use_locale(locale):
            text = progress_text(view)
            markup = None if final else progress_keyboard(view)
        shown = (text, _signature(markup))
        if self._shown.get(broadcast_id) == shown:
            return
        with traffic(Priority.CASE), contextlib.suppress(TelegramBadRequest):
            await self.bot.edit_message_text(
                text=text,
                chat_id=view.progress_chat_id,
                message_id=view.progress_message_id,
                reply_markup=markup,
            )
        self._shown[broadcast_id] = shown
        if final:
            self._shown.pop(broadcast_id, None)

    async def _report(self, broadcast_id: int) -> None:
        """When a broadcast has ended: the final counts, to whoever started and wrote it."""
        view = await service.get(self.uow, broadcast_id)
        if view.state not in (BroadcastState.DONE, BroadcastState.CANCELLED):
            return  # paused, or the sender is stopping: it goes on later
        if not await self.uow.run(lambda tx: tx.broadcasts.claim_report(broadcast_id)):
            return  # another sender (another instance) reports it
        with contextlib.suppress(Exception):
            await self._show_progress(broadcast_id, final=True)
        targets = {view.author_id}
        if view.progress_chat_id is not None:
            targets.add(view.progress_chat_id)
        for chat_id in sorted(targets):
            locale = await self._staff_locale(chat_id)
            with self.i18n.context(), self.i18n.use_locale(locale):
                text = final_report(view)
            try:
                with traffic(Priority.CASE):
                    await self.bot.send_message(chat_id, text)
            except TelegramAPIError as error:
                log.warning(
                    "broadcast %s: final report not delivered (%s)",
                    broadcast_id,
                    type(error).__name__,
                )


def _signature(markup: InlineKeyboardMarkup | None) -> str:
    """Buttons compared by what they are; no buttons and an empty keyboard look alike."""
    if markup is None or not markup.inline_keyboard:
        return ""
    return markup.model_dump_json()
