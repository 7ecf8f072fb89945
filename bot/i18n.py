"""Translations: gettext catalogs compiled in memory from locales/*.po, Babel dates."""

from __future__ import annotations

import gettext
import io
from collections.abc import Generator
from contextlib import contextmanager
from datetime import date, datetime
from functools import lru_cache

from aiogram.utils.i18n import I18n, ngettext
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from babel.dates import format_date as babel_format_date
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from bot import LOCALES_DIR, SUPPORTED_LOCALES
from bot.domain.markers import N_, NC_  # the marks live in the domain, which imports no Babel

DOMAIN = "messages"

__all__ = [
    "DOMAIN",
    "NC_",
    "N_",
    "CatalogI18n",
    "_",
    "__",
    "format_day",
    "ngettext",
    "pgettext",
]


def pgettext(context: str, message: str, locale: str | None = None) -> str:
    """`message` in the current language, as translated under `context` (msgctxt).

    aiogram's gettext has no context; the compiled catalogs are GNUTranslations, which do.
    """
    i18n = I18n.get_current(no_error=False)
    translations = i18n.locales.get(locale or i18n.current_locale)
    if translations is None:
        return message
    return translations.pgettext(context, message)


class CatalogI18n(I18n):
    """aiogram's I18n, but reading the .po files directly.

    aiogram refuses an uncompiled catalog; compiling in memory means a fresh
    checkout needs no `pybabel compile` step and can never run a stale .mo.
    """

    @contextmanager
    def context(self) -> Generator[I18n, None, None]:
        # aiogram's `gettext` looks the instance up through I18n's own context variable,
        # and every subclass of its mixin gets a separate one: set the base class's.
        token = I18n.set_current(self)
        try:
            yield self
        finally:
            I18n.reset_current(token)

    def find_locales(self) -> dict[str, gettext.GNUTranslations]:
        translations: dict[str, gettext.GNUTranslations] = {}
        for locale in SUPPORTED_LOCALES:
            po_path = self.path / locale / "LC_MESSAGES" / f"{self.domain}.po"
            if not po_path.exists():
                continue
            with po_path.open("rb") as fp:
                catalog = read_po(fp, locale=locale)
            buffer = io.BytesIO()
            write_mo(buffer, catalog, use_fuzzy=False)
            buffer.seek(0)
            translations[locale] = gettext.GNUTranslations(buffer)
        return translations


# Day-month-year reads naturally to every audience of the bot, English speakers included.
_DATE_LOCALES = {"en": "en_GB"}


def build_i18n(default_locale: str = "en") -> CatalogI18n:
    return CatalogI18n(path=LOCALES_DIR, default_locale=default_locale, domain=DOMAIN)


def format_day(value: date | datetime, locale: str | None = None) -> str:
    """A date the way the reader's language writes it: 12 березня 2012 р."""
    if locale is None:
        i18n = I18n.get_current(no_error=True)
        locale = i18n.current_locale if i18n else "en"
    if isinstance(value, datetime):
        value = value.date()
    return _format_day(value, locale)


@lru_cache(maxsize=4096)
def _format_day(value: date, locale: str) -> str:
    # Babel takes most of a millisecond per date; a list of requests repeats the same days.
    return babel_format_date(value, format="long", locale=_DATE_LOCALES.get(locale, locale))


def translate(message: str, locale: str) -> str:
    """`message` in `locale`, whatever the reader's language is (for documents in two languages)."""
    i18n = I18n.get_current(no_error=False)
    translations = i18n.locales.get(locale)
    return translations.gettext(message) if translations is not None else message
