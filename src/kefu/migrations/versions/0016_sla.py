"""SLA policies, business calendars and holidays, SLA clocks (kefu.sla)

Revision ID: 0016_sla
Revises: 0015_tickets
Create Date: 2026-12-07 17:00:00
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0016_sla"
down_revision = "0015_tickets"
branch_labels = None
depends_on = None


def _id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _when(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _account(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["account_id"], ["accounts.id"], name=op.f(f"fk_{table}_account_id_accounts"), ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "sla_calendars",
        sa.Column("account_id", _id(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("week", _json(), nullable=False),
        _when("updated_at"),
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        _when("created_at"),
        _account("sla_calendars"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_calendars")),
        sa.UniqueConstraint("account_id", "name", name=op.f("uq_sla_calendars_account_id_name")),
    )
    op.create_index(op.f("ix_sla_calendars_account_id"), "sla_calendars", ["account_id"])
    op.create_table(
        "sla_calendar_days",
        sa.Column("account_id", _id(), nullable=False),
        sa.Column("calendar_id", _id(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("hours", _json(), nullable=False),
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        _account("sla_calendar_days"),
        sa.ForeignKeyConstraint(
            ["calendar_id"],
            ["sla_calendars.id"],
            name=op.f("fk_sla_calendar_days_calendar_id_sla_calendars"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_calendar_days")),
        sa.UniqueConstraint("calendar_id", "day", name=op.f("uq_sla_calendar_days_calendar_id_day")),
    )
    op.create_index(op.f("ix_sla_calendar_days_account_id"), "sla_calendar_days", ["account_id"])
    op.create_table(
        "sla_policies",
        sa.Column("account_id", _id(), nullable=False),
        sa.Column("priority", sa.String(length=4), nullable=False),
        sa.Column("tier", sa.String(length=10), nullable=False),
        sa.Column("first_response_min", sa.Integer(), nullable=False),
        sa.Column("next_response_min", sa.Integer(), nullable=False),
        sa.Column("resolution_min", sa.Integer(), nullable=False),
        sa.Column("warn_fraction", sa.Float(), nullable=False),
        sa.Column("calendar_id", _id(), nullable=True),
        _when("updated_at"),
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        _when("created_at"),
        _account("sla_policies"),
        sa.ForeignKeyConstraint(
            ["calendar_id"],
            ["sla_calendars.id"],
            name=op.f("fk_sla_policies_calendar_id_sla_calendars"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_policies")),
        sa.UniqueConstraint("account_id", "priority", "tier", name=op.f("uq_sla_policies_account_id_priority_tier")),
    )
    op.create_index(op.f("ix_sla_policies_account_id"), "sla_policies", ["account_id"])
    op.create_index(op.f("ix_sla_policies_calendar_id"), "sla_policies", ["calendar_id"])
    op.create_table(
        "sla_clocks",
        sa.Column("account_id", _id(), nullable=False),
        sa.Column("subject_type", sa.String(length=16), nullable=False),
        sa.Column("subject_id", _id(), nullable=False),
        sa.Column("metric", sa.String(length=16), nullable=False),
        sa.Column("priority", sa.String(length=4), nullable=False),
        sa.Column("policy_id", _id(), nullable=True),
        sa.Column("calendar_id", _id(), nullable=True),
        sa.Column("target_s", sa.Integer(), nullable=False),
        sa.Column("warn_fraction", sa.Float(), nullable=False),
        _when("started_at"),
        _when("due_at"),
        _when("warn_at"),
        _when("paused_at", nullable=True),
        sa.Column("paused_s", sa.Integer(), nullable=False),
        _when("stopped_at", nullable=True),
        _when("warned_at", nullable=True),
        _when("breached_at", nullable=True),
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        _account("sla_clocks"),
        sa.ForeignKeyConstraint(
            ["policy_id"], ["sla_policies.id"], name=op.f("fk_sla_clocks_policy_id_sla_policies"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["calendar_id"],
            ["sla_calendars.id"],
            name=op.f("fk_sla_clocks_calendar_id_sla_calendars"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_clocks")),
    )
    op.create_index("ix_sla_clocks_subject", "sla_clocks", ["account_id", "subject_type", "subject_id"])
    op.create_index("ix_sla_clocks_due", "sla_clocks", ["stopped_at", "due_at"])


def downgrade() -> None:
    op.drop_index("ix_sla_clocks_due", table_name="sla_clocks")
    op.drop_index("ix_sla_clocks_subject", table_name="sla_clocks")
    op.drop_table("sla_clocks")
    op.drop_index(op.f("ix_sla_policies_calendar_id"), table_name="sla_policies")
    op.drop_index(op.f("ix_sla_policies_account_id"), table_name="sla_policies")
    op.drop_table("sla_policies")
    op.drop_index(op.f("ix_sla_calendar_days_account_id"), table_name="sla_calendar_days")
    op.drop_table("sla_calendar_days")
    op.drop_index(op.f("ix_sla_calendars_account_id"), table_name="sla_calendars")
    op.drop_table("sla_calendars")
