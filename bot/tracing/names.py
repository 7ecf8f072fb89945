"""Names in any alphabet, spelling and order: index keys, search scores, name similarity.

A name ("Ковальчук Олександр Петрович", "Oleksandr Kovalchuk", "Саша Ковальчук") is cut
into words; each word gets its phonetic form (`phonetic.phon`), the first names are
recognised in a table of the same names across Ukrainian, Russian and other languages
with their diminutives (`given_names`), a patronymic by its ending and place, the rest
are surnames. Aliases (nicknames, other spellings, free text) add alternatives to the
first name or the surname.

Index keys (`index_keys`, `query_keys`) are short ASCII strings, a prefix telling the
part of the name:

- ``g:<id>``: a first name, any spelling or diminutive (``g:oleksandr``); common, so
  never the only key of a person with a surname, and left out of a search's keys when
  the search has a surname;
- ``s:<skeleton>``: a surname's consonant skeleton (``s:kvl4k`` for Ковальчук, Kovalchuk,
  Kowalczuk); selective;
- ``d:``/``e:``: a surname's typo keys (`_typo_keys`): two writings of it with one edit
  anywhere still share one;
- ``gs:<id>.<consonants>``: first name and the surname's first three consonants: selective.

A person sharing more keys with a query is the likelier candidate: the same name in
another spelling shares eight keys, the same surname six, a surname with a typo one or
more, a namesake by first name alone one.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from typing import NamedTuple

from rapidfuzz import fuzz
from rapidfuzz.distance import OSA

from bot.tracing import given_names
from bot.tracing.phonetic import (
    FEMALE_SURNAME_ENDINGS,
    MALE_SURNAME_ENDINGS,
    compact,
    is_cyrillic,
    phon,
    skeleton,
    surname_stem,
    typed_form,
)
from bot.tracing.reasons import Reason

__all__ = [
    "NameMatch",
    "Part",
    "Reason",
    "index_keys",
    "latin_spellings",
    "name_similarity",
    "query_keys",
    "query_score",
]

MAX_KEYS = 12
MAX_KEY_LENGTH = 32
_MAX_IDS_PER_WORD = 4  # Слава stands for a dozen names: its keys would select nothing
_MAX_SLOTS = 4

_WORD = re.compile(r"[^\W\d_]+(?:['ʼ’`][^\W\d_]+)*")
_APOSTROPHES = re.compile(r"['ʼ’`]")
# Words of free text that are not names ("невідомо", "обл.", "aka", "або").
_NOISE = frozenset(
    phon(w)
    for w in "невідомо неизвестно unknown нема немає нет н д nd na aka або или or чи також "
    "также also та и і and прізвисько прозвище nickname вдома дома home називали звали "
    "called кличка ласкаво мама тато папа брат сестра син дочка донька сын дочь "
    "обл область oblast region край р н рн район м г с смт пгт вул ул street".split()
)


class Role(StrEnum):
    GIVEN = "g"
    SURNAME = "s"
    EITHER = "e"  # two first names and no other clue ("Роман Назар"): either may be the surname


class Part(StrEnum):
    """How one part of two names compares."""

    SAME = "same"  # written the same way
    SPELLING = "spelling"  # the same in another alphabet or spelling, uk/ru form
    DIMINUTIVE = "diminutive"
    TYPO = "typo"
    DIFFERENT = "different"
    MISSING = "missing"  # one of the two names lacks this part


@dataclass(frozen=True, slots=True, eq=False)  # one object per word (cached): identity is equality
class Word:
    text: str  # as written, lower case
    form: str  # phonetic form
    stem: str  # the form with a feminine surname ending made masculine
    skel: str  # consonant skeleton of the stem
    compact: str  # the stem with one sign per letter (ш, ч, я ...), for edit distances
    letters: str  # the letters as typed, lower case (for typos within one alphabet)
    cyrillic: bool
    ids: frozenset[str]  # the first names it may be
    full: frozenset[str]  # the first names it is a full form of
    guessed: bool  # ids found by a fuzzy look-up (a typo)
    patronymic_sex: str | None  # "male"/"female" when it reads as a patronymic
    surname_sex: str | None  # "male"/"female" when its ending tells (Іванова, Ковальський)
    signature: tuple[str, ...]  # what another spelling of it shares (see ParsedName)


class Slot(NamedTuple):
    role: Role
    words: tuple[Word, ...]  # the word of the name first, then the aliases' alternatives
    position: int  # where in the name it was written (aliases: after the name)


class ParsedName(NamedTuple):
    slots: tuple[Slot, ...]
    patronymic: Word | None
    father: frozenset[str]  # the father's first name, from the patronymic
    sex: str | None  # as the name tells it: patronymic, first name, surname ending
    # What two names that may be the same share at least one of (the index keys' kind):
    # first-name ids, surname skeletons, their typo keys.
    signature: tuple[str, ...]
    words: tuple[Word, ...]  # every word of the slots, alternatives too


def _surname_sex(form: str) -> str | None:
    if len(form) <= 4:
        return None
    if form.endswith(FEMALE_SURNAME_ENDINGS):
        return "female"
    if form.endswith(MALE_SURNAME_ENDINGS):
        return "male"
    return None


def _typo_keys(skel: str, letters: str) -> list[str]:
    """Keys that two writings of a surname with one edit anywhere still share one of.

    ``d:`` its first four consonants, and each three of them (Ковальчук: kvl4, vl4, kl4,
    kv4, kvl): an edit after the fourth consonant keeps them all, one among them keeps
    one, a consonant lost or gained keeps one too (Мельник mlnk / Мельни mln). A surname
    of three consonants or fewer adds ``e:``, its letters and its letters with one left
    out (Бойко: boiko, oiko, biko, boko, boio, boik)."""
    head = skel[:4]
    keys = ["d:" + head] if len(head) >= 3 else []
    if len(head) == 4:
        keys += ["d:" + head[:i] + head[i + 1 :] for i in range(4)]
    elif 4 <= len(letters) <= 7:
        keys += ["e:" + letters]
        keys += ["e:" + letters[:i] + letters[i + 1 :] for i in range(len(letters))]
    return list(dict.fromkeys(keys))


@lru_cache(maxsize=32768)
def _word(text: str, guessed: bool = False) -> Word:
    form = phon(text)
    stem = surname_stem(form)
    skel = skeleton(stem) or stem
    letters = _APOSTROPHES.sub("", text.lower())
    cyrillic = is_cyrillic(text)
    found = given_names.guess(form, letters) if guessed else given_names.lookup(form, not cyrillic)
    signature = [*found.ids, "s:" + skel, *_typo_keys(skel, compact(stem))]
    return Word(
        text=text.lower(),
        form=form,
        stem=stem,
        skel=skel,
        compact=compact(stem),
        letters=letters,
        cyrillic=cyrillic,
        ids=found.ids,
        full=found.full,
        guessed=found.guessed,
        patronymic_sex=given_names.patronymic_sex(form),
        surname_sex=_surname_sex(form),
        signature=tuple(signature),
    )


@lru_cache(maxsize=8192)
def _words(text: str | None, aliases: bool = False) -> tuple[str, ...]:
    if not text:
        return ()
    found = []
    for raw in _WORD.findall(text):
        form = phon(raw)
        if len(form) < 2 or form in _NOISE:
            continue
        # In free text only the capitalised words and known first names are names.
        if aliases and not raw[0].isupper() and not given_names.lookup(form, raw.isascii()).ids:
            continue
        found.append(raw)
    return tuple(found)


def _roles(words: list[Word], patronymic_at: int) -> dict[int, Role]:
    """Which word is the first name: a known one, a typo of one, the one before the
    patronymic; with no clue, either."""
    rest = [i for i in range(len(words)) if i != patronymic_at]
    known = [i for i in rest if words[i].ids]
    if len(rest) == 1:
        word = words[rest[0]]
        return {rest[0]: Role.GIVEN if word.ids and word.surname_sex is None else Role.SURNAME}
    if known and len(known) < len(rest):
        return {i: Role.GIVEN if i in known else Role.SURNAME for i in rest}
    if known:  # every word is a first name: the one before the patronymic is
        if patronymic_at > 0:
            return {i: Role.GIVEN if i == patronymic_at - 1 else Role.SURNAME for i in rest}
        return dict.fromkeys(rest, Role.EITHER)
    given_at = patronymic_at - 1 if patronymic_at > 0 else -1
    if given_at < 0 and rest:
        scores = {i: given_names.guess_score(words[i].form, words[i].letters) for i in rest}
        best = max(rest, key=scores.__getitem__)
        if scores[best] >= 84 and words[best].surname_sex is None:
            given_at = best
    if given_at < 0:
        return dict.fromkeys(rest, Role.EITHER)
    return {i: Role.GIVEN if i == given_at else Role.SURNAME for i in rest}


@lru_cache(maxsize=8192)
def parse_name(name: str, aliases: str | None = None) -> ParsedName:
    """The slots (first name, surnames) of a name, the patronymic, and the sex it tells."""
    raw = _words(name)[:6]
    words = [_word(w) for w in raw]
    patronymic_at = _patronymic_at(words)
    roles = _roles(words, patronymic_at)
    slots: dict[int, tuple[Role, list[Word]]] = {}
    for i, role in roles.items():
        if role == Role.GIVEN and not words[i].ids:
            words[i] = _word(raw[i], guessed=True)  # a typo of a first name
        slots[i] = (role, [words[i]])

    # The aliases: alternatives of the first name or the surname.
    extra = len(words)
    for text in _words(aliases, aliases=True)[:8]:
        word = _word(text)
        if word.patronymic_sex and not word.ids:
            continue
        role = Role.GIVEN if word.ids else Role.SURNAME
        target = next((i for i, (r, _) in slots.items() if r == role), None)
        if target is None:
            target = next((i for i, (r, _) in slots.items() if r == Role.EITHER), None)
        if target is None:
            slots[extra] = (role, [word])
            extra += 1
        elif all(word.form != w.form for w in slots[target][1]):
            slots[target][1].append(word)
    parsed_slots = tuple(
        Slot(role, tuple(ws[:4]), i) for i, (role, ws) in sorted(slots.items())[:_MAX_SLOTS]
    )
    all_words = tuple(w for slot in parsed_slots for w in slot.words)

    patronymic = words[patronymic_at] if patronymic_at >= 0 else None
    sex = patronymic.patronymic_sex if patronymic else None
    if sex is None:
        given_ids = frozenset(
            i for slot in parsed_slots if slot.role == Role.GIVEN for i in slot.words[0].ids
        )
        sex = given_names.sex_of(given_ids) if given_ids else None
    if sex is None:
        sexes = {s.words[0].surname_sex for s in parsed_slots if s.role == Role.SURNAME}
        sexes.discard(None)
        sex = sexes.pop() if len(sexes) == 1 else None
    father = given_names.father_of(patronymic.form) if patronymic else frozenset()
    signature = tuple(dict.fromkeys(key for word in all_words for key in word.signature))
    return ParsedName(parsed_slots, patronymic, father, sex, signature, all_words)


# --- keys -----------------------------------------------------------------------------


def _surname_keys(word: Word) -> list[str]:
    return ["s:" + word.skel[:24], *_typo_keys(word.skel, word.compact)]


def _given_ids(word: Word) -> frozenset[str]:
    return word.ids if len(word.ids) <= _MAX_IDS_PER_WORD else frozenset()


def _keys(parsed: ParsedName, bare_given: bool) -> list[str]:
    """Keys in the order of their worth: the first MAX_KEYS are kept."""
    main_given = [s.words[0] for s in parsed.slots if s.role != Role.SURNAME and s.words[0].ids]
    main_surnames = [s.words[0] for s in parsed.slots if s.role != Role.GIVEN]
    keys: list[str] = []
    for word in main_surnames:
        keys += _surname_keys(word)[:1]
    given_ids = sorted({i for w in main_given for i in _given_ids(w)})
    if bare_given or not main_surnames:
        keys += ["g:" + i for i in given_ids]
    for word in main_surnames:
        keys += [f"gs:{i}.{word.skel[:3]}" for i in given_ids[:2]]
    for word in main_surnames:
        keys += _surname_keys(word)[1:]
    for slot in parsed.slots:  # the aliases' alternatives
        for word in slot.words[1:]:
            if word.ids and slot.role != Role.SURNAME:
                if bare_given or not main_surnames:
                    keys += ["g:" + i for i in sorted(_given_ids(word))]
            else:
                keys += _surname_keys(word)
    unique = list(dict.fromkeys(k[:MAX_KEY_LENGTH] for k in keys))
    return unique[:MAX_KEYS]


def index_keys(name: str, aliases: str | None = None) -> set[str]:
    """The keys to store for a person (at most 12, each at most 32 ASCII characters)."""
    return set(_keys(parse_name(name, aliases), bare_given=True))


def query_keys(text: str) -> set[str]:
    """The keys to look up for a search text: a name, a surname, a first name, with typos.

    With a surname in the text, a first name alone selects nothing: its bare ``g:`` key is
    left out, the combined keys stay. A single word that may be either (Роман, Лука) is
    looked up as both; an unknown single word also as the first name it may be a typo of.
    """
    return set(_query_keys(text))


@lru_cache(maxsize=4096)
def _query_keys(text: str) -> frozenset[str]:
    parsed = parse_name(text)
    keys = set(_keys(parsed, bare_given=False))
    if len(parsed.slots) == 1:
        word = parsed.slots[0].words[0]
        keys.update(_surname_keys(word))
        ids = word.ids or given_names.guess(word.form, word.letters).ids
        keys.update("g:" + i for i in ids if len(ids) <= _MAX_IDS_PER_WORD)
    return frozenset(keys)


# --- comparing words ------------------------------------------------------------------


_PAIRS: dict[tuple[Word, Word], tuple[Part, float, bool]] = {}
_MAX_PAIRS = 100_000


_RUNS = re.compile(r"([aeiou]*)([^aeiou]+)")
_MID_VOWELS = frozenset("ieo")


def _vowels_and_consonants(stem: str) -> tuple[list[str], list[str]]:
    vowels, consonants = [], []
    for vowel, consonant in _RUNS.findall(stem):
        # A soft vowel's i (ia, io, ei, oi) says little across spellings: drop it.
        vowels.append(vowel.replace("i", "") if len(vowel) > 1 else vowel)
        consonants.append(consonant)
    return vowels, consonants


def _same_vowel_classes(a: str, b: str) -> bool:
    """The same consonants, and vowels that differ only the way Ukrainian and Russian forms
    do (і for е or о, endings aside): Біла / Белая, Чорна / Черная, Кисіль / Кисель."""
    a_vowels, a_consonants = _vowels_and_consonants(a)
    b_vowels, b_consonants = _vowels_and_consonants(b)
    if a_consonants != b_consonants or len(a_consonants) < 2:
        return False
    return all(
        x == y or (len(x) == len(y) == 1 and x in _MID_VOWELS and y in _MID_VOWELS)
        for x, y in zip(a_vowels, b_vowels, strict=True)
    )


def _one_slip(a: Word, b: Word) -> bool:
    """One slip of the finger: Ткачук / Ткаук, Соловьёв / Сооовьёв; not Мельник / Мельничук,
    Бондаренко / Гончаренко. Counted on the letters as typed when both are in one alphabet."""
    if a.cyrillic == b.cyrillic:
        return _slip(a.letters, b.letters)
    return _slip(a.compact, b.compact) or _slip(typed_form(a.text), typed_form(b.text))


def _slip(x: str, y: str) -> bool:
    shorter = min(len(x), len(y))
    if shorter < 4 and not (shorter == 3 and max(len(x), len(y)) == 4):  # Єго / Єгор
        return False
    return OSA.distance(x, y, score_cutoff=1) <= 1


def _compare_forms(a: Word, b: Word) -> tuple[Part, float]:
    if a.form == b.form:
        return Part.SAME, 1.0
    if a.ids and b.ids:
        if a.ids & b.ids:
            if a.guessed or b.guessed:
                return Part.TYPO, 0.85
            if a.full & b.full:
                return Part.SPELLING, 0.95
            return Part.DIMINUTIVE, 0.9
        if not a.guessed and not b.guessed:
            # Two known names (Іван, Іванна) differ, unless one is only a typo that happens
            # to spell another name (Іаан reads as Ян): a form nobody writes.
            if a.cyrillic and b.cyrillic and _one_slip(a, b):
                if not (given_names.is_spelling(a.letters) and given_names.is_spelling(b.letters)):
                    return Part.TYPO, 0.8
            return Part.DIFFERENT, 0.0
    if a.stem == b.stem:
        return Part.SPELLING, 0.97  # Іванов / Іванова
    ratio = fuzz.ratio(a.compact, b.compact) / 100
    if a.skel == b.skel and (ratio >= 0.75 or _same_vowel_classes(a.stem, b.stem)):
        # Vowels only: Олійник / Олейник, Федорів / Федоров, Чорна / Черная.
        return Part.SPELLING, max(0.9, ratio)
    if _one_slip(a, b):
        return Part.TYPO, max(ratio, 0.75)
    # An unknown word and a first name: a typo of one of its forms or diminutives (Стфа).
    if a.ids and not b.ids and given_names.near_form(b.compact, a.ids, not b.cyrillic):
        return Part.TYPO, 0.8
    if b.ids and not a.ids and given_names.near_form(a.compact, b.ids, not a.cyrillic):
        return Part.TYPO, 0.8
    return Part.DIFFERENT, ratio * 0.5


def compare_words(a: Word, b: Word) -> tuple[Part, float, bool]:
    """How two words compare: the outcome, a similarity 0..1, and whether both may be
    first names (cached per pair of words)."""
    found = _PAIRS.get((a, b))
    if found is None:
        part, value = _compare_forms(a, b)
        if part == Part.SAME and a.text != b.text:
            part = Part.SPELLING
        found = (part, value, bool(a.ids and b.ids))
        if len(_PAIRS) >= _MAX_PAIRS:
            _PAIRS.clear()
        _PAIRS[a, b] = found
    return found


def _compare_slots(a: Slot, b: Slot) -> tuple[Part, float, bool]:
    """The best comparison of two slots' alternatives."""
    if len(a.words) == 1 and len(b.words) == 1:
        return compare_words(a.words[0], b.words[0])
    best = (Part.DIFFERENT, -1.0, False)
    for x in a.words:
        for y in b.words:
            found = compare_words(x, y)
            if found[1] > best[1]:
                best = found
    return best


