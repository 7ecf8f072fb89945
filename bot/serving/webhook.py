"""Webhook mode: Telegram posts each update to WEBHOOK_URL; an aiohttp server on
WEBHOOK_LISTEN handles it before answering.

Every request:

1. carries Telegram's secret token (header ``X-Telegram-Bot-Api-Secret-Token``), compared in
   constant time with WEBHOOK_SECRET: missing or wrong, 401, logged without the body;
2. has a body of at most 1 MiB (413, refused before reading it) holding one update as JSON
   (400 if it is not);
3. is handled inside the request: 200 only once the dispatcher is done with it, so an
   instance that dies loses nothing (Telegram delivers the update again);
4. is handled once: the ledger (Redis with REDIS_URL, so that every instance agrees; else in
   this process's memory) remembers handled update ids, and a delivery of one handled
   before is answered 200 without handling it again. A delivery of an update that another
   request is handling right now gets 503: Telegram tries again later, when it is done.

What "handled" means when a handler raises depends on the failure:

- a passing one (the database, Redis or the network to Telegram failing, see `transient`):
  the update is not handled. The answer is 500, nothing is remembered, Telegram delivers it
  again, and the person notices nothing but a delay. At the last delivery (``ATTEMPTS``)
  aiogram's error handler (bot.app) tells the person that something went wrong, and the
  update counts as handled (200): a failure that repeated that often would only repeat;
- any other one (Telegram refused the answer with 400 or 403, or a bug): the error handler
  tells the person at once and the update counts as handled. Another delivery would fail the
  same way, or worse: a handler may have moved the conversation on before it failed, and a
  second run would take the same message for the answer to the next question.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import signal
import traceback
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any, Protocol
from urllib.parse import urlsplit

from aiogram import BaseMiddleware, Bot, Dispatcher
from aiogram.exceptions import TelegramNetworkError, TelegramRetryAfter, TelegramServerError
from aiogram.methods import TelegramMethod
from aiogram.types import ErrorEvent, TelegramObject, Update
from aiohttp import web
from pydantic import ValidationError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError

from bot.app import Running, running
from bot.config import Settings
from bot.metrics import UNKNOWN_TYPE, Metrics, UpdateFailure, update_type
from bot.serving.health import MAX_BODY, serve

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ATTEMPTS = 3  # deliveries of a failing update before the person is told and it is dropped
# A claim is kept alive while its update is handled; one of an instance that died lapses
# after this long, and the update's next delivery is handled by another instance.
BUSY_SECONDS = 15
DONE_SECONDS = 25 * 3600  # Telegram keeps an update for 24 hours
MEMORY_LIMIT = 50_000  # update ids remembered in memory (about 5 MB)


class Seen(Enum):
    DONE = "done"  # handled before: answer 200, do nothing
    BUSY = "busy"  # being handled by another request right now


class Ledger(Protocol):
    """Which updates were handled. `claim` returns the attempt number (1, 2 ...) of a
    delivery to handle now, or why not; `done` and `failed` end a claim."""

    async def claim(self, update_id: int) -> int | Seen: ...

    async def done(self, update_id: int) -> None: ...

    async def failed(self, update_id: int) -> None: ...

    async def release(self, update_id: int) -> None:
        """Give the claim back without counting a failure (the server is stopping)."""
        ...

    async def keep(self, update_id: int) -> None:
        """Still handling it: the claim must not lapse (called every BUSY_SECONDS / 3)."""
        ...


class MemoryLedger:
    """One instance: the last MEMORY_LIMIT handled update ids, in this process.

    A restart forgets them; an update handled just before a crash, whose 200 never left,
    is then handled again. The same holds for long polling (the offset is confirmed with
    the next getUpdates); several instances need REDIS_URL.
    """

    def __init__(self, limit: int = MEMORY_LIMIT) -> None:
        self.limit = limit
        self._done: OrderedDict[int, None] = OrderedDict()
        self._busy: set[int] = set()
        self._failures: OrderedDict[int, int] = OrderedDict()

    async def claim(self, update_id: int) -> int | Seen:
        if update_id in self._done:
            self._done.move_to_end(update_id)
            return Seen.DONE
        if update_id in self._busy:
            return Seen.BUSY
        self._busy.add(update_id)
        return self._failures.get(update_id, 0) + 1

    async def done(self, update_id: int) -> None:
        self._busy.discard(update_id)
        self._failures.pop(update_id, None)
        self._done[update_id] = None
        while len(self._done) > self.limit:
            self._done.popitem(last=False)

    async def failed(self, update_id: int) -> None:
        self._busy.discard(update_id)
        self._failures[update_id] = self._failures.get(update_id, 0) + 1
        self._failures.move_to_end(update_id)
        while len(self._failures) > self.limit:
            self._failures.popitem(last=False)

    async def release(self, update_id: int) -> None:
        self._busy.discard(update_id)

    async def keep(self, update_id: int) -> None:
        pass  # a claim in memory lasts as long as this process


class RedisLedger:
    """Several instances: one key per update in Redis, claimed with ``SET NX EX``, so that
    exactly one instance handles it; "done" is kept for a day, as long as Telegram keeps
    an update; a claim of an instance that died expires after BUSY_SECONDS."""

    def __init__(self, redis: Any, bot_id: int, prefix: str = "homeward:webhook") -> None:
        self.redis = redis
        self.prefix = f"{prefix}:{bot_id}"

    def _key(self, update_id: int) -> str:
        return f"{self.prefix}:update:{update_id}"

    def _failures_key(self, update_id: int) -> str:
        return f"{self.prefix}:failures:{update_id}"

    async def claim(self, update_id: int) -> int | Seen:
        key = self._key(update_id)
        for _ in range(3):  # a claim that expires between SET and GET: try again
            if await self.redis.set(key, "busy", nx=True, ex=BUSY_SECONDS):
                failures = await self.redis.get(self._failures_key(update_id))
                return int(failures or 0) + 1
            state = await self.redis.get(key)
            if state in (b"done", "done"):
                return Seen.DONE
            if state is not None:
                return Seen.BUSY
        return Seen.BUSY

    async def done(self, update_id: int) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(self._key(update_id), "done", ex=DONE_SECONDS)
            pipe.delete(self._failures_key(update_id))
            await pipe.execute()

    async def failed(self, update_id: int) -> None:
        failures = self._failures_key(update_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(self._key(update_id))
            pipe.incr(failures)
            pipe.expire(failures, DONE_SECONDS)
            await pipe.execute()

    async def release(self, update_id: int) -> None:
        await self.redis.delete(self._key(update_id))

    async def keep(self, update_id: int) -> None:
        await self.redis.expire(self._key(update_id), BUSY_SECONDS, xx=True)


@dataclass(frozen=True)
class Delivery:
    """Handed to the dispatcher with each update (as `webhook_delivery`)."""

    update_id: int
    attempt: int

    @property
    def last(self) -> bool:
        return self.attempt >= ATTEMPTS


def transient(error: BaseException) -> bool:
    """A failure that another delivery may not meet: the database, Redis or the network."""
    return isinstance(
        error,
        (
            OperationalError,  # the database is unreachable, restarting, or out of connections
            InterfaceError,
            SQLAlchemyTimeoutError,  # no connection of the pool came free in time
            RedisConnectionError,
            RedisTimeoutError,
            TelegramNetworkError,  # these three outlasted bot.retry's retries
            TelegramServerError,
            TelegramRetryAfter,
            TimeoutError,
            ConnectionError,
        ),
    ) or (isinstance(error, DBAPIError) and error.connection_invalidated)


class QuietRetries(BaseMiddleware):
    """On the dispatcher's error handlers: before an update's last delivery, a passing
    failure is not answered to the person but raised, so that the webhook answers 500 and
    Telegram delivers the update again. Polling (no delivery) is not affected."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        delivery = data.get("webhook_delivery")
        if (
            isinstance(delivery, Delivery)
            and isinstance(event, ErrorEvent)
            and not delivery.last
            and transient(event.exception)
        ):
            # The frames say where it failed; the message could quote what a family typed.
            log.error(
                "update %s failed (%s), attempt %d of %d: Telegram will deliver it again\n%s",
                delivery.update_id,
                type(event.exception).__name__,
                delivery.attempt,
                ATTEMPTS,
                "".join(traceback.format_tb(event.exception.__traceback__)).rstrip(),
            )
            raise event.exception
        return await handler(event, data)


