"""One pacer for every message the bot sends: replies, case messages and broadcasts.

Telegram allows about 30 messages a second over all chats and about one a second in one
chat, and answers 429 (with a wait) to a bot that goes faster. The pacer sits in the bot
session's request middleware, so nothing can bypass it, and it keeps:

- a global limit: at most `rate` messages in any one second. A message holds its slot
  from the moment its request starts until one second after the answer came back, so
  Telegram, which counts it somewhere between the two, never sees more than `rate` in
  a second, however the network delays them;
- a per-chat limit: one message a second in one chat, counted the same way, for the
  messages the bot sends on its own (case messages, broadcasts). A reply to what a person
  just wrote waits only for those, and for a short burst to pass: the person sets the pace
  of replies, Telegram tolerates short bursts in a chat, and holding every reply for a
  second would make the bot feel broken. So any message, reply or not, also keeps to at
  most `chat_burst` (3, setting CHAT_BURST) in any `chat_burst` seconds in one chat: three quick
  answers go at once, a fourth within the same three seconds waits (someone tapping
  through buttons faster than one a second);
- priority: replies first, then case messages, then broadcasts; in one chat too, a reply
  someone is waiting for goes before the next message the bot sends there on its own (a
  liaison's chat receiving forty notices about new requests still answers their command);
- a pause for everyone when Telegram answers 429 anyway, for as long as it asks.

Groups (negative chat ids, such as the liaisons' group) get one message every three seconds.

Edits, button answers and other calls are not messages and pass straight through.

The pacer reads the time and waits through a `Clock`: the monotonic clock in production, a
virtual one in the tests, which then check exact times in milliseconds instead of sleeping.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextvars import ContextVar
from enum import IntEnum
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from aiogram import Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods import SendMediaGroup, TelegramMethod
from aiogram.methods.base import Response, TelegramType

if TYPE_CHECKING:
    from bot.limits import SharedLimits

log = logging.getLogger(__name__)
T = TypeVar("T")

WINDOW = 1.0  # seconds over which both limits are counted
CHAT_INTERVAL = 1.0
CHAT_BURST = 3  # messages in one chat in any CHAT_BURST × its interval seconds
FORGET_AT = 50_000  # chats remembered before the quiet ones are forgotten
GROUP_INTERVAL = 3.0  # Telegram allows a bot about 20 messages a minute in one group

# Bot API methods that create messages (what Telegram's limits count).
MESSAGE_METHODS = frozenset(
    "SendMessage SendPhoto SendMediaGroup SendDocument SendVoice SendSticker SendVideo "
    "SendAnimation SendAudio SendLocation SendContact SendVenue SendPoll SendDice "
    "SendVideoNote ForwardMessage CopyMessage ForwardMessages CopyMessages".split()
)


class Priority(IntEnum):
    """Lower goes first."""

    REPLY = 0
    CASE = 1
    BROADCAST = 2


_traffic: ContextVar[Priority] = ContextVar("homeward_traffic", default=Priority.REPLY)
_abort: ContextVar[Callable[[], bool] | None] = ContextVar("homeward_abort", default=None)


class SendAborted(Exception):
    """The sender withdrew the message while it waited for its turn: nothing was sent."""


@contextlib.contextmanager
def traffic(priority: Priority, abort: Callable[[], bool] | None = None) -> Iterator[None]:
    """Mark the messages sent inside this block (in this task) as `priority` traffic.

    `abort` is asked when a message's turn comes, before anything goes out: a paused or
    cancelled broadcast must not send what was already waiting in line.
    """
    token = _traffic.set(priority)
    abort_token = _abort.set(abort)
    try:
        yield
    finally:
        _abort.reset(abort_token)
        _traffic.reset(token)


def current_traffic() -> Priority:
    return _traffic.get()


class Clock(Protocol):
    """Where the pacer reads the time and waits."""

    def now(self) -> float:
        """Seconds on a clock that never goes back (from any origin)."""
        ...

    async def sleep(self, seconds: float) -> None: ...

    async def wait(self, event: asyncio.Event, seconds: float | None) -> None:
        """Until `event` is set or `seconds` have passed (None: no time limit)."""
        ...


class MonotonicClock:
    """The real clock: time.monotonic and asyncio's sleeps."""

    def now(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    async def wait(self, event: asyncio.Event, seconds: float | None) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), seconds)


MONOTONIC = MonotonicClock()


