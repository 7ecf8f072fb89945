"""The one place that decides whether a staff command or button may run."""

from __future__ import annotations

from typing import Any

from aiogram.filters import Filter
from aiogram.types import CallbackQuery, Message

from bot.domain.roles import Role
from bot.services import access
from bot.services.uow import UnitOfWork


def command_name(text: str | None) -> str | None:
    """`/grant@homeward_bot 42` -> `grant`; None for anything that is not a command."""
    if not text or not text.startswith("/"):
        return None
    return text[1:].split(maxsplit=1)[0].split("@", 1)[0].lower() or None


def staff_action(
    event: Message | CallbackQuery, commands: frozenset[str], prefixes: frozenset[str]
) -> str | None:
    """The staff action an update asks for ("/case", "button:cs1"), or None."""
    if isinstance(event, Message):
        if event.chat.type != "private":
            return None
        text = event.text or event.caption
        name = command_name(text)
        if name == "start" and "start" in commands:
            # Only the deep link of a staff notice ("/start case-HW-...") is ours.
            payload = (text or "").split(maxsplit=1)[1:]
            return "/start case" if payload and payload[0].startswith("case-") else None
        return f"/{name}" if name in commands else None
    if not isinstance(event.message, Message) or event.message.chat.type != "private":
        return None
    prefix = (event.data or "").split(":", 1)[0]
    return f"button:{prefix}" if prefix in prefixes else None


class StaffTraffic(Filter):
    """The staff router's first gate, without a database read: is this a staff command or
    button in a private chat at all? Every family update leaves the staff side here."""

    def __init__(self, commands: frozenset[str], prefixes: frozenset[str]) -> None:
        self.commands = commands
        self.prefixes = prefixes

    async def __call__(self, event: Message | CallbackQuery) -> bool:
        return staff_action(event, self.commands, self.prefixes) is not None


class StaffOnly(Filter):
    """Passes staff commands and buttons from people with at least `role`.

    For anyone else the update is not ours: it falls through to the family side and gets
    the same answer as any unknown command or stale button, and the attempt is audited.
    Updates that are no staff command or button pass by without a database read.
    """

    def __init__(self, role: Role, commands: frozenset[str], prefixes: frozenset[str]) -> None:
        self.role = role
        self.commands = commands
        self.prefixes = prefixes

    def _action(self, event: Message | CallbackQuery) -> str | None:
        return staff_action(event, self.commands, self.prefixes)

    async def __call__(
        self,
        event: Message | CallbackQuery,
        uow: UnitOfWork,
        admin_ids: frozenset[int],
        **_: Any,
    ) -> bool:
        action = self._action(event)
        if action is None or event.from_user is None:
            return False
        if await access.role_of(uow, event.from_user.id, admin_ids) >= self.role:
            return True
        await access.record_refusal(uow, event.from_user.id, action)
        return False
