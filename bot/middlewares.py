"""Middlewares: dependencies for handlers, and the reader's language."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, User
from aiogram.utils.i18n import I18n, I18nMiddleware

from bot.services import families
from bot.services.uow import UnitOfWork

_UNKNOWN = object()


class LocaleCache:
    """Stored language choices, kept in memory: most updates need no database read."""

    def __init__(self, size: int = 50_000) -> None:
        self._size = size
        self._items: OrderedDict[int, str | None] = OrderedDict()

    def get(self, user_id: int) -> object:
        value = self._items.get(user_id, _UNKNOWN)
        if value is not _UNKNOWN:
            self._items.move_to_end(user_id)
        return value

    def put(self, user_id: int, locale: str | None) -> None:
        self._items[user_id] = locale
        self._items.move_to_end(user_id)
        while len(self._items) > self._size:
            self._items.popitem(last=False)


class UnitOfWorkMiddleware(BaseMiddleware):
    """Hands every handler the unit of work; each service call is its own transaction."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        data["uow"] = self.uow
        return await handler(event, data)


class LocaleMiddleware(I18nMiddleware):
    """The stored choice first, then Telegram's language, then DEFAULT_LOCALE."""

    def __init__(self, i18n: I18n, cache: LocaleCache) -> None:
        super().__init__(i18n)
        self.cache = cache

    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        user: User | None = data.get("event_from_user")
        if user is None:
            return self.i18n.default_locale
        stored = self.cache.get(user.id)
        if stored is _UNKNOWN:
            known, stored = await families.find_locale(data["uow"], user.id)
            self.cache.put(user.id, stored)
            if not known:
                # Read in this update: nothing is stored about them yet. Handlers can skip
                # work that only concerns stored users (see handlers.family.start).
                data["first_contact"] = True
        if isinstance(stored, str) and stored in self.i18n.available_locales:
            return stored
        return self.telegram_locale(user)

    def telegram_locale(self, user: User) -> str:
        code = (user.language_code or "").split("-")[0].lower()
        return code if code in self.i18n.available_locales else self.i18n.default_locale
