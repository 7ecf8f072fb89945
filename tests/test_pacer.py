"""The pacer: the global and per-chat limits hold, priorities order the queue, 429 pauses all."""

from __future__ import annotations

import asyncio
import time

import pytest

from bot.pacer import Pacer, Priority


async def _send(pacer: Pacer, chat: int | None, priority: Priority, log: list, latency=0.002):
    async with pacer.slot(chat, priority):
        started = time.monotonic()
        await asyncio.sleep(latency)
        log.append((started, time.monotonic(), chat, priority))


def _max_in_window(times: list[float], window: float = 1.0) -> int:
    times = sorted(times)
    best, start = 0, 0
    for end in range(len(times)):
        while times[end] - times[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


async def test_never_more_than_the_rate_in_any_second() -> None:
    pacer = Pacer(20)
    log: list = []
    began = time.monotonic()
    await asyncio.gather(*(_send(pacer, chat, Priority.BROADCAST, log) for chat in range(50)))
    elapsed = time.monotonic() - began
    assert len(log) == 50
    # Whenever Telegram counts a message (between start and answer), no second holds > 20.
    assert _max_in_window([s for s, _e, _c, _p in log]) <= 20
    assert _max_in_window([e for _s, e, _c, _p in log]) <= 20
    # 50 messages at 20/s: two full windows of waiting, and not much more.
    assert 2.0 <= elapsed < 4.0


async def test_one_message_a_second_in_one_chat_for_bot_initiated_traffic() -> None:
    pacer = Pacer(100)
    log: list = []
    await asyncio.gather(*(_send(pacer, 7, Priority.CASE, log) for _ in range(3)))
    starts = sorted(s for s, _e, _c, _p in log)
    ends = sorted(e for _s, e, _c, _p in log)
    assert starts[1] >= ends[0] + 1.0 and starts[2] >= ends[1] + 1.0


async def test_replies_are_not_held_by_the_per_chat_limit() -> None:
    pacer = Pacer(100)
    log: list = []
    began = time.monotonic()
    for _ in range(3):
        await _send(pacer, 7, Priority.REPLY, log)
    assert time.monotonic() - began < 1.0  # held, it would take over 2 s


async def test_replies_go_before_case_messages_before_broadcasts() -> None:
    pacer = Pacer(1)
    log: list = []
    first = asyncio.create_task(_send(pacer, 1, Priority.BROADCAST, log))
    await asyncio.sleep(0.01)  # holds the only slot for about a second
    waiting = [
        asyncio.create_task(_send(pacer, 2, Priority.BROADCAST, log)),
        asyncio.create_task(_send(pacer, 3, Priority.CASE, log)),
        asyncio.create_task(_send(pacer, 4, Priority.REPLY, log)),
    ]
    await asyncio.sleep(0.01)
    # Checking the order needs only the first grant after the window; stop the rest.
    await asyncio.wait_for(first, 2)
    await pacer_wait_for(lambda: len(log) >= 2, 2.0)
    for task in waiting:
        task.cancel()
    await asyncio.gather(*waiting, return_exceptions=True)
    assert [chat for _s, _e, chat, _p in log][:2] == [1, 4]


async def pacer_wait_for(condition, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def test_a_429_pauses_everyone() -> None:
    pacer = Pacer(100)
    log: list = []
    pacer.pause(0.5)
    began = time.monotonic()
    await asyncio.gather(
        _send(pacer, 1, Priority.REPLY, log), _send(pacer, 2, Priority.BROADCAST, log)
    )
    assert min(s for s, _e, _c, _p in log) - began >= 0.49


async def test_a_cancelled_waiter_gives_its_place_back() -> None:
    pacer = Pacer(1)
    log: list = []
    await _send(pacer, 1, Priority.BROADCAST, log)
    waiter = asyncio.create_task(_send(pacer, 2, Priority.BROADCAST, log))
    await asyncio.sleep(0.05)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    await asyncio.sleep(1.0)
    began = time.monotonic()
    await _send(pacer, 3, Priority.BROADCAST, log)
    assert time.monotonic() - began < 0.6  # a slot kept by the cancelled one: about 1 s


async def test_a_reply_waits_a_second_after_a_message_the_bot_sent_on_its_own() -> None:
    pacer = Pacer(100)
    log: list = []
    await _send(pacer, 7, Priority.BROADCAST, log)
    await _send(pacer, 7, Priority.REPLY, log)
    (_s0, end0, _c0, _p0), (start1, _e1, _c1, _p1) = log
    assert start1 >= end0 + 1.0


async def test_a_group_gets_one_message_every_three_seconds() -> None:
    pacer = Pacer(100)
    log: list = []
    await asyncio.gather(*(_send(pacer, -100123, Priority.CASE, log) for _ in range(2)))
    (_s0, end0, _c0, _p0), (start1, _e1, _c1, _p1) = sorted(log)
    assert start1 >= end0 + 3.0
