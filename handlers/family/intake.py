"""/new: the guided intake of a tracing request, one question at a time."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from aiogram import F
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n

from bot.domain import intake
from bot.domain.intake import Choice, Kind, StaleButton, Step
from bot.domain.validation import InputError
from bot.i18n import N_, _, ngettext, pgettext
from bot.services import families
from bot.services.notices import StaffRouting
from bot.services.uow import UnitOfWork
from handlers.callbacks import CancelCb, IntakeAction, IntakeCb, MenuAction, MenuCb
from handlers.family.states import AddInfo, Intake, enter, leave
from handlers.filters import Cmd, If, Pressed
from handlers.keyboards import Buttons
from handlers.routing import RouterSpec
from handlers.texts import h, menu_keyboard

router = RouterSpec("family.intake")
log = logging.getLogger(__name__)

_SUMMARY_CHUNK = 3800  # Telegram allows 4096; leave room for the header


def _today() -> Any:
    return datetime.now(UTC).date()


# --- rendering ----------------------------------------------------------------
def choice_label(choice: Choice) -> str:
    """A choice's label in the reader's language, under its msgctxt if it has one."""
    if choice.context is not None:
        return pgettext(choice.context, choice.label)
    return _(choice.label)


def display_value(step: Step, value: Any) -> str:
    """An answer as the summary shows it: escaped text, translated choices."""
    if value is None:
        return _("not given")
    if step.kind is Kind.CHOICE:
        chosen = next((choice for choice in step.choices if choice.value == value), None)
        return choice_label(chosen) if chosen is not None else h(value)
    if step.kind is Kind.PHOTOS:
        return ngettext("{count} photo", "{count} photos", len(value)).format(count=len(value))
    if step.kind in (Kind.DATE, Kind.BIRTH):
        if value["kind"] == "age":
            years = int(value["text"])
            return ngettext(
                "about {years} year old today", "about {years} years old today", years
            ).format(years=years)
        return h(value["text"])
    return h(value)


def render_step(draft: dict[str, Any]) -> tuple[str, InlineKeyboardMarkup]:
    step = intake.current_step(draft)
    assert step is not None
    answers = draft["answers"]
    answer = answers.get(step.key)
    shown_answer = None
    if answer is not None and step.kind is not Kind.PHOTOS:
        shown_answer = display_value(step, answer)
    steps = [s.key for s in intake.active_steps(answers) if s.kind is not Kind.CONSENT]
    return _render_step(
        I18n.get_current(no_error=False).current_locale,
        step.key,
        steps.index(step.key) + 1 if step.key in steps else 0,
        len(steps),
        shown_answer,
        bool(answers.get("photos")),
        bool(draft["history"]),
    )


@lru_cache(maxsize=2048)
def _render_step(
    locale: str,
    key: str,
    position: int,
    total: int,
    shown_answer: str | None,
    has_photos: bool,
    has_history: bool,
) -> tuple[str, InlineKeyboardMarkup]:
    """The same question looks the same every time: build it once per language and shape."""
    step = intake.STEP_BY_KEY[key]
    builder = Buttons()
    if step.kind is Kind.CONSENT:
        text = consent_text()
        builder.button(
            text=_("I agree"), callback_data=IntakeCb(action=IntakeAction.AGREE, step=key)
        )
        builder.button(
            text=_("I do not agree"), callback_data=IntakeCb(action=IntakeAction.DECLINE, step=key)
        )
    else:
        text = _("Question {number} of {total}").format(number=position, total=total)
        text = f"<i>{text}</i>\n\n{_(step.prompt)}"
        if step.optional:
            text += "\n" + _("(optional)")
        if shown_answer is not None:
            text += "\n\n" + _("Current answer: {answer}").format(answer=shown_answer)
        for choice in step.choices:
            builder.button(
                text=choice_label(choice),
                callback_data=IntakeCb(action=IntakeAction.PICK, step=key, value=choice.value),
            )
        if step.kind is Kind.PHOTOS and has_photos:
            builder.button(
                text=_("Done"), callback_data=IntakeCb(action=IntakeAction.DONE, step=key)
            )
        elif step.optional:
            builder.button(
                text=_("Skip"), callback_data=IntakeCb(action=IntakeAction.SKIP, step=key)
            )
    if has_history:
        builder.button(text=_("« Back"), callback_data=IntakeCb(action=IntakeAction.BACK, step=key))
    builder.adjust(1)
    return text, builder.as_markup()


def consent_text() -> str:
    return _(
        "<b>Consent</b>\n\n"
        "Before you send the request, please read this.\n\n"
        "• The information you gave, including the photos, will be shared with the "
        "verification bodies of both sides, only to trace the person and to help reunite "
        "the family.\n"
        "• It will not be published or used for any other purpose.\n"
        "• Only a small team of vetted liaisons works with it.\n"
        "• You can ask to withdraw the request at any time.\n\n"
        "Without your consent nothing is stored. Do you agree?"
    )


def render_summary(draft: dict[str, Any]) -> tuple[list[str], InlineKeyboardMarkup]:
    answers = draft["answers"]
    editable = intake.editable_steps(draft)
    sections: list[str] = []
    for section, title in intake.SECTION_TITLES.items():
        lines = [f"<b>{_(title)}</b>"]
        for step in editable:
            if step.section is section:
                lines.append(f"{_(step.label)}: {display_value(step, answers.get(step.key))}")
        sections.append("\n".join(lines))
    header = "<b>" + _("Please check your request") + "</b>"
    footer = _(
        "If everything is correct, press “Send request”. "
        "To change an answer, press “Edit an answer”."
    )
    chunks: list[str] = [header]
    for part in [*sections, footer]:
        if len(chunks[-1]) + len(part) + 2 > _SUMMARY_CHUNK:
            chunks.append(part)
        else:
            chunks[-1] += "\n\n" + part
    return chunks, _summary_keyboard(I18n.get_current(no_error=False).current_locale)


@lru_cache(maxsize=8)
def _summary_keyboard(locale: str) -> InlineKeyboardMarkup:
    """The same three buttons under every summary: built once per language."""
    builder = Buttons()
    builder.button(text=_("Send request"), callback_data=IntakeCb(action=IntakeAction.SUBMIT))
    builder.button(text=_("Edit an answer"), callback_data=IntakeCb(action=IntakeAction.EDIT_MENU))
    builder.button(
        text=_("« Back"), callback_data=IntakeCb(action=IntakeAction.BACK, step=intake.SUMMARY)
    )
    builder.adjust(1)
    return builder.as_markup()


def edit_menu() -> tuple[str, InlineKeyboardMarkup]:
    return _("Which answer do you want to change?"), _edit_keyboard()


def _edit_keyboard() -> InlineKeyboardMarkup:
    builder = Buttons()
    for step in intake.STEPS:
        if step.kind is not Kind.CONSENT:
            builder.button(
                text=_(step.label), callback_data=IntakeCb(action=IntakeAction.EDIT, step=step.key)
            )
    builder.button(
        text=_("Back to the summary"), callback_data=IntakeCb(action=IntakeAction.SUMMARY)
    )
    builder.adjust(2)
    return builder.as_markup()


async def send_current(message: Message, draft: dict[str, Any], prefix: str | None = None) -> None:
    """Ask the current question again, or show the summary."""
    if draft["step"] == intake.SUMMARY:
        chunks, markup = render_summary(draft)
        if prefix:
            chunks[0] = f"{prefix}\n\n{chunks[0]}"
        for chunk in chunks[:-1]:
            await message.answer(chunk)
        await message.answer(chunks[-1], reply_markup=markup)
        return
    text, markup = render_step(draft)
    await message.answer(f"{prefix}\n\n{text}" if prefix else text, reply_markup=markup)


def error_text(error: InputError) -> str:
    return _(error.message).format(**error.params)


async def _load(state: FSMContext) -> dict[str, Any] | None:
    if await state.get_state() != Intake.active.state:
        return None
    return (await state.get_data()).get("draft")


async def _save(state: FSMContext, draft: dict[str, Any], **extra: Any) -> None:
    await state.set_data({"draft": draft, **extra})


# --- starting and cancelling ------------------------------------------------------
async def begin(message: Message, state: FSMContext) -> None:
    draft = await _load(state)
    if draft is not None:
        await send_current(
            message, draft, _("You have an unfinished request. Let us continue where you stopped.")
        )
        return
    draft = intake.new_draft()
    await enter(state, Intake.active, {"draft": draft})
    intro = _(
        "Let us start a tracing request. I will ask short questions, one at a time. "
        "You can go back, skip the optional ones and check everything before sending. "
        "To stop, send /cancel."
    )
    await send_current(message, draft, intro)


@router.message(Cmd("new"))
async def new_request(message: Message, state: FSMContext) -> None:
    if await state.get_state() == AddInfo.active.state:
        await leave(state)
    await begin(message, state)


@router.callback_query(Pressed(MenuCb, action=MenuAction.NEW))
async def new_request_button(query: CallbackQuery, state: FSMContext) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        if await state.get_state() == AddInfo.active.state:
            await leave(state)
        await begin(query.message, state)


@router.message(Cmd("cancel"))
async def cancel(message: Message, state: FSMContext) -> None:
    current = await state.get_state()
    if current == Intake.active.state:
        builder = Buttons()
        builder.button(text=_("Yes, delete it"), callback_data=CancelCb(confirm=True))
        builder.button(text=_("No, continue"), callback_data=CancelCb(confirm=False))
        builder.adjust(1)
        await message.answer(
            _("Do you want to cancel this request? Everything you entered will be deleted."),
            reply_markup=builder.as_markup(),
        )
    elif current == AddInfo.active.state:
        await leave(state)
        await message.answer(_("Done. Nothing more will be added."), reply_markup=menu_keyboard())
    else:
        await message.answer(_("There is nothing to cancel."), reply_markup=menu_keyboard())


@router.callback_query(Pressed(CancelCb))
async def cancel_confirmed(
    query: CallbackQuery, callback_data: CancelCb, state: FSMContext
) -> None:
    await query.answer()
    message = query.message
    if not isinstance(message, Message):
        return
    await _drop_keyboard(message)
    draft = await _load(state)
    if draft is None:
        await message.answer(_("There is nothing to cancel."), reply_markup=menu_keyboard())
    elif callback_data.confirm:
        await leave(state)
        await message.answer(
            _("The request has been cancelled and what you entered has been deleted."),
            reply_markup=menu_keyboard(),
        )
    else:
        await send_current(message, draft, _("Let us continue."))


# --- answers ------------------------------------------------------------------------
def _seen(draft: dict[str, Any], message: Message) -> bool:
    """True for an answer already applied: after a crash Telegram may deliver it again,
    and applying it twice would put it into the next question's place."""
    if message.message_id <= draft.get("last_message_id", 0):
        return True
    draft["last_message_id"] = message.message_id
    return False


