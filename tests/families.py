"""Many families at once, written straight to the database (for broadcast tests and bench)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.models import TracingRequest, User


@dataclass(frozen=True)
class Family:
    id: int
    locale: str | None = "uk"
    status: str = "submitted"
    notices: bool = True
    blocked: bool = False
    request_locale: str = "uk"


def code_for(number: int) -> str:
    # Unique and in the shape of a reference code; the alphabet check is not needed here.
    digits = "23456789ABCDEFGHJKMNPQRSTWXYZ"
    chars = []
    for _ in range(6):
        number, rest = divmod(number, len(digits))
        chars.append(digits[rest])
    return f"HW-{''.join(chars[:4])}-{''.join(chars[4:])}"


def request_row(
    code: str, family_id: int, status: str, created: datetime, **values: object
) -> dict[str, object]:
    """A submitted tracing request with placeholder answers, as a row to insert."""
    return {
        "code": code,
        "family_id": family_id,
        "status": status,
        "created_at": created,
        "status_changed_at": created,
        "locale": "uk",
        "sought_name": "Person",
        "sought_sex": "female",
        "birth_kind": "year",
        "birth_text": "2012",
        "birth_estimate": date(2012, 7, 1),
        "now_adult": False,
        "separation_kind": "year",
        "separation_text": "2022",
        "separation_estimate": date(2022, 7, 1),
        "separation_place": "Place",
        "circumstances": "fighting",
        "relationship_to_sought": "parent",
        "requester_name": "Requester",
        "country": "Country",
        "consent_version": "v1",
        "consented_at": created,
        "priority": 3,
        "family_unreachable": False,
        # Placeholder names: nothing for the matcher to do unless a test asks for it.
        "match_pending": False,
        **values,
    }


async def seed_families(engine: AsyncEngine, families: Sequence[Family]) -> None:
    now = datetime.now(UTC)
    users = [
        {
            "id": f.id,
            "locale": f.locale,
            "notices_enabled": f.notices,
            "blocked_at": now if f.blocked else None,
            "created_at": now,
            "updated_at": now,
        }
        for f in families
    ]
    requests = [
        request_row(code_for(f.id), f.id, f.status, now, locale=f.request_locale) for f in families
    ]
    async with engine.begin() as conn:
        for table, rows in ((User, users), (TracingRequest, requests)):
            for start in range(0, len(rows), 5000):
                await conn.execute(insert(table), rows[start : start + 5000])
