"""/broadcast composes a general notice; /broadcasts lists them, with approval and control.

Composing is done with commands (like /ask), so the text a liaison types can never be
taken for a family's message: `/broadcast uk <text>` sets a language version, a photo
with the caption `/broadcast photo` adds the picture, and the card's buttons choose
the audience, show the notice as families will see it, and hand it over for approval.
"""

from __future__ import annotations

import contextlib

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n

from bot import SUPPORTED_LOCALES
from bot.broadcasts import BroadcastSender
from bot.domain.statuses import RequestStatus
from bot.i18n import N_, _, format_day, ngettext
from bot.services import broadcasts as service
from bot.services.broadcasts import BroadcastRefused, BroadcastView, Preview
from bot.services.drafts import ReviewMode
from bot.services.notices import StaffRouting
from bot.services.uow import UnitOfWork
from handlers.callbacks import BroadcastCb
from handlers.keyboards import Buttons, keyboard
from handlers.routing import RouterSpec
from handlers.texts import LANGUAGE_NAMES, broadcast_message, h, status_label, too_long

router = RouterSpec("staff.broadcasts")

BROADCAST_COMMANDS = (
    ("broadcast", N_("Compose a general notice to families")),
    ("broadcasts", N_("General notices: approve, follow, pause")),
)

REFUSALS = {
    "not_liaison": N_("Only an active liaison can do this."),
    "no_broadcast": N_("There is no such notice."),
    "not_author": N_("Only the liaison who wrote this notice can change it."),
    "not_composing": N_("This notice can no longer be changed."),
    "empty": N_("Write at least one language version first."),
    "too_long_for_photo": N_(
        "With a photo, each version can be at most {limit} characters. Shorten the text first."
    ),
    "bad_audience": N_("This audience is not available."),
    "not_awaiting": N_("This notice is not waiting for approval."),
    "own_broadcast": N_("A second liaison must approve this notice (four-eyes rule)."),
    "not_running": N_("This notice is not being sent."),
    "not_paused": N_("This notice is not paused."),
}

STATE_LABELS = {
    "composing": N_("being written"),
    "awaiting_approval": N_("waiting for approval"),
    "sending": N_("sending"),
    "paused": N_("paused"),
    "done": N_("finished"),
    "cancelled": N_("cancelled"),
    "declined": N_("declined"),
    "discarded": N_("withdrawn"),
}

AUDIENCE_LABELS = {
    "all": N_("all families"),
    "open": N_("families with an open request"),
    "no_open": N_("families without an open request"),
}


def refusal(refused: BroadcastRefused) -> str:
    return _(REFUSALS[refused.reason]).format(limit=service.MAX_CAPTION_TEXT)


def audience_label(view: BroadcastView) -> str:
    if view.audience == "language" and view.audience_value:
        return _("families writing in {language}").format(
            language=LANGUAGE_NAMES.get(view.audience_value, view.audience_value)
        )
    if view.audience == "status" and view.audience_value:
        return _("families with a request in status “{status}”").format(
            status=status_label(RequestStatus(view.audience_value))
        )
    return _(AUDIENCE_LABELS.get(view.audience, AUDIENCE_LABELS["all"]))


def families(count: int) -> str:
    return ngettext("{count} family", "{count} families", count).format(count=count)


def preview_lines(preview: Preview) -> list[str]:
    lines = [_("<b>Recipients now:</b> {families}").format(families=families(preview.recipients))]
    for version in preview.versions:
        line = _("· {language} version: {families}").format(
            language=LANGUAGE_NAMES[version.version], families=families(version.families)
        )
        if version.by_fallback:
            line += " " + ngettext(
                "({count} of them has no version in their own language)",
                "({count} of them have no version in their own language)",
                version.by_fallback,
            ).format(count=version.by_fallback)
        lines.append(line)
    lines.append(
        _("Not sent to: {opted_out} turned general notices off, {unreachable} blocked the bot.")
        .replace("{opted_out}", families(preview.opted_out))
        .replace("{unreachable}", families(preview.unreachable))
    )
    return lines


