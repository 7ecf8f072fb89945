"""The second, deliberate press: for approving without a second reviewer, and cancelling."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, Message

from bot.texts.keyboards import Buttons


async def ask_to_confirm(
    query: CallbackQuery, question: str, button: str, confirm: CallbackData
) -> None:
    buttons = Buttons()
    buttons.button(text=button, callback_data=confirm)
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.answer(question, reply_markup=buttons.as_markup())
