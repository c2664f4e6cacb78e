"""Explicit in-process subscribers to things that happen in a request (no hidden ORM signals).

The two kinds of hook below are called by the one inbound action,
`conversations.inbound.receive_customer_messages`, whatever the channel.

`customer_message` hooks run after a customer's message is committed: the bot (when the inbox has it
enabled) decides there whether to answer. They run in a task; the customer's request waits for it at most
`HOOK_WAIT_S` (normally the bot has answered in tens of milliseconds, so the answer is already on the
widget socket when the POST returns), and a cold knowledge index or a slow flow action never holds the
sender up longer — the task goes on and its answer arrives on the socket. The list is explicit.

`customer_message_arriving` hooks are told, before a customer's message is stored, which inbox and
contact it comes from and its text. They must return at once and may only start work that is safe to
waste (the bot starts the message's embedding when it expects to answer); nothing may depend on them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kefu.core.state import AppState

CustomerMessageHook = Callable[["AppState", int, int], Awaitable[None]]
AgentSocketHook = Callable[["AppState", int, int], Awaitable[None]]  # (state, account id, user id)
ArrivingHook = Callable[[int, int, str], None]  # (inbox id, contact id, text)
HOOK_WAIT_S = 5.0
log = logging.getLogger("kefu.hooks")


class Hooks:
    def __init__(self) -> None:
        self.customer_message: list[CustomerMessageHook] = []
        self.customer_message_arriving: list[ArrivingHook] = []
        # An agent's workspace socket opened / closed (kefu.routing's presence: away after a grace period).
        self.agent_socket_opened: list[AgentSocketHook] = []
        self.agent_socket_closed: list[AgentSocketHook] = []
        self._tasks: set[asyncio.Task[None]] = set()

    def arriving(self, inbox_id: int, contact_id: int, text: str) -> None:
        """A customer's message is about to be stored (a hint; see the module doc)."""
        for hook in self.customer_message_arriving:
            try:
                hook(inbox_id, contact_id, text)
            except Exception:  # a hint must never fail the sender's request
                log.exception("customer_message_arriving hook %r failed", hook)

    async def agent_socket(self, state: AppState, account_id: int, user_id: int, *, opened: bool) -> None:
        """An agent's workspace socket opened or closed: tell every subscriber; a failure is logged only."""
        for hook in self.agent_socket_opened if opened else self.agent_socket_closed:
            try:
                await hook(state, account_id, user_id)
            except Exception:
                log.exception("agent socket hook %r failed for user %s", hook, user_id)

    async def after_customer_message(self, state: AppState, conversation_id: int, message_id: int) -> None:
        """Run every hook now, in order (used by the background dispatch and by tests)."""
        for hook in self.customer_message:
            try:
                await hook(state, conversation_id, message_id)
            except Exception:  # one failing subscriber must not stop the others
                log.exception("customer_message hook %r failed for message %s", hook, message_id)

    async def dispatch_customer_message(
        self, state: AppState, conversation_id: int, message_id: int, wait_s: float = HOOK_WAIT_S
    ) -> None:
        """Start the hooks in a task and wait for them at most `wait_s` seconds."""
        if not self.customer_message:
            return
        task = asyncio.ensure_future(self.after_customer_message(state, conversation_id, message_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        await asyncio.wait({task}, timeout=wait_s)

    async def drain(self, timeout: float = 10.0) -> None:
        """Let running hooks finish (shutdown); cancel what is still running after `timeout`."""
        if not self._tasks:
            return
        _, pending = await asyncio.wait(set(self._tasks), timeout=timeout)
        for task in pending:
            task.cancel()
        for task in pending:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
