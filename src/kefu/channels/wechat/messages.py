"""An Official Account's pushed XML (its fields, decrypted when encrypted) → what kefu stores.

| MsgType / Event     | content                                   | meta                                  |
|---------------------|-------------------------------------------|---------------------------------------|
| text                | Content                                   | type                                  |
| image               | "[image]"                                 | type, pic_url, media_id               |
| voice               | Recognition (WeChat's transcript) or "[voice]" | type, media_id, format, recognition |
| video, shortvideo   | "[video]"                                 | type, media_id, thumb_media_id        |
| location            | "[location] Label"                        | type, latitude, longitude, label      |
| link                | "[link] Title Url"                        | type, title, url                      |
| event subscribe     | "[subscribed]"                            | type=event, event, event_key, automated |
| event unsubscribe   | "[unsubscribed]"                          | same                                  |
| event CLICK         | "[menu] EventKey"                         | same                                  |
| other events        | nothing stored (acknowledged)             |                                       |

Events are stored as the customer's messages, not as system messages: they are the customer's own
actions (following, unfollowing, tapping a menu item), WeChat counts following and menu taps as
interactions that open its reply window, so the 48-hour rule stays one rule over the customer's last
incoming message; they reach the agent in the timeline in order, and a provider's retry of an event is
deduplicated by the same client_message_id path as a message. They carry `meta.automated` so the bot
never answers "[subscribed]" as if it were a question (conversations/inbound.py).

The client_message_id is WeChat's MsgId; an event has none, so it is FromUserName:CreateTime:Event
(WeChat's own dedup key for events).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kefu.conversations.inbound import AUTOMATED
from kefu.core.errors import BadRequest

EVENTS = {"subscribe": "[subscribed]", "unsubscribe": "[unsubscribed]", "CLICK": "[menu]"}


@dataclass(frozen=True)
class Pushed:
    openid: str
    unionid: str
    content: str
    client_message_id: str
    meta: dict[str, Any] = field(default_factory=dict)


def pushed(f: dict[str, str]) -> Pushed | None:
    """The customer message an Official Account push carries, or None for one kefu does not store."""
    openid, kind = f.get("FromUserName", ""), f.get("MsgType", "")
    if not openid or not kind or not f.get("CreateTime", "").isdigit():
        raise BadRequest("not a WeChat message: FromUserName, CreateTime and MsgType are required")
    if kind == "event":
        return _event(f, openid)
    found = _message(f, kind)
    if found is None:
        return None
    msg_id = f.get("MsgId", "")
    if not msg_id:
        raise BadRequest(f"a WeChat {kind} message without MsgId")
    content, meta = found
    return Pushed(openid, f.get("UnionId", ""), content, msg_id, {"type": kind, **meta})


def _message(f: dict[str, str], kind: str) -> tuple[str, dict[str, Any]] | None:
    if kind == "text":
        return f.get("Content", ""), {}
    if kind == "image":
        return "[image]", {"pic_url": f.get("PicUrl", ""), "media_id": f.get("MediaId", "")}
    if kind == "voice":
        heard = f.get("Recognition", "")
        meta = {"media_id": f.get("MediaId", ""), "format": f.get("Format", ""), "recognition": heard}
        return heard or "[voice]", meta
    if kind in ("video", "shortvideo"):
        return "[video]", {"media_id": f.get("MediaId", ""), "thumb_media_id": f.get("ThumbMediaId", "")}
    if kind == "location":
        label = f.get("Label", "")
        meta = {"latitude": f.get("Location_X", ""), "longitude": f.get("Location_Y", ""), "label": label}
        return f"[location] {label}".strip(), meta
    if kind == "link":
        title, url = f.get("Title", ""), f.get("Url", "")
        return f"[link] {title} {url}".strip(), {"title": title, "url": url}
    return None


def _event(f: dict[str, str], openid: str) -> Pushed | None:
    event = f.get("Event", "")
    if event not in EVENTS:
        return None
    key = f.get("EventKey", "")
    content = f"{EVENTS[event]} {key}".strip() if event == "CLICK" else EVENTS[event]
    meta = {"type": "event", "event": event, "event_key": key, AUTOMATED: True}
    return Pushed(openid, f.get("UnionId", ""), content, f"{openid}:{f['CreateTime']}:{event}", meta)
