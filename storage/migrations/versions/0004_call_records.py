"""Call records and the agent-state log: what happened on each call and to each agent.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "call_records",
        sa.Column("call_sid", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("started_at", WHEN, nullable=False),
        sa.Column("caller", sa.String(length=20), nullable=True),
        sa.Column("line", sa.String(length=32), nullable=True),
        sa.Column("queue", sa.String(length=64), nullable=True),
        sa.Column("service", sa.String(length=40), nullable=True),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.Column("policyholder_id", sa.String(length=64), nullable=True),
        sa.Column("insured_id", sa.String(length=64), nullable=True),
        sa.Column("callback_id", sa.Integer(), nullable=True),
        sa.Column("enqueued_at", WHEN, nullable=True),
        sa.Column("left_queue_at", WHEN, nullable=True),
        sa.Column("queue_result", sa.String(length=16), nullable=True),
        sa.Column("wait_seconds", sa.Float(), nullable=True),
        sa.Column("agent", sa.String(length=64), nullable=True),
        sa.Column("answered_at", WHEN, nullable=True),
        sa.Column("talk_seconds", sa.Integer(), nullable=True),
        sa.Column("wrap_up_seconds", sa.Integer(), nullable=True),
        sa.Column("ended_at", WHEN, nullable=True),
        sa.Column("end_status", sa.String(length=16), nullable=True),
        sa.PrimaryKeyConstraint("call_sid", name=op.f("pk_call_records")),
    )
    for name, columns in (
        ("ix_call_records_policyholder_id_started_at", ["policyholder_id", "started_at"]),
        ("ix_call_records_insured_id_started_at", ["insured_id", "started_at"]),
        ("ix_call_records_caller_started_at", ["caller", "started_at"]),
        ("ix_call_records_started_at", ["started_at"]),
    ):
        op.create_index(name, "call_records", columns)
    op.create_table(
        "agent_state_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=True),
        sa.Column("started_at", WHEN, nullable=False),
        sa.Column("ended_at", WHEN, nullable=True),
        sa.Column("call_sid", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_state_log")),
    )
    op.create_index(
        "ix_agent_state_log_username_started_at", "agent_state_log", ["username", "started_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_agent_state_log_username_started_at", table_name="agent_state_log")
    op.drop_table("agent_state_log")
    for name in (
        "ix_call_records_started_at",
        "ix_call_records_caller_started_at",
        "ix_call_records_insured_id_started_at",
        "ix_call_records_policyholder_id_started_at",
    ):
        op.drop_index(name, table_name="call_records")
    op.drop_table("call_records")
