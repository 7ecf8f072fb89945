"""Tracing by name: spellings across alphabets, diminutives, typos, keys, and possible matches."""

from __future__ import annotations

import random
from datetime import date
from itertools import combinations
from pathlib import Path

import iuliia  # type: ignore[import-untyped]
import pytest
from translitua import UkrainianKMU, UkrainianNational1996, UkrainianPassport2007, translit

from bench import matching as bench_matching
from bench.names import SURNAME_PAIRS, labelled_pairs, realistic_people, to_csv, typo
from bot.tracing.matching import (
    POSSIBLE_MATCH_THRESHOLD,
    PersonFacts,
    Reason,
    rank,
    score,
)
from bot.tracing.names import (
    Part,
    index_keys,
    latin_spellings,
    name_similarity,
    query_keys,
    query_score,
)

CSV = Path(__file__).parent / "data" / "matching_pairs.csv"

# The spelling groups of the issue: every member must find every other.
GIVEN_GROUPS = [
    ["Олександр", "Александр", "Oleksandr", "Aleksandr", "Alexander"],
    ["Катерина", "Екатерина", "Kateryna", "Ekaterina", "Yekaterina"],
    ["Наталія", "Наталья", "Natalia", "Nataliia", "Natalya"],
    ["Юрій", "Юрий", "Yurii", "Yuriy", "Iurii"],
    ["Сергій", "Сергей", "Serhii", "Sergey", "Sergei"],
    ["Олена", "Елена", "Olena", "Elena", "Yelena"],
    ["Ганна", "Анна", "Hanna", "Anna"],
    ["Микола", "Николай", "Mykola", "Nikolai", "Nikolay"],
    ["Дмитро", "Дмитрий", "Dmytro", "Dmitry", "Dmitrii"],
    ["Андрій", "Андрей", "Andrii", "Andrey", "Andriy"],
    ["Іван", "Иван", "Ivan"],
    ["Марія", "Мария", "Mariia", "Maria"],
    ["Софія", "София", "Софья", "Sofiia", "Sofia"],
    ["Ярослав", "Yaroslav", "Jarosław"],
    ["Євген", "Евгений", "Yevhen", "Evgenii", "Yevgeniy"],
]
SURNAME_GROUPS = [
    ["Ковальчук", "Kovalchuk", "Kowalczuk", "Koval'chuk"],
    ["Шевченко", "Shevchenko", "Szewczenko"],
    ["Коваленко", "Kovalenko"],
    ["Ковальський", "Ковальский", "Kovalskyi", "Kovalsky", "Kovalskiy", "Kowalski"],
    ["Кравець", "Кравец", "Kravets", "Kravec"],
    ["Ткачук", "Tkachuk"],
    ["Мельник", "Melnyk", "Melnik"],
    ["Бондаренко", "Bondarenko"],
    ["Олійник", "Олейник", "Oliinyk", "Oleynik", "Oleinik"],
    ["Гнатюк", "Hnatiuk", "Gnatyuk", "Hnatyuk"],
    ["Литвиненко", "Lytvynenko", "Litvinenko"],
    ["Ковальов", "Ковалёв", "Kovalov", "Kovalyov"],
]


def _finds(query: str, name: str, aliases: str | None = None) -> bool:
    return bool(query_keys(query) & index_keys(name, aliases))


@pytest.mark.parametrize("group", GIVEN_GROUPS, ids=lambda g: g[0])
def test_a_first_name_in_any_spelling_finds_the_others(group: list[str]) -> None:
    for a, b in combinations(group, 2):
        for x, y in ((a, b), (b, a)):
            assert index_keys(f"Ковальчук {x}") & index_keys(f"Kovalchuk {y}"), (x, y)
            assert _finds(x, f"Ковальчук {y} Петрович"), (x, y)
            assert query_score(x, f"Ковальчук {y} Петрович", None) >= 0.9, (x, y)
            match = name_similarity(f"Ковальчук {x}", None, f"{y} Kovalchuk", None)
            assert match.given in (Part.SAME, Part.SPELLING), (x, y, match)
            assert match.score >= 0.9


