"""Signed outbound HTTP bodies: what outbound webhooks (kefu.webhooks) and the API channel's replies
(kefu.channels.api_channel) send, and what their receivers check (docs/webhooks.md).

A signed POST carries the raw JSON body and three headers:

- `X-Kefu-Delivery`  — the delivery's id, the same on every retry (a receiver de-duplicates by it);
- `X-Kefu-Timestamp` — unix seconds of this attempt (a receiver refuses old ones: replay);
- `X-Kefu-Signature` — `sha256=` + the hex HMAC-SHA256, keyed with the shared secret, of
  `"{timestamp}.{raw body}"`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from typing import Any

DELIVERY_HEADER = "X-Kefu-Delivery"
TIMESTAMP_HEADER = "X-Kefu-Timestamp"
SIGNATURE_HEADER = "X-Kefu-Signature"
SCHEME = "sha256="
SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    """A random signing secret (what kefu generates when none is given)."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """`sha256=<hex HMAC-SHA256 of "{timestamp}.{body}">`."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return SCHEME + mac.hexdigest()


def verify(secret: str, timestamp: int, body: bytes, header: str) -> bool:
    """Whether `header` is the signature of this body at this timestamp (constant time)."""
    return hmac.compare_digest(signature(secret, timestamp, body), header)


def encode_body(payload: Any) -> bytes:
    """The body's exact bytes: compact UTF-8 JSON (the signature covers these bytes)."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), default=str).encode()


def signed_headers(secret: str, delivery_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        DELIVERY_HEADER: delivery_id,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature(secret, timestamp, body),
    }
