"""Outbound delivery through channel adapters: messages.delivery_status (pending / sent / failed; null
when the channel needs no delivery), delivery_error (the last failure) and delivery_attempts

Revision ID: 0010_message_delivery
Revises: 0009_knowledge_version
Create Date: 2026-12-07 14:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_message_delivery"
down_revision = "0009_knowledge_version"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("delivery_status", sa.String(length=10), nullable=True))
        batch.add_column(sa.Column("delivery_error", sa.Text(), nullable=True))
        batch.add_column(sa.Column("delivery_attempts", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("delivery_attempts")
        batch.drop_column("delivery_error")
        batch.drop_column("delivery_status")
