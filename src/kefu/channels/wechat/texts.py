"""The reasons WeChat refuses a reply before it is sent, shown to the agent (API error, delivery error,
the workspace's notice — translated there: msgids marked N_ for the catalogs)."""

from __future__ import annotations


def N_(message: str) -> str:
    return message


WINDOW_CLOSED = N_(
    "WeChat accepts replies only within 48 hours of the customer's last message, and the last one is older. "
    "The customer has to write again first."
)
NEVER_WROTE = N_("WeChat accepts replies only after the customer has written to the Official Account.")
UNSUBSCRIBED = N_("The customer has unfollowed the Official Account: WeChat accepts no reply to them.")
WECOM_WINDOW_CLOSED = N_(
    "WeCom accepts replies only within 48 hours of the customer's last message, and the last one is older. "
    "The customer has to write again first."
)
WECOM_NEVER_WROTE = N_("WeCom accepts replies only after the customer has written to the customer-service account.")
