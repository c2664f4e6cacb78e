"""The bot's rule for "the knowledge base answers this", lent to knowledge suggestions.

knowledge sits below the bot and cannot import it; it declares the shape it needs
(`kefu.knowledge.suggestions.AnswerRule`) and `install_bot` installs this one on the app state.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from kefu.bot.policy import answerable
from kefu.bot.service import config_of, get_settings


async def bot_answer_rule(session: AsyncSession, account_id: int) -> Callable[[Any], bool]:
    """Whether this account's bot, with its current settings, would answer with a knowledge hit."""
    config = config_of(await get_settings(session, account_id))
    return lambda hit: answerable(hit, config)
