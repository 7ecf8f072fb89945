from aiogram.fsm.state import State, StatesGroup


class Intake(StatesGroup):
    active = State()


class AddInfo(StatesGroup):
    active = State()
