"""A WeCom customer-service inbox's settings (`channel_type: "wecom"`)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from kefu.channels.wechat.config import checked_aes_key, checked_base_url

DEFAULT_API = "https://qyapi.weixin.qq.com"


class WecomConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    corp_id: str = Field(
        min_length=1, max_length=64, title="Corp ID", description="The WeCom organisation's Corp ID (企业ID), e.g. ww…"
    )
    secret: str = Field(
        min_length=1,
        max_length=128,
        title="Customer-service secret",
        description="The Secret of WeCom's 微信客服 application (not another app's), to fetch API access tokens",
    )
    token: str = Field(
        min_length=1,
        max_length=32,
        pattern=r"^[A-Za-z0-9]+$",
        title="Token",
        description="The Token of the 微信客服 callback configuration (接收事件服务器)",
    )
    encoding_aes_key: str = Field(
        title="EncodingAESKey",
        description="The 43-character EncodingAESKey of the callback configuration (WeCom always encrypts)",
    )
    api_base_url: str = Field(
        DEFAULT_API,
        title="API base URL",
        description="Where WeCom's API is called (the default, or a proxy you run); kefu calls only this host",
    )
    open_kfid: str = Field(
        min_length=1,
        max_length=64,
        title="Customer-service account ID",
        description="The open_kfid of the 客服账号 this inbox answers for, e.g. wk…",
    )

    handoff_state: bool = Field(
        False,
        title="Tell WeCom when a person takes over",
        description=(
            "Move the WeCom session to the waiting pool (service_state 2) when kefu hands a conversation to "
            "people. Only for teams whose agents answer in WeCom's own client: after it, WeCom refuses "
            "replies sent through kefu"
        ),
    )

    @field_validator("encoding_aes_key", mode="before")
    @classmethod
    def _aes_key(cls, value: str | None) -> str:
        checked = checked_aes_key(value)
        if checked is None:
            raise ValueError("WeCom always encrypts: give the callback's EncodingAESKey")
        return checked

    @field_validator("api_base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        return checked_base_url(value)
