"""Call records waiting to be folded into the interval history.

The history is no longer written by the webhook that notes a fact: the note marks the
record pending, and the fold (the reports' readers, the upkeep job) adds what is due.
Records noted before this revision are all counted already: none is pending.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "call_records",
        sa.Column("pending", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.create_index(
        "ix_call_records_pending",
        "call_records",
        ["started_at"],
        postgresql_where=sa.text("pending = true"),
        sqlite_where=sa.text("pending = 1"),
    )


def downgrade() -> None:
    op.drop_index("ix_call_records_pending", table_name="call_records")
    with op.batch_alter_table("call_records") as batch:
        batch.drop_column("pending")
