"""The pacer: the global and per-chat limits hold, priorities order the queue, 429 pauses all.

The tests run on a virtual-time event loop: whenever every task waits, the loop's clock jumps
to its next timer instead of sleeping. The pacer reads that clock (`LoopClock`), so each test
checks exact times in seconds and takes milliseconds.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import selectors
import time
from collections.abc import Callable, Coroutine
from typing import Any, NamedTuple

import pytest

from bot.pacer import MONOTONIC, MonotonicClock, Pacer, Priority, SendAborted, traffic

# Binary fractions, so that sums of virtual times are exact and can be compared with ==.
LATENCY = 0.25  # from a request's start to its answer
GROUP = -100123


class _VirtualSelector(selectors.DefaultSelector):
    """Never blocks: where the loop would sleep until its next timer, time jumps there."""

    def __init__(self) -> None:
        super().__init__()
        self.now = 0.0

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        ready = super().select(0)
        if ready or timeout == 0:
            return ready
        if timeout is None:
            # Nothing ready and no timer: on a real loop the test would hang here.
            raise RuntimeError("deadlock: every task waits and no timer is due")
        self.now += timeout
        return []


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    def __init__(self) -> None:
        self._virtual = _VirtualSelector()
        super().__init__(self._virtual)

    def time(self) -> float:
        return self._virtual.now


def virtual_time(test: Callable[[], Coroutine[Any, Any, None]]) -> Callable[[], None]:
    """Run an async test on its own VirtualTimeLoop (a plain test to pytest-asyncio)."""

    @functools.wraps(test)
    def run() -> None:
        with asyncio.Runner(loop_factory=VirtualTimeLoop) as runner:
            runner.run(test())

    return run


class LoopClock(MonotonicClock):
    """The running loop's time; asyncio's sleeps and timeouts follow it already."""

    def now(self) -> float:
        return asyncio.get_running_loop().time()


def now() -> float:
    return asyncio.get_running_loop().time()


class Sent(NamedTuple):
    start: float  # the request went out
    end: float  # its answer came back
    chat: int | None
    priority: Priority


async def _send(
    pacer: Pacer, chat: int | None, priority: Priority, log: list[Sent], latency: float = LATENCY
) -> None:
    async with pacer.slot(chat, priority):
        started = now()
        await asyncio.sleep(latency)
        log.append(Sent(started, now(), chat, priority))


def _max_in_window(times: list[float], window: float = 1.0) -> int:
    times = sorted(times)
    best, start = 0, 0
    for end in range(len(times)):
        while times[end] - times[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


@virtual_time
async def test_never_more_than_the_rate_in_any_second() -> None:
    pacer = Pacer(20, clock=LoopClock())
    log: list[Sent] = []
    await asyncio.gather(*(_send(pacer, chat, Priority.BROADCAST, log) for chat in range(1, 51)))
    assert len(log) == 50
    # Whenever Telegram counts a message (between start and answer), no second holds > 20.
    assert _max_in_window([s.start for s in log]) == 20
    assert _max_in_window([s.end for s in log]) == 20
    # A slot is free again one second after its answer, not after its start.
    second = LATENCY + 1.0
    third = second + LATENCY + 1.0
    assert sorted(s.start for s in log) == [0.0] * 20 + [second] * 20 + [third] * 10
    assert now() == third + LATENCY


@virtual_time
async def test_one_message_a_second_in_one_chat_for_bot_initiated_traffic() -> None:
    pacer = Pacer(100, clock=LoopClock())
    log: list[Sent] = []
    await asyncio.gather(*(_send(pacer, 7, Priority.CASE, log) for _ in range(3)))
    assert [s.start for s in log] == [0.0, LATENCY + 1.0, 2 * (LATENCY + 1.0)]
    assert all(later.start == earlier.end + 1.0 for earlier, later in itertools.pairwise(log))


@virtual_time
async def test_replies_are_not_held_by_the_per_chat_limit_up_to_a_short_burst() -> None:
    pacer = Pacer(100, clock=LoopClock())
    log: list[Sent] = []
    for _ in range(5):
        await _send(pacer, 7, Priority.REPLY, log)
    # Three right after each other; then at most three in any three seconds in the chat
    # (someone tapping faster than one a second).
    first_three = [0.0, LATENCY, 2 * LATENCY]
    assert [s.start for s in log] == [*first_three, LATENCY + 3.0, 2 * LATENCY + 3.0]
    assert _max_in_window([s.start for s in log], 3.0) == 3
    assert _max_in_window([s.end for s in log], 3.0) == 3


@virtual_time
async def test_a_burst_in_one_chat_holds_no_other_chat() -> None:
    pacer = Pacer(100, clock=LoopClock())
    log: list[Sent] = []
    await asyncio.gather(
        *(_send(pacer, 7, Priority.REPLY, log) for _ in range(4)),
        _send(pacer, 8, Priority.REPLY, log),
    )
    assert [s.start for s in log if s.chat == 7] == [0.0, 0.0, 0.0, LATENCY + 3.0]
    assert [s.start for s in log if s.chat == 8] == [0.0]


@virtual_time
async def test_replies_go_before_case_messages_before_broadcasts() -> None:
    pacer = Pacer(1, clock=LoopClock())
    log: list[Sent] = []
    first = asyncio.create_task(_send(pacer, 1, Priority.BROADCAST, log))
    await asyncio.sleep(0.125)  # it holds the only slot until a second after its answer
    # Queued in the opposite order of their priorities.
    waiting = [
        asyncio.create_task(_send(pacer, 2, Priority.BROADCAST, log)),
        asyncio.create_task(_send(pacer, 3, Priority.CASE, log)),
        asyncio.create_task(_send(pacer, 4, Priority.REPLY, log)),
    ]
    await asyncio.gather(first, *waiting)
    assert [s.chat for s in log] == [1, 4, 3, 2]
    turn = LATENCY + 1.0
    assert [s.start for s in log] == [0.0, turn, 2 * turn, 3 * turn]


@virtual_time
async def test_a_429_pauses_everyone() -> None:
    pacer = Pacer(100, clock=LoopClock())
    log: list[Sent] = []
    pacer.pause(0.5)
    await asyncio.gather(
        _send(pacer, 1, Priority.REPLY, log), _send(pacer, 2, Priority.BROADCAST, log)
    )
    assert [s.start for s in log] == [0.5, 0.5]


@virtual_time
async def test_a_cancelled_waiter_gives_its_place_back() -> None:
    pacer = Pacer(1, clock=LoopClock())
    log: list[Sent] = []
    await _send(pacer, 1, Priority.BROADCAST, log)
    waiter = asyncio.create_task(_send(pacer, 2, Priority.BROADCAST, log))
    await asyncio.sleep(0.5)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    await _send(pacer, 3, Priority.BROADCAST, log)
    # The next in line takes the slot when it frees; had the cancelled one kept its place,
    # chat 3 would wait for it to go out and its slot to free too.
    assert [(s.chat, s.start) for s in log] == [(1, 0.0), (3, LATENCY + 1.0)]


@virtual_time
async def test_a_reply_waits_a_second_after_a_message_the_bot_sent_on_its_own() -> None:
    pacer = Pacer(100, clock=LoopClock())
    log: list[Sent] = []
    await _send(pacer, 7, Priority.BROADCAST, log)
    await _send(pacer, 7, Priority.REPLY, log)
    pushed, reply = log
    assert reply.start == pushed.end + 1.0 == LATENCY + 1.0


@virtual_time
async def test_a_reply_goes_before_the_rest_of_a_stream_of_case_messages_to_its_chat() -> None:
    """A liaison's chat gets forty notices about new requests, one a second; the answer to
    the command they type meanwhile goes next, not after the forty."""
    pacer = Pacer(100, clock=LoopClock())
    log: list[Sent] = []
    stream = [asyncio.create_task(_send(pacer, 7, Priority.CASE, log)) for _ in range(10)]
    await asyncio.sleep(3.0)
    asked = now()
    await _send(pacer, 7, Priority.REPLY, log)
    reply = next(s for s in log if s.priority is Priority.REPLY)
    await asyncio.gather(*stream)
    pushed_after = [s.start for s in log if s.priority is Priority.CASE and s.start > asked]
    # It waits for the message on the way and its second, then goes before the next one.
    assert reply.start <= asked + LATENCY + 1.0
    assert reply.start < min(pushed_after)
    # And the chat still never gets more than three in any three seconds.
    assert _max_in_window([s.start for s in log], 3.0) <= 3
    assert _max_in_window([s.end for s in log], 3.0) <= 3


@virtual_time
async def test_a_group_gets_one_message_every_three_seconds() -> None:
    pacer = Pacer(100, clock=LoopClock())
    log: list[Sent] = []
    await asyncio.gather(*(_send(pacer, GROUP, Priority.CASE, log) for _ in range(2)))
    first, second = log
    assert second.start == first.end + 3.0 == LATENCY + 3.0


@virtual_time
async def test_a_message_withdrawn_while_it_waited_is_not_sent_and_frees_its_slot() -> None:
    pacer = Pacer(1, clock=LoopClock())
    log: list[Sent] = []
    asked_at: list[float] = []
    withdrawn = False

    def abort() -> bool:
        asked_at.append(now())
        return withdrawn

    async def send_withdrawable() -> None:
        with traffic(Priority.BROADCAST, abort):
            await _send(pacer, 2, Priority.BROADCAST, log)

    first = asyncio.create_task(_send(pacer, 1, Priority.BROADCAST, log))
    await asyncio.sleep(0.125)
    second = asyncio.create_task(send_withdrawable())
    await asyncio.sleep(0.5)
    withdrawn = True  # e.g. the broadcast was paused while this message waited in line
    with pytest.raises(SendAborted):
        await second
    assert asked_at == [LATENCY + 1.0]  # when its turn came, not when it joined the line
    # Nothing went out, so nothing is counted: the next message has the slot at once.
    await asyncio.gather(first, _send(pacer, 3, Priority.BROADCAST, log))
    assert [(s.chat, s.start) for s in log] == [(1, 0.0), (3, LATENCY + 1.0)]


@virtual_time
async def test_a_message_not_withdrawn_goes_out() -> None:
    pacer = Pacer(1, clock=LoopClock())
    log: list[Sent] = []
    with traffic(Priority.BROADCAST, lambda: False):
        await _send(pacer, 1, Priority.BROADCAST, log)
    assert [s.chat for s in log] == [1]


def test_the_virtual_loop_reports_a_test_that_would_hang() -> None:
    async def forever() -> None:
        await asyncio.get_running_loop().create_future()

    with pytest.raises(RuntimeError, match="deadlock"):
        virtual_time(forever)()


def test_production_pacers_use_the_monotonic_clock() -> None:
    assert Pacer(20).clock is MONOTONIC
    assert abs(MONOTONIC.now() - time.monotonic()) < 1.0


async def test_the_monotonic_clock_waits_for_the_event_or_the_time_limit() -> None:
    event = asyncio.Event()
    began = time.monotonic()
    await MONOTONIC.wait(event, 0.01)  # the time limit: no TimeoutError
    assert time.monotonic() - began >= 0.009
    event.set()
    await MONOTONIC.wait(event, None)  # already set: at once
