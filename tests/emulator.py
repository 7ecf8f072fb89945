"""The Bot API emulator, for the tests and benchmarks; it lives in `bot.sandbox.emulator` (the
sandbox runs it too). Everything the tests import from here is re-exported."""

from bot.sandbox.emulator import *  # noqa: F403
from bot.sandbox.emulator import CHAT_ACTIONS, CONFLICT_POLLING, ErrorExpectation
from bot.sandbox.emulator import __all__ as _emulator_all

__all__ = [*_emulator_all, "CHAT_ACTIONS", "CONFLICT_POLLING", "ErrorExpectation"]
