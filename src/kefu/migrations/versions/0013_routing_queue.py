"""The queue on conversations: waiting_since (when it started waiting for a person; NULL: not queued),
sla_due_at (the nearest running SLA deadline, kept by kefu.sla), priority_reasons (why its priority); the
computed customer tier on contacts: segment, segment_reasons, churn_risk

Revision ID: 0013_routing_queue
Revises: 0012_bot_texts
Create Date: 2026-12-07 17:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0013_routing_queue"
down_revision = "0012_bot_texts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        batch.add_column(sa.Column("waiting_since", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("sla_due_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column(
                "priority_reasons",
                sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
                nullable=False,
                server_default="[]",
            )
        )
    op.create_index("ix_conversations_queue", "conversations", ["account_id", "waiting_since"])
    with op.batch_alter_table("contacts") as batch:
        batch.add_column(sa.Column("segment", sa.String(length=16), nullable=True))
        batch.add_column(
            sa.Column(
                "segment_reasons",
                sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
                nullable=False,
                server_default="[]",
            )
        )
        batch.add_column(sa.Column("churn_risk", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("contacts") as batch:
        batch.drop_column("churn_risk")
        batch.drop_column("segment_reasons")
        batch.drop_column("segment")
    op.drop_index("ix_conversations_queue", table_name="conversations")
    with op.batch_alter_table("conversations") as batch:
        batch.drop_column("priority_reasons")
        batch.drop_column("sla_due_at")
        batch.drop_column("waiting_since")
