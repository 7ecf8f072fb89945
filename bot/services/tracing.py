"""Tracing: search by name in any spelling, possible matches, and linked cases.

The name index (storage.tracing.NameIndex) holds short keys of every spelling of a
person's names and places. A search or a match looks up the candidates sharing keys
with one indexed read, then scores only those in memory (bot.tracing). The matcher
indexes and matches whatever is marked `match_pending`: new and changed requests,
imported records; it runs in the background (bot.matcher) and after an import.

A family is never told about another family: nothing here reaches a family's chat.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select

from bot.domain.reference import normalize_reference_code
from bot.domain.roles import Role
from bot.domain.statuses import RequestStatus
from bot.domain.validation import age_on
from bot.services.access import require_role
from bot.services.refusal import Attempt, NotFound, Refused
from bot.services.uow import Tx, UnitOfWork
from bot.tracing import matching, names
from bot.tracing.matching import MatchScore, PersonFacts
from bot.tracing.phonetic import skeleton
from bot.tracing.places import parse_places
from storage.models import PersonRecord, TracingRequest, utcnow
from storage.tracing import RECORD, REQUEST

log = logging.getLogger(__name__)

PAGE_SIZE = 5
MAX_RESULTS = 200  # a search shows at most this many; a liaison narrows it down
CANDIDATES = 150  # read from the index per search or match, scored in memory
MATCHES_KEPT = 8  # possible matches stored per request and run
MIN_QUERY_SCORE = 0.55
# Matching reads candidates born within this many years: a family may misremember a year
# or estimate it from an age; beyond that the scores rule a match out anyway.
BIRTH_WINDOW = 3
PLACE_KEY = "p:"
_YEAR = re.compile(r"^(19[89]\d|20[0-4]\d)$")
_DAY = re.compile(r"^(\d{1,2})[./-](\d{1,2})[./-](\d{4})$|^(\d{4})-(\d{2})-(\d{2})$")


class MatchDecided(Refused):
    """Someone already confirmed or dismissed this match."""

    reason = "match_decided"


class MatchState:
    OPEN = "open"
    CONFIRMED = "confirmed"
    DISMISSED = "dismissed"


# --- what a person is, for matching ------------------------------------------------


def request_facts(request: Any) -> PersonFacts:
    """A request (or a row of its columns) as the matcher compares it."""
    kind = request.birth_kind
    return PersonFacts(
        name=request.sought_name,
        aliases=request.sought_aliases,
        sex=request.sought_sex if request.sought_sex in ("female", "male") else None,
        birth_date=request.birth_estimate if kind == "date" else None,
        birth_year=request.birth_estimate.year,
        birth_year_approx=kind == "age",
        places=tuple(
            p for p in (request.birth_place, request.separation_place, request.last_location) if p
        ),
    )


def record_facts(record: PersonRecord) -> PersonFacts:
    return PersonFacts(
        name=record.name,
        aliases=record.other_names,
        sex=record.sex,
        birth_date=record.birth_date,
        birth_year=record.birth_year or (record.birth_date.year if record.birth_date else None),
        places=tuple(p for p in (record.birth_place, record.current_place) if p),
    )


def place_keys(places: Iterable[str]) -> set[str]:
    """Keys of the towns and regions of the gazetteer, and of other place words (villages)."""
    found = parse_places(places)
    keys = {f"{PLACE_KEY}t:{town}" for town in found.towns}
    keys |= {f"{PLACE_KEY}r:{region}" for region in found.regions}
    keys |= {f"{PLACE_KEY}w:{skeleton(word)}" for word in found.words if len(word) >= 4}
    return {key[:40] for key in keys}


def _keys_of(facts: PersonFacts) -> set[str]:
    return names.index_keys(facts.name, facts.aliases) | place_keys(facts.places)


def reindex_request(tx: Tx, request: TracingRequest) -> None:
    """Write the request's index entries again (with the current data key), matching nothing."""
    facts = request_facts(request)
    tx.names.replace(REQUEST, request.id, _keys_of(facts), _year_of(facts))


def reindex_record(tx: Tx, record: PersonRecord) -> None:
    facts = record_facts(record)
    tx.names.replace(RECORD, record.id, _keys_of(facts), _year_of(facts))


# --- the matcher ------------------------------------------------------------------


_FACTS = (
    TracingRequest.id,
    TracingRequest.sought_name,
    TracingRequest.sought_aliases,
    TracingRequest.sought_sex,
    TracingRequest.birth_kind,
    TracingRequest.birth_estimate,
    TracingRequest.birth_place,
    TracingRequest.separation_place,
    TracingRequest.last_location,
)


