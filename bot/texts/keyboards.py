"""Inline keyboards from (text, callback data) pairs.

The same few keyboards are sent again and again (each question in each language),
so the markup objects are built once and reused: aiogram's builder deep-copies
every button, which cost more than the rest of a handler.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

Button = tuple[str, str]  # (text, callback data)


@lru_cache(maxsize=4096)
def _markup(rows: tuple[tuple[Button, ...], ...]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=text, callback_data=data) for text, data in row]
            for row in rows
        ]
    )


def keyboard(rows: Iterable[Sequence[Button]]) -> InlineKeyboardMarkup:
    return _markup(tuple(tuple(row) for row in rows if row))


def column(buttons: Iterable[Button]) -> InlineKeyboardMarkup:
    return keyboard([button] for button in buttons)


def grid(buttons: Sequence[Button], width: int = 2) -> InlineKeyboardMarkup:
    return keyboard(buttons[i : i + width] for i in range(0, len(buttons), width))


class Buttons:
    """A light stand-in for aiogram's InlineKeyboardBuilder: collect buttons, then lay them out."""

    def __init__(self) -> None:
        self._buttons: list[Button] = []
        self._width = 1

    def button(self, *, text: str, callback_data: CallbackData | str) -> None:
        data = callback_data if isinstance(callback_data, str) else callback_data.pack()
        self._buttons.append((text, data))

    def adjust(self, width: int) -> None:
        self._width = width

    def as_markup(self) -> InlineKeyboardMarkup:
        return grid(self._buttons, self._width)