# --- name similarity ------------------------------------------------------------------

_PART_VALUE = {
    Part.SAME: 1.0,
    Part.SPELLING: 0.95,
    Part.DIMINUTIVE: 0.9,
    Part.TYPO: 0.8,
    Part.DIFFERENT: 0.1,
    Part.MISSING: 0.5,
}
# Evidence (log-odds) of each part's outcome for "the same person".
SURNAME_EVIDENCE = {
    Part.SAME: 4.0,
    Part.SPELLING: 3.7,
    Part.DIMINUTIVE: 3.7,
    Part.TYPO: 2.6,
    Part.DIFFERENT: -4.0,
    Part.MISSING: 0.0,
}
GIVEN_EVIDENCE = {
    Part.SAME: 3.0,
    Part.SPELLING: 2.9,
    Part.DIMINUTIVE: 2.5,
    Part.TYPO: 2.0,
    Part.DIFFERENT: -4.5,
    Part.MISSING: 0.0,
}
# Two first names both known and different (twins, siblings): stronger than an unknown one.
KNOWN_DIFFERENT_GIVEN_EVIDENCE = -6.0
PATRONYMIC_EVIDENCE = {
    Part.SAME: 1.2,
    Part.SPELLING: 1.2,
    Part.DIMINUTIVE: 1.0,
    Part.TYPO: 0.8,
    Part.DIFFERENT: -3.5,
    Part.MISSING: 0.0,
}


