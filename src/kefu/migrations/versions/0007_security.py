"""Revocable visitors and idle sessions: contacts.token_version (a signed-out visitor's tokens stop
working), user_sessions.last_seen_at (sessions end after KEFU_SESSION_IDLE_S without a request)

Revision ID: 0007_security
Revises: 0006
Create Date: 2026-12-07 07:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_security"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("contacts") as batch:
        batch.add_column(sa.Column("token_version", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("user_sessions") as batch:
        batch.add_column(sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("user_sessions") as batch:
        batch.drop_column("last_seen_at")
    with op.batch_alter_table("contacts") as batch:
        batch.drop_column("token_version")
