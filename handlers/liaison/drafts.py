"""/ask and /update write drafts; approving one is the only way its text reaches a family."""

from __future__ import annotations

from aiogram import F
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from bot.domain.reference import normalize_reference_code
from bot.domain.review import ReviewMode, needs_confirmation
from bot.i18n import _
from bot.outbox import OutboxSender
from bot.services import drafts
from bot.services.drafts import DraftView
from bot.services.uow import UnitOfWork
from bot.texts.callbacks import DraftAction, DraftCb
from bot.texts.common import h
from bot.texts.keyboards import Buttons
from handlers.liaison.confirm import ask_to_confirm
from handlers.routing import RouterSpec

router = RouterSpec("staff.drafts")


def draft_card(draft: DraftView) -> str:
    kind = _("Question") if draft.kind == "question" else _("Update")
    return _("<b>Draft #{id}</b> · {kind} for {code} · waiting for approval\n\n{text}").format(
        id=draft.id, kind=kind, code=draft.code, text=h(draft.text)
    )


def draft_keyboard(draft: DraftView) -> InlineKeyboardMarkup:
    buttons = Buttons()
    buttons.button(
        text=_("Approve and send"),
        callback_data=DraftCb(action=DraftAction.APPROVE, draft_id=draft.id),
    )
    return buttons.as_markup()


async def _create(
    message: Message, command: CommandObject, uow: UnitOfWork, admin_ids: frozenset[int], kind: str
) -> None:
    assert message.from_user
    code_part, _sep, text = (command.args or "").strip().partition(" ")
    code = normalize_reference_code(code_part)
    text = text.strip()
    photo = message.photo[-1].file_id if message.photo else None
    if code is None or not text:
        await message.answer(
            _("Please write: /{command} HW-7K3P-9Q and the text").format(command=command.command)
        )
        return
    draft = await drafts.create_draft(uow, message.from_user.id, admin_ids, code, kind, text, photo)
    await message.answer(draft_card(draft), reply_markup=draft_keyboard(draft))


@router.message(Command("ask"))
async def ask(
    message: Message, command: CommandObject, uow: UnitOfWork, admin_ids: frozenset[int]
) -> None:
    await _create(message, command, uow, admin_ids, "question")


@router.message(Command("update"))
async def update(
    message: Message, command: CommandObject, uow: UnitOfWork, admin_ids: frozenset[int]
) -> None:
    await _create(message, command, uow, admin_ids, "update")


@router.message(Command("decline"))
async def decline(
    message: Message, command: CommandObject, uow: UnitOfWork, admin_ids: frozenset[int]
) -> None:
    assert message.from_user
    number, _sep, reason = (command.args or "").strip().lstrip("#").partition(" ")
    if not number.isdigit() or not reason.strip():
        await message.answer(_("Please write: /decline 12 and the reason"))
        return
    draft = await drafts.decline(uow, message.from_user.id, admin_ids, int(number), reason.strip())
    await message.answer(
        _("Draft #{id} declined. It is kept on the case with the reason.").format(id=draft.id)
    )


@router.callback_query(DraftCb.filter(F.action == DraftAction.APPROVE))
async def approve_button(
    query: CallbackQuery,
    callback_data: DraftCb,
    uow: UnitOfWork,
    admin_ids: frozenset[int],
    review_mode: str = ReviewMode.FOUR_EYES,
    outbox: OutboxSender | None = None,
) -> None:
    if needs_confirmation(ReviewMode(review_mode)):
        await ask_to_confirm(
            query,
            _("Send draft #{id} to the family now? Nobody else will review it.").format(
                id=callback_data.draft_id
            ),
            _("Yes, send it to the family"),
            DraftCb(action=DraftAction.CONFIRM, draft_id=callback_data.draft_id),
        )
        return
    await _approve(query, callback_data, uow, admin_ids, ReviewMode(review_mode), outbox)


@router.callback_query(DraftCb.filter(F.action == DraftAction.CONFIRM))
async def confirm_button(
    query: CallbackQuery,
    callback_data: DraftCb,
    uow: UnitOfWork,
    admin_ids: frozenset[int],
    review_mode: str = ReviewMode.FOUR_EYES,
    outbox: OutboxSender | None = None,
) -> None:
    await _approve(query, callback_data, uow, admin_ids, ReviewMode(review_mode), outbox)


async def _approve(
    query: CallbackQuery,
    callback_data: DraftCb,
    uow: UnitOfWork,
    admin_ids: frozenset[int],
    mode: ReviewMode,
    outbox: OutboxSender | None,
) -> None:
    draft = await drafts.approve(uow, query.from_user.id, admin_ids, callback_data.draft_id, mode)
    await query.answer(_("Approved. It is on its way to the family."))
    if outbox is not None:
        outbox.wake()
    if isinstance(query.message, Message):
        await query.message.answer(
            _("Draft #{id} for {code} approved and queued for delivery.").format(
                id=draft.id, code=draft.code
            )
        )
