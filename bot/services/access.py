"""Who may do what: admins (from ADMIN_IDS), liaisons (granted or invited), everyone else.

Every grant, revoke, invite, join and every refused attempt is written to the audit log
in the same transaction as the change it describes.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain.reference import ALPHABET
from bot.domain.roles import Role
from bot.services.refusal import Attempt, NotPermitted
from bot.services.uow import Tx, UnitOfWork
from storage.models import AuditEntry, Invite, Liaison, utcnow

log = logging.getLogger(__name__)

INVITE_VALIDITY = timedelta(hours=24)


__all__ = ["Role", "require_role"]


@dataclass(frozen=True)
class LiaisonView:
    user_id: int
    granted_by: int
    granted_at: datetime
    is_admin: bool = False


def role_in(tx: Tx, user_id: int, admin_ids: frozenset[int]) -> Role:
    if user_id in admin_ids:
        return Role.ADMIN
    return Role.LIAISON if tx.liaisons.is_active(user_id) else Role.NONE


def require_role(
    tx: Tx,
    actor_id: int,
    admin_ids: frozenset[int],
    role: Role,
    action: str,
    target: str | None = None,
) -> Role:
    """The actor's role if it is at least `role`; otherwise a refusal that is audited.

    Every service checks again inside its transaction: the staff filter in front of the
    handlers is the first gate, not the only one (a liaison revoked a second ago)."""
    actual = role_in(tx, actor_id, admin_ids)
    if actual < role:
        raise NotPermitted(audit=Attempt(actor_id, action, target))
    return actual


async def role_of(uow: UnitOfWork, user_id: int, admin_ids: frozenset[int]) -> Role:
    if user_id in admin_ids:
        return Role.ADMIN
    return await uow.run(lambda tx: role_in(tx, user_id, admin_ids))


async def record_refusal(uow: UnitOfWork, actor_id: int, action: str) -> None:
    await uow.run(lambda tx: tx.audit.record(actor_id, action, None, allowed=False))
    log.warning("refused: %s by %s", action, actor_id)


def _activate(tx: Tx, user_id: int, granted_by: int) -> bool:
    """Make user_id a liaison; False if they already are one."""
    existing = tx.liaisons.get(user_id)
    if existing is not None and existing.revoked_at is None:
        return False
    now = utcnow()
    if existing is None:
        tx.liaisons.add(Liaison(user_id=user_id, granted_by=granted_by, granted_at=now))
    else:
        existing.granted_by, existing.granted_at, existing.revoked_at = granted_by, now, None
    return True


async def grant(uow: UnitOfWork, actor_id: int, user_id: int, admin_ids: frozenset[int]) -> bool:
    def work(tx: Tx) -> bool:
        require_role(tx, actor_id, admin_ids, Role.ADMIN, "grant")
        changed = _activate(tx, user_id, actor_id)
        tx.audit.record(actor_id, "grant", f"user:{user_id}")
        return changed

    return await uow.run(work)


async def revoke(uow: UnitOfWork, actor_id: int, user_id: int, admin_ids: frozenset[int]) -> bool:
    def work(tx: Tx) -> bool:
        require_role(tx, actor_id, admin_ids, Role.ADMIN, "revoke")
        existing = tx.liaisons.get(user_id)
        tx.audit.record(actor_id, "revoke", f"user:{user_id}")
        if existing is None or existing.revoked_at is not None:
            return False
        existing.revoked_at = utcnow()
        return True

    return await uow.run(work)


async def team(uow: UnitOfWork, actor_id: int, admin_ids: frozenset[int]) -> list[LiaisonView]:
    """The liaison team, as an admin's /liaisons shows it."""

    def work(tx: Tx) -> None:
        require_role(tx, actor_id, admin_ids, Role.ADMIN, "liaisons")

    await uow.run(work)
    return await list_liaisons(uow, admin_ids)