@dataclass(frozen=True, slots=True)
class NameMatch:
    score: float  # 0..1
    reasons: tuple[Reason, ...]  # strongest first
    surname: Part = Part.MISSING
    given: Part = Part.MISSING
    patronymic: Part = Part.MISSING
    evidence: float = 0.0  # log-odds for "the same person" from the names alone


def _orders(n: int, m: int) -> list[tuple[tuple[int, int], ...]]:
    if n <= m:
        return [tuple(zip(range(n), p, strict=True)) for p in itertools.permutations(range(m), n)]
    return [tuple(zip(p, range(m), strict=True)) for p in itertools.permutations(range(n), m)]


_ORDERS = {(n, m): _orders(n, m) for n in range(_MAX_SLOTS + 1) for m in range(_MAX_SLOTS + 1)}
_ROLE_FIT = {
    (x, y): 0.0 if Role.EITHER in (x, y) else (0.3 if x == y else -0.3) for x in Role for y in Role
}
_STRENGTH = {Part.SAME: 4, Part.SPELLING: 3, Part.DIMINUTIVE: 2, Part.TYPO: 1, Part.DIFFERENT: 0}


def _part_of(a: Slot, b: Slot, given: bool) -> str:
    roles = {a.role, b.role}
    if Role.GIVEN in roles and Role.SURNAME not in roles:
        return "g"
    if Role.SURNAME in roles and Role.GIVEN not in roles:
        return "g" if given and Role.EITHER in roles else "s"
    return "g" if given else "s"


