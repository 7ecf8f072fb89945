"""Apply Alembic migrations from code (start-up, `python -m bot db upgrade`, tests).

Alembic (with Mako and Pygments behind it) costs ~9 MB of memory that a running bot
never needs again, so it is imported only when the schema is not at the head already:
the head is read from the migration scripts, the database's revision from its
`alembic_version` table, both without Alembic.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "alembic_version"  # Alembic's default; env.py does not change it


def alembic_config(url: str | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


@cache
def script_heads() -> frozenset[str] | None:
    """The head revisions of the migration scripts, read with `ast`, not by importing
    them (they import Alembic). None when the history is more than a plain chain of
    revisions (branch labels, dependencies): then Alembic decides."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in sorted((MIGRATIONS_DIR / "versions").glob("*.py")):
        values: dict[str, object] = {}
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            target = (
                node.targets[0] if isinstance(node, ast.Assign) else getattr(node, "target", None)
            )
            value = getattr(node, "value", None)
            if isinstance(target, ast.Name) and value is not None:
                try:
                    values[target.id] = ast.literal_eval(value)
                except ValueError:
                    values[target.id] = ...  # not a literal: let Alembic read it
        revision, down = values.get("revision"), values.get("down_revision")
        if not isinstance(revision, str) or values.get("branch_labels") or values.get("depends_on"):
            return None
        if isinstance(down, str):
            parents.add(down)
        elif isinstance(down, tuple) and all(isinstance(d, str) for d in down):
            parents.update(down)
        elif down is not None:
            return None
        revisions.add(revision)
    heads = frozenset(revisions - parents)
    return heads or None


def _database_revisions(connection: Connection) -> frozenset[str] | None:
    if not inspect(connection).has_table(VERSION_TABLE):
        return None
    rows = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}"))
    return frozenset(row[0] for row in rows)


async def upgrade_database(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the schema to `revision` on an existing async engine."""

    def _run(connection: Connection) -> None:
        if revision == "head" and (heads := script_heads()) is not None:
            if _database_revisions(connection) == heads:
                return  # already there: what `alembic upgrade head` would find too
        from alembic import command

        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    async with engine.begin() as connection:
        await connection.run_sync(_run)


async def current_revision(engine: AsyncEngine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    async with engine.connect() as connection:
        return await connection.run_sync(
            lambda sync: MigrationContext.configure(sync).get_current_revision()
        )