def card_text(view: BroadcastView, preview: Preview | None) -> str:
    lines = [
        _("<b>General notice #{id}</b> · {state}").format(
            id=view.id, state=_(STATE_LABELS[view.state])
        ),
        "",
    ]
    for locale in SUPPORTED_LOCALES:
        text = view.texts.get(locale)
        shown = h(text if len(text or "") <= 300 else (text or "")[:300] + "…") if text else "—"
        lines.append(f"<b>{LANGUAGE_NAMES[locale]}:</b> {shown}")
    lines.append(_("<b>Photo:</b> {answer}").format(answer=_("yes") if view.photo else _("no")))
    lines.append(_("<b>Audience:</b> {audience}").format(audience=audience_label(view)))
    if preview is not None:
        lines += ["", *preview_lines(preview)]
    if view.state == "composing":
        lines += [
            "",
            _(
                "To write a version, send /broadcast uk, /broadcast ru or /broadcast en "
                "followed by the text; /broadcast uk - removes it. To add a photo, send it "
                "with the caption /broadcast photo; /broadcast nophoto removes it. Families "
                "whose language has no version get the first of: {order}."
            ).format(order=", ".join(LANGUAGE_NAMES[locale] for locale in view.fallback)),
        ]
    elif view.state in ("sending", "paused", "done", "cancelled"):
        lines += ["", progress_counts(view)]
    return "\n".join(lines)


def card_keyboard(view: BroadcastView, viewer_id: int) -> InlineKeyboardMarkup:
    def button(text: str, action: str, value: str = "") -> tuple[str, str]:
        return text, BroadcastCb(action=action, broadcast_id=view.id, value=value).pack()

    rows: list[list[tuple[str, str]]] = []
    if view.state == "composing":
        rows = [
            [button(_("All families"), "aud", "all")],
            [button(_("By language…"), "audmenu", "language")],
            [button(_("By request status…"), "audmenu", "status")],
            [
                button(_("With an open request"), "aud", "open"),
                button(_("Without an open request"), "aud", "no_open"),
            ],
            [button(_("Show as families see it"), "show")],
            [button(_("Submit for approval"), "submit")],
            [button(_("Withdraw"), "discard")],
        ]
    elif view.state == "awaiting_approval":
        rows = [[button(_("Show as families see it"), "show")]]
        if viewer_id == view.author_id:
            rows.append([button(_("Withdraw"), "discard")])
        rows.append([button(_("Approve and send"), "approve"), button(_("Decline"), "decline")])
    elif view.state in ("sending", "paused"):
        return progress_keyboard(view)
    return keyboard(rows)


def audience_menu(view: BroadcastView, kind: str) -> InlineKeyboardMarkup:
    def button(text: str, value: str) -> tuple[str, str]:
        return text, BroadcastCb(action="aud", broadcast_id=view.id, value=value).pack()

    if kind == "language":
        choices = [button(LANGUAGE_NAMES[loc], f"language.{loc}") for loc in SUPPORTED_LOCALES]
    else:
        choices = [button(status_label(s), f"status.{s.value}") for s in RequestStatus]
    back = (_("« Back"), BroadcastCb(action="open", broadcast_id=view.id).pack())
    return keyboard([*([choice] for choice in choices), [back]])


def progress_counts(view: BroadcastView) -> str:
    text = _(
        "Sent {sent} of {total} · blocked the bot {blocked} · failed {failed} · waiting {left}"
    ).format(
        sent=view.count("sent"),
        total=view.total,
        blocked=view.count("blocked"),
        failed=view.count("failed"),
        left=view.count("pending", "sending"),
    )
    if view.count("cancelled"):
        text += "\n" + _("Not sent because it was cancelled: {count}").format(
            count=view.count("cancelled")
        )
    return text


def progress_text(view: BroadcastView) -> str:
    return "\n".join(
        [
            _("<b>General notice #{id}</b> · {state}").format(
                id=view.id, state=_(STATE_LABELS[view.state])
            ),
            progress_counts(view),
        ]
    )


def progress_keyboard(view: BroadcastView) -> InlineKeyboardMarkup:
    def button(text: str, action: str) -> tuple[str, str]:
        return text, BroadcastCb(action=action, broadcast_id=view.id).pack()

    if view.state == "sending":
        return keyboard([[button(_("Pause"), "pause"), button(_("Cancel"), "cancel")]])
    if view.state == "paused":
        return keyboard([[button(_("Resume"), "resume"), button(_("Cancel"), "cancel")]])
    return keyboard([])


def final_report(view: BroadcastView) -> str:
    lines = [
        _("<b>General notice #{id}</b> has {state}.").format(
            id=view.id,
            state=_("finished") if view.state == "done" else _("been cancelled"),
        ),
        progress_counts(view),
        _("Left out from the start: {opted_out} with notices off, {unreachable} unreachable.")
        .replace("{opted_out}", families(view.opted_out))
        .replace("{unreachable}", families(view.unreachable)),
    ]
    return "\n".join(lines)


