"""/status and /add: a family's own requests, and information added later."""

from __future__ import annotations

from aiogram import F
from aiogram.filters import CommandObject, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from bot.domain.reference import normalize_reference_code
from bot.domain.statuses import RequestStatus
from bot.i18n import _, format_day, ngettext
from bot.services import families
from bot.services.families import RequestDetails, RequestNotFound, RequestSummary
from bot.services.notices import StaffRouting
from bot.services.refusal import TooLong
from bot.services.uow import UnitOfWork
from handlers.callbacks import MenuAction, MenuCb, RequestAction, RequestCb
from handlers.family.states import AddInfo, Intake, enter, leave
from handlers.filters import Cmd, If, Pressed
from handlers.keyboards import Buttons
from handlers.routing import RouterSpec
from handlers.texts import (
    close_reason_label,
    h,
    menu_keyboard,
    status_label,
    status_meaning,
    too_long,
)

router = RouterSpec("family.requests")


def _status_line(request: RequestSummary) -> str:
    label = status_label(request.status)
    if request.status is RequestStatus.CLOSED:
        label += f" ({close_reason_label(request.close_reason)})"
    return label


def render_list(requests: list[RequestSummary]) -> tuple[str, InlineKeyboardMarkup]:
    lines = [
        "<b>"
        + ngettext("You have {count} request:", "You have {count} requests:", len(requests)).format(
            count=len(requests)
        )
        + "</b>"
    ]
    builder = Buttons()
    for request in requests:
        lines.append(
            f"\n<code>{request.code}</code> · {h(request.sought_name)}\n"
            f"{_status_line(request)} · {format_day(request.status_changed_at)}"
        )
        builder.button(
            text=request.code,
            callback_data=RequestCb(action=RequestAction.VIEW, request_id=request.id),
        )
    lines.append("\n" + _("Press a reference code to see the details."))
    builder.adjust(2)
    return "\n".join(lines), builder.as_markup()


def render_details(request: RequestDetails) -> tuple[str, InlineKeyboardMarkup]:
    text = "\n".join(
        [
            _("<b>Request {code}</b>").format(code=request.code),
            _("Person you are looking for: {name}").format(name=h(request.sought_name)),
            _("Status: <b>{status}</b>").format(status=_status_line(request)),
            status_meaning(request.status),
            _("Last change: {date}").format(date=format_day(request.status_changed_at)),
            _("Sent: {date}").format(date=format_day(request.created_at)),
            ngettext(
                "You have added information {count} time.",
                "You have added information {count} times.",
                request.followups,
            ).format(count=request.followups)
            if request.followups
            else "",
        ]
    ).rstrip()
    builder = Buttons()
    builder.button(
        text=_("Add information"),
        callback_data=RequestCb(action=RequestAction.ADD, request_id=request.id),
    )
    builder.button(text=_("All my requests"), callback_data=RequestCb(action=RequestAction.LIST))
    builder.adjust(1)
    return text, builder.as_markup()


async def _show_list(message: Message, uow: UnitOfWork, user_id: int) -> None:
    requests = await families.list_requests(uow, user_id)
    if not requests:
        await message.answer(
            _("You have no requests yet. To start one, send /new."), reply_markup=menu_keyboard()
        )
        return
    text, markup = render_list(requests)
    await message.answer(text, reply_markup=markup)


def _not_found() -> str:
    return _(
        "No request with this reference code was found among your requests. "
        "Please check the code, or send /status to see them all."
    )


def _bad_code() -> str:
    return _("This does not look like a reference code. A code looks like this: HW-7K3P-9Q.")


@router.message(Cmd("status"))
async def status(message: Message, command: CommandObject, uow: UnitOfWork) -> None:
    assert message.from_user
    if not command.args:
        await _show_list(message, uow, message.from_user.id)
        return
    code = normalize_reference_code(command.args)
    if code is None:
        await message.answer(_bad_code())
        return
    try:
        request = await families.get_request(uow, message.from_user.id, code=code)
    except RequestNotFound:
        await message.answer(_not_found())
        return
    text, markup = render_details(request)
    await message.answer(text, reply_markup=markup)


@router.callback_query(Pressed(MenuCb, action=MenuAction.STATUS))
async def status_button(query: CallbackQuery, uow: UnitOfWork) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        await _show_list(query.message, uow, query.from_user.id)


@router.callback_query(Pressed(RequestCb, action=RequestAction.LIST))
async def list_button(query: CallbackQuery, uow: UnitOfWork) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        await _show_list(query.message, uow, query.from_user.id)


async def _pressed_request(
    query: CallbackQuery, callback_data: RequestCb, uow: UnitOfWork
) -> RequestDetails | None:
    """The family's own request named by a button, or None (and an alert) for any other id."""
    try:
        request = await families.get_request(
            uow, query.from_user.id, request_id=callback_data.request_id
        )
    except RequestNotFound:
        await query.answer(_("This request was not found."), show_alert=True)
        return None
    await query.answer()
    return request