class Pacer:
    def __init__(
        self,
        rate: int,
        *,
        chat_interval: float = CHAT_INTERVAL,
        chat_burst: int = CHAT_BURST,
        clock: Clock = MONOTONIC,
        shared: SharedLimits | None = None,
    ) -> None:
        if rate < 1:
            raise ValueError("rate must be at least 1 message a second")
        self.rate = rate
        # Several instances: their common limits in Redis, checked after this one's.
        self.shared = shared
        self._shared_failed_at = -60.0
        self.chat_interval = chat_interval
        self.chat_burst = chat_burst
        self.clock = clock
        self._in_flight = 0
        self._recent: deque[float] = deque()  # when finished messages' answers came back
        self._paused_until = 0.0
        self._waiting: list[tuple[int, int, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._changed = asyncio.Event()
        self._pump: asyncio.Task[None] | None = None
        # Per chat: sends under way, and when the last one came back; the same for the
        # messages the bot sent on its own, which replies wait for.
        self._chat_busy: dict[int, int] = {}
        self._chat_last: dict[int, float] = {}
        self._chat_pushing: dict[int, int] = {}
        self._chat_pushed: dict[int, float] = {}
        # Per chat: when the last few messages' answers came back (the burst window).
        self._chat_recent: dict[int, list[float]] = {}
        # Per chat: replies waiting for their turn; the bot's own messages let them go first.
        self._replies_waiting: dict[int, int] = {}
        self._forget_at = FORGET_AT
        self._chat_locks: dict[int, asyncio.Lock] = {}
        self._background: set[asyncio.Task[Any]] = set()

    # ---- the global limit -------------------------------------------------------------

    def _expire(self, now: float) -> None:
        recent = self._recent
        while recent and recent[0] <= now - WINDOW:
            recent.popleft()

    def _fits(self, count: int, now: float) -> bool:
        if now < self._paused_until:
            return False
        self._expire(now)
        used = self._in_flight + len(self._recent)
        # A media group larger than the rate still goes, alone.
        return used + count <= self.rate or used == 0

    async def _acquire_global(self, count: int, priority: Priority) -> None:
        now = self.clock.now()
        if not self._waiting and self._fits(count, now):
            self._in_flight += count
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiting, (int(priority), next(self._order), count, future))
        self._kick()
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self._release_global(count, self.clock.now())  # granted just as we left
            raise

    def _kick(self) -> None:
        self._changed.set()
        if self._pump is None or self._pump.done():
            self._pump = asyncio.get_running_loop().create_task(self._grant_in_order())

    async def _grant_in_order(self) -> None:
        while self._waiting:
            self._changed.clear()
            now = self.clock.now()
            _priority, _order, count, future = self._waiting[0]
            if future.done():
                heapq.heappop(self._waiting)
                continue
            if self._fits(count, now):
                heapq.heappop(self._waiting)
                self._in_flight += count
                future.set_result(None)
                continue
            if now < self._paused_until:
                timeout: float | None = self._paused_until - now
            elif self._recent:
                timeout = self._recent[0] + WINDOW - now
            else:
                timeout = None  # only a finishing message can free a slot
            await self.clock.wait(self._changed, timeout)

    def _release_global(self, count: int, now: float) -> None:
        self._in_flight -= count
        self._recent.extend([now] * count)
        if self._waiting:
            self._kick()

    def pause(self, seconds: float) -> None:
        """Telegram said 429: nobody sends for `seconds` (no instance, when shared)."""
        until = self.clock.now() + seconds
        self._paused_until = max(self._paused_until, until)
        if self._waiting:
            self._kick()
        if self.shared is not None:
            task = asyncio.get_running_loop().create_task(
                self._shared_call(self.shared.pause(seconds))
            )
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    async def _shared_call(self, call: Awaitable[T]) -> T | None:
        """Redis unreachable: this instance keeps its own limits and says so once a minute
        (a message held back for Redis would be a message lost to the family)."""
        assert self.shared is not None
        try:
            return await call
        except self.shared.errors as error:
            now = self.clock.now()
            if now - self._shared_failed_at >= 60:
                self._shared_failed_at = now
                log.warning(
                    "shared limits unreachable (%s): local limits only", type(error).__name__
                )
            return None

    # ---- the per-chat limit -----------------------------------------------------------

    async def _wait_for_chat(self, chat_id: int, reply: bool) -> None:
        """Until the chat's last message came back `chat_interval` ago and none is under way
        (for a reply: the last message the bot sent on its own), and fewer than `chat_burst`
        messages went to the chat in the last `chat_burst` intervals."""
        busy_in, last_in = (
            (self._chat_pushing, self._chat_pushed) if reply else (self._chat_busy, self._chat_last)
        )
        interval = self._interval(chat_id)
        burst, burst_window = self.chat_burst, interval * self.chat_burst
        while True:
            now = self.clock.now()
            busy = busy_in.get(chat_id, 0)
            last = last_in.get(chat_id)
            # Not "0.0 + interval": a clock may start near zero (a virtual one does).
            wait = 0.0 if last is None else last + interval - now
            recent = self._chat_recent.get(chat_id)
            if recent:
                while recent and recent[0] <= now - burst_window:
                    del recent[0]
                if recent and len(recent) + self._chat_busy.get(chat_id, 0) >= burst:
                    wait = max(wait, recent[0] + burst_window - now)
            # Someone is waiting for an answer in this chat: it goes before the next message
            # the bot sends there on its own (a liaison's chat full of notices).
            yields = not reply and self._replies_waiting.get(chat_id, 0) > 0
            if not busy and wait <= 0 and self._chat_busy.get(chat_id, 0) < burst and not yields:
                return
            await self.clock.sleep(max(wait, 0.01) if not busy and wait > 0 else 0.05)

    def _interval(self, chat_id: int | None) -> float:
        if chat_id is not None and chat_id < 0:
            return max(self.chat_interval, GROUP_INTERVAL)
        return self.chat_interval

    # ---- one message ------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def slot(
        self, chat_id: int | None, priority: Priority, count: int = 1
    ) -> AsyncIterator[None]:
        lock = None
        pushed = priority is not Priority.REPLY
        if chat_id is not None and pushed:
            # One bot-initiated message at a time per chat, in the order they asked.
            lock = self._chat_locks.setdefault(chat_id, asyncio.Lock())
            await lock.acquire()
        waiting_reply = chat_id is not None and not pushed
        if waiting_reply:
            _enter(self._replies_waiting, chat_id)  # type: ignore[arg-type]
        try:
            if chat_id is not None:
                await self._wait_for_chat(chat_id, reply=not pushed)
            await self._acquire_global(count, priority)
            abort = _abort.get()
            if abort is not None and abort():
                # Give the slot back unused: nothing went out, so nothing is counted.
                self._in_flight -= count
                if self._waiting:
                    self._kick()
                raise SendAborted()
            if chat_id is not None:
                _enter(self._chat_busy, chat_id)
                if waiting_reply:
                    waiting_reply = False
                    _forget(self._replies_waiting, chat_id)
                if pushed:
                    _enter(self._chat_pushing, chat_id)
            shared_slot = None
            try:
                if self.shared is not None:
                    shared_slot = await self._shared_call(
                        self.shared.acquire(chat_id, pushed, count)
                    )
                yield
            finally:
                if self.shared is not None and shared_slot is not None:
                    await self._shared_call(
                        self.shared.finish(shared_slot, chat_id, count, self._interval(chat_id))
                    )
                now = self.clock.now()
                self._release_global(count, now)
                if chat_id is not None:
                    _leave(self._chat_busy, self._chat_last, chat_id, now)
                    self._chat_recent.setdefault(chat_id, []).extend([now] * count)
                    if pushed:
                        _leave(self._chat_pushing, self._chat_pushed, chat_id, now)
                    if len(self._chat_recent) > self._forget_at:
                        self._forget_quiet_chats(now)
        finally:
            if waiting_reply:
                _forget(self._replies_waiting, chat_id)  # type: ignore[arg-type]
            if lock is not None:
                lock.release()
                if not lock.locked() and not getattr(lock, "_waiters", None):
                    self._chat_locks.pop(chat_id, None)  # type: ignore[arg-type]

    def _forget_quiet_chats(self, now: float) -> None:
        quiet = now - GROUP_INTERVAL * self.chat_burst
        for last in (self._chat_last, self._chat_pushed):
            for chat_id in [c for c, t in last.items() if t <= quiet]:
                del last[chat_id]
        for chat_id in [c for c, times in self._chat_recent.items() if times[-1] <= quiet]:
            del self._chat_recent[chat_id]
        # Many chats active at once: look again when they have doubled, not at every message.
        self._forget_at = max(FORGET_AT, 2 * len(self._chat_recent))


