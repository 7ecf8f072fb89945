"""/case and /note, and the buttons on a case card. Liaisons only (see StaffOnly)."""

from __future__ import annotations

import contextlib

from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, InputMediaPhoto, Message

from bot.domain import intake
from bot.domain.reference import normalize_reference_code
from bot.domain.statuses import CloseReason, RequestStatus
from bot.i18n import N_, _, format_day
from bot.outbox import FAMILY_TEMPLATES, OutboxSender
from bot.services import cases
from bot.services.cases import CaseNotFound, CaseView, NotAllowed, TransitionNotAllowed
from bot.services.uow import UnitOfWork
from handlers.callbacks import CaseCb, DraftCb
from handlers.family.fallback import unknown_text
from handlers.family.intake import display_value
from handlers.keyboards import Buttons
from handlers.routing import RouterSpec
from handlers.texts import close_reason_label, h, status_label, too_long

router = RouterSpec("staff.cases")

LIAISON_COMMANDS = (
    ("queue", N_("Cases that need attention")),
    ("close", N_("Close a case: /close CODE reason [details]")),
    ("case", N_("Open a case by its reference code")),
    ("note", N_("Add an internal note to a case")),
)
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
    for section, title in intake.SECTION_TITLES.items():
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
        when = delivery.sent_at.strftime("%Y-%m-%d %H:%M UTC") if delivery.sent_at else _("not yet")
        lines.append(_("Family notified: {when}").format(when=when))
    if case.drafts:
        lines.append("\n<b>" + _("Messages for the family") + "</b>")
        states = {
            "pending": _("waiting for approval"),
            "approved": _("approved"),
            "declined": _("declined"),
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
            text=_("Release"), callback_data=CaseCb(action="release", request_id=case.id)
        )
    else:
        buttons.button(text=_("Take"), callback_data=CaseCb(action="take", request_id=case.id))
    for target in case.allowed_moves:
        if target is RequestStatus.CLOSED:
            continue
        buttons.button(
            text="→ " + status_label(target),
            callback_data=CaseCb(action="move", request_id=case.id, value=target.value),
        )
    if RequestStatus.CLOSED in case.allowed_moves:
        buttons.button(text=_("Close…"), callback_data=CaseCb(action="close", request_id=case.id))
    for draft in case.drafts:
        if draft.state == "pending" and case.status is not RequestStatus.CLOSED:
            buttons.button(
                text=_("Approve draft #{id}").format(id=draft.id),
                callback_data=DraftCb(action="approve", draft_id=draft.id),
            )
    buttons.adjust(1)
    return buttons.as_markup()


def reasons_keyboard(case: CaseView) -> InlineKeyboardMarkup:
    buttons = Buttons()
    for reason in CloseReason:
        buttons.button(
            text=close_reason_label(reason.value),
            callback_data=CaseCb(action="reason", request_id=case.id, value=reason.value),
        )
    buttons.button(text=_("« Back"), callback_data=CaseCb(action="card", request_id=case.id))
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
    try:
        case = await cases.open_case(uow, message.from_user.id, admin_ids, code=code)
    except CaseNotFound:
        await message.answer(_("There is no case {code}.").format(code=code))
        return
    except NotAllowed:
        await message.answer(unknown_text())
        return
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
    case = None
    if code is not None:
        with contextlib.suppress(CaseNotFound):
            case = await cases.open_case(uow, message.from_user.id, admin_ids, code=code)
    if case is None:
        await message.answer(_("There is no case {code}.").format(code=code or "?"))
        return
    await send_card(message, case, message.from_user.id)


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
    reasons = {r.value.replace("_", "-"): r for r in CloseReason} | {
        r.value: r for r in CloseReason
    }
    reason = reasons.get(parts[1].lower()) if len(parts) > 1 else None
    if code is None or reason is None:
        await message.answer(
            _(
                "Please write: /close HW-7K3P-9Q and one of: {reasons}, then details if needed"
            ).format(reasons=", ".join(r.value for r in CloseReason))
        )
        return
    detail = parts[2].strip() if len(parts) > 2 else None
    try:
        case = await cases.open_case(uow, message.from_user.id, admin_ids, code=code)
        case = await cases.change_status(
            uow, message.from_user.id, admin_ids, case.id, RequestStatus.CLOSED, reason, detail
        )
    except CaseNotFound:
        await message.answer(_("There is no case {code}.").format(code=code))
        return
    except TransitionNotAllowed as error:
        await message.answer(
            _("A case cannot move from “{current}” to “{target}”.").format(
                current=status_label(error.current), target=status_label(error.target)
            )
        )
        return
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
    if len(text) > cases.MAX_NOTE:
        await message.answer(too_long(len(text), cases.MAX_NOTE))
        return
    try:
        await cases.add_note(uow, message.from_user.id, admin_ids, code, text)
    except CaseNotFound:
        await message.answer(_("There is no case {code}.").format(code=code))
        return
    await message.answer(_("Internal note added to {code}.").format(code=code))


@router.callback_query(CaseCb.filter())
async def case_button(
    query: CallbackQuery,
    callback_data: CaseCb,
    uow: UnitOfWork,
    admin_ids: frozenset[int],
    outbox: OutboxSender | None = None,
) -> None:
    actor = query.from_user.id
    action, request_id = callback_data.action, callback_data.request_id
    markup_only = False
    try:
        if action in {"take", "release"}:
            case = await cases.assign(uow, actor, admin_ids, request_id, take=action == "take")
        elif action == "move":
            case = await cases.change_status(
                uow, actor, admin_ids, request_id, RequestStatus(callback_data.value)
            )
        elif action == "reason":
            case = await cases.change_status(
                uow,
                actor,
                admin_ids,
                request_id,
                RequestStatus.CLOSED,
                CloseReason(callback_data.value),
            )
        elif action in {"close", "card", "open"}:
            case = await cases.open_case(uow, actor, admin_ids, request_id=request_id)
            markup_only = True
        else:
            raise CaseNotFound
    except (CaseNotFound, ValueError):
        await query.answer(_("This button is no longer active."))
        return
    except NotAllowed:
        await query.answer(_("This button is no longer active."))
        return
    except TransitionNotAllowed as error:
        await query.answer(
            _("A case cannot move from “{current}” to “{target}”.").format(
                current=status_label(error.current), target=status_label(error.target)
            ),
            show_alert=True,
        )
        return
    await query.answer()
    if outbox is not None and action in {"move", "reason"}:
        outbox.wake()
    if not isinstance(query.message, Message):
        return
    if action == "open":
        await send_card(query.message, case, actor)
        return
    with contextlib.suppress(TelegramBadRequest):
        if markup_only and action == "close":
            await query.message.edit_reply_markup(reply_markup=reasons_keyboard(case))
        else:
            await query.message.edit_text(
                render_card(case), reply_markup=card_keyboard(case, actor)
            )
