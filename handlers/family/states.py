from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup


class Intake(StatesGroup):
    active = State()


class AddInfo(StatesGroup):
    active = State()


async def enter(state: FSMContext, new_state: State | None, data: Mapping[str, Any] | None) -> None:
    """Set state and data together: one durable write where the storage can do it
    (the database storage), aiogram's two calls elsewhere (Redis)."""
    set_record = getattr(state.storage, "set_record", None)
    if set_record is not None:
        await set_record(state.key, new_state, data)
        return
    await state.set_state(new_state)
    await state.set_data(dict(data or {}))


async def leave(state: FSMContext) -> None:
    """Forget the conversation state and its data."""
    await enter(state, None, None)
