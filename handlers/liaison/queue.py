"""/queue: what needs attention, most urgent first; paged, filterable by status."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime

from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from bot.domain.statuses import RequestStatus
from bot.i18n import _, ngettext
from bot.services import queue
from bot.services.queue import QueuePage
from bot.services.uow import UnitOfWork
from handlers.callbacks import CaseCb, QueueCb
from handlers.keyboards import keyboard
from handlers.routing import RouterSpec
from handlers.texts import status_label

router = RouterSpec("staff.queue")
FILTERS = (None, RequestStatus.SUBMITTED, RequestStatus.IN_REVIEW, RequestStatus.NEEDS_INFORMATION)


def waited(since: datetime) -> str:
    hours = int((datetime.now(UTC) - since).total_seconds() // 3600)
    if hours < 1:
        return _("less than an hour")
    if hours < 48:
        return ngettext("{count} hour", "{count} hours", hours).format(count=hours)
    days = hours // 24
    return ngettext("{count} day", "{count} days", days).format(count=days)


def render_queue(page: QueuePage, status: RequestStatus | None) -> tuple[str, InlineKeyboardMarkup]:
    title = (
        _("<b>Queue</b>")
        if status is None
        else _("<b>Queue: {status}</b>").format(status=status_label(status))
    )
    lines = [title]
    if not page.items:
        lines.append(_("Nothing needs attention."))
    rows: list[list[tuple[str, str]]] = []
    for item in page.items:
        marks = []
        if item.health:
            marks.append(_("health needs"))
        if item.now_adult:
            marks.append(_("now an adult"))
        if item.new_info:
            marks.append(_("new information"))
        if item.pending_draft:
            marks.append(_("draft to approve"))
        lines.append(
            f"P{item.priority} · <code>{item.code}</code> · {status_label(item.status)} · "
            + _("waiting {time}").format(time=waited(item.waiting_since))
            + (f" · {', '.join(marks)}" if marks else "")
        )
        rows.append([(item.code, CaseCb(action="open", request_id=item.id).pack())])
    pages = f"{page.pages}+" if page.more_than_counted else str(page.pages)
    lines.append(_("Page {page} of {pages}").format(page=page.page + 1, pages=pages))
    value = status.value if status else ""
    nav = []
    if page.page > 0:
        nav.append(("«", QueueCb(page=page.page - 1, status=value).pack()))
    if page.page + 1 < page.pages or (
        page.more_than_counted and len(page.items) == queue.PAGE_SIZE
    ):
        nav.append(("»", QueueCb(page=page.page + 1, status=value).pack()))
    rows.append(nav)
    rows.append(
        [
            (
                _("All") if f is None else status_label(f),
                QueueCb(page=0, status=f.value if f else "").pack(),
            )
            for f in FILTERS
            if f != status
        ]
    )
    return "\n".join(lines), keyboard(rows)


@router.message(Command("queue"))
async def show_queue(message: Message, uow: UnitOfWork) -> None:
    page = await queue.queue_page(uow, 0)
    text, markup = render_queue(page, None)
    await message.answer(text, reply_markup=markup)


@router.callback_query(QueueCb.filter())
async def turn_page(query: CallbackQuery, callback_data: QueueCb, uow: UnitOfWork) -> None:
    try:
        status = RequestStatus(callback_data.status) if callback_data.status else None
    except ValueError:
        status = None
    page = await queue.queue_page(uow, max(0, callback_data.page), status)
    await query.answer()
    if isinstance(query.message, Message):
        text, markup = render_queue(page, status)
        with contextlib.suppress(TelegramBadRequest):
            await query.message.edit_text(text, reply_markup=markup)
