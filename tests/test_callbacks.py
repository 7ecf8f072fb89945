"""Every button's callback data fits Telegram's 64 bytes, with the largest values it can carry."""

from __future__ import annotations

from enum import Enum

import pytest
from aiogram.filters.callback_data import CallbackData

import handlers.callbacks as family_callbacks
from bot import SUPPORTED_LOCALES
from bot.domain import intake
from bot.domain.statuses import CloseReason, RequestStatus
from bot.texts import callbacks as staff_callbacks

MAX_ID = 2**31 - 1  # the database's integer ids
LIMIT = 64

# What each string field can hold: (factory, field) first, then the field alone.
STATUSES = [s.value for s in RequestStatus]
STRING_VALUES: dict[tuple[str, str] | str, list[str]] = {
    ("CaseCb", "value"): [*STATUSES, *(r.value for r in CloseReason)],
    ("BroadcastCb", "value"): [
        "all",
        "open",
        "no_open",
        "language",
        "status",
        *(f"status.{s}" for s in STATUSES),
        *(f"language.{locale}" for locale in SUPPORTED_LOCALES),
    ],
    ("IntakeCb", "value"): [choice.value for step in intake.STEPS for choice in step.choices],
    "step": [*(step.key for step in intake.STEPS), intake.SUMMARY],
    "status": ["", *STATUSES],
    "locale": list(SUPPORTED_LOCALES),
}


def _factories() -> list[type[CallbackData]]:
    found = []
    for module in (staff_callbacks, family_callbacks):
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, CallbackData)
                and value is not CallbackData
            ):
                found.append(value)
    return found


def _largest(factory: type[CallbackData]) -> CallbackData:
    values: dict[str, object] = {}
    for name, field in factory.model_fields.items():
        kind = field.annotation
        if isinstance(kind, type) and issubclass(kind, Enum):
            values[name] = max(kind, key=lambda member: len(str(member.value)))
        elif kind is int or kind == "int":
            values[name] = MAX_ID
        elif kind is bool or kind == "bool":
            values[name] = True
        else:
            choices = STRING_VALUES.get((factory.__name__, name)) or STRING_VALUES.get(name)
            assert choices, f"{factory.__name__}.{name}: what can it hold?"
            values[name] = max(choices, key=len)
    return factory(**values)


@pytest.mark.parametrize("factory", _factories(), ids=lambda f: f.__name__)
def test_fits_in_64_bytes_with_its_largest_values(factory: type[CallbackData]) -> None:
    packed = _largest(factory).pack()
    assert len(packed.encode()) <= LIMIT, (packed, len(packed.encode()))
    assert factory.unpack(packed) == _largest(factory)


@pytest.mark.parametrize(
    "factory",
    [factory for factory in _factories() if "action" in factory.model_fields],
    ids=lambda f: f.__name__,
)
def test_actions_are_an_enum(factory: type[CallbackData]) -> None:
    field = factory.model_fields["action"]
    assert isinstance(field.annotation, type) and issubclass(field.annotation, Enum)


def test_all_factories_are_found() -> None:
    names = {factory.__name__ for factory in _factories()}
    assert {"CaseCb", "DraftCb", "QueueCb", "BroadcastCb", "IntakeCb", "RequestCb"} <= names
