"""A staff member's own command menu, set when it is missing as they use a staff command."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, User

from bot.menus import StaffMenus


class ShowMissingMenu(BaseMiddleware):
    """Inner middleware of the staff router: runs only for staff who passed its filters.

    Telegram refuses a menu for a chat the person never opened (an admin who had not
    written yet at start-up); the first staff command they send sets it. Costs one set
    lookup when the menu is in place."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        menus: StaffMenus | None = data.get("staff_menus")
        user: User | None = data.get("event_from_user")
        if menus is not None and user is not None and menus.is_missing(user.id):
            await menus.show(data["bot"], data["uow"], user.id)
        return await handler(event, data)
