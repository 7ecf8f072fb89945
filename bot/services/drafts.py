"""Messages written by liaisons for a family: drafts, approval, and the one way out.

The relay invariant: liaison-written text reaches a family only through the outbox
template "liaison", whose row is created here by `approve` alone, in the same
transaction that marks the draft approved; the sender renders it only from a draft
that is approved (bot.outbox). Approval needs an active liaison, a pending draft,
an open case, and (in four-eyes mode) someone other than the author.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from bot.domain.review import ReviewMode, may_approve
from bot.domain.roles import Role
from bot.domain.states import DRAFTS, DraftState
from bot.domain.statuses import RequestStatus
from bot.services.access import require_role
from bot.services.queue import needs_attention_from, refresh_attention
from bot.services.refusal import Attempt, NotFound, Refused, check_length
from bot.services.uow import Tx, UnitOfWork
from storage.models import Draft, TracingRequest, utcnow

log = logging.getLogger(__name__)

MAX_DRAFT = 3000
MAX_DECLINE_REASON = 500
KINDS = frozenset({"question", "update"})

__all__ = ["ReviewMode"]


@dataclass(frozen=True)
class DraftView:
    id: int
    request_id: int
    code: str
    author_id: int
    kind: str
    text: str
    photo_file_id: str | None
    state: str
    decided_by: int | None
    decline_reason: str | None
    created_at: datetime


def _view(draft: Draft, code: str) -> DraftView:
    return DraftView(
        draft.id,
        draft.request_id,
        code,
        draft.author_id,
        draft.kind,
        draft.text,
        draft.photo_file_id,
        draft.state,
        draft.decided_by,
        draft.decline_reason,
        draft.created_at,
    )


async def create_draft(
    uow: UnitOfWork,
    actor_id: int,
    admin_ids: frozenset[int],
    code: str,
    kind: str,
    text: str,
    photo_file_id: str | None = None,
) -> DraftView:
    if kind not in KINDS:
        raise ValueError(kind)
    check_length(text, MAX_DRAFT)
    action = f"draft:{kind}"

    def work(tx: Tx) -> DraftView:
        require_role(tx, actor_id, admin_ids, Role.LIAISON, action, f"case:{code}")
        request = tx.requests.by_code(code)
        if request is None:
            raise NotFound("no_case", code=code)
        if request.status == RequestStatus.CLOSED.value:
            raise Refused("closed", audit=Attempt(actor_id, action, f"case:{code}"))
        if request.family_id is None:  # erased: nobody to write to
            raise Refused("erased", audit=Attempt(actor_id, action, f"case:{code}"))
        draft = Draft(
            request_id=request.id,
            author_id=actor_id,
            kind=kind,
            text=text,
            photo_file_id=photo_file_id,
            state=DraftState.PENDING,
            created_at=utcnow(),
        )
        tx.drafts.add(draft)
        needs_attention_from(request, draft.created_at)
        tx.session.flush()
        tx.audit.record(actor_id, f"draft:{kind}", f"case:{request.code}")
        return _view(draft, request.code)

    return await uow.run(work)


def _decidable(tx: Tx, actor_id: int, draft_id: int, action: str) -> tuple[Draft, TracingRequest]:
    """The pending draft and its request, or a refusal (audited) for approve and decline."""
    draft = tx.drafts.get(draft_id)
    if draft is None:
        raise NotFound("no_draft")
    request = tx.requests.get(draft.request_id)
    assert request is not None
    if draft.state != DraftState.PENDING:
        raise Refused("not_pending", audit=Attempt(actor_id, action, f"case:{request.code}"))
    return draft, request


async def approve(
    uow: UnitOfWork,
    actor_id: int,
    admin_ids: frozenset[int],
    draft_id: int,
    mode: ReviewMode,
) -> DraftView:
    """Approve a pending draft and queue it for the family: the only way it can leave."""

    def work(tx: Tx) -> DraftView:
        require_role(tx, actor_id, admin_ids, Role.LIAISON, "approve", f"draft:{draft_id}")
        draft, request = _decidable(tx, actor_id, draft_id, "approve")
        attempt = Attempt(actor_id, "approve", f"case:{request.code}")
        if request.status == RequestStatus.CLOSED.value:
            raise Refused("closed", audit=attempt)
        if request.family_id is None:  # erased: nobody to write to
            raise Refused("erased", audit=attempt)
        if not may_approve(mode, draft.author_id, actor_id):
            raise Refused("own_draft", audit=attempt)
        now = utcnow()
        draft.state = DRAFTS.move(draft.state, DraftState.APPROVED)
        draft.decided_by, draft.decided_at = actor_id, now
        tx.outbox.enqueue(request.id, request.family_id, "liaison", {"draft_id": draft.id})
        tx.audit.record(actor_id, "approve", attempt.target)
        tx.session.flush()
        refresh_attention(tx, request)
        return _view(draft, request.code)

    view = await uow.run(work)
    log.info("draft %s approved by %s", draft_id, actor_id)
    return view


async def decline(
    uow: UnitOfWork, actor_id: int, admin_ids: frozenset[int], draft_id: int, reason: str
) -> DraftView:
    check_length(reason, MAX_DECLINE_REASON)

    def work(tx: Tx) -> DraftView:
        require_role(tx, actor_id, admin_ids, Role.LIAISON, "decline", f"draft:{draft_id}")
        draft, request = _decidable(tx, actor_id, draft_id, "decline")
        draft.state = DRAFTS.move(draft.state, DraftState.DECLINED)
        draft.decided_by, draft.decided_at = actor_id, utcnow()
        draft.decline_reason = reason
        tx.audit.record(actor_id, "decline", f"case:{request.code}")
        tx.session.flush()
        refresh_attention(tx, request)
        return _view(draft, request.code)

    return await uow.run(work)


def approved_text(tx: Tx, draft_id: int) -> tuple[str, str | None, str] | None:
    """(text, photo, kind) of an approved draft, for the sender; None for any other."""
    draft = tx.drafts.get(draft_id)
    if draft is None or draft.state != DraftState.APPROVED:
        return None
    return draft.text, draft.photo_file_id, draft.kind


async def drafts_of(uow: UnitOfWork, request_id: int) -> list[DraftView]:
    def work(tx: Tx) -> list[DraftView]:
        request = tx.requests.get(request_id)
        code = request.code if request else ""
        return [_view(d, code) for d in tx.drafts.for_request(request_id)]

    return await uow.run(work)
