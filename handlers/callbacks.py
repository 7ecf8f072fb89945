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
