"""Families' own data: a copy of it (/mydata), erasure (/forget, a liaison's /erase approved
by an admin) and the retention of closed and reunited cases.

`erase_request` is the one erasure: every path goes through it. It empties the personal
fields of a request in place (required text columns become "", dates of birth and of the
separation a placeholder day) and deletes what hangs off it (photos, follow-ups, drafts,
the family's outbox rows, the name index, possible matches); it keeps the row with its
code, its dates, its status and its status history, and marks it erased. Nothing personal
is logged, and audit rows hold reference codes only.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, or_, select, update

from bot.domain.roles import Role
from bot.domain.states import DraftState
from bot.domain.statuses import RequestStatus
from bot.services.access import require_role
from bot.services.cases import answers_of
from bot.services.notices import StaffRouting
from bot.services.queue import refresh_attention
from bot.services.refusal import Attempt, NotFound, Refused, check_length
from bot.services.uow import Tx, UnitOfWork
from storage.models import (
    BroadcastRecipient,
    CaseNote,
    Draft,
    ErasureRequest,
    FollowUp,
    FsmRecord,
    NameKey,
    OutboxMessage,
    PossibleMatch,
    RequestPhoto,
    StatusChange,
    TracingRequest,
    User,
    utcnow,
)

log = logging.getLogger(__name__)

FAMILY = "family"  # erased_reason: the family asked (/forget)
RETENTION = "retention"  # erased_reason: CLOSED_RETENTION_DAYS after the case ended
SYSTEM_ACTOR = 0  # the audit log's actor for what the bot does on its own (retention)
ERASED_DAY = date(1900, 1, 1)  # stands for an erased date of birth or of separation
RETENTION_WARNING = timedelta(days=7)
RETENTION_BATCH = 100
MAX_REASON = 200
ENDED = (RequestStatus.CLOSED.value, RequestStatus.REUNITED.value)
_REQUEST_KIND = "q"  # storage.tracing.REQUEST: owner_kind / other_kind of a request

# Personal fields of a request and what they become.
_ERASED_VALUES: dict[str, Any] = {
    "sought_name": "",
    "sought_aliases": None,
    "sought_sex": "",
    "birth_kind": "",
    "birth_text": "",
    "birth_estimate": ERASED_DAY,
    "birth_place": None,
    "features": None,
    "health_needs": None,
    "now_adult": False,
    "separation_kind": "",
    "separation_text": "",
    "separation_estimate": ERASED_DAY,
    "separation_place": "",
    "circumstances": "",
    "circumstances_other": None,
    "last_location": None,
    "last_contact_text": None,
    "companions": None,
    "relationship_to_sought": "",
    "requester_name": "",
    "contact": None,
    "country": "",
    "reported_elsewhere": None,
    "close_note": None,
    "family_id": None,
    "family_unreachable": False,
    "match_pending": False,
}


class AlreadyErased(Refused):
    reason = "already_erased"


# --- the erasure ------------------------------------------------------------------


def erase_request(tx: Tx, request: TracingRequest, reason: str, now: datetime) -> None:
    """Erase the personal data of one request, in the caller's transaction."""
    family_id = request.family_id
    request_id = request.id
    session = tx.session
    for name, value in _ERASED_VALUES.items():
        setattr(request, name, value)
    request.erased_at = now
    request.erased_reason = reason
    session.flush()
    session.execute(delete(RequestPhoto).where(RequestPhoto.request_id == request_id))
    session.execute(delete(FollowUp).where(FollowUp.request_id == request_id))
    session.execute(delete(Draft).where(Draft.request_id == request_id))
    session.execute(update(CaseNote).where(CaseNote.request_id == request_id).values(text=""))
    if family_id is not None:
        session.execute(
            delete(OutboxMessage).where(
                OutboxMessage.request_id == request_id, OutboxMessage.chat_id == family_id
            )
        )
        session.execute(
            update(StatusChange)
            .where(StatusChange.request_id == request_id, StatusChange.actor_id == family_id)
            .values(actor_id=None)
        )
    # A close reason may carry a liaison's details ("duplicate: ..."): keep the reason only.
    for change in session.scalars(
        select(StatusChange).where(
            StatusChange.request_id == request_id, StatusChange.reason.is_not(None)
        )
    ):
        assert change.reason is not None
        change.reason = change.reason.split(":", 1)[0]
    session.execute(
        delete(NameKey).where(NameKey.owner_kind == _REQUEST_KIND, NameKey.owner_id == request_id)
    )
    session.execute(
        delete(PossibleMatch).where(
            or_(
                PossibleMatch.request_id == request_id,
                and_(
                    PossibleMatch.other_kind == _REQUEST_KIND,
                    PossibleMatch.other_id == request_id,
                ),
            )
        )
    )
    session.flush()
    refresh_attention(tx, request)