def _open_requests(tx: Tx, ids: Iterable[int]) -> list[tuple[int, PersonFacts]]:
    """The facts of those requests still open: read as plain rows, it is most of a match."""
    ids = list(ids)
    if not ids:
        return []
    rows = tx.session.execute(
        select(*_FACTS).where(
            TracingRequest.id.in_(ids), TracingRequest.status != RequestStatus.CLOSED.value
        )
    ).all()
    return [(row.id, request_facts(row)) for row in rows]


def _year_of(facts: PersonFacts) -> int | None:
    return facts.birth_date.year if facts.birth_date else facts.birth_year


def _near_birth(facts: PersonFacts) -> tuple[int, int] | None:
    year = _year_of(facts)
    return (year - BIRTH_WINDOW, year + BIRTH_WINDOW) if year else None


def _reasons(score: MatchScore) -> str:
    return ",".join(reason.value for reason in score.reasons)[:300]


def match_request(tx: Tx, request: TracingRequest) -> int:
    """Index the request and store its possible matches; returns how many are new."""
    facts = request_facts(request)
    name_keys = names.index_keys(facts.name, facts.aliases)
    tx.names.replace(REQUEST, request.id, _keys_of(facts), _year_of(facts))
    request.match_pending = False
    if request.status == RequestStatus.CLOSED.value:
        return 0
    found = 0
    others = tx.names.candidates(
        REQUEST, name_keys, limit=CANDIDATES, exclude=request.id, born_between=_near_birth(facts)
    )
    candidates = _open_requests(tx, (o for o, _ in others))
    for other_id, score in matching.rank(facts, candidates, limit=MATCHES_KEPT):
        found += tx.matches.save(request.id, REQUEST, other_id, score.score, _reasons(score))
    records = tx.names.candidates(RECORD, name_keys, limit=CANDIDATES)
    record_candidates = [
        (r.id, record_facts(r)) for r in tx.records.by_ids([o for o, _ in records])
    ]
    for record_id, score in matching.rank(facts, record_candidates, limit=MATCHES_KEPT):
        found += tx.matches.save(request.id, RECORD, record_id, score.score, _reasons(score))
    return found


def match_record(tx: Tx, record: PersonRecord) -> int:
    """Index an imported record and match it against the open requests."""
    facts = record_facts(record)
    tx.names.replace(RECORD, record.id, _keys_of(facts), _year_of(facts))
    record.match_pending = False
    found = 0
    others = tx.names.candidates(
        REQUEST,
        names.index_keys(facts.name, facts.aliases),
        limit=CANDIDATES,
        born_between=_near_birth(facts),
    )
    candidates = _open_requests(tx, (o for o, _ in others))
    for request_id, score in matching.rank(facts, candidates, limit=MATCHES_KEPT):
        found += tx.matches.save(request_id, RECORD, record.id, score.score, _reasons(score))
    return found


@dataclass(frozen=True)
class MatcherRun:
    processed: int
    found: int


async def match_pending(uow: UnitOfWork, batch: int = 25) -> MatcherRun:
    """One batch of whatever waits to be matched, in one short transaction."""

    def work(tx: Tx) -> MatcherRun:
        requests = tx.session.scalars(
            select(TracingRequest)
            .where(TracingRequest.match_pending.is_(True))
            .order_by(TracingRequest.id)
            .limit(batch)
        ).all()
        found = sum(match_request(tx, request) for request in requests)
        records = tx.records.pending(batch - len(requests)) if len(requests) < batch else []
        found += sum(match_record(tx, record) for record in records)
        return MatcherRun(len(requests) + len(records), found)

    return await uow.run(work)


async def match_everything_pending(uow: UnitOfWork) -> MatcherRun:
    processed = found = 0
    while True:
        run = await match_pending(uow)
        processed += run.processed
        found += run.found
        if run.processed == 0:
            return MatcherRun(processed, found)


# --- search -----------------------------------------------------------------------


@dataclass(frozen=True)
class FoundCase:
    id: int
    code: str
    name: str
    age: int
    birth_year_approx: bool
    status: RequestStatus
    priority: int
    score: float
    erased_reason: str | None = None  # set once its personal data is erased


@dataclass(frozen=True)
class FindPage:
    items: list[FoundCase]
    page: int
    pages: int
    total: int
    capped: bool


@dataclass(frozen=True)
class Query:
    code: str | None
    day: date | None
    year: int | None
    text: str


