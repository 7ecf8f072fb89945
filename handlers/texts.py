"""Messages shared by several family handlers. Every string goes through gettext."""

from __future__ import annotations

from functools import lru_cache

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import I18n

from bot.i18n import _, ngettext
from bot.texts.common import (  # noqa: F401 (shared with the family handlers)
    LANGUAGE_NAMES,
    close_reason_label,
    h,
    status_label,
    status_meaning,
    too_long,
)
from bot.texts.keyboards import column, keyboard
from handlers.callbacks import LanguageCb, MenuAction, MenuCb


def welcome_text() -> str:
    return _(
        "<b>Homeward</b> helps families find children and relatives they lost contact "
        "with because of the war, and get back in touch.\n\n"
        "You describe the person you are looking for. A small team of liaisons passes "
        "the request to the bodies responsible for tracing on both sides. You hear back "
        "only after a joint verification of identity and well-being.\n\n"
        "Homeward is not the police or an emergency service, and it cannot promise a result. "
        "If someone is in danger right now, contact the local emergency services.\n\n"
        "What would you like to do?"
    )


def help_text() -> str:
    return (
        _(
            "<b>What you can do here</b>\n\n"
            "/new: start a new tracing request, one question at a time\n"
            "/status: see your requests and their status\n"
            "/status HW-XXXX-XX: one request by its reference code\n"
            "/add HW-XXXX-XX: add information to a request\n"
            "/language: choose the language\n"
            "/notices off, /notices on: general notices from the team\n"
            "/privacy: what we store and who sees it\n"
            "/cancel: stop what you are doing\n\n"
            "While you fill in a request you can go back, skip optional questions, "
            "and check everything before sending. An unfinished request is kept, "
            "even if you leave: send /new to continue it."
        )
        + "\n\n"
        + _(
            "<b>Your data</b>\n"
            "/mydata: a copy of everything we store about you\n"
            "/forget: erase all your data"
        )
    )


def privacy_text(retention_days: int) -> str:
    return (
        _(
            "<b>Your data</b>\n\n"
            "<b>What we store:</b> the answers in your requests (about the person you are looking "
            "for, the separation and you), the photos you send, the information you add later, "
            "and your language. Your Telegram account number lets us reply to you here.\n\n"
            "<b>Who sees it:</b> only a small team of vetted liaisons. With your consent, the "
            "details of a request are shared with the verification bodies of both sides, only "
            "for tracing and reunification.\n\n"
            "<b>What we do not do:</b> we do not publish your data, pass it to anyone else or "
            "use it for any other purpose.\n\n"
            "An unfinished request is kept so that you can continue it later. /cancel deletes it. "
            "If you do not give consent, nothing is stored. To correct or withdraw a request, "
            "write to us with /add and its reference code."
        )
        + "\n\n"
        + ngettext(
            "An unfinished request that has not changed for {days} day is deleted.",
            "An unfinished request that has not changed for {days} days is deleted.",
            retention_days,
        ).format(days=retention_days)
        + "\n\n"
        + _(
            "/mydata sends you a copy of everything we store about you. /forget erases all "
            "of it: your requests keep only their reference codes, dates and statuses."
        )
    )


def menu_keyboard() -> InlineKeyboardMarkup:
    """The main menu in the reader's language: it closes many answers, so built once each."""
    return _menu_keyboard(I18n.get_current(no_error=False).current_locale)


@lru_cache(maxsize=8)
def _menu_keyboard(locale: str) -> InlineKeyboardMarkup:
    return keyboard(
        [
            [(_("New request"), MenuCb(action=MenuAction.NEW).pack())],
            [
                (_("My requests"), MenuCb(action=MenuAction.STATUS).pack()),
                (_("Language"), MenuCb(action=MenuAction.LANGUAGE).pack()),
            ],
            [
                (_("Help"), MenuCb(action=MenuAction.HELP).pack()),
                (_("Privacy"), MenuCb(action=MenuAction.PRIVACY).pack()),
            ],
        ]
    )


def language_keyboard() -> InlineKeyboardMarkup:
    return column(
        (name, LanguageCb(locale=locale).pack()) for locale, name in LANGUAGE_NAMES.items()
    )
