"""Homeward: a Telegram bot for family tracing requests."""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
LOCALES_DIR = PROJECT_ROOT / "locales"
SUPPORTED_LOCALES = ("uk", "ru", "en")
