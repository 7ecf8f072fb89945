"""Possible matches: how likely two persons (requests, imported records) are the same child.

`score` adds up the evidence of each fact as log-odds, in the manner of Fellegi and
Sunter's record linkage: the names (`names.compare_names`: surname, first name,
patronymic, each the same, in another spelling, a diminutive, a typo or different), the
sex, the birth (date, year, an age-based estimate) and the places. A known different sex
or birth years far apart outweigh any name. The sum becomes a score in 0..1 by a logistic
curve centred on the threshold: pairs at or above `POSSIBLE_MATCH_THRESHOLD` are shown to
liaisons, with the reasons that count most first.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import NamedTuple, TypeVar

from bot.tracing import places as _places
from bot.tracing.names import (
    GIVEN_EVIDENCE,
    PATRONYMIC_EVIDENCE,
    SURNAME_EVIDENCE,
    ParsedName,
    compare_names,
    parse_name,
)
from bot.tracing.reasons import Reason

__all__ = [
    "POSSIBLE_MATCH_THRESHOLD",
    "MatchScore",
    "PersonFacts",
    "Reason",
    "rank",
    "score",
]

K = TypeVar("K")

POSSIBLE_MATCH_THRESHOLD = 0.5
# The log-odds at which the score is 0.5, and how steeply it rises around it.
_CENTRE = 5.0
_SPREAD = 1.5


@dataclass(frozen=True)
class PersonFacts:
    name: str  # surname, first name, patronymic, in any order and alphabet
    aliases: str | None = None  # nicknames, diminutives, other spellings (free text)
    sex: str | None = None  # "female" / "male" / None
    birth_date: date | None = None  # the exact date, when known
    birth_year: int | None = None
    birth_year_approx: bool = False  # the year is an estimate from an age: allow ±1
    places: tuple[str, ...] = ()  # birth place, place of separation, last known, current


@dataclass(frozen=True, slots=True)
class MatchScore:
    score: float  # 0..1
    reasons: tuple[Reason, ...]  # strongest first


class _Birth(NamedTuple):
    date: date | None
    year: int | None
    approx: bool  # the year is an estimate from an age


def _birth_of(facts: PersonFacts) -> _Birth:
    if facts.birth_date is not None:
        return _Birth(facts.birth_date, facts.birth_date.year, False)
    return _Birth(None, facts.birth_year, facts.birth_year_approx)


@dataclass(frozen=True, slots=True)
class _Prepared:
    name: ParsedName
    sex: str | None
    sex_stated: bool  # the sex was given, not read from the name
    birth: _Birth
    places: _places.Places


@lru_cache(maxsize=8192)
def _prepare(facts: PersonFacts) -> _Prepared:
    name = parse_name(facts.name, facts.aliases)
    sex = facts.sex if facts.sex in ("female", "male") else None
    return _Prepared(
        name=name,
        sex=sex or name.sex,
        sex_stated=sex is not None,
        birth=_birth_of(facts),
        places=_places.parse_places(facts.places),
    )


def _birth(a: _Birth, b: _Birth) -> tuple[float, Reason | None]:
    if a.year is None or b.year is None:
        return 0.0, None
    gap = abs(a.year - b.year)
    if a.approx or b.approx:
        if gap == 0:
            return 1.0, Reason.SAME_BIRTH_YEAR
        if gap == 1:
            return 0.6, Reason.NEAR_BIRTH_YEAR
        return (-2.5, None) if gap == 2 else (-7.0, None)
    x, y = a.date, b.date
    if x is not None and y is not None:
        if x == y:
            return 3.0, Reason.SAME_BIRTH_DATE
        if gap == 0 and (
            (x.day, x.month) == (y.month, y.day) or x.day == y.day or x.month == y.month
        ):
            return 0.0, None  # day and month swapped, or a typo in one of them
        if gap == 0:
            return -2.0, None
        if gap == 1 and (x.month, x.day) == (y.month, y.day):
            return -1.0, None  # a typo in the year, or born a year apart to the day
        return (-3.5, None) if abs((x - y).days) <= 400 else (-7.0, None)
    if gap == 0:
        return 1.5, Reason.SAME_BIRTH_YEAR
    return (-3.0, None) if gap == 1 else (-7.0, None)


_SEX_SAME = 0.4
_SEX_DIFFERENT = -8.0
_MAX_SEX_EVIDENCE = _SEX_SAME


def _sex(a: _Prepared, b: _Prepared) -> tuple[float, Reason | None]:
    if a.sex is None or b.sex is None:
        return 0.0, None
    stated = a.sex_stated and b.sex_stated
    if a.sex == b.sex:
        return (_SEX_SAME, Reason.SAME_SEX) if stated else (0.2, None)
    return (_SEX_DIFFERENT, None) if stated else (-5.0, None)  # a name may mislead


_PLACE = {"place": (1.2, Reason.SAME_PLACE), "region": (0.5, Reason.SAME_REGION)}


def _place(a: _Prepared, b: _Prepared) -> tuple[float, Reason | None]:
    found = _places.compare(a.places, b.places)
    if found is None:
        return 0.0, None
    return _PLACE.get(found, (-0.4, None))


# How strong each name reason is, to list the reasons strongest first.
_NAME_REASON_WEIGHT = {
    Reason.SAME_NAME: 7.0,
    Reason.SAME_SURNAME: 4.0,
    Reason.SAME_SURNAME_OTHER_SPELLING: 3.7,
    Reason.NAME_OTHER_SPELLING: 2.9,
    Reason.NAME_DIMINUTIVE: 2.5,
    Reason.NAME_TYPO: 2.0,
    Reason.SAME_PATRONYMIC: 1.2,
    Reason.NAME_ORDER: 0.1,
}


def _logistic(evidence: float) -> float:
    return 1.0 / (1.0 + math.exp(-(evidence - _CENTRE) / _SPREAD))


# The log-odds at the threshold, less a hair for rounding.
_THRESHOLD_EVIDENCE = (
    _CENTRE + _SPREAD * math.log(POSSIBLE_MATCH_THRESHOLD / (1 - POSSIBLE_MATCH_THRESHOLD)) - 1e-6
)


_NOTHING_IN_COMMON = MatchScore(0.0, ())
# The most the names can add: the same surname, first name and patronymic.
_MAX_NAME_EVIDENCE = (
    max(SURNAME_EVIDENCE.values())
    + max(GIVEN_EVIDENCE.values())
    + max(PATRONYMIC_EVIDENCE.values())
)
_MAX_PLACE_EVIDENCE = max(weight for weight, _ in _PLACE.values())


def _score(
    a: _Prepared, b: _Prepared, cut: float | None = None, signature: frozenset[str] | None = None
) -> MatchScore | None:
    """The score of a and b; with `cut` (log-odds), None as soon as it cannot reach it.
    `signature`: a's name signature as a set, when already made."""
    if (signature or frozenset(a.name.signature)).isdisjoint(b.name.signature):
        # No first name, surname skeleton, or half of one in common: the names differ.
        return None if cut is not None else _NOTHING_IN_COMMON
    birth = _birth(a.birth, b.birth)
    sex = _sex(a, b)
    evidence = birth[0] + sex[0]
    if cut is not None and evidence + _MAX_PLACE_EVIDENCE + _MAX_NAME_EVIDENCE < cut:
        return None  # born years apart, or of another sex: whatever the names
    place = _place(a, b)
    evidence += place[0]
    if cut is not None and evidence + _MAX_NAME_EVIDENCE < cut:
        return None
    names = compare_names(a.name, b.name)
    evidence += names.evidence
    if cut is not None and evidence < cut:
        return None
    weighted = [(_NAME_REASON_WEIGHT[r], r) for r in names.reasons]
    weighted += [part for part in (birth, sex, place) if part[1] is not None]  # type: ignore[misc]
    weighted.sort(key=lambda wr: -wr[0])
    return MatchScore(round(_logistic(evidence), 4), tuple(r for _, r in weighted))


