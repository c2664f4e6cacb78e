"""tickets, their timeline, links to conversations, custom fields, saved views, repeat contacts (kefu.tickets)

Revision ID: 0015_tickets
Revises: 0014_routing
Create Date: 2026-12-07 17:00:00
"""

from __future__ import annotations

revision = "0015_tickets"
down_revision = "0014_routing"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
