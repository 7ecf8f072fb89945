"""The liaisons' queue: priority rules, waiting order, what needs attention, paging."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime

from bot.domain.statuses import RequestStatus
from bot.services import cases, drafts, families, queue
from bot.services.uow import UnitOfWork
from bot.texts.callbacks import QueueCb
from tests import updates as U
from tests.conftest import Harness
from tests.test_cases import ADMIN, office  # noqa: F401 - fixture
from tests.test_domain import _walk_to_summary

TODAY = datetime.now(UTC).date()
ADMINS = frozenset({ADMIN})


def draft_with(**answers: object) -> dict:
    draft = copy.deepcopy(_walk_to_summary())
    draft["answers"].update(answers)
    return draft


def born(year: int) -> dict:
    return {"kind": "year", "text": str(year), "estimate": date(year, 7, 1).isoformat()}


async def submit(uow: UnitOfWork, family: int, **answers: object) -> str:
    return await families.submit_request(uow, family, "en", draft_with(**answers), TODAY)


async def test_priority_rules_and_order(office: Harness) -> None:  # noqa: F811
    uow = UnitOfWork(office.engine)
    plain = await submit(uow, 1, birth=born(2010))  # 16 today, no health needs: P3
    adult = await submit(uow, 2, birth=born(2006))  # a child then, an adult now: P2
    health = await submit(uow, 3, birth=born(2010), health_needs="Diabetes")  # P1
    young = await submit(uow, 4, birth=born(TODAY.year - 5))  # under 12: P1
    page = await queue.queue_page(uow, ADMIN, ADMINS)
    assert [(i.code, i.priority) for i in page.items] == [
        (health, 1),
        (young, 1),
        (adult, 2),
        (plain, 3),
    ]
    assert page.items[0].health and page.items[2].now_adult


async def test_what_needs_attention(office: Harness) -> None:  # noqa: F811
    uow = UnitOfWork(office.engine)
    code = await submit(uow, 5)
    case = await cases.open_case(uow, ADMIN, ADMINS, code=code)
    await cases.change_status(uow, ADMIN, ADMINS, case.id, RequestStatus.IN_REVIEW)
    assert (await queue.queue_page(uow, ADMIN, ADMINS)).items == []  # reviewed: nothing to do

    await families.add_followup(uow, 5, case.id, "New detail")
    (item,) = (await queue.queue_page(uow, ADMIN, ADMINS)).items
    assert item.code == code and item.new_info
    await cases.open_case(uow, ADMIN, ADMINS, code=code)  # seen
    assert (await queue.queue_page(uow, ADMIN, ADMINS)).items == []

    draft = await drafts.create_draft(uow, ADMIN, ADMINS, code, "question", "Which school?")
    (item,) = (await queue.queue_page(uow, ADMIN, ADMINS)).items
    assert item.pending_draft
    await drafts.decline(uow, ADMIN, ADMINS, draft.id, "Rephrase")
    assert (await queue.queue_page(uow, ADMIN, ADMINS)).items == []


async def test_queue_command_pages_and_filters(office: Harness) -> None:  # noqa: F811
    uow = UnitOfWork(office.engine)
    codes = [await submit(uow, 100 + i) for i in range(queue.PAGE_SIZE + 2)]
    reviewed = await cases.open_case(uow, ADMIN, ADMINS, code=codes[0])
    await cases.change_status(uow, ADMIN, ADMINS, reviewed.id, RequestStatus.IN_REVIEW)
    await families.add_followup(uow, 100, reviewed.id, "More")

    await office.feed(U.text(ADMIN, "/queue"))
    first = office.session.texts(ADMIN)[-1]
    assert "Page 1 of 2" in first and first.count("<code>HW-") == queue.PAGE_SIZE
    await office.feed(U.press(ADMIN, QueueCb(page=1).pack()))
    second = office.session.texts(ADMIN)[-1]
    assert "Page 2 of 2" in second and second.count("<code>HW-") == 2
    await office.feed(U.press(ADMIN, QueueCb(page=0, status="in_review").pack()))
    filtered = office.session.texts(ADMIN)[-1]
    assert (
        filtered.count("<code>HW-") == 1 and codes[0] in filtered and "new information" in filtered
    )
