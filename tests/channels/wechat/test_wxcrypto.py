"""WeChat's message encryption (channels/wxcrypto.py) against the spec's published sample values and
against wechatpy as an independent peer, both directions."""

from __future__ import annotations

import base64

import pytest
from wechatpy.crypto import WeChatCrypto as WechatpyMpCrypto
from wechatpy.enterprise.crypto import WeChatCrypto as WechatpyWorkCrypto
from wechatpy.exceptions import InvalidSignatureException

from kefu.channels.wxcrypto import (
    BadSignature,
    WxCrypto,
    WxCryptoError,
    XmlRefused,
    parse_xml,
    pkcs7_pad,
    pkcs7_unpad,
    signature,
)

# WeCom's official WXBizMsgCrypt sample (Sample.py / Sample.cs of the 加解密库).
WECOM = {"token": "QDG6eK", "key": "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "id": "wx5823bf96d3bd56c7"}
WECOM_ECHO = {
    "msg_signature": "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3",
    "timestamp": "1409659589",
    "nonce": "263014780",
    "echostr": "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ==",
}
WECOM_MSG = {
    "msg_signature": "477715d11cdb4164915debcba66cb864d751f3e6",
    "timestamp": "1409659813",
    "nonce": "1372623149",
    "encrypt": "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W"
    "/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZf"
    "JYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGU"
    "callcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDY"
    "A5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q==",
}
# The Official Account's WXBizMsgCrypt Java sample (WXBizMsgCryptTest: a fixed random prefix).
MP = {"token": "pamtest", "key": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "id": "wxb11529c136998cb6"}
MP_RANDOM = b"aaaabbbbccccdddd"
MP_PLAIN = "我是中文abcd123"
MP_CIPHER = "jn1L23DB+6ELqJ+6bruv21Y6MD7KeIfP82D6gU39rmkgczbWwt5+3bnyg5K55bgVtVzd832WzZGMhkP72vVOfg=="
# wechatpy's own test vectors (tests/test_crypto.py): a fixed random prefix "1234567890123456".
WP = {"token": "123456", "key": "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR", "id": "wx49f0ab532d5d035a"}
WP_REPLY = """<xml>
<MsgType><![CDATA[text]]></MsgType>
<Content><![CDATA[test]]></Content>
<FromUserName><![CDATA[wx49f0ab532d5d035a]]></FromUserName>
<ToUserName><![CDATA[messense]]></ToUserName>
<AgentID>1</AgentID>
<CreateTime>1411525903</CreateTime>
</xml>"""
WP_ENVELOPE = """<xml>
<Encrypt><![CDATA[9s4gMv99m88kKTh/H8IdkOiMg6bisoy3ypwy9H4hvSPe9nsGaqyw5hhSjdYbcrKk+j3nba4HMOTzHrluLBYqxgNcBqGsL8GqxlhZgURnAtObvesEl5nZ+uBE8bviY0LWke8Zy9V/QYKxNV2FqllNXcfmstttyIkMKCCmVbCFM2JTF5wY0nFhHZSjPUL2Q1qvSUCUld+/WIXrx0oyKQmpB6o8NRrrNrsDf03oxI1p9FxUgMnwKKZeOA/uu+2IEvEBtb7muXsVbwbgX05UPPJvFurDXafG0RQyPR+mf1nDnAtQmmNOuiR5MIkdQ39xn1vWwi1O5oazPoQJz0nTYjxxEE8kv3kFxtAGVRe3ypD3WeK2XeFYFMNMpatF9XiKzHo3]]></Encrypt>
<MsgSignature><![CDATA[407518b7649e86ef23978113f92d27afa9296533]]></MsgSignature>
<TimeStamp>1411525903</TimeStamp>
<Nonce><![CDATA[461056294]]></Nonce>
</xml>"""


def _crypto(sample: dict[str, str]) -> WxCrypto:
    return WxCrypto(sample["token"], sample["key"], sample["id"])


def test_the_wecom_sample_url_verification_and_message() -> None:
    c = _crypto(WECOM)
    e = WECOM_ECHO
    c.check(e["msg_signature"], e["timestamp"], e["nonce"], e["echostr"])
    assert c.decrypt(e["echostr"]) == b"1616140317555161061"
    m = WECOM_MSG
    c.check(m["msg_signature"], m["timestamp"], m["nonce"], m["encrypt"])
    msg = parse_xml(c.decrypt(m["encrypt"]))
    assert (msg["ToUserName"], msg["FromUserName"], msg["MsgType"], msg["Content"], msg["MsgId"]) == (
        "wx5823bf96d3bd56c7",
        "mycreate",
        "text",
        "hello",
        "4561255354251345929",
    )
    with pytest.raises(BadSignature):
        c.check(m["msg_signature"], m["timestamp"], "1372623140", m["encrypt"])


def test_the_official_account_sample_encrypts_to_the_published_ciphertext() -> None:
    c = _crypto(MP)
    assert c.encrypt(MP_PLAIN, MP_RANDOM) == MP_CIPHER
    assert c.decrypt(MP_CIPHER).decode() == MP_PLAIN


def test_wechatpys_vectors_both_ways() -> None:
    c = _crypto(WP)
    assert c.encrypt_message(WP_REPLY, "461056294", "1411525903", b"1234567890123456") == WP_ENVELOPE
    echo = "4ByGGj+sVCYcvGeQYhaKIk1o0pQRNbRjxybjTGblXrBaXlTXeOo1+bXFXDQQb1o6co6Yh9Bv41n7hOchLF6p+Q=="
    c.check("dd6b9c95b495b3f7e2901bfbc76c664930ffdb96", "1411443780", "437374425", echo)
    with pytest.raises(BadSignature):
        c.check("dd6b9c95b495b3f7e2901bfbc76c664930ffdb96", "1411443780", "437374424", echo)


def test_the_plain_signature_of_url_verification() -> None:
    # sha1 of the sorted concatenation: "1410685589" + "test" + "test"
    assert signature("test", "1410685589", "test") == "f21891de399b4e33a1a93c9a7b8a8fffb5a443ff"


@pytest.mark.parametrize("text", ["你好，我的订单到哪了？", "x" * 31, "y" * 32, "<xml>" + "长" * 500 + "</xml>"])
def test_wechatpy_decrypts_what_we_encrypt_and_we_decrypt_what_it_encrypts(text: str) -> None:
    ours = _crypto(WP)
    for peer in (
        WechatpyMpCrypto(WP["token"], WP["key"], WP["id"]),
        WechatpyWorkCrypto(WP["token"], WP["key"], WP["id"]),
    ):
        envelope = ours.encrypt_message(text, "nonce-1", "1700000000")
        fields = parse_xml(envelope.encode())
        assert peer.decrypt_message(envelope, fields["MsgSignature"], "1700000000", "nonce-1") == text
        theirs = parse_xml(peer.encrypt_message(text, "nonce-2", "1700000001").encode())
        ours.check(theirs["MsgSignature"], theirs["TimeStamp"], theirs["Nonce"], theirs["Encrypt"])
        assert ours.decrypt(theirs["Encrypt"]).decode() == text
        with pytest.raises(InvalidSignatureException):
            peer.decrypt_message(envelope, "0" * 40, "1700000000", "nonce-1")


def test_the_wecom_peer_checks_our_echostr() -> None:
    ours = _crypto(WP)
    peer = WechatpyWorkCrypto(WP["token"], WP["key"], WP["id"])
    echostr = ours.encrypt("6480458390413086208")
    sig = ours.sign("1700000000", "n", echostr)
    assert peer.check_signature(sig, "1700000000", "n", echostr) == "6480458390413086208"


def test_a_message_for_another_receiver_or_damaged_is_refused() -> None:
    mine, other = _crypto(WP), WxCrypto(WP["token"], WP["key"], "wx0000000000000000")
    with pytest.raises(WxCryptoError, match="another app id / corp id"):
        mine.decrypt(other.encrypt("hello"))
    with pytest.raises(WxCryptoError, match="not base64"):
        mine.decrypt("***")
    with pytest.raises(WxCryptoError, match="whole number of blocks"):
        mine.decrypt(base64.b64encode(b"x" * 20).decode())
    with pytest.raises(WxCryptoError):  # garbage decrypts to bad padding or a wrong length
        mine.decrypt(base64.b64encode(b"x" * 64).decode())
    with pytest.raises(WxCryptoError, match="43 letters and digits"):
        WxCrypto("t", "short", "id")


def test_pkcs7_pads_to_32_byte_blocks() -> None:
    assert len(pkcs7_pad(b"")) == 32 and pkcs7_pad(b"")[-1] == 32
    assert pkcs7_pad(b"a" * 31) == b"a" * 31 + b"\x01"
    assert pkcs7_unpad(pkcs7_pad(b"abc")) == b"abc"
    with pytest.raises(WxCryptoError, match="bad padding"):
        pkcs7_unpad(b"abc\x00")


def test_xml_is_read_safely() -> None:
    assert parse_xml(b"<xml><A><![CDATA[1]]></A><B><C>2</C></B></xml>") == {"A": "1", "B": "", "B.C": "2"}
    bomb = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><xml><A>&a;</A></xml>'
    with pytest.raises(XmlRefused, match="DOCTYPE or entity"):
        parse_xml(bomb)
    quoted = "<xml><Content><![CDATA[<!DOCTYPE html> 是什么？]]></Content></xml>".encode()
    assert parse_xml(quoted) == {"Content": "<!DOCTYPE html> 是什么？"}  # a customer may write it
    with pytest.raises(XmlRefused, match="malformed XML"):
        parse_xml(b"<xml><A>&a;</A></xml>")  # an undeclared entity
    with pytest.raises(XmlRefused, match="malformed XML"):
        parse_xml(b"<xml><A>1</xml>")
    with pytest.raises(XmlRefused, match="not <xml>"):
        parse_xml(b"<root/>")
    with pytest.raises(XmlRefused) as big:
        parse_xml(b"<xml>" + b"a" * 70_000 + b"</xml>")
    assert big.value.too_large
