"""Tables. Every text column here may hold personal data: never log their values.

Personal fields are `EncryptedText`/`EncryptedBytes` (storage.crypto): sealed with the
data key before they reach the database. Codes, statuses, dates and ids stay plain, for
the queries."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    true,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from storage.crypto import EncryptedBytes, EncryptedText

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite would otherwise hand back naive ones)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class User(Base):
    """Anyone who has talked to the bot and whose language we must remember."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    locale: Mapped[str | None] = mapped_column(String(8))
    # General notices (broadcasts); news about the family's own requests always arrives.
    notices_enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # Set when Telegram says the person blocked the bot (403); cleared when they /start again.
    blocked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class TracingRequest(Base):
    __tablename__ = "tracing_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    # None once the request is erased (bot.services.privacy): nothing links it to a person.
    family_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[str] = mapped_column(String(32), default="submitted", index=True)
    close_reason: Mapped[str | None] = mapped_column(String(32))
    close_note: Mapped[str | None] = mapped_column(EncryptedText())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    status_changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    locale: Mapped[str] = mapped_column(String(8))

    # The person sought.
    sought_name: Mapped[str] = mapped_column(EncryptedText())
    sought_aliases: Mapped[str | None] = mapped_column(EncryptedText())
    sought_sex: Mapped[str] = mapped_column(String(16))
    birth_kind: Mapped[str] = mapped_column(String(8))  # date | year | age
    birth_text: Mapped[str] = mapped_column(String(32))  # as normalised for display
    birth_estimate: Mapped[date] = mapped_column(Date)
    birth_place: Mapped[str | None] = mapped_column(EncryptedText())
    features: Mapped[str | None] = mapped_column(EncryptedText())
    health_needs: Mapped[str | None] = mapped_column(EncryptedText())
    now_adult: Mapped[bool] = mapped_column(Boolean, default=False)

    # The separation.
    separation_kind: Mapped[str] = mapped_column(String(8))  # date | month | year
    separation_text: Mapped[str] = mapped_column(String(32))
    separation_estimate: Mapped[date] = mapped_column(Date)
    separation_place: Mapped[str] = mapped_column(EncryptedText())
    circumstances: Mapped[str] = mapped_column(String(32))
    circumstances_other: Mapped[str | None] = mapped_column(EncryptedText())
    last_location: Mapped[str | None] = mapped_column(EncryptedText())
    last_contact_text: Mapped[str | None] = mapped_column(String(32))
    companions: Mapped[str | None] = mapped_column(EncryptedText())

    # The requester.
    relationship_to_sought: Mapped[str] = mapped_column(String(32))
    requester_name: Mapped[str] = mapped_column(EncryptedText())
    contact: Mapped[str | None] = mapped_column(EncryptedText())
    country: Mapped[str] = mapped_column(EncryptedText())
    reported_elsewhere: Mapped[str | None] = mapped_column(EncryptedText())

    consent_version: Mapped[str] = mapped_column(String(16))
    consented_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    assigned_to: Mapped[int | None] = mapped_column(BigInteger, index=True)
    # The queue, kept up to date by the services (bot.services.queue.refresh_attention):
    # 1 is most urgent; attention_since is set while the case needs a liaison's attention.
    priority: Mapped[int] = mapped_column(Integer, default=3, server_default="3")
    attention_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    family_unreachable: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Tracing: set when the names, birth or places may have new possible matches; the
    # matcher (bot.matcher) indexes the request and looks for them, then clears it.
    match_pending: Mapped[bool] = mapped_column(
        Boolean, default=True, server_default=true(), index=True
    )
    # Confirmed "same person" as another request: the one that leads the linked cases.
    lead_request_id: Mapped[int | None] = mapped_column(
        ForeignKey("tracing_requests.id", ondelete="SET NULL"), index=True
    )
    # Erasure (bot.services.privacy): when the personal fields were erased, and why
    # ("family", "retention" or a liaison's reason). The code, dates and statuses stay.
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    erased_reason: Mapped[str | None] = mapped_column(EncryptedText())
    # When the team was warned that a closed or reunited case will soon be erased.
    retention_warned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    photos: Mapped[list[RequestPhoto]] = relationship(
        back_populates="request", order_by="RequestPhoto.id", cascade="all, delete-orphan"
    )


class RequestPhoto(Base):
    """A Telegram file id; the image itself stays on Telegram's servers."""

    __tablename__ = "request_photos"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("tracing_requests.id", ondelete="CASCADE"), index=True
    )
    followup_id: Mapped[int | None] = mapped_column(
        ForeignKey("followups.id", ondelete="CASCADE"), index=True
    )
    file_id: Mapped[str] = mapped_column(EncryptedText())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    request: Mapped[TracingRequest] = relationship(back_populates="photos")


