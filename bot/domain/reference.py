"""Reference codes: short, random, and easy to read aloud or type on a phone."""

from __future__ import annotations

import re
import secrets

# No 0/O, 1/I/L and no U/V pair: characters people confuse when copying by hand.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTWXYZ"
_PREFIX = "HW"
_CODE_RE = re.compile(rf"^(?:{_PREFIX})?([{ALPHABET}]{{4}})([{ALPHABET}]{{2}})$")


def new_reference_code() -> str:
    """HW-XXXX-XX: 29^6 (about 595 million) codes, drawn with a CSPRNG so they can't be guessed in order."""
    body = "".join(secrets.choice(ALPHABET) for _ in range(6))
    return f"{_PREFIX}-{body[:4]}-{body[4:]}"


def normalize_reference_code(raw: str) -> str | None:
    """Accept what people type (lower case, spaces, missing dashes); None when it can't be a code."""
    compact = re.sub(r"[\s\-–—_.]", "", raw).upper()
    match = _CODE_RE.match(compact)
    if not match:
        return None
    return f"{_PREFIX}-{match.group(1)}-{match.group(2)}"
