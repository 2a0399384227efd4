"""Interval history: per queue and per agent per half hour; what each call and spell added.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column(
        "call_records", sa.Column("counted", sa.Integer(), server_default="0", nullable=False)
    )
    op.add_column(
        "agent_state_log",
        sa.Column("counted", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.create_index(
        "ix_agent_state_log_uncounted",
        "agent_state_log",
        ["started_at"],
        postgresql_where=sa.text("counted = false"),
        sqlite_where=sa.text("counted = 0"),
    )
    op.create_table(
        "queue_intervals",
        sa.Column("interval_start", WHEN, nullable=False),
        sa.Column("queue", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        *(
            sa.Column(name, sa.Integer(), server_default="0", nullable=False)
            for name in (
                "offered",
                "answered",
                "answered_within_sl",
                "abandoned",
                "short_abandons",
                "left_for_callback",
                "failed",
                "callbacks_requested",
                "callbacks_completed",
            )
        ),
        sa.Column("wait_total_seconds", sa.Float(), server_default="0", nullable=False),
        sa.Column("longest_wait_seconds", sa.Float(), nullable=True),
        sa.Column("handled", sa.Integer(), server_default="0", nullable=False),
        sa.Column("handle_total_seconds", sa.Float(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("interval_start", "queue", name=op.f("pk_queue_intervals")),
    )
    op.create_table(
        "agent_intervals",
        sa.Column("interval_start", WHEN, nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("handled", sa.Integer(), server_default="0", nullable=False),
        sa.Column("talk_seconds", sa.Float(), server_default="0", nullable=False),
        sa.Column("wrap_up_seconds", sa.Float(), server_default="0", nullable=False),
        sa.Column("missed_offers", sa.Integer(), server_default="0", nullable=False),
        *(
            sa.Column(f"state_{state}_seconds", sa.Float(), server_default="0", nullable=False)
            for state in ("available", "break", "offered", "on_call", "wrap_up")
        ),
        sa.PrimaryKeyConstraint("interval_start", "username", name=op.f("pk_agent_intervals")),
    )


def downgrade() -> None:
    op.drop_table("agent_intervals")
    op.drop_table("queue_intervals")
    op.drop_index("ix_agent_state_log_uncounted", table_name="agent_state_log")
    with op.batch_alter_table("agent_state_log") as batch:
        batch.drop_column("counted")
    with op.batch_alter_table("call_records") as batch:
        batch.drop_column("counted")