class FollowUp(Base):
    """Information the family added after submitting, for the liaisons."""

    __tablename__ = "followups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("tracing_requests.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int] = mapped_column(BigInteger)
    text: Mapped[str | None] = mapped_column(EncryptedText())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class StatusChange(Base):
    __tablename__ = "status_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("tracing_requests.id", ondelete="CASCADE"), index=True
    )
    from_status: Mapped[str | None] = mapped_column(String(32))
    to_status: Mapped[str] = mapped_column(String(32))
    actor_id: Mapped[int | None] = mapped_column(BigInteger)
    reason: Mapped[str | None] = mapped_column(EncryptedText())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class FsmRecord(Base):
    """aiogram FSM state and data, so a half-filled request survives a restart."""

    __tablename__ = "fsm_records"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    state: Mapped[str | None] = mapped_column(String(255))
    data: Mapped[str | None] = mapped_column(Text)  # JSON
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


Index(
    "ix_tracing_requests_queue",
    TracingRequest.priority,
    TracingRequest.attention_since,
)
Index(
    "ix_tracing_requests_status_queue",
    TracingRequest.status,
    TracingRequest.priority,
    TracingRequest.attention_since,
)
Index(
    "ix_tracing_requests_family_changed",
    TracingRequest.family_id,
    TracingRequest.status_changed_at,
)


class Liaison(Base):
    """A vetted team member. Admins come from ADMIN_IDS and need no row here."""

    __tablename__ = "liaisons"

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    granted_by: Mapped[int] = mapped_column(BigInteger)
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Invite(Base):
    """A one-time code for becoming a liaison; only its hash is stored."""

    __tablename__ = "invites"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_by: Mapped[int | None] = mapped_column(BigInteger)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class AuditEntry(Base):
    """What liaisons and admins did, and what others tried and were refused."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    actor_id: Mapped[int] = mapped_column(BigInteger, index=True)
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str | None] = mapped_column(String(64), index=True)
    allowed: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CaseNote(Base):
    """An internal note: liaisons only, never shown to a family."""

    __tablename__ = "case_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("tracing_requests.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int] = mapped_column(BigInteger)
    text: Mapped[str] = mapped_column(EncryptedText())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class OutboxMessage(Base):
    """A message to a family, written in the same transaction as the change it reports.

    It holds a template name and its values, not text: it is rendered in the family's
    language when it is sent, and a liaison's free text can only enter through an
    approved draft (next step of the liaison side).
    """

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int | None] = mapped_column(
        ForeignKey("tracing_requests.id", ondelete="CASCADE"), index=True
    )
    chat_id: Mapped[int] = mapped_column(BigInteger)
    template: Mapped[str] = mapped_column(String(32))
    params: Mapped[str] = mapped_column(EncryptedText())  # JSON
    state: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(64))


class Draft(Base):
    """A liaison's message for a family. It reaches the family only once approved."""

    __tablename__ = "drafts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("tracing_requests.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(16))  # question | update
    text: Mapped[str] = mapped_column(EncryptedText())
    photo_file_id: Mapped[str | None] = mapped_column(EncryptedText())
    state: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    decided_by: Mapped[int | None] = mapped_column(BigInteger)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decline_reason: Mapped[str | None] = mapped_column(EncryptedText())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Broadcast(Base):
    """A general notice to many families: composed, approved by a second liaison, sent.

    States: composing -> awaiting_approval -> sending <-> paused -> done | cancelled;
    awaiting_approval -> declined; composing or awaiting_approval -> discarded.
    """

    __tablename__ = "broadcasts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    author_id: Mapped[int] = mapped_column(BigInteger, index=True)
    state: Mapped[str] = mapped_column(String(20), default="composing", index=True)
    text_uk: Mapped[str | None] = mapped_column(Text)
    text_ru: Mapped[str | None] = mapped_column(Text)
    text_en: Mapped[str | None] = mapped_column(Text)
    photo_file_id: Mapped[str | None] = mapped_column(String(255))
    # all | language | status | open | no_open, and the value of the filter.
    audience: Mapped[str] = mapped_column(String(16), default="all")
    audience_value: Mapped[str | None] = mapped_column(String(32))
    fallback: Mapped[str] = mapped_column(String(16), default="uk,ru,en")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_by: Mapped[int | None] = mapped_column(BigInteger)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Counted when sending starts; families turned away then are not recipients.
    opted_out: Mapped[int] = mapped_column(Integer, default=0)
    unreachable: Mapped[int] = mapped_column(Integer, default=0)
    # The message edited with the progress, in the chat of whoever started the sending.
    progress_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    progress_message_id: Mapped[int | None] = mapped_column(Integer)
    # Set by the one sender (of several instances) that sends the final report.
    reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class BroadcastRecipient(Base):
    """One family's delivery of one broadcast: pending, sending, sent, blocked, failed,
    or cancelled. "sending" is a claim; a sender that stops leaves it to be sent again."""

    __tablename__ = "broadcast_recipients"
    __table_args__ = (Index("ix_broadcast_recipients_work", "broadcast_id", "state"),)

    broadcast_id: Mapped[int] = mapped_column(
        ForeignKey("broadcasts.id", ondelete="CASCADE"), primary_key=True
    )
    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    version: Mapped[str] = mapped_column(String(8))  # the language of the text it gets
    state: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(64))


