"""One spelling-insensitive Latin form for a word written in Cyrillic (uk/ru) or any romanization.

`phon(word)` maps a word to a lower-case Latin form in which the usual ways of writing
the same sound agree:

- Cyrillic goes through one table that serves Ukrainian and Russian alike (г and х both
  become "h", и/і/ї/й/ы become "i", щ becomes "sh", the soft and hard signs vanish);
- Latin spellings are folded by the rules that tell the official romanizations and the
  older or foreign ones apart: Ukraine's national system of 2010 (Kh, Y, Zh, Ya, Yu, Ie),
  Russia's passport system of 2013 (ICAO Doc 9303: Kh, I, Ia, Iu), the older MVD and
  BGN/PCGN spellings (Y, Ya, Yu, Ye, -iy), the scientific and ISO ones (č, š, ž, x, j),
  and Polish, German, French or English habits (cz, sz, w, sch, tsch, ou, ph, c);
- doubled letters collapse, so Наталія, Наталья, Nataliia and Natalya all read "natalia".

`skeleton(phon)` is coarser still: consonants only (ш, ч, ж, ц as one sign each), so the
Ukrainian and Russian forms of a surname (Олійник/Олейник, Кравець/Кравец,
-ський/-ский/-skyi/-sky) and most vowel typos agree. Both are cached.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_CYRILLIC = {
    "а": "a",
    "б": "b",
    "в": "v",
    "г": "h",
    "ґ": "h",
    "д": "d",
    "е": "e",
    "є": "ie",
    "ё": "io",
    "ж": "zh",
    "з": "z",
    "и": "i",
    "і": "i",
    "ї": "i",
    "й": "i",
    "к": "k",
    "л": "l",
    "м": "m",
    "н": "n",
    "о": "o",
    "п": "p",
    "р": "r",
    "с": "s",
    "т": "t",
    "у": "u",
    "ў": "u",
    "ф": "f",
    "х": "h",
    "ц": "ts",
    "ч": "ch",
    "ш": "sh",
    "щ": "sh",
    "ъ": "",
    "ы": "i",
    "ь": "",
    "э": "e",
    "ю": "iu",
    "я": "ia",
}
# Letters with diacritics of the scientific, ISO 9, GOST and Central European spellings;
# the rest lose their accents by Unicode decomposition.
_LATIN_SPECIAL = {
    "š": "sh",
    "ś": "s",
    "č": "ch",
    "ć": "ch",
    "ž": "zh",
    "ż": "zh",
    "ź": "z",
    "ŝ": "sh",
    "ĉ": "ch",
    "ł": "l",
    "û": "iu",
    "â": "ia",
    "ê": "e",
    "ë": "io",
    "ü": "iu",
    "ö": "io",
    "ä": "ia",
    "ø": "o",
    "ß": "ss",
    "ǵ": "g",
    "ĭ": "i",
    "ï": "i",
    "ı": "i",
}
_TRANSLATE = str.maketrans({**_CYRILLIC, **_LATIN_SPECIAL, **{c: "" for c in "'ʼ’‘`´ʹʺ″\"-"}})

# Latin look-alikes typed inside a Cyrillic word (a Latin "о" in "Кoвальчук").
_HOMOGLYPHS = str.maketrans(
    {
        "a": "а",
        "c": "с",
        "e": "е",
        "i": "і",
        "o": "о",
        "p": "р",
        "x": "х",
        "y": "у",
        "k": "к",
        "m": "м",
        "t": "т",
        "h": "н",
        "b": "в",
    }
)
_HAS_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_HAS_LATIN = re.compile(r"[a-z]")
_CYRILLIC_LETTERS = _HAS_CYRILLIC
_LATIN_LETTERS = _HAS_LATIN

# Longest first: a single pass of one alternation.
_RULES = {
    "schtsch": "sh",
    "shtch": "sh",
    "shch": "sh",
    "szcz": "sh",
    "sch": "sh",
    "tsch": "ch",
    "tch": "ch",
    "cz": "ch",
    "ch": "ch",
    "sz": "sh",
    "sh": "sh",
    "zh": "zh",
    "kh": "h",
    "gh": "h",
    "ph": "f",
    "th": "t",
    "ck": "k",
    "tz": "ts",
    "ts": "ts",
    "ou": "u",
    "x": "ks",
    "w": "v",
    "q": "k",
    "g": "h",
    "j": "i",
    "y": "i",
}
_RULE_RE = re.compile("|".join(sorted(_RULES, key=len, reverse=True)) + "|c")
_DOUBLE = re.compile(r"(.)\1+")
_NOT_LETTER = re.compile(r"[^a-z]")


def _rule(match: re.Match[str]) -> str:
    found = match.group(0)
    if found == "c":
        # c before e/i/y or at the end is "ts" (Kravec, Cyril); elsewhere "k" (Nicolas, Victor)
        return (
            "ts" if match.end() == len(match.string) or match.string[match.end()] in "eiy" else "k"
        )
    return _RULES[found]


@lru_cache(maxsize=65536)
def phon(word: str) -> str:
    """The spelling-insensitive Latin form of one word ("" when nothing is left of it)."""
    text = _DOUBLE.sub(r"\1", _latin(word))
    # Є, ye, je, ie and e are the same letter in one spelling or another.
    return _DOUBLE.sub(r"\1", text.replace("ie", "e"))


@lru_cache(maxsize=65536)
def typed_form(word: str) -> str:
    """The Latin form of a word with its doubled letters kept, one sign per letter (for
    counting typos across alphabets: Taasenko is one slip from Тарасенко)."""
    return compact(_latin(word))


def _latin(word: str) -> str:
    text = word.lower()
    if _HAS_CYRILLIC.search(text) and _HAS_LATIN.search(text):
        # Mixed alphabets: Latin look-alikes typed in a Cyrillic word are Cyrillic letters;
        # Cyrillic letters in a Latin word (Sychёv) go through the Cyrillic table.
        if len(_CYRILLIC_LETTERS.findall(text)) >= len(_LATIN_LETTERS.findall(text)):
            text = text.translate(_HOMOGLYPHS)
    text = text.translate(_TRANSLATE)
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text)
        text = "".join(c for c in text if not unicodedata.combining(c)).translate(_TRANSLATE)
    text = _NOT_LETTER.sub("", text)
    return _RULE_RE.sub(_rule, text)


_SIGNS = {"sh": "w", "ch": "4", "zh": "j", "ts": "c"}
_SIGN_RE = re.compile("sh|ch|zh|ts")
_VOWELS = re.compile(r"[aeiou]")


def _signs(match: re.Match[str]) -> str:
    return _SIGNS[match.group(0)]


_LETTERS = {**_SIGNS, "ia": "9", "iu": "8", "io": "7"}
_LETTER_RE = re.compile("sh|ch|zh|ts|ia|iu|io")


def _letters(match: re.Match[str]) -> str:
    return _LETTERS[match.group(0)]


@lru_cache(maxsize=65536)
def compact(form: str) -> str:
    """A phonetic form with one sign per Cyrillic letter (ш, ч, ж, ц, я, ю, ё), so that an
    edit distance counts typed letters: "kovalchuk" -> "koval4uk", "natalia" -> "natal9"."""
    return _LETTER_RE.sub(_letters, form)


@lru_cache(maxsize=65536)
def skeleton(form: str) -> str:
    """Consonants of a phonetic form, one sign per sound: "kovalchuk" -> "kvl4k"."""
    return _DOUBLE.sub(r"\1", _VOWELS.sub("", _SIGN_RE.sub(_signs, form)))


# Feminine and Ukrainian/Russian endings of a surname, to the one form compared.
_SURNAME_ENDINGS = (
    ("skaia", "ski"),
    ("aia", "i"),  # Белая -> Белый, Черная -> Черный
    ("ska", "ski"),
    ("ski", "ski"),
    ("ova", "ov"),
    ("eva", "ev"),
    ("ina", "in"),
)
FEMALE_SURNAME_ENDINGS = ("skaia", "ska", "ova", "eva", "ina", "aia")
MALE_SURNAME_ENDINGS = ("ski", "ov", "ev", "in")


@lru_cache(maxsize=65536)
def surname_stem(form: str) -> str:
    """A surname's phonetic form with the feminine ending made masculine: Іванова -> "ivanov"."""
    if len(form) > 4:
        for ending, replacement in _SURNAME_ENDINGS:
            if form.endswith(ending):
                return form[: -len(ending)] + replacement
    return form


def is_cyrillic(word: str) -> bool:
    return bool(_HAS_CYRILLIC.search(word.lower()))
