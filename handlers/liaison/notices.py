"""Staff notice cards: code, priority and waiting time only; the details open in private."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.i18n import _
from bot.services.notices import StaffSummary
from handlers.callbacks import CaseCb
from handlers.liaison.queue import waited

CASE_LINK_PREFIX = "case-"


def staff_notice(
    template: str, case: StaffSummary, in_group: bool, bot_username: str
) -> tuple[str, InlineKeyboardMarkup]:
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
                    text=_("Open"), callback_data=CaseCb(action="open", request_id=case.id).pack()
                ),
                InlineKeyboardButton(
                    text=_("Take"), callback_data=CaseCb(action="take", request_id=case.id).pack()
                ),
            ]
        ]
    return "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=rows)
