"""/audit CODE or /audit #12: who did what to a case or a general notice, for admins."""

from __future__ import annotations

from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot.domain.reference import normalize_reference_code
from bot.i18n import _
from bot.services import access
from bot.services.uow import UnitOfWork
from bot.texts.common import format_moment
from handlers.routing import RouterSpec

router = RouterSpec("staff.audit")


@router.message(Command("audit"))
async def audit(
    message: Message, command: CommandObject, uow: UnitOfWork, admin_ids: frozenset[int]
) -> None:
    assert message.from_user
    argument = (command.args or "").strip()
    code = normalize_reference_code(argument)
    if argument.startswith("#") and argument[1:].isdigit():
        code, target = argument, f"broadcast:{int(argument[1:])}"
    elif code is not None:
        target = f"case:{code}"
    else:
        await message.answer(
            _("Please add the reference code: /audit HW-7K3P-9Q (or /audit #12 for a notice)")
        )
        return
    entries = await access.audit_trail(uow, message.from_user.id, admin_ids, target)
    if not entries:
        await message.answer(_("Nothing is recorded for {code}.").format(code=code))
        return
    lines = [_("<b>Audit trail of {code}</b>").format(code=code)]
    for entry in entries[-40:]:
        lines.append(f"{format_moment(entry.created_at)} · {entry.actor_id} · {entry.action}")
    await message.answer("\n".join(lines))