async def list_liaisons(uow: UnitOfWork, admin_ids: frozenset[int]) -> list[LiaisonView]:
    """Everyone on the team (for the bot itself: menus at start-up)."""

    def work(tx: Tx) -> list[LiaisonView]:
        return [LiaisonView(r.user_id, r.granted_by, r.granted_at) for r in tx.liaisons.active()]

    granted = await uow.run(work)
    admins = [LiaisonView(a, a, datetime.min, is_admin=True) for a in sorted(admin_ids)]
    return admins + [row for row in granted if row.user_id not in admin_ids]


def _hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def normalize_invite(raw: str) -> str:
    return "".join(ch for ch in raw.upper() if ch in ALPHABET)


async def create_invite(
    uow: UnitOfWork, actor_id: int, admin_ids: frozenset[int]
) -> tuple[str, datetime]:
    """A one-time code for /join, valid for 24 hours; the code itself is not stored."""
    code = "".join(secrets.choice(ALPHABET) for _ in range(12))
    now = utcnow()
    expires = now + INVITE_VALIDITY

    def work(tx: Tx) -> None:
        require_role(tx, actor_id, admin_ids, Role.ADMIN, "invite")
        tx.invites.add(
            Invite(code_hash=_hash(code), created_by=actor_id, created_at=now, expires_at=expires)
        )
        tx.audit.record(actor_id, "invite", None)

    await uow.run(work)
    return code, expires


async def redeem_invite(uow: UnitOfWork, user_id: int, raw_code: str) -> bool:
    """Make the user a liaison if the code is valid, unused and not expired."""
    code_hash = _hash(normalize_invite(raw_code))

    def work(tx: Tx) -> bool:
        invite = tx.invites.by_hash(code_hash)
        now = utcnow()
        if invite is None or invite.used_at is not None or invite.expires_at <= now:
            tx.audit.record(user_id, "join", None, allowed=False)
            return False
        invite.used_by, invite.used_at = user_id, now
        _activate(tx, user_id, invite.created_by)
        tx.audit.record(user_id, "join", f"user:{user_id}")
        return True

    joined = await uow.run(work)
    log.info("join %s: user %s", "accepted" if joined else "refused", user_id)
    return joined


@dataclass(frozen=True)
class AuditView:
    created_at: datetime
    actor_id: int
    action: str
    target: str | None = None
    allowed: bool = True


AUDIT_SHOWN = 40


@dataclass(frozen=True)
class AuditExcerpt:
    entries: list[AuditView]  # newest first, at most AUDIT_SHOWN
    total: int  # every row there is


async def audit_trail(
    uow: UnitOfWork, actor_id: int, admin_ids: frozenset[int], target: str
) -> list[AuditView]:
    """Everything recorded about a case ("case:CODE") or a notice, oldest first."""

    def work(tx: Tx) -> list[AuditView]:
        require_role(tx, actor_id, admin_ids, Role.ADMIN, "audit", target)
        rows = [_audit_view(e) for e in tx.audit.for_target(target)]
        tx.audit.record(actor_id, "audit", target)
        return rows

    return await uow.run(work)


async def recent_audit(
    uow: UnitOfWork,
    actor_id: int,
    admin_ids: frozenset[int],
    *,
    target: str | None = None,
    user_id: int | None = None,
    limit: int = AUDIT_SHOWN,
) -> AuditExcerpt:
    """For admins: the newest rows about a target, or by one person (`user_id`: what a
    liaison did and which cases they read). Reading the log is itself on record."""
    if (target is None) == (user_id is None):
        raise ValueError("a target or a user, not both")
    subject = target if target is not None else f"user:{user_id}"

    def work(tx: Tx) -> AuditExcerpt:
        require_role(tx, actor_id, admin_ids, Role.ADMIN, "audit", subject)
        rows, total = tx.audit.latest(target=target, actor_id=user_id, limit=limit)
        tx.audit.record(actor_id, "audit", subject)
        return AuditExcerpt([_audit_view(e) for e in rows], total)

    return await uow.run(work)


def _audit_view(entry: AuditEntry) -> AuditView:
    return AuditView(entry.created_at, entry.actor_id, entry.action, entry.target, entry.allowed)