def _fsm_keys(tx: Tx, user_id: int) -> list[str]:
    """The conversation state of a user: aiogram's keys end in ":<user id>:<destiny>"."""
    marker = f":{user_id}:"
    keys = tx.session.scalars(select(FsmRecord.key).where(FsmRecord.key.contains(marker)))
    return [key for key in keys if key.split(":")[-2:-1] == [str(user_id)]]


async def forget_family(uow: UnitOfWork, family_id: int, now: datetime | None = None) -> list[str]:
    """/forget: erase all of a family's requests and delete everything else about them, in
    one transaction. Returns the codes of the erased requests."""
    moment = now or utcnow()

    def work(tx: Tx) -> list[str]:
        requests = tx.session.scalars(
            select(TracingRequest)
            .where(TracingRequest.family_id == family_id)
            .order_by(TracingRequest.id)
        ).all()
        codes = []
        for request in requests:
            erase_request(tx, request, FAMILY, moment)
            codes.append(request.code)
            tx.audit.record(family_id, "forget", f"case:{request.code}")
        if not codes:
            tx.audit.record(family_id, "forget", None)
        session = tx.session
        session.execute(delete(OutboxMessage).where(OutboxMessage.chat_id == family_id))
        session.execute(delete(BroadcastRecipient).where(BroadcastRecipient.chat_id == family_id))
        session.execute(delete(FollowUp).where(FollowUp.author_id == family_id))
        keys = _fsm_keys(tx, family_id)
        if keys:
            session.execute(delete(FsmRecord).where(FsmRecord.key.in_(keys)))
        session.execute(delete(User).where(User.id == family_id))
        return codes

    codes = await uow.run(work)
    log.info("family %s erased its data: %d requests", family_id, len(codes))
    return codes


# --- a liaison's erasure, approved by an admin --------------------------------------


@dataclass(frozen=True)
class ErasureView:
    id: int
    code: str
    reason: str
    requested_by: int
    state: str
    decided_by: int | None = None


def _erasure_view(erasure: ErasureRequest, code: str) -> ErasureView:
    return ErasureView(
        erasure.id,
        code,
        erasure.reason,
        erasure.requested_by,
        erasure.state,
        erasure.decided_by,
    )


async def request_erasure(
    uow: UnitOfWork,
    actor_id: int,
    admin_ids: frozenset[int],
    code: str,
    reason: str,
    now: datetime | None = None,
) -> ErasureView:
    """/erase CODE reason: a pending erasure that an admin (another person) approves."""
    check_length(reason, MAX_REASON)
    moment = now or utcnow()
    target = f"case:{code}"

    def work(tx: Tx) -> ErasureView:
        require_role(tx, actor_id, admin_ids, Role.LIAISON, "erase", target)
        request = tx.requests.by_code(code)
        if request is None:
            raise NotFound("no_case", code=code)
        if request.erased_at is not None:
            raise AlreadyErased(audit=Attempt(actor_id, "erase", target), code=code)
        erasure = ErasureRequest(
            request_id=request.id,
            requested_by=actor_id,
            reason=reason,
            state="pending",
            created_at=moment,
        )
        tx.session.add(erasure)
        tx.session.flush()
        tx.audit.record(actor_id, "erase:request", target)
        # Admins only, privately: they decide with the buttons of the notice.
        for admin in sorted(admin_ids):
            tx.outbox.enqueue(
                request.id,
                admin,
                "staff_erasure",
                {"erasure_id": erasure.id, "by": actor_id, "reason": reason},
            )
        return _erasure_view(erasure, request.code)

    view = await uow.run(work)
    log.info("erasure %s of %s requested by %s", view.id, view.code, actor_id)
    return view