def broadcast_awaits(broadcast_id: int) -> str:
    return _("General notice #{id} is waiting for approval. Open /broadcasts to review it.").format(
        id=broadcast_id
    )


async def _show_card(
    target: Message,
    uow: UnitOfWork,
    broadcast_id: int,
    viewer_id: int,
    default_locale: str,
    *,
    edit: bool = False,
) -> None:
    view, preview = await service.card(uow, broadcast_id, default_locale)
    text, markup = card_text(view, preview), card_keyboard(view, viewer_id)
    if edit:
        with contextlib.suppress(TelegramBadRequest):  # unchanged
            await target.edit_text(text, reply_markup=markup)
        return
    await target.answer(text, reply_markup=markup)


@router.message(Command("broadcast"))
async def broadcast(
    message: Message,
    command: CommandObject,
    uow: UnitOfWork,
    admin_ids: frozenset[int],
    broadcast_fallback: tuple[str, ...] = SUPPORTED_LOCALES,
    default_locale: str = "en",
) -> None:
    assert message.from_user
    actor = message.from_user.id
    first, _sep, rest = (command.args or "").strip().partition(" ")
    first, rest = first.lower(), rest.strip()
    try:
        if first in SUPPORTED_LOCALES:
            if not rest:
                await message.answer(
                    _("Please write: /broadcast {language} and the text of the notice").format(
                        language=first
                    )
                )
                return
            if len(rest) > service.MAX_TEXT:
                await message.answer(too_long(len(rest), service.MAX_TEXT))
                return
            text = None if rest == "-" else rest
            view = await service.set_text(uow, actor, admin_ids, broadcast_fallback, first, text)
        elif first == "photo":
            if not message.photo:
                await message.answer(_("Send the photo itself, with the caption /broadcast photo."))
                return
            photo = message.photo[-1].file_id
            view = await service.set_photo(uow, actor, admin_ids, broadcast_fallback, photo)
        elif first == "nophoto":
            view = await service.set_photo(uow, actor, admin_ids, broadcast_fallback, None)
        elif first:
            await message.answer(
                _("Please write: /broadcast uk, ru or en and the text; or just /broadcast.")
            )
            return
        else:
            view = await service.compose(uow, actor, admin_ids, broadcast_fallback)
    except BroadcastRefused as refused:
        if refused.reason == "too_long":
            await message.answer(too_long(len(rest), service.MAX_CAPTION_TEXT))
        else:
            await message.answer(refusal(refused))
        return
    await _show_card(message, uow, view.id, actor, default_locale)


@router.message(Command("broadcasts"))
async def list_broadcasts(message: Message, uow: UnitOfWork) -> None:
    items = await service.recent(uow)
    if not items:
        await message.answer(_("No general notices yet. Write one with /broadcast."))
        return
    lines = [_("<b>General notices</b>")]
    rows = []
    for view in items:
        line = f"#{view.id} · {format_day(view.created_at)} · {_(STATE_LABELS[view.state])}"
        if view.total:
            line += " · " + _("sent {sent} of {total}").format(
                sent=view.count("sent"), total=view.total
            )
        lines.append(line)
        rows.append([(f"#{view.id}", BroadcastCb(action="open", broadcast_id=view.id).pack())])
    await message.answer("\n".join(lines), reply_markup=keyboard(rows))


