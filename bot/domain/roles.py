"""Who may do what: the staff roles, ordered."""

from __future__ import annotations

from enum import IntEnum


class Role(IntEnum):
    """Ordered: a higher role may do everything a lower one may."""

    NONE = 0
    LIAISON = 1
    ADMIN = 2
