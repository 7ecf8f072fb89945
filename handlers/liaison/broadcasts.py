"""/broadcast composes a general notice; /broadcasts lists them, with approval and control.

Composing is done with commands (like /ask), so the text a liaison types can never be
taken for a family's message: `/broadcast uk <text>` sets a language version, a photo
with the caption `/broadcast photo` adds the picture, and the card's buttons choose
the audience, show the notice as families will see it, and hand it over for approval.
"""

from __future__ import annotations

from aiogram import F
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n

from bot import SUPPORTED_LOCALES
from bot.broadcasts import BroadcastSender
from bot.domain.review import ReviewMode, needs_confirmation
from bot.domain.states import BroadcastState
from bot.domain.statuses import RequestStatus
from bot.i18n import N_, _, format_day, ngettext
from bot.services import broadcasts as service
from bot.services.broadcasts import BroadcastView, Preview
from bot.services.notices import StaffRouting
from bot.services.refusal import Refused
from bot.services.uow import UnitOfWork
from bot.texts.callbacks import BroadcastAction, BroadcastCb
from bot.texts.common import LANGUAGE_NAMES, h, status_label
from bot.texts.family import broadcast_message
from bot.texts.keyboards import keyboard
from bot.texts.staff import (
    broadcast_state_label,
    families,
    progress_counts,
    progress_keyboard,
    progress_text,
)
from handlers.editing import edit_buttons, edit_in_place
from handlers.liaison.confirm import ask_to_confirm
from handlers.routing import RouterSpec

router = RouterSpec("staff.broadcasts")

AUDIENCE_LABELS = {
    "all": N_("all families"),
    "open": N_("families with an open request"),
    "no_open": N_("families without an open request"),
}


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
            id=view.id, state=broadcast_state_label(view.state)
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
    if view.state == BroadcastState.COMPOSING:
        lines += [
            "",
            _(
                "To write a version, send /broadcast uk, /broadcast ru or /broadcast en "
                "followed by the text; /broadcast uk - removes it. To add a photo, send it "
                "with the caption /broadcast photo; /broadcast nophoto removes it. Families "
                "whose language has no version get the first of: {order}."
            ).format(order=", ".join(LANGUAGE_NAMES[locale] for locale in view.fallback)),
        ]
    elif view.total:
        lines += ["", progress_counts(view)]
    return "\n".join(lines)


def card_keyboard(view: BroadcastView, viewer_id: int) -> InlineKeyboardMarkup:
    def button(text: str, action: BroadcastAction, value: str = "") -> tuple[str, str]:
        return text, BroadcastCb(action=action, broadcast_id=view.id, value=value).pack()

    a = BroadcastAction
    rows: list[list[tuple[str, str]]] = []
    if view.state == BroadcastState.COMPOSING:
        rows = [
            [button(_("All families"), a.AUDIENCE, "all")],
            [button(_("By language…"), a.AUDIENCE_MENU, "language")],
            [button(_("By request status…"), a.AUDIENCE_MENU, "status")],
            [
                button(_("With an open request"), a.AUDIENCE, "open"),
                button(_("Without an open request"), a.AUDIENCE, "no_open"),
            ],
            [button(_("Show as families see it"), a.SHOW)],
            [button(_("Submit for approval"), a.SUBMIT)],
            [button(_("Withdraw"), a.DISCARD)],
        ]
    elif view.state == BroadcastState.AWAITING_APPROVAL:
        rows = [[button(_("Show as families see it"), a.SHOW)]]
        if viewer_id == view.author_id:
            rows.append([button(_("Withdraw"), a.DISCARD)])
        rows.append([button(_("Approve and send"), a.APPROVE), button(_("Decline"), a.DECLINE)])
    elif view.state in (BroadcastState.SENDING, BroadcastState.PAUSED):
        return progress_keyboard(view)
    return keyboard(rows)


def audience_menu(view: BroadcastView, kind: str) -> InlineKeyboardMarkup:
    def button(text: str, value: str) -> tuple[str, str]:
        return text, BroadcastCb(
            action=BroadcastAction.AUDIENCE, broadcast_id=view.id, value=value
        ).pack()

    if kind == "language":
        choices = [button(LANGUAGE_NAMES[loc], f"language.{loc}") for loc in SUPPORTED_LOCALES]
    else:
        choices = [button(status_label(s), f"status.{s.value}") for s in RequestStatus]
    back = (_("« Back"), BroadcastCb(action=BroadcastAction.OPEN, broadcast_id=view.id).pack())
    return keyboard([*([choice] for choice in choices), [back]])


async def _show_card(
    target: Message,
    uow: UnitOfWork,
    actor_id: int,
    admin_ids: frozenset[int],
    broadcast_id: int,
    default_locale: str,
    *,
    edit: bool = False,
) -> None:
    view, preview = await service.card(uow, actor_id, admin_ids, broadcast_id, default_locale)
    text, markup = card_text(view, preview), card_keyboard(view, actor_id)
    if edit:
        await edit_in_place(target, text, markup)
    else:
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
    if first in SUPPORTED_LOCALES:
        if not rest:
            await message.answer(
                _("Please write: /broadcast {language} and the text of the notice").format(
                    language=first
                )
            )
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
    await _show_card(message, uow, actor, admin_ids, view.id, default_locale)


