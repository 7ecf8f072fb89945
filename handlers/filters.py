"""Filters that run on the event loop.

aiogram 3 evaluates a bare magic filter (`F.text`) as a synchronous callable in a
worker thread (`asyncio.to_thread`), a thread hop per check on every update. `If`
wraps the same expression in an async Filter, so it is checked in place.
"""

from __future__ import annotations

from typing import Any

from aiogram.filters import Filter
from magic_filter import MagicFilter


class If(Filter):
    def __init__(self, magic: MagicFilter) -> None:
        self.magic = magic

    async def __call__(self, event: Any) -> bool:
        return bool(self.magic.resolve(event))

    def __str__(self) -> str:
        return f"If({self.magic!r})"
