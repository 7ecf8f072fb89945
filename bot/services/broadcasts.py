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
from bot.domain.statuses import RequestStatus
from bot.services.access import Role, role_in
from bot.services.drafts import ReviewMode
from bot.services.refusal import Refused
from bot.services.uow import Tx, UnitOfWork
from storage.models import Broadcast, utcnow

log = logging.getLogger(__name__)

MAX_TEXT = 3500  # leaves room for the frame within Telegram's 4096
MAX_CAPTION_TEXT = 850  # with a photo, the whole message is a caption (1024)
AUDIENCES = ("all", "language", "status", "open", "no_open")
RUNNING = ("sending", "paused")
FINISHED = ("done", "cancelled", "declined", "discarded")


class BroadcastRefused(Refused):
    """Why a broadcast action was refused."""


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


def _require_liaison(tx: Tx, actor_id: int, admin_ids: frozenset[int], action: str) -> None:
    if role_in(tx, actor_id, admin_ids) < Role.LIAISON:
        tx.audit.record(actor_id, action, None, allowed=False)
        raise BroadcastRefused("not_liaison")


def _load(tx: Tx, broadcast_id: int, *, for_update: bool = False) -> Broadcast:
    broadcast = tx.broadcasts.get(broadcast_id, for_update=for_update)
    if broadcast is None or broadcast.state == "discarded":
        raise BroadcastRefused("no_broadcast")
    return broadcast


def _own_composing(tx: Tx, actor_id: int, broadcast_id: int) -> Broadcast:
    broadcast = _load(tx, broadcast_id)
    if broadcast.author_id != actor_id:
        raise BroadcastRefused("not_author")
    if broadcast.state != "composing":
        raise BroadcastRefused("not_composing")
    return broadcast


# ---- composing --------------------------------------------------------------------------


