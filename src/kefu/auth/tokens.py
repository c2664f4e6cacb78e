"""Random tokens (stored hashed) and the signed widget contact token."""

from __future__ import annotations

import hashlib
import secrets
from functools import lru_cache

from itsdangerous import BadSignature, URLSafeSerializer

from kefu.core.errors import Unauthorized

API_TOKEN_PREFIX = "kefu_"


def new_token(prefix: str = "") -> str:
    return prefix + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@lru_cache(maxsize=8)
def _widget_serializer(secret: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt="kefu.widget.contact")


def sign_contact(secret: str, account_id: int, inbox_id: int, contact_id: int) -> str:
    return str(_widget_serializer(secret).dumps({"a": account_id, "i": inbox_id, "c": contact_id}))


@lru_cache(maxsize=50_000)
def read_contact(secret: str, token: str) -> tuple[int, int, int]:
    """(account_id, inbox_id, contact_id) from a widget contact token, or Unauthorized. A token never
    changes meaning, so verified ones are remembered: every widget request carries one."""
    try:
        data = _widget_serializer(secret).loads(token)
        return int(data["a"]), int(data["i"]), int(data["c"])
    except (BadSignature, KeyError, TypeError, ValueError) as exc:
        raise Unauthorized("invalid contact token") from exc