@router.message(StateFilter(Intake.active), If(F.text))
async def text_answer(message: Message, state: FSMContext) -> None:
    draft = await _load(state)
    if draft is None:
        return
    if _seen(draft, message):
        # Applied already, by a process that stopped before it could answer (a crash, or
        # another instance that died): the person may never have seen the next question.
        await send_current(message, draft)
        return
    text = message.text or ""
    if text.startswith("/"):
        await send_current(
            message,
            draft,
            _("This command is not available here. To stop the request, send /cancel."),
        )
        return
    step = intake.current_step(draft)
    try:
        if step is not None and step.kind is Kind.CHOICE:
            typed = text.strip().casefold()
            chosen = next(
                (c.value for c in step.choices if choice_label(c).casefold() == typed), None
            )
            if chosen is None:
                raise InputError(N_("Please choose one of the buttons."))
            draft = intake.answer_choice(draft, step.key, chosen)
        elif step is not None and step.kind is Kind.CONSENT:
            raise InputError(N_("Please choose one of the buttons."))
        else:
            draft = intake.answer_text(draft, text, _today())
    except InputError as error:
        await send_current(message, draft, "⚠️ " + error_text(error))
        return
    await _save(state, draft)
    await send_current(message, draft)


@router.message(StateFilter(Intake.active), If(F.photo))
async def photo_answer(message: Message, state: FSMContext) -> None:
    data = await state.get_data()
    draft = data.get("draft")
    if draft is None or _seen(draft, message):
        return
    step = intake.current_step(draft)
    if step is None or step.kind is not Kind.PHOTOS:
        await send_current(message, draft, "⚠️ " + _wrong_kind(step))
        return
    assert message.photo
    if not intake.add_photo(draft, message.photo[-1].file_id):
        group = message.media_group_id
        if group is None or data.get("warned_group") != group:
            await message.answer(
                _(
                    "You have already added {limit} photos, the most that can be sent. "
                    "This one was not added. Press “Done” to continue."
                ).format(limit=intake.MAX_PHOTOS),
                reply_markup=render_step(draft)[1],
            )
        await _save(state, draft, warned_group=group)
        return
    await _save(state, draft)
    count = len(draft["answers"]["photos"])
    await message.answer(
        _("Photo {number} of {limit} received. Send more, or press “Done”.").format(
            number=count, limit=intake.MAX_PHOTOS
        ),
        reply_markup=render_step(draft)[1],
    )


