"""Several bot instances for the tests and benchmarks, and a round-robin reverse proxy: what nginx or a cloud load balancer does in
front of several bot instances in webhook mode.

Each request goes to the next backend; a backend that refuses the connection or dies
mid-request is skipped and the request goes to the next one (nginx's
`proxy_next_upstream error timeout`), so a killed instance costs no update.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import socket
import sys
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

HOP_HEADERS = {"host", "content-length", "transfer-encoding", "connection", "keep-alive"}


class Balancer:
    def __init__(self, backends: list[str], *, timeout: float = 30.0) -> None:
        self.backends = backends
        self.timeout = timeout
        self._next = itertools.cycle(range(len(backends)))
        self.served: Counter[str] = Counter()
        self.failed: Counter[str] = Counter()
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self.url = ""

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        app = web.Application(client_max_size=4 << 20)
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        sockets = site._server.sockets  # type: ignore[union-attr]
        self.url = f"http://{host}:{sockets[0].getsockname()[1]}"
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
        return self.url

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        assert self._session is not None
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_HEADERS}
        for _ in range(len(self.backends)):
            backend = self.backends[next(self._next)]
            try:
                async with self._session.request(
                    request.method, backend + request.rel_url.path_qs, data=body, headers=headers
                ) as answer:
                    payload = await answer.read()
                    self.served[backend] += 1
                    return web.Response(
                        status=answer.status, body=payload, content_type=answer.content_type
                    )
            except (aiohttp.ClientConnectionError, TimeoutError):
                self.failed[backend] += 1
                continue
        return web.Response(status=502, text="no backend answered")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def ready(port: int, within: float = 120) -> None:  # a hang guard, loaded machines
    """Until the instance on `port` answers /readyz with 200."""
    deadline = time.monotonic() + within
    async with aiohttp.ClientSession() as client:
        while time.monotonic() < deadline:
            try:
                async with client.get(f"http://127.0.0.1:{port}/readyz") as answer:
                    if answer.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError(f"the instance on port {port} did not get ready")


ROOT = Path(__file__).resolve().parent.parent
WEBHOOK_SECRET = "instances-test-secret"


class WebhookInstances:
    """`count` bot processes (`python -m bot webhook`) on one database and Redis, behind one
    Balancer; ready when entered, stopped (SIGTERM) when left."""

    def __init__(
        self,
        emu: Any,
        count: int,
        *,
        database_url: str,
        redis_url: str,
        admin_ids: Iterable[int],
        rate: int,
        log_dir: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.emu, self.count = emu, count
        self.log_dir = log_dir  # each instance's warnings and errors, in instance-N.log
        self.env = {
            **os.environ,
            "BOT_TOKEN": emu.token,
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "TELEGRAM_API_URL": emu.base_url,
            "MODE": "webhook",
            "WEBHOOK_SECRET": WEBHOOK_SECRET,
            "ADMIN_IDS": ",".join(str(i) for i in admin_ids),
            "BROADCAST_RATE": str(rate),
            "LOG_LEVEL": "WARNING",
            **(env or {}),
        }
        self.ports: list[int] = []
        self.url = ""
        self.processes: list[asyncio.subprocess.Process] = []
        self.balancer: Balancer | None = None

    def backend(self, index: int) -> str:
        return f"http://127.0.0.1:{self.ports[index]}"

    async def __aenter__(self) -> WebhookInstances:
        self.ports = [free_port() for _ in range(self.count)]
        self.balancer = Balancer([self.backend(i) for i in range(self.count)])
        self.url = await self.balancer.start()
        for index in range(self.count):
            self.processes.append(await self._spawn(index))
        try:
            await asyncio.gather(*(ready(port) for port in self.ports))
        except BaseException:
            await self.__aexit__()  # `async with` does not leave what it never entered
            raise
        return self

    async def _spawn(self, index: int) -> asyncio.subprocess.Process:
        log = (
            open(self.log_dir / f"instance-{index}.log", "ab")  # noqa: ASYNC230 (a local file, once)
            if self.log_dir is not None
            else asyncio.subprocess.DEVNULL
        )
        try:
            return await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                "webhook",
                cwd=ROOT,
                env={
                    **self.env,
                    "WEBHOOK_URL": f"{self.url}/telegram",
                    "WEBHOOK_LISTEN": f"127.0.0.1:{self.ports[index]}",
                },
                stdout=asyncio.subprocess.DEVNULL,
                stderr=log,
            )
        finally:
            if not isinstance(log, int):
                log.close()  # the process has its own copy

    async def restart(self, index: int) -> int:
        """A clean restart, as an upgrade does one: SIGTERM, the process finishes what it
        has in hand and exits, a new one starts on the same port and gets ready. Returns
        the old process's exit code."""
        old = self.processes[index]
        old.send_signal(signal.SIGTERM)
        code = await old.wait()
        self.processes[index] = await self._spawn(index)
        await ready(self.ports[index])
        return code

    async def __aexit__(self, *exc: object) -> None:
        for process in self.processes:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            await process.wait()
        if self.balancer is not None:
            await self.balancer.stop()
