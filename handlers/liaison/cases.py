"""/case and /note, and the buttons on a case card. Liaisons only (see StaffOnly)."""

from __future__ import annotations

import contextlib

from aiogram import F
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, InputMediaPhoto, Message

from bot.domain import intake
from bot.domain.reference import normalize_reference_code
from bot.domain.states import DraftState
from bot.domain.statuses import CloseReason, RequestStatus
from bot.i18n import _, format_day
from bot.outbox import FAMILY_TEMPLATES, OutboxSender
from bot.services import cases
from bot.services.cases import CaseView
from bot.services.refusal import Refused
from bot.services.uow import UnitOfWork
from bot.texts.callbacks import CaseAction, CaseCb, DraftAction, DraftCb
from bot.texts.common import close_reason_label, format_moment, h, status_label
from bot.texts.keyboards import Buttons
from bot.texts.privacy import erased_label
from bot.texts.tracing import add_match_buttons, match_section
from handlers.family.intake import display_value
from handlers.routing import RouterSpec

router = RouterSpec("staff.cases")
_FIELD_LIMIT = 300  # long answers are cut on the card; nothing is cut in storage


def _clip(text: str) -> str:
    return text if len(text) <= _FIELD_LIMIT else text[: _FIELD_LIMIT - 1] + "…"


def render_card(case: CaseView) -> str:
    status = status_label(case.status)
    if case.status is RequestStatus.CLOSED:
        status += f" ({close_reason_label(case.close_reason)})"
    flags = []
    if case.now_adult:
        flags.append(_("now an adult"))
    if case.answers.get("health_needs"):
        flags.append(_("health needs"))
    if case.family_unreachable:
        flags.append(_("family unreachable"))
    lines = [
        _("<b>Case {code}</b>").format(code=case.code),
        _("Status: <b>{status}</b> since {date}").format(
            status=status, date=format_day(case.status_changed_at)
        ),
        _("Taken by: {user}").format(user=case.assigned_to) if case.assigned_to else _("Not taken"),
    ]
    if flags:
        lines.append("⚑ " + ", ".join(flags))
    if case.erased_at is not None:
        lines.append(f"⌀ {erased_label(case.erased_reason)} · {format_day(case.erased_at)}")
    for section, title in intake.SECTION_TITLES.items():
        if case.erased_at is not None:
            break  # nothing personal is left to show
        lines.append(f"\n<b>{_(title)}</b>")
        for step in intake.STEPS:
            if step.section is not section or step.kind in (
                intake.Kind.CONSENT,
                intake.Kind.PHOTOS,
            ):
                continue
            value = case.answers.get(step.key)
            if value is None:
                continue
            lines.append(f"{_(step.label)}: {_clip(display_value(step, value))}")
    if case.photo_ids:
        lines.append(_("Photos: {count}").format(count=len(case.photo_ids)))
    if case.followups:
        lines.append("\n<b>" + _("Added by the family") + "</b>")
        for item in case.followups[-5:]:
            text = h(_clip(item.text)) if item.text else ""
            photos = f" [{_('Photos: {count}').format(count=item.photos)}]" if item.photos else ""
            lines.append(f"{format_day(item.at)}: {text}{photos}")
    lines.extend(match_section(case))
    lines.append("\n<b>" + _("History") + "</b>")
    for entry in case.history[-8:]:
        lines.append(
            f"{format_day(entry.at)}: {status_label(RequestStatus(entry.to_status))}"
            + (f" ({close_reason_label(entry.reason.split(':')[0])})" if entry.reason else "")
            + (
                f" {h(entry.reason.split(':', 1)[1])}"
                if entry.reason and ":" in entry.reason
                else ""
            )
            + (f" · {entry.actor_id}" if entry.actor_id else "")
        )
    for delivery in [d for d in case.deliveries if d.template in FAMILY_TEMPLATES][-5:]:
        when = format_moment(delivery.sent_at) if delivery.sent_at else _("not yet")
        lines.append(_("Family notified: {when}").format(when=when))
    if case.drafts:
        lines.append("\n<b>" + _("Messages for the family") + "</b>")
        states: dict[str, str] = {
            DraftState.PENDING: _("waiting for approval"),
            DraftState.APPROVED: _("approved"),
            DraftState.DECLINED: _("declined"),
        }
        for draft in case.drafts[-5:]:
            line = f"#{draft.id} · {states.get(draft.state, draft.state)} · {draft.author_id}: "
            line += h(_clip(draft.text))
            if draft.decline_reason:
                line += " — " + h(_clip(draft.decline_reason))
            lines.append(line)
    if case.notes:
        lines.append("\n<b>" + _("Internal notes (never shown to the family)") + "</b>")
        for note in case.notes[-5:]:
            lines.append(f"{format_day(note.at)} · {note.author_id}: {h(_clip(note.text))}")
    return _fit(lines)