def _composing_of(
    tx: Tx, actor_id: int, admin_ids: frozenset[int], fallback: tuple[str, ...]
) -> Broadcast:
    _require_liaison(tx, actor_id, admin_ids, "broadcast:compose")
    broadcast = tx.broadcasts.composing_by(actor_id)
    if broadcast is None:
        broadcast = Broadcast(
            author_id=actor_id,
            state="composing",
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
            raise BroadcastRefused("too_long")
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
            raise BroadcastRefused("too_long_for_photo")
        broadcast.photo_file_id = photo_file_id

    return await _change_composing(uow, actor_id, admin_ids, fallback, change)


async def set_audience(
    uow: UnitOfWork, actor_id: int, broadcast_id: int, kind: str, value: str | None
) -> BroadcastView:
    if kind not in AUDIENCES:
        raise BroadcastRefused("bad_audience")
    if kind == "language" and value not in SUPPORTED_LOCALES:
        raise BroadcastRefused("bad_audience")
    if kind == "status" and value not in {status.value for status in RequestStatus}:
        raise BroadcastRefused("bad_audience")

    def work(tx: Tx) -> BroadcastView:
        broadcast = _own_composing(tx, actor_id, broadcast_id)
        broadcast.audience = kind
        broadcast.audience_value = value if kind in {"language", "status"} else None
        return _view(tx, broadcast)

    return await uow.run(work)


async def preview(
    uow: UnitOfWork, broadcast_id: int, default_locale: str
) -> tuple[BroadcastView, Preview]:
    """Exactly who would get the notice now, and who would not."""

    def work(tx: Tx) -> tuple[BroadcastView, Preview]:
        broadcast = _load(tx, broadcast_id)
        _recipients, summary = _audience_split(tx, broadcast, default_locale)
        return _view(tx, broadcast), summary

    return await uow.run(work)


async def card(
    uow: UnitOfWork, broadcast_id: int, default_locale: str
) -> tuple[BroadcastView, Preview | None]:
    """What a liaison's card shows: before approval the preview, after it the counts."""

    def work(tx: Tx) -> tuple[BroadcastView, Preview | None]:
        broadcast = _load(tx, broadcast_id)
        if broadcast.state in ("composing", "awaiting_approval"):
            return _view(tx, broadcast), _audience_split(tx, broadcast, default_locale)[1]
        return _view(tx, broadcast, with_counts=True), None

    return await uow.run(work)


async def discard(uow: UnitOfWork, actor_id: int, broadcast_id: int) -> None:
    def work(tx: Tx) -> None:
        broadcast = _load(tx, broadcast_id)
        if broadcast.author_id != actor_id:
            raise BroadcastRefused("not_author")
        if broadcast.state not in {"composing", "awaiting_approval"}:
            raise BroadcastRefused("not_composing")
        broadcast.state = "discarded"
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
        _require_liaison(tx, actor_id, admin_ids, "broadcast:submit")
        broadcast = _own_composing(tx, actor_id, broadcast_id)
        if not texts_of(broadcast):
            raise BroadcastRefused("empty")
        broadcast.state, broadcast.submitted_at = "awaiting_approval", utcnow()
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
        _require_liaison(tx, actor_id, admin_ids, "broadcast:approve")
        broadcast = _load(tx, broadcast_id, for_update=True)
        target = f"broadcast:{broadcast.id}"
        if broadcast.state != "awaiting_approval":
            tx.audit.record(actor_id, "broadcast:approve", target, allowed=False)
            raise BroadcastRefused("not_awaiting")
        if mode is ReviewMode.FOUR_EYES and broadcast.author_id == actor_id:
            tx.audit.record(actor_id, "broadcast:approve", target, allowed=False)
            raise BroadcastRefused("own_broadcast")
        recipients, summary = _audience_split(tx, broadcast, default_locale)
        broadcast.state = "sending"
        broadcast.decided_by, broadcast.decided_at = actor_id, utcnow()
        broadcast.opted_out, broadcast.unreachable = summary.opted_out, summary.unreachable
        broadcast.progress_chat_id = progress_chat_id
        tx.broadcasts.add_recipients(broadcast.id, recipients)
        if not recipients:
            broadcast.state, broadcast.finished_at = "done", utcnow()
        tx.audit.record(actor_id, "broadcast:approve", target)
        return _view(tx, broadcast, with_counts=True), summary.recipients

    view, recipients = await uow.run(work)
    log.info("broadcast %s approved by %s: %d recipients", view.id, actor_id, recipients)
    return view


async def decline(
    uow: UnitOfWork, actor_id: int, admin_ids: frozenset[int], broadcast_id: int
) -> BroadcastView:
    def work(tx: Tx) -> BroadcastView:
        _require_liaison(tx, actor_id, admin_ids, "broadcast:decline")
        broadcast = _load(tx, broadcast_id, for_update=True)
        if broadcast.state != "awaiting_approval":
            tx.audit.record(
                actor_id, "broadcast:decline", f"broadcast:{broadcast.id}", allowed=False
            )
            raise BroadcastRefused("not_awaiting")
        broadcast.state = "declined"
        broadcast.decided_by, broadcast.decided_at = actor_id, utcnow()
        tx.audit.record(actor_id, "broadcast:decline", f"broadcast:{broadcast.id}")
        return _view(tx, broadcast)

    return await uow.run(work)


# ---- control while sending ----------------------------------------------------------------

_CONTROL = {
    # action: (states it applies to, the state it leads to)
    "pause": (("sending",), "paused"),
    "resume": (("paused",), "sending"),
    "cancel": (RUNNING, "cancelled"),
}


async def control(
    uow: UnitOfWork, actor_id: int, admin_ids: frozenset[int], broadcast_id: int, action: str
) -> BroadcastView:
    """Pause, resume or cancel a running broadcast. Cancelling keeps what was sent."""
    allowed_from, new_state = _CONTROL[action]

    def work(tx: Tx) -> BroadcastView:
        _require_liaison(tx, actor_id, admin_ids, f"broadcast:{action}")
        broadcast = _load(tx, broadcast_id, for_update=True)
        target = f"broadcast:{broadcast.id}"
        if broadcast.state not in allowed_from:
            tx.audit.record(actor_id, f"broadcast:{action}", target, allowed=False)
            raise BroadcastRefused("not_running" if action != "resume" else "not_paused")
        broadcast.state = new_state
        if action == "cancel":
            tx.broadcasts.cancel_pending(broadcast.id)
            broadcast.finished_at = utcnow()
        tx.audit.record(actor_id, f"broadcast:{action}", target)
        return _view(tx, broadcast, with_counts=True)

    return await uow.run(work)


async def get(uow: UnitOfWork, broadcast_id: int) -> BroadcastView:
    return await uow.run(lambda tx: _view(tx, _load(tx, broadcast_id), with_counts=True))


async def recent(uow: UnitOfWork, limit: int = 10) -> list[BroadcastView]:
    def work(tx: Tx) -> list[BroadcastView]:
        return [
            _view(tx, b, with_counts=b.state in (*RUNNING, "done", "cancelled"))
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
