"""automation rules and their runs, priority matrix, customer tier scores (kefu.automation)

Revision ID: 0017_automation
Revises: 0016_sla
Create Date: 2026-12-07 17:00:00
"""

from __future__ import annotations

revision = "0017_automation"
down_revision = "0016_sla"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
