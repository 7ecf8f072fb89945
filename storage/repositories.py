"""Small repositories over one session; services own the transaction."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import FollowUp, RequestPhoto, StatusChange, TracingRequest, User, utcnow


class UserRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, user_id: int) -> User | None:
        return await self.session.get(User, user_id)

    async def upsert_locale(self, user_id: int, locale: str | None) -> None:
        """Create the user if new; set the locale when one is given."""
        dialect = self.session.bind.dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        now = utcnow()
        statement = insert(User).values(id=user_id, locale=locale, created_at=now, updated_at=now)
        if locale is None:
            statement = statement.on_conflict_do_nothing(index_elements=[User.id])
        else:
            statement = statement.on_conflict_do_update(
                index_elements=[User.id], set_={"locale": locale, "updated_at": now}
            )
        await self.session.execute(statement)


class RequestRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, request: TracingRequest) -> None:
        self.session.add(request)

    async def code_exists(self, code: str) -> bool:
        found = await self.session.scalar(
            select(TracingRequest.id).where(TracingRequest.code == code)
        )
        return found is not None

    async def list_for_family(self, family_id: int) -> Sequence[TracingRequest]:
        result = await self.session.scalars(
            select(TracingRequest)
            .where(TracingRequest.family_id == family_id)
            .order_by(TracingRequest.status_changed_at.desc(), TracingRequest.id.desc())
        )
        return result.all()

    async def get_for_family(
        self, family_id: int, *, code: str | None = None, request_id: int | None = None
    ) -> TracingRequest | None:
        """A request only if it belongs to this family: the single gate for family reads."""
        query = select(TracingRequest).where(TracingRequest.family_id == family_id)
        if code is not None:
            query = query.where(TracingRequest.code == code)
        elif request_id is not None:
            query = query.where(TracingRequest.id == request_id)
        else:
            return None
        return await self.session.scalar(query)

    def add_status_change(self, change: StatusChange) -> None:
        self.session.add(change)

    def add_followup(self, followup: FollowUp) -> None:
        self.session.add(followup)

    def add_photo(self, photo: RequestPhoto) -> None:
        self.session.add(photo)

    async def count_followups(self, request_id: int) -> int:
        return int(
            await self.session.scalar(
                select(func.count(FollowUp.id)).where(FollowUp.request_id == request_id)
            )
            or 0
        )
