"""Staff command menus, visible only in the chats of staff (per-chat command scope)."""

from __future__ import annotations

import contextlib
import logging

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import BotCommand, BotCommandScopeChat
from aiogram.utils.i18n import I18n

from bot import SUPPORTED_LOCALES
from bot.services import access, families
from bot.services.access import Role
from bot.services.uow import UnitOfWork

log = logging.getLogger(__name__)


def staff_commands(role: Role, locale: str) -> list[BotCommand]:
    from bot.app import FAMILY_COMMANDS
    from handlers.liaison.admin import ADMIN_COMMANDS
    from handlers.liaison.broadcasts import BROADCAST_COMMANDS
    from handlers.liaison.cases import LIAISON_COMMANDS
    from handlers.liaison.drafts import DRAFT_COMMANDS

    i18n = I18n.get_current(no_error=True)
    entries = [*FAMILY_COMMANDS, *LIAISON_COMMANDS, *DRAFT_COMMANDS, *BROADCAST_COMMANDS]
    if role >= Role.ADMIN:
        from handlers.liaison.audit import AUDIT_COMMANDS

        entries += list(ADMIN_COMMANDS) + list(AUDIT_COMMANDS)
    translate = (lambda text: i18n.gettext(text, locale=locale)) if i18n else (lambda t: t)
    return [BotCommand(command=name, description=translate(text)) for name, text in entries]


async def show_staff_menu(
    bot: Bot, uow: UnitOfWork, user_id: int, admin_ids: frozenset[int]
) -> None:
    """Give one staff member their command menu, in their language."""
    role = await access.role_of(uow, user_id, admin_ids)
    if role is Role.NONE:
        return
    i18n = I18n.get_current(no_error=True)
    default = i18n.default_locale if i18n else "en"
    chosen = await families.get_locale(uow, user_id)
    scope = BotCommandScopeChat(chat_id=user_id)
    # A language chosen with /language wins; otherwise each client language gets its own
    # menu, as the public one does.
    languages: list[str | None] = [None] if chosen else [None, *SUPPORTED_LOCALES]
    try:
        for language in languages:
            locale = chosen or language or default
            await bot.set_my_commands(
                staff_commands(role, locale), scope=scope, language_code=language
            )
    except TelegramAPIError as error:
        # They may never have opened a chat with the bot; the menu follows on their first visit.
        log.warning("no staff menu for %s: %s", user_id, type(error).__name__)


async def forget_staff_menu(bot: Bot, user_id: int) -> None:
    scope = BotCommandScopeChat(chat_id=user_id)
    for language in (None, *SUPPORTED_LOCALES):
        with contextlib.suppress(TelegramAPIError):
            await bot.delete_my_commands(scope=scope, language_code=language)
