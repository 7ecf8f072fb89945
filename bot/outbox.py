"""Delivery of the outbox: every message to a family that a liaison's work produced.

Rows are written in the same transaction as the change they report. This sender
claims due rows with a lease, sends them, and marks them sent. A crash between
sending and marking can repeat one message after the lease runs out; nothing is
ever lost, and normal operation sends each message once.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import I18n

from bot.domain.states import OUTBOX, OutboxState
from bot.domain.statuses import RequestStatus
from bot.pacer import Priority, SendAborted, traffic
from bot.services.drafts import approved_text
from bot.services.notices import STAFF_TEMPLATES, StaffSummary, staff_summary
from bot.services.uow import Tx, UnitOfWork
from bot.texts.family import liaison_message, status_notice
from bot.texts.privacy import erasure_notice, retention_notice
from bot.texts.staff import broadcast_awaits, staff_notice
from storage.models import OutboxMessage, utcnow

log = logging.getLogger(__name__)

FAMILY_TEMPLATES = frozenset({"status", "liaison"})
LEASE = timedelta(seconds=60)
# A claim is sent only this long before its lease runs out at the latest (another instance
# may take it then): time for the request, and for the instances' clocks to differ a little.
LEASE_MARGIN = 10.0
CAPTION_LIMIT = 1024
MAX_BACKOFF = timedelta(minutes=10)


@dataclass(frozen=True)
class Claimed:
    id: int
    chat_id: int
    template: str
    params: dict
    code: str
    locale: str
    attempts: int
    # For template "liaison": the approved draft's content, read in the claiming transaction.
    liaison_text: str | None = None
    photo: str | None = None
    kind: str | None = None
    # For staff notices: what may be shown about the case (no personal data).
    staff: StaffSummary | None = None


def _claim(tx: Tx, now: datetime, limit: int, default_locale: str) -> list[Claimed]:
    claimed = []
    for row in tx.outbox.due(now, limit):
        request = tx.requests.get(row.request_id) if row.request_id else None
        content: tuple[str, str | None, str] | None = None
        if row.template == "liaison":
            content = approved_text(tx, json.loads(row.params).get("draft_id", 0))
            if content is None:
                # Not approved (or gone): the relay refuses, whatever put the row here.
                row.state = OUTBOX.move(row.state, OutboxState.FAILED)
                row.last_error = "not approved"
                log.error("outbox %s: liaison message without an approved draft", row.id)
                continue
        row.state = OUTBOX.move(row.state, OutboxState.SENDING)
        row.attempts += 1
        row.next_attempt_at = now + LEASE
        user = tx.users.get(row.chat_id)
        if row.template in STAFF_TEMPLATES:
            # The team's language, not the family's.
            locale = (user.locale if user else None) or default_locale
            summary = staff_summary(request) if request else None
        else:
            locale = (user.locale if user else None) or (
                request.locale if request else default_locale
            )
            summary = None
        text, photo, kind = content or (None, None, None)
        claimed.append(
            Claimed(
                row.id,
                row.chat_id,
                row.template,
                json.loads(row.params),
                request.code if request else "",
                locale,
                row.attempts,
                text,
                photo,
                kind,
                summary,
            )
        )
    return claimed


def _finish(
    tx: Tx,
    message_id: int,
    state: OutboxState,
    *,
    error: str | None = None,
    retry_at: datetime | None = None,
) -> None:
    row: OutboxMessage | None = tx.outbox.get(message_id)
    if row is None:
        return
    row.last_error = error
    row.state = OUTBOX.move(row.state, state)
    if state is OutboxState.PENDING:
        row.next_attempt_at = retry_at or utcnow()
        return
    if state is OutboxState.SENT:
        row.sent_at = utcnow()
    if (
        state is OutboxState.UNREACHABLE
        and row.request_id is not None
        and row.template in FAMILY_TEMPLATES
    ):
        request = tx.requests.get(row.request_id)
        if request is not None:
            request.family_unreachable = True
        tx.broadcasts.mark_blocked_users([row.chat_id])


def _release(tx: Tx, messages: list[Claimed]) -> None:
    for message in messages:
        row = tx.outbox.get(message.id)
        if row is not None and row.state == OutboxState.SENDING:
            row.state = OUTBOX.move(row.state, OutboxState.PENDING)
            row.attempts, row.next_attempt_at = row.attempts - 1, utcnow()


class OutboxSender:
    def __init__(
        self, uow: UnitOfWork, bot: Bot, i18n: I18n, *, batch: int = 20, bot_username: str = ""
    ) -> None:
        self.bot_username = bot_username
        self.uow = uow
        self.bot = bot
        self.i18n = i18n
        self.batch = batch
        self._wake = asyncio.Event()
        self._stopping = False

    def wake(self) -> None:
        self._wake.set()

    def render(self, message: Claimed) -> tuple[str, InlineKeyboardMarkup | None]:
        with self.i18n.context(), self.i18n.use_locale(message.locale):
            if message.template == "status":
                text = status_notice(
                    message.code,
                    RequestStatus(message.params["status"]),
                    message.params.get("reason"),
                )
                return text, None
            if message.template == "liaison" and message.liaison_text is not None:
                return liaison_message(message.code, message.liaison_text, message.kind or ""), None
            if message.template == "staff_broadcast":
                return broadcast_awaits(int(message.params["broadcast_id"])), None
            if message.template == "staff_retention":
                params = message.params
                return retention_notice(message.code, params["status"], params["erase_on"]), None
            if message.template == "staff_erasure":
                return erasure_notice(message.code, message.params)
            if message.template in STAFF_TEMPLATES and message.staff is not None:
                return staff_notice(
                    message.template,
                    message.staff,
                    bool(message.params.get("group")),
                    self.bot_username,
                )
        raise ValueError(f"unknown outbox template {message.template!r}")

    async def deliver_due(self) -> int:
        """Send what is due now; returns how many were handled."""
        now = utcnow()
        claimed_at = time.monotonic()
        claimed = await self.uow.run(
            lambda tx: _claim(tx, now, self.batch, self.i18n.default_locale)
        )
        sendable_until = claimed_at + LEASE.total_seconds() - LEASE_MARGIN
        # In order within a chat; chats side by side, so that one chat's pace (a second
        # between messages, three in a group) does not hold up the others.
        by_chat: dict[int, list[Claimed]] = {}
        for message in claimed:
            by_chat.setdefault(message.chat_id, []).append(message)
        handled = await asyncio.gather(
            *(self._deliver_in_order(m, sendable_until) for m in by_chat.values())
        )
        return sum(handled)

    async def _deliver_in_order(self, messages: list[Claimed], sendable_until: float) -> int:
        def lapsed() -> bool:
            return time.monotonic() > sendable_until

        def withdrawn() -> bool:
            return self._stopping or lapsed()

        for index, message in enumerate(messages):
            try:
                if withdrawn():
                    raise SendAborted()
                with traffic(Priority.CASE, abort=withdrawn):  # asked again at its turn
                    await self._send(message)
            except SendAborted:
                # Held up for most of the lease (a chat's pace, a long pause after a 429):
                # no longer ours, another instance may be sending it. Left to the next claim.
                if lapsed():
                    log.warning(
                        "outbox: %d claims lapsed before they were sent", len(messages) - index
                    )
                    return index
                # Shutting down: hand back what was not sent (still ours), for another
                # instance or the next start, instead of waiting for each chat's turn.
                await self.uow.run(functools.partial(_release, messages=messages[index:]))
                return index
        return len(messages)

    async def _send(self, message: Claimed) -> None:
        try:
            text, markup = self.render(message)
            if message.photo and len(text) <= CAPTION_LIMIT:
                await self.bot.send_photo(message.chat_id, message.photo, caption=text)
            else:
                if message.photo:
                    await self.bot.send_photo(message.chat_id, message.photo)
                await self.bot.send_message(message.chat_id, text, reply_markup=markup)
        except TelegramRetryAfter as error:
            retry_at = utcnow() + timedelta(seconds=error.retry_after)
            await self._finish(message.id, OutboxState.PENDING, error="429", retry_at=retry_at)
        except TelegramForbiddenError:
            log.warning("outbox %s: the family blocked the bot", message.id)
            await self._finish(message.id, OutboxState.UNREACHABLE, error="403")
        except TelegramBadRequest as error:
            log.warning("outbox %s: refused by Telegram (%s)", message.id, type(error).__name__)
            await self._finish(message.id, OutboxState.FAILED, error="400")
        except (TelegramServerError, TelegramNetworkError) as error:
            backoff = min(MAX_BACKOFF, timedelta(seconds=2 ** min(message.attempts, 10)))
            retry_at = utcnow() + backoff * random.uniform(0.8, 1.2)
            await self._finish(
                message.id, OutboxState.PENDING, error=type(error).__name__[:64], retry_at=retry_at
            )
        else:
            await self._finish(message.id, OutboxState.SENT)

    async def _finish(self, message_id: int, state: OutboxState, **kwargs: object) -> None:
        await self.uow.run(lambda tx: _finish(tx, message_id, state, **kwargs))  # type: ignore[arg-type]

    def stop(self) -> None:
        """Finish the message in hand, release the rest, and return from `run`."""
        self._stopping = True
        self._wake.set()

    async def run(self, idle_seconds: float = 2.0) -> None:
        """Deliver until stopped: right after a change (wake) or every few seconds."""
        while not self._stopping:
            try:
                while not self._stopping and await self.deliver_due():
                    pass
            except Exception:
                log.exception("outbox delivery failed; will try again")
            if self._stopping:
                return
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), idle_seconds)
            except TimeoutError:
                pass
