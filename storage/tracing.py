"""Repositories of the tracing work: the name index, imported records, possible matches."""

from __future__ import annotations

import time
from collections.abc import Collection, Iterable, Sequence
from typing import Any

from sqlalchemy import delete, func, insert, literal, or_, select, true, union_all, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from storage.crypto import installed
from storage.models import (
    NameKey,
    PersonRecord,
    PossibleMatch,
    RecordPhoto,
    utcnow,
)

REQUEST = "q"  # owner_kind / other_kind of a tracing request
RECORD = "r"  # of an imported person record
COMMON_KEY = 2000  # owners sharing a key beyond which it no longer picks anyone out
COMMON_SECONDS = 300.0
COMMON_CACHED = 100_000
_COMMON: dict[tuple[str, str, tuple[int, int] | None], tuple[bool, float]] = {}


class NameIndex:
    def __init__(self, session: Session) -> None:
        self.session = session

    def replace(
        self, kind: str, owner_id: int, keys: Iterable[str], birth_year: int | None
    ) -> None:
        self.session.execute(
            delete(NameKey).where(NameKey.owner_kind == kind, NameKey.owner_id == owner_id)
        )
        year = birth_year or 0
        ring = installed()
        rows = [
            {"key": ring.blind(key), "birth_year": year, "owner_kind": kind, "owner_id": owner_id}
            for key in set(keys)
        ]
        if rows:
            self.session.execute(insert(NameKey), rows)

    def candidates(
        self,
        kind: str,
        keys: Collection[str],
        *,
        limit: int,
        exclude: int | None = None,
        born_between: tuple[int, int] | None = None,
    ) -> list[tuple[int, int]]:
        """Owners sharing the most keys with `keys`: (owner id, keys shared), best first.

        Like the stop words of a full-text index, a key that thousands share (the most
        common first names) is left out when rarer keys are there to find the person by;
        when only common keys are, the rarest one is read. `born_between` (years) reads
        only the owners born then, from the same index.
        """
        if not keys:
            return []
        # The index holds keyed hashes of the keys, never the names' forms (storage.crypto);
        # during a key rotation, entries may be under the old key or the new one.
        ring = installed()
        blinded = {key: ring.blinds(key) for key in keys}
        if self.session.get_bind().dialect.name == "sqlite":
            # `owner_kind || ''` keeps SQLite on the key index (one range per key and birth
            # years) rather than walking the owner index in owner order to group.
            of_kind = (NameKey.owner_kind + "") == kind
        else:
            of_kind = NameKey.owner_kind == kind  # PostgreSQL: an index-only scan
        in_years = NameKey.birth_year.between(*born_between) if born_between is not None else true()
        common = self._common(kind, blinded, born_between, of_kind, in_years)
        # Only common keys: the longest (a first name with a surname's letters, say).
        chosen = [key for key in keys if key not in common] or [max(common, key=len)]
        hits = func.count().label("hits")
        query = (
            select(NameKey.owner_id, hits)
            .where(
                NameKey.key.in_(sorted(h for key in chosen for h in blinded[key])),
                of_kind,
                in_years,
            )
            .group_by(NameKey.owner_id)
            .order_by(hits.desc(), NameKey.owner_id.desc())
            .limit(limit)
        )
        if exclude is not None:
            query = query.where(NameKey.owner_id != exclude)
        return [(owner, count) for owner, count in self.session.execute(query).all()]

    def _common(
        self,
        kind: str,
        blinded: dict[str, list[str]],
        born_between: tuple[int, int] | None,
        of_kind: ColumnElement[bool],
        in_years: ColumnElement[bool],
    ) -> set[str]:
        """Which of the keys more than COMMON_KEY owners share (counted only that far).

        Kept a few minutes per process: whether a key is common changes slowly, and it
        decides only which keys are read, never whether a key with owners can be found.
        """
        now = time.monotonic()
        common = set()
        unknown = []
        for key in blinded:
            cached = _COMMON.get((kind, blinded[key][0], born_between))
            if cached is None or cached[1] <= now:
                unknown.append(key)
            elif cached[0]:
                common.add(key)
        if unknown:
            counts = [
                select(literal(key).label("key"), func.count().label("owners")).select_from(
                    select(literal(1))
                    .select_from(NameKey)
                    .where(NameKey.key.in_(blinded[key]), of_kind, in_years)
                    .limit(COMMON_KEY + 1)
                    .subquery()
                )
                for key in sorted(unknown)
            ]
            if len(_COMMON) > COMMON_CACHED:
                _COMMON.clear()
            for key, owners in self.session.execute(union_all(*counts)).all():
                entry = (kind, blinded[key][0], born_between)
                _COMMON[entry] = (owners > COMMON_KEY, now + COMMON_SECONDS)
                if owners > COMMON_KEY:
                    common.add(key)
        return common


class RecordRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def by_source(self, source: str, source_id: str) -> PersonRecord | None:
        return self.session.scalar(
            select(PersonRecord).where(
                PersonRecord.source == source, PersonRecord.source_id == source_id
            )
        )

    def get(self, record_id: int) -> PersonRecord | None:
        return self.session.get(PersonRecord, record_id)

    def by_ids(self, ids: Collection[int]) -> Sequence[PersonRecord]:
        if not ids:
            return []
        return self.session.scalars(select(PersonRecord).where(PersonRecord.id.in_(ids))).all()

    def add(self, record: PersonRecord) -> None:
        self.session.add(record)

    def replace_photos(self, record_id: int, photos: Iterable[tuple[str, str, bytes]]) -> None:
        self.session.execute(delete(RecordPhoto).where(RecordPhoto.record_id == record_id))
        for name, mime, data in photos:
            self.session.add(RecordPhoto(record_id=record_id, name=name, mime=mime, data=data))

    def photo_names(self, record_id: int) -> list[str]:
        return list(
            self.session.scalars(
                select(RecordPhoto.name)
                .where(RecordPhoto.record_id == record_id)
                .order_by(RecordPhoto.id)
            ).all()
        )

    def photos(self, record_id: int) -> Sequence[RecordPhoto]:
        return self.session.scalars(
            select(RecordPhoto).where(RecordPhoto.record_id == record_id).order_by(RecordPhoto.id)
        ).all()

    def pending(self, limit: int) -> Sequence[PersonRecord]:
        return self.session.scalars(
            select(PersonRecord)
            .where(PersonRecord.match_pending.is_(True))
            .order_by(PersonRecord.id)
            .limit(limit)
        ).all()


class MatchRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, match_id: int) -> PossibleMatch | None:
        return self.session.get(PossibleMatch, match_id)

    def involving(self, request_id: int) -> Sequence[PossibleMatch]:
        """Every match of a request, whichever side of a request pair it is on."""
        return self.session.scalars(
            select(PossibleMatch)
            .where(
                or_(
                    PossibleMatch.request_id == request_id,
                    (PossibleMatch.other_kind == REQUEST) & (PossibleMatch.other_id == request_id),
                )
            )
            .order_by(PossibleMatch.score.desc(), PossibleMatch.id)
        ).all()

    def save(self, request_id: int, kind: str, other_id: int, score: float, reasons: str) -> bool:
        """Add a possible match, or refresh the score of one still open; True if new.

        A match a liaison has already decided keeps its decision.
        """
        if kind == REQUEST and other_id < request_id:
            request_id, other_id = other_id, request_id
        values: dict[str, Any] = {
            "request_id": request_id,
            "other_kind": kind,
            "other_id": other_id,
            "score": score,
            "reasons": reasons,
            "state": "open",
            "found_at": utcnow(),
        }
        dialect = self.session.get_bind().dialect.name
        make = pg_insert if dialect == "postgresql" else sqlite_insert
        statement = make(PossibleMatch).values(**values).on_conflict_do_nothing()
        inserted = self.session.execute(statement).rowcount  # type: ignore[attr-defined]
        if inserted:
            return True
        self.session.execute(
            update(PossibleMatch)
            .where(
                PossibleMatch.request_id == request_id,
                PossibleMatch.other_kind == kind,
                PossibleMatch.other_id == other_id,
                PossibleMatch.state == "open",
            )
            .values(score=score, reasons=reasons)
        )
        return False
