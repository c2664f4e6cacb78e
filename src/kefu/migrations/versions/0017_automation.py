"""automation rules, their runs and the rule chain behind events the rules caused (kefu.automation)

Revision ID: 0017_automation
Revises: 0016_sla
Create Date: 2026-12-07 17:00:00
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0017_automation"
down_revision = "0016_sla"
branch_labels = None
depends_on = None


def _id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _account_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["account_id"], ["accounts.id"], name=op.f(f"fk_{table}_account_id_accounts"), ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "automation_rules",
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        sa.Column("account_id", _id(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("match", sa.String(length=3), nullable=False),
        sa.Column("conditions", _json(), nullable=False),
        sa.Column("actions", _json(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        _account_fk("automation_rules"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_automation_rules")),
    )
    op.create_index("ix_automation_rules_account_event", "automation_rules", ["account_id", "event_type", "position"])
    op.create_table(
        "automation_rule_runs",
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        sa.Column("account_id", _id(), nullable=False),
        sa.Column("rule_id", _id(), nullable=False),
        sa.Column("event_id", _id(), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("conversation_id", _id(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("results", _json(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _account_fk("automation_rule_runs"),
        sa.ForeignKeyConstraint(
            ["rule_id"],
            ["automation_rules.id"],
            name=op.f("fk_automation_rule_runs_rule_id_automation_rules"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_automation_rule_runs")),
    )
    op.create_index("ix_automation_rule_runs_account_id_id", "automation_rule_runs", ["account_id", "id"])
    op.create_index("ix_automation_rule_runs_rule_id_id", "automation_rule_runs", ["rule_id", "id"])
    op.create_table(
        "automation_event_causes",
        sa.Column("event_id", _id(), autoincrement=False, nullable=False),
        sa.Column("account_id", _id(), nullable=False),
        sa.Column("rule_ids", _json(), nullable=False),
        _account_fk("automation_event_causes"),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_automation_event_causes")),
    )
    op.create_index(
        op.f("ix_automation_event_causes_account_id"), "automation_event_causes", ["account_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_automation_event_causes_account_id"), table_name="automation_event_causes")
    op.drop_table("automation_event_causes")
    op.drop_index("ix_automation_rule_runs_rule_id_id", table_name="automation_rule_runs")
    op.drop_index("ix_automation_rule_runs_account_id_id", table_name="automation_rule_runs")
    op.drop_table("automation_rule_runs")
    op.drop_index("ix_automation_rules_account_event", table_name="automation_rules")
    op.drop_table("automation_rules")
