"""The Bot API emulator the sandbox runs (for now re-exported from the tests' module; it moves
here whole once no one else is editing it)."""

from tests.emulator import (
    DEFAULT_TOKEN,
    StoredFile,
    StoredMessage,
    TelegramEmulator,
    button_rows,
    command_entities,
)

__all__ = [
    "DEFAULT_TOKEN",
    "StoredFile",
    "StoredMessage",
    "TelegramEmulator",
    "button_rows",
    "command_entities",
]