def _fit(lines: list[str], limit: int = 4000) -> str:
    """Whole lines up to Telegram's limit: each line is balanced HTML, so cutting between
    lines never leaves a tag or an entity half-open."""
    kept: list[str] = []
    size = 0
    for line in lines:
        if size + len(line) + 2 > limit:
            kept.append("…")
            break
        kept.append(line)
        size += len(line) + 1
    return "\n".join(kept)


def card_keyboard(case: CaseView, actor_id: int) -> InlineKeyboardMarkup:
    buttons = Buttons()
    if case.assigned_to == actor_id:
        buttons.button(
            text=_("Return to the queue"),
            callback_data=CaseCb(action=CaseAction.RELEASE, request_id=case.id),
        )
    else:
        buttons.button(
            text=_("Take"), callback_data=CaseCb(action=CaseAction.TAKE, request_id=case.id)
        )
    for target in case.allowed_moves:
        if target is RequestStatus.CLOSED:
            continue
        buttons.button(
            text="→ " + status_label(target),
            callback_data=CaseCb(action=CaseAction.MOVE, request_id=case.id, value=target.value),
        )
    if RequestStatus.CLOSED in case.allowed_moves:
        buttons.button(
            text=_("Close…"), callback_data=CaseCb(action=CaseAction.CLOSE, request_id=case.id)
        )
    for draft in case.drafts:
        if draft.state == DraftState.PENDING and case.status is not RequestStatus.CLOSED:
            buttons.button(
                text=_("Approve draft #{id}").format(id=draft.id),
                callback_data=DraftCb(action=DraftAction.APPROVE, draft_id=draft.id),
            )
    add_match_buttons(buttons, case)
    buttons.adjust(1)
    return buttons.as_markup()


def reasons_keyboard(case: CaseView) -> InlineKeyboardMarkup:
    buttons = Buttons()
    for reason in CloseReason:
        buttons.button(
            text=close_reason_label(reason.value),
            callback_data=CaseCb(action=CaseAction.REASON, request_id=case.id, value=reason.value),
        )
    buttons.button(
        text=_("« Back"), callback_data=CaseCb(action=CaseAction.CARD, request_id=case.id)
    )
    buttons.adjust(1)
    return buttons.as_markup()


@router.message(Command("case"))
async def open_case(
    message: Message, command: CommandObject, uow: UnitOfWork, admin_ids: frozenset[int]
) -> None:
    assert message.from_user
    code = normalize_reference_code(command.args or "")
    if code is None:
        await message.answer(_("Please add the reference code: /case HW-7K3P-9Q"))
        return
    case = await cases.open_case(uow, message.from_user.id, admin_ids, code=code)
    await send_card(message, case, message.from_user.id)


async def send_card(message: Message, case: CaseView, actor_id: int) -> None:
    """The photos as an album, then the card with its buttons."""
    if len(case.photo_ids) == 1:
        await message.answer_photo(case.photo_ids[0])
    elif case.photo_ids:
        await message.answer_media_group([InputMediaPhoto(media=f) for f in case.photo_ids[:10]])
    await message.answer(render_card(case), reply_markup=card_keyboard(case, actor_id))


@router.message(CommandStart(deep_link=True))
async def open_from_notice(
    message: Message, command: CommandObject, uow: UnitOfWork, admin_ids: frozenset[int]
) -> None:
    """The "Open in a private chat" link of a notice in the liaison group."""
    assert message.from_user
    code = normalize_reference_code((command.args or "").removeprefix("case-"))
    if code is None:
        await message.answer(_("There is no case {code}.").format(code="?"))
        return
    case = await cases.open_case(uow, message.from_user.id, admin_ids, code=code)
    await send_card(message, case, message.from_user.id)


def _close_reason(word: str) -> CloseReason | None:
    normalized = word.lower().replace("-", "_")
    return next((r for r in CloseReason if r.value == normalized), None)