@pytest.mark.parametrize("group", SURNAME_GROUPS, ids=lambda g: g[0])
def test_a_surname_in_any_spelling_finds_the_others(group: list[str]) -> None:
    for a, b in combinations(group, 2):
        for x, y in ((a, b), (b, a)):
            assert _finds(x, f"{y} Олександр"), (x, y)
            assert query_score(x, f"{y} Олександр", None) >= 0.9, (x, y)
            match = name_similarity(f"{x} Олександр", None, f"Oleksandr {y}", None)
            assert match.surname in (Part.SAME, Part.SPELLING), (x, y, match)


def test_feminine_forms_of_a_surname_are_the_same_surname() -> None:
    for masculine, feminine in [
        ("Ковальський", "Ковальська"),
        ("Ковальский", "Ковальская"),
        ("Іванов", "Іванова"),
        ("Kovalskyi", "Kovalska"),
        ("Кузьмін", "Кузьміна"),
    ]:
        assert index_keys(masculine) & index_keys(feminine)
        assert name_similarity(masculine, None, feminine, None).surname == Part.SPELLING


def _official(text: str) -> set[str]:
    spellings = {translit(text, table) for table in (UkrainianKMU, UkrainianPassport2007)}
    spellings.add(translit(text, UkrainianNational1996))
    return spellings


def test_the_official_romanizations_find_the_cyrillic_name() -> None:
    """Ukraine's 2010 national system and its passports before it; Russia's passport
    systems (ICAO 2013, MVD 1997 and 2010), BGN/PCGN, Wikipedia's and the scientific one."""
    ukrainian = [
        "Ковальчук Олександр Петрович",
        "Шевченко Катерина Андріївна",
        "Олійник Наталія Сергіївна",
        "Гнатюк Юрій Васильович",
        "Кравець Сергій Іванович",
        "Ярошенко Єлизавета Ігорівна",
        "Щербак Ілля Григорович",
        "Захарченко Ксенія В'ячеславівна",
        "Жук Євгенія Олексіївна",
    ]
    russian = [
        "Ковальчук Александр Петрович",
        "Шевченко Екатерина Андреевна",
        "Олейник Наталья Сергеевна",
        "Гнатюк Юрий Васильевич",
        "Кравец Сергей Иванович",
        "Соловьёв Илья Фёдорович",
        "Щербаков Дмитрий Юрьевич",
        "Кузьмина Дарья Николаевна",
    ]
    schemas = [
        iuliia.ICAO_DOC_9303,
        iuliia.MVD_310,
        iuliia.MVD_782,
        iuliia.BGN_PCGN,
        iuliia.WIKIPEDIA,
        iuliia.SCIENTIFIC,
    ]
    cases = [(name, latin) for name in ukrainian for latin in _official(name)]
    cases += [(name, schema.translate(name)) for name in russian for schema in schemas]
    cases += [(name, latin) for name in ukrainian + russian for latin in latin_spellings(name)]
    for name, latin in cases:
        assert _finds(latin, name), (name, latin)
        assert _finds(name, latin), (name, latin)
        assert query_score(latin, name, None) >= 0.9, (name, latin)
        match = name_similarity(name, None, latin, None)
        assert match.surname in (Part.SAME, Part.SPELLING), (name, latin, match)
        assert match.given in (Part.SAME, Part.SPELLING), (name, latin, match)
        assert match.patronymic in (Part.SAME, Part.SPELLING), (name, latin, match)


def test_ukrainian_and_russian_forms_are_one_person() -> None:
    pairs = [
        ("Ковальчук Олександр Петрович", "Ковальчук Александр Петрович"),
        ("Олійник Наталія Сергіївна", "Олейник Наталья Сергеевна"),
        ("Бондаренко Ганна Миколаївна", "Бондаренко Анна Николаевна"),
        ("Литвиненко Олена Юріївна", "Литвиненко Елена Юрьевна"),
        ("Мельник Дмитро Олексійович", "Мельник Дмитрий Алексеевич"),
        ("Кравець Сергій Андрійович", "Кравец Сергей Андреевич"),
        ("Соловйов Михайло Іванович", "Соловьёв Михаил Иванович"),
        ("Чорна Катерина", "Черная Екатерина"),
    ]
    for uk, ru in pairs:
        match = name_similarity(uk, None, ru, None)
        assert match.score >= 0.9, (uk, ru, match)
        assert match.patronymic in (Part.MISSING, Part.SAME, Part.SPELLING)
        assert index_keys(uk) & index_keys(ru)


