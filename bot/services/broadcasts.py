"""General notices to many families: compose, preview, approve, then send, pause, cancel.

A liaison composes a notice in up to three language versions, with an optional photo,
for an audience (all families, or those of one language, one request status, with or
without an open request). The preview counts exactly who would get which version and
who is left out (opted out with /notices off, or unreachable because they blocked the
bot). Approval follows the rule for case messages: in four-eyes mode a second liaison
approves. Approving fixes the recipients (one row each) and starts the sending
(bot.broadcasts); from then on each recipient's delivery state is persisted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from bot import SUPPORTED_LOCALES
from bot.domain.review import ReviewMode, may_approve
from bot.domain.roles import Role
from bot.domain.states import (
    BROADCASTS,
    DELIVERED_BROADCAST,
    EDITABLE_BROADCAST,
    BroadcastState,
)
from bot.domain.statuses import RequestStatus
from bot.services.access import require_role
from bot.services.refusal import Attempt, NotFound, Refused, TooLong
from bot.services.uow import Tx, UnitOfWork
from storage.models import Broadcast, utcnow

log = logging.getLogger(__name__)

MAX_TEXT = 3500  # leaves room for the frame within Telegram's 4096
MAX_CAPTION_TEXT = 850  # with a photo, the whole message is a caption (1024)
AUDIENCES = ("all", "language", "status", "open", "no_open")


@dataclass(frozen=True)
class VersionCount:
    version: str
    families: int
    by_fallback: int  # of them, families whose own language has no version


@dataclass(frozen=True)
class Preview:
    recipients: int
    versions: tuple[VersionCount, ...]
    opted_out: int
    unreachable: int


@dataclass(frozen=True)
class BroadcastView:
    id: int
    author_id: int
    state: str
    texts: dict[str, str]
    photo: str | None
    audience: str
    audience_value: str | None
    fallback: tuple[str, ...]
    created_at: datetime
    decided_by: int | None
    finished_at: datetime | None
    opted_out: int
    unreachable: int
    progress_chat_id: int | None
    progress_message_id: int | None
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def count(self, *states: str) -> int:
        return sum(self.counts.get(state, 0) for state in states)


def texts_of(broadcast: Broadcast) -> dict[str, str]:
    texts = {
        "uk": broadcast.text_uk,
        "ru": broadcast.text_ru,
        "en": broadcast.text_en,
    }
    return {locale: text for locale, text in texts.items() if text}


def _view(tx: Tx, broadcast: Broadcast, *, with_counts: bool = False) -> BroadcastView:
    return BroadcastView(
        broadcast.id,
        broadcast.author_id,
        broadcast.state,
        texts_of(broadcast),
        broadcast.photo_file_id,
        broadcast.audience,
        broadcast.audience_value,
        tuple(broadcast.fallback.split(",")),
        broadcast.created_at,
        broadcast.decided_by,
        broadcast.finished_at,
        broadcast.opted_out,
        broadcast.unreachable,
        broadcast.progress_chat_id,
        broadcast.progress_message_id,
        tx.broadcasts.counts(broadcast.id) if with_counts else {},
    )


def choose_version(language: str, available: set[str], fallback: tuple[str, ...]) -> str | None:
    """The family's own language if there is a version in it, else the first in `fallback`."""
    if language in available:
        return language
    for candidate in (*fallback, *SUPPORTED_LOCALES):
        if candidate in available:
            return candidate
    return None


def _audience_split(
    tx: Tx, broadcast: Broadcast, default_locale: str
) -> tuple[list[tuple[int, str]], Preview]:
    available = set(texts_of(broadcast))
    fallback = tuple(broadcast.fallback.split(","))
    recipients: list[tuple[int, str]] = []
    per_version: dict[str, list[int]] = {}
    opted_out = unreachable = 0
    for family_id, language, notices_on, blocked in tx.broadcasts.audience(
        broadcast.audience, broadcast.audience_value, default_locale
    ):
        if not notices_on:
            opted_out += 1
            continue
        if blocked:
            unreachable += 1
            continue
        version = choose_version(language, available, fallback)
        if version is None:
            continue
        recipients.append((family_id, version))
        counts = per_version.setdefault(version, [0, 0])
        counts[0] += 1
        counts[1] += version != language
    versions = tuple(
        VersionCount(locale, *per_version[locale])
        for locale in SUPPORTED_LOCALES
        if locale in per_version
    )
    return recipients, Preview(len(recipients), versions, opted_out, unreachable)


