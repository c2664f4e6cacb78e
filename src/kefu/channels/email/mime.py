"""Reading a mail (RFC 5322 bytes) into what kefu stores, and writing a reply. Pure functions: no database,
no network.

- Text: the text/plain part (or, for HTML-only mail, text taken from the sanitised HTML), decoded by its
  charset (GB2312/GBK labels read as GB18030, their superset, as mail clients mean them); NULs removed.
- HTML: sanitised by nh3 (scripts, styles, event handlers, images and unknown schemes removed).
- Quoted history is trimmed for display (`trim_quoted`); the untrimmed text stays in the message's meta.
- Automated mail (auto-replies, bounces, lists) is recognised from its headers (`automated_reasons`).
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import re
from dataclasses import dataclass, field
from email.header import decode_header
from email.message import EmailMessage, Message
from email.utils import formatdate, getaddresses, parseaddr
from html.parser import HTMLParser

import nh3

from kefu.core.errors import BadRequest, Unprocessable

MAX_META_CHARS = 100_000  # the untrimmed text and the sanitised HTML kept in meta, each
MAX_ID_CHARS = 100  # a client_message_id's length; longer Message-IDs are hashed
_CHARSETS = {"gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "cp936": "gb18030", "big5": "big5hkscs"}
_MSGID = re.compile(r"<[^<>\s]{1,900}>")
_HTML_TAGS = set(nh3.ALLOWED_TAGS) - {"img"}
_URL_SCHEMES = {"http", "https", "mailto"}
_BULK_PRECEDENCE = {"bulk", "junk", "list", "auto_reply"}


@dataclass(frozen=True)
class MailAttachment:
    name: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class ParsedMail:
    message_id: str | None  # "<…>" as the header names it
    in_reply_to: list[str]
    references: list[str]
    subject: str
    from_name: str
    from_addr: str
    to: list[str]
    text: str  # untrimmed (the whole text the sender wrote, quotes included)
    html: str  # sanitised, "" when the mail has no HTML part
    attachments: list[MailAttachment] = field(default_factory=list)
    automated: list[str] = field(default_factory=list)  # why it looks machine-sent (empty: a person)
    client_message_id: str = ""

    @property
    def content(self) -> str:
        """What the conversation shows: the new text without quoted history."""
        return trim_quoted(self.text)


def decode_bytes(data: bytes, charset: str | None) -> str:
    name = (charset or "utf-8").strip().strip('"').lower()
    name = _CHARSETS.get(name, name)
    try:
        return data.decode(name, errors="replace")
    except LookupError:
        return data.decode("utf-8", errors="replace")


def header_text(value: str | None) -> str:
    """A header's text with its encoded words (=?GB2312?B?…?=) decoded; folded lines joined."""
    if not value:
        return ""
    out = []
    for chunk, charset in decode_header(str(value)):
        out.append(decode_bytes(chunk, charset) if isinstance(chunk, bytes) else chunk)
    return re.sub(r"\s*\r?\n\s*", " ", "".join(out)).strip().replace("\x00", "")


def message_ids(value: str | None) -> list[str]:
    return _MSGID.findall(str(value or ""))


def client_message_id(message_id: str | None, raw: bytes) -> str:
    """The id that makes a re-fetched or retried mail a retry: the Message-ID without its brackets, a hash
    of it when longer than a client_message_id may be, or a hash of the bytes when it has none."""
    if message_id:
        bare = message_id[1:-1]
        if len(bare) <= MAX_ID_CHARS:
            return bare
        return "sha256:" + hashlib.sha256(bare.encode()).hexdigest()
    return "sha256-raw:" + hashlib.sha256(raw).hexdigest()


