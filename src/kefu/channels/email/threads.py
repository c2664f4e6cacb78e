"""Our Message-IDs: `<kefu.{message id}.{token}@{inbox domain}>`, the token an HMAC of the message id with
the site's secret. A reply naming one (In-Reply-To / References) is threaded into that message's
conversation; a forged or altered id fails the token check and threads nowhere. A mail carrying one of
ours as its own Message-ID is our own mail come back (a loop)."""

from __future__ import annotations

import hashlib
import hmac
import re

_OURS = re.compile(r"^<kefu\.(\d{1,19})\.([0-9a-f]{24})@[^<>\s@]+>$")


def _token(secret: str, message_id: int) -> str:
    return hmac.new(secret.encode(), f"kefu-email-message:{message_id}".encode(), hashlib.sha256).hexdigest()[:24]


def our_message_id(secret: str, message_id: int, domain: str) -> str:
    return f"<kefu.{message_id}.{_token(secret, message_id)}@{domain}>"


def our_message(secret: str, header_id: str) -> int | None:
    """The id of our message that `header_id` names, when its token is genuine; else None."""
    m = _OURS.match(header_id)
    if m is None:
        return None
    number = int(m.group(1))
    return number if hmac.compare_digest(m.group(2), _token(secret, number)) else None


def threaded_message(secret: str, in_reply_to: list[str], references: list[str]) -> int | None:
    """Our message a reply answers: In-Reply-To first, then References from the newest."""
    for header_id in [*in_reply_to, *reversed(references)]:
        number = our_message(secret, header_id)
        if number is not None:
            return number
    return None