def _require_liaison(
    tx: Tx, actor_id: int, admin_ids: frozenset[int], action: str, broadcast_id: int | None = None
) -> None:
    target = f"broadcast:{broadcast_id}" if broadcast_id is not None else None
    require_role(tx, actor_id, admin_ids, Role.LIAISON, f"broadcast:{action}", target)


def _attempt(actor_id: int, action: str, broadcast: Broadcast) -> Attempt:
    return Attempt(actor_id, f"broadcast:{action}", f"broadcast:{broadcast.id}")


def _load(tx: Tx, broadcast_id: int, *, for_update: bool = False) -> Broadcast:
    broadcast = tx.broadcasts.get(broadcast_id, for_update=for_update)
    if broadcast is None or broadcast.state == BroadcastState.DISCARDED:
        raise NotFound("no_broadcast")
    return broadcast


def _own_composing(tx: Tx, actor_id: int, broadcast_id: int) -> Broadcast:
    broadcast = _load(tx, broadcast_id)
    if broadcast.author_id != actor_id:
        raise Refused("not_author")
    if broadcast.state != BroadcastState.COMPOSING:
        raise Refused("not_composing")
    return broadcast


# ---- composing --------------------------------------------------------------------------


def _composing_of(
    tx: Tx, actor_id: int, admin_ids: frozenset[int], fallback: tuple[str, ...]
) -> Broadcast:
    _require_liaison(tx, actor_id, admin_ids, "compose")
    broadcast = tx.broadcasts.composing_by(actor_id)
    if broadcast is None:
        broadcast = Broadcast(
            author_id=actor_id,
            state=BroadcastState.COMPOSING,
            audience="all",
            fallback=",".join(fallback),
            created_at=utcnow(),
            opted_out=0,
            unreachable=0,
        )
        tx.broadcasts.add(broadcast)
        tx.session.flush()
        tx.audit.record(actor_id, "broadcast:compose", f"broadcast:{broadcast.id}")
    return broadcast


async def _change_composing(
    uow: UnitOfWork,
    actor_id: int,
    admin_ids: frozenset[int],
    fallback: tuple[str, ...],
    change: Callable[[Broadcast], None],
) -> BroadcastView:
    """Apply `change` to the actor's notice in progress (a new one if there is none)."""

    def work(tx: Tx) -> BroadcastView:
        broadcast = _composing_of(tx, actor_id, admin_ids, fallback)
        change(broadcast)
        return _view(tx, broadcast)

    return await uow.run(work)


async def compose(
    uow: UnitOfWork, actor_id: int, admin_ids: frozenset[int], fallback: tuple[str, ...]
) -> BroadcastView:
    """The actor's notice in progress, or a new empty one."""
    return await _change_composing(uow, actor_id, admin_ids, fallback, lambda _broadcast: None)


async def set_text(
    uow: UnitOfWork,
    actor_id: int,
    admin_ids: frozenset[int],
    fallback: tuple[str, ...],
    locale: str,
    text: str | None,
) -> BroadcastView:
    """Set (or with None, remove) the version in `locale` of the actor's notice."""
    if locale not in SUPPORTED_LOCALES:
        raise ValueError(locale)

    def change(broadcast: Broadcast) -> None:
        limit = MAX_CAPTION_TEXT if broadcast.photo_file_id else MAX_TEXT
        if text is not None and len(text) > limit:
            raise TooLong(len(text), limit)
        setattr(broadcast, f"text_{locale}", text)

    return await _change_composing(uow, actor_id, admin_ids, fallback, change)


async def set_photo(
    uow: UnitOfWork,
    actor_id: int,
    admin_ids: frozenset[int],
    fallback: tuple[str, ...],
    photo_file_id: str | None,
) -> BroadcastView:
    def change(broadcast: Broadcast) -> None:
        if photo_file_id and any(len(t) > MAX_CAPTION_TEXT for t in texts_of(broadcast).values()):
            raise Refused("too_long_for_photo", limit=MAX_CAPTION_TEXT)
        broadcast.photo_file_id = photo_file_id

    return await _change_composing(uow, actor_id, admin_ids, fallback, change)


