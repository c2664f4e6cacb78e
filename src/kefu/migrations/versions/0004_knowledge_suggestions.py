"""knowledge: dismissed FAQ suggestions

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 19:09:16.052712
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _id() -> sa.types.TypeEngine:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "knowledge_dismissed_questions",
        sa.Column("account_id", _id(), nullable=False),
        sa.Column("message_id", _id(), nullable=False),
        sa.Column("user_id", _id(), nullable=True),
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_knowledge_dismissed_questions_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name=op.f("fk_knowledge_dismissed_questions_message_id_messages"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_knowledge_dismissed_questions_user_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_knowledge_dismissed_questions")),
        sa.UniqueConstraint(
            "account_id", "message_id", name=op.f("uq_knowledge_dismissed_questions_account_id_message_id")
        ),
    )


def downgrade() -> None:
    op.drop_table("knowledge_dismissed_questions")
