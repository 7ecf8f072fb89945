"""/mydata and /forget: a family's copy of its data, and erasing all of it."""

from __future__ import annotations

from aiogram.fsm.context import FSMContext
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardMarkup, Message

from bot.i18n import _, ngettext
from bot.middlewares import LocaleCache
from bot.services import families, privacy
from bot.services.uow import UnitOfWork
from bot.texts.privacy import my_data_text
from handlers.callbacks import ForgetAction, ForgetCb
from handlers.filters import Cmd, Pressed
from handlers.keyboards import Buttons
from handlers.routing import RouterSpec
from handlers.texts import menu_keyboard

router = RouterSpec("family.privacy")


@router.message(Cmd("mydata"))
async def my_data(message: Message, uow: UnitOfWork) -> None:
    assert message.from_user
    data = await privacy.my_data(uow, message.from_user.id)
    await message.answer(
        _(
            "Here is a copy of everything we store about you: your language and settings, "
            "your requests with every answer, what you added later, the status history and "
            "the messages the team sent you. One file is for reading, the other (JSON) for "
            "computers. The liaisons’ internal notes and working drafts are not included."
        )
    )
    await message.answer_document(
        BufferedInputFile(my_data_text(data).encode("utf-8"), "homeward-my-data.txt"),
        caption=_("Your data, to read."),
    )
    await message.answer_document(
        BufferedInputFile(privacy.my_data_json(data).encode("utf-8"), "homeward-my-data.json"),
        caption=_("The same data in JSON."),
    )


def _forget_keyboard() -> InlineKeyboardMarkup:
    buttons = Buttons()
    buttons.button(text=_("Erase my data"), callback_data=ForgetCb(action=ForgetAction.ERASE))
    buttons.button(text=_("Keep my data"), callback_data=ForgetCb(action=ForgetAction.KEEP))
    buttons.adjust(1)
    return buttons.as_markup()


@router.message(Cmd("forget"))
async def forget(message: Message, uow: UnitOfWork) -> None:
    assert message.from_user
    requests = await families.list_requests(uow, message.from_user.id)
    lines = [
        _(
            "<b>Erase your data</b>\n\n"
            "If you continue, we erase everything we store about you: the answers in your "
            "requests (about the person you are looking for, the separation and you), the "
            "photos, the information you added later, the messages the team sent you, your "
            "language and settings, and an unfinished request."
        )
    ]
    if requests:
        lines.append(
            ngettext(
                "This concerns {count} request: {codes}.",
                "This concerns {count} requests: {codes}.",
                len(requests),
            ).format(
                count=len(requests),
                codes=", ".join(f"<code>{request.code}</code>" for request in requests),
            )
        )
        lines.append(
            _(
                "The team keeps only the reference codes, the dates and the statuses, with a "
                "note that the data was erased at your request. Nothing in them shows who you "
                "are or whom you are looking for. The search for the person stops."
            )
        )
    lines.append(
        _(
            "This cannot be undone. You can save a copy first with /mydata. "
            "Do you want to erase your data?"
        )
    )
    await message.answer("\n\n".join(lines), reply_markup=_forget_keyboard())


@router.callback_query(Pressed(ForgetCb, action=ForgetAction.ERASE))
async def forget_confirmed(
    query: CallbackQuery, state: FSMContext, uow: UnitOfWork, locale_cache: LocaleCache
) -> None:
    user_id = query.from_user.id
    await privacy.forget_family(uow, user_id)
    await state.clear()  # also the copy in memory or in Redis
    locale_cache.put(user_id, None)  # nothing is stored about them any more
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.answer(
            _("Your data has been erased. If you write to us again, we start afresh."),
            reply_markup=menu_keyboard(),
        )


@router.callback_query(Pressed(ForgetCb, action=ForgetAction.KEEP))
async def forget_cancelled(query: CallbackQuery) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.answer(
            _("Nothing has been erased. Your data and requests stay as they are."),
            reply_markup=menu_keyboard(),
        )
