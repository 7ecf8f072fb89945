"""Lists exchanged with the verification bodies: import of located persons, export of
requests (CSV and PFIF 1.4), and the data a verification dossier is made of."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from bot.domain.roles import Role
from bot.domain.states import DraftState
from bot.domain.statuses import RequestStatus
from bot.exchange.export import ExportCase
from bot.exchange.pfif import PfifNote, PfifPerson
from bot.exchange.records import RecordList, RecordRow, RowProblem
from bot.services import tracing
from bot.services.access import require_role
from bot.services.cases import answers_of
from bot.services.refusal import Attempt, NotFound, Refused
from bot.services.uow import Tx, UnitOfWork
from storage.models import Draft, PersonRecord, StatusChange, TracingRequest, utcnow
from storage.tracing import RECORD

log = logging.getLogger(__name__)

CLI_ACTOR = 0  # the operator at the server's command line
PFIF_DOMAIN = "homeward.example"  # overridden by settings.pfif_domain
EXPORT_LIMIT = 10_000


@dataclass(frozen=True)
class ImportReport:
    created: int
    updated: int
    unchanged: int
    problems: list[RowProblem]
    rejected_lines: int
    ignored_columns: tuple[str, ...] = ()
    matches_found: int = 0
    records_matched: int = 0


def _record_values(row: RecordRow) -> dict[str, object]:
    return {
        "name": row.name,
        "other_names": row.other_names or None,
        "sex": row.sex or None,
        "birth_date": row.birth_date,
        "birth_year": row.birth_year or (row.birth_date.year if row.birth_date else None),
        "birth_place": row.birth_place or None,
        "current_place": row.current_place or None,
        "status": row.status or None,
        "welfare": row.welfare or None,
    }


def _store_rows(tx: Tx, actor_id: int, rows: Sequence[RecordRow]) -> tuple[int, int, int]:
    created = updated = unchanged = 0
    now = utcnow()
    for row in rows:
        values = _record_values(row)
        photos = [(photo.name, photo.mime, photo.data) for photo in row.photos]
        record = tx.records.by_source(row.source, row.source_id)
        if record is None:
            record = PersonRecord(
                source=row.source,
                source_id=row.source_id,
                imported_by=actor_id,
                imported_at=now,
                updated_at=now,
                match_pending=True,
                **values,
            )
            tx.records.add(record)
            tx.session.flush()
            tx.records.replace_photos(record.id, photos)
            created += 1
            continue
        same_photos = tx.records.photo_names(record.id) == [name for name, _m, _d in photos]
        if all(getattr(record, key) == value for key, value in values.items()) and (
            same_photos or not photos
        ):
            unchanged += 1
            continue
        for key, value in values.items():
            setattr(record, key, value)
        record.updated_at = now
        record.match_pending = True
        if photos:
            tx.records.replace_photos(record.id, photos)
        updated += 1
    return created, updated, unchanged


async def import_records(
    uow: UnitOfWork,
    actor_id: int,
    admin_ids: frozenset[int] | None,
    parsed: RecordList,
) -> ImportReport:
    """Store the good rows of a list (all in one transaction), then match them.

    A row with any problem is left out whole and named in the report; importing the
    same list again changes nothing (one record per source and the body's own id).
    `admin_ids` None: the server's command line, where the operator is trusted.
    """
    rejected = len({problem.line for problem in parsed.problems})

    def work(tx: Tx) -> tuple[int, int, int]:
        if admin_ids is not None:
            require_role(tx, actor_id, admin_ids, Role.LIAISON, "records_import")
        counts = _store_rows(tx, actor_id, parsed.records)
        tx.audit.record(actor_id, "records_import", f"records:{len(parsed.records)}")
        return counts

    created, updated, unchanged = await uow.run(work)
    run = await tracing.match_everything_pending(uow)
    log.info(
        "records imported: created=%d updated=%d unchanged=%d rejected=%d matches=%d",
        created,
        updated,
        unchanged,
        rejected,
        run.found,
    )
    return ImportReport(
        created,
        updated,
        unchanged,
        list(parsed.problems),
        rejected,
        tuple(parsed.ignored_columns),
        run.found,
        run.processed,
    )


# --- export ----------------------------------------------------------------------


@dataclass(frozen=True)
class Selection:
    """Which requests to export: these codes, or every request in these statuses."""

    codes: tuple[str, ...] = ()
    statuses: tuple[RequestStatus, ...] = ()

    def describe(self) -> str:
        return ",".join(self.codes or tuple(s.value for s in self.statuses)) or "open"


def _selected(tx: Tx, selection: Selection) -> Sequence[TracingRequest]:
    query = (
        select(TracingRequest)
        .where(TracingRequest.erased_at.is_(None))  # erased: nothing left to export
        .order_by(TracingRequest.id)
        .limit(EXPORT_LIMIT)
    )
    if selection.codes:
        query = query.where(TracingRequest.code.in_(selection.codes))
    elif selection.statuses:
        query = query.where(TracingRequest.status.in_([s.value for s in selection.statuses]))
    else:
        query = query.where(TracingRequest.status != RequestStatus.CLOSED.value)
    return tx.session.scalars(query).all()


def _export_case(request: TracingRequest) -> ExportCase:
    return ExportCase(
        code=request.code,
        status=request.status,
        name=request.sought_name,
        aliases=request.sought_aliases,
        sex=request.sought_sex,
        birth_text=request.birth_text,
        birth_date=request.birth_estimate if request.birth_kind == "date" else None,
        birth_year=request.birth_estimate.year,
        birth_place=request.birth_place,
        separation_date_text=request.separation_text,
        separation_place=request.separation_place,
        last_location=request.last_location,
        features=request.features,
        submitted_on=request.created_at.date(),
    )


_PFIF_NOTE_STATUS = {
    RequestStatus.LOCATED: "believed_alive",
    RequestStatus.VERIFIED: "believed_alive",
    RequestStatus.REUNIFICATION_ARRANGED: "believed_alive",
    RequestStatus.REUNITED: "believed_alive",
}


def _pfif_person(request: TracingRequest, domain: str, organisation: str) -> PfifPerson:
    person_id = f"{domain}/{request.code}"
    status = RequestStatus(request.status)
    note = PfifNote(
        note_record_id=f"{domain}/{request.code}.status",
        person_record_id=person_id,
        entry_date=request.status_changed_at,
        author_name=organisation,
        source_date=request.status_changed_at,
        status=_PFIF_NOTE_STATUS.get(status, "information_sought"),
        text=f"Homeward status: {status.value}",
        last_known_location=request.last_location,
    )
    birth = (
        request.birth_estimate.isoformat()
        if request.birth_kind == "date"
        else str(request.birth_estimate.year)
    )
    return PfifPerson(
        person_record_id=person_id,
        entry_date=request.created_at,
        author_name=organisation,
        source_name=organisation,
        source_date=request.created_at,
        full_name=request.sought_name,
        alternate_names=request.sought_aliases,
        sex=request.sought_sex if request.sought_sex in ("female", "male") else None,
        date_of_birth=birth,
        home_city=request.birth_place,
        description=f"Separated: {request.separation_text}, {request.separation_place}",
        notes=(note,),
    )


@dataclass(frozen=True)
class Export:
    cases: list[ExportCase]
    persons: list[PfifPerson] = field(default_factory=list)


async def export_requests(
    uow: UnitOfWork,
    actor_id: int,
    admin_ids: frozenset[int] | None,
    selection: Selection,
    *,
    domain: str = PFIF_DOMAIN,
    organisation: str = "Homeward",
) -> Export:
    def work(tx: Tx) -> Export:
        if admin_ids is not None:
            require_role(tx, actor_id, admin_ids, Role.LIAISON, "records_export")
        requests = _selected(tx, selection)
        tx.audit.record(actor_id, "records_export", f"requests:{len(requests)}")
        # Who read which case: one row each, as for opening a case or making its dossier.
        tx.audit.record_many(actor_id, "export", [f"case:{r.code}" for r in requests])
        return Export(
            [_export_case(r) for r in requests],
            [_pfif_person(r, domain, organisation) for r in requests],
        )

    return await uow.run(work)


# --- the verification dossier ----------------------------------------------------


@dataclass(frozen=True)
class DossierRecord:
    source: str
    source_id: str
    name: str
    other_names: str | None
    sex: str | None
    birth: str | None
    places: tuple[str, ...]
    status: str | None
    welfare: str | None
    photos: tuple[bytes, ...]
    score: float
    reasons: tuple[tracing.matching.Reason, ...]


@dataclass(frozen=True)
class DossierStep:
    at: datetime
    from_status: str | None
    to_status: str
    actor_id: int | None
    reason: str | None


@dataclass(frozen=True)
class DossierApproval:
    written_at: datetime
    author_id: int
    approved_at: datetime
    approver_id: int
    text: str


@dataclass(frozen=True)
class DossierData:
    code: str
    locale: str
    status: str
    answers: dict[str, object]
    photo_file_ids: tuple[str, ...]
    records: tuple[DossierRecord, ...]
    history: tuple[DossierStep, ...]
    approvals: tuple[DossierApproval, ...]


async def dossier_data(
    uow: UnitOfWork, actor_id: int, admin_ids: frozenset[int], code: str
) -> DossierData:

    def work(tx: Tx) -> DossierData:
        target = f"case:{code}"
        require_role(tx, actor_id, admin_ids, Role.LIAISON, "dossier", target)
        request = tx.requests.by_code(code)
        if request is None:
            raise NotFound("no_case", audit=Attempt(actor_id, "dossier", target), code=code)
        if request.erased_at is not None:
            raise Refused("erased", audit=Attempt(actor_id, "dossier", target))
        tx.audit.record(actor_id, "dossier", target)
        records = []
        for match in tx.matches.involving(request.id):
            if match.other_kind != RECORD or match.state != tracing.MatchState.CONFIRMED:
                continue
            record = tx.records.get(match.other_id)
            if record is None:
                continue
            birth = record.birth_date.isoformat() if record.birth_date else None
            records.append(
                DossierRecord(
                    record.source,
                    record.source_id,
                    record.name,
                    record.other_names,
                    record.sex,
                    birth or (str(record.birth_year) if record.birth_year else None),
                    tuple(p for p in (record.birth_place, record.current_place) if p),
                    record.status,
                    record.welfare,
                    tuple(photo.data for photo in tx.records.photos(record.id)),
                    match.score,
                    tracing.reason_codes(match.reasons),
                )
            )
        history = tuple(
            DossierStep(c.created_at, c.from_status, c.to_status, c.actor_id, c.reason)
            for c in tx.session.scalars(
                select(StatusChange)
                .where(StatusChange.request_id == request.id)
                .order_by(StatusChange.id)
            ).all()
        )
        approvals = tuple(
            DossierApproval(d.created_at, d.author_id, d.decided_at, d.decided_by, d.text)
            for d in tx.session.scalars(
                select(Draft)
                .where(Draft.request_id == request.id, Draft.state == DraftState.APPROVED)
                .order_by(Draft.id)
            ).all()
            if d.decided_at is not None and d.decided_by is not None
        )
        return DossierData(
            request.code,
            request.locale,
            request.status,
            answers_of(request),
            tuple(photo.file_id for photo in tx.requests.photos(request.id)),
            tuple(records),
            history,
            approvals,
        )

    return await uow.run(work)