class PersonRecord(Base):
    """A located person from a verification body's list: imported, never typed by families.

    One row per (source, source_id): importing the same list again updates, never duplicates.
    """

    __tablename__ = "person_records"
    __table_args__ = (UniqueConstraint("source", "source_id", name="uq_person_records_source_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(64))
    source_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(EncryptedText())  # surname, first name, patronymic
    other_names: Mapped[str | None] = mapped_column(EncryptedText())
    sex: Mapped[str | None] = mapped_column(String(8))
    birth_date: Mapped[date | None] = mapped_column(Date)
    birth_year: Mapped[int | None] = mapped_column(Integer, index=True)
    birth_place: Mapped[str | None] = mapped_column(EncryptedText())
    current_place: Mapped[str | None] = mapped_column(EncryptedText())
    status: Mapped[str | None] = mapped_column(EncryptedText())
    welfare: Mapped[str | None] = mapped_column(EncryptedText())
    imported_by: Mapped[int | None] = mapped_column(BigInteger)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    match_pending: Mapped[bool] = mapped_column(
        Boolean, default=True, server_default=true(), index=True
    )


class RecordPhoto(Base):
    """A photo that came with a record, kept in the database so every instance has it."""

    __tablename__ = "record_photos"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_id: Mapped[int] = mapped_column(
        ForeignKey("person_records.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(EncryptedText())
    mime: Mapped[str] = mapped_column(String(32))
    data: Mapped[bytes] = mapped_column(EncryptedBytes())


class NameKey(Base):
    """The search index: short keys of every spelling of a person's names and places.

    owner_kind is "q" for a tracing request, "r" for an imported record.
    """

    __tablename__ = "name_keys"
    __table_args__ = (Index("ix_name_keys_owner", "owner_kind", "owner_id"),)

    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    # The owner's (estimated) birth year, 0 when unknown: a search or a match for someone
    # born about then reads one range of the index per key.
    birth_year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    owner_kind: Mapped[str] = mapped_column(String(1), primary_key=True)
    owner_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)


class PossibleMatch(Base):
    """A request that may be the same person as another request ("q") or a record ("r").

    Between two requests, request_id is the lower id. state: open | confirmed | dismissed.
    """

    __tablename__ = "possible_matches"
    __table_args__ = (
        UniqueConstraint("request_id", "other_kind", "other_id", name="uq_possible_matches_pair"),
        Index("ix_possible_matches_other", "other_kind", "other_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("tracing_requests.id", ondelete="CASCADE"), index=True
    )
    other_kind: Mapped[str] = mapped_column(String(1))
    other_id: Mapped[int] = mapped_column(Integer)
    score: Mapped[float] = mapped_column(Float)
    reasons: Mapped[str] = mapped_column(String(300))  # reason codes, comma-separated
    state: Mapped[str] = mapped_column(String(12), default="open")
    found_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decided_by: Mapped[int | None] = mapped_column(BigInteger)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ErasureRequest(Base):
    """A liaison's request to erase one case's personal data; an admin approves it.

    state: pending | approved | declined. The reason is shown on the erased case.
    """

    __tablename__ = "erasure_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("tracing_requests.id", ondelete="CASCADE"), index=True
    )
    requested_by: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(EncryptedText())
    state: Mapped[str] = mapped_column(String(12), default="pending")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decided_by: Mapped[int | None] = mapped_column(BigInteger)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class DataKeyCheck(Base):
    """One row per data key that sealed fields here: a known text sealed with it, so that
    a wrong DATA_KEY stops the bot at start-up instead of failing on the first read."""

    __tablename__ = "data_keys"

    key_id: Mapped[str] = mapped_column(String(8), primary_key=True)
    check: Mapped[str] = mapped_column(Text)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Set by `keys rotate` once nothing sealed with this key is left.
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
