"""several instances: a broadcast's final report is claimed by one sender

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("broadcasts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reported_at", sa.DateTime(), nullable=True))
    # Broadcasts that ended before: their reports went out already.
    op.execute(
        "UPDATE broadcasts SET reported_at = finished_at "
        "WHERE state IN ('done', 'cancelled') AND reported_at IS NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("broadcasts", schema=None) as batch_op:
        batch_op.drop_column("reported_at")
