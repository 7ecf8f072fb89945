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
) -> bool | None:
    """Give one staff member their command menu, in their language: True when it is set,
    False when Telegram refused it (retry later), None when they are not on the team."""
    role = await access.role_of(uow, user_id, admin_ids)
    if role is Role.NONE:
        return None
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
        # They may never have opened a chat with the bot ("chat not found"): StaffMenus
        # tries again on their next /start.
        log.warning("no staff menu for %s: %s", user_id, type(error).__name__)
        return False
    return True


async def forget_staff_menu(bot: Bot, user_id: int) -> None:
    scope = BotCommandScopeChat(chat_id=user_id)
    for language in (None, *SUPPORTED_LOCALES):
        with contextlib.suppress(TelegramAPIError):
            await bot.delete_my_commands(scope=scope, language_code=language)


class StaffMenus:
    """Which staff members' own menus this process has set, and whose are still missing.

    Telegram sets a chat's menu only once the person has opened a chat with the bot; before
    that it answers "chat not found" (an admin added to ADMIN_IDS who never wrote, a liaison
    granted by id). Their menu is then set on their next /start or staff command. Kept in
    memory: a visit costs one set lookup, no database read and no call to Telegram once the
    menu is in place. A restart sets every menu again at start-up anyway.
    """

    def __init__(self, admin_ids: frozenset[int]) -> None:
        self.admin_ids = frozenset(admin_ids)
        self._shown: set[int] = set()
        self._missing: set[int] = set()  # staff whose menu Telegram refused

    def is_missing(self, user_id: int) -> bool:
        return user_id not in self._shown and (
            user_id in self.admin_ids or user_id in self._missing
        )

    async def show(self, bot: Bot, uow: UnitOfWork, user_id: int) -> None:
        """Set the menu now (start-up, /grant, /join); if refused, on the next visit."""
        try:
            shown = await show_staff_menu(bot, uow, user_id, self.admin_ids)
        except Exception as error:  # a menu is never worth failing the update for
            log.warning("no staff menu for %s: %s", user_id, type(error).__name__)
            shown = False
        if shown:
            self._shown.add(user_id)
            self._missing.discard(user_id)
        elif shown is None:  # not on the team (any more)
            self._shown.discard(user_id)
            self._missing.discard(user_id)
        else:
            self._shown.discard(user_id)
            self._missing.add(user_id)

    async def visit(self, bot: Bot, uow: UnitOfWork, user_id: int) -> None:
        """A staff member wrote (/start, a staff command): set their menu if it is missing."""
        if self.is_missing(user_id):
            await self.show(bot, uow, user_id)

    async def forget(self, bot: Bot, user_id: int) -> None:
        """A revoked liaison: the staff commands leave their menu."""
        self._shown.discard(user_id)
        self._missing.discard(user_id)
        await forget_staff_menu(bot, user_id)


async def show_all_staff_menus(
    bot: Bot,
    uow: UnitOfWork,
    admin_ids: frozenset[int],
    i18n: CatalogI18n,
    menus: StaffMenus | None = None,
) -> None:
    """At start-up: admins and liaisons see their extra commands; nobody else does."""
    menus = menus or StaffMenus(admin_ids)
    with i18n.context():
        for member in await access.list_liaisons(uow, admin_ids):
            await menus.show(bot, uow, member.user_id)
