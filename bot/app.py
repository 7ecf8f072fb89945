"""Assembly: engine, storage, dispatcher, bot; the start-up shared by both modes, and the
polling loop (webhook mode: bot.serving.webhook)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import traceback
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramAPIError
from aiogram.fsm.storage.base import BaseEventIsolation, BaseStorage
from aiogram.fsm.storage.memory import SimpleEventIsolation
from aiogram.types import ErrorEvent, User
from sqlalchemy.ext.asyncio import AsyncEngine

from bot import SUPPORTED_LOCALES
from bot.broadcasts import BroadcastSender
from bot.config import Settings
from bot.i18n import CatalogI18n, _, build_i18n
from bot.matcher import Matcher
from bot.menus import StaffMenus, register_commands, show_all_staff_menus
from bot.metrics import (
    AttemptsMiddleware,
    Metrics,
    SentMessagesMiddleware,
    UpdateMetricsMiddleware,
)
from bot.middlewares import LocaleCache, LocaleMiddleware
from bot.outbox import OutboxSender
from bot.pacer import Pacer, PacerMiddleware
from bot.retry import RetryMiddleware
from bot.services import privacy
from bot.services.keys import open_database
from bot.services.notices import StaffRouting
from bot.services.uow import UnitOfWork
from bot.serving.health import Health, serve
from handlers import get_routers
from storage import stats
from storage.crypto import installed
from storage.db import InstanceLock, lock_single_instance, wait_for_redis
from storage.fsm import SQLAlchemyStorage
from storage.lease import Leadership, PollingLock

log = logging.getLogger(__name__)


@dataclass
class App:
    settings: Settings
    engine: AsyncEngine
    storage: BaseStorage
    i18n: CatalogI18n
    dispatcher: Dispatcher
    instance_lock: InstanceLock | None = None
    leadership: Leadership | None = None
    # Prometheus metrics of this app (bot.metrics); /metrics serves them.
    metrics: Metrics | None = None

    def __post_init__(self) -> None:
        # Which instance runs the background jobs (one, with several on PostgreSQL).
        if self.leadership is None:
            self.leadership = Leadership(self.engine)

    async def leads(self) -> bool:
        return self.leadership is None or await self.leadership.holds()

    async def close(self) -> None:
        if self.leadership is not None:
            await self.leadership.release()
        await self.storage.close()
        await self.engine.dispose()
        if self.instance_lock is not None:
            self.instance_lock.release()


def sealed_json_dumps(data: Any) -> str:
    return installed().seal(json.dumps(data))


def sealed_json_loads(value: str | bytes) -> Any:
    return json.loads(installed().open(value.decode() if isinstance(value, bytes) else value))


LOCK_SECONDS = 15


def build_storage(
    settings: Settings, engine: AsyncEngine
) -> tuple[BaseStorage, BaseEventIsolation]:
    """Redis when REDIS_URL is set (several bot instances), else the database."""
    if settings.redis_url:
        from aiogram.fsm.storage.redis import DefaultKeyBuilder, RedisEventIsolation, RedisStorage

        retention = timedelta(days=settings.draft_retention_days)
        storage = RedisStorage.from_url(
            settings.redis_url,
            key_builder=DefaultKeyBuilder(with_destiny=True, prefix="homeward"),
            # Abandoned drafts hold personal data: Redis forgets them by itself.
            state_ttl=retention,
            data_ttl=retention,
            # The data is a half-filled request: sealed with the data key, as in the database.
            json_dumps=sealed_json_dumps,
            json_loads=sealed_json_loads,
        )
        # A person's updates are handled one at a time over every instance. The lock of an
        # instance that died lapses after 15 s (aiogram's default is a minute), as its
        # claims on updates do (bot.serving.webhook), so that person waits seconds, not
        # a minute; a handler takes well under a second.
        isolation = RedisEventIsolation(
            storage.redis, key_builder=storage.key_builder, lock_kwargs={"timeout": LOCK_SECONDS}
        )
        return storage, isolation
    return SQLAlchemyStorage(engine), SimpleEventIsolation()


def build_dispatcher(
    engine: AsyncEngine,
    storage: BaseStorage,
    events_isolation: BaseEventIsolation,
    i18n: CatalogI18n,
    *,
    draft_retention_days: int = 30,
    admin_ids: frozenset[int] = frozenset(),
    review_mode: str = "four_eyes",
    liaison_chat_id: int | None = None,
    broadcast_fallback: tuple[str, ...] = SUPPORTED_LOCALES,
    metrics: Metrics | None = None,
    **workflow_data: Any,
) -> Dispatcher:
    locale_cache = LocaleCache()
    locale_middleware = LocaleMiddleware(i18n, locale_cache)
    dispatcher = Dispatcher(
        storage=storage,
        events_isolation=events_isolation,
        locale_cache=locale_cache,
        locale_middleware=locale_middleware,
        draft_retention_days=draft_retention_days,
        admin_ids=frozenset(admin_ids),
        review_mode=review_mode,
        staff_routing=StaffRouting(frozenset(admin_ids), liaison_chat_id),
        # Staff menus set in this process; a missing one is set on the person's next visit.
        staff_menus=StaffMenus(frozenset(admin_ids)),
        broadcast_fallback=tuple(broadcast_fallback),
        default_locale=i18n.default_locale,
        # Workflow data rather than a middleware: one layer less on every update.
        uow=UnitOfWork(engine),
        **workflow_data,
    )
    if metrics is not None:
        # First after aiogram's own: every update counted, whatever fails inside.
        dispatcher.update.outer_middleware(UpdateMetricsMiddleware(metrics))
    locale_middleware.setup(dispatcher)
    dispatcher.include_routers(*get_routers())
    dispatcher.errors.register(_on_error)
    return dispatcher


async def _on_error(event: ErrorEvent, locale_middleware: LocaleMiddleware) -> bool:
    """Report the failure to the person, keep their draft, and log no personal data."""
    update = event.update
    # The frames say where it failed; the exception's message is left out because it can
    # quote what a family typed (a database error quotes the row it could not write).
    log.error(
        "update %s failed: %s\n%s",
        update.update_id,
        type(event.exception).__name__,
        "".join(traceback.format_tb(event.exception.__traceback__)).rstrip(),
    )
    target = update.message or (update.callback_query.message if update.callback_query else None)
    user = (
        update.message.from_user
        if update.message
        else (update.callback_query.from_user if update.callback_query else None)
    )
    if target is None or user is None:
        return True
    i18n = locale_middleware.i18n
    stored = locale_middleware.cache.get(user.id)
    locale = stored if isinstance(stored, str) else locale_middleware.telegram_locale(user)
    with i18n.context(), i18n.use_locale(locale), contextlib.suppress(TelegramAPIError):
        if update.callback_query:
            with contextlib.suppress(TelegramAPIError):
                await update.callback_query.answer()
        await target.answer(
            _(
                "Sorry, something went wrong on our side. What you entered is kept. "
                "Please try again in a minute."
            )
        )
    return True


def create_bot(settings: Settings, metrics: Metrics | None = None) -> Bot:
    session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_url))
    if metrics is not None:
        session.middleware(SentMessagesMiddleware(metrics))  # each message once, finally
    # Retries outside, pacing inside: every attempt waits for its own slot.
    session.middleware(RetryMiddleware(on_retry=metrics.count_retry if metrics else None))
    shared = None
    if settings.redis_url:
        # Several instances: the rate and the chats' pace are counted for all of them.
        from redis.asyncio import Redis

        from bot.limits import SharedLimits

        shared = SharedLimits(
            Redis.from_url(settings.redis_url),
            settings.broadcast_rate,
            chat_burst=settings.chat_burst,
        )
    pacer = Pacer(settings.broadcast_rate, chat_burst=settings.chat_burst, shared=shared)
    session.middleware(PacerMiddleware(pacer))
    if metrics is not None:
        session.middleware(AttemptsMiddleware(metrics))  # every attempt: the 429s
    return Bot(
        token=settings.bot_token.get_secret_value(),
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview_is_disabled=True),
    )


async def create_app(settings: Settings, *, migrate: bool = True) -> App:
    # First: a second bot on one SQLite file stops here, before it touches anything.
    instance_lock = lock_single_instance(settings.database_url)
    try:
        engine = await open_database(
            settings.data_key.get_secret_value(), settings.database_url, migrate=migrate
        )
    except BaseException:
        if instance_lock is not None:
            instance_lock.release()
        raise
    storage, isolation = build_storage(settings, engine)
    if settings.redis_url:
        try:
            await wait_for_redis(getattr(storage, "redis"), settings.redis_url)  # noqa: B009
        except BaseException:
            await storage.close()
            await engine.dispose()
            if instance_lock is not None:
                instance_lock.release()
            raise
    i18n = build_i18n(settings.default_locale)
    metrics = Metrics(backlog=functools.partial(stats.backlog, engine))
    dispatcher = build_dispatcher(
        engine,
        storage,
        isolation,
        i18n,
        draft_retention_days=settings.draft_retention_days,
        admin_ids=frozenset(settings.admin_ids),
        review_mode=settings.review_mode,
        liaison_chat_id=settings.liaison_chat_id,
        broadcast_fallback=tuple(settings.broadcast_fallback),
        metrics=metrics,
        settings=settings,
    )
    return App(settings, engine, storage, i18n, dispatcher, instance_lock, metrics=metrics)


@dataclass
class Running:
    """A started bot, in either mode: what runs beside the updates, and what handlers get."""

    app: App
    bot: Bot
    me: User
    metrics: Metrics
    outbox: OutboxSender
    broadcasts: BroadcastSender
    matcher: Matcher

    @property
    def workflow_data(self) -> dict[str, Any]:
        """The keywords each update is handled with (polling and webhook alike)."""
        return {"outbox": self.outbox, "broadcasts": self.broadcasts, "matcher": self.matcher}

    def health(self) -> Health:
        redis = getattr(self.app.storage, "redis", None)  # RedisStorage's client, if any
        return Health(self.app.engine, self.bot, self.metrics, redis=redis)


class WebhookSetError(Exception):
    """Polling was asked for while Telegram posts this bot's updates to a webhook."""


