"""Typed callback data of the staff buttons: a short action and ids, nothing more.

The case, draft or notice is reloaded and the role checked again on every press. The
action values are what old buttons in chats carry: keep them when renaming members.
"""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData


class CaseAction(StrEnum):
    TAKE = "take"
    RELEASE = "release"
    MOVE = "move"
    CLOSE = "close"  # show the reasons
    REASON = "reason"  # close with this reason
    CARD = "card"  # back to the card
    OPEN = "open"  # the card as a new message


class CaseCb(CallbackData, prefix="cs1"):
    action: CaseAction
    request_id: int
    value: str = ""


class DraftAction(StrEnum):
    APPROVE = "approve"
    CONFIRM = "confirm"  # the second press in single-review mode


class DraftCb(CallbackData, prefix="dr1"):
    action: DraftAction
    draft_id: int


class QueueCb(CallbackData, prefix="qu1"):
    page: int = 0
    status: str = ""  # empty: every status


class BroadcastAction(StrEnum):
    OPEN = "open"
    AUDIENCE = "aud"
    AUDIENCE_MENU = "audmenu"
    SHOW = "show"
    SUBMIT = "submit"
    DISCARD = "discard"
    APPROVE = "approve"
    CONFIRM = "confirm"  # the second press in single-review mode
    DECLINE = "decline"
    PAUSE = "pause"
    RESUME = "resume"
    CANCEL = "cancel"  # asks once more
    CANCEL_CONFIRMED = "cancel_yes"


class BroadcastCb(CallbackData, prefix="bc1"):
    action: BroadcastAction
    broadcast_id: int
    value: str = ""


class FindCb(CallbackData, prefix="fd1"):
    page: int = 0  # the search text stays in the liaison's chat state, not in the button


class MatchAction(StrEnum):
    SAME = "same"  # the same person: confirm the match
    NOT_SAME = "not"  # different people: dismiss it


class MatchCb(CallbackData, prefix="mt1"):
    action: MatchAction
    match_id: int


class ErasureAction(StrEnum):
    APPROVE = "approve"  # admins only, not the liaison who asked
    DECLINE = "decline"


class ErasureCb(CallbackData, prefix="er1"):
    action: ErasureAction
    erasure_id: int


# Every staff button; the authorization test covers each prefix.
STAFF_CALLBACKS: tuple[type[CallbackData], ...] = (
    CaseCb,
    DraftCb,
    QueueCb,
    BroadcastCb,
    FindCb,
    MatchCb,
    ErasureCb,
)
STAFF_PREFIXES: frozenset[str] = frozenset(cb.__prefix__ for cb in STAFF_CALLBACKS)
