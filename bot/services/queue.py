"""The liaisons' queue: what needs attention, most urgent first, then longest waiting.

Priority rules (1 is most urgent):
1. health needs were reported, or the person sought is under 12 today;
2. the person sought was a child when separated and is an adult now (their own
   consent now matters, and records may have moved to adult services);
3. everything else.
A case needs attention while it is new (status Received), while the family has added
information no liaison has seen, or while a draft waits for approval. Services call
`refresh_attention` after each change, so the queue is one indexed, ordered read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import exists, func, select, update

from bot.domain.roles import Role
from bot.domain.states import DraftState
from bot.domain.statuses import RequestStatus
from bot.domain.validation import age_on
from bot.services.access import require_role
from bot.services.uow import Tx, UnitOfWork
from storage.models import Draft, FollowUp, TracingRequest, utcnow

PAGE_SIZE = 8
COUNT_CAP = 1000
YOUNG_CHILD_AGE = 12


def priority_of(request: TracingRequest, today: date) -> int:
    if request.health_needs or age_on(request.birth_estimate, today) < YOUNG_CHILD_AGE:
        return 1
    if request.now_adult:
        return 2
    return 3


def refresh_attention(tx: Tx, request: TracingRequest) -> None:
    """Recompute the request's place in the queue from its current state."""
    request.priority = priority_of(request, datetime.now(UTC).date())
    since: list[datetime] = []
    if request.status == RequestStatus.SUBMITTED.value:
        since.append(request.created_at)
    oldest_unseen = tx.session.scalar(
        select(func.min(FollowUp.created_at)).where(
            FollowUp.request_id == request.id, FollowUp.seen_at.is_(None)
        )
    )
    if oldest_unseen is not None:
        since.append(oldest_unseen)
    oldest_draft = tx.session.scalar(
        select(func.min(Draft.created_at)).where(
            Draft.request_id == request.id, Draft.state == DraftState.PENDING
        )
    )
    if oldest_draft is not None:
        since.append(oldest_draft)
    request.attention_since = min(since) if since else None


def needs_attention_from(request: TracingRequest, moment: datetime) -> None:
    """Something new arrived (a request, family information, a draft): no queries needed."""
    request.priority = priority_of(request, datetime.now(UTC).date())
    if request.attention_since is None or moment < request.attention_since:
        request.attention_since = moment


def mark_followups_seen(tx: Tx, request: TracingRequest) -> None:
    tx.session.execute(
        update(FollowUp)
        .where(FollowUp.request_id == request.id, FollowUp.seen_at.is_(None))
        .values(seen_at=utcnow())
    )


@dataclass(frozen=True)
class QueueItem:
    id: int
    code: str
    status: RequestStatus
    priority: int
    waiting_since: datetime
    now_adult: bool
    health: bool
    new_info: bool
    pending_draft: bool
    erased_reason: str | None = None  # set once its personal data is erased


@dataclass(frozen=True)
class QueuePage:
    items: list[QueueItem]
    page: int
    total: int  # capped at COUNT_CAP + 1

    @property
    def more_than_counted(self) -> bool:
        return self.total > COUNT_CAP

    @property
    def pages(self) -> int:
        return max(1, -(-min(self.total, COUNT_CAP) // PAGE_SIZE))


async def queue_page(
    uow: UnitOfWork,
    actor_id: int,
    admin_ids: frozenset[int],
    page: int = 0,
    status: RequestStatus | None = None,
) -> QueuePage:
    def work(tx: Tx) -> QueuePage:
        require_role(tx, actor_id, admin_ids, Role.LIAISON, "queue")
        # A page shows codes, statuses and flags, no names: one row says who looked, and
        # when; the cases a liaison reads are recorded when they open them.
        tx.audit.record(actor_id, "queue", None)
        r = TracingRequest
        waiting = r.attention_since.is_not(None)
        where = [waiting] if status is None else [waiting, r.status == status.value]
        # Counting every waiting case is a full scan on PostgreSQL; the pager needs no more
        # than "how many pages, up to COUNT_CAP cases" (an index range scan).
        capped = (
            select(r.id).where(*where).order_by(r.priority, r.attention_since).limit(COUNT_CAP + 1)
        )
        total = tx.session.scalar(select(func.count()).select_from(capped.subquery())) or 0
        new_info = exists().where(FollowUp.request_id == r.id, FollowUp.seen_at.is_(None))
        draft = exists().where(Draft.request_id == r.id, Draft.state == DraftState.PENDING)
        rows = tx.session.execute(
            select(
                r.id,
                r.code,
                r.status,
                r.priority,
                r.attention_since,
                r.now_adult,
                r.health_needs.is_not(None),
                new_info,
                draft,
                r.erased_reason,
            )
            .where(*where)
            .order_by(r.priority, r.attention_since, r.id)
            .limit(PAGE_SIZE)
            .offset(page * PAGE_SIZE)
        ).all()
        items = [
            QueueItem(
                row[0],
                row[1],
                RequestStatus(row[2]),
                row[3],
                row[4] or utcnow(),  # filtered on "waiting": never None here
                bool(row[5]),
                bool(row[6]),
                bool(row[7]),
                bool(row[8]),
                row[9],
            )
            for row in rows
        ]
        return QueuePage(items, page, total)

    return await uow.run(work)
