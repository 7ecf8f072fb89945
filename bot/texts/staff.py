"""What the bot sends the team on its own: notices of new requests and information,
a notice's progress and final report, the call to approve a notice."""

from __future__ import annotations

from datetime import UTC, datetime

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.domain.states import BroadcastState
from bot.i18n import N_, _, ngettext
from bot.services.broadcasts import BroadcastView
from bot.services.notices import StaffSummary
from bot.texts.callbacks import BroadcastAction, BroadcastCb, CaseAction, CaseCb
from bot.texts.keyboards import keyboard

CASE_LINK_PREFIX = "case-"

BROADCAST_STATE_LABELS = {
    BroadcastState.COMPOSING: N_("being written"),
    BroadcastState.AWAITING_APPROVAL: N_("waiting for approval"),
    BroadcastState.SENDING: N_("sending"),
    BroadcastState.PAUSED: N_("paused"),
    BroadcastState.DONE: N_("finished"),
    BroadcastState.CANCELLED: N_("cancelled"),
    BroadcastState.DECLINED: N_("declined"),
    BroadcastState.DISCARDED: N_("withdrawn"),
}


def broadcast_state_label(state: str) -> str:
    return _(BROADCAST_STATE_LABELS[BroadcastState(state)])


def waited(since: datetime) -> str:
    hours = int((datetime.now(UTC) - since).total_seconds() // 3600)
    if hours < 1:
        return _("less than an hour")
    if hours < 48:
        return ngettext("{count} hour", "{count} hours", hours).format(count=hours)
    days = hours // 24
    return ngettext("{count} day", "{count} days", days).format(count=days)


def staff_notice(
    template: str, case: StaffSummary, in_group: bool, bot_username: str
) -> tuple[str, InlineKeyboardMarkup]:
    """Code, priority and waiting time only: the details open in a private chat."""
    title = (
        _("New tracing request {code}")
        if template == "staff_new"
        else _("New information on {code}")
    ).format(code=case.code)
    flags = []
    if case.health:
        flags.append(_("health needs"))
    if case.now_adult:
        flags.append(_("now an adult"))
    lines = [f"<b>{title}</b>", f"P{case.priority}" + (f" · {', '.join(flags)}" if flags else "")]
    lines.append(_("waiting {time}").format(time=waited(case.created_at)))
    if in_group:
        # Anyone in a group could press a button: the case opens only in a private chat.
        link = f"https://t.me/{bot_username}?start={CASE_LINK_PREFIX}{case.code}"
        rows = [[InlineKeyboardButton(text=_("Open in a private chat"), url=link)]]
    else:
        rows = [
            [
                InlineKeyboardButton(
                    text=_("Open"),
                    callback_data=CaseCb(action=CaseAction.OPEN, request_id=case.id).pack(),
                ),
                InlineKeyboardButton(
                    text=_("Take"),
                    callback_data=CaseCb(action=CaseAction.TAKE, request_id=case.id).pack(),
                ),
            ]
        ]
    return "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=rows)


def families(count: int) -> str:
    return ngettext("{count} family", "{count} families", count).format(count=count)


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
                id=view.id, state=broadcast_state_label(view.state)
            ),
            progress_counts(view),
        ]
    )


def progress_keyboard(view: BroadcastView) -> InlineKeyboardMarkup:
    def button(text: str, action: BroadcastAction) -> tuple[str, str]:
        return text, BroadcastCb(action=action, broadcast_id=view.id).pack()

    cancel = button(_("Cancel"), BroadcastAction.CANCEL)
    if view.state == BroadcastState.SENDING:
        return keyboard([[button(_("Pause"), BroadcastAction.PAUSE), cancel]])
    if view.state == BroadcastState.PAUSED:
        return keyboard([[button(_("Resume"), BroadcastAction.RESUME), cancel]])
    return keyboard([])


def final_report(view: BroadcastView) -> str:
    lines = [
        _("<b>General notice #{id}</b> has {state}.").format(
            id=view.id,
            state=_("finished") if view.state == BroadcastState.DONE else _("been cancelled"),
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
