"""Durable event listeners: listener_cursors (one stored cursor per listener) and listener_dead_letters
(events a listener failed on: retried with backoff, then dead for an admin to retry or dismiss)

Revision ID: 0008_event_listeners
Revises: 0007_security
Create Date: 2026-12-07 14:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_event_listeners"
down_revision = "0007_security"
branch_labels = None
depends_on = None


def _id() -> sa.types.TypeEngine:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "listener_cursors",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("last_event_id", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_listener_cursors")),
    )
    op.create_table(
        "listener_dead_letters",
        sa.Column("listener", sa.String(length=64), nullable=False),
        sa.Column("event_id", _id(), nullable=False),
        sa.Column("account_id", _id(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_listener_dead_letters_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"], name=op.f("fk_listener_dead_letters_event_id_events"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_listener_dead_letters")),
        sa.UniqueConstraint("listener", "event_id", name=op.f("uq_listener_dead_letters_listener_event_id")),
    )
    op.create_index(
        "ix_listener_dead_letters_account_id_status", "listener_dead_letters", ["account_id", "status"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_listener_dead_letters_account_id_status", table_name="listener_dead_letters")
    op.drop_table("listener_dead_letters")
    op.drop_table("listener_cursors")