@contextlib.asynccontextmanager
async def running(settings: Settings, *, polling: bool = False) -> AsyncIterator[Running]:
    """Start-up and shut-down shared by polling and webhook mode: the app, the bot, the
    command menus, the senders (outbox, broadcasts), the matcher and the background jobs.
    A poller first makes sure it is the only one and that no webhook is set."""
    app = await create_app(settings)
    metrics = app.metrics or Metrics(backlog=functools.partial(stats.backlog, app.engine))
    bot = create_bot(settings, metrics)
    background: list[asyncio.Task[None]] = []
    outbox: OutboxSender | None = None
    delivering: asyncio.Task[None] | None = None
    broadcasts: BroadcastSender | None = None
    broadcasting: asyncio.Task[None] | None = None
    poller = PollingLock(app.engine)
    try:
        if polling:
            await poller.acquire()
        me = await bot.get_me()
        log.info("starting as @%s (id %s)", me.username, me.id)
        if polling and (await bot.get_webhook_info()).url:
            # Telegram would answer every getUpdates 409: say why once instead.
            raise WebhookSetError(
                "a webhook is set for this bot, and Telegram does not hand out its updates "
                "by polling meanwhile: run `python -m bot webhook`, or delete the webhook to "
                "poll (see the README, Webhook mode)"
            )
        await register_commands(bot, app.i18n)
        await show_all_staff_menus(
            bot,
            UnitOfWork(app.engine),
            frozenset(settings.admin_ids),
            app.i18n,
            app.dispatcher["staff_menus"],
        )
        outbox = OutboxSender(UnitOfWork(app.engine), bot, app.i18n, bot_username=me.username or "")
        delivering = asyncio.create_task(outbox.run())
        broadcasts = BroadcastSender(
            UnitOfWork(app.engine), bot, app.i18n, rate=settings.broadcast_rate, leads=app.leads
        )
        broadcasting = asyncio.create_task(broadcasts.run())
        background.append(asyncio.create_task(purge_abandoned_drafts(app)))
        background.append(asyncio.create_task(erase_ended_cases(app, outbox)))
        matcher = Matcher(UnitOfWork(app.engine), leadership=app.leadership)
        background.append(asyncio.create_task(matcher.run()))
        yield Running(app, bot, me, metrics, outbox, broadcasts, matcher)
    finally:
        # Let the messages in hand be sent and recorded, so a restart repeats nothing.
        senders = [
            (sender, task)
            for sender, task in ((outbox, delivering), (broadcasts, broadcasting))
            if sender is not None and task is not None
        ]
        for sender, _task in senders:
            sender.stop()
        for _sender, task in senders:
            try:
                await asyncio.wait_for(asyncio.shield(task), OUTBOX_STOP_SECONDS)
            except TimeoutError:
                task.cancel()
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
        await bot.session.close()
        await poller.release()
        await app.close()


