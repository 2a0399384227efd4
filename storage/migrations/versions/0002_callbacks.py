"""Callbacks: kept in SQL before they are scheduled, so Redis may forget them.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "callbacks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("line", sa.String(length=32), nullable=False),
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("from_number", sa.String(length=20), nullable=True),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.Column("policyholder_id", sa.String(length=64), nullable=True),
        sa.Column("insured_id", sa.String(length=64), nullable=True),
        sa.Column("service", sa.String(length=40), nullable=True),
        sa.Column("call_sid", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("dialled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_call_sid", sa.String(length=64), nullable=True),
        sa.Column("last_result", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_callbacks")),
        sa.UniqueConstraint("call_sid", name=op.f("uq_callbacks_call_sid")),
    )
    op.create_index("ix_callbacks_status_due_at", "callbacks", ["status", "due_at"])


def downgrade() -> None:
    op.drop_index("ix_callbacks_status_due_at", table_name="callbacks")
    op.drop_table("callbacks")
