"""Initial schema: people and phones, policies and their events, service uses, agents, tokens.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("queues", sa.String(length=200), nullable=False),
        sa.Column("password_hash", sa.String(length=256), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agents")),
        sa.UniqueConstraint("username", name=op.f("uq_agents_username")),
    )
    op.create_table(
        "people",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_people")),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_api_tokens_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    op.create_index(op.f("ix_api_tokens_agent_id"), "api_tokens", ["agent_id"])
    op.create_table(
        "phones",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.String(length=64), nullable=False),
        sa.Column("e164", sa.String(length=20), nullable=False),
        sa.Column("suffix", sa.String(length=6), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_phones_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_phones")),
        sa.UniqueConstraint("person_id", "e164", name=op.f("uq_phones_person_id_e164")),
    )
    op.create_index(op.f("ix_phones_suffix"), "phones", ["suffix"])
    op.create_table(
        "policies",
        sa.Column("policy_no", sa.String(length=64), nullable=False),
        sa.Column("product", sa.String(length=200), nullable=False),
        sa.Column("applicable", sa.Boolean(), nullable=False),
        sa.Column("holder_id", sa.String(length=64), nullable=False),
        sa.Column("insured_id", sa.String(length=64), nullable=False),
        sa.Column("sum_insured", sa.BigInteger(), nullable=False),
        sa.Column("cooling_off_end", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["holder_id"], ["people.id"], name=op.f("fk_policies_holder_id_people")
        ),
        sa.ForeignKeyConstraint(
            ["insured_id"], ["people.id"], name=op.f("fk_policies_insured_id_people")
        ),
        sa.PrimaryKeyConstraint("policy_no", name=op.f("pk_policies")),
    )
    op.create_index(op.f("ix_policies_holder_id"), "policies", ["holder_id"])
    op.create_index(op.f("ix_policies_insured_id"), "policies", ["insured_id"])
    op.create_table(
        "service_uses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("insured_id", sa.String(length=64), nullable=False),
        sa.Column("service", sa.String(length=40), nullable=False),
        sa.Column("on_date", sa.Date(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("ref", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["insured_id"], ["people.id"], name=op.f("fk_service_uses_insured_id_people")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_uses")),
        sa.UniqueConstraint("source", "ref", name=op.f("uq_service_uses_source_ref")),
    )
    op.create_index(op.f("ix_service_uses_insured_id"), "service_uses", ["insured_id"])
    op.create_table(
        "policy_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("policy_no", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("on_date", sa.Date(), nullable=False),
        sa.Column("sum_insured", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(
            ["policy_no"],
            ["policies.policy_no"],
            name=op.f("fk_policy_events_policy_no_policies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_events")),
        sa.UniqueConstraint("policy_no", "seq", name=op.f("uq_policy_events_policy_no_seq")),
    )


def downgrade() -> None:
    for table in ("policy_events", "service_uses", "policies", "phones", "api_tokens"):
        op.drop_table(table)
    op.drop_table("people")
    op.drop_table("agents")
