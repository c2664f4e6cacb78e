"""knowledge base: FAQ entries, articles, version history

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _id() -> sa.types.TypeEngine:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _json() -> sa.types.TypeEngine:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _entry_columns(table: str) -> list[sa.schema.SchemaItem]:
    return [
        sa.Column("account_id", _id(), nullable=False),
        sa.Column("category", sa.String(length=100), nullable=False),
        sa.Column("tags", _json(), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("author_id", _id(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f(f"fk_{table}_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f(f"fk_{table}_author_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
    ]


def upgrade() -> None:
    op.create_table(
        "knowledge_faqs",
        sa.Column("question", sa.String(length=500), nullable=False),
        sa.Column("variants", _json(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        *_entry_columns("knowledge_faqs"),
    )
    with op.batch_alter_table("knowledge_faqs", schema=None) as batch_op:
        batch_op.create_index("ix_knowledge_faqs_account_id_status", ["account_id", "status"], unique=False)

    op.create_table(
        "knowledge_articles",
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("body_format", sa.String(length=16), nullable=False),
        *_entry_columns("knowledge_articles"),
    )
    with op.batch_alter_table("knowledge_articles", schema=None) as batch_op:
        batch_op.create_index("ix_knowledge_articles_account_id_status", ["account_id", "status"], unique=False)

    op.create_table(
        "knowledge_versions",
        sa.Column("account_id", _id(), nullable=False),
        sa.Column("entry_kind", sa.String(length=16), nullable=False),
        sa.Column("entry_id", _id(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("snapshot", _json(), nullable=False),
        sa.Column("editor_id", _id(), nullable=True),
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_knowledge_versions_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["editor_id"], ["users.id"], name=op.f("fk_knowledge_versions_editor_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_knowledge_versions")),
        sa.UniqueConstraint(
            "entry_kind", "entry_id", "version", name=op.f("uq_knowledge_versions_entry_kind_entry_id_version")
        ),
    )
    with op.batch_alter_table("knowledge_versions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_knowledge_versions_account_id_entry", ["account_id", "entry_kind", "entry_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("knowledge_versions", schema=None) as batch_op:
        batch_op.drop_index("ix_knowledge_versions_account_id_entry")
    op.drop_table("knowledge_versions")
    with op.batch_alter_table("knowledge_articles", schema=None) as batch_op:
        batch_op.drop_index("ix_knowledge_articles_account_id_status")
    op.drop_table("knowledge_articles")
    with op.batch_alter_table("knowledge_faqs", schema=None) as batch_op:
        batch_op.drop_index("ix_knowledge_faqs_account_id_status")
    op.drop_table("knowledge_faqs")
