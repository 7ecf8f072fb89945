"""Every refusal a service makes is on record, and a revoked liaison is refused everywhere.

A refused use case is rolled back whole; the refused attempt is written afterwards in a
transaction of its own (bot.services.uow), so the audit log keeps it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.domain.review import ReviewMode
from bot.domain.statuses import CloseReason, RequestStatus
from bot.exchange.records import read_records
from bot.services import access, broadcasts, cases, drafts, families, queue, records, tracing
from bot.services.refusal import NotPermitted, Refused, TooLong
from bot.services.uow import UnitOfWork
from storage.models import AuditEntry
from tests.test_queue import TODAY, draft_with

ADMIN, AUTHOR, REVIEWER, OUTSIDER = 900, 901, 903, 999
ADMINS = frozenset({ADMIN})


async def refusals(engine: AsyncEngine) -> list[tuple[int, str, str | None]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(AuditEntry.actor_id, AuditEntry.action, AuditEntry.target)
            .where(AuditEntry.allowed.is_(False))
            .order_by(AuditEntry.id)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


@pytest.fixture
async def uow(engine: AsyncEngine) -> UnitOfWork:
    unit = UnitOfWork(engine)
    await access.grant(unit, ADMIN, AUTHOR, ADMINS)
    await access.grant(unit, ADMIN, REVIEWER, ADMINS)
    return unit


async def refused(call: Awaitable[Any], reason: str) -> None:
    with pytest.raises(Refused) as caught:
        await call
    assert caught.value.reason == reason


async def new_case(uow: UnitOfWork) -> tuple[str, int]:
    code = await families.submit_request(uow, 5, "en", draft_with(), TODAY)
    case = await cases.open_case(uow, AUTHOR, ADMINS, code=code)
    return code, case.id


async def test_draft_refusals_are_recorded(uow: UnitOfWork, engine: AsyncEngine) -> None:
    code, _case_id = await new_case(uow)
    draft = await drafts.create_draft(uow, AUTHOR, ADMINS, code, "update", "News")
    await refused(drafts.approve(uow, AUTHOR, ADMINS, draft.id, ReviewMode.FOUR_EYES), "own_draft")
    await refused(drafts.decline(uow, OUTSIDER, ADMINS, draft.id, "no"), "not_permitted")
    await drafts.decline(uow, REVIEWER, ADMINS, draft.id, "Rephrase")
    await refused(
        drafts.approve(uow, REVIEWER, ADMINS, draft.id, ReviewMode.FOUR_EYES), "not_pending"
    )
    assert await refusals(engine) == [
        (AUTHOR, "approve", f"case:{code}"),
        (OUTSIDER, "decline", f"draft:{draft.id}"),
        (REVIEWER, "approve", f"case:{code}"),
    ]


async def test_a_draft_for_a_closed_case_is_refused_and_recorded(
    uow: UnitOfWork, engine: AsyncEngine
) -> None:
    code, _case_id = await new_case(uow)
    await cases.close_case(uow, AUTHOR, ADMINS, code, CloseReason.WITHDRAWN)
    await refused(drafts.create_draft(uow, AUTHOR, ADMINS, code, "question", "?"), "closed")
    assert await refusals(engine) == [(AUTHOR, "draft:question", f"case:{code}")]


async def test_case_refusals_are_recorded(uow: UnitOfWork, engine: AsyncEngine) -> None:
    code, case_id = await new_case(uow)
    await refused(cases.open_case(uow, OUTSIDER, ADMINS, code=code), "not_permitted")
    await refused(cases.add_note(uow, OUTSIDER, ADMINS, code, "x"), "not_permitted")
    await refused(
        cases.change_status(uow, AUTHOR, ADMINS, case_id, RequestStatus.REUNITED), "illegal_move"
    )
    assert await refusals(engine) == [
        (OUTSIDER, "open", f"case:{code}"),
        (OUTSIDER, "note", f"case:{code}"),
        (AUTHOR, "status", f"case:{code}"),
    ]


async def test_notice_refusals_are_recorded(uow: UnitOfWork, engine: AsyncEngine) -> None:
    view = await broadcasts.set_text(uow, AUTHOR, ADMINS, ("uk",), "uk", "Текст")
    number = view.id
    await broadcasts.submit(uow, AUTHOR, ADMINS, number)
    await refused(
        broadcasts.approve(uow, AUTHOR, ADMINS, number, ReviewMode.FOUR_EYES, "en", AUTHOR),
        "own_broadcast",
    )
    await refused(broadcasts.decline(uow, OUTSIDER, ADMINS, number), "not_permitted")
    await refused(broadcasts.control(uow, REVIEWER, ADMINS, number, "pause"), "not_running")
    await broadcasts.approve(uow, REVIEWER, ADMINS, number, ReviewMode.FOUR_EYES, "en", REVIEWER)
    await refused(broadcasts.control(uow, OUTSIDER, ADMINS, number, "cancel"), "not_permitted")
    await refused(broadcasts.control(uow, AUTHOR, ADMINS, number, "resume"), "not_paused")
    target = f"broadcast:{number}"
    assert await refusals(engine) == [
        (AUTHOR, "broadcast:approve", target),
        (OUTSIDER, "broadcast:decline", target),
        (REVIEWER, "broadcast:pause", target),
        (OUTSIDER, "broadcast:cancel", target),
        (AUTHOR, "broadcast:resume", target),
    ]


async def test_admin_refusals_are_recorded(uow: UnitOfWork, engine: AsyncEngine) -> None:
    for call in (
        access.grant(uow, AUTHOR, 42, ADMINS),
        access.revoke(uow, AUTHOR, REVIEWER, ADMINS),
        access.create_invite(uow, AUTHOR, ADMINS),
        access.team(uow, AUTHOR, ADMINS),
        access.audit_trail(uow, AUTHOR, ADMINS, "case:HW-2345-67"),
    ):
        await refused(call, "not_permitted")
    assert [(actor, action) for actor, action, _target in await refusals(engine)] == [
        (AUTHOR, action) for action in ("grant", "revoke", "invite", "liaisons", "audit")
    ]


async def test_a_revoked_liaison_is_refused_by_every_service_even_the_read_only_ones(
    uow: UnitOfWork, engine: AsyncEngine
) -> None:
    code, case_id = await new_case(uow)
    view = await broadcasts.set_text(uow, AUTHOR, ADMINS, ("uk",), "uk", "Текст")
    await access.revoke(uow, ADMIN, REVIEWER, ADMINS)
    empty_list = read_records("list.csv", b"source,source_id,surname\n")
    calls: list[Callable[[], Awaitable[Any]]] = [
        lambda: queue.queue_page(uow, REVIEWER, ADMINS),
        lambda: cases.open_case(uow, REVIEWER, ADMINS, code=code),
        lambda: cases.assign(uow, REVIEWER, ADMINS, case_id, take=True),
        lambda: cases.close_case(uow, REVIEWER, ADMINS, code, CloseReason.OTHER),
        lambda: drafts.create_draft(uow, REVIEWER, ADMINS, code, "update", "x"),
        lambda: broadcasts.card(uow, REVIEWER, ADMINS, view.id, "en"),
        lambda: broadcasts.preview(uow, REVIEWER, ADMINS, view.id, "en"),
        lambda: broadcasts.recent(uow, REVIEWER, ADMINS),
        lambda: broadcasts.compose(uow, REVIEWER, ADMINS, ("uk",)),
        lambda: tracing.find(uow, REVIEWER, ADMINS, "Ковальчук"),
        lambda: tracing.decide_match(uow, REVIEWER, ADMINS, 1, True),
        lambda: records.import_records(uow, REVIEWER, ADMINS, empty_list),
        lambda: records.export_requests(uow, REVIEWER, ADMINS, records.Selection()),
        lambda: records.dossier_data(uow, REVIEWER, ADMINS, code),
    ]
    for call in calls:
        with pytest.raises(NotPermitted):
            await call()
    assert len(await refusals(engine)) == len(calls)
    assert {actor for actor, _action, _target in await refusals(engine)} == {REVIEWER}


async def test_lengths_are_checked_by_the_services(uow: UnitOfWork) -> None:
    code, case_id = await new_case(uow)
    for call, limit in (
        (families.add_followup(uow, 5, case_id, "x" * 2001), 2000),
        (cases.add_note(uow, AUTHOR, ADMINS, code, "x" * 2001), 2000),
        (drafts.create_draft(uow, AUTHOR, ADMINS, code, "update", "x" * 3001), 3000),
        (cases.close_case(uow, AUTHOR, ADMINS, code, CloseReason.OTHER, "x" * 151), 150),
    ):
        with pytest.raises(TooLong) as caught:
            await call
        assert caught.value.limit == limit
    case = await cases.open_case(uow, AUTHOR, ADMINS, code=code)
    assert not case.followups and not case.notes and not case.drafts
    assert case.status is RequestStatus.SUBMITTED