def compare_names(a: ParsedName, b: ParsedName) -> NameMatch:
    """How two parsed names compare, part by part, whatever their order."""
    a_slots, b_slots = a.slots, b.slots
    cells = [[_compare_slots(x, y) for y in b_slots] for x in a_slots]
    # The words are paired to agree most, surnames with surnames and first names with first
    # names where that is known.
    fit = [
        [cells[i][j][1] + _ROLE_FIT[x.role, y.role] for j, y in enumerate(b_slots)]
        for i, x in enumerate(a_slots)
    ]
    best: tuple[tuple[int, int], ...] = ()
    best_total = -9.0
    for order in _ORDERS[len(a_slots), len(b_slots)]:
        total = 0.0
        for i, j in order:
            total += fit[i][j]
        if total > best_total:
            best, best_total = order, total
    surname: tuple[Part, int, int] | None = None
    given: tuple[Part, int, int] | None = None
    for i, j in best:
        part, _, both_given = cells[i][j]
        if _part_of(a_slots[i], b_slots[j], both_given) == "g":
            if given is None or _STRENGTH[part] > _STRENGTH[given[0]]:
                given = (part, i, j)
        elif surname is None or _STRENGTH[part] > _STRENGTH[surname[0]]:
            surname = (part, i, j)
    if given is None and surname is not None:
        # No first name recognised on either side (names missing from the table): of two
        # words that may be either, the weaker match is taken for the first name.
        either = [
            (cells[i][j][0], i, j)
            for i, j in best
            if Role.EITHER in (a_slots[i].role, b_slots[j].role)
            and (i, j) != (surname[1], surname[2])
        ]
        if either:
            given = min(either, key=lambda found: _STRENGTH[found[0]])
    surname_part = surname[0] if surname else Part.MISSING
    given_part = given[0] if given else Part.MISSING

    patronymic_part = Part.MISSING
    if a.patronymic is not None and b.patronymic is not None:
        if a.patronymic.form == b.patronymic.form:
            patronymic_part = Part.SAME if a.patronymic.text == b.patronymic.text else Part.SPELLING
        elif a.father & b.father:
            patronymic_part = Part.SPELLING
        elif fuzz.ratio(a.patronymic.form, b.patronymic.form) >= 85:
            patronymic_part = Part.TYPO
        else:
            patronymic_part = Part.DIFFERENT

    given_evidence = GIVEN_EVIDENCE[given_part]
    if given_part == Part.DIFFERENT and given is not None and cells[given[1]][given[2]][1] == 0.0:
        given_evidence = KNOWN_DIFFERENT_GIVEN_EVIDENCE
    evidence = (
        SURNAME_EVIDENCE[surname_part] + given_evidence + PATRONYMIC_EVIDENCE[patronymic_part]
    )
    value = 0.55 * _PART_VALUE[surname_part] + 0.45 * _PART_VALUE[given_part]
    if patronymic_part in (Part.SAME, Part.SPELLING):
        value = min(1.0, value + 0.03)
    elif patronymic_part == Part.DIFFERENT:
        value *= 0.7

    reasons: list[Reason] = []
    if surname_part == Part.SAME and given_part == Part.SAME:
        reasons.append(Reason.SAME_NAME)
    else:
        if surname_part == Part.SAME:
            reasons.append(Reason.SAME_SURNAME)
        elif surname_part in (Part.SPELLING, Part.DIMINUTIVE):
            reasons.append(Reason.SAME_SURNAME_OTHER_SPELLING)
        if given_part == Part.SPELLING:
            reasons.append(Reason.NAME_OTHER_SPELLING)
        elif given_part == Part.DIMINUTIVE:
            reasons.append(Reason.NAME_DIMINUTIVE)
        if Part.TYPO in (surname_part, given_part):
            reasons.append(Reason.NAME_TYPO)
    if patronymic_part in (Part.SAME, Part.SPELLING):
        reasons.append(Reason.SAME_PATRONYMIC)
    if surname and given and surname_part != Part.DIFFERENT and given_part != Part.DIFFERENT:
        a_order = a.slots[surname[1]].position < a.slots[given[1]].position
        b_order = b.slots[surname[2]].position < b.slots[given[2]].position
        if a_order != b_order:
            reasons.append(Reason.NAME_ORDER)
    return NameMatch(
        score=round(value, 4),
        reasons=tuple(reasons),
        surname=surname_part,
        given=given_part,
        patronymic=patronymic_part,
        evidence=evidence,
    )


