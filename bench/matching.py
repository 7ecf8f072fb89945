"""Possible matches on the labelled set: recall and precision of the top five, and speed.

    python -m bench.matching [--csv tests/data/matching_pairs.csv] [--misses 40] [--scale 20000]

Every person of every pair goes into one pool (identical records once). For each person
with a labelled positive partner, `bot.tracing.matching.rank` ranks the whole pool but
itself (limit 5, at or above the threshold):
- recall: the fraction of (person, partner) that finds the partner in its top five;
- precision: of all pairs the top-five lists return, the fraction that are the same
  person: labelled positive, or linked through positives (A = B and B = C), or identical
  records. A pair labelled negative, or not labelled at all, counts as a false positive.
The misses and the false positives are printed, to tune by (not to hard-code).

--scale N also indexes N realistic persons (bench.names) by their keys and times, for 200 of
them, the ranking of the candidates that share the most keys, as the service reads them.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from bench.names import Pair, read_pairs, realistic_people
from bot.tracing.matching import PersonFacts, rank, score
from bot.tracing.names import index_keys, query_score

DEFAULT_CSV = Path(__file__).resolve().parent.parent / "tests" / "data" / "matching_pairs.csv"
LIMIT = 5


@dataclass
class Result:
    pairs: int
    positives: int
    negatives: int
    pool: int
    queries: int
    found: int  # (person, partner) with the partner in the top five
    wanted: int  # (person, partner) to find
    returned: int  # pairs returned in all top-five lists
    correct: int  # of those, the same person
    seconds: float  # ranking time in total
    per_query_ms: list[float] = field(default_factory=list)
    misses: list[tuple[str, PersonFacts, PersonFacts, float]] = field(default_factory=list)
    false_positives: list[tuple[str, PersonFacts, PersonFacts, float]] = field(default_factory=list)

    @property
    def recall(self) -> float:
        return self.found / self.wanted if self.wanted else 1.0

    @property
    def precision(self) -> float:
        return self.correct / self.returned if self.returned else 1.0


def load(path: Path = DEFAULT_CSV) -> list[Pair]:
    return read_pairs(path.read_text(encoding="utf-8"))


def evaluate(pairs: list[Pair]) -> Result:
    pool: list[PersonFacts] = []
    index: dict[PersonFacts, int] = {}
    for pair in pairs:
        for facts in (pair.a, pair.b):
            if facts not in index:
                index[facts] = len(pool)
                pool.append(facts)
    parent = list(range(len(pool)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    partners: dict[int, set[int]] = {}
    kinds: dict[frozenset[int], str] = {}
    for pair in pairs:
        a, b = index[pair.a], index[pair.b]
        kinds[frozenset((a, b))] = pair.kind
        if pair.same and a != b:
            parent[root(a)] = root(b)
            partners.setdefault(a, set()).add(b)
            partners.setdefault(b, set()).add(a)

    result = Result(
        pairs=len(pairs),
        positives=sum(p.same for p in pairs),
        negatives=sum(not p.same for p in pairs),
        pool=len(pool),
        queries=len(partners),
        found=0,
        wanted=0,
        returned=0,
        correct=0,
        seconds=0.0,
    )
    for person, wanted in sorted(partners.items()):
        candidates = [(i, facts) for i, facts in enumerate(pool) if i != person]
        started = time.perf_counter()
        top = rank(pool[person], candidates, limit=LIMIT)
        elapsed = time.perf_counter() - started
        result.seconds += elapsed
        result.per_query_ms.append(elapsed * 1000)
        returned = {i for i, _ in top}
        for partner in wanted:
            result.wanted += 1
            if partner in returned:
                result.found += 1
            else:
                kind = kinds.get(frozenset((person, partner)), "?")
                result.misses.append(
                    (kind, pool[person], pool[partner], score(pool[person], pool[partner]).score)
                )
        for i, found in top:
            result.returned += 1
            if root(i) == root(person):
                result.correct += 1
            else:
                kind = kinds.get(frozenset((person, i)), "unlabelled")
                result.false_positives.append((kind, pool[person], pool[i], found.score))
    return result


def _show(facts: PersonFacts) -> str:
    birth = (
        facts.birth_date.isoformat()
        if facts.birth_date
        else (f"~{facts.birth_year}" if facts.birth_year_approx else str(facts.birth_year or "-"))
    )
    alias = f" ({facts.aliases})" if facts.aliases else ""
    return f"{facts.name}{alias} [{facts.sex or '?'}, {birth}, {'; '.join(facts.places) or '-'}]"


def report(result: Result, misses: int) -> str:
    lines = [
        f"labelled pairs: {result.pairs} ({result.positives} same, {result.negatives} different)",
        f"pool: {result.pool} persons; ranked queries: {result.queries}",
        f"recall@{LIMIT}: {result.recall:.1%} ({result.found}/{result.wanted})",
        f"precision: {result.precision:.1%} ({result.correct}/{result.returned} returned pairs)",
        f"time per ranked query ({result.pool - 1} candidates): "
        f"mean {statistics.mean(result.per_query_ms):.2f} ms, "
        f"median {statistics.median(result.per_query_ms):.2f} ms, "
        f"max {max(result.per_query_ms):.2f} ms "
        f"({1000 * result.seconds / max(1, result.queries * (result.pool - 1)) * 1000:.1f} µs per pair)",
    ]
    if result.misses:
        lines.append(f"\nmisses by kind: {dict(Counter(k for k, *_ in result.misses))}")
        for kind, a, b, value in result.misses[:misses]:
            lines.append(f"  MISS {kind} {value:.3f}: {_show(a)}  <->  {_show(b)}")
    if result.false_positives:
        counts = Counter(k for k, *_ in result.false_positives)
        lines.append(f"\nfalse positives by kind: {dict(counts)}")
        for kind, a, b, value in result.false_positives[:misses]:
            lines.append(f"  FP {kind} {value:.3f}: {_show(a)}  <->  {_show(b)}")
    return "\n".join(lines)


def scale(persons: int, queries: int = 200, candidates: int = 2000) -> str:
    """Keys and speed at scale: `persons` realistic people indexed by their keys; for
    `queries` of them, the candidates sharing the most keys (at most `candidates`, as the
    service reads them) are ranked, and a search by the name scores 500 of them."""
    people = realistic_people(persons, seed=1)
    started = time.perf_counter()
    index: dict[str, list[int]] = defaultdict(list)
    counts = []
    for i, person in enumerate(people):
        keys = index_keys(person.name, person.aliases)
        counts.append(len(keys))
        for key in keys:
            index[key].append(i)
    indexing = time.perf_counter() - started
    rnd = random.Random(2)
    rank_ms: list[float] = []
    search_ms: list[float] = []
    sizes: list[int] = []
    for q in rnd.sample(range(persons), queries):
        query = people[q]
        hits: Counter[int] = Counter()
        for key in index_keys(query.name, query.aliases):
            hits.update(i for i in index[key] if i != q)
        found = [(i, people[i]) for i, _ in hits.most_common(candidates)]
        sizes.append(len(found))
        started = time.perf_counter()
        rank(query, found)
        rank_ms.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        for _, facts in found[:500]:
            query_score(query.name, facts.name, facts.aliases)
        search_ms.append((time.perf_counter() - started) * 1000)
    biggest = sorted(((len(v), k) for k, v in index.items()), reverse=True)[:6]

    def p95(values: list[float]) -> float:
        return sorted(values)[int(0.95 * (len(values) - 1))]

    return "\n".join(
        [
            f"\nscale: {persons} realistic persons indexed in {indexing:.1f} s",
            f"keys per person: mean {statistics.mean(counts):.2f}, max {max(counts)} "
            f"(100,000 persons: ~{statistics.mean(counts) * 100_000 / 1e6:.2f} M index rows)",
            "largest keys: " + ", ".join(f"{k} {n}" for n, k in biggest),
            f"candidates per match (at most {candidates}): mean {statistics.mean(sizes):.0f}",
            f"rank() per match: mean {statistics.mean(rank_ms):.1f} ms, "
            f"p95 {p95(rank_ms):.1f} ms, max {max(rank_ms):.1f} ms (cold caches included)",
            f"query_score() over 500 candidates: mean {statistics.mean(search_ms):.1f} ms, "
            f"p95 {p95(search_ms):.1f} ms",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", type=Path, default=DEFAULT_CSV)
    parser.add_argument("--misses", type=int, default=40, help="how many misses to print")
    parser.add_argument(
        "--scale", type=int, default=0, help="also index this many realistic persons and time"
    )
    args = parser.parse_args()
    print(report(evaluate(load(args.csv)), args.misses))
    if args.scale:
        print(scale(args.scale))


if __name__ == "__main__":
    main()
