"""The keyboard helpers live in bot.texts.keyboards (the senders use them too)."""

from bot.texts.keyboards import Button, Buttons, column, grid, keyboard

__all__ = ["Button", "Buttons", "column", "grid", "keyboard"]
