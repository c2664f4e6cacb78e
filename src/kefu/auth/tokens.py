"""Random tokens (stored hashed), the signed widget contact token, socket tickets and signed attachment URLs."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from functools import lru_cache

from itsdangerous import BadSignature, Signer, URLSafeTimedSerializer

from kefu.core import clock
from kefu.core.errors import Unauthorized

API_TOKEN_PREFIX = "kefu_"


def new_token(prefix: str = "") -> str:
    return prefix + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class ContactClaims:
    """What a widget contact token (or a socket ticket) says: whose, signed when, at which version."""

    account_id: int
    inbox_id: int
    contact_id: int
    version: int
    issued_at: float
    nonce: str = ""


@lru_cache(maxsize=16)
def _serializer(secret: str, salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=salt)


CONTACT_SALT = "kefu.widget.contact.v2"  # v1 tokens had no time or version: no longer accepted
TICKET_SALT = "kefu.widget.socket-ticket"


def sign_contact(secret: str, account_id: int, inbox_id: int, contact_id: int, version: int = 0) -> str:
    data = {"a": account_id, "i": inbox_id, "c": contact_id, "v": version}
    return str(_serializer(secret, CONTACT_SALT).dumps(data))


def sign_ticket(secret: str, claims: ContactClaims) -> str:
    """A one-time ticket for the widget socket (kept out of URLs: the contact token never is in one)."""
    data = {"a": claims.account_id, "i": claims.inbox_id, "c": claims.contact_id, "v": claims.version}
    return str(_serializer(secret, TICKET_SALT).dumps({**data, "n": secrets.token_urlsafe(12)}))


def _verify(secret: str, salt: str, token: str) -> ContactClaims:
    """The claims of a signature-checked token."""
    try:
        data, signed_at = _serializer(secret, salt).loads(token, return_timestamp=True)
        return ContactClaims(
            int(data["a"]),
            int(data["i"]),
            int(data["c"]),
            int(data["v"]),
            signed_at.timestamp(),
            str(data.get("n", "")),
        )
    except (BadSignature, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise Unauthorized("invalid contact token") from exc


# Contact tokens are remembered: every widget request carries one (age and version are checked by the
# caller on every use). Tickets are used once, so they are not: a connect storm would fill the cache.
_read = lru_cache(maxsize=50_000)(_verify)


def read_contact(secret: str, token: str, max_age_s: float) -> ContactClaims:
    """The claims of a widget contact token, or Unauthorized when it is forged or older than `max_age_s`."""
    claims = _read(secret, CONTACT_SALT, token)
    if clock.now().timestamp() - claims.issued_at > max_age_s:
        raise Unauthorized("this contact token has expired; start a new chat")
    return claims


def read_ticket(secret: str, ticket: str, max_age_s: float) -> ContactClaims:
    try:
        claims = _verify(secret, TICKET_SALT, ticket)
    except Unauthorized:
        raise Unauthorized("invalid socket ticket") from None
    if clock.now().timestamp() - claims.issued_at > max_age_s:
        raise Unauthorized("this socket ticket has expired; fetch a new one")
    return claims


@lru_cache(maxsize=8)
def _attachment_signer(secret: str) -> Signer:
    return Signer(secret, salt="kefu.attachment")


def sign_attachment(secret: str, attachment_id: int, expires: int) -> str:
    """`{expires}.{signature}` in an attachment's download URL: it names one attachment (ids are unique over
    all accounts) until `expires` (Unix time), so the URL works in an <img> tag without headers and cannot
    be turned into another attachment's or outlive its time."""
    return f"{expires}.{_attachment_signer(secret).get_signature(f'{attachment_id}.{expires}').decode()}"


def attachment_signature_ok(secret: str, attachment_id: int, signature: str, now: float) -> int | None:
    """Seconds left when `signature` is this attachment's and unexpired, else None."""
    expires, _, sig = signature.partition(".")
    if not expires.isdigit() or int(expires) <= now:
        return None
    ok = _attachment_signer(secret).verify_signature(f"{attachment_id}.{expires}", sig)
    return int(int(expires) - now) if ok else None
