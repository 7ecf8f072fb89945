"""Admins and liaisons: granting, invites, and one authorization check for every staff command."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiogram import Dispatcher, Router
from aiogram.filters import Command
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.i18n import CatalogI18n
from bot.texts.menus import FAMILY_COMMANDS
from handlers.family.fallback import unknown_text
from handlers.liaison import STAFF_PREFIXES
from storage.models import AuditEntry, Invite, Liaison
from tests import updates as U
from tests.conftest import Harness, make_harness

ADMIN = 900
PUBLIC_COMMANDS = {name for name, _ in FAMILY_COMMANDS} | {"start", "join"}


@pytest.fixture
async def staff(engine: AsyncEngine, i18n: CatalogI18n) -> Harness:
    return make_harness(engine, i18n, admin_ids=frozenset({ADMIN}))


def registered_commands(dispatcher: Dispatcher) -> set[str]:
    """Every command any handler of the bot answers to."""
    found: set[str] = set()

    def walk(router: Router) -> None:
        for handler in router.message.handlers:
            for flt in handler.filters or []:
                if isinstance(flt.callback, Command):
                    found.update(str(c) for c in flt.callback.commands)
        for child in router.sub_routers:
            walk(child)

    walk(dispatcher)
    return found


def calls(h: Harness, name: str) -> list[Any]:
    return [c for c in h.session.calls if type(c).__name__ == name]


async def audit(h: Harness) -> list[tuple[int, str, str | None, bool]]:
    async with h.engine.connect() as conn:
        rows = await conn.execute(
            select(
                AuditEntry.actor_id, AuditEntry.action, AuditEntry.target, AuditEntry.allowed
            ).order_by(AuditEntry.id)
        )
        return [tuple(r) for r in rows]


async def test_every_staff_command_is_refused_to_everyone_else(staff: Harness, i18n) -> None:
    """Generated from the registered commands: a new command without a check fails here."""
    from handlers.liaison import staff_command_names

    staff_commands = registered_commands(staff.dispatcher) - PUBLIC_COMMANDS
    admin_only = set(staff_command_names())
    assert admin_only | {"case", "note"} <= staff_commands
    await staff.feed(U.text(ADMIN, "/grant 501"))  # 501 is a liaison but not an admin
    with i18n.context(), i18n.use_locale("en"):
        unknown = unknown_text()
    refusals = [(500, c) for c in staff_commands] + [(501, c) for c in admin_only]
    for outsider, command in sorted(refusals):
        staff.session.clear()
        await staff.feed(U.text(outsider, f"/{command} 501"))
        replies = staff.session.texts(outsider)
        assert replies == [unknown], (outsider, command, replies)
        assert not calls(staff, "SetMyCommands") and not calls(staff, "DeleteMyCommands")
    for command in sorted(staff_commands - admin_only):  # a liaison's own commands answer
        staff.session.clear()
        await staff.feed(U.text(501, f"/{command}"))
        assert staff.session.texts(501) != [unknown], command
    refused = [row for row in await audit(staff) if not row[3]]
    assert sorted((r[0], r[1]) for r in refused) == sorted((o, f"/{c}") for o, c in refusals)
    async with staff.engine.connect() as conn:  # nothing changed: 501 is still a liaison
        assert await conn.scalar(select(Liaison.revoked_at).where(Liaison.user_id == 501)) is None


async def test_staff_buttons_are_checked_and_refusals_audited(staff: Harness) -> None:
    """The same filter guards buttons: checked against the role, refusals audited."""
    from bot.domain.roles import Role
    from bot.services.uow import UnitOfWork
    from handlers.liaison.access import StaffOnly

    guard = StaffOnly(Role.LIAISON, frozenset(), frozenset({"rv1", *STAFF_PREFIXES}))
    uow = UnitOfWork(staff.engine)
    admins = frozenset({ADMIN})
    outsider = U.press(500, "rv1:take:7").callback_query
    admin = U.press(ADMIN, "rv1:take:7").callback_query
    other_button = U.press(500, "in1:pick:x").callback_query
    assert await guard(outsider, uow=uow, admin_ids=admins) is False
    assert await guard(admin, uow=uow, admin_ids=admins) is True
    assert await guard(other_button, uow=uow, admin_ids=admins) is False  # not a staff button
    assert [(r[0], r[1], r[3]) for r in await audit(staff)] == [(500, "button:rv1", False)]


async def test_every_staff_command_answers_an_admin(staff: Harness, i18n) -> None:
    with i18n.context(), i18n.use_locale("en"):
        unknown = unknown_text()
    for command in sorted(registered_commands(staff.dispatcher) - PUBLIC_COMMANDS):
        staff.session.clear()
        await staff.feed(U.text(ADMIN, f"/{command}"))
        assert staff.session.texts(ADMIN) and staff.session.texts(ADMIN)[0] != unknown, command


async def test_grant_list_and_revoke(staff: Harness) -> None:
    await staff.feed(U.text(ADMIN, "/grant 77"))
    assert staff.session.texts(ADMIN)[-1] == "User 77 is now a liaison."
    menu = calls(staff, "SetMyCommands")[-1]
    assert menu.scope.chat_id == 77
    await staff.feed(U.text(ADMIN, "/grant 77"))
    assert staff.session.texts(ADMIN)[-1] == "User 77 is already a liaison."
    staff.session.clear()
    await staff.feed(U.text(ADMIN, "/liaisons"))
    listing = staff.session.texts(ADMIN)[0]
    assert f"<code>{ADMIN}</code>: admin" in listing and "<code>77</code>: liaison since" in listing
    await staff.feed(U.text(ADMIN, "/revoke 77"))
    assert staff.session.texts(ADMIN)[-1] == "User 77 is no longer a liaison."
    assert calls(staff, "DeleteMyCommands")[-1].scope.chat_id == 77
    await staff.feed(U.text(ADMIN, f"/revoke {ADMIN}"))
    assert "ADMIN_IDS" in staff.session.texts(ADMIN)[-1]
    await staff.feed(U.text(ADMIN, "/grant someone"))
    assert "/grant 123456789" in staff.session.texts(ADMIN)[-1]
    actions = [(r[1], r[2]) for r in await audit(staff)]
    assert actions[:3] == [("grant", "user:77"), ("grant", "user:77"), ("revoke", "user:77")]


async def test_invite_is_one_time_and_expires(staff: Harness) -> None:
    await staff.feed(U.text(ADMIN, "/invite"))
    code = re.search(r"<code>([2-9A-Z]{12})</code>", staff.session.texts(ADMIN)[-1]).group(1)
    await staff.feed(U.text(88, f"/join {code.lower()}"))
    assert "Welcome to the liaison team" in staff.session.texts(88)[-1]
    assert calls(staff, "SetMyCommands")[-1].scope.chat_id == 88
    await staff.feed(U.text(89, f"/join {code}"))  # used already
    assert "not valid" in staff.session.texts(89)[-1]

    await staff.feed(U.text(ADMIN, "/invite"))
    late = re.search(r"<code>([2-9A-Z]{12})</code>", staff.session.texts(ADMIN)[-1]).group(1)
    async with staff.engine.begin() as conn:
        await conn.execute(
            update(Invite)
            .where(Invite.used_at.is_(None))
            .values(expires_at=datetime.now(UTC) - timedelta(minutes=1))
        )
    await staff.feed(U.text(90, f"/join {late}"))
    assert "not valid" in staff.session.texts(90)[-1]
    async with staff.engine.connect() as conn:
        members = set((await conn.scalars(select(Liaison.user_id))).all())
        codes = (await conn.scalars(select(Invite.code_hash))).all()
    assert members == {88}
    assert code not in codes and late not in codes  # only hashes are stored
    joins = [r for r in await audit(staff) if r[1] == "join"]
    assert [(r[0], r[3]) for r in joins] == [(88, True), (89, False), (90, False)]


async def test_every_staff_button_is_refused_to_everyone_else(staff: Harness) -> None:
    """Generated from the staff callback prefixes: a forged press by a family changes nothing."""
    assert STAFF_PREFIXES
    for prefix in sorted(STAFF_PREFIXES):
        for action in ("take", "move", "reason", "close"):
            staff.session.clear()
            await staff.feed(U.press(500, f"{prefix}:{action}:1:closed"))
            answers = [c.text for c in calls(staff, "AnswerCallbackQuery")]
            assert answers == ["This button is no longer active."], (prefix, action)
            assert not calls(staff, "EditMessageText") and not calls(staff, "SendMessage")
    refused = [r for r in await audit(staff) if not r[3]]
    assert len(refused) == 4 * len(STAFF_PREFIXES)
    assert {r[1] for r in refused} == {f"button:{p}" for p in STAFF_PREFIXES}