def parse_query(raw: str) -> Query:
    """Split what a liaison typed into a reference code, a date or year, and name/place text."""
    code = normalize_reference_code(raw.strip())
    if code:
        return Query(code, None, None, "")
    day: date | None = None
    year: int | None = None
    words = []
    for word in raw.split():
        token = word.strip(",;")
        if _YEAR.match(token):
            year = int(token)
            continue
        match = _DAY.match(token)
        if match:
            try:
                if match.group(1):
                    day = date(int(match.group(3)), int(match.group(2)), int(match.group(1)))
                else:
                    day = date(int(match.group(4)), int(match.group(5)), int(match.group(6)))
                continue
            except ValueError:
                pass
        words.append(word)
    return Query(None, day, year, " ".join(words).strip())


# What a search reads of a request: the card's line and what the scores need.
_LISTED = (
    TracingRequest.id,
    TracingRequest.code,
    TracingRequest.sought_name,
    TracingRequest.sought_aliases,
    TracingRequest.birth_kind,
    TracingRequest.birth_estimate,
    TracingRequest.status,
    TracingRequest.priority,
    TracingRequest.birth_place,
    TracingRequest.separation_place,
    TracingRequest.last_location,
    TracingRequest.erased_reason,
)


def _born_as_asked(request: Any, query: Query) -> bool:
    birth = request.birth_estimate
    if query.day is not None:
        if request.birth_kind == "date":
            return birth == query.day
        return abs(birth.year - query.day.year) <= 1
    if query.year is not None:
        slack = 1 if request.birth_kind == "age" else 0
        return abs(birth.year - query.year) <= slack
    return True


def _birth_window(query: Query) -> tuple[int, int] | None:
    year = query.day.year if query.day else query.year
    return (year - 1, year + 1) if year else None


def _found(request: Any, score: float, today: date) -> FoundCase:
    return FoundCase(
        id=request.id,
        code=request.code,
        name=request.sought_name,
        age=age_on(request.birth_estimate, today),
        birth_year_approx=request.birth_kind == "age",
        status=RequestStatus(request.status),
        priority=request.priority,
        score=score,
        erased_reason=request.erased_reason,
    )


def search(tx: Tx, query: Query, today: date) -> list[FoundCase]:
    """Every request matching the query, most likely first (at most MAX_RESULTS)."""
    if query.code:
        found = tx.requests.by_code(query.code)
        return [_found(found, 1.0, today)] if found else []
    if query.text:
        keys = names.query_keys(query.text)
        candidates = tx.names.candidates(
            REQUEST,
            keys | place_keys([query.text]),
            limit=CANDIDATES,
            born_between=_birth_window(query),
        )
        if not candidates:
            return []
        requests = tx.session.execute(
            select(*_LISTED).where(TracingRequest.id.in_([o for o, _ in candidates]))
        ).all()
        scored = []
        for request in requests:
            if not _born_as_asked(request, query):
                continue
            score = names.query_score(query.text, request.sought_name, request.sought_aliases)
            if score < MIN_QUERY_SCORE:  # perhaps it names a place
                places = " ".join(
                    p
                    for p in (request.birth_place, request.separation_place, request.last_location)
                    if p
                )
                if places:
                    score = max(score, 0.95 * names.query_score(query.text, places, None))
            if score >= MIN_QUERY_SCORE:
                scored.append((score, request))
        scored.sort(key=lambda pair: (-round(pair[0], 2), pair[1].priority, -pair[1].id))
        return [_found(request, score, today) for score, request in scored[:MAX_RESULTS]]
    if query.day is None and query.year is None:
        return []
    year = query.day.year if query.day else query.year
    assert year is not None
    born = tx.session.execute(
        select(*_LISTED)
        .where(TracingRequest.birth_estimate.between(date(year - 1, 1, 1), date(year + 1, 12, 31)))
        .order_by(TracingRequest.priority, TracingRequest.id.desc())
        .limit(MAX_RESULTS * 3)
    ).all()
    hits = [row for row in born if _born_as_asked(row, query)][:MAX_RESULTS]
    return [_found(row, 1.0, today) for row in hits]