@pytest.mark.parametrize(
    ("diminutive", "full"),
    [
        ("Сашко", "Олександр"),
        ("Саша", "Олександр"),
        ("Шура", "Александр"),
        ("Sasha", "Oleksandr"),
        ("Саша", "Олександра"),
        ("Катя", "Катерина"),
        ("Катруся", "Катерина"),
        ("Наташа", "Наталія"),
        ("Юра", "Юрій"),
        ("Сергійко", "Сергій"),
        ("Серёжа", "Сергей"),
        ("Женя", "Євген"),
        ("Женя", "Євгенія"),
        ("Маша", "Марія"),
        ("Коля", "Микола"),
        ("Діма", "Дмитро"),
        ("Ліза", "Єлизавета"),
    ],
)
def test_a_diminutive_finds_the_full_name(diminutive: str, full: str) -> None:
    person = f"Ковальчук {full} Петрович"
    assert _finds(f"{diminutive} Ковальчук", person)
    assert _finds(diminutive, person)  # a first name alone is looked up too
    assert query_score(f"{diminutive} Ковальчук", person, None) >= 0.85
    match = name_similarity(f"{diminutive} Ковальчук", None, person, None)
    assert match.given == Part.DIMINUTIVE
    assert Reason.NAME_DIMINUTIVE in match.reasons
    # or written among the aliases of a record in Latin
    assert name_similarity(person, None, f"Kovalchuk {full}", diminutive).score >= 0.9


def test_a_diminutive_of_another_name_is_not_the_name() -> None:
    assert name_similarity("Ковальчук Олександр", None, "Ковальчук Маша", None).given == (
        Part.DIFFERENT
    )


def test_names_in_any_order() -> None:
    writings = [
        "Ковальчук Олександр Петрович",
        "Олександр Петрович Ковальчук",
        "Oleksandr Kovalchuk",
        "Kovalchuk Oleksandr",
        "Олександр Ковальчук",
    ]
    for a, b in combinations(writings, 2):
        match = name_similarity(a, None, b, None)
        assert match.score >= 0.9, (a, b)
        assert query_score(a, b, None) >= 0.9, (a, b)
        assert index_keys(a) & index_keys(b)
    assert Reason.NAME_ORDER in name_similarity(writings[0], None, writings[2], None).reasons
    assert Reason.SAME_NAME in name_similarity(writings[0], None, writings[4], None).reasons


def test_a_typo_still_finds_the_name() -> None:
    person = "Ковальчук Олександр Петрович"
    for typed in ["Ковальчкук", "Ковальчюк", "Кавальчук", "Коваьчук", "Ковалчук", "Kovalchyk"]:
        assert _finds(typed, person), typed
        assert _finds(f"{typed} Олександр", person), typed
        assert query_score(typed, person, None) >= 0.6, typed
        match = name_similarity(f"{typed} Олександр", None, person, None)
        assert match.surname in (Part.TYPO, Part.SPELLING), (typed, match)
    for typed in ["Олексанр", "Олекасндр", "Oleksnadr"]:
        assert _finds(f"Ковальчук {typed}", person), typed
        assert _finds(typed, person), typed  # a first name with a typo, alone
        assert name_similarity(f"Ковальчук {typed}", None, person, None).given == Part.TYPO


def test_one_typo_in_a_surname_mostly_keeps_a_shared_key() -> None:
    rnd = random.Random(5)
    shared = total = 0
    for uk, _ in SURNAME_PAIRS:
        for _ in range(5):
            typed = typo(uk, rnd)
            if typed == uk:
                continue
            total += 1
            shared += bool(query_keys(typed) & index_keys(f"{uk} Олександр"))
    assert shared / total >= 0.9, (shared, total)


def test_keys_are_short_ascii_and_few() -> None:
    people = realistic_people(2000, seed=3)
    counts = []
    for person in people:
        keys = index_keys(person.name, person.aliases)
        counts.append(len(keys))
        assert 1 <= len(keys) <= 12, person
        for key in keys:
            assert key.isascii() and len(key) <= 32, key
        # a surname key, so that a common first name is never all there is
        assert any(k.startswith("s:") for k in keys), person
    assert sum(counts) / len(counts) <= 12  # 100,000 persons: at most 1.2 M rows
    assert sum(counts) / len(counts) >= 4


