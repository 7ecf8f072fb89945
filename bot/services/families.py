"""Use cases of the family side: language, submitting, reading and adding to requests."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import Table, insert, inspect
from sqlalchemy.exc import IntegrityError

from bot.domain.intake import CONSENT_VERSION, missing_required
from bot.domain.reference import new_reference_code
from bot.domain.statuses import RequestStatus
from bot.domain.validation import FuzzyDate, InputError, is_now_adult
from bot.i18n import N_
from bot.services.notices import StaffRouting, notify_staff
from bot.services.queue import needs_attention_from
from bot.services.refusal import check_length
from bot.services.uow import Tx, UnitOfWork
from storage.models import FollowUp, RequestPhoto, StatusChange, TracingRequest, utcnow

log = logging.getLogger(__name__)

MAX_FOLLOWUP = 2000


class RequestNotFound(Exception):
    """No such request for this family; the same answer whether it exists for someone else or not."""


class IncompleteDraft(InputError):
    pass


@dataclass(frozen=True)
class RequestSummary:
    id: int
    code: str
    sought_name: str
    status: RequestStatus
    close_reason: str | None
    status_changed_at: datetime


@dataclass(frozen=True)
class RequestDetails(RequestSummary):
    created_at: datetime
    followups: int
    photos: int


async def get_locale(uow: UnitOfWork, user_id: int) -> str | None:
    return await uow.run(lambda tx: tx.users.locale(user_id))


async def find_locale(uow: UnitOfWork, user_id: int) -> tuple[bool, str | None]:
    """Whether anything is stored about the user, and their language choice."""
    return await uow.run(lambda tx: tx.users.find_locale(user_id))


async def known_locales(uow: UnitOfWork, limit: int) -> list[tuple[int, str | None]]:
    """Stored language choices, to warm the cache at start-up."""
    return list(await uow.run(lambda tx: tx.users.all_locales(limit)))


async def set_notices(uow: UnitOfWork, user_id: int, enabled: bool) -> None:
    """General notices on or off; news about the family's own requests always arrives."""
    await uow.run(lambda tx: tx.users.set_notices(user_id, enabled))


async def mark_reachable(uow: UnitOfWork, user_id: int) -> None:
    """They wrote to the bot (after unblocking it): messages reach them again."""
    await uow.run(lambda tx: tx.users.mark_reachable(user_id))


async def set_locale(uow: UnitOfWork, user_id: int, locale: str) -> None:
    await uow.run(lambda tx: tx.users.upsert_locale(user_id, locale))


_REQUIRED_FIELDS = {
    "sought_name",
    "sought_sex",
    "birth",
    "separation_date",
    "separation_place",
    "circumstances",
    "relationship",
    "requester_name",
    "country",
}


def _new_request(
    code: str, family_id: int, locale: str, answers: dict[str, Any], today: date
) -> TracingRequest:
    birth = FuzzyDate.from_dict(answers["birth"])
    separation = FuzzyDate.from_dict(answers["separation_date"])
    last_contact = answers.get("last_contact")
    now = utcnow()
    return TracingRequest(
        code=code,
        family_id=family_id,
        status=RequestStatus.SUBMITTED.value,
        created_at=now,
        status_changed_at=now,
        locale=locale,
        sought_name=answers["sought_name"],
        sought_aliases=answers.get("sought_aliases"),
        sought_sex=answers["sought_sex"],
        birth_kind=birth.kind,
        birth_text=birth.text,
        birth_estimate=birth.estimate,
        birth_place=answers.get("birth_place"),
        features=answers.get("features"),
        health_needs=answers.get("health_needs"),
        now_adult=is_now_adult(birth, separation, today),
        separation_kind=separation.kind,
        separation_text=separation.text,
        separation_estimate=separation.estimate,
        separation_place=answers["separation_place"],
        circumstances=answers["circumstances"],
        circumstances_other=answers.get("circumstances_other")
        if answers["circumstances"] == "other"
        else None,
        last_location=answers.get("last_location"),
        last_contact_text=last_contact["text"] if last_contact else None,
        companions=answers.get("companions"),
        relationship_to_sought=answers["relationship"],
        requester_name=answers["requester_name"],
        contact=answers.get("contact"),
        country=answers["country"],
        reported_elsewhere=answers.get("reported_elsewhere"),
        consent_version=CONSENT_VERSION,
        consented_at=now,
    )


_INSERT_REQUEST = insert(cast(Table, TracingRequest.__table__))
_INSERT_PHOTOS = insert(cast(Table, RequestPhoto.__table__))
_INSERT_STATUS = insert(cast(Table, StatusChange.__table__))
# Attribute -> column, for the values of a request built as an object.
_REQUEST_COLUMNS = {attr.key: attr.columns[0].key for attr in inspect(TracingRequest).column_attrs}


