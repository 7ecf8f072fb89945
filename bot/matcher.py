"""The matcher in the background: indexes new and changed requests and records, and
stores their possible matches, a short transaction at a time."""

from __future__ import annotations

import asyncio
import logging

from bot.services import tracing
from bot.services.uow import UnitOfWork
from storage.lease import Leadership

log = logging.getLogger(__name__)

BATCH = 4  # requests or records a transaction: tens of milliseconds, never seconds
PAUSE_SECONDS = 0.02


class Matcher:
    def __init__(
        self,
        uow: UnitOfWork,
        *,
        idle_seconds: float = 3.0,
        batch: int = BATCH,
        leadership: Leadership | None = None,
    ) -> None:
        self.uow = uow
        self.idle_seconds = idle_seconds
        self.batch = batch
        # Several instances: only the one that leads matches (storage.lease).
        self.leadership = leadership
        self._wake = asyncio.Event()
        self._stopping = False

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        """Match whatever waits, then sleep until woken or a few seconds have passed.

        With several instances, the one that leads the background jobs matches; the others
        only wait (a match stored twice would be refused by the unique pair anyway).
        """
        while not self._stopping:
            try:
                while not self._stopping and (
                    self.leadership is None or await self.leadership.holds()
                ):
                    done = await tracing.match_pending(self.uow, self.batch)
                    if done.found:
                        log.info("possible matches found: %d", done.found)
                    if done.processed == 0:
                        break
                    # On SQLite every transaction takes turns on one thread: a family's
                    # answer or a delivery record goes in between two batches.
                    await asyncio.sleep(PAUSE_SECONDS)
            except Exception as error:
                # The type only: a database error's message can quote a child's name.
                log.error("matching failed (%s); will try again", type(error).__name__)
            if self._stopping:
                return
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), self.idle_seconds)
            except TimeoutError:
                pass