class WebhookHandler:
    """The aiohttp view of WEBHOOK_URL's path."""

    def __init__(
        self,
        dispatcher: Dispatcher,
        bot: Bot,
        secret: str,
        ledger: Ledger,
        metrics: Metrics,
        workflow_data: dict[str, Any] | None = None,
    ) -> None:
        self.dispatcher = dispatcher
        self.bot = bot
        self._secret = secret.encode()
        self.ledger = ledger
        self.metrics = metrics
        self.workflow_data = workflow_data or {}
        dispatcher.errors.outer_middleware(QuietRetries())

    async def _keep_claim(self, update_id: int) -> None:
        while True:
            await asyncio.sleep(BUSY_SECONDS / 3)
            try:
                await self.ledger.keep(update_id)
            except Exception as error:  # Redis away for a moment: try again at the next beat
                log.warning(
                    "update %s: could not keep its claim (%s)", update_id, type(error).__name__
                )

    def _refuse(self, status: int, reason: str, request: web.Request) -> web.Response:
        # Never the body, nor the token that was sent: the address and the reason only.
        log.warning("webhook request refused (%d %s) from %s", status, reason, request.remote)
        self.metrics.update_outcome(UNKNOWN_TYPE, "refused")
        return web.json_response({"ok": False, "error": reason}, status=status)

    async def receive(self, request: web.Request) -> web.Response:
        sent = request.headers.get(SECRET_HEADER)
        if sent is None:
            return self._refuse(401, "missing secret token", request)
        if not hmac.compare_digest(sent.encode(), self._secret):
            return self._refuse(401, "wrong secret token", request)
        if request.content_length is not None and request.content_length > MAX_BODY:
            return self._refuse(413, "body too large", request)
        try:
            body = await request.read()  # aiohttp stops at client_max_size (MAX_BODY)
        except web.HTTPRequestEntityTooLarge:
            return self._refuse(413, "body too large", request)
        try:
            update = Update.model_validate(json.loads(body), context={"bot": self.bot})
        except (ValueError, ValidationError):  # JSON errors are ValueErrors
            return self._refuse(400, "not an update", request)
        return await self.handle(update)

    async def handle(self, update: Update) -> web.Response:
        kind = update_type(update)
        try:
            claim = await self.ledger.claim(update.update_id)
        except Exception as error:  # Redis unreachable: Telegram tries again later
            log.warning("update %s: the ledger failed (%s)", update.update_id, type(error).__name__)
            self.metrics.update_outcome(kind, "error")
            return web.json_response({"ok": False, "error": "unavailable"}, status=503)
        if claim is Seen.DONE:
            self.metrics.update_outcome(kind, "duplicate")
            return web.json_response({"ok": True})
        if claim is Seen.BUSY:
            self.metrics.update_outcome(kind, "busy")
            return web.json_response(
                {"ok": False, "error": "being handled"}, status=503, headers={"Retry-After": "5"}
            )
        assert isinstance(claim, int)
        delivery = Delivery(update.update_id, claim)
        failure = UpdateFailure()
        keeping = asyncio.create_task(self._keep_claim(update.update_id))
        try:
            handled = await self._feed(update, delivery, failure)
        finally:
            keeping.cancel()
        if not handled:
            return web.json_response({"ok": False, "error": "failed"}, status=500)
        if failure.exception is not None:
            log.warning(
                "update %s failed (%s) at delivery %d: the person was told, it is not retried",
                update.update_id,
                type(failure.exception).__name__,
                delivery.attempt,
            )
        await self.ledger.done(update.update_id)
        return web.json_response({"ok": True})

    async def _feed(self, update: Update, delivery: Delivery, failure: UpdateFailure) -> bool:
        """Whether the update was handled; if not, the ledger counts the failed delivery."""
        try:
            result = await self.dispatcher.feed_update(
                self.bot,
                update,
                dispatcher=self.dispatcher,
                bots=[self.bot],
                update_failure=failure,
                webhook_delivery=delivery,
                **self.workflow_data,
            )
            if isinstance(result, TelegramMethod):
                await self.dispatcher.silent_call_request(self.bot, result)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await self.ledger.release(update.update_id)
            raise
        except Exception as error:
            # Not handled: QuietRetries raised it (and logged it), or the error handler failed.
            if failure.exception is not error:
                log.error("update %s not handled (%s)", update.update_id, type(error).__name__)
            try:
                await self.ledger.failed(update.update_id)
            except Exception as ledger_error:  # its claim lapses after BUSY_SECONDS
                log.warning("the ledger failed (%s)", type(ledger_error).__name__)
            return False
        return True


