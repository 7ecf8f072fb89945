"""Fictional families and requests for training, stored through the bot's own services.

Every name is made up and says so ("Вигаданенко" is "made-up-enko"); none belongs to a real
person. The families are people of the sandbox too, so a trainee can act as them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from bot.domain.intake import CONSENT_VERSION
from bot.domain.statuses import RequestStatus
from bot.domain.validation import parse_fuzzy_date
from bot.services import access, cases, families
from bot.services.notices import StaffRouting
from bot.services.uow import UnitOfWork


@dataclass(frozen=True)
class FictionalRequest:
    locale: str
    requester: str  # the family member who writes (also their chat's name)
    sought: str
    aliases: str | None
    sex: str
    birth: str
    separation: str
    place: str
    circumstances: str
    relationship: str
    country: str
    status: RequestStatus = RequestStatus.SUBMITTED


FICTIONAL: tuple[FictionalRequest, ...] = (
    FictionalRequest(
        "uk",
        "Оксана Вигаданенко",
        "Вигаданенко Марко Тестович",
        "Марко, Marko Vyhadanenko",
        "male",
        "14.03.2013",
        "03.2022",
        "Зразківка, Прикладна обл.",
        "fighting",
        "parent",
        "Україна",
    ),
    FictionalRequest(
        "uk",
        "Петро Зразковий",
        "Зразкова Софія Петрівна",
        "Софійка",
        "female",
        "2015",
        "04.2022",
        "Вигадане, Тренувальний р-н",
        "border",
        "parent",
        "Польща",
        RequestStatus.IN_REVIEW,
    ),
    FictionalRequest(
        "ru",
        "Ирина Выдумкина",
        "Выдумкин Артём Примерович",
        "Тёма, Artem Vydumkin",
        "male",
        "2011",
        "2022",
        "Примерово",
        "adult",
        "grandparent",
        "Германия",
    ),
    FictionalRequest(
        "en",
        "Alex Madeup",
        "Madeup Daria",
        "Dasha, Дар'я Вигадана",
        "female",
        "09.09.2014",
        "05.2022",
        "Sampleton, Exampleshire",
        "institution",
        "relative",
        "Canada",
        RequestStatus.NEEDS_INFORMATION,
    ),
    FictionalRequest(
        "uk",
        "Галина Навчальна",
        "Навчальний Богдан Вправович",
        None,
        "male",
        "10",
        "2023",
        "Тренувальне",
        "fighting",
        "sibling",
        "Україна",
    ),
    FictionalRequest(
        "ru",
        "Олег Учебный",
        "Учебная Алиса Олеговна",
        "Алиса, Alisa Uchebnaya",
        "female",
        "01.06.2016",
        "08.2022",
        "Тестовск",
        "border",
        "parent",
        "Чехия",
        RequestStatus.IN_TRACING,
    ),
)


def _answers(item: FictionalRequest, today: date) -> dict[str, Any]:
    answers: dict[str, Any] = {
        "sought_name": item.sought,
        "sought_sex": item.sex,
        "birth": parse_fuzzy_date(item.birth, today, allow_age=True).as_dict(),
        "separation_date": parse_fuzzy_date(item.separation, today).as_dict(),
        "separation_place": item.place,
        "circumstances": item.circumstances,
        "relationship": item.relationship,
        "requester_name": f"{item.requester} (fictional)",
        "country": item.country,
        "consent": CONSENT_VERSION,
    }
    if item.aliases:
        answers["sought_aliases"] = item.aliases
    return answers


# The statuses a seeded case passes through to reach its own, in order.
_PATH = {
    RequestStatus.SUBMITTED: (),
    RequestStatus.IN_REVIEW: (RequestStatus.IN_REVIEW,),
    RequestStatus.NEEDS_INFORMATION: (RequestStatus.IN_REVIEW, RequestStatus.NEEDS_INFORMATION),
    RequestStatus.IN_TRACING: (
        RequestStatus.IN_REVIEW,
        RequestStatus.NEEDS_INFORMATION,
        RequestStatus.IN_TRACING,
    ),
}


async def seed(
    uow: UnitOfWork,
    family_ids: list[int],
    admin_id: int,
    liaison_ids: list[int],
    admin_ids: frozenset[int],
) -> list[tuple[int, str]]:
    """Store the fictional requests (one family each, ids from `family_ids`) and make the
    liaisons liaisons; returns (family id, reference code) pairs."""
    for liaison in liaison_ids:
        await access.grant(uow, admin_id, liaison, admin_ids)
    today = date.today()
    routing = StaffRouting(admin_ids, None)
    made: list[tuple[int, str]] = []
    for family_id, item in zip(family_ids, FICTIONAL, strict=False):
        await families.set_locale(uow, family_id, item.locale)
        draft = {"answers": _answers(item, today)}
        code = await families.submit_request(uow, family_id, item.locale, draft, today, routing)
        made.append((family_id, code))
        path = _PATH.get(item.status, ())
        if path:
            actor = liaison_ids[0] if liaison_ids else admin_id
            view = await cases.open_case(uow, actor, admin_ids, code=code)
            for status in path:
                await cases.change_status(uow, actor, admin_ids, view.id, status)
    return made