@router.callback_query(Pressed(RequestCb, action=RequestAction.VIEW))
async def view_button(query: CallbackQuery, callback_data: RequestCb, uow: UnitOfWork) -> None:
    request = await _pressed_request(query, callback_data, uow)
    if request is not None and isinstance(query.message, Message):
        text, markup = render_details(request)
        await query.message.answer(text, reply_markup=markup)


# --- adding information ------------------------------------------------------------
def _done_keyboard(request_id: int) -> InlineKeyboardMarkup:
    builder = Buttons()
    builder.button(
        text=_("Done"), callback_data=RequestCb(action=RequestAction.DONE, request_id=request_id)
    )
    return builder.as_markup()


async def _start_adding(message: Message, state: FSMContext, request: RequestDetails) -> None:
    if await state.get_state() == Intake.active.state:
        # Keep the unfinished intake: adding information waits until it is sent or cancelled.
        await message.answer(
            _("Please finish or cancel the request you are filling in first (/cancel).")
        )
        return
    await enter(state, AddInfo.active, {"request_id": request.id, "code": request.code})
    await message.answer(
        _(
            "Send the additional information for request <code>{code}</code> as text messages "
            "or photos. The liaisons will see it. Press “Done” when you have finished."
        ).format(code=request.code),
        reply_markup=_done_keyboard(request.id),
    )


@router.message(Cmd("add"))
async def add(message: Message, command: CommandObject, state: FSMContext, uow: UnitOfWork) -> None:
    assert message.from_user
    user_id = message.from_user.id
    if not command.args:
        requests = await families.list_requests(uow, user_id)
        if not requests:
            await message.answer(_("You have no requests yet. To start one, send /new."))
        elif len(requests) == 1:
            request = await families.get_request(uow, user_id, request_id=requests[0].id)
            await _start_adding(message, state, request)
        else:
            builder = Buttons()
            for item in requests:
                builder.button(
                    text=item.code,
                    callback_data=RequestCb(action=RequestAction.ADD, request_id=item.id),
                )
            builder.adjust(2)
            await message.answer(
                _("To which request do you want to add information?"),
                reply_markup=builder.as_markup(),
            )
        return
    code = normalize_reference_code(command.args)
    if code is None:
        await message.answer(_bad_code())
        return
    try:
        request = await families.get_request(uow, user_id, code=code)
    except RequestNotFound:
        await message.answer(_not_found())
        return
    await _start_adding(message, state, request)


@router.callback_query(Pressed(RequestCb, action=RequestAction.ADD))
async def add_button(
    query: CallbackQuery, callback_data: RequestCb, state: FSMContext, uow: UnitOfWork
) -> None:
    request = await _pressed_request(query, callback_data, uow)
    if request is not None and isinstance(query.message, Message):
        await _start_adding(query.message, state, request)


@router.callback_query(Pressed(RequestCb, action=RequestAction.DONE))
async def add_done(query: CallbackQuery, callback_data: RequestCb, state: FSMContext) -> None:
    await query.answer()
    data = await state.get_data()
    if (
        await state.get_state() == AddInfo.active.state
        and data.get("request_id") == callback_data.request_id
    ):
        await leave(state)
    if isinstance(query.message, Message):
        await query.message.answer(
            _("Thank you. The liaisons will see what you sent."), reply_markup=menu_keyboard()
        )


@router.message(StateFilter(AddInfo.active), If(F.text | F.photo))
async def add_content(
    message: Message,
    state: FSMContext,
    uow: UnitOfWork,
    staff_routing: StaffRouting | None = None,
) -> None:
    assert message.from_user
    data = await state.get_data()
    text = message.text if message.text is not None else message.caption
    if text and text.startswith("/"):
        await message.answer(
            _("This command is not available here. Press “Done” first."),
            reply_markup=_done_keyboard(data["request_id"]),
        )
        return
    photo = message.photo[-1].file_id if message.photo else None
    group = message.media_group_id
    same_album = group is not None and data.get("last_group") == group
    try:
        code = await families.add_followup(
            uow,
            message.from_user.id,
            data["request_id"],
            text,
            photo,
            staff=None if same_album else staff_routing,  # one notice per album
        )
    except RequestNotFound:
        await leave(state)
        await message.answer(_not_found())
        return
    except TooLong as error:  # nothing is lost: they are still adding to the request
        await message.answer(too_long(error.length, error.limit))
        return
    if same_album:
        return  # one acknowledgement per album is enough
    if group is not None:
        await state.update_data(last_group=group)
    await message.answer(
        _("Added to request <code>{code}</code>. You can send more, or press “Done”.").format(
            code=code
        ),
        reply_markup=_done_keyboard(data["request_id"]),
    )


@router.message(StateFilter(AddInfo.active))
async def add_wrong_kind(message: Message, state: FSMContext) -> None:
    data = await state.get_data()
    await message.answer(
        _("Please send text or a photo."), reply_markup=_done_keyboard(data["request_id"])
    )
