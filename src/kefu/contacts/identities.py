"""How an identity is written down, once for every caller (docs/customers.md#identities).

- email: trimmed, lower case, and it must look like an address;
- phone: E.164 (`+8613812345678`), parsed with `phonenumbers` — a number without a country code is read
  as a Chinese one (region CN); a number that is not a valid phone number is refused (422 saying so);
- the rest (WeChat openid / unionid, WeCom external userid, widget visitor id, external id): trimmed,
  kept exactly as the channel or the site gives them (they are case-sensitive).
"""

from __future__ import annotations

import re

import phonenumbers

from kefu.core.constants import IdentityKind
from kefu.core.errors import Unprocessable

DEFAULT_REGION = "CN"
MAX_VALUE = 254
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def e164(raw: str, region: str = DEFAULT_REGION) -> str:
    """The number in E.164, or 422 when it is not a valid phone number."""
    try:
        number = phonenumbers.parse(raw.strip(), region)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise Unprocessable(
            f"{raw.strip()!r} is not a valid phone number; write it with its country code, e.g. +8613812345678"
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalized_identity(kind: IdentityKind | str, value: str) -> str:
    """How an identity of `kind` is stored and looked up; 422 for a value that cannot be one."""
    kind = IdentityKind(kind)
    clean = value.strip()
    if not clean:
        raise Unprocessable(f"an identity of kind {kind} needs a value")
    if len(clean) > MAX_VALUE:
        raise Unprocessable(f"an identity's value is at most {MAX_VALUE} characters")
    if kind == IdentityKind.EMAIL:
        clean = clean.lower()
        if not _EMAIL.match(clean):
            raise Unprocessable(f"{clean!r} is not an email address")
        return clean
    if kind == IdentityKind.PHONE:
        return e164(clean)
    return clean
