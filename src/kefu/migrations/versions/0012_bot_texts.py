"""The account's wording of the bot's fixed replies: bot_texts(account_id, key, locale, text) — no row: the
default from the translations (kefu.bot.texts)

Revision ID: 0012_bot_texts
Revises: 0011_contact_tier
Create Date: 2026-12-07 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_bot_texts"
down_revision = "0011_contact_tier"
branch_labels = None
depends_on = None


def _id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "bot_texts",
        sa.Column("account_id", _id(), nullable=False),
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("locale", sa.String(length=8), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_bot_texts_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bot_texts")),
        sa.UniqueConstraint("account_id", "key", "locale", name=op.f("uq_bot_texts_account_id_key_locale")),
    )
    with op.batch_alter_table("bot_texts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bot_texts_account_id"), ["account_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("bot_texts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bot_texts_account_id"))
    op.drop_table("bot_texts")
