"""An email inbox's settings (Inbox.config for `channel_type: "email"`): its address, and optionally the
SMTP server replies go out through and the IMAP mailbox polled for new mail."""

from __future__ import annotations

from email.headerregistry import Address
from email.utils import parseaddr

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class EmailInboxConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    address: str = Field(
        title="Address",
        description="The inbox's email address: replies are sent from it, and mail to it is this inbox's.",
        min_length=3,
        max_length=254,
    )
    smtp_host: str | None = Field(None, title="SMTP host", description="Server replies are sent through.")
    smtp_port: int | None = Field(
        None, title="SMTP port", description="Default 587 with STARTTLS, 465 with TLS, 25 without.", ge=1, le=65535
    )
    smtp_username: str | None = Field(None, title="SMTP user name", description="Leave empty for no login.")
    smtp_password: str | None = Field(None, title="SMTP password", description="Never shown again once saved.")
    smtp_tls: str = Field(
        "starttls",
        title="SMTP security",
        description="starttls (upgrade the connection), tls (TLS from the start) or none (trusted networks only).",
        pattern="^(starttls|tls|none)$",
    )
    imap_host: str | None = Field(None, title="IMAP host", description="Mailbox polled for new mail (INBOX).")
    imap_port: int | None = Field(
        None, title="IMAP port", description="Default 993 with TLS, 143 without.", ge=1, le=65535
    )
    imap_username: str | None = Field(None, title="IMAP user name", description="The mailbox's login.")
    imap_password: str | None = Field(None, title="IMAP password", description="Never shown again once saved.")
    imap_tls: bool = Field(True, title="IMAP over TLS", description="Off only for a server on a trusted network.")

    @field_validator("address")
    @classmethod
    def _address(cls, value: str) -> str:
        name, addr = parseaddr(value.strip())
        if name or not addr or addr != value.strip() or "@" not in addr:
            raise ValueError("must be a plain email address such as support@example.com")
        try:
            Address(addr_spec=addr)
        except (ValueError, IndexError) as exc:
            raise ValueError(f"is not an email address: {exc}") from None
        return addr.lower()

    @field_validator("smtp_host", "imap_host", "smtp_username", "imap_username")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        value = (value or "").strip()
        return value or None

    @model_validator(mode="after")
    def _imap_complete(self) -> EmailInboxConfig:
        if self.imap_host and not (self.imap_username and self.imap_password):
            raise ValueError("imap_username and imap_password are required with imap_host")
        return self

    @property
    def domain(self) -> str:
        return self.address.rsplit("@", 1)[1]

    @property
    def smtp_port_or_default(self) -> int:
        return self.smtp_port or {"tls": 465, "none": 25}.get(self.smtp_tls, 587)

    @property
    def imap_port_or_default(self) -> int:
        return self.imap_port or (993 if self.imap_tls else 143)
