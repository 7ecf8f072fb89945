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
from enum import StrEnum

from bot.domain.statuses import RequestStatus
from bot.services.access import Role, role_in
from bot.services.queue import needs_attention_from, refresh_attention
from bot.services.refusal import Refused
from bot.services.uow import Tx, UnitOfWork
from storage.models import Draft, TracingRequest, utcnow

log = logging.getLogger(__name__)

MAX_DRAFT = 3000


class ReviewMode(StrEnum):
    FOUR_EYES = "four_eyes"
    SINGLE = "single"


class DraftRefused(Refused):
    """Why a draft could not be created, approved or declined."""


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


def _require_liaison(tx: Tx, actor_id: int, admin_ids: frozenset[int], action: str) -> None:
    if role_in(tx, actor_id, admin_ids) < Role.LIAISON:
        tx.audit.record(actor_id, action, None, allowed=False)
        raise DraftRefused("not_liaison")


async def create_draft(
    uow: UnitOfWork,
    actor_id: int,
    admin_ids: frozenset[int],
    code: str,
    kind: str,
    text: str,
    photo_file_id: str | None = None,
) -> DraftView:
    if kind not in {"question", "update"}:
        raise ValueError(kind)

    def work(tx: Tx) -> DraftView:
        _require_liaison(tx, actor_id, admin_ids, f"draft:{kind}")
        request = tx.requests.by_code(code)
        if request is None:
            raise DraftRefused("no_case")
        if request.status == RequestStatus.CLOSED.value:
            raise DraftRefused("closed")
        draft = Draft(
            request_id=request.id,
            author_id=actor_id,
            kind=kind,
            text=text,
            photo_file_id=photo_file_id,
            state="pending",
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
        raise DraftRefused("no_draft")
    request = tx.requests.get(draft.request_id)
    assert request is not None
    if draft.state != "pending":
        tx.audit.record(actor_id, action, f"case:{request.code}", allowed=False)
        raise DraftRefused("not_pending")
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
        _require_liaison(tx, actor_id, admin_ids, "approve")
        draft, request = _decidable(tx, actor_id, draft_id, "approve")
        target = f"case:{request.code}"
        if request.status == RequestStatus.CLOSED.value:
            tx.audit.record(actor_id, "approve", target, allowed=False)
            raise DraftRefused("closed")
        if mode is ReviewMode.FOUR_EYES and draft.author_id == actor_id:
            tx.audit.record(actor_id, "approve", target, allowed=False)
            raise DraftRefused("own_draft")
        now = utcnow()
        draft.state, draft.decided_by, draft.decided_at = "approved", actor_id, now
        tx.outbox.enqueue(request.id, request.family_id, "liaison", {"draft_id": draft.id})
        tx.audit.record(actor_id, "approve", target)
        tx.session.flush()
        refresh_attention(tx, request)
        return _view(draft, request.code)

    view = await uow.run(work)
    log.info("draft %s approved by %s", draft_id, actor_id)
    return view


async def decline(
    uow: UnitOfWork, actor_id: int, admin_ids: frozenset[int], draft_id: int, reason: str
) -> DraftView:
    def work(tx: Tx) -> DraftView:
        _require_liaison(tx, actor_id, admin_ids, "decline")
        draft, request = _decidable(tx, actor_id, draft_id, "decline")
        draft.state, draft.decided_by, draft.decided_at = "declined", actor_id, utcnow()
        draft.decline_reason = reason
        tx.audit.record(actor_id, "decline", f"case:{request.code}")
        tx.session.flush()
        refresh_attention(tx, request)
        return _view(draft, request.code)

    return await uow.run(work)


def approved_text(tx: Tx, draft_id: int) -> tuple[str, str | None, str] | None:
    """(text, photo, kind) of an approved draft, for the sender; None for any other."""
    draft = tx.drafts.get(draft_id)
    if draft is None or draft.state != "approved":
        return None
    return draft.text, draft.photo_file_id, draft.kind


async def drafts_of(uow: UnitOfWork, request_id: int) -> list[DraftView]:
    def work(tx: Tx) -> list[DraftView]:
        request = tx.requests.get(request_id)
        code = request.code if request else ""
        return [_view(d, code) for d in tx.drafts.for_request(request_id)]

    return await uow.run(work)
