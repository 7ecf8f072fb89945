"""/audit CODE: who did what to a case, for admins."""

from __future__ import annotations

from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot.domain.reference import normalize_reference_code
from bot.i18n import N_, _
from bot.services import access
from bot.services.uow import UnitOfWork
from handlers.routing import RouterSpec

router = RouterSpec("staff.audit")

AUDIT_COMMANDS = (("audit", N_("Audit trail of a case")),)


@router.message(Command("audit"))
async def audit(
    message: Message, command: CommandObject, uow: UnitOfWork, admin_ids: frozenset[int]
) -> None:
    assert message.from_user
    code = normalize_reference_code(command.args or "")
    if code is None:
        await message.answer(_("Please add the reference code: /audit HW-7K3P-9Q"))
        return
    entries = await access.audit_trail(uow, message.from_user.id, admin_ids, f"case:{code}")
    if not entries:
        await message.answer(_("Nothing is recorded for {code}.").format(code=code))
        return
    lines = [_("<b>Audit trail of {code}</b>").format(code=code)]
    for entry in entries[-40:]:
        stamp = entry.created_at.strftime("%Y-%m-%d %H:%M UTC")
        lines.append(f"{stamp} · {entry.actor_id} · {entry.action}")
    await message.answer("\n".join(lines))