def parse(raw: bytes) -> ParsedMail:
    """The mail in `raw`; a 400 when it is not a mail, a 422 when it names no sender."""
    if not raw.strip():
        raise BadRequest("the mail is empty")
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    if not msg.keys() or msg.get_payload() is None:
        raise BadRequest("not an RFC 5322 mail: no header section")
    from_name, from_addr = parseaddr(header_text(msg.get("From")))
    if "@" not in from_addr or any(c.isspace() for c in from_addr):
        raise Unprocessable("the mail names no sender address (From)")
    texts, htmls, attachments = _parts(msg)
    html = nh3.clean("\n".join(htmls), tags=_HTML_TAGS, url_schemes=_URL_SCHEMES) if htmls else ""
    text = "\n".join(t.strip("\n") for t in texts) if texts else html_to_text(html)
    msgid = next(iter(message_ids(msg.get("Message-ID"))), None)
    return ParsedMail(
        message_id=msgid,
        in_reply_to=message_ids(msg.get("In-Reply-To")),
        references=message_ids(msg.get("References")),
        subject=header_text(msg.get("Subject"))[:300],
        from_name=from_name.strip()[:200],
        from_addr=from_addr.strip().lower(),
        to=[a.lower() for _, a in getaddresses([header_text(v) for v in msg.get_all("To", [])]) if a],
        text=text.replace("\r\n", "\n").replace("\x00", "")[:MAX_META_CHARS],
        html=html[:MAX_META_CHARS],
        attachments=attachments,
        automated=automated_reasons(msg, from_addr),
        client_message_id=client_message_id(msgid, raw),
    )


def _parts(msg: Message) -> tuple[list[str], list[str], list[MailAttachment]]:
    texts: list[str] = []
    htmls: list[str] = []
    attachments: list[MailAttachment] = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        ctype = part.get_content_type()
        disposition = part.get_content_disposition()
        filename = header_text(part.get_filename()) or None
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        if disposition != "attachment" and not filename and ctype in ("text/plain", "text/html"):
            (texts if ctype == "text/plain" else htmls).append(decode_bytes(data, part.get_content_charset()))
        elif data and (filename or disposition in ("attachment", "inline")):
            attachments.append(MailAttachment(filename or "attachment", ctype, data))
    return texts, htmls, attachments


def automated_reasons(msg: Message, from_addr: str) -> list[str]:
    """Why the mail looks sent by a machine (RFC 3834 Auto-Submitted, Precedence, vendors' auto-reply
    headers, mailing lists, delivery reports): never answered automatically."""
    reasons = []
    auto = (msg.get("Auto-Submitted") or "").strip().lower()
    if auto and auto != "no":
        reasons.append(f"auto-submitted: {auto.split(';')[0]}")
    if (msg.get("Precedence") or "").strip().lower() in _BULK_PRECEDENCE:
        reasons.append(f"precedence: {(msg.get('Precedence') or '').strip().lower()}")
    for name in ("X-Autoreply", "X-Autorespond", "X-Auto-Reply"):
        if msg.get(name) is not None:
            reasons.append(name.lower())
    if msg.get("List-Id") is not None or msg.get("List-Unsubscribe") is not None:
        reasons.append("mailing list")
    local = from_addr.split("@", 1)[0].lower()
    if msg.get_content_type() == "multipart/report" or local in ("mailer-daemon", "postmaster"):
        reasons.append("delivery report")
    if (msg.get("Return-Path") or "").strip() == "<>":
        reasons.append("null return path")
    return reasons


# --- quoted history ---------------------------------------------------------------------------------

_CUT_LINE = [
    re.compile(r"^\s*-{2,}\s*(original message|forwarded message)\s*-{2,}", re.I),
    re.compile(r"^\s*-{2,}\s*(原始邮件|原始郵件|邮件原件|郵件原件|转发邮件)\s*-{2,}"),
    re.compile(r"^\s*_{10,}\s*$"),  # Outlook's rule above its header block
    re.compile(r"^\s*(在|于|於).{1,300}(写道|寫道)\s*[:：]?\s*$"),
    re.compile(r"^\s*On .{1,300}\bwrote:\s*$", re.S),
    re.compile(r"^\s*Le .{1,300}a écrit\s*:\s*$", re.S),
]
_FROM_BLOCK = re.compile(r"^\s*\**\s*(From|发件人|寄件者|發件人)\s*\**\s*[:：]", re.I)
_FROM_BLOCK_NEXT = re.compile(
    r"^\s*\**\s*(Sent|Date|To|Subject|发送时间|日期|收件人|主题|寄件日期|傳送時間|收件者|主旨)\s*\**\s*[:：]", re.I
)


