"""An inbox's channel settings as a form: the fields come from the channel's config schema (the one
`kefu.channels.service.checked_config` validates with), so a new channel gets its admin form by declaring
its schema. Labels and help texts of the fields the channels use are translated here (msgids marked N_);
a field this table does not know shows its schema title."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kefu.channels.configs import CONFIGS, SECRET_MASK
from kefu.core.constants import ChannelType


def N_(message: str) -> str:
    """Mark a msgid for extraction; translated where it is shown."""
    return message


CHANNEL_NAMES = {
    ChannelType.WEB_WIDGET: N_("Website chat"),
    ChannelType.EMAIL: N_("Email"),
    ChannelType.WECHAT: N_("WeChat Official Account"),
    ChannelType.WECOM: N_("WeCom customer service"),
    ChannelType.API: N_("API"),
}

FIELD_TEXTS: dict[str, tuple[str, str]] = {
    # email
    "address": (N_("Email address"), N_("Mail to this address becomes a conversation in this inbox")),
    "smtp_host": (N_("SMTP server"), N_("Outgoing mail server, e.g. smtp.exmail.qq.com")),
    "smtp_port": (N_("SMTP port"), N_("465 for TLS, 587 for STARTTLS, 25 for none")),
    "smtp_username": (N_("SMTP user name"), ""),
    "smtp_password": (N_("SMTP password"), N_("Often an app password or authorisation code")),
    "smtp_tls": (N_("SMTP over TLS"), ""),
    "imap_host": (N_("IMAP server"), N_("Incoming mail server kefu polls, e.g. imap.exmail.qq.com")),
    "imap_port": (N_("IMAP port"), N_("993 for TLS, 143 for none")),
    "imap_username": (N_("IMAP user name"), ""),
    "imap_password": (N_("IMAP password"), N_("Often an app password or authorisation code")),
    "imap_tls": (N_("IMAP over TLS"), ""),
    # WeChat and WeCom
    "app_id": (N_("AppID"), N_("From the Official Account platform: Settings and development → Basic configuration")),
    "app_secret": (N_("AppSecret"), N_("From the same page; kefu uses it to get access tokens")),
    "token": (N_("Token"), N_("The token you enter on the provider's server configuration page")),
    "encoding_aes_key": (N_("EncodingAESKey"), N_("43 characters; needed for the compatible and safe modes")),
    "api_base_url": (N_("API base URL"), N_("Leave the default unless you use a proxy")),
    "corp_id": (N_("Corp ID"), N_("WeCom admin console → My company")),
    "secret": (N_("Secret"), N_("The secret of the app or of WeChat customer service")),
    "open_kfid": (N_("Customer service account ID (open_kfid)"), ""),
    "handoff_state": (
        N_("Tell WeCom when a person takes over"),
        N_("Only if your agents answer in WeCom's own client: WeCom then refuses replies sent through kefu"),
    ),
    # API channel
    "webhook_url": (N_("Webhook URL"), N_("kefu posts agents' replies here, signed")),
}


@dataclass(frozen=True)
class ConfigField:
    name: str
    label: str  # a msgid, or the schema's title
    help: str
    input: str  # text | password | number | checkbox
    required: bool
    value: Any


def _type(prop: Mapping[str, Any]) -> str:
    if "type" in prop:
        return str(prop["type"])
    for option in prop.get("anyOf", []):
        if option.get("type") not in (None, "null"):
            return str(option["type"])
    return "string"


def creatable_kinds() -> list[str]:
    """The channels an admin can create an inbox of: the widget and every registered channel."""
    return [str(k) for k in ChannelType if k == ChannelType.WEB_WIDGET or str(k) in CONFIGS]


def config_fields(kind: str, values: Mapping[str, Any], *, mask: bool = True) -> list[ConfigField]:
    """The form fields of a channel's settings, filled with `values` (stored secrets as the mask)."""
    channel = CONFIGS.get(kind)
    if channel is None:
        return []
    schema = channel.schema.model_json_schema()
    required = set(schema.get("required", []))
    fields = []
    for name, prop in schema.get("properties", {}).items():
        type_ = _type(prop)
        secret = name in channel.secret_fields
        label, help_ = FIELD_TEXTS.get(name, (str(prop.get("title", name)), ""))
        value = values.get(name, prop.get("default"))
        if secret and value and mask:
            value = SECRET_MASK
        input_ = "checkbox" if type_ == "boolean" else "number" if type_ == "integer" else "text"
        fields.append(ConfigField(name, label, help_, "password" if secret else input_, name in required, value))
    return fields


def parse_config_form(kind: str, form: Mapping[str, Any]) -> dict[str, Any]:
    """The config a submitted settings form means: empty fields left out (the schema's default applies),
    checkboxes true when ticked, numbers as numbers (a non-number is left for the schema to refuse)."""
    config: dict[str, Any] = {}
    for field in config_fields(kind, {}):
        raw = form.get(f"config.{field.name}")
        if field.input == "checkbox":
            config[field.name] = raw is not None
            continue
        text = str(raw or "").strip()
        if not text:
            continue
        config[field.name] = int(text) if field.input == "number" and text.lstrip("-").isdigit() else text
    return config