def name_similarity(
    a_name: str, a_aliases: str | None, b_name: str, b_aliases: str | None
) -> NameMatch:
    """How alike two persons' names are, in any alphabet, spelling and order."""
    return compare_names(parse_name(a_name, a_aliases), parse_name(b_name, b_aliases))


# --- search ---------------------------------------------------------------------------

_WORD_SCORE = {
    Part.SAME: 1.0,
    Part.SPELLING: 0.95,
    Part.DIMINUTIVE: 0.9,
}


def _word_score(query: Word, word: Word) -> float:
    part, value, _ = compare_words(query, word)
    if part == Part.SAME:
        return 1.0
    if part == Part.SPELLING and query.form == word.form:
        return 0.99  # the same, in another alphabet
    if part in _WORD_SCORE:
        return _WORD_SCORE[part]
    if part == Part.TYPO:
        return 0.6 + 1.5 * (min(value, 0.99) - 0.8)
    if len(query.form) >= 4 and word.form.startswith(query.form):
        return 0.8  # typed only the beginning
    return 0.0


def _patronymic_at(words: list[Word] | tuple[Word, ...]) -> int:
    """Where the patronymic is (-1: none): never first; after a first name, or in a name of
    three words or more, or feminine (-івна, -овна are no surnames)."""
    for i, word in enumerate(words):
        if word.patronymic_sex is None or i == 0 or word.ids:
            continue
        if len(words) >= 3 or word.patronymic_sex == "female" or words[i - 1].ids:
            return i
    return -1


