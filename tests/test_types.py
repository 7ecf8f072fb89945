"""The code type-checks: mypy, configured in pyproject.toml, reports nothing."""

from __future__ import annotations

from tests import typecheck


def test_mypy_is_clean() -> None:
    code, output = typecheck.result()
    assert code == 0, output
