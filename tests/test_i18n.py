"""The catalogs: complete, consistent with the code, correct plurals and dates."""

from __future__ import annotations

import re
from datetime import date

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from bot import SUPPORTED_LOCALES
from bot.catalogs import catalog_path, extract_template
from bot.domain import intake
from bot.i18n import CatalogI18n, format_day, pgettext
from handlers.family.intake import choice_label

PLACEHOLDER = re.compile(r"\{[a-zA-Z_][a-zA-Z0-9_]*\}")
TAG = re.compile(r"</?[a-z-]+>")


def _load(locale: str) -> Catalog:
    with catalog_path(locale).open("rb") as fp:
        return read_po(fp, locale=locale)


def _as_tuple(value: object) -> tuple[str, ...]:
    return tuple(value) if isinstance(value, (tuple, list)) else (str(value),)


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_catalog_is_complete_and_consistent(locale: str) -> None:
    problems = []
    for message in _load(locale):
        if not message.id:
            continue
        ids, strings = _as_tuple(message.id), _as_tuple(message.string)
        if message.fuzzy:
            problems.append(f"fuzzy: {ids[0][:60]!r}")
        if not all(strings):
            problems.append(f"untranslated: {ids[0][:60]!r}")
            continue
        for pattern, what in ((PLACEHOLDER, "placeholders"), (TAG, "HTML tags")):
            allowed = [sorted(pattern.findall(i)) for i in ids]
            for string in strings:
                if sorted(pattern.findall(string)) not in allowed:
                    problems.append(f"{what} differ: {ids[0][:60]!r}")
    assert not problems, "\n".join(problems)


def _keys(catalog: Catalog) -> set[tuple[str, str]]:
    """(msgctxt, msgid) of every entry: the same msgid may come in several contexts."""
    return {(m.context or "", _as_tuple(m.id)[0]) for m in catalog if m.id}


def test_every_string_in_the_code_is_in_every_catalog() -> None:
    wanted = _keys(extract_template())
    for locale in SUPPORTED_LOCALES:
        missing = sorted(wanted - _keys(_load(locale)))
        assert not missing, f"{locale} lacks {missing[:5]} (run: python -m bot i18n update)"


def test_choice_labels_are_extracted_with_their_context() -> None:
    wanted = _keys(extract_template())
    for step in intake.STEPS:
        for choice in step.choices:
            assert (choice.context or "", choice.label) in wanted, (step.key, choice)


def test_the_two_others_are_translated_apart(i18n: CatalogI18n) -> None:
    """ "Other" circumstances and "Other" person: one English word, two meanings."""
    with i18n.context():
        for locale, circumstances, person in (
            ("uk", "Інше", "Хтось інший"),
            ("ru", "Другое", "Кто-то другой"),
            ("en", "Other", "Other"),
        ):
            with i18n.use_locale(locale):
                assert pgettext("circumstances", "Other") == circumstances
                assert pgettext("relationship", "Other") == person
                labels = {
                    step.key: choice_label(step.choices[-1])
                    for step in intake.STEPS
                    if step.key in {"circumstances", "relationship"}
                }
            assert labels == {"circumstances": circumstances, "relationship": person}
        # An unknown context falls back to the English text, as gettext does.
        assert pgettext("nowhere", "Other", locale="uk") == "Other"


def test_plural_forms(i18n: CatalogI18n) -> None:
    forms = {
        n: i18n.gettext("You have {count} request:", "You have {count} requests:", n, locale="uk")
        for n in (1, 2, 5, 21, 22, 25)
    }
    assert forms[1] == forms[21] and forms[2] == forms[22] and forms[5] == forms[25]
    assert len({forms[1], forms[2], forms[5]}) == 3
    assert "запит" in forms[1].format(count=1)
    assert "запити" in forms[2].format(count=2)
    assert "запитів" in forms[5].format(count=5)
    ru = [
        i18n.gettext("You have {count} request:", "You have {count} requests:", n, locale="ru")
        for n in (1, 3, 7)
    ]
    assert ["запрос" in ru[0], "запроса" in ru[1], "запросов" in ru[2]] == [True, True, True]
    en = [
        i18n.gettext("You have {count} request:", "You have {count} requests:", n, locale="en")
        for n in (1, 2)
    ]
    assert en == ["You have {count} request:", "You have {count} requests:"]


def test_dates_follow_the_locale() -> None:
    day = date(2012, 3, 12)
    # Babel writes a narrow no-break space before «р.» and «г.», as typography wants.
    assert format_day(day, "uk").replace("\u202f", " ") == "12 березня 2012 р."
    assert format_day(day, "ru").replace("\u202f", " ") == "12 марта 2012 г."
    assert format_day(day, "en") == "12 March 2012"


def test_translations_differ_from_english(i18n: CatalogI18n) -> None:
    for locale in ("uk", "ru"):
        assert i18n.gettext("Received", locale=locale) != "Received"
        assert i18n.gettext("Under review", locale=locale) != "Under review"
    assert i18n.gettext("Received", locale="uk") == "Отримано"
    assert i18n.gettext("Received", locale="ru") == "Получен"


def test_ukrainian_uses_one_apostrophe() -> None:
    """The glossary's rule: ’ throughout, never ' or ʼ, so search and matching see one word."""
    wrong = [
        _as_tuple(m.id)[0][:60]
        for m in _load("uk")
        if m.id and any("'" in s or "ʼ" in s for s in _as_tuple(m.string))
    ]
    assert not wrong, wrong
