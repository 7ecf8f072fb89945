"""What the bot sends to families on its own: status news, liaison messages, notices.

Fixed templates: the only liaison-written text in them is an approved draft's or an
approved notice's, escaped, inside the frame.
"""

from __future__ import annotations

from bot.domain.statuses import RequestStatus
from bot.i18n import _
from bot.texts.common import close_reason_label, h, status_label, status_meaning


def status_notice(code: str, status: RequestStatus, reason: str | None) -> str:
    """What a family is told when its request changes status: a fixed template."""
    label = status_label(status)
    if status is RequestStatus.CLOSED:
        label += f" ({close_reason_label(reason)})"
    return _(
        "<b>News about your request {code}</b>\n\nThe status is now: <b>{status}</b>.\n{meaning}"
    ).format(code=code, status=label, meaning=status_meaning(status))


def broadcast_message(text: str) -> str:
    """A general notice inside the frame every family sees, in the version's language."""
    header = _("<b>Notice from the Homeward team</b>")
    footer = _("You can turn general notices off with /notices off.")
    return f"{header}\n\n{h(text)}\n\n<i>{footer}</i>"


def liaison_message(code: str, text: str, kind: str) -> str:
    """An approved liaison message inside the family's own-language frame."""
    header = _("<b>Message about your request {code}</b>").format(code=code)
    footer = (
        _("To answer, send /add {code} and then your answer.").format(code=code)
        if kind == "question"
        else ""
    )
    return f"{header}\n\n{h(text)}" + (f"\n\n<i>{footer}</i>" if footer else "")
