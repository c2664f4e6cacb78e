"""The email channel's adapter (channels/base.py): a mail in → the one message model; a reply out by SMTP.

Inbound (`parse_inbound`, the same for IMAP, the SMTP receiver and raw mail POSTed to the inbox's
callback URL): the raw RFC 5322 bytes are parsed (mime.py; 400/422/413 and nothing stored when they are
not a mail), the contact is found or created by the sender's email identity, a reply naming one of our
Message-IDs (threads.py) is threaded into that conversation, attachments are stored like the widget's
uploads (too large or refused types are skipped with a note in meta), and a machine's mail (auto-reply,
bounce, list, our own mail come back) is marked `meta["automated"]` — stored, never answered by the bot.
The Message-ID (bracket-less, hashed when long) is the client_message_id: a re-fetch stores nothing new.

Outbound (`prepare` reads the thread, `send` talks SMTP): From the inbox address, To the contact's email
identity, "Re: <their last subject>", our Message-ID for the message, In-Reply-To the customer's last
Message-ID and References its chain. A 4xx or a connection failure is retried; a 5xx fails with the
server's reason. The bot's answers carry `Auto-Submitted: auto-replied` and are never sent when the
customer's last mail was automated (an agent may still answer it deliberately).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any

import aiosmtplib
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import undefer

from kefu.attachments.models import Attachment
from kefu.attachments.service import check_store_upload
from kefu.channels.base import ChannelAdapter, DeliveryResult, InboundRequest, OutboundMessage, register
from kefu.channels.email import mime, threads
from kefu.channels.email.config import EmailInboxConfig
from kefu.channels.models import Inbox
from kefu.channels.service import get_inbox_by_key
from kefu.contacts.service import do_contact_for_identity
from kefu.conversations.inbound import AUTOMATED
from kefu.conversations.models import Conversation, Message
from kefu.conversations.schemas import AttachmentIn, ContactMessageCreate, InboundMessage, InboxRef
from kefu.core.constants import ActorType, ChannelType, Direction, IdentityKind
from kefu.core.errors import KefuError, TooLarge
from kefu.core.events import Actor, bind_bus
from kefu.core.state import AppState
from kefu.settings import Settings

log = logging.getLogger("kefu.email")
MAX_ATTACHMENTS = 10  # a message's limit (ContactMessageCreate)
MAX_REFERENCES = 20
SMTP_TIMEOUT_S = 30.0
NO_TEXT = "(no text)"


@dataclass(frozen=True)
class _Inbox:
    ref: InboxRef
    config: EmailInboxConfig


class EmailAdapter(ChannelAdapter):
    kind = str(ChannelType.EMAIL)
    config_schema = EmailInboxConfig
    secret_fields = frozenset({"smtp_password", "imap_password"})

    async def parse_inbound(self, state: AppState, request: InboundRequest) -> list[InboundMessage]:
        limit = state.settings.email_max_bytes
        if len(request.body) > limit:
            raise TooLarge(f"the mail is {len(request.body):,} bytes; the limit is {limit:,}")
        inbox = await _email_inbox(state, request.inbox_key)
        mail = mime.parse(request.body)
        secret = state.settings.secret_key
        meta = _meta(mail, inbox.config, secret)
        async with state.sessionmaker() as session:
            bind_bus(session, state.bus)
            thread = await _thread(session, inbox.ref.account_id, secret, mail)
            contact, _ = await do_contact_for_identity(
                session,
                inbox.ref.account_id,
                IdentityKind.EMAIL,
                mail.from_addr,
                name=mail.from_name or mail.from_addr.split("@", 1)[0],
                inbox_id=inbox.ref.id,
            )
            contact_id = contact.id
            stored = await _stored(session, contact_id, mail.client_message_id)
        refs: list[AttachmentIn] = []
        if mail.attachments and not stored:
            refs, skipped = await _store_attachments(state, inbox.ref.account_id, contact_id, mail.attachments)
            if skipped:
                meta["skipped_attachments"] = skipped
        content = _content(mail, state.settings.max_message_chars)
        data = ContactMessageCreate(content=content, client_message_id=mail.client_message_id, attachments=refs)
        return [InboundMessage(inbox.ref, contact_id, data, meta=meta, conversation_id=thread)]

    def inbound_reply(self, received: int) -> tuple[str, str]:
        return f'{{"received": {received}}}', "application/json"

    async def prepare(self, session: AsyncSession, settings: Settings, outbound: OutboundMessage) -> OutboundMessage:
        msg = await session.get(Message, outbound.message_id)
        inbox = await session.get(Inbox, outbound.inbox_id)
        conv = await session.get(Conversation, outbound.conversation_id)
        if msg is None or inbox is None or conv is None:
            return outbound
        domain = str(inbox.config.get("address", "kefu@localhost")).rsplit("@", 1)[-1]
        extra: dict[str, Any] = {
            "message_id": threads.our_message_id(settings.secret_key, msg.id, domain),
            "from_name": inbox.name,
            "subject": conv.subject or f"#{conv.id}",
            "auto_submitted": msg.sender_type != ActorType.USER,
        }
        q = (
            select(Message.meta)
            .where(Message.conversation_id == conv.id, Message.direction == Direction.INCOMING)
            .order_by(Message.id.desc())
            .limit(50)
        )
        metas = [m or {} for m in (await session.scalars(q)).all()]
        if metas and metas[0].get(AUTOMATED) and msg.sender_type != ActorType.USER:
            extra["refused"] = (
                "not sent: the customer's last mail was sent by a machine (an auto-reply, a bounce or a list); "
                "only an agent may answer it"
            )
        last = next((m for m in metas if m.get("message_id")), None)
        if last is not None:
            extra["in_reply_to"] = last["message_id"]
            extra["references"] = [*last.get("references", []), last["message_id"]][-MAX_REFERENCES:]
        subject = next((m["subject"] for m in metas if m.get("subject")), None)
        if subject:
            extra["subject"] = subject
        extra["files"] = await _files(session, outbound)
        return replace(outbound, extra=extra)

    async def send(self, outbound: OutboundMessage, config: BaseModel) -> DeliveryResult:
        assert isinstance(config, EmailInboxConfig)
        extra = outbound.extra
        if extra.get("refused"):
            return DeliveryResult.failed(str(extra["refused"]))
        if not config.smtp_host:
            return DeliveryResult.failed("the inbox has no SMTP server (smtp_host) to send mail through")
        to = outbound.identities.get(str(IdentityKind.EMAIL))
        if not to:
            return DeliveryResult.failed("the contact has no email address")
        message_id = str(extra.get("message_id") or _fallback_id(outbound, config))
        reply = mime.Reply(
            from_addr=config.address,
            from_name=str(extra.get("from_name") or ""),
            to=to,
            subject=mime.reply_subject(str(extra.get("subject") or "")),
            message_id=message_id,
            text=outbound.content,
            in_reply_to=extra.get("in_reply_to"),
            references=list(extra.get("references", [])),
            auto_submitted=bool(extra.get("auto_submitted")),
            files=list(extra.get("files", [])),
        )
        return await _smtp_send(mime.build_reply(reply), config, message_id)


async def _smtp_send(message: Any, config: EmailInboxConfig, message_id: str) -> DeliveryResult:
    try:
        await aiosmtplib.send(
            message,
            hostname=config.smtp_host,
            port=config.smtp_port_or_default,
            username=config.smtp_username,
            password=config.smtp_password if config.smtp_username else None,
            use_tls=config.smtp_tls == "tls",
            start_tls=config.smtp_tls == "starttls",
            timeout=SMTP_TIMEOUT_S,
        )
    except aiosmtplib.SMTPRecipientsRefused as exc:
        return _smtp_answer(exc.recipients[0].code, exc.recipients[0].message)
    except aiosmtplib.SMTPResponseException as exc:
        return _smtp_answer(exc.code, exc.message)
    except (aiosmtplib.SMTPException, OSError) as exc:
        return DeliveryResult.retry_later(f"the mail server could not be reached: {exc}")
    return DeliveryResult.sent(external_id=message_id)


def _smtp_answer(code: int, text: str) -> DeliveryResult:
    reason = f"the mail server answered {code} {text}".strip()
    return DeliveryResult.failed(reason) if code >= 500 else DeliveryResult.retry_later(reason)


def _fallback_id(outbound: OutboundMessage, config: EmailInboxConfig) -> str:
    """A Message-ID for a send without `prepare` (it threads nothing: no token)."""
    return f"<kefu.{outbound.message_id}.unthreaded@{config.domain}>"


async def _email_inbox(state: AppState, key: str) -> _Inbox:
    async with state.sessionmaker() as session:
        inbox = await get_inbox_by_key(session, key, ChannelType.EMAIL)
        return _Inbox(
            InboxRef(inbox.id, inbox.account_id, inbox.public_key, inbox.channel_type),
            EmailInboxConfig.model_validate(inbox.config),
        )


def _meta(mail: mime.ParsedMail, config: EmailInboxConfig, secret: str) -> dict[str, Any]:
    automated = list(mail.automated)
    if mail.from_addr == config.address:
        automated.append("sent from the inbox's own address")
    if mail.message_id and threads.our_message(secret, mail.message_id) is not None:
        automated.append("our own Message-ID")
    meta: dict[str, Any] = {
        "channel": "email",
        "subject": mail.subject,
        "message_id": mail.message_id,
        "in_reply_to": mail.in_reply_to[0] if mail.in_reply_to else None,
        "references": mail.references[-MAX_REFERENCES:],
        "from": mail.from_addr,
        "from_name": mail.from_name,
        "to": mail.to[:20],
        "text": mail.text,
        "html": mail.html,
    }
    if automated:
        meta[AUTOMATED] = True
        meta["automated_reasons"] = automated
    return meta


def _content(mail: mime.ParsedMail, max_chars: int) -> str:
    text = mail.content.strip() or mail.subject.strip() or NO_TEXT
    if not any(not c.isspace() for c in text):
        text = NO_TEXT
    return text if len(text) <= max_chars else text[: max_chars - 1] + "…"


async def _thread(session: AsyncSession, account_id: int, secret: str, mail: mime.ParsedMail) -> int | None:
    """The conversation of our message the mail answers (in this account), if any."""
    number = threads.threaded_message(secret, mail.in_reply_to, mail.references)
    if number is None:
        return None
    q = select(Message.conversation_id).where(Message.id == number, Message.account_id == account_id)
    return (await session.execute(q)).scalar_one_or_none()


async def _stored(session: AsyncSession, contact_id: int, client_message_id: str) -> bool:
    """Whether this contact's mail with this id is already stored (a re-fetch: its files are too)."""
    q = select(Message.id).where(
        Message.sender_type == ActorType.CONTACT,
        Message.sender_id == contact_id,
        Message.client_message_id == client_message_id,
    )
    return (await session.execute(q.limit(1))).scalar_one_or_none() is not None


