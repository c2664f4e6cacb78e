"""Requests as WeChat and WeCom send them to an inbox's callback URL: spec-exact XML, signed (and
encrypted) with the inbox's Token and EncodingAESKey, for the adapters' tests."""

from __future__ import annotations

import secrets
import time
from typing import Any

from kefu.channels.base import InboundRequest
from kefu.channels.wxcrypto import WxCrypto, signature
from tests.support.factories import uniq

AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


def now_ts() -> str:
    return str(int(time.time()))


def wechat_config(base_url: str, *, aes: bool = True) -> dict[str, Any]:
    return {
        "app_id": uniq("wx"),
        "app_secret": uniq("secret-"),
        "token": uniq("tok"),
        "encoding_aes_key": AES_KEY if aes else None,
        "api_base_url": base_url,
    }


def wecom_config(base_url: str) -> dict[str, Any]:
    return {
        "corp_id": uniq("ww"),
        "secret": uniq("secret-"),
        "token": uniq("tok"),
        "encoding_aes_key": AES_KEY,
        "api_base_url": base_url,
        "open_kfid": uniq("wk"),
    }


def xml(fields: dict[str, str | int]) -> str:
    inner = "".join(
        f"<{k}>{v}</{k}>" if isinstance(v, int) else f"<{k}><![CDATA[{v}]]></{k}>" for k, v in fields.items()
    )
    return f"<xml>{inner}</xml>"


def text(openid: str, content: str, msg_id: str, *, to: str = "gh_123456789abc", at: int | None = None) -> str:
    return xml(
        {
            "ToUserName": to,
            "FromUserName": openid,
            "CreateTime": at or int(time.time()),
            "MsgType": "text",
            "Content": content,
            "MsgId": msg_id,
        }
    )


def wechat_post(
    key: str,
    config: dict[str, Any],
    body_xml: str,
    *,
    mode: str = "safe",
    timestamp: str | None = None,
    tamper: dict[str, str] | None = None,
) -> InboundRequest:
    """A POST as WeChat sends it in plaintext ("plain"), compatible ("compat") or safe ("safe") mode."""
    ts, nonce = timestamp or now_ts(), secrets.token_hex(5)
    query = {"signature": signature(config["token"], ts, nonce), "timestamp": ts, "nonce": nonce, "openid": "o"}
    body = body_xml
    if mode in ("safe", "compat"):
        crypto = WxCrypto(config["token"], config["encoding_aes_key"] or AES_KEY, config["app_id"])
        encrypted = crypto.encrypt(body_xml)
        query |= {"encrypt_type": "aes", "msg_signature": crypto.sign(ts, nonce, encrypted)}
        envelope = f"<ToUserName><![CDATA[gh_123456789abc]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt>"
        plain = body_xml.removeprefix("<xml>").removesuffix("</xml>") if mode == "compat" else ""
        body = f"<xml>{plain}{envelope}</xml>"
    query |= tamper or {}
    return InboundRequest(key, {"content-type": "text/xml"}, body.encode(), {k: v for k, v in query.items() if v})


def wechat_get(key: str, config: dict[str, Any], echostr: str, timestamp: str | None = None) -> InboundRequest:
    ts, nonce = timestamp or now_ts(), secrets.token_hex(5)
    query = {"signature": signature(config["token"], ts, nonce), "timestamp": ts, "nonce": nonce, "echostr": echostr}
    return InboundRequest(key, {}, b"", query)


def wecom_event(config: dict[str, Any], token: str = "ENC_TOKEN") -> str:
    return xml(
        {
            "ToUserName": config["corp_id"],
            "CreateTime": int(time.time()),
            "MsgType": "event",
            "Event": "kf_msg_or_event",
            "Token": token,
            "OpenKfId": config["open_kfid"],
        }
    )


def wecom_post(
    key: str,
    config: dict[str, Any],
    body_xml: str,
    *,
    timestamp: str | None = None,
    tamper: dict[str, str] | None = None,
) -> InboundRequest:
    ts, nonce = timestamp or now_ts(), secrets.token_hex(5)
    crypto = WxCrypto(config["token"], config["encoding_aes_key"], config["corp_id"])
    encrypted = crypto.encrypt(body_xml)
    query = {"msg_signature": crypto.sign(ts, nonce, encrypted), "timestamp": ts, "nonce": nonce}
    query |= tamper or {}
    body = f"<xml><ToUserName><![CDATA[{config['corp_id']}]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt>"
    body += "<AgentID><![CDATA[]]></AgentID></xml>"
    return InboundRequest(key, {"content-type": "text/xml"}, body.encode(), {k: v for k, v in query.items() if v})


def wecom_get(key: str, config: dict[str, Any], plain_echo: str, timestamp: str | None = None) -> InboundRequest:
    ts, nonce = timestamp or now_ts(), secrets.token_hex(5)
    crypto = WxCrypto(config["token"], config["encoding_aes_key"], config["corp_id"])
    echostr = crypto.encrypt(plain_echo)
    query = {"msg_signature": crypto.sign(ts, nonce, echostr), "timestamp": ts, "nonce": nonce, "echostr": echostr}
    return InboundRequest(key, {}, b"", query)


def kf_text(config: dict[str, Any], external_userid: str, msgid: str, content: str) -> dict[str, Any]:
    """A customer's text as kf/sync_msg lists it."""
    return {
        "msgid": msgid,
        "open_kfid": config["open_kfid"],
        "external_userid": external_userid,
        "send_time": int(time.time()),
        "origin": 3,
        "msgtype": "text",
        "text": {"content": content},
    }
