"""What a channel adds to a customer's message: details stored as the message's meta, and the thread it
found (an email reply to one of ours) — used only when it is the same contact's conversation; each
message records the inbox it came through."""

from __future__ import annotations

from kefu.conversations.inbound import receive_customer_message
from kefu.conversations.schemas import ContactMessageCreate, InboundMessage, InboxRef
from tests.support.factories import World


async def test_meta_is_stored_and_a_thread_of_the_same_contact_is_continued(api: World) -> None:
    state = api.server.state
    visitor, conv = await api.conversation("first, on the widget")
    other_visitor, other_conv = await api.conversation("someone else")
    mail = await api.inbox(name="Mail")
    ref = InboxRef(mail["id"], api.account_id, mail["public_key"])

    def msg(content: str, cmid: str, thread: int | None, **meta: object) -> InboundMessage:
        data = ContactMessageCreate(content=content, client_message_id=cmid)
        return InboundMessage(ref, visitor.contact_id, data, meta=meta, conversation_id=thread)

    threaded = await receive_customer_message(state, msg("a reply by mail", "mid-1", conv["id"], subject="Re: 订单"))
    assert (threaded.conversation_id, threaded.created) == (conv["id"], True)
    assert threaded.message.meta == {"subject": "Re: 订单"}
    again = await receive_customer_message(state, msg("a reply by mail", "mid-1", conv["id"], subject="Re: 订单"))
    assert (again.created, again.message.id) == (False, threaded.message.id)

    foreign = await receive_customer_message(state, msg("not their thread", "mid-2", other_conv["id"]))
    # not the other contact's thread: the usual rule, here continuity into the contact's open conversation
    assert foreign.conversation_id == conv["id"]
    got = (await api.http.get(f"/api/v1/conversations/{foreign.conversation_id}")).json()
    assert (got["inbox_id"], got["contact"]["id"]) == (conv["inbox_id"], visitor.contact_id)
    history = [(m["content"], m["meta"], m["inbox_id"]) for m in (await visitor.messages())["messages"]]
    assert history[-2:] == [
        ("a reply by mail", {"subject": "Re: 订单"}, mail["id"]),
        ("not their thread", {}, mail["id"]),
    ]
    assert other_visitor.contact_id != visitor.contact_id
