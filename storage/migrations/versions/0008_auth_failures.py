"""Failed authentication tries in SQL: the lockout across calls (SPEC §4 step 2).

They were kept in Redis, which keeps nothing on disk: a restart forgot them. Tries
counted in Redis before this revision are not carried over (they age out within the
window anyway).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "auth_failures",
        sa.Column("kind", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(64), nullable=False),
        sa.Column("attempt", sa.String(96), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "subject", "attempt", name="pk_auth_failures"),
    )
    op.create_index("ix_auth_failures_kind_subject_at", "auth_failures", ["kind", "subject", "at"])


def downgrade() -> None:
    op.drop_index("ix_auth_failures_kind_subject_at", table_name="auth_failures")
    op.drop_table("auth_failures")
