"""Command line: `python -m bot` runs the bot; `python -m bot db upgrade` migrates;
`python -m bot records import|export` exchanges lists with the verification bodies."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

from bot.config import ConfigError, Settings, load_settings

if TYPE_CHECKING:
    from bot.services.uow import UnitOfWork

T = TypeVar("T")


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
    _add_records_commands(sub)
    args = parser.parse_args(argv)

    if args.command == "i18n":
        from bot.catalogs import update_catalogs

        for locale, count in update_catalogs().items():
            print(f"{locale}: {count} untranslated")
        return 0

    try:
        if args.command in ("db", "records"):
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
    if args.command == "records":
        return _records(settings, args)

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


def _add_records_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    records = sub.add_parser("records", help="lists exchanged with the verification bodies")
    records_sub = records.add_subparsers(dest="records_command", required=True)
    load = records_sub.add_parser(
        "import", help="import a list of located persons (CSV, or ZIP with the CSV and photos)"
    )
    load.add_argument("file", help="the list: .csv, or .zip holding one .csv and the photos")
    load.add_argument("--photos", help="a .zip with the photos named in the list")
    load.add_argument("--source", help="the body the list comes from, if it has no source column")
    load.add_argument("--lang", default=None, help="language of the report: uk, ru or en")
    dump = records_sub.add_parser("export", help="export requests as CSV or PFIF 1.4 XML")
    dump.add_argument("--format", choices=("csv", "pfif"), default="csv")
    dump.add_argument("--status", action="append", default=[], help="only this status (repeat)")
    dump.add_argument("--code", action="append", default=[], help="only this case (repeat)")
    dump.add_argument("--out", help="the file to write (default: standard output)")


def _records(settings: Settings, args: argparse.Namespace) -> int:
    """Import or export at the server: the operator is trusted, and audited as actor 0."""
    from datetime import UTC, datetime
    from pathlib import Path

    from bot.domain.statuses import RequestStatus
    from bot.exchange.export import requests_csv
    from bot.exchange.pfif import pfif_document
    from bot.exchange.records import read_records
    from bot.i18n import build_i18n
    from bot.services import records
    from bot.texts import tracing as texts

    if args.records_command == "import":
        try:
            path = Path(args.file)
            photos = Path(args.photos).read_bytes() if args.photos else None
            data = path.read_bytes()
        except OSError as error:
            print(f"homeward: cannot read {error.filename}: {error.strerror}", file=sys.stderr)
            return 2
        parsed = read_records(path.name, data, photos_zip=photos, default_source=args.source)
        i18n = build_i18n(args.lang or settings.default_locale)
        with i18n.context():
            if parsed.fatal is not None:
                print(texts.plain(texts.file_problem_text(parsed.fatal)), file=sys.stderr)
                return 1
            report = asyncio.run(
                _with_database(
                    settings,
                    lambda uow: records.import_records(uow, records.CLI_ACTOR, None, parsed),
                )
            )
            for part in texts.import_report(report):
                print(texts.plain(part))
        return 0 if not report.problems else 3

    try:
        statuses = tuple(RequestStatus(s) for s in args.status)
    except ValueError as error:
        print(f"homeward: {error}", file=sys.stderr)
        return 2
    selection = records.Selection(codes=tuple(args.code), statuses=statuses)
    exported = asyncio.run(
        _with_database(
            settings,
            lambda uow: records.export_requests(
                uow,
                records.CLI_ACTOR,
                None,
                selection,
                domain=settings.pfif_domain,
                organisation=settings.organisation_name,
            ),
        )
    )
    output = (
        requests_csv(exported.cases)
        if args.format == "csv"
        else pfif_document(exported.persons, now=datetime.now(UTC))
    )
    if args.out:
        Path(args.out).write_bytes(output)
        print(f"{len(exported.cases)} requests written to {args.out}", file=sys.stderr)
    else:
        sys.stdout.buffer.write(output)
    return 0


async def _with_database(settings: Settings, use: Callable[[UnitOfWork], Awaitable[T]]) -> T:
    from bot.services.uow import UnitOfWork
    from storage.db import create_engine
    from storage.migrate import upgrade_database

    engine = create_engine(settings.database_url)
    try:
        await upgrade_database(engine)
        return await use(UnitOfWork(engine))
    finally:
        await engine.dispose()


def _no_token() -> bool:
    """Migrations don't talk to Telegram, so they need no token."""
    import os

    return not os.environ.get("BOT_TOKEN")
