"""Everything a family does, in private chats with the bot."""

from __future__ import annotations

from aiogram import F, Router


def get_family_router() -> Router:
    from handlers.family import fallback, intake, requests, start

    router = Router(name="family")
    router.message.filter(F.chat.type == "private")
    router.callback_query.filter(F.message.chat.type == "private")
    # Commands first, so that /help or /status work in the middle of an intake;
    # the fallback last, for whatever nothing else understood.
    router.include_routers(start.router, requests.router, intake.router, fallback.router)
    return router
