"""Explicit in-process subscribers to things that happen in a request (no hidden ORM signals).

`after_customer_message` runs after a customer's message is committed: the bot (when the inbox has
it enabled) decides there whether to answer. It is a list, so later features append to it explicitly.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

CustomerMessageHook = Callable[[Any, int, int], Awaitable[None]]


class Hooks:
    def __init__(self) -> None:
        self.customer_message: list[CustomerMessageHook] = []

    async def after_customer_message(self, state: Any, conversation_id: int, message_id: int) -> None:
        for hook in self.customer_message:
            await hook(state, conversation_id, message_id)
