"""Command line: `python -m bot` runs the bot (`python -m bot webhook`: in webhook mode);
`python -m bot db upgrade|backup|restore` looks after the database;
`python -m bot keys new|rotate` after the data key;
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
    from bot.services.keys import open_database
    from storage.migrate import current_revision

    engine = await open_database(settings.data_key.get_secret_value(), settings.database_url)
    try:
        print(f"database is at revision {await current_revision(engine)}")
    finally:
        await engine.dispose()


def _db(settings: Settings, args: argparse.Namespace) -> int:
    if args.db_command == "upgrade":
        asyncio.run(_db_upgrade(settings))
        return 0
    from pathlib import Path

    from bot.services.keys import load_keys
    from storage.backup import backup, restore

    ring = load_keys(settings.data_key.get_secret_value(), settings.database_url)
    if args.db_command == "backup":
        info = backup(settings.database_url, ring, Path(args.path))
        print(f"{info.kind} backup written to {args.path} ({info.size} bytes, key {info.key_id})")
        return 0
    info = restore(settings.database_url, ring, Path(args.path), force=args.force)
    print(f"{info.kind} backup of {info.created_at} restored ({info.size} bytes)")
    return 0


def _keys(settings: Settings, args: argparse.Namespace) -> int:
    from storage.crypto import generate_key

    if args.keys_command == "new":
        print(generate_key().encoded())
        return 0

    from bot.services.keys import open_database, rotate

    async def run() -> int:
        data_key = settings.data_key.get_secret_value()
        engine = await open_database(data_key, settings.database_url)
        try:
            from storage.crypto import installed

            report = await rotate(
                engine,
                installed(),
                add_key=not args.reseal_only,
                progress=lambda line: print(line, file=sys.stderr),
            )
        finally:
            await engine.dispose()
        if report.new_key:
            print(f"new key {report.new_key}")
        print(
            f"{report.resealed} values re-sealed, {report.reindexed} index entries rebuilt; "
            f"retired keys: {', '.join(report.retired) or 'none'}"
        )
        return 0

    return asyncio.run(run())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Homeward tracing bot")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run", help="run the bot: long polling, or a webhook with MODE=webhook")
    sub.add_parser("webhook", help="run the bot in webhook mode (as MODE=webhook)")
    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="apply pending migrations")
    backup = db_sub.add_parser("backup", help="write an encrypted backup of the database")
    backup.add_argument("path", help="the backup file to write")
    restore = db_sub.add_parser("restore", help="restore an encrypted backup")
    restore.add_argument("path", help="the backup file to read")
    restore.add_argument("--force", action="store_true", help="replace a database with data")
    keys = sub.add_parser("keys", help="the data key that seals personal data")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    keys_sub.add_parser("new", help="print a new random key (base64) for DATA_KEY")
    rotate = keys_sub.add_parser(
        "rotate", help="add a new key to the key file and re-seal everything with it"
    )
    rotate.add_argument(
        "--reseal-only",
        action="store_true",
        help="add no key: re-seal with the first key of DATA_KEY and retire the others",
    )
    i18n = sub.add_parser("i18n", help="translation catalogs")
    i18n_sub = i18n.add_subparsers(dest="i18n_command", required=True)
    i18n_sub.add_parser("update", help="extract strings from the code into locales/*.po")
    _add_records_commands(sub)
    _add_sandbox_command(sub)
    args = parser.parse_args(argv)

    if args.command == "sandbox":
        return _sandbox(args)

    if args.command == "i18n":
        from bot.catalogs import update_catalogs

        for locale, count in update_catalogs().items():
            print(f"{locale}: {count} untranslated")
        return 0

    try:
        if args.command == "keys" and args.keys_command == "new":
            return _keys(load_settings(bot_token="0000000:" + "x" * 30), args)
        if args.command in ("db", "records", "keys"):
            settings = (
                load_settings(bot_token="0000000:" + "x" * 30) if _no_token() else load_settings()
            )
        elif args.command == "webhook":
            settings = load_settings(mode="webhook")
        else:
            settings = load_settings()
    except ConfigError as error:
        print(f"homeward: configuration error: {error}", file=sys.stderr)
        return 2
    setup_logging(settings.log_level)

    from storage.backup import BackupError
    from storage.crypto import DataKeyError
    from storage.db import DatabaseUnreachableError, InstanceLockError

    try:
        if args.command == "db":
            return _db(settings, args)
        if args.command == "keys":
            return _keys(settings, args)
        if args.command == "records":
            return _records(settings, args)
    except DataKeyError as error:
        print(f"homeward: data key error: {error}", file=sys.stderr)
        return 2
    except BackupError as error:
        print(f"homeward: backup error: {error}", file=sys.stderr)
        return 1
    except DatabaseUnreachableError as error:
        print(f"homeward: {error}", file=sys.stderr)
        return 1

    from aiogram.exceptions import TelegramNetworkError, TelegramUnauthorizedError

    from bot.app import WebhookSetError, run_polling
    from bot.serving.health import ListenError
    from bot.serving.webhook import run_webhook
    from storage.lease import PollingLockError

    try:
        asyncio.run(run_webhook(settings) if settings.mode == "webhook" else run_polling(settings))
    except KeyboardInterrupt:
        pass
    except DataKeyError as error:
        print(f"homeward: data key error: {error}", file=sys.stderr)
        return 2
    except (
        InstanceLockError,
        ListenError,
        PollingLockError,
        WebhookSetError,
        DatabaseUnreachableError,
    ) as error:
        print(f"homeward: {error}", file=sys.stderr)
        return 1
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


def _add_sandbox_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sandbox = sub.add_parser(
        "sandbox",
        help="the whole bot on this machine with a web chat: no token, no Telegram, "
        "fictional data in ./data/sandbox",
    )
    sandbox.add_argument("--port", type=int, default=8080, help="the web chat's port (8080)")
    sandbox.add_argument(
        "--seed", action="store_true", help="fill an empty sandbox with fictional requests"
    )
    sandbox.add_argument(
        "--data-dir", default="data/sandbox", help="the sandbox's own folder (data/sandbox)"
    )


def _sandbox(args: argparse.Namespace) -> int:
    """`python -m bot sandbox`: its own settings, never the environment's (bot.sandbox)."""
    from pathlib import Path

    from bot.sandbox.runner import main as run_sandbox

    setup_logging("INFO")
    return run_sandbox(args.port, seed=args.seed, data_dir=Path(args.data_dir), log_level="INFO")


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
    from bot.services.keys import open_database
    from bot.services.uow import UnitOfWork

    engine = await open_database(settings.data_key.get_secret_value(), settings.database_url)
    try:
        return await use(UnitOfWork(engine))
    finally:
        await engine.dispose()


def _no_token() -> bool:
    """Migrations don't talk to Telegram, so they need no token."""
    import os

    return not os.environ.get("BOT_TOKEN")
