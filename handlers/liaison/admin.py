"""Admin commands: who is on the liaison team."""

from __future__ import annotations

from aiogram import Bot
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot.i18n import _, format_day
from bot.menus import StaffMenus
from bot.services import access
from bot.services.uow import UnitOfWork
from handlers.routing import RouterSpec

router = RouterSpec("staff.admin")


def _user_id(command: CommandObject) -> int | None:
    raw = (command.args or "").strip()
    return int(raw) if raw.isdigit() and 0 < int(raw) < 2**63 else None


@router.message(Command("grant"))
async def grant(
    message: Message,
    command: CommandObject,
    uow: UnitOfWork,
    bot: Bot,
    admin_ids: frozenset[int],
    staff_menus: StaffMenus,
) -> None:
    assert message.from_user
    user_id = _user_id(command)
    if user_id is None:
        await message.answer(_("Please add the Telegram user id: /grant 123456789"))
        return
    if await access.grant(uow, message.from_user.id, user_id, admin_ids):
        await staff_menus.show(bot, uow, user_id)
        await message.answer(_("User {user_id} is now a liaison.").format(user_id=user_id))
    else:
        await message.answer(_("User {user_id} is already a liaison.").format(user_id=user_id))


@router.message(Command("revoke"))
async def revoke(
    message: Message,
    command: CommandObject,
    uow: UnitOfWork,
    bot: Bot,
    admin_ids: frozenset[int],
    staff_menus: StaffMenus,
) -> None:
    assert message.from_user
    user_id = _user_id(command)
    if user_id is None:
        await message.answer(_("Please add the Telegram user id: /revoke 123456789"))
        return
    if user_id in admin_ids:
        await message.answer(
            _("User {user_id} is an admin. Admins are set in ADMIN_IDS.").format(user_id=user_id)
        )
        return
    if await access.revoke(uow, message.from_user.id, user_id, admin_ids):
        await staff_menus.forget(bot, user_id)
        await message.answer(_("User {user_id} is no longer a liaison.").format(user_id=user_id))
    else:
        await message.answer(_("User {user_id} is not a liaison.").format(user_id=user_id))


@router.message(Command("liaisons"))
async def liaisons(message: Message, uow: UnitOfWork, admin_ids: frozenset[int]) -> None:
    assert message.from_user
    team = await access.team(uow, message.from_user.id, admin_ids)
    lines = [_("<b>The liaison team</b>")]
    for member in team:
        if member.is_admin:
            lines.append(_("<code>{user_id}</code>: admin").format(user_id=member.user_id))
        else:
            lines.append(
                _("<code>{user_id}</code>: liaison since {date}").format(
                    user_id=member.user_id, date=format_day(member.granted_at)
                )
            )
    await message.answer("\n".join(lines))


@router.message(Command("invite"))
async def invite(message: Message, uow: UnitOfWork, admin_ids: frozenset[int]) -> None:
    assert message.from_user
    code, expires = await access.create_invite(uow, message.from_user.id, admin_ids)
    await message.answer(
        _(
            "One-time invite code: <code>{code}</code>\n"
            "It is valid for 24 hours. The new liaison sends <code>/join {code}</code> "
            "to this bot in a private chat. Pass the code on only to the person it is for."
        ).format(code=code)
    )
    del expires  # shown as "24 hours"; the exact time is in the audit log
