"""one customer: merged contacts, the merge history, the inbox each message came through, linked conversations

Revision ID: 0020_contact_merge
Revises: 0019_channel_state
Create Date: 2026-12-07 20:00:00
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0020_contact_merge"
down_revision = "0019_channel_state"
branch_labels = None
depends_on = None


def _id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("contacts") as batch:
        batch.add_column(sa.Column("merged_into_id", _id(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_contacts_merged_into_id_contacts"), "contacts", ["merged_into_id"], ["id"], ondelete="SET NULL"
        )
        batch.create_index(op.f("ix_contacts_merged_into_id"), ["merged_into_id"])
    with op.batch_alter_table("conversations") as batch:
        batch.add_column(sa.Column("linked_conversation_id", _id(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_conversations_linked_conversation_id_conversations"),
            "conversations",
            ["linked_conversation_id"],
            ["id"],
            ondelete="SET NULL",
        )
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("inbox_id", _id(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_messages_inbox_id_inboxes"), "inboxes", ["inbox_id"], ["id"], ondelete="SET NULL"
        )
    op.create_table(
        "contact_merges",
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        sa.Column("account_id", _id(), nullable=False),
        sa.Column("kept_id", _id(), nullable=False),
        sa.Column("absorbed_id", _id(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("actor_type", sa.String(length=10), nullable=False),
        sa.Column("actor_id", _id(), nullable=True),
        sa.Column("moved", _json(), nullable=False),
        sa.Column("split_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_contact_merges_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["kept_id"], ["contacts.id"], name=op.f("fk_contact_merges_kept_id_contacts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["absorbed_id"], ["contacts.id"], name=op.f("fk_contact_merges_absorbed_id_contacts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_merges")),
    )
    op.create_index(op.f("ix_contact_merges_account_id"), "contact_merges", ["account_id"])
    op.create_index(op.f("ix_contact_merges_kept_id"), "contact_merges", ["kept_id"])
    op.create_index(op.f("ix_contact_merges_absorbed_id"), "contact_merges", ["absorbed_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_contact_merges_absorbed_id"), table_name="contact_merges")
    op.drop_index(op.f("ix_contact_merges_kept_id"), table_name="contact_merges")
    op.drop_index(op.f("ix_contact_merges_account_id"), table_name="contact_merges")
    op.drop_table("contact_merges")
    with op.batch_alter_table("messages") as batch:
        batch.drop_constraint(op.f("fk_messages_inbox_id_inboxes"), type_="foreignkey")
        batch.drop_column("inbox_id")
    with op.batch_alter_table("conversations") as batch:
        batch.drop_constraint(op.f("fk_conversations_linked_conversation_id_conversations"), type_="foreignkey")
        batch.drop_column("linked_conversation_id")
    with op.batch_alter_table("contacts") as batch:
        batch.drop_index(op.f("ix_contacts_merged_into_id"))
        batch.drop_constraint(op.f("fk_contacts_merged_into_id_contacts"), type_="foreignkey")
        batch.drop_column("merged_into_id")
