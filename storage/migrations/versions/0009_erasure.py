"""erasure: erased requests, retention warnings, liaisons' erasure requests

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tracing_requests", schema=None) as batch_op:
        # An erased request belongs to nobody: its family's row is deleted.
        batch_op.alter_column("family_id", existing_type=sa.BigInteger(), nullable=True)
        batch_op.add_column(sa.Column("erased_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("erased_reason", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("retention_warned_at", sa.DateTime(), nullable=True))

    op.create_table(
        "erasure_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("requested_by", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("decided_by", sa.BigInteger(), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["tracing_requests.id"],
            name=op.f("fk_erasure_requests_request_id_tracing_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_erasure_requests")),
    )
    with op.batch_alter_table("erasure_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_erasure_requests_request_id"), ["request_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("erasure_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_erasure_requests_request_id"))
    op.drop_table("erasure_requests")
    with op.batch_alter_table("tracing_requests", schema=None) as batch_op:
        batch_op.drop_column("retention_warned_at")
        batch_op.drop_column("erased_reason")
        batch_op.drop_column("erased_at")
        batch_op.alter_column("family_id", existing_type=sa.BigInteger(), nullable=False)