def trim_quoted(text: str) -> str:
    """The text without the history a reply quotes: from the first "On … wrote:" (also wrapped over two
    lines), "-----Original Message-----", "在 … 写道：", or an Outlook/Foxmail header block ("From:/发件人:"
    followed by "Sent:/发送时间:" …), and every "> " line. Falls back to the whole text when nothing is left."""
    lines = text.replace("\r\n", "\n").split("\n")
    kept: list[str] = []
    for i, line in enumerate(lines):
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if _starts_history(line, nxt, lines[i + 1 : i + 4]):
            break
        if line.lstrip().startswith(">"):
            continue
        kept.append(line)
    trimmed = "\n".join(kept).strip()
    return trimmed or text.strip()


def _starts_history(line: str, nxt: str, following: list[str]) -> bool:
    if any(p.match(line) for p in _CUT_LINE):
        return True
    if line.strip().startswith("On ") and nxt.strip().endswith("wrote:") and len(line) + len(nxt) < 300:
        return True  # "On Mon, 7 Dec 2026, Kefu <x@y>\nwrote:"
    return bool(_FROM_BLOCK.match(line) and any(_FROM_BLOCK_NEXT.match(f) for f in following))


# --- HTML to text -----------------------------------------------------------------------------------

_BLOCKS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol", "hr", "pre"}


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.quote = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "blockquote":
            self.quote += 1
        if tag in _BLOCKS or tag == "blockquote":
            self.out.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "blockquote":
            self.quote = max(0, self.quote - 1)
        if tag in _BLOCKS or tag == "blockquote":
            self.out.append("\n")

    def handle_data(self, data: str) -> None:
        if self.quote:  # quoted history: marked so trim_quoted drops it
            data = "\n".join("> " + line for line in data.split("\n"))
        self.out.append(data)


def html_to_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    parser.close()
    lines = [re.sub(r"[ \t\u00a0]+", " ", line).strip() for line in "".join(parser.out).split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


# --- replies ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    from_addr: str
    from_name: str
    to: str
    subject: str
    message_id: str
    text: str
    in_reply_to: str | None = None
    references: list[str] = field(default_factory=list)
    auto_submitted: bool = False  # the bot's answer: "Auto-Submitted: auto-replied" (RFC 3834)
    files: list[MailAttachment] = field(default_factory=list)


def reply_subject(subject: str) -> str:
    """ "Re: " once in front of the customer's subject (their client's "Re:", "回复:", "答复:" kept once)."""
    bare = re.sub(r"^\s*((re|aw|回复|回覆|答复)\s*[:：]\s*)+", "", subject, flags=re.I).strip()
    return f"Re: {bare}" if bare else "Re:"


def build_reply(reply: Reply) -> EmailMessage:
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["From"] = email.utils.formataddr((reply.from_name, reply.from_addr))
    msg["To"] = reply.to
    msg["Subject"] = reply.subject
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    msg["Message-ID"] = reply.message_id
    if reply.in_reply_to:
        msg["In-Reply-To"] = reply.in_reply_to
    if reply.references:
        msg["References"] = " ".join(reply.references)
    if reply.auto_submitted:
        msg["Auto-Submitted"] = "auto-replied"
    msg.set_content(reply.text)
    for f in reply.files:
        maintype, _, subtype = f.content_type.partition("/")
        msg.add_attachment(f.data, maintype=maintype, subtype=subtype or "octet-stream", filename=f.name)
    return msg
