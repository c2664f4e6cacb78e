"""WeChat's message-encryption family (消息加解密), shared by the Official Account (公众号) and WeCom
customer service (微信客服) channels — exactly as WeChat's spec describes it:

- signature: the SHA-1 hex digest of the sorted concatenation of token, timestamp, nonce — and, for
  `msg_signature`, the encrypted text (`signature()`);
- AES-256-CBC with key = base64decode(EncodingAESKey + "="), iv = key[:16], PKCS#7 padding to 32-byte
  blocks (not AES's 16);
- plaintext = 16 random bytes + the message's length (4 bytes, network order) + the message + the
  receive id (the Official Account's app id; the WeCom corp id), base64 on the wire.

Checked against the spec's published sample values and against wechatpy as an independent peer
(tests/channels/wechat/test_wxcrypto.py). The XML around it is read by `parse_xml`: size-limited, no
DOCTYPE or entities, so no entity expansion and no external references.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import struct
import xml.etree.ElementTree as ET

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK = 32  # WeChat pads to 32-byte blocks
MAX_XML_BYTES = 64 * 1024  # WeChat's callbacks are a few hundred bytes; anything far larger is refused
_AES_KEY = re.compile(r"^[A-Za-z0-9]{43}$")
_DECLARATIONS = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


class WxCryptoError(ValueError):
    """Something WeChat's crypto refused; `str(exc)` says what."""


class BadSignature(WxCryptoError):
    pass


def signature(*parts: str) -> str:
    """WeChat's signature: SHA-1 of the parts sorted as strings and concatenated."""
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def check_signature(given: str, *parts: str) -> None:
    if not hmac.compare_digest(given.lower().encode(), signature(*parts).encode()):
        raise BadSignature("bad signature")


def aes_key(encoding_aes_key: str) -> bytes:
    """The 32-byte AES key an EncodingAESKey (43 characters of base64) stands for."""
    if not _AES_KEY.match(encoding_aes_key):
        raise WxCryptoError("an EncodingAESKey is 43 letters and digits")
    key = base64.b64decode(encoding_aes_key + "=")
    if len(key) != 32:  # pragma: no cover - 43 base64 characters always decode to 32 bytes
        raise WxCryptoError("an EncodingAESKey decodes to 32 bytes")
    return key


def pkcs7_pad(data: bytes) -> bytes:
    n = BLOCK - len(data) % BLOCK
    return data + bytes([n]) * n


def pkcs7_unpad(data: bytes) -> bytes:
    if not data:
        raise WxCryptoError("empty plaintext")
    n = data[-1]
    if not 1 <= n <= BLOCK or data[-n:] != bytes([n]) * n:
        raise WxCryptoError("bad padding")
    return data[:-n]


class WxCrypto:
    """One account's crypto: its Token, EncodingAESKey and receive id (app id or corp id)."""

    def __init__(self, token: str, encoding_aes_key: str, receive_id: str) -> None:
        self.token = token
        self.key = aes_key(encoding_aes_key)
        self.receive_id = receive_id

    def _cipher(self) -> Cipher[modes.CBC]:
        return Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16]))

    def encrypt(self, message: bytes | str, random16: bytes | None = None) -> str:
        """The base64 ciphertext of `message` (random16: the 16 leading bytes, for spec samples)."""
        body = message.encode() if isinstance(message, str) else message
        prefix = random16 if random16 is not None else os.urandom(16)
        if len(prefix) != 16:
            raise WxCryptoError("the random prefix is 16 bytes")
        plain = pkcs7_pad(prefix + struct.pack("!I", len(body)) + body + self.receive_id.encode())
        enc = self._cipher().encryptor()
        return base64.b64encode(enc.update(plain) + enc.finalize()).decode()

    def decrypt(self, encrypted: str) -> bytes:
        """The message inside `encrypted`; refused when it is not ours (another receive id) or damaged."""
        try:
            raw = base64.b64decode(encrypted, validate=True)
        except (binascii.Error, ValueError):
            raise WxCryptoError("the encrypted text is not base64") from None
        if not raw or len(raw) % BLOCK:
            raise WxCryptoError("the encrypted text is not a whole number of blocks")
        dec = self._cipher().decryptor()
        plain = pkcs7_unpad(dec.update(raw) + dec.finalize())
        if len(plain) < 20:
            raise WxCryptoError("the plaintext is too short")
        (length,) = struct.unpack("!I", plain[16:20])
        body, receive_id = plain[20 : 20 + length], plain[20 + length :]
        if len(body) != length:
            raise WxCryptoError("the plaintext's length is wrong")
        if not hmac.compare_digest(receive_id, self.receive_id.encode()):
            raise WxCryptoError("the message is for another app id / corp id")
        return body

    def sign(self, timestamp: str, nonce: str, encrypted: str) -> str:
        return signature(self.token, timestamp, nonce, encrypted)

    def check(self, msg_signature: str, timestamp: str, nonce: str, encrypted: str) -> None:
        check_signature(msg_signature, self.token, timestamp, nonce, encrypted)

    def encrypt_message(self, xml: str, nonce: str, timestamp: str, random16: bytes | None = None) -> str:
        """A reply as WeChat's safe mode carries it: the encrypted envelope with its msg_signature."""
        encrypted = self.encrypt(xml, random16)
        return (
            f"<xml>\n<Encrypt><![CDATA[{encrypted}]]></Encrypt>\n"
            f"<MsgSignature><![CDATA[{self.sign(timestamp, nonce, encrypted)}]]></MsgSignature>\n"
            f"<TimeStamp>{timestamp}</TimeStamp>\n<Nonce><![CDATA[{nonce}]]></Nonce>\n</xml>"
        )


class XmlRefused(ValueError):
    """XML that is too large (`too_large`) or not what WeChat sends; `str(exc)` says what."""

    def __init__(self, message: str, *, too_large: bool = False) -> None:
        super().__init__(message)
        self.too_large = too_large


def parse_xml(body: bytes, limit: int = MAX_XML_BYTES) -> dict[str, str]:
    """WeChat's flat `<xml>` document as {tag: text} (nested elements: their text under "Parent.Child").
    Refused: more than `limit` bytes, a DOCTYPE or entity declaration, malformed XML, another root."""
    if len(body) > limit:
        raise XmlRefused(f"the XML body is larger than {limit:,} bytes", too_large=True)
    root_at = body.find(b"<xml")
    if _DECLARATIONS.search(body if root_at < 0 else body[:root_at]):  # a DTD can only come before the root
        raise XmlRefused("XML with a DOCTYPE or entity declarations is refused")
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        raise XmlRefused(f"malformed XML: {exc}") from None
    if root.tag != "xml":
        raise XmlRefused(f"the XML root is <{root.tag}>, not <xml>")
    out: dict[str, str] = {}
    for child in root:
        out[child.tag] = (child.text or "").strip() if len(child) == 0 else ""
        for sub in child:
            out[f"{child.tag}.{sub.tag}"] = (sub.text or "").strip()
    return out
