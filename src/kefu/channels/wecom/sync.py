"""Pulling WeCom customer-service messages: after the callback event `kf_msg_or_event`, kefu calls
`/cgi-bin/kf/sync_msg` with the inbox's stored cursor, the event's Token and a limit, page by page while
`has_more` — at most `MAX_PAGES` pages inside the callback's request, so it stays bounded; the rest comes
with the next callback (WeCom sends one for every new message and keeps messages for three days). The
new cursor is stored only once the pulled messages are stored (`WecomAdapter.inbound_stored`), and only
if no other node moved it meanwhile; a message pulled twice is stored once (client_message_id = msgid).

What becomes a customer message (origin 3: sent by the WeChat customer; 4: a system event):

| msgtype                    | content                      | meta                              |
|----------------------------|------------------------------|-----------------------------------|
| text                       | text.content                 | type, menu_id                     |
| image                      | "[image]"                    | type, media_id                    |
| voice                      | "[voice]"                    | type, media_id                    |
| video / file / location / link | "[video]" …              | type, and the item's fields       |
| event enter_session        | "[entered the conversation]" | type=event, event, scene, scene_param, automated |

Messages of another customer-service account (open_kfid), sent by servicers (origin 5) and other events
(msg_send_fail, servicer_status_change, session_status_change) are skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kefu.channels.wxapi import WxClient
from kefu.conversations.inbound import AUTOMATED

SYNC_PATH = "/cgi-bin/kf/sync_msg"
SYNC_LIMIT = 1000  # WeCom's largest page
MAX_PAGES = 5
CURSOR_STATE = "kf_cursor"
FROM_CUSTOMER, SYSTEM_EVENT = 3, 4
PLACEHOLDERS = {"image": "[image]", "voice": "[voice]", "video": "[video]", "file": "[file]", "location": "[location]"}


@dataclass(frozen=True)
class Pulled:
    external_userid: str
    msgid: str
    content: str
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class Page:
    messages: list[Pulled]
    cursor: str | None


async def pull(client: WxClient, cursor: str | None, token: str, open_kfid: str) -> Page:
    """The messages after `cursor` (at most MAX_PAGES pages) and the cursor after them."""
    out: list[Pulled] = []
    for _ in range(MAX_PAGES):
        body: dict[str, Any] = {"token": token, "limit": SYNC_LIMIT, "open_kfid": open_kfid}
        if cursor:
            body["cursor"] = cursor
        data = await client.post(SYNC_PATH, body)
        for item in data.get("msg_list") or []:
            found = customer_message(item, open_kfid)
            if found is not None:
                out.append(found)
        cursor = str(data.get("next_cursor") or cursor or "") or None
        if not data.get("has_more"):
            break
    return Page(out, cursor)


def customer_message(item: dict[str, Any], open_kfid: str) -> Pulled | None:
    if item.get("open_kfid") != open_kfid or not item.get("msgid"):
        return None
    kind = str(item.get("msgtype", ""))
    if item.get("origin") == SYSTEM_EVENT and kind == "event":
        event = item.get("event") or {}
        if event.get("event_type") != "enter_session" or not event.get("external_userid"):
            return None
        event_meta: dict[str, Any] = {
            "type": "event",
            "event": "enter_session",
            "scene": event.get("scene", ""),
            "scene_param": event.get("scene_param", ""),
            AUTOMATED: True,
        }
        return Pulled(str(event["external_userid"]), str(item["msgid"]), "[entered the conversation]", event_meta)
    if item.get("origin") != FROM_CUSTOMER or not item.get("external_userid"):
        return None
    detail = item.get(kind) or {}
    if kind == "text":
        content = str(detail.get("content", ""))
        meta: dict[str, Any] = {"type": "text", "menu_id": detail.get("menu_id", "")}
    elif kind in PLACEHOLDERS or kind == "link":
        content = (
            f"[link] {detail.get('title', '')} {detail.get('url', '')}".strip()
            if kind == "link"
            else PLACEHOLDERS[kind]
        )
        meta = {"type": kind, **{k: v for k, v in detail.items() if isinstance(v, str | int | float)}}
    else:
        return None
    if not content.strip():
        return None
    return Pulled(str(item["external_userid"]), str(item["msgid"]), content, meta)
