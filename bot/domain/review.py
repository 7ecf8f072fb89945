"""The review rule for everything a liaison writes for families: case messages and notices.

Four-eyes (the default): a second liaison approves what the first one wrote. Single
(REVIEW_MODE=single, for one-person teams): the author may approve, but only with a
second, deliberate press, so nothing leaves by a slip of the finger.
"""

from __future__ import annotations

from enum import StrEnum


class ReviewMode(StrEnum):
    FOUR_EYES = "four_eyes"
    SINGLE = "single"


def may_approve(mode: ReviewMode, author_id: int, reviewer_id: int) -> bool:
    return mode is ReviewMode.SINGLE or author_id != reviewer_id


def needs_confirmation(mode: ReviewMode) -> bool:
    """Whether an approval takes a second press (nobody else reviews it)."""
    return mode is ReviewMode.SINGLE
