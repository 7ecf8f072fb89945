"""Staff: admins and liaisons. Authorization is one filter on the whole router."""

from __future__ import annotations

from aiogram import Router

from bot.domain.roles import Role
from bot.texts import menus
from bot.texts.callbacks import STAFF_PREFIXES
from handlers.liaison.access import StaffOnly, StaffTraffic
from handlers.liaison.refusals import AnswerRefusals
from handlers.liaison.staff_menu import ShowMissingMenu


def staff_command_names() -> frozenset[str]:
    """The admins' own commands."""
    return menus.names(menus.ADMIN_COMMANDS)


def liaison_command_names() -> frozenset[str]:
    # "start" stands for the deep link of a staff notice only (see StaffOnly).
    return menus.names(menus.LIAISON_COMMANDS) | {"start"}


def get_staff_router() -> Router:
    from handlers.liaison import (
        admin,
        audit,
        broadcasts,
        cases,
        drafts,
        erasure,
        join,
        queue,
        tracing,
    )

    router = Router(name="staff")
    everything = staff_command_names() | liaison_command_names() | {"join"}
    is_staff_traffic = StaffTraffic(everything, STAFF_PREFIXES)
    router.message.filter(is_staff_traffic)
    router.callback_query.filter(is_staff_traffic)
    # Inner middlewares are inherited by the sub-routers: one answer for every refusal.
    answer_refusals = AnswerRefusals()
    router.message.middleware(answer_refusals)
    router.callback_query.middleware(answer_refusals)
    # A staff member's menu that Telegram refused before they opened the chat: set now.
    router.message.middleware(ShowMissingMenu())

    admins = Router(name="staff.admins")
    only_admins = StaffOnly(Role.ADMIN, staff_command_names(), frozenset())
    admins.message.filter(only_admins)
    admins.callback_query.filter(only_admins)
    admin.router.register_into(admins)
    audit.router.register_into(admins)

    liaisons = Router(name="staff.liaisons")
    only_liaisons = StaffOnly(Role.LIAISON, liaison_command_names(), STAFF_PREFIXES)
    liaisons.message.filter(only_liaisons)
    liaisons.callback_query.filter(only_liaisons)
    queue.router.register_into(liaisons)
    cases.router.register_into(liaisons)
    drafts.router.register_into(liaisons)
    broadcasts.router.register_into(liaisons)
    tracing.router.register_into(liaisons)
    erasure.router.register_into(liaisons)

    router.include_routers(admins, liaisons)
    join.router.register_into(router)
    return router
