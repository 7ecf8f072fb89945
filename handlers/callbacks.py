"""Typed callback data of the family buttons. Only short actions and ids: state is reloaded
on every press.

The action values are what buttons already sent to families carry: keep the values (and
the prefixes) when renaming members, and keep them short (Telegram allows 64 bytes).
"""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData


class MenuAction(StrEnum):
    NEW = "new"
    STATUS = "status"
    LANGUAGE = "language"
    HELP = "help"
    PRIVACY = "privacy"


class MenuCb(CallbackData, prefix="mn1"):
    action: MenuAction


class LanguageCb(CallbackData, prefix="lg1"):
    locale: str


class IntakeAction(StrEnum):
    PICK = "pick"  # a choice button: step and value
    SKIP = "skip"
    BACK = "back"
    DONE = "done"  # no more photos
    EDIT = "edit"  # change the answer to `step`
    EDIT_MENU = "editmenu"
    SUMMARY = "summary"  # back to the summary
    SUBMIT = "submit"
    AGREE = "agree"
    DECLINE = "decline"  # asks once more
    DECLINE_CONFIRMED = "decline_confirm"
    CONSENT = "consent"  # back to the consent question


class IntakeCb(CallbackData, prefix="in1"):
    action: IntakeAction
    step: str = ""
    value: str = ""


class CancelCb(CallbackData, prefix="cx1"):
    confirm: bool


class ForgetAction(StrEnum):
    ERASE = "erase"  # erase everything now
    KEEP = "keep"  # changed their mind


class ForgetCb(CallbackData, prefix="fg1"):
    action: ForgetAction


class RequestAction(StrEnum):
    VIEW = "view"
    ADD = "add"
    LIST = "list"
    DONE = "done"  # no more information to add


class RequestCb(CallbackData, prefix="rq1"):
    action: RequestAction
    request_id: int = 0
