"""Small repositories over one (synchronous) session; the unit of work commits."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import BigInteger, Executable, Table, bindparam, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

from bot.domain.states import BroadcastState, OutboxState, RecipientState
from storage.models import (
    AuditEntry,
    Broadcast,
    BroadcastRecipient,
    CaseNote,
    Draft,
    FollowUp,
    Invite,
    Liaison,
    OutboxMessage,
    RequestPhoto,
    StatusChange,
    TracingRequest,
    User,
    utcnow,
)


class _UserStatements:
    """The statements that run on nearly every first contact, built once per dialect.

    Plain Core on the session's connection: no ORM statement compilation, no cache key
    to compute per call (a statement object keeps its key), no identity map to sync
    (nothing loads User rows as objects while these run)."""

    def __init__(self, dialect: str) -> None:
        users = cast(Table, User.__table__)
        requests = cast(Table, TracingRequest.__table__)
        user_id = bindparam("user_id", type_=BigInteger)
        self.locale = select(users.c.locale).where(users.c.id == user_id)
        self.unblock = (
            update(users)
            .where(users.c.id == user_id, users.c.blocked_at.is_not(None))
            .values(blocked_at=None)
        )
        self.reachable = (
            update(requests)
            .where(requests.c.family_id == user_id, requests.c.family_unreachable)
            .values(family_unreachable=False)
        )
        self.notices = (
            update(users)
            .where(users.c.id == user_id)
            .values(notices_enabled=bindparam("enabled"), updated_at=bindparam("now"))
        )
        dialect_insert = pg_insert if dialect == "postgresql" else sqlite_insert
        create = dialect_insert(users).values(
            id=user_id,
            locale=bindparam("new_locale"),
            created_at=bindparam("now"),
            updated_at=bindparam("now"),
        )
        self.create = create.on_conflict_do_nothing(index_elements=[users.c.id])
        self.create_or_set_locale = create.on_conflict_do_update(
            index_elements=[users.c.id],
            set_={"locale": create.excluded.locale, "updated_at": create.excluded.updated_at},
        )


_user_statements: dict[str, _UserStatements] = {}


class UserRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def _statements(self) -> _UserStatements:
        dialect = self.session.get_bind().dialect.name
        statements = _user_statements.get(dialect)
        if statements is None:
            statements = _user_statements[dialect] = _UserStatements(dialect)
        return statements

    def _execute(self, statement: Executable, params: dict[str, Any]) -> Any:
        return self.session.connection().execute(statement, params)

    def get(self, user_id: int) -> User | None:
        return self.session.get(User, user_id)

    def set_notices(self, user_id: int, enabled: bool) -> None:
        self.upsert_locale(user_id, None)
        self._execute(
            self._statements().notices,
            {"user_id": user_id, "enabled": enabled, "now": utcnow()},
        )

    def mark_reachable(self, user_id: int) -> None:
        statements = self._statements()
        self._execute(statements.unblock, {"user_id": user_id})
        self._execute(statements.reachable, {"user_id": user_id})

    def locale(self, user_id: int) -> str | None:
        locale: str | None = self._execute(self._statements().locale, {"user_id": user_id}).scalar()
        return locale

    def find_locale(self, user_id: int) -> tuple[bool, str | None]:
        """Whether the user is stored at all, and their language choice."""
        row = self._execute(self._statements().locale, {"user_id": user_id}).first()
        return (False, None) if row is None else (True, row[0])

    def upsert_locale(self, user_id: int, locale: str | None) -> None:
        """Create the user if new; set the locale when one is given."""
        statements = self._statements()
        statement = statements.create if locale is None else statements.create_or_set_locale
        self._execute(statement, {"user_id": user_id, "new_locale": locale, "now": utcnow()})

    def all_locales(self, limit: int) -> Sequence[tuple[int, str | None]]:
        rows = self.session.execute(select(User.id, User.locale).limit(limit))
        return [(row.id, row.locale) for row in rows]


_FAMILY_LIST = (
    select(
        TracingRequest.id,
        TracingRequest.code,
        TracingRequest.sought_name,
        TracingRequest.status,
        TracingRequest.close_reason,
        TracingRequest.status_changed_at,
    )
    .where(TracingRequest.family_id == bindparam("family_id"))
    .order_by(TracingRequest.status_changed_at.desc(), TracingRequest.id.desc())
)


class RequestRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, request: TracingRequest) -> None:
        self.session.add(request)

    def list_for_family(
        self, family_id: int
    ) -> Sequence[Row[int, str, str, str, str | None, datetime]]:
        """The columns a family's list shows, not whole requests: it runs on every /status,
        so it is one statement built once and run on the connection, past the ORM layer."""
        return self.session.connection().execute(_FAMILY_LIST, {"family_id": family_id}).all()

    def by_code(self, code: str) -> TracingRequest | None:
        return self.session.scalar(select(TracingRequest).where(TracingRequest.code == code))

    def get(self, request_id: int) -> TracingRequest | None:
        return self.session.get(TracingRequest, request_id)

    def history(self, request_id: int) -> Sequence[StatusChange]:
        return self.session.scalars(
            select(StatusChange)
            .where(StatusChange.request_id == request_id)
            .order_by(StatusChange.id)
        ).all()

    def followups(self, request_id: int) -> Sequence[FollowUp]:
        return self.session.scalars(
            select(FollowUp).where(FollowUp.request_id == request_id).order_by(FollowUp.id)
        ).all()

    def photos(self, request_id: int) -> Sequence[RequestPhoto]:
        return self.session.scalars(
            select(RequestPhoto)
            .where(RequestPhoto.request_id == request_id)
            .order_by(RequestPhoto.id)
        ).all()

    def get_for_family(
        self, family_id: int, *, code: str | None = None, request_id: int | None = None
    ) -> TracingRequest | None:
        """A request only if it belongs to this family: the single gate for family reads."""
        query = select(TracingRequest).where(TracingRequest.family_id == family_id)
        if code is not None:
            query = query.where(TracingRequest.code == code)
        elif request_id is not None:
            query = query.where(TracingRequest.id == request_id)
        else:
            return None
        return self.session.scalar(query)

    def add_status_change(self, change: StatusChange) -> None:
        self.session.add(change)

    def add_followup(self, followup: FollowUp) -> None:
        self.session.add(followup)

    def add_photo(self, photo: RequestPhoto) -> None:
        self.session.add(photo)

    def count_followups(self, request_id: int) -> int:
        return int(
            self.session.scalar(
                select(func.count(FollowUp.id)).where(FollowUp.request_id == request_id)
            )
            or 0
        )

    def count_photos(self, request_id: int) -> int:
        return int(
            self.session.scalar(
                select(func.count(RequestPhoto.id)).where(RequestPhoto.request_id == request_id)
            )
            or 0
        )


_liaisons = cast(Table, Liaison.__table__)
_ACTIVE_LIAISON_IDS = select(_liaisons.c.user_id).where(_liaisons.c.revoked_at.is_(None))


class LiaisonRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, user_id: int) -> Liaison | None:
        return self.session.get(Liaison, user_id)

    def is_active(self, user_id: int) -> bool:
        found = self.session.scalar(
            select(Liaison.user_id).where(Liaison.user_id == user_id, Liaison.revoked_at.is_(None))
        )
        return found is not None

    def active(self) -> Sequence[Liaison]:
        return self.session.scalars(
            select(Liaison).where(Liaison.revoked_at.is_(None)).order_by(Liaison.granted_at)
        ).all()

    def active_ids(self) -> list[int]:
        """Who gets the staff notices: read on every new request and follow-up, so a
        prebuilt Core statement that loads no objects (after a flush, as ORM reads do)."""
        self.session.flush()
        return list(self.session.connection().execute(_ACTIVE_LIAISON_IDS).scalars())

    def add(self, liaison: Liaison) -> None:
        self.session.add(liaison)


class InviteRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, invite: Invite) -> None:
        self.session.add(invite)

    def by_hash(self, code_hash: str) -> Invite | None:
        return self.session.scalar(
            select(Invite).where(Invite.code_hash == code_hash).with_for_update()
        )


class AuditRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def record(
        self, actor_id: int, action: str, target: str | None, *, allowed: bool = True
    ) -> None:
        self.session.add(
            AuditEntry(
                actor_id=actor_id,
                action=action,
                target=target,
                allowed=allowed,
                created_at=utcnow(),
            )
        )

    def record_many(self, actor_id: int, action: str, targets: Sequence[str]) -> None:
        """One row per target (an export, a page of search results), in one statement."""
        if not targets:
            return
        now = utcnow()
        self.session.execute(
            insert(AuditEntry),
            [
                {
                    "actor_id": actor_id,
                    "action": action,
                    "target": target,
                    "allowed": True,
                    "created_at": now,
                }
                for target in targets
            ],
        )

    def for_target(self, target: str) -> Sequence[AuditEntry]:
        return self.session.scalars(
            select(AuditEntry).where(AuditEntry.target == target).order_by(AuditEntry.id)
        ).all()

    def latest(
        self, *, target: str | None = None, actor_id: int | None = None, limit: int
    ) -> tuple[Sequence[AuditEntry], int]:
        """The newest `limit` rows about a target or by an actor, newest first, and how many
        there are in all."""
        where = [AuditEntry.target == target] if target is not None else []
        if actor_id is not None:
            where.append(AuditEntry.actor_id == actor_id)
        rows = self.session.scalars(
            select(AuditEntry).where(*where).order_by(AuditEntry.id.desc()).limit(limit)
        ).all()
        total = len(rows)
        if total == limit:
            counted = select(func.count()).select_from(AuditEntry).where(*where)
            total = self.session.scalar(counted) or 0
        return rows, total


class NoteRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, note: CaseNote) -> None:
        self.session.add(note)

    def for_request(self, request_id: int) -> Sequence[CaseNote]:
        return self.session.scalars(
            select(CaseNote).where(CaseNote.request_id == request_id).order_by(CaseNote.id)
        ).all()


class OutboxRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def enqueue(
        self, request_id: int | None, chat_id: int, template: str, params: dict[str, object]
    ) -> None:
        """A message to deliver, in the caller's transaction: it exists only if that commits."""
        now = utcnow()
        self.session.add(
            OutboxMessage(
                request_id=request_id,
                chat_id=chat_id,
                template=template,
                params=json.dumps(params),
                state=OutboxState.PENDING,
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )

    def due(self, now: datetime, limit: int) -> Sequence[OutboxMessage]:
        return self.session.scalars(
            select(OutboxMessage)
            # "sending" past its lease: the process that claimed it stopped before recording
            # the outcome, so it is due again.
            .where(
                OutboxMessage.state.in_((OutboxState.PENDING, OutboxState.SENDING)),
                OutboxMessage.next_attempt_at <= now,
            )
            .order_by(OutboxMessage.id)
            .limit(limit)
            # Several instances on PostgreSQL: each claims rows no other is claiming right
            # now (SQLite has one instance and renders no FOR UPDATE).
            .with_for_update(skip_locked=True)
        ).all()

    def get(self, message_id: int) -> OutboxMessage | None:
        return self.session.get(OutboxMessage, message_id)

    def for_request(self, request_id: int) -> Sequence[OutboxMessage]:
        return self.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.request_id == request_id)
            .order_by(OutboxMessage.id)
        ).all()


class DraftRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, draft: Draft) -> None:
        self.session.add(draft)

    def get(self, draft_id: int) -> Draft | None:
        return self.session.get(Draft, draft_id)

    def for_request(self, request_id: int) -> Sequence[Draft]:
        return self.session.scalars(
            select(Draft).where(Draft.request_id == request_id).order_by(Draft.id)
        ).all()


class BroadcastRepository:
    """Broadcasts and their recipients. Recipient updates are set-based: thousands a run."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, broadcast: Broadcast) -> None:
        self.session.add(broadcast)

    def get(self, broadcast_id: int, *, for_update: bool = False) -> Broadcast | None:
        if for_update:
            return self.session.scalar(
                select(Broadcast).where(Broadcast.id == broadcast_id).with_for_update()
            )
        return self.session.get(Broadcast, broadcast_id)

    def composing_by(self, author_id: int) -> Broadcast | None:
        return self.session.scalar(
            select(Broadcast)
            .where(Broadcast.author_id == author_id, Broadcast.state == BroadcastState.COMPOSING)
            .order_by(Broadcast.id.desc())
            .limit(1)
        )

    def recent(self, limit: int) -> Sequence[Broadcast]:
        return self.session.scalars(
            select(Broadcast)
            .where(Broadcast.state.not_in((BroadcastState.COMPOSING, BroadcastState.DISCARDED)))
            .order_by(Broadcast.id.desc())
            .limit(limit)
        ).all()

    def claim_report(self, broadcast_id: int) -> bool:
        """True for the one caller (of every instance) that is to send the final report of
        an ended broadcast."""
        result = self.session.execute(
            update(Broadcast)
            .where(
                Broadcast.id == broadcast_id,
                Broadcast.reported_at.is_(None),
                Broadcast.state.in_((BroadcastState.DONE, BroadcastState.CANCELLED)),
            )
            .values(reported_at=utcnow())
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def in_state(self, *states: BroadcastState) -> Sequence[Broadcast]:
        return self.session.scalars(
            select(Broadcast).where(Broadcast.state.in_(states)).order_by(Broadcast.id)
        ).all()

    def audience(
        self, kind: str, value: str | None, default_locale: str
    ) -> Sequence[tuple[int, str, bool, bool]]:
        """(family id, language, notices on, blocked) of every family in the audience.

        A family is someone with a submitted request; its language is the one it chose,
        else the one its request was made in.
        """
        request = TracingRequest
        # Erased requests belong to nobody (and a NULL would empty a NOT IN).
        families = select(request.family_id).where(request.family_id.is_not(None))
        if kind == "status":
            families = families.where(request.status == value)
        elif kind == "open":
            families = families.where(request.status != "closed")
        request_locale = (
            select(func.min(request.locale))
            .where(request.family_id == User.id)
            .correlate(User)
            .scalar_subquery()
        )
        language = func.coalesce(User.locale, request_locale, default_locale)
        query = select(User.id, language, User.notices_enabled, User.blocked_at.is_not(None)).where(
            User.id.in_(families)
        )
        if kind == "no_open":
            query = query.where(
                User.id.not_in(
                    select(request.family_id).where(
                        request.status != "closed", request.family_id.is_not(None)
                    )
                )
            )
        elif kind == "language":
            query = query.where(language == value)
        return [tuple(row) for row in self.session.execute(query.order_by(User.id))]  # type: ignore[misc]

    def add_recipients(self, broadcast_id: int, recipients: list[tuple[int, str]]) -> None:
        now = utcnow()
        if recipients:
            self.session.execute(
                insert(BroadcastRecipient),
                [
                    {
                        "broadcast_id": broadcast_id,
                        "chat_id": chat_id,
                        "version": version,
                        "state": RecipientState.PENDING,
                        "attempts": 0,
                        "next_attempt_at": now,
                    }
                    for chat_id, version in recipients
                ],
            )

    def counts(self, broadcast_id: int) -> dict[str, int]:
        rows = self.session.execute(
            select(BroadcastRecipient.state, func.count())
            .where(BroadcastRecipient.broadcast_id == broadcast_id)
            .group_by(BroadcastRecipient.state)
        )
        return {state: int(count) for state, count in rows}

    def due(self, broadcast_id: int, now: datetime, limit: int) -> Sequence[tuple[int, str, int]]:
        """(chat, version, attempts so far) to send to next; "sending" past its lease was
        left by a sender that stopped."""
        r = BroadcastRecipient
        return [
            (row.chat_id, row.version, row.attempts)
            for row in self.session.execute(
                select(r.chat_id, r.version, r.attempts)
                .where(
                    r.broadcast_id == broadcast_id,
                    r.state.in_((RecipientState.PENDING, RecipientState.SENDING)),
                    r.next_attempt_at <= now,
                )
                .order_by(r.chat_id)
                .limit(limit)
                .with_for_update(skip_locked=True)  # as for the outbox: one claimer per row
            )
        ]

    def set_state(
        self,
        broadcast_id: int,
        chat_ids: Sequence[int],
        state: RecipientState,
        *,
        only_from: tuple[RecipientState, ...] | None = None,
        **values: Any,
    ) -> int:
        r = BroadcastRecipient
        total = 0
        for start in range(0, len(chat_ids), 500):
            statement = (
                update(r)
                .where(r.broadcast_id == broadcast_id, r.chat_id.in_(chat_ids[start : start + 500]))
                .values(state=state, **values)
            )
            if only_from is not None:
                statement = statement.where(r.state.in_(only_from))
            total += self.session.execute(statement).rowcount or 0  # type: ignore[attr-defined]
        return total

    def claim(self, broadcast_id: int, chat_ids: Sequence[int], lease_until: datetime) -> None:
        attempts = BroadcastRecipient.attempts + 1
        self.set_state(
            broadcast_id,
            chat_ids,
            RecipientState.SENDING,
            attempts=attempts,
            next_attempt_at=lease_until,
        )

    def extend_lease(
        self, broadcast_id: int, chat_ids: Sequence[int], lease_until: datetime
    ) -> None:
        """The claimer still holds these: their lease runs until `lease_until`."""
        r = BroadcastRecipient
        for start in range(0, len(chat_ids), 500):
            self.session.execute(
                update(r)
                .where(
                    r.broadcast_id == broadcast_id,
                    r.chat_id.in_(chat_ids[start : start + 500]),
                    r.state == RecipientState.SENDING,
                )
                .values(next_attempt_at=lease_until)
            )

    def cancel_pending(self, broadcast_id: int) -> int:
        r = BroadcastRecipient
        result = self.session.execute(
            update(r)
            .where(r.broadcast_id == broadcast_id, r.state == RecipientState.PENDING)
            .values(state=RecipientState.CANCELLED)
        )
        return result.rowcount or 0  # type: ignore[attr-defined]

    def release_claims(self) -> int:
        """After a restart: what the stopped process had claimed is to be sent again."""
        r = BroadcastRecipient
        result = self.session.execute(
            update(r)
            .where(r.state == RecipientState.SENDING)
            .values(state=RecipientState.PENDING, next_attempt_at=utcnow())
        )
        return result.rowcount or 0  # type: ignore[attr-defined]

    def next_due(self, broadcast_id: int) -> datetime | None:
        r = BroadcastRecipient
        return self.session.scalar(
            select(func.min(r.next_attempt_at)).where(
                r.broadcast_id == broadcast_id,
                r.state.in_((RecipientState.PENDING, RecipientState.SENDING)),
            )
        )

    def mark_blocked_users(self, user_ids: Sequence[int]) -> None:
        if user_ids:
            self.session.execute(
                update(User).where(User.id.in_(user_ids)).values(blocked_at=utcnow())
            )