async def set_audience(
    uow: UnitOfWork,
    actor_id: int,
    admin_ids: frozenset[int],
    broadcast_id: int,
    kind: str,
    value: str | None,
) -> BroadcastView:
    if kind not in AUDIENCES:
        raise Refused("bad_audience")
    if kind == "language" and value not in SUPPORTED_LOCALES:
        raise Refused("bad_audience")
    if kind == "status" and value not in {status.value for status in RequestStatus}:
        raise Refused("bad_audience")

    def work(tx: Tx) -> BroadcastView:
        _require_liaison(tx, actor_id, admin_ids, "audience", broadcast_id)
        broadcast = _own_composing(tx, actor_id, broadcast_id)
        broadcast.audience = kind
        broadcast.audience_value = value if kind in {"language", "status"} else None
        return _view(tx, broadcast)

    return await uow.run(work)


async def preview(
    uow: UnitOfWork,
    actor_id: int,
    admin_ids: frozenset[int],
    broadcast_id: int,
    default_locale: str,
) -> tuple[BroadcastView, Preview]:
    """Exactly who would get the notice now, and who would not."""

    def work(tx: Tx) -> tuple[BroadcastView, Preview]:
        _require_liaison(tx, actor_id, admin_ids, "open", broadcast_id)
        broadcast = _load(tx, broadcast_id)
        _recipients, summary = _audience_split(tx, broadcast, default_locale)
        return _view(tx, broadcast), summary

    return await uow.run(work)


async def card(
    uow: UnitOfWork,
    actor_id: int,
    admin_ids: frozenset[int],
    broadcast_id: int,
    default_locale: str,
) -> tuple[BroadcastView, Preview | None]:
    """What a liaison's card shows: before approval the preview, after it the counts."""

    def work(tx: Tx) -> tuple[BroadcastView, Preview | None]:
        _require_liaison(tx, actor_id, admin_ids, "open", broadcast_id)
        broadcast = _load(tx, broadcast_id)
        if broadcast.state in EDITABLE_BROADCAST:
            return _view(tx, broadcast), _audience_split(tx, broadcast, default_locale)[1]
        return _view(tx, broadcast, with_counts=True), None

    return await uow.run(work)


async def discard(
    uow: UnitOfWork, actor_id: int, admin_ids: frozenset[int], broadcast_id: int
) -> None:
    def work(tx: Tx) -> None:
        _require_liaison(tx, actor_id, admin_ids, "discard", broadcast_id)
        broadcast = _load(tx, broadcast_id)
        if broadcast.author_id != actor_id:
            raise Refused("not_author")
        if broadcast.state not in EDITABLE_BROADCAST:
            raise Refused("not_composing")
        broadcast.state = BROADCASTS.move(broadcast.state, BroadcastState.DISCARDED)
        tx.audit.record(actor_id, "broadcast:discard", f"broadcast:{broadcast.id}")

    await uow.run(work)


async def submit(
    uow: UnitOfWork,
    actor_id: int,
    admin_ids: frozenset[int],
    broadcast_id: int,
    staff_targets: tuple[int, ...] | None = None,
) -> BroadcastView:
    """Hand the notice over for approval; the team is told (without its text): in
    `staff_targets` (the liaison group), or else each liaison and admin but the author."""

    def work(tx: Tx) -> BroadcastView:
        _require_liaison(tx, actor_id, admin_ids, "submit", broadcast_id)
        broadcast = _own_composing(tx, actor_id, broadcast_id)
        if not texts_of(broadcast):
            raise Refused("empty")
        broadcast.state = BROADCASTS.move(broadcast.state, BroadcastState.AWAITING_APPROVAL)
        broadcast.submitted_at = utcnow()
        tx.audit.record(actor_id, "broadcast:submit", f"broadcast:{broadcast.id}")
        if staff_targets is None:
            members = {m.user_id for m in tx.liaisons.active()} | set(admin_ids)
            targets: tuple[int, ...] = tuple(sorted(members - {actor_id}))
        else:
            targets = staff_targets
        for chat_id in targets:
            tx.outbox.enqueue(None, chat_id, "staff_broadcast", {"broadcast_id": broadcast.id})
        return _view(tx, broadcast)

    return await uow.run(work)


# ---- approval ---------------------------------------------------------------------------


