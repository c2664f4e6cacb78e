"""bot_settings.calibrated_answers: knowledge answers also need the knowledge base's own answer floor

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 22:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("bot_settings") as batch:
        batch.add_column(sa.Column("calibrated_answers", sa.Boolean(), nullable=False, server_default=sa.true()))


def downgrade() -> None:
    with op.batch_alter_table("bot_settings") as batch:
        batch.drop_column("calibrated_answers")