def score(a: PersonFacts, b: PersonFacts) -> MatchScore:
    """How likely a and b are the same person (0..1), and why."""
    result = _score(_prepare(a), _prepare(b))
    assert result is not None
    return result


def rank(
    query: PersonFacts, candidates: Iterable[tuple[K, PersonFacts]], limit: int = 5
) -> list[tuple[K, MatchScore]]:
    """The candidates at or above the threshold, best first, at most `limit` of them."""
    prepared = _prepare(query)
    signature = frozenset(prepared.name.signature)
    sex = query.sex if query.sex in ("female", "male") else None
    # Without reading the names: a birth years apart, or another sex, rules a candidate out.
    cut = _THRESHOLD_EVIDENCE - _MAX_PLACE_EVIDENCE - _MAX_NAME_EVIDENCE - _MAX_SEX_EVIDENCE
    found: list[tuple[float, int, K, MatchScore]] = []
    for n, (key, facts) in enumerate(candidates):
        quick = _birth(prepared.birth, _birth_of(facts))[0]
        if sex is not None and facts.sex is not None and facts.sex != sex:
            quick += _SEX_DIFFERENT
        if quick < cut:
            continue
        result = _score(prepared, _prepare(facts), _THRESHOLD_EVIDENCE, signature)
        if result is not None and result.score >= POSSIBLE_MATCH_THRESHOLD:
            found.append((result.score, -n, key, result))
    best = heapq.nlargest(limit, found, key=lambda item: (item[0], item[1]))
    return [(key, result) for _, _, key, result in best]
