"""A refused use case: the reason is a stable key that the handlers translate."""

from __future__ import annotations


class Refused(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