def test_first_name_and_surname_keys_are_told_apart() -> None:
    keys = index_keys("Роман Олександр")  # Роман may be a surname or a first name
    assert "g:oleksandr" in keys and "g:roman" in keys
    assert any(k.startswith("s:") for k in keys)
    surname_keys = index_keys("Олександр Ковальчук")
    assert "g:oleksandr" in surname_keys and "s:kvl4k" in surname_keys
    # a search with a surname leaves the bare first name out: it would select thousands
    assert "g:oleksandr" not in query_keys("Олександр Ковальчук")
    assert "g:oleksandr" in query_keys("Олександр")


def test_search_ranks_the_likeliest_first() -> None:
    people = [
        "Ковальчук Олександр Петрович",
        "Kovalchuk Oleksandr",
        "Ковальчук Марія",
        "Коваленко Олександр",
        "Петренко Олександр",
        "Ковальчкук Олександр",
    ]
    ranked = sorted(people, key=lambda p: -query_score("Ковальчук Олександр", p, None))
    assert ranked[:3] == [people[0], people[1], people[5]]
    assert query_score("Ковальчук", "Ковальчук Марія Іванівна", None) >= 0.95  # surname alone
    assert query_score("Ковальчук Олександр", "Петренко Олександр", None) < 0.6
    assert query_score("Шевченко", "Ковальчук Олександр", None) == 0.0


def _facts(
    name: str,
    sex: str | None,
    born: date | int | None,
    *places: str,
    aliases: str | None = None,
    approx: bool = False,
) -> PersonFacts:
    return PersonFacts(
        name=name,
        aliases=aliases,
        sex=sex,
        birth_date=born if isinstance(born, date) else None,
        birth_year=born if isinstance(born, int) else None,
        birth_year_approx=approx,
        places=places,
    )


SOUGHT = _facts(
    "Ковальчук Олександр Петрович", "male", date(2012, 3, 14), "Маріуполь, Донецька обл."
)


def test_the_same_child_written_elsewhere_is_a_possible_match() -> None:
    for other in [
        _facts("Oleksandr Kovalchuk", "male", date(2012, 3, 14), "Mariupol"),
        _facts("Ковальчук Александр Петрович", "male", 2012, "г. Мариуполь"),
        _facts("Саша Ковальчук", None, 2011, "Таганрог, Ростовская обл.", approx=True),
        _facts("Ковальчкук Олександр", "male", None),
        _facts("Aleksandr Kovalchuk", "male", 2012, "Taganrog", aliases="Сашко"),
    ]:
        result = score(SOUGHT, other)
        assert result.score >= POSSIBLE_MATCH_THRESHOLD, other
    result = score(SOUGHT, _facts("Oleksandr Kovalchuk", "male", date(2012, 3, 14), "Mariupol"))
    assert result.reasons[0] in (Reason.SAME_SURNAME_OTHER_SPELLING, Reason.SAME_BIRTH_DATE)
    assert {Reason.SAME_BIRTH_DATE, Reason.SAME_PLACE, Reason.SAME_SEX} <= set(result.reasons)
    near = score(SOUGHT, _facts("Ковальчук Олександр", None, 2011, approx=True))
    assert Reason.NEAR_BIRTH_YEAR in near.reasons
    region = score(SOUGHT, _facts("Ковальчук Олександр", None, 2012, "Донецьк"))
    assert Reason.SAME_REGION in region.reasons


