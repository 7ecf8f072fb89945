"""encryption at rest: personal fields sealed with the data key, the name index blinded

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 09:00:00

Runs with the key ring the bot loaded from DATA_KEY (storage.crypto.installed()). Fields
already sealed are left alone, so an interrupted upgrade can simply run again.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.crypto import BYTES_PREFIX, TEXT_PREFIX, installed

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table -> (key column, personal text columns); storage.models marks them EncryptedText.
TEXT_FIELDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "tracing_requests": (
        "id",
        (
            "close_note",
            "sought_name",
            "sought_aliases",
            "birth_place",
            "features",
            "health_needs",
            "separation_place",
            "circumstances_other",
            "last_location",
            "companions",
            "requester_name",
            "contact",
            "country",
            "reported_elsewhere",
            "erased_reason",
        ),
    ),
    "request_photos": ("id", ("file_id",)),
    "followups": ("id", ("text",)),
    "status_changes": ("id", ("reason",)),
    "case_notes": ("id", ("text",)),
    "outbox": ("id", ("params",)),
    "drafts": ("id", ("text", "photo_file_id", "decline_reason")),
    "person_records": (
        "id",
        ("name", "other_names", "birth_place", "current_place", "status", "welfare"),
    ),
    "record_photos": ("id", ("name",)),
    "erasure_requests": ("id", ("reason",)),
    # Conversation state: the JSON of a half-filled request (storage.fsm seals it).
    "fsm_records": ("key", ("data",)),
}
BYTES_FIELDS: dict[str, tuple[str, tuple[str, ...]]] = {"record_photos": ("id", ("data",))}
BATCH = 500


def _convert(table: str, key: str, columns: tuple[str, ...], change, done) -> None:  # type: ignore[no-untyped-def]
    """Rewrite each value `change` turns into something else, in batches by key."""
    bind = op.get_bind()
    meta = sa.MetaData()
    t = sa.Table(table, meta, *(sa.Column(c) for c in (key, *columns)))
    last = None
    while True:
        query = sa.select(t.c[key], *(t.c[c] for c in columns)).order_by(t.c[key]).limit(BATCH)
        if last is not None:
            query = query.where(t.c[key] > last)
        rows = bind.execute(query).all()
        if not rows:
            return
        for row in rows:
            values = {
                column: change(value)
                for column, value in zip(columns, row[1:], strict=True)
                if value is not None and not done(value)
            }
            if values:
                bind.execute(sa.update(t).where(t.c[key] == row[0]).values(**values))
        last = rows[-1][0]


def _text_columns(table: str) -> tuple[str, ...]:
    return TEXT_FIELDS[table][1]


def upgrade() -> None:
    op.create_table(
        "data_keys",
        sa.Column("key_id", sa.String(length=8), nullable=False),
        sa.Column("check", sa.Text(), nullable=False),
        sa.Column("added_at", sa.DateTime(), nullable=False),
        sa.Column("retired_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("key_id", name=op.f("pk_data_keys")),
    )
    if op.get_bind().dialect.name == "postgresql":
        # A sealed value is longer than the text it seals: no length limits any more.
        for table, (_key, columns) in TEXT_FIELDS.items():
            for column in columns:
                op.alter_column(table, column, type_=sa.Text())
    ring = installed()
    for table, (key, columns) in TEXT_FIELDS.items():
        _convert(table, key, columns, ring.seal, lambda v: str(v).startswith(TEXT_PREFIX))
    for table, (key, columns) in BYTES_FIELDS.items():
        _convert(
            table, key, columns, lambda v: ring.seal_bytes(bytes(v)),
            lambda v: bytes(v).startswith(BYTES_PREFIX),
        )  # fmt: skip
    # The index held names' forms in clear: drop it, and the matcher builds it again with
    # keyed hashes (it re-indexes whatever is marked match_pending).
    op.execute("DELETE FROM name_keys")
    op.execute("UPDATE tracing_requests SET match_pending = true")
    op.execute("UPDATE person_records SET match_pending = true")


def downgrade() -> None:
    ring = installed()
    for table, (key, columns) in TEXT_FIELDS.items():
        _convert(table, key, columns, ring.open, lambda v: not str(v).startswith(TEXT_PREFIX))
    for table, (key, columns) in BYTES_FIELDS.items():
        _convert(
            table, key, columns, lambda v: ring.open_bytes(bytes(v)),
            lambda v: not bytes(v).startswith(BYTES_PREFIX),
        )  # fmt: skip
    op.execute("DELETE FROM name_keys")
    op.execute("UPDATE tracing_requests SET match_pending = true")
    op.execute("UPDATE person_records SET match_pending = true")
    op.drop_table("data_keys")