@router.message(StateFilter(Intake.active))
async def other_content(message: Message, state: FSMContext) -> None:
    draft = await _load(state)
    if draft is not None:
        await send_current(message, draft, "⚠️ " + _wrong_kind(intake.current_step(draft)))


def _wrong_kind(step: Step | None) -> str:
    if step is None or step.kind in (Kind.CHOICE, Kind.CONSENT):
        return _("Please use the buttons.")
    if step.kind is Kind.PHOTOS:
        return _("Please send a photo, or press “Done” or “Skip”.")
    return _("Please answer with a text message.")


# --- buttons ------------------------------------------------------------------------
async def show_in_place(message: Message, draft: dict[str, Any]) -> None:
    """Turn the message whose button was pressed into the next question.

    One request instead of two (strip the old buttons, send a new message), and a
    shorter chat to scroll on a small phone; the summary shows every answer at the end.
    """
    if draft["step"] == intake.SUMMARY:
        chunks, markup = render_summary(draft)
        if len(chunks) > 1:
            await _drop_keyboard(message)
            await send_current(message, draft)
            return
        text = chunks[0]
    else:
        text, markup = render_step(draft)
    try:
        await message.edit_text(text, reply_markup=markup)
    except TelegramBadRequest as error:
        if "message is not modified" in error.message:
            # A press delivered again after a crash of the instance that handled it: the
            # message already shows this question.
            return
        # Too old to edit, or a photo message: ask in a new message instead.
        await _drop_keyboard(message)
        await message.answer(text, reply_markup=markup)


