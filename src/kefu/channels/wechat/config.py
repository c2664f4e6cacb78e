"""An Official Account inbox's settings (`channel_type: "wechat"`)."""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from kefu.channels.wxcrypto import WxCryptoError, aes_key

DEFAULT_API = "https://api.weixin.qq.com"


def checked_base_url(value: str) -> str:
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ValueError("give an http(s) URL such as https://api.weixin.qq.com")
    return value.strip().rstrip("/")


def checked_aes_key(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    try:
        aes_key(value.strip())
    except WxCryptoError as exc:
        raise ValueError(str(exc)) from None
    return value.strip()


class WechatConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    app_id: str = Field(
        min_length=1, max_length=64, title="AppID", description="The Official Account's AppID (开发者ID), e.g. wx…"
    )
    app_secret: str = Field(
        min_length=1,
        max_length=128,
        title="AppSecret",
        description="The Official Account's AppSecret (开发者密码), to fetch API access tokens",
    )
    token: str = Field(
        min_length=3,
        max_length=32,
        pattern=r"^[A-Za-z0-9]+$",
        title="Token",
        description="The Token entered in WeChat's server configuration (服务器配置): 3–32 letters and digits",
    )
    encoding_aes_key: str | None = Field(
        None,
        title="EncodingAESKey",
        description="The 43-character message encryption key for compatible and safe mode; leave empty for "
        "plaintext mode",
    )
    api_base_url: str = Field(
        DEFAULT_API,
        title="API base URL",
        description="Where WeChat's API is called (the default, or a proxy you run); kefu calls only this host",
    )

    @field_validator("encoding_aes_key", mode="before")
    @classmethod
    def _aes_key(cls, value: str | None) -> str | None:
        return checked_aes_key(value)

    @field_validator("api_base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        return checked_base_url(value)
