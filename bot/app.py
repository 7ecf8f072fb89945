"""Assembly: engine, storage, dispatcher, bot; and the polling loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import traceback
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
from aiogram.types import ErrorEvent
from sqlalchemy.ext.asyncio import AsyncEngine

from bot import SUPPORTED_LOCALES
from bot.broadcasts import BroadcastSender
from bot.config import Settings
from bot.i18n import CatalogI18n, _, build_i18n
from bot.matcher import Matcher
from bot.menus import register_commands, show_all_staff_menus
from bot.middlewares import LocaleCache, LocaleMiddleware
from bot.outbox import OutboxSender
from bot.pacer import Pacer, PacerMiddleware
from bot.retry import RetryMiddleware
from bot.services.notices import StaffRouting
from bot.services.uow import UnitOfWork
from handlers import get_routers
from storage.db import create_engine
from storage.fsm import SQLAlchemyStorage
from storage.migrate import upgrade_database

log = logging.getLogger(__name__)


@dataclass
class App:
    settings: Settings
    engine: AsyncEngine
    storage: BaseStorage
    i18n: CatalogI18n
    dispatcher: Dispatcher

    async def close(self) -> None:
        await self.storage.close()
        await self.engine.dispose()


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
        )
        return storage, RedisEventIsolation(storage.redis, key_builder=storage.key_builder)
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
        broadcast_fallback=tuple(broadcast_fallback),
        default_locale=i18n.default_locale,
        # Workflow data rather than a middleware: one layer less on every update.
        uow=UnitOfWork(engine),
        **workflow_data,
    )
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


def create_bot(settings: Settings) -> Bot:
    session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_url))
    # Retries outside, pacing inside: every attempt waits for its own slot.
    session.middleware(RetryMiddleware())
    session.middleware(PacerMiddleware(Pacer(settings.broadcast_rate)))
    return Bot(
        token=settings.bot_token.get_secret_value(),
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview_is_disabled=True),
    )


async def create_app(settings: Settings, *, migrate: bool = True) -> App:
    engine = create_engine(settings.database_url)
    if migrate:
        await upgrade_database(engine)
    storage, isolation = build_storage(settings, engine)
    i18n = build_i18n(settings.default_locale)
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
        settings=settings,
    )
    return App(settings, engine, storage, i18n, dispatcher)


async def run_polling(settings: Settings, *, stop: asyncio.Event | None = None) -> None:
    """Run until cancelled (or until `stop` is set, for tests)."""
    app = await create_app(settings)
    bot = create_bot(settings)
    background: list[asyncio.Task[None]] = []
    outbox: OutboxSender | None = None
    delivering: asyncio.Task[None] | None = None
    broadcasts: BroadcastSender | None = None
    broadcasting: asyncio.Task[None] | None = None
    try:
        me = await bot.get_me()
        log.info("starting as @%s (id %s)", me.username, me.id)
        await register_commands(bot, app.i18n)
        await show_all_staff_menus(
            bot, UnitOfWork(app.engine), frozenset(settings.admin_ids), app.i18n
        )
        outbox = OutboxSender(UnitOfWork(app.engine), bot, app.i18n, bot_username=me.username or "")
        delivering = asyncio.create_task(outbox.run())
        broadcasts = BroadcastSender(
            UnitOfWork(app.engine), bot, app.i18n, rate=settings.broadcast_rate
        )
        broadcasting = asyncio.create_task(broadcasts.run())
        background.append(asyncio.create_task(purge_abandoned_drafts(app)))
        matcher = Matcher(UnitOfWork(app.engine))
        background.append(asyncio.create_task(matcher.run()))
        polling = asyncio.create_task(
            app.dispatcher.start_polling(
                bot,
                handle_signals=stop is None,
                close_bot_session=False,
                outbox=outbox,
                broadcasts=broadcasts,
                matcher=matcher,
            )
        )
        if stop is None:
            await polling
        else:
            waiter = asyncio.create_task(stop.wait())
            await asyncio.wait({polling, waiter}, return_when=asyncio.FIRST_COMPLETED)
            if not polling.done():
                await app.dispatcher.stop_polling()
            waiter.cancel()
            await polling
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
        await app.close()


PURGE_INTERVAL_SECONDS = 6 * 3600
OUTBOX_STOP_SECONDS = 15


async def purge_abandoned_drafts(app: App) -> None:
    """Every few hours, delete unfinished requests untouched for DRAFT_RETENTION_DAYS."""
    if not isinstance(app.storage, SQLAlchemyStorage):
        return  # Redis expires them itself
    while True:
        cutoff = datetime.now(UTC) - timedelta(days=app.settings.draft_retention_days)
        try:
            deleted = await app.storage.purge_older_than(cutoff)
            if deleted:
                log.info("deleted %d abandoned drafts", deleted)
        except Exception:
            log.exception("could not delete abandoned drafts; will try again")
        await asyncio.sleep(PURGE_INTERVAL_SECONDS)