@router.message(Command("broadcasts"))
async def list_broadcasts(message: Message, uow: UnitOfWork, admin_ids: frozenset[int]) -> None:
    assert message.from_user
    items = await service.recent(uow, message.from_user.id, admin_ids)
    if not items:
        await message.answer(_("No general notices yet. Write one with /broadcast."))
        return
    lines = [_("<b>General notices</b>")]
    rows = []
    for view in items:
        line = f"#{view.id} · {format_day(view.created_at)} · {broadcast_state_label(view.state)}"
        if view.total:
            line += " · " + _("sent {sent} of {total}").format(
                sent=view.count("sent"), total=view.total
            )
        lines.append(line)
        open_card = BroadcastCb(action=BroadcastAction.OPEN, broadcast_id=view.id)
        rows.append([(f"#{view.id}", open_card.pack())])
    await message.answer("\n".join(lines), reply_markup=keyboard(rows))


# ---- buttons: one handler per action; the notice is reloaded and the role checked ----


def _on(*actions: BroadcastAction) -> object:
    return BroadcastCb.filter(F.action.in_(set(actions)))


def _pressed(query: CallbackQuery) -> Message:
    if not isinstance(query.message, Message):
        raise Refused("stale")  # too old: Telegram no longer says which message it was
    return query.message


@router.callback_query(_on(BroadcastAction.OPEN))
async def open_card(
    query: CallbackQuery,
    callback_data: BroadcastCb,
    uow: UnitOfWork,
    admin_ids: frozenset[int],
    default_locale: str = "en",
) -> None:
    message = _pressed(query)
    await query.answer()
    await _show_card(
        message,
        uow,
        query.from_user.id,
        admin_ids,
        callback_data.broadcast_id,
        default_locale,
        edit=True,
    )


@router.callback_query(_on(BroadcastAction.AUDIENCE_MENU))
async def audience_choices(
    query: CallbackQuery,
    callback_data: BroadcastCb,
    uow: UnitOfWork,
    admin_ids: frozenset[int],
    default_locale: str = "en",
) -> None:
    message = _pressed(query)
    view, _preview = await service.card(
        uow, query.from_user.id, admin_ids, callback_data.broadcast_id, default_locale
    )
    await query.answer()
    await edit_buttons(message, audience_menu(view, callback_data.value))


@router.callback_query(_on(BroadcastAction.AUDIENCE))
async def choose_audience(
    query: CallbackQuery,
    callback_data: BroadcastCb,
    uow: UnitOfWork,
    admin_ids: frozenset[int],
    default_locale: str = "en",
) -> None:
    message = _pressed(query)
    actor, broadcast_id = query.from_user.id, callback_data.broadcast_id
    kind, _sep, filter_value = callback_data.value.partition(".")
    await service.set_audience(uow, actor, admin_ids, broadcast_id, kind, filter_value or None)
    await query.answer()
    await _show_card(message, uow, actor, admin_ids, broadcast_id, default_locale, edit=True)


@router.callback_query(_on(BroadcastAction.SHOW))
async def show_as_families_see_it(
    query: CallbackQuery,
    callback_data: BroadcastCb,
    uow: UnitOfWork,
    admin_ids: frozenset[int],
    default_locale: str = "en",
) -> None:
    """Each version exactly as a family will get it (frame included, in its language)."""
    message = _pressed(query)
    view, _preview = await service.card(
        uow, query.from_user.id, admin_ids, callback_data.broadcast_id, default_locale
    )
    if not view.texts:
        raise Refused("empty")
    await query.answer()
    i18n = I18n.get_current(no_error=False)
    for locale in SUPPORTED_LOCALES:
        if locale not in view.texts:
            continue
        with i18n.use_locale(locale):
            text = broadcast_message(view.texts[locale])
        if view.photo:
            await message.answer_photo(view.photo, caption=text)
        else:
            await message.answer(text)


@router.callback_query(_on(BroadcastAction.SUBMIT))
async def submit(
    query: CallbackQuery,
    callback_data: BroadcastCb,
    uow: UnitOfWork,
    admin_ids: frozenset[int],
    default_locale: str = "en",
    staff_routing: StaffRouting | None = None,
) -> None:
    message = _pressed(query)
    actor, broadcast_id = query.from_user.id, callback_data.broadcast_id
    group = staff_routing.group_chat_id if staff_routing else None
    targets = (group,) if group is not None else None
    await service.submit(uow, actor, admin_ids, broadcast_id, targets)
    await query.answer(_("Submitted. Another liaison will review it."))
    await _show_card(message, uow, actor, admin_ids, broadcast_id, default_locale, edit=True)