async def decide_erasure(
    uow: UnitOfWork,
    actor_id: int,
    admin_ids: frozenset[int],
    erasure_id: int,
    approve: bool,
    now: datetime | None = None,
) -> ErasureView:
    """An admin approves (the case's personal data is erased) or declines an erasure."""
    moment = now or utcnow()
    action = "erase:approve" if approve else "erase:decline"

    def work(tx: Tx) -> ErasureView:
        require_role(tx, actor_id, admin_ids, Role.ADMIN, action, f"erasure:{erasure_id}")
        erasure = tx.session.get(ErasureRequest, erasure_id, with_for_update=True)
        if erasure is None:
            raise NotFound("no_erasure")
        request = tx.requests.get(erasure.request_id)
        assert request is not None
        attempt = Attempt(actor_id, action, f"case:{request.code}")
        if erasure.state != "pending":
            raise Refused("erasure_decided", audit=attempt)
        if approve and erasure.requested_by == actor_id:
            raise Refused("own_erasure", audit=attempt)
        if approve and request.erased_at is not None:
            raise AlreadyErased(audit=attempt, code=request.code)
        erasure.state = "approved" if approve else "declined"
        erasure.decided_by, erasure.decided_at = actor_id, moment
        if approve:
            erase_request(tx, request, erasure.reason, moment)
        tx.audit.record(actor_id, action, f"case:{request.code}")
        return _erasure_view(erasure, request.code)

    view = await uow.run(work)
    log.info("erasure %s of %s %s by %s", erasure_id, view.code, view.state, actor_id)
    return view


# --- retention -----------------------------------------------------------------------


@dataclass(frozen=True)
class RetentionRun:
    warned: list[str] = field(default_factory=list)
    erased: list[str] = field(default_factory=list)


def _ended_before(cutoff: datetime) -> Any:
    r = TracingRequest
    return and_(r.status.in_(ENDED), r.erased_at.is_(None), r.status_changed_at <= cutoff)


async def apply_retention(
    uow: UnitOfWork,
    days: int,
    routing: StaffRouting | None,
    now: datetime | None = None,
    batch: int = RETENTION_BATCH,
) -> RetentionRun:
    """Warn the team about closed and reunited cases that will be erased in about a week,
    and erase the ones whose time has come (and whose warning is a week old). Short
    transactions of at most `batch` cases each. `days` 0 turns retention off."""
    run = RetentionRun()
    if days <= 0:
        return run
    moment = now or utcnow()
    due = moment - timedelta(days=days)
    warn_from = due + RETENTION_WARNING

    def warn(tx: Tx) -> list[str]:
        requests = tx.session.scalars(
            select(TracingRequest)
            .where(_ended_before(warn_from), TracingRequest.retention_warned_at.is_(None))
            .order_by(TracingRequest.id)
            .limit(batch)
        ).all()
        for request in requests:
            request.retention_warned_at = moment
            erase_on = max(
                request.status_changed_at + timedelta(days=days), moment + RETENTION_WARNING
            )
            for chat_id in _staff_targets(tx, routing):
                tx.outbox.enqueue(
                    request.id,
                    chat_id,
                    "staff_retention",
                    {"erase_on": erase_on.date().isoformat(), "status": request.status},
                )
        return [r.code for r in requests]

    def erase(tx: Tx) -> list[str]:
        requests = tx.session.scalars(
            select(TracingRequest)
            .where(
                _ended_before(due),
                TracingRequest.retention_warned_at <= moment - RETENTION_WARNING,
            )
            .order_by(TracingRequest.id)
            .limit(batch)
            .with_for_update()
        ).all()
        for request in requests:
            erase_request(tx, request, RETENTION, moment)
            tx.audit.record(SYSTEM_ACTOR, "retention", f"case:{request.code}")
        return [r.code for r in requests]

    for step, found in ((warn, run.warned), (erase, run.erased)):
        while True:
            codes = await uow.run(step)
            found.extend(codes)
            if len(codes) < batch:
                break
    if run.warned or run.erased:
        log.info("retention: %d warned, %d erased", len(run.warned), len(run.erased))
    return run


def _staff_targets(tx: Tx, routing: StaffRouting | None) -> list[int]:
    """As notify_staff: the liaison group, or each liaison and admin privately."""
    if routing is None:
        return []
    if routing.group_chat_id is not None:
        return [routing.group_chat_id]
    return sorted(set(tx.liaisons.active_ids()) | routing.admin_ids)


# --- /mydata --------------------------------------------------------------------------


