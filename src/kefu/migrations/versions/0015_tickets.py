"""tickets, their timeline, links to conversations, custom fields, saved views, repeat contacts (kefu.tickets)

Revision ID: 0015_tickets
Revises: 0014_routing
Create Date: 2026-12-07 17:00:00
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0015_tickets"
down_revision = "0014_routing"
branch_labels = None
depends_on = None


def _id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "ticket_daily_stats",
        sa.Column("account_id", _id(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("conversations", sa.Integer(), server_default="0", nullable=False),
        sa.Column("repeat_contacts", sa.Integer(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_ticket_daily_stats_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("account_id", "day", name=op.f("pk_ticket_daily_stats")),
    )
    op.create_table(
        "ticket_fields",
        sa.Column("account_id", _id(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("type", sa.String(length=8), nullable=False),
        sa.Column("options", _json(), nullable=False),
        sa.Column("required", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("position", sa.Integer(), server_default="0", nullable=False),
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_ticket_fields_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_fields")),
        sa.UniqueConstraint("account_id", "key", name=op.f("uq_ticket_fields_account_id_key")),
    )
    with op.batch_alter_table("ticket_fields", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ticket_fields_account_id"), ["account_id"], unique=False)

    op.create_table(
        "ticket_views",
        sa.Column("account_id", _id(), nullable=False),
        sa.Column("user_id", _id(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("filters", _json(), nullable=False),
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_ticket_views_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_ticket_views_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_views")),
        sa.UniqueConstraint("user_id", "name", name=op.f("uq_ticket_views_user_id_name")),
    )
    with op.batch_alter_table("ticket_views", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ticket_views_account_id"), ["account_id"], unique=False)

    op.create_table(
        "tickets",
        sa.Column("account_id", _id(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("priority", sa.String(length=4), nullable=False),
        sa.Column("contact_id", _id(), nullable=True),
        sa.Column("assignee_id", _id(), nullable=True),
        sa.Column("team_id", _id(), nullable=True),
        sa.Column("custom_fields", _json(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("solved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_tickets_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["assignee_id"], ["users.id"], name=op.f("fk_tickets_assignee_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contacts.id"], name=op.f("fk_tickets_contact_id_contacts"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], name=op.f("fk_tickets_team_id_teams"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tickets")),
        sa.UniqueConstraint("account_id", "number", name=op.f("uq_tickets_account_id_number")),
    )
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.create_index("ix_tickets_account_contact", ["account_id", "contact_id"], unique=False)
        batch_op.create_index("ix_tickets_account_status", ["account_id", "status"], unique=False)
        batch_op.create_index(batch_op.f("ix_tickets_assignee_id"), ["assignee_id"], unique=False)

    op.create_table(
        "ticket_activities",
        sa.Column("account_id", _id(), nullable=False),
        sa.Column("ticket_id", _id(), nullable=False),
        sa.Column("actor_type", sa.String(length=10), nullable=False),
        sa.Column("actor_id", _id(), nullable=True),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("data", _json(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_ticket_activities_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_ticket_activities_ticket_id_tickets"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_activities")),
    )
    with op.batch_alter_table("ticket_activities", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ticket_activities_account_id"), ["account_id"], unique=False)
        batch_op.create_index("ix_ticket_activities_ticket_id", ["ticket_id", "id"], unique=False)

    op.create_table(
        "repeat_contacts",
        sa.Column("account_id", _id(), nullable=False),
        sa.Column("conversation_id", _id(), nullable=False),
        sa.Column("ticket_id", _id(), nullable=False),
        sa.Column("contact_id", _id(), nullable=False),
        sa.Column("similarity", sa.Float(), nullable=False),
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_repeat_contacts_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contacts.id"], name=op.f("fk_repeat_contacts_contact_id_contacts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_repeat_contacts_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_repeat_contacts_ticket_id_tickets"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_repeat_contacts")),
        sa.UniqueConstraint("conversation_id", name=op.f("uq_repeat_contacts_conversation_id")),
    )
    with op.batch_alter_table("repeat_contacts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_repeat_contacts_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_repeat_contacts_ticket_id"), ["ticket_id"], unique=False)

    op.create_table(
        "ticket_conversations",
        sa.Column("ticket_id", _id(), nullable=False),
        sa.Column("conversation_id", _id(), nullable=False),
        sa.Column("account_id", _id(), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_ticket_conversations_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_ticket_conversations_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_ticket_conversations_ticket_id_tickets"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("ticket_id", "conversation_id", name=op.f("pk_ticket_conversations")),
    )
    with op.batch_alter_table("ticket_conversations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ticket_conversations_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_ticket_conversations_conversation_id"), ["conversation_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ticket_conversations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ticket_conversations_conversation_id"))
        batch_op.drop_index(batch_op.f("ix_ticket_conversations_account_id"))

    op.drop_table("ticket_conversations")
    with op.batch_alter_table("repeat_contacts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_repeat_contacts_ticket_id"))
        batch_op.drop_index(batch_op.f("ix_repeat_contacts_account_id"))

    op.drop_table("repeat_contacts")
    with op.batch_alter_table("ticket_activities", schema=None) as batch_op:
        batch_op.drop_index("ix_ticket_activities_ticket_id")
        batch_op.drop_index(batch_op.f("ix_ticket_activities_account_id"))

    op.drop_table("ticket_activities")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tickets_assignee_id"))
        batch_op.drop_index("ix_tickets_account_status")
        batch_op.drop_index("ix_tickets_account_contact")

    op.drop_table("tickets")
    with op.batch_alter_table("ticket_views", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ticket_views_account_id"))

    op.drop_table("ticket_views")
    with op.batch_alter_table("ticket_fields", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ticket_fields_account_id"))

    op.drop_table("ticket_fields")
    op.drop_table("ticket_daily_stats")