@router.callback_query(_on(BroadcastAction.DISCARD))
async def discard(
    query: CallbackQuery, callback_data: BroadcastCb, uow: UnitOfWork, admin_ids: frozenset[int]
) -> None:
    message = _pressed(query)
    await service.discard(uow, query.from_user.id, admin_ids, callback_data.broadcast_id)
    await query.answer(_("Withdrawn."))
    await edit_buttons(message, None)


@router.callback_query(_on(BroadcastAction.DECLINE))
async def decline(
    query: CallbackQuery,
    callback_data: BroadcastCb,
    uow: UnitOfWork,
    admin_ids: frozenset[int],
    default_locale: str = "en",
) -> None:
    message = _pressed(query)
    actor, broadcast_id = query.from_user.id, callback_data.broadcast_id
    await service.decline(uow, actor, admin_ids, broadcast_id)
    await query.answer(_("Declined. Nothing was sent."))
    await _show_card(message, uow, actor, admin_ids, broadcast_id, default_locale, edit=True)


@router.callback_query(_on(BroadcastAction.APPROVE))
async def approve(
    query: CallbackQuery,
    callback_data: BroadcastCb,
    uow: UnitOfWork,
    admin_ids: frozenset[int],
    review_mode: str = ReviewMode.FOUR_EYES,
    default_locale: str = "en",
    broadcasts: BroadcastSender | None = None,
) -> None:
    if needs_confirmation(ReviewMode(review_mode)):
        broadcast_id = callback_data.broadcast_id
        await ask_to_confirm(
            query,
            _("Send notice #{id} now? Nobody else will review it.").format(id=broadcast_id),
            _("Yes, send it to the families"),
            BroadcastCb(action=BroadcastAction.CONFIRM, broadcast_id=broadcast_id),
        )
        return
    await confirm(query, callback_data, uow, admin_ids, review_mode, default_locale, broadcasts)


@router.callback_query(_on(BroadcastAction.CONFIRM))
async def confirm(
    query: CallbackQuery,
    callback_data: BroadcastCb,
    uow: UnitOfWork,
    admin_ids: frozenset[int],
    review_mode: str = ReviewMode.FOUR_EYES,
    default_locale: str = "en",
    broadcasts: BroadcastSender | None = None,
) -> None:
    message = _pressed(query)
    view = await service.approve(
        uow,
        query.from_user.id,
        admin_ids,
        callback_data.broadcast_id,
        ReviewMode(review_mode),
        default_locale,
        message.chat.id,
    )
    await query.answer(_("Approved. Sending has started."))
    await edit_buttons(message, None)
    text, markup = progress_text(view), progress_keyboard(view)
    shown = await message.answer(text, reply_markup=markup)
    await service.set_progress_message(uow, view.id, shown.chat.id, shown.message_id)
    if broadcasts is not None:
        broadcasts.progress_shown(view.id, text, markup)
        broadcasts.wake()


@router.callback_query(_on(BroadcastAction.PAUSE, BroadcastAction.RESUME))
async def pause_or_resume(
    query: CallbackQuery,
    callback_data: BroadcastCb,
    uow: UnitOfWork,
    admin_ids: frozenset[int],
    broadcasts: BroadcastSender | None = None,
) -> None:
    message = _pressed(query)
    action = callback_data.action
    view = await service.control(
        uow, query.from_user.id, admin_ids, callback_data.broadcast_id, action.value
    )
    await query.answer(_("Paused.") if action is BroadcastAction.PAUSE else _("Sending again."))
    await _show_progress(message, view, broadcasts, final=False)


@router.callback_query(_on(BroadcastAction.CANCEL))
async def cancel(query: CallbackQuery, callback_data: BroadcastCb) -> None:
    broadcast_id = callback_data.broadcast_id
    await ask_to_confirm(
        query,
        _("Cancel notice #{id}? Families who already got it keep it.").format(id=broadcast_id),
        _("Yes, cancel the sending"),
        BroadcastCb(action=BroadcastAction.CANCEL_CONFIRMED, broadcast_id=broadcast_id),
    )


@router.callback_query(_on(BroadcastAction.CANCEL_CONFIRMED))
async def cancel_confirmed(
    query: CallbackQuery,
    callback_data: BroadcastCb,
    uow: UnitOfWork,
    admin_ids: frozenset[int],
    broadcasts: BroadcastSender | None = None,
) -> None:
    message = _pressed(query)
    view = await service.control(
        uow, query.from_user.id, admin_ids, callback_data.broadcast_id, "cancel"
    )
    await query.answer(_("Cancelled."))
    await _show_progress(message, view, broadcasts, final=True)


async def _show_progress(
    message: Message, view: BroadcastView, broadcasts: BroadcastSender | None, *, final: bool
) -> None:
    """The pressed message now shows the progress; the sender, which keeps the progress
    message up to date, hears of it (and is woken), so it repeats no identical edit."""
    text = progress_text(view)
    markup = None if final else progress_keyboard(view)
    await edit_in_place(message, text, markup)
    if broadcasts is not None:
        if message.message_id == view.progress_message_id:
            broadcasts.progress_shown(view.id, text, markup)
        broadcasts.wake()
