"""SLA policies, business calendars and holidays, SLA clocks (kefu.sla)

Revision ID: 0016_sla
Revises: 0015_tickets
Create Date: 2026-12-07 17:00:00
"""

from __future__ import annotations

revision = "0016_sla"
down_revision = "0015_tickets"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
