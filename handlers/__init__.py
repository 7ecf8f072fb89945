"""aiogram routers, one parent router per audience."""

from __future__ import annotations

from aiogram import Router


def get_routers() -> list[Router]:
    from handlers.family import get_family_router

    return [get_family_router()]
