"""The one place that decides whether a staff command or button may run."""

from __future__ import annotations

from typing import Any

from aiogram.filters import Filter
from aiogram.types import CallbackQuery, Message

from bot.services import access
from bot.services.access import Role
from bot.services.uow import UnitOfWork


def command_name(text: str | None) -> str | None:
    """`/grant@homeward_bot 42` -> `grant`; None for anything that is not a command."""
    if not text or not text.startswith("/"):
        return None
    return text[1:].split(maxsplit=1)[0].split("@", 1)[0].lower() or None


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
        if isinstance(event, Message):
            text = event.text or event.caption
            name = command_name(text)
            if name == "start" and "start" in self.commands:
                # Only the deep link of a staff notice ("/start case-HW-...") is ours.
                payload = (text or "").split(maxsplit=1)[1:]
                return "/start case" if payload and payload[0].startswith("case-") else None
            return f"/{name}" if name in self.commands else None
        prefix = (event.data or "").split(":", 1)[0]
        return f"button:{prefix}" if prefix in self.prefixes else None

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
