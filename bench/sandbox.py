"""The sandbox: how fast `python -m bot sandbox` starts, and how quick its page stays with
20 people in it.

    python -m bench.sandbox [--starts 3] [--people 20] [--rounds 10]

Each start is `python -m bot sandbox` in a process of its own (tests/test_sandbox.py's
helper), timed from the process's launch until its page accepts connections: a first start
on an empty data directory (migrations, a new key), then restarts on the same directory.
Then `--people` people are added, each sending /start, and `--rounds` times: the page's
whole state (`GET /api/state`, what the page loads) and a /help from one family until the
bot's answer arrives on the page's event stream (`/api/events`), each round from another
family. Prints the median and the slowest of each.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import aiohttp

from tests.test_sandbox import Events, bot_messages, sandbox_process


def spread(seconds: list[float]) -> str:
    return (
        f"median {statistics.median(seconds) * 1000:.0f} ms, slowest {max(seconds) * 1000:.0f} ms"
    )


async def page_with_people(url: str, people: int, rounds: int) -> tuple[list[float], list[float]]:
    """(seconds for the state, seconds for a reply) with `people` people in the sandbox."""
    state_times: list[float] = []
    reply_times: list[float] = []
    async with aiohttp.ClientSession() as http:
        async with http.get(url + "/api/events", timeout=aiohttp.ClientTimeout(None)) as sse:
            events = Events(sse)
            chats = []
            for index in range(people - 1):  # the admin is there from the start
                locale = ("uk", "ru", "en")[index % 3]
                async with http.post(
                    url + "/api/people", json={"role": "family", "locale": locale}
                ) as response:
                    chats.append((await response.json())["person"]["id"])
                await http.post(f"{url}/api/chats/{chats[-1]}/text", json={"text": "/start"})
            await asyncio.sleep(3)  # the /start answers are out (a chat's burst, CHAT_BURST)
            for number in range(rounds):
                # Each round another family, as people write: one chat's own pace (three
                # messages in any three seconds) is Telegram's rule, not the page's speed.
                chat = chats[number % len(chats)]
                began = time.monotonic()
                async with http.get(url + "/api/state") as response:
                    state = await response.json()
                state_times.append(time.monotonic() - began)
                assert len(state["people"]) == people
                began = time.monotonic()
                await http.post(f"{url}/api/chats/{chat}/text", json={"text": "/help"})
                await events.until(
                    lambda _event, data, chat=chat: bot_messages(data, chat), timeout=60
                )
                reply_times.append(time.monotonic() - began)
    return state_times, reply_times


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="homeward-bench-sandbox-") as directory:
        place = Path(directory)
        starts: list[float] = []
        for number in range(args.starts):
            with sandbox_process(place) as sandbox:
                starts.append(sandbox.started_in)
                if number == args.starts - 1:
                    states, replies = await page_with_people(sandbox.url, args.people, args.rounds)
    print(f"first start on an empty data directory: {starts[0]:.2f} s (target: under 5 s)")
    if len(starts) > 1:
        print(f"restarts on the same directory ({len(starts) - 1}): {spread(starts[1:])}")
    print(f"with {args.people} people, {args.rounds} rounds:")
    print(f"  the page's state (GET /api/state): {spread(states)}")
    print(f"  a /help until its answer is on the page: {spread(replies)}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--starts", type=int, default=3)
    parser.add_argument("--people", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=10)
    asyncio.run(main(parser.parse_args()))
