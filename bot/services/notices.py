"""Notices to the liaison team about new requests and new family information.

They go through the outbox, in the same transaction as the request or information
they announce, to the liaison group when LIAISON_CHAT_ID is set, else to each
liaison and admin privately. A notice carries the code and the priority, never
personal data: a group can hold people who are not liaisons.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.services.uow import Tx
from storage.models import TracingRequest

STAFF_TEMPLATES = frozenset(
    # staff_retention, staff_erasure: see bot.services.privacy.
    {"staff_new", "staff_info", "staff_broadcast", "staff_retention", "staff_erasure"}
)


@dataclass(frozen=True)
class StaffRouting:
    admin_ids: frozenset[int]
    group_chat_id: int | None = None


@dataclass(frozen=True)
class StaffSummary:
    """All a staff notice shows: safe for a group chat."""

    id: int
    code: str
    priority: int
    created_at: datetime
    now_adult: bool
    health: bool


def staff_summary(request: TracingRequest) -> StaffSummary:
    return StaffSummary(
        request.id,
        request.code,
        request.priority,
        request.attention_since or request.created_at,
        request.now_adult,
        request.health_needs is not None,
    )


def notify_staff(
    tx: Tx, routing: StaffRouting | None, request: TracingRequest, template: str
) -> None:
    if routing is None:
        return
    if routing.group_chat_id is not None:
        targets = [routing.group_chat_id]
    else:
        liaisons = set(tx.liaisons.active_ids())
        targets = sorted(liaisons | routing.admin_ids)
    for chat_id in targets:
        tx.outbox.enqueue(
            request.id, chat_id, template, {"group": chat_id == routing.group_chat_id}
        )
