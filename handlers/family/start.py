"""Greeting, menu, language, help and privacy."""

from __future__ import annotations

from aiogram import Bot
from aiogram.filters import CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot.i18n import _
from bot.menus import StaffMenus
from bot.middlewares import LocaleCache, LocaleMiddleware
from bot.services import families
from bot.services.uow import UnitOfWork
from handlers.callbacks import LanguageCb, MenuAction, MenuCb
from handlers.family.states import Intake
from handlers.filters import Cmd, Pressed, Start
from handlers.routing import RouterSpec
from handlers.texts import (
    LANGUAGE_NAMES,
    help_text,
    language_keyboard,
    menu_keyboard,
    privacy_text,
    welcome_text,
)

router = RouterSpec("family.start")


@router.message(Start())
async def start(
    message: Message,
    state: FSMContext,
    uow: UnitOfWork,
    bot: Bot,
    staff_menus: StaffMenus | None = None,
    first_contact: bool = False,
) -> None:
    # Someone of whom nothing is stored cannot have been marked unreachable.
    if message.from_user is not None and not first_contact:
        await families.mark_reachable(uow, message.from_user.id)
    text = welcome_text()
    if await state.get_state() == Intake.active.state:
        text += "\n\n" + _("You have an unfinished request. Send /new to continue it.")
    await message.answer(text, reply_markup=menu_keyboard())
    if staff_menus is not None and message.from_user is not None:
        # A staff member whose menu Telegram refused before they opened this chat (an
        # admin who never wrote): one set lookup for everyone else.
        await staff_menus.visit(bot, uow, message.from_user.id)


@router.message(Cmd("help"))
async def show_help(message: Message) -> None:
    await message.answer(help_text(), reply_markup=menu_keyboard())


@router.message(Cmd("privacy"))
async def show_privacy(message: Message, draft_retention_days: int) -> None:
    await message.answer(privacy_text(draft_retention_days))


@router.message(Cmd("notices"))
async def notices(message: Message, command: CommandObject, uow: UnitOfWork) -> None:
    assert message.from_user
    choice = (command.args or "").strip().lower()
    if choice not in {"on", "off"}:
        await message.answer(
            _(
                "Send /notices off to stop general notices, or /notices on to receive them again. "
                "News and messages about your own requests always arrive."
            )
        )
        return
    await families.set_notices(uow, message.from_user.id, choice == "on")
    if choice == "on":
        await message.answer(_("General notices are on."))
    else:
        await message.answer(
            _(
                "General notices are off. "
                "News and messages about your own requests will still arrive."
            )
        )


@router.message(Cmd("language"))
async def choose_language(message: Message) -> None:
    await message.answer(_("Choose the language:"), reply_markup=language_keyboard())


@router.callback_query(Pressed(LanguageCb))
async def set_language(
    query: CallbackQuery,
    callback_data: LanguageCb,
    uow: UnitOfWork,
    i18n_middleware: LocaleMiddleware,
    locale_cache: LocaleCache,
) -> None:
    if callback_data.locale not in LANGUAGE_NAMES:
        await query.answer()
        return
    await families.set_locale(uow, query.from_user.id, callback_data.locale)
    locale_cache.put(query.from_user.id, callback_data.locale)
    with i18n_middleware.i18n.use_locale(callback_data.locale):
        await query.answer()
        if query.message is not None:
            await query.message.answer(
                _("Done. I will write to you in English from now on."), reply_markup=menu_keyboard()
            )


@router.callback_query(Pressed(MenuCb, action=MenuAction.HELP))
async def help_button(query: CallbackQuery) -> None:
    await query.answer()
    if query.message is not None:
        await query.message.answer(help_text())


@router.callback_query(Pressed(MenuCb, action=MenuAction.PRIVACY))
async def privacy_button(query: CallbackQuery, draft_retention_days: int) -> None:
    await query.answer()
    if query.message is not None:
        await query.message.answer(privacy_text(draft_retention_days))


@router.callback_query(Pressed(MenuCb, action=MenuAction.LANGUAGE))
async def language_button(query: CallbackQuery) -> None:
    await query.answer()
    if query.message is not None:
        await query.message.answer(_("Choose the language:"), reply_markup=language_keyboard())
