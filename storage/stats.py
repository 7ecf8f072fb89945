"""Cheap reads for the health check and the metrics: no personal data, only counts."""

from __future__ import annotations

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.domain.states import BroadcastState, OutboxState, RecipientState
from storage.models import Broadcast, BroadcastRecipient, OutboxMessage

_WAITING_OUTBOX = (OutboxState.PENDING.value, OutboxState.SENDING.value)
_RUNNING_BROADCASTS = (BroadcastState.SENDING.value, BroadcastState.PAUSED.value)
_WAITING_RECIPIENTS = (RecipientState.PENDING.value, RecipientState.SENDING.value)


async def ping(engine: AsyncEngine) -> None:
    """`SELECT 1` on a connection of the pool: raises when the database does not answer."""
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


async def backlog(engine: AsyncEngine) -> tuple[int, int]:
    """(outbox messages waiting, recipients of running broadcasts waiting).

    Both counts use an index: the outbox's state, and the recipients' (broadcast, state)
    under the few broadcasts that are sending or paused.
    """
    outbox = (
        select(func.count())
        .select_from(OutboxMessage)
        .where(OutboxMessage.state.in_(_WAITING_OUTBOX))
    )
    recipients = (
        select(func.count())
        .select_from(BroadcastRecipient)
        .join(Broadcast, Broadcast.id == BroadcastRecipient.broadcast_id)
        .where(
            Broadcast.state.in_(_RUNNING_BROADCASTS),
            BroadcastRecipient.state.in_(_WAITING_RECIPIENTS),
        )
    )
    async with engine.connect() as conn:
        waiting = (await conn.execute(outbox)).scalar_one()
        sending = (await conn.execute(recipients)).scalar_one()
    return int(waiting), int(sending)
