"""Who is making a request: a user through a session cookie or an API token."""

from __future__ import annotations

from dataclasses import dataclass

from kefu.auth.models import User
from kefu.auth.permissions import Perm, has_perm
from kefu.core.constants import ActorType
from kefu.core.errors import Forbidden
from kefu.core.events import Actor


@dataclass(frozen=True)
class Principal:
    user: User
    via: str  # "session" | "token"
    csrf_token: str | None = None
    session_id: int | None = None  # the login session (via="session")

    @property
    def account_id(self) -> int:
        return self.user.account_id

    @property
    def actor(self) -> Actor:
        return Actor(ActorType.USER, self.user.id)

    def require(self, perm: Perm) -> None:
        if not has_perm(self.user.role, perm):
            raise Forbidden(f"your role ({self.user.role}) may not {perm.value.replace('_', ' ')}")
