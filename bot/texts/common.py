"""Pieces every message uses: escaping, status names, languages, length errors."""

from __future__ import annotations

from datetime import datetime
from html import escape

from bot.domain.statuses import (
    CLOSE_REASON_LABELS,
    STATUS_LABELS,
    STATUS_MEANINGS,
    CloseReason,
    RequestStatus,
)
from bot.i18n import _, format_day

LANGUAGE_NAMES = {"uk": "Українська", "ru": "Русский", "en": "English"}


def h(value: object) -> str:
    """Escape anything a user typed before it goes into an HTML message."""
    return escape(str(value), quote=False)


def too_long(length: int, limit: int) -> str:
    return _("This is too long: {length} characters. Please keep it under {limit}.").format(
        length=length, limit=limit
    )


def status_label(status: RequestStatus) -> str:
    return _(STATUS_LABELS[status])


def status_meaning(status: RequestStatus) -> str:
    return _(STATUS_MEANINGS[status])


def close_reason_label(reason: str | None) -> str:
    try:
        return _(CLOSE_REASON_LABELS[CloseReason(reason or CloseReason.OTHER)])
    except ValueError:
        return _(CLOSE_REASON_LABELS[CloseReason.OTHER])


def format_moment(value: datetime) -> str:
    """A date in the reader's language with the time in UTC, for the team's records."""
    return f"{format_day(value)}, {value:%H:%M} UTC"
