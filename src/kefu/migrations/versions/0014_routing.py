"""skills, agent skills, skill requirements, agent presence and capacity, the queue entries and transfers
(kefu.routing)

Revision ID: 0014_routing
Revises: 0013_routing_queue
Create Date: 2026-12-07 17:00:00
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0014_routing"
down_revision = "0013_routing_queue"
branch_labels = None
depends_on = None


def _id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _ts(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _fk(table: str, column: str, target: str, ondelete: str = "CASCADE") -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"), ondelete=ondelete
    )


def upgrade() -> None:
    op.create_table(
        "routing_skills",
        sa.Column("account_id", _id(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        _ts("created_at"),
        _fk("routing_skills", "account_id", "accounts"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routing_skills")),
        sa.UniqueConstraint("account_id", "name", name=op.f("uq_routing_skills_account_id_name")),
    )
    op.create_index(op.f("ix_routing_skills_account_id"), "routing_skills", ["account_id"])
    op.create_table(
        "routing_agent_skills",
        sa.Column("user_id", _id(), nullable=False),
        sa.Column("skill_id", _id(), nullable=False),
        sa.Column("account_id", _id(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        _fk("routing_agent_skills", "user_id", "users"),
        _fk("routing_agent_skills", "account_id", "accounts"),
        sa.ForeignKeyConstraint(
            ["skill_id"],
            ["routing_skills.id"],
            name=op.f("fk_routing_agent_skills_skill_id_routing_skills"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "skill_id", name=op.f("pk_routing_agent_skills")),
    )
    op.create_index(op.f("ix_routing_agent_skills_skill_id"), "routing_agent_skills", ["skill_id"])
    op.create_index(op.f("ix_routing_agent_skills_account_id"), "routing_agent_skills", ["account_id"])
    op.create_table(
        "routing_requirements",
        sa.Column("account_id", _id(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("value", sa.String(length=100), nullable=False),
        sa.Column("skill_id", _id(), nullable=False),
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        _ts("created_at"),
        _fk("routing_requirements", "account_id", "accounts"),
        sa.ForeignKeyConstraint(
            ["skill_id"],
            ["routing_skills.id"],
            name=op.f("fk_routing_requirements_skill_id_routing_skills"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routing_requirements")),
        sa.UniqueConstraint(
            "account_id",
            "kind",
            "value",
            "skill_id",
            name=op.f("uq_routing_requirements_account_id_kind_value_skill_id"),
        ),
    )
    op.create_index(op.f("ix_routing_requirements_account_id"), "routing_requirements", ["account_id"])
    op.create_index(op.f("ix_routing_requirements_skill_id"), "routing_requirements", ["skill_id"])
    op.create_table(
        "routing_agents",
        sa.Column("user_id", _id(), nullable=False),
        sa.Column("account_id", _id(), nullable=False),
        sa.Column("presence", sa.String(length=8), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("channel_capacity", _json(), nullable=False),
        sa.Column("sockets", sa.Integer(), server_default="0", nullable=False),
        _ts("disconnected_at", nullable=True),
        _ts("last_assigned_at", nullable=True),
        _ts("presence_changed_at", nullable=True),
        _fk("routing_agents", "user_id", "users"),
        _fk("routing_agents", "account_id", "accounts"),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_routing_agents")),
    )
    op.create_index("ix_routing_agents_account_presence", "routing_agents", ["account_id", "presence"])
    op.create_table(
        "routing_queue",
        sa.Column("conversation_id", _id(), nullable=False),
        sa.Column("account_id", _id(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("intent", sa.String(length=100), nullable=True),
        sa.Column("required_skills", _json(), nullable=False),
        _ts("queued_at"),
        sa.Column("overflow_team_id", _id(), nullable=True),
        sa.Column("overflow_reason", sa.String(length=200), nullable=True),
        sa.Column("assigned_reason", sa.String(length=16), nullable=True),
        _fk("routing_queue", "conversation_id", "conversations"),
        _fk("routing_queue", "account_id", "accounts"),
        _fk("routing_queue", "overflow_team_id", "teams", "SET NULL"),
        sa.PrimaryKeyConstraint("conversation_id", name=op.f("pk_routing_queue")),
    )
    op.create_index(op.f("ix_routing_queue_account_id"), "routing_queue", ["account_id"])
    op.create_table(
        "routing_transfers",
        sa.Column("account_id", _id(), nullable=False),
        sa.Column("conversation_id", _id(), nullable=False),
        sa.Column("from_user_id", _id(), nullable=True),
        sa.Column("to_user_id", _id(), nullable=True),
        sa.Column("from_team_id", _id(), nullable=True),
        sa.Column("to_team_id", _id(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("actor_type", sa.String(length=10), nullable=False),
        sa.Column("actor_id", _id(), nullable=True),
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        _ts("created_at"),
        _fk("routing_transfers", "account_id", "accounts"),
        _fk("routing_transfers", "conversation_id", "conversations"),
        _fk("routing_transfers", "from_user_id", "users", "SET NULL"),
        _fk("routing_transfers", "to_user_id", "users", "SET NULL"),
        _fk("routing_transfers", "from_team_id", "teams", "SET NULL"),
        _fk("routing_transfers", "to_team_id", "teams", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routing_transfers")),
    )
    op.create_index("ix_routing_transfers_account_created", "routing_transfers", ["account_id", "created_at"])
    op.create_index(op.f("ix_routing_transfers_conversation_id"), "routing_transfers", ["conversation_id"])


def downgrade() -> None:
    op.drop_table("routing_transfers")
    op.drop_table("routing_queue")
    op.drop_table("routing_agents")
    op.drop_table("routing_requirements")
    op.drop_table("routing_agent_skills")
    op.drop_table("routing_skills")
