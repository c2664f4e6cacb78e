"""`kefu seed-demo`: one demo account with an admin, a supervisor, two agents, a web-widget inbox,
teams and bilingual sample conversations. Idempotent: a second run changes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.accounts.schemas import TeamCreate
from kefu.accounts.service import check_create_team, do_create_account
from kefu.auth.models import User
from kefu.auth.schemas import UserCreate
from kefu.auth.service import check_create_user
from kefu.channels.schemas import InboxCreate
from kefu.channels.service import check_create_inbox
from kefu.contacts.schemas import ContactCreate
from kefu.contacts.service import do_create_contact
from kefu.conversations.schemas import ContactMessageCreate, MessageCreate
from kefu.conversations.service import check_post_agent_message, check_receive_contact_message, do_set_labels
from kefu.core.constants import ActorType, Role
from kefu.core.events import Actor

if TYPE_CHECKING:
    from kefu.channels.models import Inbox

DEMO_PASSWORD = "kefu-demo-2026"
USERS = [
    ("admin@demo.kefu", "管理员 Admin", Role.ADMIN, "zh_CN"),
    ("supervisor@demo.kefu", "主管 Supervisor", Role.SUPERVISOR, "zh_CN"),
    ("agent1@demo.kefu", "客服小王 Wang", Role.AGENT, "zh_CN"),
    ("agent2@demo.kefu", "Agent Alice", Role.AGENT, "en"),
]
CONVERSATIONS = [
    (
        "张伟",
        "zhang.wei@example.cn",
        ["你好，我的订单 KF20261125001 还没有发货，请帮忙查一下。"],
        "您好，已为您查询，订单今天下午发出。",
        ["物流"],
    ),
    ("陳小姐", "chen@example.tw", ["請問可以開發票嗎？"], None, ["發票"]),
    (
        "John Smith",
        "john@example.com",
        ["Hi, I was charged twice for my subscription. Can you refund one?"],
        "Sorry about that — I have started the refund for the duplicate charge.",
        ["billing"],
    ),
]


@dataclass
class DemoInfo:
    created: bool
    widget_key: str
    users: list[tuple[str, str, str]]


async def seed_demo(
    session: AsyncSession, *, max_chars: int = 10_000, base_url: str = "http://127.0.0.1:8000"
) -> DemoInfo:
    existing = (await session.execute(select(User).where(User.email == USERS[0][0]))).scalar_one_or_none()
    if existing is not None:
        from kefu.channels.models import Inbox

        q = select(Inbox).where(Inbox.account_id == existing.account_id).order_by(Inbox.id).limit(1)
        inbox = (await session.execute(q)).scalar_one()
        public_key, account_id = inbox.public_key, existing.account_id
        await _seed_ai(session, account_id, base_url)  # each part is idempotent
        return DemoInfo(False, public_key, [(e, DEMO_PASSWORD, r.value) for e, _, r, _ in USERS])
    account = await do_create_account(session, "演示公司 Demo Co.", "zh_CN")
    system = Actor(ActorType.SYSTEM)
    users = []
    for email, name, role, locale in USERS:
        users.append(
            await check_create_user(
                session,
                account.id,
                UserCreate(email=email, name=name, password=DEMO_PASSWORD, role=role, locale=locale),
                system,
            )
        )
    team_cn = await check_create_team(
        session,
        account.id,
        TeamCreate(name="售后 After-sales", description="退款、物流、发票", member_ids=[users[2].id]),
        system,
    )
    await check_create_team(
        session,
        account.id,
        TeamCreate(name="Global support", description="English-speaking customers", member_ids=[users[3].id]),
        system,
    )
    inbox = await check_create_inbox(
        session,
        account.id,
        InboxCreate(
            name="官网 Website",
            greeting="您好！有什么可以帮您？ Hi! How can we help?",
            bot_enabled=True,
            team_id=team_cn.id,
        ),
        system,
    )
    public_key, account_id = inbox.public_key, account.id
    await _sample_conversations(session, account_id, inbox, users, max_chars)
    await _seed_ai(session, account_id, base_url)
    return DemoInfo(True, public_key, [(e, DEMO_PASSWORD, r.value) for e, _, r, _ in USERS])


async def _seed_ai(session: AsyncSession, account_id: int, base_url: str) -> None:
    """The bilingual knowledge base, the demo intents and the order-status flow (trained now)."""
    from kefu.bot.demo import seed_bot
    from kefu.knowledge.demo import seed_knowledge

    await seed_knowledge(session, account_id)
    await seed_bot(session, account_id, base_url)


async def _sample_conversations(session: AsyncSession, account_id: int, inbox, users, max_chars: int) -> None:
    for i, (name, email, incoming, reply, labels) in enumerate(CONVERSATIONS):
        contact = await do_create_contact(
            session, account_id, ContactCreate(name=name, email=email), Actor(ActorType.SYSTEM)
        )
        conv = None
        for j, text in enumerate(incoming):
            conv, _ = await check_receive_contact_message(
                session,
                inbox,
                contact,
                ContactMessageCreate(content=text, client_message_id=f"demo-{i}-{j}"),
                max_chars=max_chars,
            )
        assert conv is not None
        if reply:
            agent = users[2] if i < 2 else users[3]
            await check_post_agent_message(
                session,
                account_id,
                conv.id,
                MessageCreate(content=reply),
                Actor(ActorType.USER, agent.id),
                max_chars=max_chars,
            )
        await do_set_labels(session, account_id, conv.id, labels, Actor(ActorType.SYSTEM))


async def find_demo_inbox(session: AsyncSession) -> Inbox | None:
    """The demo account's first web-widget inbox (for /demo without ?inbox=), or None before seeding."""
    from kefu.channels.models import Inbox
    from kefu.core.constants import ChannelType

    admin = (await session.execute(select(User).where(User.email == USERS[0][0]))).scalar_one_or_none()
    if admin is None:
        return None
    q = (
        select(Inbox)
        .where(Inbox.account_id == admin.account_id, Inbox.channel_type == str(ChannelType.WEB_WIDGET))
        .order_by(Inbox.id)
        .limit(1)
    )
    return (await session.execute(q)).scalar_one_or_none()
