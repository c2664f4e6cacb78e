"""The message examples of WeChat's and WeCom's documentation (fixtures/) parse into exactly what kefu
stores — through the XML reader and the message mapping, in every mode for the Official Account."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kefu.channels.wechat.messages import pushed
from kefu.channels.wecom.sync import customer_message
from kefu.channels.wxcrypto import WxCrypto, parse_xml

FIXTURES = Path(__file__).parent / "fixtures"
EVENT = {"type": "event", "automated": True}
EXPECTED = {
    "text.xml": ("this is a test", "1234567890123456", {"type": "text"}),
    "image.xml": ("[image]", "1234567890123457", {"type": "image", "pic_url": "this is a url", "media_id": "media_id"}),
    "voice.xml": (
        "腾讯微信团队",
        "1234567890123458",
        {"type": "voice", "media_id": "media_id", "format": "Format", "recognition": "腾讯微信团队"},
    ),
    "subscribe.xml": ("[subscribed]", "fromUser:123456789:subscribe", {**EVENT, "event": "subscribe", "event_key": ""}),
    "click.xml": ("[menu] EVENTKEY", "fromUser:123456789:CLICK", {**EVENT, "event": "CLICK", "event_key": "EVENTKEY"}),
    "unsubscribe.xml": (
        "[unsubscribed]",
        "fromUser:123456790:unsubscribe",
        {**EVENT, "event": "unsubscribe", "event_key": ""},
    ),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_official_account_examples(name: str) -> None:
    raw = (FIXTURES / name).read_bytes()
    crypto = WxCrypto("token", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "wx1234567890")
    for body in (raw, crypto.decrypt(crypto.encrypt(raw))):  # plaintext, and as decrypted in safe mode
        found = pushed(parse_xml(body))
        assert found is not None
        assert (found.openid, found.content, found.client_message_id, found.meta) == ("fromUser", *EXPECTED[name])


def test_wecom_sync_msg_example() -> None:
    data = json.loads((FIXTURES / "kf_sync_msg.json").read_text())
    kfid, user = "wkAJ2GCAAASSm4_FhToWMFea0xAFfd3Q", "wmAJ2GCAAAme1XQRC-NI-q0_ZM9ukoAw"
    got = [customer_message(item, kfid) for item in data["msg_list"]]
    assert [(m.external_userid, m.msgid, m.content, m.meta) if m else None for m in got] == [
        (
            user,
            "from_msgid_4622416642169452483",
            "你购买的物品已发货，可点击链接查看物流状态http://work.weixin.qq.com/xxxxxx",
            {"type": "text", "menu_id": "101"},
        ),
        (
            user,
            "from_msgid_4622416642169452484",
            "[image]",
            {"type": "image", "media_id": "2iSLeVyqzk4eX0IB5kTi9Ljfa2rt9dwfq5WKRQ4Nvvgw"},
        ),
        (
            user,
            "from_msgid_4622416642169452485",
            "[entered the conversation]",
            {"type": "event", "event": "enter_session", "scene": "123", "scene_param": "abc", "automated": True},
        ),
        None,  # sent by a servicer in WeCom
        None,  # a delivery failure event
    ]
    assert [customer_message(item, "wk-another-account") for item in data["msg_list"]] == [None] * 5