async def approve(
    uow: UnitOfWork,
    actor_id: int,
    admin_ids: frozenset[int],
    broadcast_id: int,
    mode: ReviewMode,
    default_locale: str,
    progress_chat_id: int,
) -> BroadcastView:
    """Approve and start sending: the recipients are fixed now, one row each."""

    def work(tx: Tx) -> tuple[BroadcastView, int]:
        _require_liaison(tx, actor_id, admin_ids, "approve", broadcast_id)
        broadcast = _load(tx, broadcast_id, for_update=True)
        target = f"broadcast:{broadcast.id}"
        if broadcast.state != BroadcastState.AWAITING_APPROVAL:
            raise Refused("not_awaiting", audit=_attempt(actor_id, "approve", broadcast))
        if not may_approve(mode, broadcast.author_id, actor_id):
            raise Refused("own_broadcast", audit=_attempt(actor_id, "approve", broadcast))
        recipients, summary = _audience_split(tx, broadcast, default_locale)
        broadcast.state = BROADCASTS.move(broadcast.state, BroadcastState.SENDING)
        broadcast.decided_by, broadcast.decided_at = actor_id, utcnow()
        broadcast.opted_out, broadcast.unreachable = summary.opted_out, summary.unreachable
        broadcast.progress_chat_id = progress_chat_id
        tx.broadcasts.add_recipients(broadcast.id, recipients)
        if not recipients:
            broadcast.state = BROADCASTS.move(broadcast.state, BroadcastState.DONE)
            broadcast.finished_at = utcnow()
        tx.audit.record(actor_id, "broadcast:approve", target)
        return _view(tx, broadcast, with_counts=True), summary.recipients

    view, recipients = await uow.run(work)
    log.info("broadcast %s approved by %s: %d recipients", view.id, actor_id, recipients)
    return view


async def decline(
    uow: UnitOfWork, actor_id: int, admin_ids: frozenset[int], broadcast_id: int
) -> BroadcastView:
    def work(tx: Tx) -> BroadcastView:
        _require_liaison(tx, actor_id, admin_ids, "decline", broadcast_id)
        broadcast = _load(tx, broadcast_id, for_update=True)
        if broadcast.state != BroadcastState.AWAITING_APPROVAL:
            raise Refused("not_awaiting", audit=_attempt(actor_id, "decline", broadcast))
        broadcast.state = BROADCASTS.move(broadcast.state, BroadcastState.DECLINED)
        broadcast.decided_by, broadcast.decided_at = actor_id, utcnow()
        tx.audit.record(actor_id, "broadcast:decline", f"broadcast:{broadcast.id}")
        return _view(tx, broadcast)

    return await uow.run(work)


# ---- control while sending ----------------------------------------------------------------

_CONTROL = {
    # action: the state it leads to; the lifecycle says from where
    "pause": BroadcastState.PAUSED,
    "resume": BroadcastState.SENDING,
    "cancel": BroadcastState.CANCELLED,
}


async def control(
    uow: UnitOfWork, actor_id: int, admin_ids: frozenset[int], broadcast_id: int, action: str
) -> BroadcastView:
    """Pause, resume or cancel a running broadcast. Cancelling keeps what was sent."""
    new_state = _CONTROL[action]

    def work(tx: Tx) -> BroadcastView:
        _require_liaison(tx, actor_id, admin_ids, action, broadcast_id)
        broadcast = _load(tx, broadcast_id, for_update=True)
        if not BROADCASTS.can(broadcast.state, new_state):
            reason = "not_paused" if action == "resume" else "not_running"
            raise Refused(reason, audit=_attempt(actor_id, action, broadcast))
        broadcast.state = new_state
        if new_state is BroadcastState.CANCELLED:
            tx.broadcasts.cancel_pending(broadcast.id)
            broadcast.finished_at = utcnow()
        tx.audit.record(actor_id, f"broadcast:{action}", f"broadcast:{broadcast.id}")
        return _view(tx, broadcast, with_counts=True)

    return await uow.run(work)


async def get(uow: UnitOfWork, broadcast_id: int) -> BroadcastView:
    """For the bot itself (the sender); people see a notice through `card`."""
    return await uow.run(lambda tx: _view(tx, _load(tx, broadcast_id), with_counts=True))


async def recent(
    uow: UnitOfWork, actor_id: int, admin_ids: frozenset[int], limit: int = 10
) -> list[BroadcastView]:
    def work(tx: Tx) -> list[BroadcastView]:
        _require_liaison(tx, actor_id, admin_ids, "list")
        return [
            _view(tx, b, with_counts=b.state in DELIVERED_BROADCAST)
            for b in tx.broadcasts.recent(limit)
        ]

    return await uow.run(work)


async def set_progress_message(
    uow: UnitOfWork, broadcast_id: int, chat_id: int, message_id: int
) -> None:
    def work(tx: Tx) -> None:
        broadcast = tx.broadcasts.get(broadcast_id)
        if broadcast is not None:
            broadcast.progress_chat_id, broadcast.progress_message_id = chat_id, message_id

    await uow.run(work)
