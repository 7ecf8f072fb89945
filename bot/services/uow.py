"""Unit of work: a function runs inside one transaction and is committed, or rolled back.

Services hand `UnitOfWork.run` a plain synchronous function of a `Tx` (a session and
its repositories). On SQLite it runs whole on the database thread; on PostgreSQL it
runs through the async engine (`AsyncSession.run_sync`). Either way a use case is
one transaction, and the code inside it reads like ordinary synchronous code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlalchemy.orm import Session

from bot.services.refusal import Attempt, Refused
from storage.db import sqlite_thread
from storage.repositories import (
    AuditRepository,
    BroadcastRepository,
    DraftRepository,
    InviteRepository,
    LiaisonRepository,
    NoteRepository,
    OutboxRepository,
    RequestRepository,
    UserRepository,
)
from storage.tracing import MatchRepository, NameIndex, RecordRepository

T = TypeVar("T")


@dataclass
class Tx:
    session: Session
    users: UserRepository
    requests: RequestRepository
    liaisons: LiaisonRepository
    invites: InviteRepository
    audit: AuditRepository
    notes: NoteRepository
    outbox: OutboxRepository
    drafts: DraftRepository
    broadcasts: BroadcastRepository
    names: NameIndex
    records: RecordRepository
    matches: MatchRepository


def _in_transaction(session: Session, work: Callable[[Tx], T]) -> T:
    tx = Tx(
        session,
        UserRepository(session),
        RequestRepository(session),
        LiaisonRepository(session),
        InviteRepository(session),
        AuditRepository(session),
        NoteRepository(session),
        OutboxRepository(session),
        DraftRepository(session),
        BroadcastRepository(session),
        NameIndex(session),
        RecordRepository(session),
        MatchRepository(session),
    )
    try:
        result = work(tx)
        session.commit()
        return result
    except BaseException:
        session.rollback()
        raise


class UnitOfWork:
    """Shared by all handlers; each `run` is its own transaction."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._thread = sqlite_thread(engine)
        self._sessionmaker = async_sessionmaker(engine, expire_on_commit=False)

    async def run(self, work: Callable[[Tx], T]) -> T:
        try:
            return await self._run(work)
        except Refused as refused:
            if refused.audit is not None:
                # The use case was rolled back; its refusal stays on record.
                await self._run(_record_attempt(refused.audit))
            raise

    async def _run(self, work: Callable[[Tx], T]) -> T:
        if self._thread is not None:
            return await self._thread.call(self._run_on_thread, work)
        async with self._sessionmaker() as session:
            return await session.run_sync(_in_transaction, work)

    def _run_on_thread(self, work: Callable[[Tx], T]) -> T:
        assert self._thread is not None
        with Session(self._thread.engine, expire_on_commit=False) as session:
            return _in_transaction(session, work)


def _record_attempt(attempt: Attempt) -> Callable[[Tx], None]:
    def work(tx: Tx) -> None:
        tx.audit.record(attempt.actor_id, attempt.action, attempt.target, allowed=False)

    return work