async def run_polling(settings: Settings, *, stop: asyncio.Event | None = None) -> None:
    """Run until cancelled (or until `stop` is set, for tests). With HEALTH_LISTEN set,
    /healthz, /readyz and /metrics are served there (bot.serving.health)."""
    async with running(settings, polling=True) as live:
        health = (
            await serve(live.health().application(), settings.health_listen)
            if settings.health_listen
            else None
        )
        try:
            polling = asyncio.create_task(
                live.app.dispatcher.start_polling(
                    live.bot,
                    handle_signals=stop is None,
                    close_bot_session=False,
                    **live.workflow_data,
                )
            )
            if stop is None:
                await polling
            else:
                waiter = asyncio.create_task(stop.wait())
                await asyncio.wait({polling, waiter}, return_when=asyncio.FIRST_COMPLETED)
                if not polling.done():
                    await live.app.dispatcher.stop_polling()
                waiter.cancel()
                await polling
        finally:
            if health is not None:
                await health.cleanup()


PURGE_INTERVAL_SECONDS = 6 * 3600
FOLLOWER_SECONDS = 30  # how often an instance that does not lead asks again
OUTBOX_STOP_SECONDS = 15


async def purge_abandoned_drafts(app: App) -> None:
    """Every few hours, delete unfinished requests untouched for DRAFT_RETENTION_DAYS."""
    if not isinstance(app.storage, SQLAlchemyStorage):
        return  # Redis expires them itself
    while True:
        if not await app.leads():
            await asyncio.sleep(FOLLOWER_SECONDS)  # another instance does it
            continue
        cutoff = datetime.now(UTC) - timedelta(days=app.settings.draft_retention_days)
        try:
            deleted = await app.storage.purge_older_than(cutoff)
            if deleted:
                log.info("deleted %d abandoned drafts", deleted)
        except Exception:
            log.exception("could not delete abandoned drafts; will try again")
        await asyncio.sleep(PURGE_INTERVAL_SECONDS)


RETENTION_INTERVAL_SECONDS = 3600


async def erase_ended_cases(app: App, outbox: OutboxSender | None = None) -> None:
    """Every hour: warn the team a week ahead, then erase the personal data of cases closed
    or reunited CLOSED_RETENTION_DAYS ago (in short transactions; see bot.services.privacy)."""
    days = app.settings.closed_retention_days
    if days <= 0:
        return
    routing = StaffRouting(frozenset(app.settings.admin_ids), app.settings.liaison_chat_id)
    while True:
        if not await app.leads():
            await asyncio.sleep(FOLLOWER_SECONDS)  # another instance does it
            continue
        try:
            run = await privacy.apply_retention(UnitOfWork(app.engine), days, routing)
            if run.warned and outbox is not None:
                outbox.wake()
        except Exception:
            log.exception("could not apply the retention of closed cases; will try again")
        await asyncio.sleep(RETENTION_INTERVAL_SECONDS)
