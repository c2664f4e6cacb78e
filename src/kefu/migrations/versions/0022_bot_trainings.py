"""bot_trainings: the state and progress of intent-model trainings (quick model, fine-tuned copy);
bot_intents.faq_ids: the FAQ entries an intent links to

Revision ID: 0022_bot_trainings
Revises: 0021_email
Create Date: 2026-12-07 23:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0022_bot_trainings"
down_revision = "0021_email"
branch_labels = None
depends_on = None


def _id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.add_column(
        "bot_intents",
        sa.Column(
            "faq_ids", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), server_default="[]", nullable=False
        ),
    )
    op.create_table(
        "bot_trainings",
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        sa.Column("account_id", _id(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("stage", sa.String(length=64), nullable=False),
        sa.Column("examples_hash", sa.String(length=32), nullable=False),
        sa.Column("model_id", _id(), nullable=True),
        sa.Column("quick_id", _id(), nullable=True),
        sa.Column("detail", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_bot_trainings_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["model_id"], ["bot_models.id"], name=op.f("fk_bot_trainings_model_id_bot_models"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bot_trainings")),
    )
    op.create_index(op.f("ix_bot_trainings_account_id"), "bot_trainings", ["account_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_bot_trainings_account_id"), table_name="bot_trainings")
    op.drop_table("bot_trainings")
    with op.batch_alter_table("bot_intents") as batch:
        batch.drop_column("faq_ids")
