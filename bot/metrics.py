"""Prometheus metrics of one bot instance, in a registry of its own (tests run several apps).

What is counted, with labels that never carry personal data (no user or chat ids, no text):

- ``homeward_updates_total{type, outcome}``: updates by Telegram type (message,
  callback_query ...) and outcome: ``ok``, ``error`` (a handler raised), and in webhook mode
  ``duplicate`` (a redelivered update handled before), ``busy`` (another delivery of it is
  being handled right now) and ``refused`` (wrong secret, malformed or oversized body);
- ``homeward_update_seconds{type}``: how long handling an update took;
- ``homeward_messages_sent_total{method, outcome}``: messages the bot sent (sendMessage,
  sendPhoto ...) by their final outcome, after the retries: ``ok``, ``blocked`` (403),
  ``bad_request`` (400), ``rate_limited`` (429), ``server_error``, ``network_error``, ``error``;
- ``homeward_telegram_429_total{method}``: every 429 answer of Telegram, retried or not;
- ``homeward_retries_total{method, reason}``: retries of bot.retry.RetryMiddleware;
- ``homeward_blocked_total``: sends refused because the family (or liaison) blocked the bot;
- ``homeward_outbox_backlog`` and ``homeward_broadcast_backlog``: messages waiting in the
  outbox and broadcast recipients still to be sent, read from the database when scraped
  (cached a few seconds).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import TelegramMethod
from aiogram.methods.base import Response, TelegramType
from aiogram.types import TelegramObject, Update
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from bot.pacer import MESSAGE_METHODS

CONTENT_TYPE = CONTENT_TYPE_LATEST
BACKLOG_CACHE_SECONDS = 5.0
UNKNOWN_TYPE = "unknown"

# (outbox backlog, broadcast backlog), counted in the database.
BacklogReader = Callable[[], Awaitable[tuple[int, int]]]


class Metrics:
    def __init__(self, backlog: BacklogReader | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.updates = Counter(
            "homeward_updates", "Updates by type and outcome", ["type", "outcome"], registry=r
        )
        self.update_seconds = Histogram(
            "homeward_update_seconds",
            "Time to handle one update",
            ["type"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=r,
        )
        self.messages = Counter(
            "homeward_messages_sent",
            "Messages sent to Telegram by method and final outcome",
            ["method", "outcome"],
            registry=r,
        )
        self.too_many = Counter(
            "homeward_telegram_429", "429 answers of Telegram", ["method"], registry=r
        )
        self.retries = Counter(
            "homeward_retries", "Retried Bot API requests", ["method", "reason"], registry=r
        )
        self.blocked = Counter(
            "homeward_blocked", "Sends refused because the person blocked the bot", registry=r
        )
        self.outbox_backlog = Gauge(
            "homeward_outbox_backlog", "Outbox messages waiting to be sent", registry=r
        )
        self.broadcast_backlog = Gauge(
            "homeward_broadcast_backlog",
            "Recipients of running broadcasts still to be sent",
            registry=r,
        )
        self._backlog = backlog
        self._backlog_read_at = -BACKLOG_CACHE_SECONDS

    # ---- updates ------------------------------------------------------------------------

    def update_outcome(self, kind: str, outcome: str) -> None:
        self.updates.labels(kind, outcome).inc()

    # ---- Bot API requests ----------------------------------------------------------------

    def count_retry(self, method: str, reason: str) -> None:
        """The hook of bot.retry.RetryMiddleware: one call for each retry."""
        self.retries.labels(method, reason).inc()

    # ---- exposition ----------------------------------------------------------------------

    async def refresh_backlog(self) -> None:
        """Read the backlogs from the database, at most once every few seconds."""
        if self._backlog is None:
            return
        now = time.monotonic()
        if now - self._backlog_read_at < BACKLOG_CACHE_SECONDS:
            return
        self._backlog_read_at = now
        outbox, broadcasts = await self._backlog()
        self.outbox_backlog.set(outbox)
        self.broadcast_backlog.set(broadcasts)

    async def exposition(self) -> bytes:
        """The text format of /metrics. A database that does not answer leaves the backlog
        gauges at their last values: the other metrics matter most when it is down."""
        try:
            await self.refresh_backlog()
        except Exception:  # any failure of the database: the gauges wait
            pass
        return generate_latest(self.registry)


def method_name(method: TelegramMethod[Any]) -> str:
    """The Bot API name (sendMessage): a fixed set, never personal data."""
    return str(getattr(method, "__api_method__", type(method).__name__))


def outcome_of(error: BaseException) -> str:
    if isinstance(error, TelegramForbiddenError):
        return "blocked"
    if isinstance(error, TelegramRetryAfter):
        return "rate_limited"
    if isinstance(error, TelegramBadRequest):
        return "bad_request"
    if isinstance(error, TelegramServerError):
        return "server_error"
    if isinstance(error, TelegramNetworkError):
        return "network_error"
    return "error"


class SentMessagesMiddleware(BaseRequestMiddleware):
    """Outermost in the bot's session: each message once, with its outcome after retries."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        if type(method).__name__ not in MESSAGE_METHODS:
            return await make_request(bot, method)
        name = method_name(method)
        try:
            response = await make_request(bot, method)
        except Exception as error:
            outcome = outcome_of(error)
            self.metrics.messages.labels(name, outcome).inc()
            if outcome == "blocked":
                self.metrics.blocked.inc()
            raise
        self.metrics.messages.labels(name, "ok").inc()
        return response


class AttemptsMiddleware(BaseRequestMiddleware):
    """Innermost in the bot's session: sees every attempt, so every 429."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        try:
            return await make_request(bot, method)
        except TelegramRetryAfter:
            self.metrics.too_many.labels(method_name(method)).inc()
            raise


def update_type(event: object) -> str:
    if isinstance(event, Update):
        try:
            return event.event_type
        except LookupError:  # an update type newer than this aiogram
            pass
    return UNKNOWN_TYPE


class UpdateFailure:
    """Handed to the dispatcher with each update (as `update_failure`): what went wrong, if
    anything. aiogram's error handler swallows the exception, so the webhook reads it here."""

    def __init__(self) -> None:
        self.exception: BaseException | None = None


class UpdateMetricsMiddleware(BaseMiddleware):
    """An outer middleware on the dispatcher's updates, inside aiogram's error middleware:
    counts each update by type and outcome and times its handling."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        kind = update_type(event)
        started = time.perf_counter()
        try:
            result = await handler(event, data)
        except Exception as error:
            self.metrics.update_seconds.labels(kind).observe(time.perf_counter() - started)
            self.metrics.update_outcome(kind, "error")
            failure = data.get("update_failure")
            if isinstance(failure, UpdateFailure):
                failure.exception = error
            raise
        self.metrics.update_seconds.labels(kind).observe(time.perf_counter() - started)
        self.metrics.update_outcome(kind, "ok")
        return result
