"""Command menus in Telegram: the public one, and each staff member's own (per-chat scope)."""

from __future__ import annotations

import contextlib
import logging

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import BotCommand, BotCommandScopeAllPrivateChats, BotCommandScopeChat
from aiogram.utils.i18n import I18n

from bot import SUPPORTED_LOCALES
from bot.domain.roles import Role
from bot.i18n import CatalogI18n
from bot.services import access, families
from bot.services.uow import UnitOfWork
from bot.texts.menus import menu_for

log = logging.getLogger(__name__)


def _commands(role: Role, locale: str, i18n: I18n | None) -> list[BotCommand]:
    def translate(text: str) -> str:
        return i18n.gettext(text, locale=locale) if i18n else text

    return [BotCommand(command=name, description=translate(text)) for name, text in menu_for(role)]


async def register_commands(bot: Bot, i18n: I18n) -> None:
    """The command menu in every language, and in the default one for everyone else."""
    scope = BotCommandScopeAllPrivateChats()
    for language in (None, *SUPPORTED_LOCALES):
        locale = language or i18n.default_locale
        await bot.set_my_commands(
            _commands(Role.NONE, locale, i18n), scope=scope, language_code=language
        )


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
                _commands(role, locale, i18n), scope=scope, language_code=language
            )
    except TelegramAPIError as error:
        # They may never have opened a chat with the bot; the menu follows on their first visit.
        log.warning("no staff menu for %s: %s", user_id, type(error).__name__)


async def forget_staff_menu(bot: Bot, user_id: int) -> None:
    scope = BotCommandScopeChat(chat_id=user_id)
    for language in (None, *SUPPORTED_LOCALES):
        with contextlib.suppress(TelegramAPIError):
            await bot.delete_my_commands(scope=scope, language_code=language)


async def show_all_staff_menus(
    bot: Bot, uow: UnitOfWork, admin_ids: frozenset[int], i18n: CatalogI18n
) -> None:
    """At start-up: admins and liaisons see their extra commands; nobody else does."""
    with i18n.context():
        for member in await access.list_liaisons(uow, admin_ids):
            await show_staff_menu(bot, uow, member.user_id, admin_ids)
