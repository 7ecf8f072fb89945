"""Whatever no other handler understood."""

from __future__ import annotations

from aiogram.types import CallbackQuery, Message

from bot.i18n import _
from handlers.routing import RouterSpec
from handlers.texts import menu_keyboard

router = RouterSpec("family.fallback")


def unknown_text() -> str:
    return _("Sorry, I did not understand. Please choose what you want to do, or send /help.")


@router.message()
async def unknown_message(message: Message) -> None:
    await message.answer(unknown_text(), reply_markup=menu_keyboard())


@router.callback_query()
async def unknown_button(query: CallbackQuery) -> None:
    await query.answer(_("This button is no longer active."))