async def _drop_keyboard(message: Message) -> None:
    """Take the buttons off a message that has been answered, so they can't be pressed twice."""
    with contextlib.suppress(TelegramBadRequest):
        await message.edit_reply_markup(reply_markup=None)


# One handler per action: each checks that its draft is still at the step the button
# belongs to, so a button pressed under an earlier message is answered, never applied.
_CONSENT = "consent"


def _on(action: IntakeAction) -> Pressed:
    return Pressed(IntakeCb, action=action)


async def _stale(query: CallbackQuery) -> None:
    await query.answer(_("This button is no longer active."))


async def _pressed(
    query: CallbackQuery, state: FSMContext, at: str | None = None
) -> tuple[Message, dict[str, Any]] | None:
    """The pressed message and the draft; None, and the family told so, when there is no
    draft any more or it is no longer at step `at`."""
    message = query.message
    draft = await _load(state)
    moved_on = draft is not None and at is not None and draft["step"] != at
    if draft is None or moved_on or not isinstance(message, Message):
        await _stale(query)
        return None
    return message, draft


async def _apply(
    query: CallbackQuery,
    state: FSMContext,
    move: Callable[[dict[str, Any]], dict[str, Any]],
    at: str | None = None,
) -> None:
    """Change the draft as the button says, then show what comes next in its message."""
    pressed = await _pressed(query, state, at)
    if pressed is None:
        return
    message, draft = pressed
    try:
        draft = move(draft)
    except StaleButton:
        await _stale(query)
        return
    await _save(state, draft)
    await query.answer()
    await show_in_place(message, draft)


def _unchanged(draft: dict[str, Any]) -> dict[str, Any]:
    return draft


@router.callback_query(_on(IntakeAction.PICK))
async def pick(query: CallbackQuery, callback_data: IntakeCb, state: FSMContext) -> None:
    await _apply(
        query, state, lambda d: intake.answer_choice(d, callback_data.step, callback_data.value)
    )


@router.callback_query(_on(IntakeAction.SKIP))
async def skip(query: CallbackQuery, callback_data: IntakeCb, state: FSMContext) -> None:
    await _apply(query, state, lambda d: intake.skip(d, callback_data.step))