async def find(
    uow: UnitOfWork, actor_id: int, admin_ids: frozenset[int], raw: str, page: int = 0
) -> FindPage:
    query = parse_query(raw)

    def work(tx: Tx) -> FindPage:
        require_role(tx, actor_id, admin_ids, Role.LIAISON, "find")
        # Who searched is on record; what they searched for is a name: not kept.
        tx.audit.record(actor_id, "find", None)
        hits = search(tx, query, datetime.now(UTC).date())
        pages = max(1, -(-len(hits) // PAGE_SIZE))
        current = min(max(page, 0), pages - 1)
        shown = hits[current * PAGE_SIZE : (current + 1) * PAGE_SIZE]
        # Each card shown holds a name: which cases this liaison saw is on record too.
        tx.audit.record_many(actor_id, "find_result", [f"case:{hit.code}" for hit in shown])
        return FindPage(
            shown,
            current,
            pages,
            len(hits),
            len(hits) >= MAX_RESULTS,
        )

    return await uow.run(work)


# --- possible matches on a case --------------------------------------------------


@dataclass(frozen=True)
class MatchView:
    id: int
    state: str
    score: float
    reasons: tuple[matching.Reason, ...]
    # The other side: a request (its code, the lead of the two) or an imported record.
    other_request_code: str | None
    other_request_status: RequestStatus | None
    record_source: str | None
    record_source_id: str | None
    record_status: str | None
    other_name: str
    other_birth: str


def reason_codes(raw: str) -> tuple[matching.Reason, ...]:
    known = {reason.value for reason in matching.Reason}
    return tuple(matching.Reason(code) for code in raw.split(",") if code in known)


def match_views(tx: Tx, request_id: int) -> list[MatchView]:
    views = []
    for match in tx.matches.involving(request_id):
        if match.state == MatchState.DISMISSED:
            continue
        if match.other_kind == RECORD:
            record = tx.records.get(match.other_id)
            if record is None:
                continue
            birth = (
                record.birth_date.isoformat() if record.birth_date else str(record.birth_year or "")
            )
            views.append(
                MatchView(
                    match.id,
                    match.state,
                    match.score,
                    reason_codes(match.reasons),
                    None,
                    None,
                    record.source,
                    record.source_id,
                    record.status,
                    record.name,
                    birth,
                )
            )
            continue
        other_id = match.other_id if match.request_id == request_id else match.request_id
        other = tx.requests.get(other_id)
        if other is None:
            continue
        views.append(
            MatchView(
                match.id,
                match.state,
                match.score,
                reason_codes(match.reasons),
                other.code,
                RequestStatus(other.status),
                None,
                None,
                None,
                other.sought_name,
                other.birth_text,
            )
        )
    return views


@dataclass(frozen=True)
class Decision:
    request_id: int
    code: str
    confirmed: bool
    lead_code: str | None  # of two linked requests, the one that leads


def _root(tx: Tx, request: TracingRequest) -> TracingRequest:
    seen = {request.id}
    while request.lead_request_id is not None and request.lead_request_id not in seen:
        lead = tx.requests.get(request.lead_request_id)
        if lead is None:
            break
        seen.add(lead.id)
        request = lead
    return request


async def decide_match(
    uow: UnitOfWork, actor_id: int, admin_ids: frozenset[int], match_id: int, same: bool
) -> Decision:
    """A liaison confirms ("same person") or dismisses a possible match; audited.

    Two requests confirmed as one person are linked: the earlier one leads.
    """
    action = "match_confirm" if same else "match_dismiss"

    def work(tx: Tx) -> Decision:
        match = tx.matches.get(match_id)
        target = f"match:{match_id}"
        require_role(tx, actor_id, admin_ids, Role.LIAISON, action, target)
        if match is None:
            raise NotFound("stale", audit=Attempt(actor_id, action, target))
        request = tx.requests.get(match.request_id)
        assert request is not None
        if match.state != MatchState.OPEN:
            raise MatchDecided(audit=Attempt(actor_id, action, f"case:{request.code}"))
        match.state = MatchState.CONFIRMED if same else MatchState.DISMISSED
        match.decided_by = actor_id
        match.decided_at = utcnow()
        lead_code = None
        if same and match.other_kind == REQUEST:
            other = tx.requests.get(match.other_id)
            assert other is not None
            lead = _root(tx, request)
            follower = _root(tx, other)
            if lead.id > follower.id:
                lead, follower = follower, lead
            if follower.id != lead.id:
                follower.lead_request_id = lead.id
            lead_code = lead.code
            tx.audit.record(actor_id, action, f"case:{other.code}")
        tx.audit.record(actor_id, action, f"case:{request.code}")
        return Decision(request.id, request.code, same, lead_code)

    return await uow.run(work)


def linked_cases(tx: Tx, request: TracingRequest) -> tuple[str | None, list[str]]:
    """(the code of the case that leads this one, the codes this one leads)."""
    lead = tx.requests.get(request.lead_request_id) if request.lead_request_id else None
    followers = tx.session.scalars(
        select(TracingRequest.code)
        .where(TracingRequest.lead_request_id == request.id)
        .order_by(TracingRequest.id)
    ).all()
    return (lead.code if lead else None), list(followers)