@dataclass(frozen=True)
class StatusEntry:
    at: datetime
    status: RequestStatus
    close_reason: str | None


@dataclass(frozen=True)
class AddedEntry:
    at: datetime
    text: str | None
    photos: int


@dataclass(frozen=True)
class MessageEntry:
    at: datetime
    kind: str  # question | update
    text: str
    photo: bool


@dataclass(frozen=True)
class RequestData:
    code: str
    created_at: datetime
    status: RequestStatus
    close_reason: str | None
    status_changed_at: datetime
    locale: str
    consent_version: str
    consented_at: datetime
    answers: dict[str, Any]
    photos: int
    added: list[AddedEntry]
    history: list[StatusEntry]
    messages: list[MessageEntry]


@dataclass(frozen=True)
class MyData:
    user_id: int
    locale: str | None
    notices_enabled: bool
    first_contact: datetime | None
    last_change: datetime | None
    requests: list[RequestData]


def _request_data(tx: Tx, request: TracingRequest) -> RequestData:
    photos = tx.requests.photos(request.id)
    per_followup: dict[int, int] = {}
    for photo in photos:
        if photo.followup_id is not None:
            per_followup[photo.followup_id] = per_followup.get(photo.followup_id, 0) + 1
    return RequestData(
        code=request.code,
        created_at=request.created_at,
        status=RequestStatus(request.status),
        close_reason=request.close_reason,
        status_changed_at=request.status_changed_at,
        locale=request.locale,
        consent_version=request.consent_version,
        consented_at=request.consented_at,
        answers=answers_of(request),
        photos=sum(1 for p in photos if p.followup_id is None),
        added=[
            AddedEntry(f.created_at, f.text, per_followup.get(f.id, 0))
            for f in tx.requests.followups(request.id)
        ],
        # As the family was told: the status and the close reason, not the team's details.
        history=[
            StatusEntry(
                h.created_at,
                RequestStatus(h.to_status),
                h.reason.split(":", 1)[0] if h.reason else None,
            )
            for h in tx.requests.history(request.id)
        ],
        messages=[
            MessageEntry(d.decided_at or d.created_at, d.kind, d.text, d.photo_file_id is not None)
            for d in tx.drafts.for_request(request.id)
            if d.state == DraftState.APPROVED
        ],
    )


async def my_data(uow: UnitOfWork, family_id: int) -> MyData:
    """Everything stored about the family that is theirs (not the team's notes or drafts)."""

    def work(tx: Tx) -> MyData:
        user = tx.users.get(family_id)
        requests: Sequence[TracingRequest] = tx.session.scalars(
            select(TracingRequest)
            .where(TracingRequest.family_id == family_id)
            .order_by(TracingRequest.id)
        ).all()
        tx.audit.record(family_id, "mydata", None)
        return MyData(
            user_id=family_id,
            locale=user.locale if user else None,
            notices_enabled=user.notices_enabled if user else True,
            first_contact=user.created_at if user else None,
            last_change=user.updated_at if user else None,
            requests=[_request_data(tx, r) for r in requests],
        )

    return await uow.run(work)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value is not None else None


def my_data_json(data: MyData) -> str:
    """The machine-readable copy: keys in English, dates in ISO 8601 (UTC)."""
    document = {
        "telegram_user_id": data.user_id,
        "language": data.locale,
        "general_notices": data.notices_enabled,
        "first_contact": _iso(data.first_contact),
        "last_change": _iso(data.last_change),
        "requests": [
            {
                "reference_code": r.code,
                "sent": _iso(r.created_at),
                "status": r.status.value,
                "close_reason": r.close_reason,
                "status_changed": _iso(r.status_changed_at),
                "language": r.locale,
                "consent_version": r.consent_version,
                "consent_given": _iso(r.consented_at),
                "answers": r.answers,
                "photos": r.photos,
                "information_added": [
                    {"added": _iso(a.at), "text": a.text, "photos": a.photos} for a in r.added
                ],
                "status_history": [
                    {"date": _iso(s.at), "status": s.status.value, "close_reason": s.close_reason}
                    for s in r.history
                ],
                "messages_from_the_team": [
                    {"date": _iso(m.at), "kind": m.kind, "text": m.text, "photo": m.photo}
                    for m in r.messages
                ],
            }
            for r in data.requests
        ],
    }
    return json.dumps(document, ensure_ascii=False, indent=2)