@router.callback_query(_on(IntakeAction.DONE))
async def photos_done(query: CallbackQuery, state: FSMContext) -> None:
    await _apply(query, state, intake.finish_photos)


@router.callback_query(_on(IntakeAction.BACK))
async def back(query: CallbackQuery, callback_data: IntakeCb, state: FSMContext) -> None:
    # Only the Back button of the question being asked: an older one would go back twice.
    await _apply(query, state, intake.back, at=callback_data.step)


@router.callback_query(_on(IntakeAction.EDIT))
async def edit(query: CallbackQuery, callback_data: IntakeCb, state: FSMContext) -> None:
    await _apply(query, state, lambda d: intake.edit(d, callback_data.step))


@router.callback_query(_on(IntakeAction.SUMMARY))
async def back_to_summary(query: CallbackQuery, state: FSMContext) -> None:
    await _apply(query, state, _unchanged, at=intake.SUMMARY)


@router.callback_query(_on(IntakeAction.CONSENT))
async def back_to_consent(query: CallbackQuery, state: FSMContext) -> None:
    await _apply(query, state, _unchanged, at=_CONSENT)


@router.callback_query(_on(IntakeAction.AGREE))
async def agree(query: CallbackQuery, state: FSMContext) -> None:
    await _apply(query, state, intake.give_consent)


@router.callback_query(_on(IntakeAction.EDIT_MENU))
async def choose_answer_to_edit(query: CallbackQuery, state: FSMContext) -> None:
    pressed = await _pressed(query, state, at=intake.SUMMARY)
    if pressed is None:
        return
    message, _draft = pressed
    await query.answer()
    text, markup = edit_menu()
    await message.answer(text, reply_markup=markup)


@router.callback_query(_on(IntakeAction.DECLINE))
async def decline(query: CallbackQuery, state: FSMContext) -> None:
    pressed = await _pressed(query, state, at=_CONSENT)
    if pressed is None:
        return
    message, _draft = pressed
    await query.answer()
    builder = Buttons()
    builder.button(
        text=_("Delete my answers"), callback_data=IntakeCb(action=IntakeAction.DECLINE_CONFIRMED)
    )
    builder.button(text=_("« Back to consent"), callback_data=IntakeCb(action=IntakeAction.CONSENT))
    builder.adjust(1)
    await _drop_keyboard(message)
    await message.answer(
        _(
            "Without your consent we cannot store or pass on the request. "
            "If you do not agree, everything you entered will be deleted."
        ),
        reply_markup=builder.as_markup(),
    )


@router.callback_query(_on(IntakeAction.DECLINE_CONFIRMED))
async def decline_confirmed(query: CallbackQuery, state: FSMContext) -> None:
    pressed = await _pressed(query, state, at=_CONSENT)
    if pressed is None:
        return
    message, _draft = pressed
    await leave(state)
    await query.answer()
    await _drop_keyboard(message)
    await message.answer(
        _(
            "Nothing has been stored and your answers have been deleted. "
            "You can start again at any time with /new."
        ),
        reply_markup=menu_keyboard(),
    )


@router.callback_query(_on(IntakeAction.SUBMIT))
async def submit(
    query: CallbackQuery,
    state: FSMContext,
    uow: UnitOfWork,
    i18n: I18n,
    staff_routing: StaffRouting | None = None,
) -> None:
    pressed = await _pressed(query, state, at=intake.SUMMARY)
    if pressed is None:
        return
    message, draft = pressed
    try:
        code = await families.submit_request(
            uow, query.from_user.id, i18n.current_locale, draft, _today(), staff_routing
        )
    except InputError as error:
        await query.answer()
        await message.answer("⚠️ " + error_text(error))
        missing = intake.missing_required(draft)
        if missing:
            draft["step"] = missing[0].key
            await _save(state, draft)
        await send_current(message, draft)
        return
    await leave(state)
    await query.answer()
    await _drop_keyboard(message)
    await message.answer(
        _(
            "Your request has been sent. Your reference code is <code>{code}</code>. "
            "Please keep it.\n\n"
            "<b>What happens next:</b> a liaison will review your request and pass it on "
            "for tracing. This can take a long time. We will write to you here when there "
            "is verified news.\n\n"
            "You can check the status at any time with /status, and add information with "
            "/add {code}."
        ).format(code=code),
        reply_markup=menu_keyboard(),
    )
