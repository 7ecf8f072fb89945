"""Typed callback data. Only short actions and ids: state is reloaded on every press."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData


class MenuCb(CallbackData, prefix="mn1"):
    action: str  # new | status | language | help | privacy


class LanguageCb(CallbackData, prefix="lg1"):
    locale: str


class IntakeCb(CallbackData, prefix="in1"):
    action: str  # pick | skip | back | done | edit | editmenu | summary | submit | agree | decline
    step: str = ""
    value: str = ""


class CancelCb(CallbackData, prefix="cx1"):
    confirm: bool


class RequestCb(CallbackData, prefix="rq1"):
    action: str  # view | add | list | done
    request_id: int = 0


class CaseCb(CallbackData, prefix="cs1"):
    """Liaison actions on a case; the case is reloaded and the role checked on every press."""

    action: str  # take | release | move | close | reason | card
    request_id: int
    value: str = ""


class DraftCb(CallbackData, prefix="dr1"):
    action: str  # approve | confirm
    draft_id: int


class QueueCb(CallbackData, prefix="qu1"):
    page: int = 0
    status: str = ""  # empty: every status


class BroadcastCb(CallbackData, prefix="bc1"):
    """General notices: the notice is reloaded and the role checked on every press."""

    action: str  # open | aud | audmenu | show | submit | discard | approve | confirm | ...
    broadcast_id: int
    value: str = ""
