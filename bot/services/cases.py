"""Case work by liaisons: open a case, take it, move its status, keep internal notes.

Every service checks the actor's role again (the handlers' filter is the first gate,
not the only one), records an audit entry, and puts what the family must hear into
the outbox in the same transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.domain.roles import Role
from bot.domain.statuses import CloseReason, RequestStatus, can_move
from bot.services import tracing
from bot.services.access import require_role
from bot.services.queue import mark_followups_seen, refresh_attention
from bot.services.refusal import Attempt, NotFound, Refused, check_length
from bot.services.tracing import MatchView
from bot.services.uow import Tx, UnitOfWork
from storage.models import CaseNote, StatusChange, TracingRequest, utcnow

log = logging.getLogger(__name__)

MAX_NOTE = 2000
MAX_CLOSE_DETAIL = 150


class IllegalMove(Refused):
    """params: current, target (status values)."""

    reason = "illegal_move"

    def __init__(self, current: RequestStatus, target: RequestStatus, audit: Attempt) -> None:
        super().__init__(audit=audit, current=current.value, target=target.value)
        self.current = current
        self.target = target


@dataclass(frozen=True)
class HistoryEntry:
    at: datetime
    actor_id: int | None
    from_status: str | None
    to_status: str
    reason: str | None


@dataclass(frozen=True)
class FollowUpEntry:
    at: datetime
    text: str | None
    photos: int


@dataclass(frozen=True)
class NoteEntry:
    at: datetime
    author_id: int
    text: str


@dataclass(frozen=True)
class DeliveryEntry:
    created_at: datetime
    template: str
    state: str
    sent_at: datetime | None


@dataclass(frozen=True)
class DraftEntry:
    id: int
    kind: str
    author_id: int
    state: str
    text: str
    decline_reason: str | None


@dataclass(frozen=True)
class CaseView:
    id: int
    code: str
    status: RequestStatus
    close_reason: str | None
    assigned_to: int | None
    now_adult: bool
    family_unreachable: bool
    created_at: datetime
    status_changed_at: datetime
    answers: dict[str, Any]
    photo_ids: list[str]
    followups: list[FollowUpEntry] = field(default_factory=list)
    history: list[HistoryEntry] = field(default_factory=list)
    notes: list[NoteEntry] = field(default_factory=list)
    deliveries: list[DeliveryEntry] = field(default_factory=list)
    drafts: list[DraftEntry] = field(default_factory=list)
    matches: list[MatchView] = field(default_factory=list)
    lead_code: str | None = None  # confirmed the same person as this earlier case
    leads: list[str] = field(default_factory=list)  # cases linked to this one
    # Set once the personal data is erased (bot.services.privacy): "family", "retention"
    # or the reason a liaison gave.
    erased_at: datetime | None = None
    erased_reason: str | None = None

    @property
    def allowed_moves(self) -> list[RequestStatus]:
        return [s for s in RequestStatus if can_move(self.status, s)]


def answers_of(request: TracingRequest) -> dict[str, Any]:
    """The intake answers by step key, as the family gave them."""
    return {
        "sought_name": request.sought_name,
        "sought_aliases": request.sought_aliases,
        "sought_sex": request.sought_sex,
        "birth": {"kind": request.birth_kind, "text": request.birth_text},
        "birth_place": request.birth_place,
        "features": request.features,
        "health_needs": request.health_needs,
        "separation_date": {"kind": request.separation_kind, "text": request.separation_text},
        "separation_place": request.separation_place,
        "circumstances": request.circumstances,
        "circumstances_other": request.circumstances_other,
        "last_location": request.last_location,
        "last_contact": {"kind": "date", "text": request.last_contact_text}
        if request.last_contact_text
        else None,
        "companions": request.companions,
        "relationship": request.relationship_to_sought,
        "requester_name": request.requester_name,
        "contact": request.contact,
        "country": request.country,
        "reported_elsewhere": request.reported_elsewhere,
    }


def _view(tx: Tx, request: TracingRequest) -> CaseView:
    photos = tx.requests.photos(request.id)
    lead_code, leads = tracing.linked_cases(tx, request)
    followups = tx.requests.followups(request.id)
    photos_by_followup: dict[int, int] = {}
    for photo in photos:
        if photo.followup_id is not None:
            photos_by_followup[photo.followup_id] = photos_by_followup.get(photo.followup_id, 0) + 1
    return CaseView(
        id=request.id,
        code=request.code,
        status=RequestStatus(request.status),
        close_reason=request.close_reason,
        assigned_to=request.assigned_to,
        now_adult=request.now_adult,
        family_unreachable=request.family_unreachable,
        created_at=request.created_at,
        status_changed_at=request.status_changed_at,
        answers=answers_of(request),
        photo_ids=[p.file_id for p in photos if p.followup_id is None],
        followups=[
            FollowUpEntry(f.created_at, f.text, photos_by_followup.get(f.id, 0)) for f in followups
        ],
        history=[
            HistoryEntry(h.created_at, h.actor_id, h.from_status, h.to_status, h.reason)
            for h in tx.requests.history(request.id)
        ],
        notes=[
            NoteEntry(n.created_at, n.author_id, n.text) for n in tx.notes.for_request(request.id)
        ],
        deliveries=[
            DeliveryEntry(o.created_at, o.template, o.state, o.sent_at)
            for o in tx.outbox.for_request(request.id)
        ],
        drafts=[
            DraftEntry(d.id, d.kind, d.author_id, d.state, d.text, d.decline_reason)
            for d in tx.drafts.for_request(request.id)
        ],
        matches=tracing.match_views(tx, request.id),
        lead_code=lead_code,
        leads=leads,
        erased_at=request.erased_at,
        erased_reason=request.erased_reason,
    )


def _load(tx: Tx, *, code: str | None = None, request_id: int | None = None) -> TracingRequest:
    request = tx.requests.by_code(code) if code is not None else None
    if request_id is not None:
        request = tx.requests.get(request_id)
    if request is None:
        # By code, typed by a liaison; by id, from a button (a forged or stale one).
        raise NotFound("no_case", code=code) if code is not None else NotFound("stale")
    return request


def _target(code: str | None, request_id: int | None) -> str:
    return f"case:{code}" if code else f"request:{request_id}"


async def open_case(
    uow: UnitOfWork,
    actor_id: int,
    admin_ids: frozenset[int],
    *,
    code: str | None = None,
    request_id: int | None = None,
) -> CaseView:
    def work(tx: Tx) -> CaseView:
        require_role(tx, actor_id, admin_ids, Role.LIAISON, "open", _target(code, request_id))
        request = _load(tx, code=code, request_id=request_id)
        mark_followups_seen(tx, request)
        tx.session.flush()
        refresh_attention(tx, request)
        tx.audit.record(actor_id, "open", f"case:{request.code}")
        return _view(tx, request)

    return await uow.run(work)


async def assign(
    uow: UnitOfWork, actor_id: int, admin_ids: frozenset[int], request_id: int, *, take: bool
) -> CaseView:
    """Take the case (assign it to the actor) or release it."""

    action = "take" if take else "release"

    def work(tx: Tx) -> CaseView:
        require_role(tx, actor_id, admin_ids, Role.LIAISON, action, _target(None, request_id))
        request = _load(tx, request_id=request_id)
        request.assigned_to = actor_id if take else None
        tx.audit.record(actor_id, action, f"case:{request.code}")
        return _view(tx, request)

    return await uow.run(work)


def _move(
    tx: Tx,
    actor_id: int,
    request: TracingRequest,
    target: RequestStatus,
    reason: CloseReason | None,
    detail: str | None,
) -> CaseView:
    current = RequestStatus(request.status)
    if not can_move(current, target):
        raise IllegalMove(current, target, Attempt(actor_id, "status", f"case:{request.code}"))
    now = utcnow()
    request.status = target.value
    request.status_changed_at = now
    request.close_reason = reason.value if reason else None
    # Seen by liaisons only (e.g. the code a duplicate belongs to); never sent to the family.
    request.close_note = detail or None
    tx.requests.add_status_change(
        StatusChange(
            request_id=request.id,
            from_status=current.value,
            to_status=target.value,
            actor_id=actor_id,
            reason=(reason.value + (f": {detail}" if detail else "")) if reason else None,
            created_at=now,
        )
    )
    request.retention_warned_at = None  # a new status: the retention period starts again
    # A fixed, translated template with the status only: no liaison text reaches the family here.
    if request.family_id is not None:  # None: erased, nobody to tell
        tx.outbox.enqueue(
            request.id,
            request.family_id,
            "status",
            {"status": target.value, "reason": request.close_reason},
        )
    tx.audit.record(actor_id, f"status:{current.value}>{target.value}", f"case:{request.code}")
    tx.session.flush()
    refresh_attention(tx, request)
    return _view(tx, request)


async def change_status(
    uow: UnitOfWork,
    actor_id: int,
    admin_ids: frozenset[int],
    request_id: int,
    target: RequestStatus,
    reason: CloseReason | None = None,
) -> CaseView:
    """Move a case along the lifecycle; the family hears of it through the outbox."""
    if target is RequestStatus.CLOSED and reason is None:
        raise ValueError("closing needs a reason")

    def work(tx: Tx) -> CaseView:
        require_role(tx, actor_id, admin_ids, Role.LIAISON, "status", _target(None, request_id))
        request = _load(tx, request_id=request_id)
        return _move(tx, actor_id, request, target, reason, None)

    view = await uow.run(work)
    log.info("case %s moved to %s by %s", view.code, target.value, actor_id)
    return view


async def close_case(
    uow: UnitOfWork,
    actor_id: int,
    admin_ids: frozenset[int],
    code: str,
    reason: CloseReason,
    detail: str | None = None,
) -> CaseView:
    """/close CODE reason [details]: the details are for the team only."""
    check_length(detail, MAX_CLOSE_DETAIL)

    def work(tx: Tx) -> CaseView:
        require_role(tx, actor_id, admin_ids, Role.LIAISON, "status", _target(code, None))
        request = _load(tx, code=code)
        return _move(tx, actor_id, request, RequestStatus.CLOSED, reason, detail)

    view = await uow.run(work)
    log.info("case %s closed by %s", view.code, actor_id)
    return view


async def add_note(
    uow: UnitOfWork, actor_id: int, admin_ids: frozenset[int], code: str, text: str
) -> str:
    check_length(text, MAX_NOTE)

    def work(tx: Tx) -> str:
        require_role(tx, actor_id, admin_ids, Role.LIAISON, "note", _target(code, None))
        request = _load(tx, code=code)
        if request.erased_at is not None:  # a note would bring personal data back
            raise Refused("erased", audit=Attempt(actor_id, "note", f"case:{request.code}"))
        tx.notes.add(
            CaseNote(request_id=request.id, author_id=actor_id, text=text, created_at=utcnow())
        )
        tx.audit.record(actor_id, "note", f"case:{request.code}")
        return request.code

    return await uow.run(work)
