"""Telegram's limits shared by several bot instances, in Redis.

Each instance's pacer (bot.pacer) orders its own messages by priority and keeps its own
per-chat pace; with `REDIS_URL` set, a message must also get a slot here before it goes,
so that the instances together stay under `BROADCAST_RATE` and one message a second in a
chat. Each check is one Lua script, atomic in Redis, on Redis's own clock (every instance
reads the same time):

- the global window: a sorted set of slots scored by when they expire. A slot taken at
  the start of a request counts until a second after its answer (`finish`); a slot whose
  instance died expires by itself after `HOLD_MS`;
- a chat's last message sent on the bot's own (case messages, broadcasts): a key that
  lives until `interval` after its answer; replies wait for it, as in the local pacer;
- a chat's burst: a sorted set per chat of its messages, each counting until
  `chat_burst` intervals after its answer, so that replies from several instances to one
  quick person stay within the burst Telegram tolerates;
- a reply that waits for its chat's turn marks the chat (a key that lapses within a second
  and a quarter), and the bot's own messages to that chat wait while it is there, so that
  the reply goes before them whichever instance sends what;
- a pause for everyone after a 429.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from redis.exceptions import RedisError

from bot.pacer import CHAT_BURST

WINDOW_MS = 1000
HOLD_MS = 30_000  # a slot whose request never finished (its instance died) expires

_ACQUIRE = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000 + math.floor(tonumber(now_parts[2]) / 1000)
local window, chat, pause, recent, wants = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local rate, count, member = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local pushed, hold, burst = ARGV[4] == '1', tonumber(ARGV[5]), tonumber(ARGV[6])
local paused = redis.call('PTTL', pause)
if paused > 0 then return paused end
if chat ~= '' then
  if pushed then
    local wanted = redis.call('PTTL', wants)
    if wanted > 0 then return -math.min(wanted, 250) end
  end
  local chat_wait = 0
  local owner = redis.call('GET', chat)
  if owner and owner ~= member then
    chat_wait = math.max(0, redis.call('PTTL', chat))
  end
  if chat_wait == 0 then
    redis.call('ZREMRANGEBYSCORE', recent, '-inf', now)
    local sent = redis.call('ZCARD', recent)
    if sent > 0 and sent + count > burst then
      local first = redis.call('ZRANGE', recent, 0, 0, 'WITHSCORES')
      chat_wait = math.max(1, math.min(tonumber(first[2]) - now, 1000))
    end
  end
  if chat_wait > 0 then
    -- A reply someone waits for: the bot's own messages to the chat let it go first.
    if not pushed then redis.call('SET', wants, member, 'PX', math.min(chat_wait, 1000) + 250) end
    return -chat_wait
  end
end
redis.call('ZREMRANGEBYSCORE', window, '-inf', now)
local used = redis.call('ZCARD', window)
if used > 0 and used + count > rate then
  local first = redis.call('ZRANGE', window, 0, 0, 'WITHSCORES')
  return math.max(1, math.min(tonumber(first[2]) - now, 1000))
end
for i = 1, count do
  redis.call('ZADD', window, now + hold, member .. ':' .. i)
  if chat ~= '' then redis.call('ZADD', recent, now + hold, member .. ':' .. i) end
end
redis.call('PEXPIRE', window, hold + 1000)
if chat ~= '' then redis.call('PEXPIRE', recent, hold + 1000) end
if pushed and chat ~= '' then
  redis.call('SET', chat, member, 'PX', hold)
end
if chat ~= '' and not pushed and redis.call('GET', wants) == member then
  redis.call('DEL', wants)
end
return 0
"""

_FINISH = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000 + math.floor(tonumber(now_parts[2]) / 1000)
local window, chat, recent = KEYS[1], KEYS[2], KEYS[3]
local count, member, window_ms, interval = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local burst_ms = tonumber(ARGV[5])
for i = 1, count do
  redis.call('ZADD', window, 'XX', now + window_ms, member .. ':' .. i)
  if chat ~= '' then redis.call('ZADD', recent, 'XX', now + burst_ms, member .. ':' .. i) end
end
if chat ~= '' and redis.call('PTTL', recent) < burst_ms then
  redis.call('PEXPIRE', recent, burst_ms)
end
if chat ~= '' and redis.call('GET', chat) == member then
  redis.call('SET', chat, member, 'PX', interval)
end
return 0
"""


class SharedLimits:
    """The instances' common global rate, chat pace and 429 pause."""

    # What an unreachable Redis raises: the pacer then keeps to its own limits.
    errors: tuple[type[BaseException], ...] = (RedisError, OSError)

    def __init__(
        self,
        redis: Any,
        rate: int,
        *,
        chat_burst: int = CHAT_BURST,
        prefix: str = "homeward:limits",
    ) -> None:
        self.redis = redis
        self.rate = rate
        self.chat_burst = chat_burst
        self._prefix = prefix
        self._window = f"{prefix}:window"
        self._pause = f"{prefix}:pause"
        self._acquire = redis.register_script(_ACQUIRE)
        # One waiter of this instance asks Redis for a slot of the window at a time: when a
        # slot frees, a few instances ask for it, not every waiting message of each.
        self._asking = asyncio.Lock()
        self._finish = redis.register_script(_FINISH)

    def _chat_keys(self, chat_id: int | None, *kinds: str) -> list[str]:
        """A chat's keys of these kinds (its pushed owner, burst, waiting reply); the
        scripts read "" as no chat."""
        return [("" if chat_id is None else f"{self._prefix}:{kind}:{chat_id}") for kind in kinds]

    async def acquire(self, chat_id: int | None, pushed: bool, count: int) -> str:
        """Wait for a slot (and the chat's turn); returns the slot's name for `finish`."""
        member = uuid.uuid4().hex
        chat, recent, wants = self._chat_keys(chat_id, "chat", "recent", "wants")
        keys = [self._window, chat, self._pause, recent, wants]
        args = [self.rate, count, member, "1" if pushed else "0", HOLD_MS, self.chat_burst]
        while True:
            async with self._asking:
                # The script answers 0 (the slot is taken), the wait in ms for the window or
                # a pause, or minus the wait for the chat's turn.
                while True:
                    wait_ms = int(await self._acquire(keys=keys, args=args))
                    if wait_ms <= 0:
                        break
                    await asyncio.sleep(min(wait_ms, 1000) / 1000)
                if wait_ms == 0:
                    return member
            # The chat's turn: waited for without holding up this instance's other messages.
            await asyncio.sleep(min(-wait_ms, 1000) / 1000)

    async def finish(
        self, member: str, chat_id: int | None, count: int, chat_interval: float
    ) -> None:
        """The answer came back: the slot counts one more window, the chat waits its pace."""
        interval_ms = int(chat_interval * 1000)
        await self._finish(
            keys=[self._window, *self._chat_keys(chat_id, "chat", "recent")],
            args=[count, member, WINDOW_MS, interval_ms, interval_ms * self.chat_burst],
        )

    async def pause(self, seconds: float) -> None:
        """Telegram answered 429: every instance waits."""
        await self.redis.set(self._pause, "1", px=max(1, int(seconds * 1000)))
