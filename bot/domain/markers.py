"""Marks for translatable strings, so the domain needs neither aiogram nor Babel.

`python -m bot i18n update` finds the marked strings (see bot/catalogs.py KEYWORDS);
they are translated only where they are shown, in the reader's language.
"""

from __future__ import annotations


def N_(message: str) -> str:
    """Mark a string for extraction; it is translated later, where it is shown."""
    return message


def NC_(context: str, message: str) -> str:
    """Mark a string that needs a msgctxt: the same English word with different meanings.

    Returns the message only; whoever shows it passes the same context to `pgettext`.
    """
    return message
