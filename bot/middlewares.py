"""The reader's language for every update. (Handlers get the unit of work as workflow data,
`uow` in bot.app.build_dispatcher: each service call is its own transaction.)"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from aiogram.types import TelegramObject, User
from aiogram.utils.i18n import I18n, I18nMiddleware

from bot.services import families

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
