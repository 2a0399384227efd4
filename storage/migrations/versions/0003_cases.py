"""Cases: service requests taken at the desk, their milestones and SLA deadlines.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_key", sa.String(length=64), nullable=False),
        sa.Column("insured_id", sa.String(length=64), nullable=False),
        sa.Column("service", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("opened_by", sa.Integer(), nullable=True),
        sa.Column("opened_at", sa.DateTime(), nullable=False),
        sa.Column("call_sid", sa.String(length=64), nullable=True),
        sa.Column("critical_illness_confirmed", sa.Boolean(), nullable=False),
        sa.Column("hospital", sa.String(length=200), nullable=True),
        sa.Column("doctor", sa.String(length=100), nullable=True),
        sa.Column("visit_on", sa.Date(), nullable=True),
        sa.Column("visit_period", sa.String(length=2), nullable=True),
        sa.Column("contact_phone", sa.String(length=20), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("units", sa.Integer(), nullable=False),
        sa.Column("use_outcome", sa.String(length=16), nullable=False),
        sa.Column("use_reason", sa.String(length=32), nullable=False),
        sa.Column("counted_on", sa.Date(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("confirmation_claimed_at", sa.DateTime(), nullable=True),
        sa.Column("confirmation_sid", sa.String(length=64), nullable=True),
        sa.Column("confirmation_sent_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["insured_id"], ["people.id"], name=op.f("fk_cases_insured_id_people")
        ),
        sa.ForeignKeyConstraint(
            ["opened_by"],
            ["agents.id"],
            name=op.f("fk_cases_opened_by_agents"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases")),
        sa.UniqueConstraint("request_key", name=op.f("uq_cases_request_key")),
    )
    op.create_index(op.f("ix_cases_insured_id"), "cases", ["insured_id"], unique=False)
    op.create_index(op.f("ix_cases_opened_by"), "cases", ["opened_by"], unique=False)
    op.create_index(op.f("ix_cases_status"), "cases", ["status"], unique=False)
    op.create_table(
        "case_deadlines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("anchor", sa.String(length=32), nullable=False),
        sa.Column("met_by", sa.String(length=24), nullable=True),
        sa.Column("working_days", sa.Integer(), nullable=True),
        sa.Column("hours", sa.Integer(), nullable=True),
        sa.Column("anchored_at", sa.DateTime(), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("due_at", sa.DateTime(), nullable=True),
        sa.Column("met_at", sa.DateTime(), nullable=True),
        sa.Column("overdue_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_case_deadlines_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_deadlines")),
        sa.UniqueConstraint("case_id", "key", name=op.f("uq_case_deadlines_case_id_key")),
    )
    op.create_index(op.f("ix_case_deadlines_due_on"), "case_deadlines", ["due_on"], unique=False)
    op.create_table(
        "case_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("milestone", sa.String(length=24), nullable=False),
        sa.Column("on_date", sa.Date(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("by_party", sa.String(length=16), nullable=True),
        sa.Column("visit_on", sa.Date(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_case_events_agent_id_agents"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_events_case_id_cases"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_events")),
    )
    op.create_index(op.f("ix_case_events_case_id"), "case_events", ["case_id"], unique=False)


def downgrade() -> None:
    op.drop_table("case_events")
    op.drop_table("case_deadlines")
    op.drop_table("cases")
