"""bot: intents, flows, settings, trained intent models

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 16:44:28.571713
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _id() -> sa.types.TypeEngine:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _json() -> sa.types.TypeEngine:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "bot_flows",
        sa.Column("account_id", _id(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("definition", _json(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_bot_flows_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bot_flows")),
        sa.UniqueConstraint("account_id", "name", name=op.f("uq_bot_flows_account_id_name")),
    )
    with op.batch_alter_table("bot_flows", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bot_flows_account_id"), ["account_id"], unique=False)

    op.create_table(
        "bot_models",
        sa.Column("account_id", _id(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("blob", sa.LargeBinary(), nullable=False),
        sa.Column("metrics", _json(), nullable=False),
        sa.Column("trained_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_bot_models_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bot_models")),
        sa.UniqueConstraint("account_id", "version", name=op.f("uq_bot_models_account_id_version")),
    )
    with op.batch_alter_table("bot_models", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bot_models_account_id"), ["account_id"], unique=False)

    op.create_table(
        "bot_settings",
        sa.Column("account_id", _id(), nullable=False),
        sa.Column("answer_min_score", sa.Float(), nullable=False),
        sa.Column("clarify_margin", sa.Float(), nullable=False),
        sa.Column("oos_threshold", sa.Float(), nullable=True),
        sa.Column("handoff_rules", _json(), nullable=False),
        sa.Column("greeting", _json(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_bot_settings_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bot_settings")),
        sa.UniqueConstraint("account_id", name=op.f("uq_bot_settings_account_id")),
    )
    op.create_table(
        "bot_intents",
        sa.Column("account_id", _id(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("examples", _json(), nullable=False),
        sa.Column("handoff", sa.Boolean(), nullable=False),
        sa.Column("flow_id", _id(), nullable=True),
        sa.Column("reply", _json(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_bot_intents_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["flow_id"], ["bot_flows.id"], name=op.f("fk_bot_intents_flow_id_bot_flows"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bot_intents")),
        sa.UniqueConstraint("account_id", "name", name=op.f("uq_bot_intents_account_id_name")),
    )
    with op.batch_alter_table("bot_intents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bot_intents_account_id"), ["account_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("bot_intents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bot_intents_account_id"))

    op.drop_table("bot_intents")
    op.drop_table("bot_settings")
    with op.batch_alter_table("bot_models", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bot_models_account_id"))

    op.drop_table("bot_models")
    with op.batch_alter_table("bot_flows", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bot_flows_account_id"))

    op.drop_table("bot_flows")
