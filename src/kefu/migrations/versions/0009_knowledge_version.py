"""knowledge: a per-account knowledge version, bumped with every FAQ/article write, so each app node's
search cache can tell it is stale by reading one row (docs/adr/0006-search-backend.md)

Revision ID: 0009_knowledge_version
Revises: 0008_event_listeners
Create Date: 2026-12-07 14:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_knowledge_version"
down_revision = "0008_event_listeners"
branch_labels = None
depends_on = None


def _id() -> sa.types.TypeEngine:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "knowledge_search_versions",
        sa.Column("account_id", _id(), autoincrement=False, nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_knowledge_search_versions_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_knowledge_search_versions")),
    )


def downgrade() -> None:
    op.drop_table("knowledge_search_versions")
