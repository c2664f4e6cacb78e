"""Demo knowledge for `kefu seed-demo`: a bilingual e-commerce FAQ set (src/kefu/demo/faq.json —
简体 questions with 简体 and 繁體 variants, and English entries), loaded published."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.core.events import Actor
from kefu.knowledge.importing import rows_from_json
from kefu.knowledge.models import FaqEntry
from kefu.knowledge.schemas import EntryStatus
from kefu.knowledge.service import check_import_faqs

FAQ_FILE = Path(__file__).resolve().parent.parent / "demo" / "faq.json"


async def seed_knowledge(session: AsyncSession, account_id: int) -> int:
    """Load the demo FAQ into `account_id` (published); returns how many entries were created.
    Idempotent: an account that already has FAQ entries is left alone."""
    existing = await session.scalar(select(func.count()).select_from(FaqEntry).where(FaqEntry.account_id == account_id))
    if existing:
        return 0
    rows = rows_from_json(json.loads(FAQ_FILE.read_text(encoding="utf-8")))
    entries = await check_import_faqs(session, account_id, rows, Actor.system(), default_status=EntryStatus.PUBLISHED)
    return len(entries)
