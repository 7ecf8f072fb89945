"""Staff: admins and liaisons. Authorization is one filter on the whole router."""

from __future__ import annotations

from aiogram import Router

from bot.services.access import Role
from handlers.liaison.access import StaffOnly, StaffTraffic

# Callback-data prefixes of staff buttons; the authorization test covers every one.
STAFF_PREFIXES: frozenset[str] = frozenset({"bc1", "cs1", "dr1", "qu1"})


def staff_command_names() -> frozenset[str]:
    from handlers.liaison.admin import ADMIN_COMMANDS
    from handlers.liaison.audit import AUDIT_COMMANDS

    return frozenset(name for name, _ in (*ADMIN_COMMANDS, *AUDIT_COMMANDS))


def liaison_command_names() -> frozenset[str]:
    from handlers.liaison.broadcasts import BROADCAST_COMMANDS
    from handlers.liaison.cases import LIAISON_COMMANDS
    from handlers.liaison.drafts import DRAFT_COMMANDS

    commands = (*LIAISON_COMMANDS, *DRAFT_COMMANDS, *BROADCAST_COMMANDS)
    # "start" stands for the deep link of a staff notice only (see StaffOnly).
    return frozenset(name for name, _ in commands) | {"start"}


def get_staff_router() -> Router:
    from handlers.liaison import admin, audit, broadcasts, cases, drafts, join, queue

    router = Router(name="staff")
    everything = staff_command_names() | liaison_command_names() | {"join"}
    is_staff_traffic = StaffTraffic(everything, STAFF_PREFIXES)
    router.message.filter(is_staff_traffic)
    router.callback_query.filter(is_staff_traffic)

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

    router.include_routers(admins, liaisons)
    join.router.register_into(router)
    return router
