"""Keep locales/ in step with the code: `python -m bot i18n update`.

Extracts every marked string from bot/, handlers/ and storage/, merges the
template into the uk, ru and en catalogs (existing translations are kept; new
entries come in empty for uk and ru, and filled with the source text for en).
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from bot import LOCALES_DIR, PROJECT_ROOT, SUPPORTED_LOCALES
from bot.i18n import DOMAIN

KEYWORDS = {
    "_": None,
    "N_": None,
    "__": None,
    "gettext": None,
    "ngettext": (1, 2),
    # The first argument is the msgctxt: NC_("relationship", "Other").
    "NC_": ((1, "c"), 2),
    "pgettext": ((1, "c"), 2),
}
SOURCE_DIRS = ("bot", "handlers", "storage")
SOURCE_LOCALE = "en"


def extract_template() -> Catalog:
    template = Catalog(project="homeward", fuzzy=False)
    for folder in SOURCE_DIRS:
        directory = PROJECT_ROOT / folder
        for filename, lineno, message, comments, context in extract_from_dir(
            str(directory),
            method_map=[("**.py", "python")],
            keywords=KEYWORDS,
            comment_tags=("i18n:",),
        ):
            path = (directory / filename).relative_to(PROJECT_ROOT).as_posix()
            template.add(message, None, [(path, lineno)], auto_comments=comments, context=context)
    return template


def catalog_path(locale: str) -> Path:
    return LOCALES_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


def update_catalogs() -> dict[str, int]:
    """Merge the template into each catalog; returns how many entries still lack a translation."""
    template = extract_template()
    LOCALES_DIR.mkdir(exist_ok=True)
    with (LOCALES_DIR / f"{DOMAIN}.pot").open("wb") as fp:
        write_po(fp, template, omit_header=False, sort_output=False, width=100)
    missing: dict[str, int] = {}
    for locale in SUPPORTED_LOCALES:
        path = catalog_path(locale)
        if path.exists():
            with path.open("rb") as fp:
                catalog = read_po(fp, locale=locale)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            catalog = Catalog(locale=locale, project="homeward", fuzzy=False)
        catalog.update(template, no_fuzzy_matching=True)
        catalog.obsolete.clear()
        if locale == SOURCE_LOCALE:
            for message in catalog:
                if message.id and not _translated(message.string):
                    message.string = message.id
        with path.open("wb") as fp:
            write_po(fp, catalog, width=100)
        missing[locale] = sum(1 for m in catalog if m.id and not _translated(m.string))
    return missing


def _translated(value: object) -> bool:
    if isinstance(value, (tuple, list)):
        return all(value)
    return bool(value)
