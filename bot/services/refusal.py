"""Refused use cases: one hierarchy for every service.

`reason` is a stable key that the handlers translate; `params` fill its placeholders.
A refusal that must be on record carries the attempt (`audit`): the unit of work rolls
back the use case and then writes the attempt in a transaction of its own, so the audit
log keeps every refusal, not only the ones the staff filter caught.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Attempt:
    actor_id: int
    action: str
    target: str | None = None


class Refused(Exception):
    reason = "refused"

    def __init__(
        self, reason: str | None = None, *, audit: Attempt | None = None, **params: Any
    ) -> None:
        self.reason = reason or type(self).reason
        super().__init__(self.reason)
        self.audit = audit
        self.params = params


class NotPermitted(Refused):
    """The actor's role does not allow it (checked in the service, not only by the filter)."""

    reason = "not_permitted"


class NotFound(Refused):
    reason = "not_found"


class TooLong(Refused):
    """params: length, limit."""

    reason = "too_long"

    def __init__(self, length: int, limit: int) -> None:
        super().__init__(length=length, limit=limit)
        self.length = length
        self.limit = limit


def check_length(text: str | None, limit: int) -> None:
    if text is not None and len(text) > limit:
        raise TooLong(len(text), limit)
