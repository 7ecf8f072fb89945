"""Retries for requests to Telegram: a reply must not be lost to a passing failure."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable

from aiogram import Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import TelegramNetworkError, TelegramRetryAfter, TelegramServerError
from aiogram.methods import GetUpdates, TelegramMethod
from aiogram.methods.base import Response, TelegramType

log = logging.getLogger(__name__)


_REASONS: dict[type[Exception], str] = {
    TelegramRetryAfter: "rate_limited",
    TelegramServerError: "server_error",
}


class RetryMiddleware(BaseRequestMiddleware):
    """Retry on 429 (after the wait Telegram asks for), 5xx and network errors.

    Other errors (400 bad request, 403 blocked) are final and go to the caller at once.
    Polling has its own backoff in aiogram and is left alone.
    """

    def __init__(
        self,
        attempts: int = 5,
        base_delay: float = 0.5,
        max_delay: float = 30.0,
        *,
        on_retry: Callable[[str, str], None] | None = None,
    ) -> None:
        self.attempts = attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        # Told (Bot API method, reason) before each retry: the metrics count them.
        self.on_retry = on_retry

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        polling = isinstance(method, GetUpdates)  # a flag: narrowing would lose the type
        if polling:
            return await make_request(bot, method)
        attempt = 1
        while True:
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as error:
                failure: Exception = error
                delay: float = error.retry_after
            except (TelegramServerError, TelegramNetworkError) as error:
                failure = error
                delay = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
                delay *= random.uniform(0.8, 1.2)  # don't let many retries arrive together
            if attempt >= self.attempts:
                raise failure
            log.warning(
                "%s failed (%s), retry %d of %d in %.1fs",
                type(method).__name__,
                type(failure).__name__,
                attempt,
                self.attempts - 1,
                delay,
            )
            if self.on_retry is not None:
                self.on_retry(
                    str(getattr(method, "__api_method__", type(method).__name__)),
                    next(
                        (r for t, r in _REASONS.items() if isinstance(failure, t)), "network_error"
                    ),
                )
            attempt += 1
            await asyncio.sleep(delay)
