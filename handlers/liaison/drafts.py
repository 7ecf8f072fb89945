"""/ask and /update write drafts; approving one is the only way its text reaches a family."""

from __future__ import annotations

from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from bot.domain.reference import normalize_reference_code
from bot.i18n import N_, _
from bot.outbox import OutboxSender
from bot.services import drafts
from bot.services.drafts import DraftRefused, DraftView, ReviewMode
from bot.services.uow import UnitOfWork
from handlers.callbacks import DraftCb
from handlers.keyboards import Buttons
from handlers.routing import RouterSpec
from handlers.texts import h, too_long

router = RouterSpec("staff.drafts")

DRAFT_COMMANDS = (
    ("ask", N_("Draft a question for the family")),
    ("update", N_("Draft an update for the family")),
    ("decline", N_("Decline a draft, with the reason")),
)

REFUSALS = {
    "not_liaison": N_("Only an active liaison can do this."),
    "no_case": N_("There is no such case."),
    "no_draft": N_("There is no such draft."),
    "closed": N_("The case is closed: nothing more can be sent to the family."),
    "not_pending": N_("This draft has already been approved or declined."),
    "own_draft": N_("A second liaison must approve this draft (four-eyes rule)."),
}


def draft_card(draft: DraftView) -> str:
    kind = _("Question") if draft.kind == "question" else _("Update")
    return _("<b>Draft #{id}</b> · {kind} for {code} · waiting for approval\n\n{text}").format(
        id=draft.id, kind=kind, code=draft.code, text=h(draft.text)
    )


def draft_keyboard(draft: DraftView) -> InlineKeyboardMarkup:
    buttons = Buttons()
    buttons.button(
        text=_("Approve and send"), callback_data=DraftCb(action="approve", draft_id=draft.id)
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
    if len(text) > drafts.MAX_DRAFT:
        await message.answer(too_long(len(text), drafts.MAX_DRAFT))
        return
    try:
        draft = await drafts.create_draft(
            uow, message.from_user.id, admin_ids, code, kind, text, photo
        )
    except DraftRefused as refused:
        await message.answer(_(REFUSALS[refused.reason]))
        return
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
    try:
        draft = await drafts.decline(
            uow, message.from_user.id, admin_ids, int(number), reason.strip()[:500]
        )
    except DraftRefused as refused:
        await message.answer(_(REFUSALS[refused.reason]))
        return
    await message.answer(
        _("Draft #{id} declined. It is kept on the case with the reason.").format(id=draft.id)
    )


@router.callback_query(DraftCb.filter())
async def approve_button(
    query: CallbackQuery,
    callback_data: DraftCb,
    uow: UnitOfWork,
    admin_ids: frozenset[int],
    review_mode: str = "four_eyes",
    outbox: OutboxSender | None = None,
) -> None:
    mode = ReviewMode(review_mode)
    if mode is ReviewMode.SINGLE and callback_data.action == "approve":
        # One-person teams: approving one's own text takes a second, deliberate press.
        buttons = Buttons()
        buttons.button(
            text=_("Yes, send it to the family"),
            callback_data=DraftCb(action="confirm", draft_id=callback_data.draft_id),
        )
        await query.answer()
        if isinstance(query.message, Message):
            await query.message.answer(
                _("Send draft #{id} to the family now? Nobody else will review it.").format(
                    id=callback_data.draft_id
                ),
                reply_markup=buttons.as_markup(),
            )
        return
    try:
        draft = await drafts.approve(
            uow, query.from_user.id, admin_ids, callback_data.draft_id, mode
        )
    except DraftRefused as refused:
        await query.answer(_(REFUSALS[refused.reason]), show_alert=True)
        return
    await query.answer(_("Approved. It is on its way to the family."))
    if outbox is not None:
        outbox.wake()
    if isinstance(query.message, Message):
        await query.message.answer(
            _("Draft #{id} for {code} approved and queued for delivery.").format(
                id=draft.id, code=draft.code
            )
        )
