"""/api/v1/contacts/{id}/tier/recompute and /api/v1/tiers/config (customer tiers, routing/tiers.py)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body

from kefu.auth.deps import CanManageAutomation, CanManageContacts
from kefu.contacts.schemas import ContactRead
from kefu.core.deps import SessionDep
from kefu.core.schemas import Id
from kefu.routing import tier_service
from kefu.routing.tiers import TierConfig

router = APIRouter(prefix="/api/v1", tags=["tiers"])


@router.post("/contacts/{contact_id}/tier/recompute", response_model=ContactRead)
async def recompute_tier(contact_id: Id, session: SessionDep, principal: CanManageContacts) -> ContactRead:
    """Score the contact now (segment, reasons, churn risk); `contact.tier_changed` when the segment moves."""
    contact = await tier_service.do_recompute_contact(session, principal.account_id, contact_id)
    return ContactRead.model_validate(contact)


@router.get("/tiers/config", response_model=TierConfig)
async def get_tier_config(session: SessionDep, principal: CanManageAutomation) -> TierConfig:
    """The account's tier thresholds (defaults where it sets none)."""
    return await tier_service.get_config(session, principal.account_id)


@router.put("/tiers/config", response_model=TierConfig)
async def put_tier_config(
    session: SessionDep, principal: CanManageAutomation, data: dict[str, Any] = Body(...)
) -> TierConfig:
    """Replace the account's thresholds (any field of TierConfig; 422 for an unknown key or a bad value)."""
    return await tier_service.check_put_config(session, principal.account_id, data, principal.actor)
