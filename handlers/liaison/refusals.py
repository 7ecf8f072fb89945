"""One way to say no on the staff side: every refusal of a service, translated once.

Staff handlers call services and let `Refused` through; this middleware answers it, in
the reader's language, as a reply to a command or an alert on a button.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import CallbackQuery, Message, TelegramObject

from bot.domain.statuses import RequestStatus
from bot.i18n import N_, _
from bot.services.refusal import Refused
from bot.texts.common import status_label, too_long
from handlers.family.fallback import unknown_text

STALE_BUTTON = N_("This button is no longer active.")

REFUSALS = {
    "no_case": N_("There is no case {code}."),
    "no_draft": N_("There is no such draft."),
    "closed": N_("The case is closed: nothing more can be sent to the family."),
    "not_pending": N_("This draft has already been approved or declined."),
    "own_draft": N_("A second liaison must approve this draft (four-eyes rule)."),
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
    "match_decided": N_("This possible match has already been decided."),
    "erased": N_("The personal data of this case has been erased: nothing more can be added."),
    "no_erasure": N_("There is no such erasure request."),
    "erasure_decided": N_("This erasure request has already been decided."),
    "own_erasure": N_("Another admin must approve this erasure (four-eyes rule)."),
    "already_erased": N_("The personal data of case {code} has already been erased."),
    "stale": STALE_BUTTON,
}


def refusal_text(refused: Refused, *, button: bool = False) -> str:
    if refused.reason == "not_permitted":
        # Told nothing more than anyone for whom the command or button does not exist.
        return _(STALE_BUTTON) if button else unknown_text()
    if refused.reason == "too_long":
        return too_long(refused.params["length"], refused.params["limit"])
    if refused.reason == "illegal_move":
        return _("A case cannot move from “{current}” to “{target}”.").format(
            current=status_label(RequestStatus(refused.params["current"])),
            target=status_label(RequestStatus(refused.params["target"])),
        )
    return _(REFUSALS[refused.reason]).format(**refused.params)


class AnswerRefusals(BaseMiddleware):
    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        try:
            return await handler(event, data)
        except Refused as refused:
            if isinstance(event, CallbackQuery):
                quiet = refused.reason in ("not_permitted", "stale", "no_case")
                await event.answer(refusal_text(refused, button=True), show_alert=not quiet)
            elif isinstance(event, Message):
                await event.answer(refusal_text(refused))
            return None