@lru_cache(maxsize=16384)
def _searched(name: str, aliases: str | None) -> tuple[tuple[Word, ...], Word | None]:
    """A person's words for a search (the name's and the aliases'), and the patronymic:
    lighter than `parse_name`, for scoring many candidates of one search."""
    words = [_word(w) for w in _words(name)[:6]]
    at = _patronymic_at(words)
    patronymic = words.pop(at) if at >= 0 else None
    words += [_word(w) for w in _words(aliases, aliases=True)[:8]]
    return tuple(words), patronymic


def query_score(query: str, name: str, aliases: str | None) -> float:
    """How well the words of a search text are found in a person's name, 0..1.

    Order-insensitive; a surname alone that matches scores high, the same name written
    the same way highest, then another spelling, a diminutive, a typo.
    """
    q = parse_name(query)
    targets, patronymic = _searched(name, aliases)
    total = weight = 0.0
    for slot in q.slots:
        word = slot.words[0]
        w = 0.8 if slot.role == Role.GIVEN else 1.0
        best = 0.0
        for target in targets:
            found = _word_score(word, target)
            if found > best:
                best = found
                if best >= 1.0:
                    break
        total += w * best
        weight += w
    if q.patronymic is not None and patronymic is not None:
        if q.patronymic.form == patronymic.form:
            found = 1.0
        elif q.father & given_names.father_of(patronymic.form):
            found = 0.95
        else:
            found = max(0.0, (fuzz.ratio(q.patronymic.form, patronymic.form) / 100 - 0.5) * 2)
        total += 0.4 * found
        weight += 0.4
    return round(total / weight, 4) if weight else 0.0


