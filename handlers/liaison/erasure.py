"""/erase CODE reason: a liaison asks to erase a case's personal data; an admin (another
person) approves or declines it with the buttons of the notice. Liaisons only (StaffOnly);
the service checks again that the one who decides is an admin."""

from __future__ import annotations

import contextlib

from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Message

from bot.domain.reference import normalize_reference_code
from bot.i18n import _
from bot.outbox import OutboxSender
from bot.services import privacy
from bot.services.privacy import ErasureView
from bot.services.uow import UnitOfWork
from bot.texts.callbacks import ErasureAction, ErasureCb
from bot.texts.common import h
from handlers.routing import RouterSpec

router = RouterSpec("staff.erasure")


@router.message(Command("erase"))
async def erase(
    message: Message,
    command: CommandObject,
    uow: UnitOfWork,
    admin_ids: frozenset[int],
    outbox: OutboxSender | None = None,
) -> None:
    assert message.from_user
    code_part, _sep, reason = (command.args or "").strip().partition(" ")
    code = normalize_reference_code(code_part)
    reason = reason.strip()
    if code is None or not reason:
        await message.answer(
            _(
                "Please write: /erase HW-7K3P-9Q and the reason. An admin approves the "
                "erasure; it cannot be undone. Write no personal data in the reason: it stays "
                "on the case."
            )
        )
        return
    view = await privacy.request_erasure(uow, message.from_user.id, admin_ids, code, reason)
    if outbox is not None:
        outbox.wake()
    await message.answer(
        _(
            "Erasure request #{id} for case {code} is waiting for an admin’s approval "
            "(another admin than the one who asks). Reason: {reason}"
        ).format(id=view.id, code=view.code, reason=h(view.reason))
    )


def _decided(view: ErasureView) -> str:
    if view.state == "approved":
        return _(
            "Erasure request #{id} approved: the personal data of case {code} has been erased."
        ).format(id=view.id, code=view.code)
    return _("Erasure request #{id} for case {code} declined: nothing was erased.").format(
        id=view.id, code=view.code
    )


@router.callback_query(ErasureCb.filter())
async def decide(
    query: CallbackQuery, callback_data: ErasureCb, uow: UnitOfWork, admin_ids: frozenset[int]
) -> None:
    approve = callback_data.action == ErasureAction.APPROVE
    view = await privacy.decide_erasure(
        uow, query.from_user.id, admin_ids, callback_data.erasure_id, approve=approve
    )
    await query.answer()
    if isinstance(query.message, Message):
        with contextlib.suppress(TelegramBadRequest):
            await query.message.edit_reply_markup(reply_markup=None)
        await query.message.answer(_decided(view))
