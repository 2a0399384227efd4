"""The desk's customer search keys, and accounts whose sessions can be ended.

people.name_key and people.name_pinyin (``domain.names``), filled here for the
people already stored; an index on phones.e164; agents.session_generation and
agents.disabled_at.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from domain.names import name_key, pinyin_key

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# People keyed per round trip while filling the new columns.
BATCH = 5000


def upgrade() -> None:
    with op.batch_alter_table("people") as table:
        table.add_column(sa.Column("name_key", sa.String(100), server_default="", nullable=False))
        table.add_column(
            sa.Column("name_pinyin", sa.String(600), server_default="", nullable=False)
        )
    _fill_name_keys()
    op.create_index("ix_people_name_key", "people", ["name_key"])
    op.create_index("ix_people_name_pinyin", "people", ["name_pinyin"])
    op.create_index("ix_phones_e164", "phones", ["e164"])
    with op.batch_alter_table("agents") as table:
        table.add_column(
            sa.Column("session_generation", sa.Integer(), server_default="0", nullable=False)
        )
        table.add_column(sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True))


def _fill_name_keys() -> None:
    """Key every stored person, in id order, a batch per round trip."""
    connection = op.get_bind()
    people = sa.table(
        "people",
        sa.column("id"),
        sa.column("name"),
        sa.column("name_key"),
        sa.column("name_pinyin"),
    )
    update = (
        sa.update(people)
        .where(people.c.id == sa.bindparam("person_id"))
        .values(name_key=sa.bindparam("key"), name_pinyin=sa.bindparam("spelling"))
    )
    after = ""
    while True:
        rows = connection.execute(
            sa.select(people.c.id, people.c.name)
            .where(people.c.id > after)
            .order_by(people.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        connection.execute(
            update,
            [
                {"person_id": pid, "key": name_key(name), "spelling": pinyin_key(name)}
                for pid, name in rows
            ],
        )
        after = rows[-1][0]


def downgrade() -> None:
    with op.batch_alter_table("agents") as table:
        table.drop_column("disabled_at")
        table.drop_column("session_generation")
    op.drop_index("ix_phones_e164", table_name="phones")
    op.drop_index("ix_people_name_pinyin", table_name="people")
    op.drop_index("ix_people_name_key", table_name="people")
    with op.batch_alter_table("people") as table:
        table.drop_column("name_pinyin")
        table.drop_column("name_key")
