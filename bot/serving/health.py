"""/healthz, /readyz and /metrics: on the webhook server, and in polling mode on a small
server of their own when HEALTH_LISTEN is set.

- ``/healthz``: the process is up and answers (200);
- ``/readyz``: the database answers ``SELECT 1``, Redis (if configured) answers PING and the
  Bot API answers getMe, each within a short timeout: 200, or 503 with which check failed;
- ``/metrics``: Prometheus' text format (bot.metrics).

Nothing here shows personal data: check names and "ok"/"failed" only.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from aiogram import Bot
from aiogram.methods import GetMe
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import parse_listen
from bot.metrics import CONTENT_TYPE, Metrics
from storage import stats

log = logging.getLogger(__name__)

CHECK_TIMEOUT = 2.0  # seconds for each check of /readyz
TELEGRAM_CACHE_SECONDS = 5.0  # a probe every second must not ask Telegram every second
MAX_BODY = 1 << 20  # no request to this server is larger (a Telegram update is a few KiB)


class ListenError(Exception):
    """The server's address is taken or not this machine's: one line for the operator."""


class Health:
    def __init__(
        self,
        engine: AsyncEngine,
        bot: Bot,
        metrics: Metrics,
        *,
        redis: Any | None = None,
        timeout: float = CHECK_TIMEOUT,
    ) -> None:
        self.engine = engine
        self.bot = bot
        self.metrics = metrics
        self.redis = redis
        self.timeout = timeout
        self._telegram: tuple[float, bool] | None = None

    # ---- the checks -----------------------------------------------------------------------

    async def _database(self) -> None:
        await stats.ping(self.engine)

    async def _redis(self) -> None:
        assert self.redis is not None
        await self.redis.ping()

    async def _telegram_api(self) -> None:
        cached = self._telegram
        if cached is not None and time.monotonic() - cached[0] < TELEGRAM_CACHE_SECONDS:
            if not cached[1]:
                raise ConnectionError("Bot API unreachable (cached)")
            return
        try:
            # The session's own request, without the retries and the pacer of the bot.
            await self.bot.session.make_request(self.bot, GetMe(), timeout=int(self.timeout))
        except BaseException:
            self._telegram = (time.monotonic(), False)
            raise
        self._telegram = (time.monotonic(), True)

    async def _run(self, name: str, check: Any) -> tuple[str, bool]:
        try:
            await asyncio.wait_for(check(), self.timeout)
        except Exception as error:  # any failure is "not ready"; its text may not be shown
            log.warning("readiness check %s failed: %s", name, type(error).__name__)
            return name, False
        return name, True

    async def checks(self) -> dict[str, bool]:
        checks: list[tuple[str, Any]] = [("database", self._database)]
        if self.redis is not None:
            checks.append(("redis", self._redis))
        checks.append(("telegram", self._telegram_api))
        results = await asyncio.gather(*(self._run(name, check) for name, check in checks))
        return dict(results)

    # ---- the endpoints --------------------------------------------------------------------

    async def healthz(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def readyz(self, request: web.Request) -> web.Response:
        results = await self.checks()
        ready = all(results.values())
        body = {
            "status": "ready" if ready else "not ready",
            "checks": {name: "ok" if ok else "failed" for name, ok in results.items()},
        }
        return web.json_response(body, status=200 if ready else 503)

    async def metrics_view(self, request: web.Request) -> web.Response:
        body = await self.metrics.exposition()
        response = web.Response(body=body)
        response.headers["Content-Type"] = CONTENT_TYPE
        return response

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/healthz", self.healthz)
        app.router.add_get("/readyz", self.readyz)
        app.router.add_get("/metrics", self.metrics_view)

    def application(self) -> web.Application:
        """A server of its own (polling mode)."""
        app = web.Application(client_max_size=MAX_BODY)
        self.add_routes(app)
        return app


async def serve(app: web.Application, listen: str) -> web.AppRunner:
    """Listen on "host:port"; `await runner.cleanup()` stops (after the requests in hand).
    Port 0 picks a free port: `bound_port(runner)` tells which."""
    host, port = parse_listen(listen)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=30.0)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except OSError as error:
        await runner.cleanup()
        raise ListenError(f"cannot listen on {listen}: {error.strerror or error}") from None
    except BaseException:
        await runner.cleanup()
        raise
    log.info("serving HTTP on %s:%s", host, bound_port(runner))
    return runner


def bound_port(runner: web.AppRunner) -> int:
    address = runner.addresses[0]
    return int(address[1])