def _enter(busy: dict[int, int], chat_id: int) -> None:
    busy[chat_id] = busy.get(chat_id, 0) + 1


def _forget(counts: dict[int, int], chat_id: int) -> None:
    left = counts[chat_id] - 1
    if left:
        counts[chat_id] = left
    else:
        del counts[chat_id]


def _leave(busy: dict[int, int], last: dict[int, float], chat_id: int, now: float) -> None:
    _forget(busy, chat_id)
    last[chat_id] = now


def _message_count(method: TelegramMethod[Any]) -> int:
    if isinstance(method, SendMediaGroup):
        return max(1, len(method.media))
    return 1


def _chat_of(method: TelegramMethod[Any]) -> int | None:
    chat_id = getattr(method, "chat_id", None)
    return chat_id if isinstance(chat_id, int) else None


class PacerMiddleware(BaseRequestMiddleware):
    """Every message request waits for its slot; a 429 pauses everyone."""

    def __init__(self, pacer: Pacer) -> None:
        self.pacer = pacer

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        if type(method).__name__ not in MESSAGE_METHODS:
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as error:
                self.pacer.pause(error.retry_after)
                raise
        async with self.pacer.slot(_chat_of(method), current_traffic(), _message_count(method)):
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as error:
                self.pacer.pause(error.retry_after)
                raise
