"""channel state: what a channel keeps per inbox between requests (WeChat / WeCom access tokens, the
WeCom message-sync cursor), shared by every node

Revision ID: 0019_channel_state
Revises: 0018_webhooks
Create Date: 2026-12-07 20:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019_channel_state"
down_revision = "0018_webhooks"
branch_labels = None
depends_on = None


def _id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "channel_states",
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        sa.Column("inbox_id", _id(), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["inbox_id"], ["inboxes.id"], name=op.f("fk_channel_states_inbox_id_inboxes"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_states")),
        sa.UniqueConstraint("inbox_id", "name", name=op.f("uq_channel_states_inbox_id_name")),
    )


def downgrade() -> None:
    op.drop_table("channel_states")