@router.message(Command("close"))
async def close(
    message: Message,
    command: CommandObject,
    uow: UnitOfWork,
    admin_ids: frozenset[int],
    outbox: OutboxSender | None = None,
) -> None:
    """/close HW-7K3P-9Q duplicate HW-ABCD-23: a reason, and details for the team."""
    assert message.from_user
    parts = (command.args or "").split(maxsplit=2)
    code = normalize_reference_code(parts[0]) if parts else None
    reason = _close_reason(parts[1]) if len(parts) > 1 else None
    if code is None or reason is None:
        await message.answer(
            _(
                "Please write: /close HW-7K3P-9Q and one of: {reasons}, then details if needed"
            ).format(reasons=", ".join(r.value for r in CloseReason))
        )
        return
    detail = parts[2].strip() if len(parts) > 2 else None
    case = await cases.close_case(uow, message.from_user.id, admin_ids, code, reason, detail)
    if outbox is not None:
        outbox.wake()
    await message.answer(render_card(case), reply_markup=card_keyboard(case, message.from_user.id))


@router.message(Command("note"))
async def note(
    message: Message, command: CommandObject, uow: UnitOfWork, admin_ids: frozenset[int]
) -> None:
    assert message.from_user
    code_part, _sep, text = (command.args or "").strip().partition(" ")
    code = normalize_reference_code(code_part)
    text = text.strip()
    if code is None or not text:
        await message.answer(_("Please write: /note HW-7K3P-9Q the text of the note"))
        return
    await cases.add_note(uow, message.from_user.id, admin_ids, code, text)
    await message.answer(_("Internal note added to {code}.").format(code=code))


# ---- buttons on a case card: one handler per action --------------------------------------


async def _show(
    query: CallbackQuery, case: CaseView, markup: InlineKeyboardMarkup | None = None
) -> None:
    """The card in place of the message whose button was pressed (or just new buttons)."""
    await query.answer()
    if not isinstance(query.message, Message):
        return
    with contextlib.suppress(TelegramBadRequest):  # the same card: nothing to change
        if markup is not None:
            await query.message.edit_reply_markup(reply_markup=markup)
        else:
            await query.message.edit_text(
                render_card(case), reply_markup=card_keyboard(case, query.from_user.id)
            )


@router.callback_query(CaseCb.filter(F.action.in_({CaseAction.TAKE, CaseAction.RELEASE})))
async def take_or_release(
    query: CallbackQuery, callback_data: CaseCb, uow: UnitOfWork, admin_ids: frozenset[int]
) -> None:
    take = callback_data.action is CaseAction.TAKE
    case = await cases.assign(
        uow, query.from_user.id, admin_ids, callback_data.request_id, take=take
    )
    await _show(query, case)


def _status_value(value: str) -> RequestStatus:
    try:
        return RequestStatus(value)
    except ValueError:
        raise Refused("stale") from None


@router.callback_query(CaseCb.filter(F.action == CaseAction.MOVE))
async def move(
    query: CallbackQuery,
    callback_data: CaseCb,
    uow: UnitOfWork,
    admin_ids: frozenset[int],
    outbox: OutboxSender | None = None,
) -> None:
    target = _status_value(callback_data.value)
    if target is RequestStatus.CLOSED:
        raise Refused("stale")  # closing needs a reason: the "Close…" button
    case = await cases.change_status(
        uow, query.from_user.id, admin_ids, callback_data.request_id, target
    )
    if outbox is not None:
        outbox.wake()
    await _show(query, case)


@router.callback_query(CaseCb.filter(F.action == CaseAction.REASON))
async def close_with_reason(
    query: CallbackQuery,
    callback_data: CaseCb,
    uow: UnitOfWork,
    admin_ids: frozenset[int],
    outbox: OutboxSender | None = None,
) -> None:
    reason = _close_reason(callback_data.value)
    if reason is None:
        raise Refused("stale")
    case = await cases.change_status(
        uow, query.from_user.id, admin_ids, callback_data.request_id, RequestStatus.CLOSED, reason
    )
    if outbox is not None:
        outbox.wake()
    await _show(query, case)


@router.callback_query(CaseCb.filter(F.action.in_({CaseAction.CLOSE, CaseAction.CARD})))
async def close_menu_or_card(
    query: CallbackQuery, callback_data: CaseCb, uow: UnitOfWork, admin_ids: frozenset[int]
) -> None:
    case = await cases.open_case(
        uow, query.from_user.id, admin_ids, request_id=callback_data.request_id
    )
    await _show(
        query, case, reasons_keyboard(case) if callback_data.action is CaseAction.CLOSE else None
    )


@router.callback_query(CaseCb.filter(F.action == CaseAction.OPEN))
async def open_button(
    query: CallbackQuery, callback_data: CaseCb, uow: UnitOfWork, admin_ids: frozenset[int]
) -> None:
    case = await cases.open_case(
        uow, query.from_user.id, admin_ids, request_id=callback_data.request_id
    )
    await query.answer()
    if isinstance(query.message, Message):
        await send_card(query.message, case, query.from_user.id)
