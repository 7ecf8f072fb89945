"""/audit CODE, /audit #12, /audit 123456789: who did what to a case or a general notice,
or what one person did (which cases they read), for admins."""

from __future__ import annotations

from collections.abc import Callable

from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot.domain.reference import normalize_reference_code
from bot.i18n import _
from bot.services import access
from bot.services.access import AuditExcerpt, AuditView
from bot.services.uow import UnitOfWork
from bot.texts.audit import person_line, shown_note, trail_line
from handlers.routing import RouterSpec

router = RouterSpec("staff.audit")
# Telegram takes 4096 characters; the markup counts here too, so this leaves room.
MESSAGE_BUDGET = 3800


def _render(title: str, excerpt: AuditExcerpt, line: Callable[[AuditView], str]) -> str:
    """The title, a note on what is shown, and as many lines as fit in one message."""
    lines: list[str] = []
    size = len(title) + 200
    for entry in excerpt.entries:
        text = line(entry)
        size += len(text) + 1
        if size > MESSAGE_BUDGET:
            break
        lines.append(text)
    return "\n".join([title, shown_note(len(lines), excerpt.total), *lines])


def _user_id(argument: str) -> int | None:
    """A Telegram user id: digits, or @ and digits (six digits alone read as a code)."""
    digits = argument.removeprefix("@")
    return int(digits) if digits.isdigit() and 0 < int(digits) < 2**63 else None


@router.message(Command("audit"))
async def audit(
    message: Message, command: CommandObject, uow: UnitOfWork, admin_ids: frozenset[int]
) -> None:
    assert message.from_user
    argument = (command.args or "").strip()
    code = normalize_reference_code(argument)
    user_id = _user_id(argument)
    if argument.startswith("#") and argument[1:].isdigit():
        code, target = argument, f"broadcast:{int(argument[1:])}"
    elif user_id is not None and (code is None or argument.startswith("@")):
        await _person(message, uow, admin_ids, user_id)
        return
    elif code is not None:
        target = f"case:{code}"
    else:
        await message.answer(
            _(
                "Please add what to look up: /audit HW-7K3P-9Q for a case, /audit #12 for a "
                "notice, /audit 123456789 for what one person did"
            )
        )
        return
    excerpt = await access.recent_audit(uow, message.from_user.id, admin_ids, target=target)
    if not excerpt.entries:
        await message.answer(_("Nothing is recorded for {code}.").format(code=code))
        return
    title = _("<b>Audit trail of {code}</b>").format(code=code)
    await message.answer(_render(title, excerpt, trail_line))


async def _person(
    message: Message, uow: UnitOfWork, admin_ids: frozenset[int], user_id: int
) -> None:
    assert message.from_user
    excerpt = await access.recent_audit(uow, message.from_user.id, admin_ids, user_id=user_id)
    if not excerpt.entries:
        await message.answer(_("Nothing is recorded for user {user_id}.").format(user_id=user_id))
        return
    title = _("<b>Actions of user {user_id}</b>").format(user_id=user_id)
    await message.answer(_render(title, excerpt, person_line))
