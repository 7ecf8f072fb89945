"""Filters that run on the event loop, and cheap ones for the checks every update passes.

aiogram 3 evaluates a bare magic filter (`F.text`) as a synchronous callable in a
worker thread (`asyncio.to_thread`), a thread hop per check on every update. `If`
wraps the same expression in an async Filter, so it is checked in place.

An update is offered to the handlers of a router one after another until one accepts
it: a typed answer passes every command handler first, a press of the intake's last
button every other button's handler. `Cmd`, `Start` and `Pressed` turn those away with
a string comparison; only an update that can match is parsed, exactly as aiogram's
`Command`, `CommandStart` and `CallbackData.filter` would parse it.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from aiogram import Bot
from aiogram.filters import Command, CommandStart, Filter
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, Message
from magic_filter import MagicFilter


class If(Filter):
    def __init__(self, magic: MagicFilter) -> None:
        self.magic = magic

    async def __call__(self, event: Any) -> bool:
        return bool(self.magic.resolve(event))

    def __str__(self) -> str:
        return f"If({self.magic!r})"


def _may_be_command(message: Message, prefix: str) -> bool:
    """False when the text cannot be a command: its first visible character (the one
    Command.extract_command takes for the prefix) is no command prefix."""
    if not isinstance(message, Message):
        return False
    text = message.text or message.caption
    return bool(text) and text.lstrip()[:1] in prefix  # type: ignore[union-attr]


class Cmd(Command):
    """aiogram's `Command`; text that is no command is turned away before parsing."""

    async def __call__(self, message: Message, bot: Bot) -> bool | dict[str, Any]:
        if not _may_be_command(message, self.prefix):
            return False
        return await super().__call__(message, bot)


class Start(CommandStart):
    """aiogram's `CommandStart`; text that is no command is turned away before parsing."""

    async def __call__(self, message: Message, bot: Bot) -> bool | dict[str, Any]:
        if not _may_be_command(message, self.prefix):
            return False
        return await super().__call__(message, bot)


class Pressed(Filter):
    """`factory.filter(F.<field> == value)` for the factory's first field, or
    `factory.filter()`, with the raw callback data compared first.

    `CallbackData.filter` validates a whole model before it compares anything; here a
    press of another factory's button, or of another action's, is one string comparison.
    Packed fields are separated by the separator, which no prefix or value may hold, so
    the comparison turns away only data the unpacked rule would refuse.
    """

    def __init__(self, factory: type[CallbackData], **first: Enum | str) -> None:
        fields = list(factory.model_fields)
        if len(first) > 1 or (first and next(iter(first)) != fields[0]):
            raise ValueError(f"Pressed compares the first field of {factory.__name__} only")
        self.factory = factory
        self.rule = next(iter(first.items()), None)
        separator = factory.__separator__
        head = factory.__prefix__
        if self.rule is not None:
            value = self.rule[1]
            head += separator + str(value.value if isinstance(value, Enum) else value)
        self._whole = head  # when the first field is also the last
        self._start = head + separator

    async def __call__(self, query: CallbackQuery) -> bool | dict[str, Any]:
        data = query.data
        if not data or not (data.startswith(self._start) or data == self._whole):
            return False
        try:
            callback_data = self.factory.unpack(data)
        except (TypeError, ValueError):
            return False
        if self.rule is not None and getattr(callback_data, self.rule[0]) != self.rule[1]:
            return False
        return {"callback_data": callback_data}

    def __str__(self) -> str:
        rule = f", {self.rule[0]}={self.rule[1]!r}" if self.rule else ""
        return f"Pressed({self.factory.__name__}{rule})"
