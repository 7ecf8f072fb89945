"""aiogram routers, one parent router per audience."""

from __future__ import annotations

from aiogram import Router


def get_routers() -> list[Router]:
    from handlers.family import get_family_router
    from handlers.liaison import get_staff_router

    # Staff first: its filter lets through only staff commands from staff; everything
    # else, refused attempts included, reaches the family side unchanged.
    return [get_staff_router(), get_family_router()]
