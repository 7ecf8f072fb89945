"""tracing: name index, imported records, possible matches, linked cases

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tracing_requests", schema=None) as batch_op:
        # Every request already stored is indexed and matched once by the matcher.
        batch_op.add_column(
            sa.Column("match_pending", sa.Boolean(), server_default=sa.true(), nullable=False)
        )
        batch_op.add_column(sa.Column("lead_request_id", sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_tracing_requests_match_pending"), ["match_pending"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_tracing_requests_lead_request_id"), ["lead_request_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_tracing_requests_lead_request_id_tracing_requests"),
            "tracing_requests",
            ["lead_request_id"],
            ["id"],
            ondelete="SET NULL",
        )

    op.create_table(
        "person_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("source_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=310), nullable=False),
        sa.Column("other_names", sa.String(length=300), nullable=True),
        sa.Column("sex", sa.String(length=8), nullable=True),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("birth_year", sa.Integer(), nullable=True),
        sa.Column("birth_place", sa.String(length=200), nullable=True),
        sa.Column("current_place", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=100), nullable=True),
        sa.Column("welfare", sa.Text(), nullable=True),
        sa.Column("imported_by", sa.BigInteger(), nullable=True),
        sa.Column("imported_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("match_pending", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person_records")),
        sa.UniqueConstraint("source", "source_id", name="uq_person_records_source_id"),
    )
    with op.batch_alter_table("person_records", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_person_records_birth_year"), ["birth_year"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_person_records_match_pending"), ["match_pending"], unique=False
        )

    op.create_table(
        "record_photos",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("mime", sa.String(length=32), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["person_records.id"],
            name=op.f("fk_record_photos_record_id_person_records"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_record_photos")),
    )
    with op.batch_alter_table("record_photos", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_record_photos_record_id"), ["record_id"], unique=False)

    op.create_table(
        "name_keys",
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("birth_year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("owner_kind", sa.String(length=1), nullable=False),
        sa.Column("owner_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint(
            "key", "birth_year", "owner_kind", "owner_id", name=op.f("pk_name_keys")
        ),
    )
    op.create_index("ix_name_keys_owner", "name_keys", ["owner_kind", "owner_id"], unique=False)

    op.create_table(
        "possible_matches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("other_kind", sa.String(length=1), nullable=False),
        sa.Column("other_id", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("reasons", sa.String(length=300), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("found_at", sa.DateTime(), nullable=False),
        sa.Column("decided_by", sa.BigInteger(), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["tracing_requests.id"],
            name=op.f("fk_possible_matches_request_id_tracing_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_possible_matches")),
        sa.UniqueConstraint(
            "request_id", "other_kind", "other_id", name="uq_possible_matches_pair"
        ),
    )
    op.create_index(
        "ix_possible_matches_other", "possible_matches", ["other_kind", "other_id"], unique=False
    )
    op.create_index(
        op.f("ix_possible_matches_request_id"), "possible_matches", ["request_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_possible_matches_request_id"), table_name="possible_matches")
    op.drop_index("ix_possible_matches_other", table_name="possible_matches")
    op.drop_table("possible_matches")
    op.drop_index("ix_name_keys_owner", table_name="name_keys")
    op.drop_table("name_keys")
    with op.batch_alter_table("record_photos", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_record_photos_record_id"))
    op.drop_table("record_photos")
    with op.batch_alter_table("person_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_person_records_match_pending"))
        batch_op.drop_index(batch_op.f("ix_person_records_birth_year"))
    op.drop_table("person_records")
    with op.batch_alter_table("tracing_requests", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_tracing_requests_lead_request_id_tracing_requests"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_tracing_requests_lead_request_id"))
        batch_op.drop_index(batch_op.f("ix_tracing_requests_match_pending"))
        batch_op.drop_column("lead_request_id")
        batch_op.drop_column("match_pending")