def webhook_path(url: str) -> str:
    return urlsplit(url).path or "/"


def make_ledger(live: Running) -> Ledger:
    redis = getattr(live.app.storage, "redis", None)
    if live.app.settings.redis_url and redis is not None:
        return RedisLedger(redis, live.bot.id)
    return MemoryLedger()


def webhook_application(live: Running, ledger: Ledger | None = None) -> web.Application:
    """The webhook route, with /healthz, /readyz and /metrics beside it."""
    settings = live.app.settings
    assert settings.webhook_url and settings.webhook_secret
    app = web.Application(client_max_size=MAX_BODY)
    handler = WebhookHandler(
        live.app.dispatcher,
        live.bot,
        settings.webhook_secret.get_secret_value(),
        ledger or make_ledger(live),
        live.metrics,
        live.workflow_data,
    )
    app.router.add_post(webhook_path(settings.webhook_url), handler.receive)
    live.health().add_routes(app)
    return app


async def run_webhook(settings: Settings, *, stop: asyncio.Event | None = None) -> None:
    """Run until SIGINT/SIGTERM (or until `stop` is set, for tests). The webhook stays set
    when the bot stops: Telegram keeps the updates until an instance answers again."""
    assert settings.webhook_url and settings.webhook_secret
    async with running(settings) as live:
        runner = await serve(webhook_application(live), settings.webhook_listen)
        try:
            allowed = live.app.dispatcher.resolve_used_update_types()
            await live.bot.set_webhook(
                settings.webhook_url,
                secret_token=settings.webhook_secret.get_secret_value(),
                allowed_updates=allowed,
                drop_pending_updates=False,
                max_connections=settings.webhook_max_connections,
            )
            # The host only: a path can be a secret of its own.
            log.info(
                "webhook set for %s (%s)",
                urlsplit(settings.webhook_url).hostname,
                ", ".join(allowed),
            )
            await _wait_for_stop(stop)
        finally:
            # Stop accepting, finish the requests in hand; then `running` stops the rest.
            await runner.cleanup()


async def _wait_for_stop(stop: asyncio.Event | None) -> None:
    if stop is not None:
        await stop.wait()
        return
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stopping.set)
    try:
        await stopping.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)
