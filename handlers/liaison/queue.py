"""/queue: what needs attention, most urgent first; paged, filterable by status."""

from __future__ import annotations

from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from bot.domain.statuses import RequestStatus
from bot.i18n import _
from bot.services import queue
from bot.services.queue import QueuePage
from bot.services.uow import UnitOfWork
from bot.texts.callbacks import CaseAction, CaseCb, QueueCb
from bot.texts.common import status_label
from bot.texts.keyboards import keyboard
from bot.texts.privacy import erased_label
from bot.texts.staff import waited
from handlers.editing import edit_in_place
from handlers.routing import RouterSpec

router = RouterSpec("staff.queue")
FILTERS = (None, RequestStatus.SUBMITTED, RequestStatus.IN_REVIEW, RequestStatus.NEEDS_INFORMATION)


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
        if item.erased_reason is not None:
            marks.append(erased_label(item.erased_reason))
        lines.append(
            f"P{item.priority} · <code>{item.code}</code> · {status_label(item.status)} · "
            + _("waiting {time}").format(time=waited(item.waiting_since))
            + (f" · {', '.join(marks)}" if marks else "")
        )
        rows.append([(item.code, CaseCb(action=CaseAction.OPEN, request_id=item.id).pack())])
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
async def show_queue(message: Message, uow: UnitOfWork, admin_ids: frozenset[int]) -> None:
    assert message.from_user
    page = await queue.queue_page(uow, message.from_user.id, admin_ids, 0)
    text, markup = render_queue(page, None)
    await message.answer(text, reply_markup=markup)


@router.callback_query(QueueCb.filter())
async def turn_page(
    query: CallbackQuery, callback_data: QueueCb, uow: UnitOfWork, admin_ids: frozenset[int]
) -> None:
    try:
        status = RequestStatus(callback_data.status) if callback_data.status else None
    except ValueError:
        status = None
    page = await queue.queue_page(
        uow, query.from_user.id, admin_ids, max(0, callback_data.page), status
    )
    await query.answer()
    if isinstance(query.message, Message):
        await edit_in_place(query.message, *render_queue(page, status))