def _insert_request(tx: Tx, request: TracingRequest, photos: list[str]) -> None:
    """Store a new request, its photos and the first entry of its history in Core.

    The ORM's unit of work (one flush for the request and its photos, one more at
    commit for the history) cost more than the rest of the submit together. As a flush
    would, this leaves out attributes that are unset or None, so that column defaults
    apply, and gives the object its id; the object stays out of the session.
    """
    values = {
        _REQUEST_COLUMNS[key]: value
        for key, value in inspect(request).dict.items()
        if key in _REQUEST_COLUMNS and value is not None
    }
    connection = tx.session.connection()
    inserted = connection.execute(_INSERT_REQUEST, values).inserted_primary_key
    assert inserted is not None
    request.id = inserted[0]
    if photos:
        connection.execute(
            _INSERT_PHOTOS,
            [
                {"request_id": request.id, "file_id": file_id, "created_at": request.created_at}
                for file_id in photos
            ],
        )
    connection.execute(
        _INSERT_STATUS,
        {
            "request_id": request.id,
            "from_status": None,
            "to_status": RequestStatus.SUBMITTED.value,
            "actor_id": request.family_id,
            "created_at": request.created_at,
        },
    )


async def submit_request(
    uow: UnitOfWork,
    family_id: int,
    locale: str,
    draft: dict[str, Any],
    today: date,
    staff: StaffRouting | None = None,
) -> str:
    """Store a finished draft as a tracing request; returns its reference code."""
    answers = draft["answers"]
    if answers.get("consent") != CONSENT_VERSION:
        raise IncompleteDraft(N_("Your consent is needed before the request can be sent."))
    if missing_required(draft) or not _REQUIRED_FIELDS <= answers.keys():
        raise IncompleteDraft(N_("Some required answers are missing. Please fill them in."))

    def work(tx: Tx) -> None:
        tx.users.upsert_locale(family_id, None)
        request = _new_request(code, family_id, locale, answers, today)
        needs_attention_from(request, request.created_at)
        _insert_request(tx, request, answers.get("photos", []))
        notify_staff(tx, staff, request, "staff_new")

    for _attempt in range(5):
        code = new_reference_code()
        try:
            await uow.run(work)
        except IntegrityError:
            # The code was taken (one in hundreds of millions): draw another.
            continue
        log.info("request submitted: code=%s family=%s", code, family_id)
        return code
    raise RuntimeError("could not allocate a unique reference code")


def _summary(request: Any) -> dict[str, Any]:
    """The summary fields, from a request or a row of the same columns."""
    return {
        "id": request.id,
        "code": request.code,
        "sought_name": request.sought_name,
        "status": RequestStatus(request.status),
        "close_reason": request.close_reason,
        "status_changed_at": request.status_changed_at,
    }


async def list_requests(uow: UnitOfWork, family_id: int) -> list[RequestSummary]:
    def work(tx: Tx) -> list[RequestSummary]:
        return [RequestSummary(**_summary(r)) for r in tx.requests.list_for_family(family_id)]

    return await uow.run(work)


async def get_request(
    uow: UnitOfWork, family_id: int, *, code: str | None = None, request_id: int | None = None
) -> RequestDetails:
    def work(tx: Tx) -> RequestDetails:
        request = tx.requests.get_for_family(family_id, code=code, request_id=request_id)
        if request is None:
            raise RequestNotFound
        return RequestDetails(
            **_summary(request),
            created_at=request.created_at,
            followups=tx.requests.count_followups(request.id),
            photos=tx.requests.count_photos(request.id),
        )

    return await uow.run(work)


async def add_followup(
    uow: UnitOfWork,
    family_id: int,
    request_id: int,
    text: str | None,
    photo_file_id: str | None = None,
    staff: StaffRouting | None = None,
) -> str:
    """Attach what the family sent later to their own request; returns the request code."""
    check_length(text, MAX_FOLLOWUP)

    def work(tx: Tx) -> str:
        request = tx.requests.get_for_family(family_id, request_id=request_id)
        if request is None:
            raise RequestNotFound
        now = utcnow()
        followup = FollowUp(request_id=request.id, author_id=family_id, text=text, created_at=now)
        tx.requests.add_followup(followup)
        needs_attention_from(request, now)
        request.match_pending = True  # new information: the matcher looks again
        tx.session.flush()
        notify_staff(tx, staff, request, "staff_info")
        if photo_file_id:
            tx.requests.add_photo(
                RequestPhoto(
                    request_id=request.id,
                    followup_id=followup.id,
                    file_id=photo_file_id,
                    created_at=now,
                )
            )
        return request.code

    code = await uow.run(work)
    log.info("follow-up added: code=%s family=%s", code, family_id)
    return code
