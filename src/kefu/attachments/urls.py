"""Signed, expiring download URLs of attachments: `/api/v1/attachments/{id}/{expires}.{signature}`.

A URL works without headers (in an <img> tag, for agents and customers alike) until it expires
(KEFU_ATTACHMENT_URL_MAX_AGE_S, 1 day by default; the expiry is rounded up to the hour, so a URL stays the
same for an hour and caches well). Messages keep the URL they were sent with; whatever shows a message —
the REST API (`MessageRead`), the sockets, the workspace and widget — gets fresh ones (`fresh_urls`) from
the signer the app sets for each request (`AttachmentUrls`)."""

from __future__ import annotations

import math
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from kefu.auth.tokens import attachment_signature_ok, sign_attachment
from kefu.core import clock

PREFIX = "/api/v1/attachments/"
DEFAULT_MAX_AGE_S = 24 * 3600
BUCKET_S = 3600


@dataclass(frozen=True)
class UrlSigner:
    secret: str
    max_age_s: int = DEFAULT_MAX_AGE_S

    def expires(self, now: float | None = None) -> int:
        now = clock.now().timestamp() if now is None else now
        return math.ceil((now + self.max_age_s) / BUCKET_S) * BUCKET_S

    def url(self, attachment_id: int, now: float | None = None) -> str:
        return f"{PREFIX}{attachment_id}/{sign_attachment(self.secret, attachment_id, self.expires(now))}"

    def valid(self, attachment_id: int, signature: str, now: float | None = None) -> int | None:
        """Seconds the signature is still valid for, or None when it is not this attachment's or expired."""
        return attachment_signature_ok(
            self.secret, attachment_id, signature, clock.now().timestamp() if now is None else now
        )

    def fresh(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """A message's attachments with URLs signed now (entries without an id are left as they are)."""
        return [{**a, "url": self.url(int(a["id"]))} if isinstance(a.get("id"), int) else a for a in items]


current: ContextVar[UrlSigner | None] = ContextVar("kefu_attachment_urls", default=None)


def signer_for(secret: str) -> UrlSigner:
    """The request's signer when it holds `secret`, else one with the default lifetime."""
    found = current.get()
    return found if found is not None and found.secret == secret else UrlSigner(secret)


def fresh_urls(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = current.get()
    return found.fresh(items) if found is not None and items else items


class AttachmentUrls:
    """ASGI middleware: the signer of this app for everything the request renders."""

    def __init__(self, app: Any, *, secret: str, max_age_s: int) -> None:
        self.app = app
        self.signer = UrlSigner(secret, max_age_s)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        token = current.set(self.signer)
        try:
            await self.app(scope, receive, send)
        finally:
            current.reset(token)