def test_hard_negatives_stay_below_the_threshold() -> None:
    negatives = [
        # sibling: same surname, patronymic and town, another first name, born 3 years later
        _facts("Ковальчук Марія Петрівна", "female", date(2015, 6, 2), "Маріуполь, Донецька обл."),
        # twin of the other sex, with the similar name
        _facts("Ковальчук Олександра Петрівна", "female", date(2012, 3, 14), "Маріуполь"),
        # twin brother
        _facts("Ковальчук Андрій Петрович", "male", date(2012, 3, 14), "Маріуполь"),
        # namesake: born years apart, elsewhere, another father
        _facts("Ковальчук Олександр Іванович", "male", date(2008, 1, 9), "Львів"),
        # cousin: a year apart, another father
        _facts("Ковальчук Олександр Сергійович", "male", date(2013, 5, 30), "Маріуполь"),
        # similar surname, same first name and year
        _facts("Коваленко Олександр Петрович", "male", date(2012, 8, 1), "Маріуполь"),
        # another child born the same year in the same town
        _facts("Петренко Іван Олегович", "male", date(2012, 3, 14), "Маріуполь"),
    ]
    for other in negatives:
        assert score(SOUGHT, other).score < POSSIBLE_MATCH_THRESHOLD, other
    similar = [
        ("Іван Ковальчук", "male", "Іванна Ковальчук", "female"),
        ("Андрій Петренко", "male", "Андріана Петренко", "female"),
        ("Євген Мельник", "male", "Євгенія Мельник", "female"),
        ("Ярослав Бойко", "male", "Ярослава Бойко", "female"),
    ]
    for a, a_sex, b, b_sex in similar:
        born = date(2014, 4, 4)
        assert (
            score(_facts(a, a_sex, born), _facts(b, b_sex, born)).score < POSSIBLE_MATCH_THRESHOLD
        )
        # the names alone tell the sex too
        assert score(_facts(a, None, born), _facts(b, None, born)).score < POSSIBLE_MATCH_THRESHOLD


def test_another_sex_or_a_distant_birth_pushes_the_score_down_hard() -> None:
    same = _facts("Oleksandr Kovalchuk", "male", 2012, "Mariupol")
    other_sex = _facts("Oleksandr Kovalchuk", "female", 2012, "Mariupol")
    far = _facts("Oleksandr Kovalchuk", "male", 2016, "Mariupol")
    assert score(SOUGHT, same).score >= 0.8
    assert score(SOUGHT, other_sex).score < 0.1
    assert score(SOUGHT, far).score < 0.1
    approx_far = _facts("Oleksandr Kovalchuk", "male", 2015, "Mariupol", approx=True)
    assert score(SOUGHT, approx_far).score < POSSIBLE_MATCH_THRESHOLD


def test_reasons_are_few_and_coded() -> None:
    assert len(Reason) <= 14
    assert all(reason.value.isascii() and len(reason.value) <= 30 for reason in Reason)


def test_rank_returns_the_best_at_or_above_the_threshold() -> None:
    candidates = [
        ("same", _facts("Oleksandr Kovalchuk", "male", date(2012, 3, 14), "Mariupol")),
        ("dim", _facts("Саша Ковальчук", None, 2012, "Маріуполь")),
        ("sibling", _facts("Ковальчук Марія Петрівна", "female", 2015, "Маріуполь")),
        ("other", _facts("Петренко Іван", "male", 2012, "Маріуполь")),
    ] + [(f"x{i}", p) for i, p in enumerate(realistic_people(300, seed=9))]
    ranked = rank(SOUGHT, candidates, limit=5)
    assert [key for key, _ in ranked][:2] == ["same", "dim"]
    assert all(found.score >= POSSIBLE_MATCH_THRESHOLD for _, found in ranked)
    assert [found.score for _, found in ranked] == sorted(
        (f.score for _, f in ranked), reverse=True
    )
    assert len(rank(SOUGHT, candidates, limit=1)) == 1


def test_the_labelled_set_is_the_generators_output() -> None:
    text = CSV.read_text(encoding="utf-8")
    assert text == to_csv(labelled_pairs())
    pairs = bench_matching.load(CSV)
    positives = sum(p.same for p in pairs)
    assert len(pairs) >= 320
    assert 0.4 <= positives / len(pairs) <= 0.6
    assert len({p.kind for p in pairs if not p.same}) >= 6


def test_recall_and_precision_on_the_labelled_set() -> None:
    # Speed is measured by bench/matching.py and bench/search.py, not here.
    result = bench_matching.evaluate(bench_matching.load(CSV))
    assert result.recall >= 0.95, bench_matching.report(result, 20)
    assert result.precision >= 0.90, bench_matching.report(result, 20)
