"""Handler modules declare their handlers once; every dispatcher gets fresh routers.

aiogram attaches a Router to one parent only, and tests, benchmarks and a restart
inside one process each build a new dispatcher.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiogram import Router

Handler = Callable[..., Any]


class RouterSpec:
    def __init__(self, name: str) -> None:
        self.name = name
        self._entries: list[tuple[str, Handler, tuple[Any, ...]]] = []

    def _register(self, observer: str, filters: tuple[Any, ...]) -> Callable[[Handler], Handler]:
        def decorator(handler: Handler) -> Handler:
            self._entries.append((observer, handler, filters))
            return handler

        return decorator

    def message(self, *filters: Any) -> Callable[[Handler], Handler]:
        return self._register("message", filters)

    def callback_query(self, *filters: Any) -> Callable[[Handler], Handler]:
        return self._register("callback_query", filters)

    def build(self) -> Router:
        router = Router(name=self.name)
        self.register_into(router)
        return router

    def register_into(self, router: Router) -> None:
        """Add these handlers to an existing router, after the ones it has."""
        for observer, handler, filters in self._entries:
            router.observers[observer].register(handler, *filters)
