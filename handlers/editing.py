"""Editing a message in place, only when something changes.

Telegram answers 400 "message is not modified" to an edit that changes nothing; a
pressed button whose result is already on screen needs no call at all.
"""

from __future__ import annotations

import contextlib

from aiogram.exceptions import TelegramBadRequest
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, Message


def _buttons(markup: InlineKeyboardMarkup | None) -> list[list[InlineKeyboardButton]]:
    return markup.inline_keyboard if markup is not None else []


async def edit_in_place(message: Message, text: str, markup: InlineKeyboardMarkup | None) -> None:
    if message.html_text == text and _buttons(message.reply_markup) == _buttons(markup):
        return
    with contextlib.suppress(TelegramBadRequest):  # too old to edit: the old one stays
        await message.edit_text(text, reply_markup=markup)


async def edit_buttons(message: Message, markup: InlineKeyboardMarkup | None) -> None:
    if _buttons(message.reply_markup) == _buttons(markup):
        return
    with contextlib.suppress(TelegramBadRequest):
        await message.edit_reply_markup(reply_markup=markup)
