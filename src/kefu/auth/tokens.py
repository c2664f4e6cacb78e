"""Random tokens (stored hashed), the signed widget contact token and signed attachment URLs."""

from __future__ import annotations

import hashlib
import secrets
from functools import lru_cache

from itsdangerous import BadSignature, Signer, URLSafeSerializer

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


@lru_cache(maxsize=8)
def _attachment_signer(secret: str) -> Signer:
    return Signer(secret, salt="kefu.attachment")


def sign_attachment(secret: str, account_id: int, attachment_id: int) -> str:
    """The signature in an attachment's download URL: it names one attachment of one account, so the URL
    works in an <img> tag without headers and cannot be turned into another attachment's."""
    return _attachment_signer(secret).get_signature(f"{account_id}.{attachment_id}").decode()


def attachment_signature_ok(secret: str, account_id: int, attachment_id: int, signature: str) -> bool:
    return _attachment_signer(secret).verify_signature(f"{account_id}.{attachment_id}", signature)
