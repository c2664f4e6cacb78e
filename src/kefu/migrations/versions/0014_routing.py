"""skills, agent skills, skill requirements, agent presence and capacity, transfers (kefu.routing)

Revision ID: 0014_routing
Revises: 0013_routing_queue
Create Date: 2026-12-07 17:00:00
"""

from __future__ import annotations

revision = "0014_routing"
down_revision = "0013_routing_queue"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