# --- official romanizations -------------------------------------------------------------

_UKRAINIAN_LETTERS = re.compile(r"[іїєґІЇЄҐ]")


def latin_spellings(name: str) -> set[str]:
    """The official and common romanizations of a Cyrillic name (for display and export).

    Ukrainian names (with і, ї, є, ґ, or any when unsure) by Ukraine's national system of
    2010 and the passport spellings before it (translitua); Russian ones by Russia's
    passport systems of 2013 (ICAO Doc 9303), 1997 and 2010 (MVD 310, 782), BGN/PCGN and
    Wikipedia's (iuliia). A name in Latin is returned as it is.
    """
    if not is_cyrillic(name):
        return {name}
    import iuliia  # only here: the bot itself needs neither
    from translitua import UkrainianKMU, UkrainianNational1996, UkrainianPassport2007, translit

    spellings: set[str] = set()
    ukrainian = bool(_UKRAINIAN_LETTERS.search(name))
    if ukrainian or "ы" not in name.lower():
        for table in (UkrainianKMU, UkrainianPassport2007, UkrainianNational1996):
            spellings.add(translit(name, table))
    if not ukrainian:
        for schema in (
            iuliia.ICAO_DOC_9303,
            iuliia.MVD_310,
            iuliia.MVD_782,
            iuliia.BGN_PCGN,
            iuliia.WIKIPEDIA,
        ):
            spellings.add(schema.translate(name))
    return {s.replace("’", "").replace("'", "") for s in spellings}
