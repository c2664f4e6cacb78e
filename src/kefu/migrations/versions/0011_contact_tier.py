"""Contact tiers are a closed set (core.constants.ContactTier): any other stored value becomes "normal"

Data only; the schema (contacts.tier VARCHAR(20)) is unchanged. Values were validated on the way in since
the first release, so this only touches rows written around the API. Not reversible (the old free text
is not kept); downgrade is a no-op.

Revision ID: 0011_contact_tier
Revises: 0010_message_delivery
Create Date: 2026-12-07 14:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_contact_tier"
down_revision = "0010_message_delivery"
branch_labels = None
depends_on = None

# A copy, not an import: migrations never import app code.
TIERS = ("normal", "vip", "gold", "strategic", "value", "potential", "churn_risk")


def upgrade() -> None:
    contacts = sa.table("contacts", sa.column("tier", sa.String(20)))
    op.execute(
        contacts.update().where(sa.or_(contacts.c.tier.is_(None), contacts.c.tier.not_in(TIERS))).values(tier="normal")
    )


def downgrade() -> None:
    pass
