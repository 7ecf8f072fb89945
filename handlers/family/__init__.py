"""Everything a family does, in private chats with the bot."""

from __future__ import annotations

from aiogram import F, Router

from handlers.filters import If


def get_family_router() -> Router:
    from handlers.family import fallback, intake, privacy, requests, start

    router = Router(name="family")
    router.message.filter(If(F.chat.type == "private"))
    router.callback_query.filter(If(F.message.chat.type == "private"))
    # Commands first, so that /help or /status work in the middle of an intake;
    # the fallback last, for whatever nothing else understood. One flat router: every
    # nested router is another layer each update passes through.
    for module in (start, privacy, requests, intake, fallback):
        module.router.register_into(router)
    return router