@router.callback_query(BroadcastCb.filter())
async def on_button(
    query: CallbackQuery,
    callback_data: BroadcastCb,
    bot: Bot,
    uow: UnitOfWork,
    admin_ids: frozenset[int],
    review_mode: str = "four_eyes",
    default_locale: str = "en",
    broadcasts: BroadcastSender | None = None,
    staff_routing: StaffRouting | None = None,
) -> None:
    message = query.message if isinstance(query.message, Message) else None
    actor = query.from_user.id
    action, broadcast_id, value = (
        callback_data.action,
        callback_data.broadcast_id,
        callback_data.value,
    )
    if message is None:
        await query.answer()
        return
    try:
        if action == "open":
            await query.answer()
            await _show_card(message, uow, broadcast_id, actor, default_locale, edit=True)
        elif action == "audmenu":
            view = await service.get(uow, broadcast_id)
            await query.answer()
            with contextlib.suppress(TelegramBadRequest):
                await message.edit_reply_markup(reply_markup=audience_menu(view, value))
        elif action == "aud":
            kind, _sep, filter_value = value.partition(".")
            await service.set_audience(uow, actor, broadcast_id, kind, filter_value or None)
            await query.answer()
            await _show_card(message, uow, broadcast_id, actor, default_locale, edit=True)
        elif action == "show":
            await query.answer()
            await _show_as_families_see_it(message, uow, broadcast_id)
        elif action == "submit":
            group = staff_routing.group_chat_id if staff_routing else None
            targets = (group,) if group is not None else None
            await service.submit(uow, actor, admin_ids, broadcast_id, targets)
            await query.answer(_("Submitted. Another liaison will review it."))
            await _show_card(message, uow, broadcast_id, actor, default_locale, edit=True)
        elif action == "discard":
            await service.discard(uow, actor, broadcast_id)
            await query.answer(_("Withdrawn."))
            with contextlib.suppress(TelegramBadRequest):
                await message.edit_reply_markup(reply_markup=None)
        elif action == "decline":
            await service.decline(uow, actor, admin_ids, broadcast_id)
            await query.answer(_("Declined. Nothing was sent."))
            await _show_card(message, uow, broadcast_id, actor, default_locale, edit=True)
        elif action == "approve" and ReviewMode(review_mode) is ReviewMode.SINGLE:
            # One-person teams: sending one's own notice takes a second, deliberate press.
            await query.answer()
            await _ask_to_confirm(
                message,
                _("Send notice #{id} now? Nobody else will review it.").format(id=broadcast_id),
                _("Yes, send it to the families"),
                BroadcastCb(action="confirm", broadcast_id=broadcast_id),
            )
        elif action in ("approve", "confirm"):
            view = await service.approve(
                uow,
                actor,
                admin_ids,
                broadcast_id,
                ReviewMode(review_mode),
                default_locale,
                message.chat.id,
            )
            await query.answer(_("Approved. Sending has started."))
            with contextlib.suppress(TelegramBadRequest):
                await message.edit_reply_markup(reply_markup=None)
            shown = await message.answer(progress_text(view), reply_markup=progress_keyboard(view))
            await service.set_progress_message(uow, view.id, shown.chat.id, shown.message_id)
            if broadcasts is not None:
                broadcasts.wake()
        elif action in ("pause", "resume"):
            view = await service.control(uow, actor, admin_ids, broadcast_id, action)
            if broadcasts is not None:
                broadcasts.wake()
            await query.answer(_("Paused.") if action == "pause" else _("Sending again."))
            with contextlib.suppress(TelegramBadRequest):
                await message.edit_text(progress_text(view), reply_markup=progress_keyboard(view))
        elif action == "cancel":
            await query.answer()
            await _ask_to_confirm(
                message,
                _("Cancel notice #{id}? Families who already got it keep it.").format(
                    id=broadcast_id
                ),
                _("Yes, cancel the sending"),
                BroadcastCb(action="cancel_yes", broadcast_id=broadcast_id),
            )
        elif action == "cancel_yes":
            view = await service.control(uow, actor, admin_ids, broadcast_id, "cancel")
            if broadcasts is not None:
                broadcasts.wake()
            await query.answer(_("Cancelled."))
            await message.edit_text(progress_text(view), reply_markup=None)
        else:
            await query.answer()
    except BroadcastRefused as refused:
        await query.answer(refusal(refused), show_alert=True)


async def _ask_to_confirm(
    message: Message, question: str, button: str, confirm: BroadcastCb
) -> None:
    buttons = Buttons()
    buttons.button(text=button, callback_data=confirm)
    await message.answer(question, reply_markup=buttons.as_markup())


async def _show_as_families_see_it(message: Message, uow: UnitOfWork, broadcast_id: int) -> None:
    """Each version exactly as a family will get it (frame included, in its language)."""
    view = await service.get(uow, broadcast_id)
    if not view.texts:
        await message.answer(_(REFUSALS["empty"]))
        return
    i18n = I18n.get_current()
    for locale in SUPPORTED_LOCALES:
        if locale not in view.texts:
            continue
        with i18n.use_locale(locale):
            text = broadcast_message(view.texts[locale])
        if view.photo:
            await message.answer_photo(view.photo, caption=text)
        else:
            await message.answer(text)
