"""Command line: `python -m bot` runs the bot; `python -m bot db upgrade` migrates."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from bot.config import ConfigError, Settings, load_settings


def setup_logging(level: str) -> None:
    # Only ids and codes are ever logged by Homeward; aiogram's own event log would
    # name users' handlers, so it stays at WARNING.
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    logging.getLogger("aiogram.event").setLevel(logging.WARNING)
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)


async def _db_upgrade(settings: Settings) -> None:
    from storage.db import create_engine
    from storage.migrate import current_revision, upgrade_database

    engine = create_engine(settings.database_url)
    try:
        await upgrade_database(engine)
        print(f"database is at revision {await current_revision(engine)}")
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Homeward tracing bot")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run", help="run the bot with long polling (the default)")
    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="apply pending migrations")
    i18n = sub.add_parser("i18n", help="translation catalogs")
    i18n_sub = i18n.add_subparsers(dest="i18n_command", required=True)
    i18n_sub.add_parser("update", help="extract strings from the code into locales/*.po")
    args = parser.parse_args(argv)

    if args.command == "i18n":
        from bot.catalogs import update_catalogs

        for locale, count in update_catalogs().items():
            print(f"{locale}: {count} untranslated")
        return 0

    try:
        if args.command == "db":
            settings = (
                load_settings(bot_token="0000000:" + "x" * 30) if _no_token() else load_settings()
            )
        else:
            settings = load_settings()
    except ConfigError as error:
        print(f"homeward: configuration error: {error}", file=sys.stderr)
        return 2
    setup_logging(settings.log_level)

    if args.command == "db":
        asyncio.run(_db_upgrade(settings))
        return 0

    from aiogram.exceptions import TelegramNetworkError, TelegramUnauthorizedError

    from bot.app import run_polling

    try:
        asyncio.run(run_polling(settings))
    except KeyboardInterrupt:
        pass
    except TelegramUnauthorizedError:
        print("homeward: Telegram rejected BOT_TOKEN (401): check the token", file=sys.stderr)
        return 1
    except TelegramNetworkError as error:
        print(
            f"homeward: cannot reach the Bot API at {settings.telegram_api_url} ({error.message}); "
            "check TELEGRAM_API_URL and the network",
            file=sys.stderr,
        )
        return 1
    return 0


def _no_token() -> bool:
    """Migrations don't talk to Telegram, so they need no token."""
    import os

    return not os.environ.get("BOT_TOKEN")
