"""/join CODE: anyone with a valid invite becomes a liaison."""

from __future__ import annotations

from aiogram import Bot
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot.i18n import _
from bot.menus import StaffMenus
from bot.services import access
from bot.services.uow import UnitOfWork
from handlers.routing import RouterSpec

router = RouterSpec("staff.join")


@router.message(Command("join"))
async def join(
    message: Message, command: CommandObject, uow: UnitOfWork, bot: Bot, staff_menus: StaffMenus
) -> None:
    assert message.from_user
    if not command.args or not await access.redeem_invite(uow, message.from_user.id, command.args):
        await message.answer(_("This invite code is not valid or has expired."))
        return
    await staff_menus.show(bot, uow, message.from_user.id)
    await message.answer(_("Welcome to the liaison team. Your commands are in the menu."))