async def _store_attachments(
    state: AppState, account_id: int, contact_id: int, files: list[mime.MailAttachment]
) -> tuple[list[AttachmentIn], list[dict[str, str]]]:
    refs: list[AttachmentIn] = []
    skipped: list[dict[str, str]] = []
    for f in files:
        if len(refs) >= MAX_ATTACHMENTS:
            skipped.append({"name": f.name, "reason": f"more than {MAX_ATTACHMENTS} attachments"})
            continue
        try:
            async with state.sessionmaker() as session:
                att = await check_store_upload(
                    session,
                    account_id,
                    Actor(ActorType.CONTACT, contact_id),
                    filename=f.name,
                    content_type=f.content_type,
                    data=f.data,
                    limit=state.settings.max_attachment_bytes,
                )
                refs.append(AttachmentIn(id=att.id))
        except KefuError as exc:
            skipped.append({"name": f.name, "reason": exc.message})
    return refs, skipped


async def _files(session: AsyncSession, outbound: OutboundMessage) -> list[mime.MailAttachment]:
    ids = [int(a["id"]) for a in outbound.attachments if a.get("id") is not None]
    if not ids:
        return []
    q = select(Attachment).where(Attachment.id.in_(ids), Attachment.account_id == outbound.account_id)
    rows = {a.id: a for a in await session.scalars(q.options(undefer(Attachment.data)))}
    return [mime.MailAttachment(rows[i].name, rows[i].content_type, rows[i].data) for i in ids if i in rows]


EMAIL = register(EmailAdapter())
