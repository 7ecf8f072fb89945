"""The life cycles of drafts, outbox messages, notices and their recipients.

Each is a StrEnum (the values are what the database stores) with a table of allowed
moves, like the request statuses in `statuses.py`. Services and senders change a state
only through `move`, so a bug that would skip a step fails loudly instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Generic, TypeVar

S = TypeVar("S", bound=StrEnum)


class IllegalMove(ValueError):
    pass


class Lifecycle(Generic[S]):
    def __init__(self, kind: type[S], moves: Mapping[S, frozenset[S]]) -> None:
        self.kind = kind
        self.moves = {state: moves.get(state, frozenset()) for state in kind}

    def can(self, current: str, target: S) -> bool:
        return target in self.moves[self.kind(current)]

    def move(self, current: str, target: S) -> S:
        """`target`, if the table allows it from `current`; IllegalMove otherwise."""
        if not self.can(current, target):
            raise IllegalMove(f"{self.kind.__name__}: {current} -> {target}")
        return target

    def sources(self, target: S) -> tuple[S, ...]:
        """Every state `target` may be reached from (for bulk updates in SQL)."""
        return tuple(state for state, targets in self.moves.items() if target in targets)


class DraftState(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DECLINED = "declined"


DRAFTS = Lifecycle(
    DraftState,
    {DraftState.PENDING: frozenset({DraftState.APPROVED, DraftState.DECLINED})},
)


class OutboxState(StrEnum):
    PENDING = "pending"
    SENDING = "sending"  # claimed by a sender, with a lease
    SENT = "sent"
    FAILED = "failed"
    UNREACHABLE = "unreachable"  # the family blocked the bot


OUTBOX = Lifecycle(
    OutboxState,
    {
        # A liaison message whose draft is not approved fails at the claim.
        OutboxState.PENDING: frozenset({OutboxState.SENDING, OutboxState.FAILED}),
        OutboxState.SENDING: frozenset(
            {
                OutboxState.SENDING,  # claimed again once the lease of a stopped sender ran out
                OutboxState.SENT,
                OutboxState.FAILED,
                OutboxState.UNREACHABLE,
                OutboxState.PENDING,  # a retry, or handed back at a stop
            }
        ),
    },
)


class BroadcastState(StrEnum):
    COMPOSING = "composing"
    AWAITING_APPROVAL = "awaiting_approval"
    SENDING = "sending"
    PAUSED = "paused"
    DONE = "done"
    CANCELLED = "cancelled"
    DECLINED = "declined"
    DISCARDED = "discarded"  # withdrawn by its author


BROADCASTS = Lifecycle(
    BroadcastState,
    {
        BroadcastState.COMPOSING: frozenset(
            {BroadcastState.AWAITING_APPROVAL, BroadcastState.DISCARDED}
        ),
        BroadcastState.AWAITING_APPROVAL: frozenset(
            {BroadcastState.SENDING, BroadcastState.DECLINED, BroadcastState.DISCARDED}
        ),
        BroadcastState.SENDING: frozenset(
            {BroadcastState.PAUSED, BroadcastState.CANCELLED, BroadcastState.DONE}
        ),
        BroadcastState.PAUSED: frozenset({BroadcastState.SENDING, BroadcastState.CANCELLED}),
    },
)
# Changeable by its author; running (the sender works on it or may again); with counts.
EDITABLE_BROADCAST = frozenset({BroadcastState.COMPOSING, BroadcastState.AWAITING_APPROVAL})
RUNNING_BROADCAST = frozenset({BroadcastState.SENDING, BroadcastState.PAUSED})
DELIVERED_BROADCAST = RUNNING_BROADCAST | {BroadcastState.DONE, BroadcastState.CANCELLED}


class RecipientState(StrEnum):
    PENDING = "pending"
    SENDING = "sending"  # claimed by a sender, with a lease
    SENT = "sent"
    BLOCKED = "blocked"  # 403: the family blocked the bot
    FAILED = "failed"  # 400, or a failure that outlasted every retry
    CANCELLED = "cancelled"  # the notice was cancelled before it reached them


RECIPIENTS = Lifecycle(
    RecipientState,
    {
        RecipientState.PENDING: frozenset({RecipientState.SENDING, RecipientState.CANCELLED}),
        RecipientState.SENDING: frozenset(
            {
                RecipientState.SENT,
                RecipientState.BLOCKED,
                RecipientState.FAILED,
                RecipientState.PENDING,
                RecipientState.CANCELLED,
            }
        ),
    },
)
