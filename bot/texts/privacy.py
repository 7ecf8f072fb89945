"""Texts of the families' own data and of erasure: the readable copy of /mydata, the
labels of erased cases, and the team's notices of retention and of erasure requests."""

from __future__ import annotations

from datetime import date
from typing import Any

from aiogram.types import InlineKeyboardMarkup

from bot.domain import intake
from bot.domain.intake import Kind, Step
from bot.domain.statuses import RequestStatus
from bot.i18n import _, format_day, ngettext, pgettext
from bot.services.privacy import FAMILY, RETENTION, MyData, RequestData
from bot.texts.callbacks import ErasureAction, ErasureCb
from bot.texts.common import LANGUAGE_NAMES, close_reason_label, h, status_label
from bot.texts.keyboards import keyboard


def erased_label(reason: str | None) -> str:
    """How an erased case reads on the team's card, queue and search (HTML)."""
    if reason == FAMILY:
        return _("personal data erased at the family’s request")
    if reason == RETENTION:
        return _("personal data erased at the end of the retention period")
    return _("personal data erased: {reason}").format(reason=h(reason or ""))


# --- the team's notices -----------------------------------------------------------------


def retention_notice(code: str, status: str, erase_on: str) -> str:
    """A week's warning: the case's personal data goes at the end of the retention period."""
    try:
        label = status_label(RequestStatus(status))
    except ValueError:
        label = status
    return _(
        "<b>Case {code}</b> ({status}) reaches the end of its retention period. "
        "Its personal data will be erased on {date}; the reference code, dates and statuses "
        "stay. If the data is still needed, write to an admin before then."
    ).format(code=code, status=label, date=format_day(date.fromisoformat(erase_on)))


def erasure_notice(code: str, params: dict[str, Any]) -> tuple[str, InlineKeyboardMarkup]:
    """To each admin: a liaison asks to erase a case's personal data."""
    erasure_id = int(params["erasure_id"])
    text = _(
        "<b>Erasure request #{id}</b>\n"
        "Liaison {user} asks to erase the personal data of case {code}.\n"
        "Reason: {reason}\n\n"
        "Approving erases it at once and cannot be undone. Another admin than the one who "
        "asked must approve."
    ).format(id=erasure_id, user=params.get("by", "?"), code=code, reason=h(params["reason"]))
    return text, erasure_keyboard(erasure_id)


def erasure_keyboard(erasure_id: int) -> InlineKeyboardMarkup:
    return keyboard(
        [
            [
                (
                    _("Approve and erase"),
                    ErasureCb(action=ErasureAction.APPROVE, erasure_id=erasure_id).pack(),
                ),
                (
                    _("Decline"),
                    ErasureCb(action=ErasureAction.DECLINE, erasure_id=erasure_id).pack(),
                ),
            ]
        ]
    )


# --- /mydata: the readable copy -----------------------------------------------------------


def _choice(step: Step, value: str) -> str:
    chosen = next((c for c in step.choices if c.value == value), None)
    if chosen is None:
        return value
    return pgettext(chosen.context, chosen.label) if chosen.context else _(chosen.label)


def _answer(step: Step, value: Any) -> str:
    """An answer as plain text (the file is not HTML: nothing is escaped)."""
    if step.kind is Kind.CHOICE:
        return _choice(step, str(value))
    if step.kind in (Kind.DATE, Kind.BIRTH) and isinstance(value, dict):
        if value.get("kind") == "age":
            years = int(value["text"])
            return ngettext(
                "about {years} year old when the request was sent",
                "about {years} years old when the request was sent",
                years,
            ).format(years=years)
        return str(value.get("text", ""))
    return str(value)


def _status(status: RequestStatus, reason: str | None) -> str:
    label = status_label(status)
    if status is RequestStatus.CLOSED:
        label += f" ({close_reason_label(reason)})"
    return label


def _request_lines(request: RequestData) -> list[str]:
    lines = [
        "",
        "=" * 40,
        _("Request {code}").format(code=request.code),
        _("Sent: {date}").format(date=format_day(request.created_at)),
        _("Status: {status}, since {date}").format(
            status=_status(request.status, request.close_reason),
            date=format_day(request.status_changed_at),
        ),
        _("Consent given: {date} (version {version})").format(
            date=format_day(request.consented_at), version=request.consent_version
        ),
    ]
    for section, title in intake.SECTION_TITLES.items():
        lines.extend(["", _(title)])
        for step in intake.STEPS:
            if step.section is not section or step.kind in (Kind.CONSENT, Kind.PHOTOS):
                continue
            value = request.answers.get(step.key)
            if value is None:
                continue
            lines.append(f"  {_(step.label)}: {_answer(step, value)}")
    lines.append("")
    lines.append(
        ngettext("Photos: {count} photo", "Photos: {count} photos", request.photos).format(
            count=request.photos
        )
        if request.photos
        else _("Photos: none")
    )
    if request.added:
        lines.extend(["", _("Information you added later")])
        for added in request.added:
            entry = f"  {format_day(added.at)}: {added.text or ''}".rstrip()
            if added.photos:
                entry += " " + ngettext("({count} photo)", "({count} photos)", added.photos).format(
                    count=added.photos
                )
            lines.append(entry)
    lines.extend(["", _("Status history")])
    for change in request.history:
        lines.append(f"  {format_day(change.at)}: {_status(change.status, change.close_reason)}")
    if request.messages:
        lines.extend(["", _("Messages from the team")])
        for message in request.messages:
            kind = _("Question") if message.kind == "question" else _("Update")
            entry = f"  {format_day(message.at)} · {kind}: {message.text}"
            if message.photo:
                entry += " " + _("(with a photo)")
            lines.append(entry)
    return lines


def my_data_text(data: MyData) -> str:
    """The readable copy of /mydata, in the family's language: plain text, not HTML."""
    lines = [
        _("Homeward: the data we store about you"),
        "",
        _("Telegram account number: {id}").format(id=data.user_id),
        _("Language: {language}").format(
            language=LANGUAGE_NAMES.get(data.locale or "", _("as in your Telegram settings"))
        ),
        _("General notices: on") if data.notices_enabled else _("General notices: off"),
    ]
    if data.first_contact is not None:
        lines.append(_("First contact: {date}").format(date=format_day(data.first_contact)))
    if data.last_change is not None:
        lines.append(_("Last change: {date}").format(date=format_day(data.last_change)))
    lines.append(
        ngettext(
            "You have {count} request.", "You have {count} requests.", len(data.requests)
        ).format(count=len(data.requests))
        if data.requests
        else _("You have no requests.")
    )
    for request in data.requests:
        lines.extend(_request_lines(request))
    lines.extend(
        [
            "",
            "=" * 40,
            _(
                "Not included: the liaisons’ internal notes and working drafts. They are "
                "the team’s working records, not data you gave us. The JSON file holds the "
                "same data for computers."
            ),
        ]
    )
    return "\n".join(lines) + "\n"
