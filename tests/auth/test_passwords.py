"""argon2 runs off the event loop: a burst of logins does not stop the server from answering others."""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from sqlalchemy import update

from kefu.auth import passwords
from kefu.auth.models import User
from kefu.core.constants import Role
from tests.support.factories import PASSWORD, World


async def test_the_loop_keeps_serving_while_sixteen_real_hashes_run(api: World) -> None:
    """16 logins whose hashes use argon2's real parameters (64 MiB, t=3), then a widget request: it is
    answered while hashes are still being computed, and before the logins are all done. With argon2 on
    the event loop nothing else runs during a hash, so the loop could never see one running."""
    users = [await api.user(Role.AGENT) for _ in range(16)]
    real = PasswordHasher().hash(PASSWORD)  # verification cost comes from the hash's own parameters
    async with api.server.state.sessionmaker() as session:
        await session.execute(update(User).where(User.id.in_([u.id for u in users])).values(password_hash=real))
        await session.commit()
    inbox = await api.inbox()
    widget = api.client()
    logins = [
        asyncio.create_task(
            api.client().post(
                "/api/v1/auth/login",
                json={"email": u.email, "password": "wrong"},
                headers={"X-Forwarded-For": f"10.99.{i}.1"},
            )
        )
        for i, u in enumerate(users)
    ]
    while passwords.running() == 0:  # the loop gets to run while a hash is being computed
        await asyncio.sleep(0.001)
    r = await widget.get(f"/api/v1/widget/{inbox['public_key']}/config")
    assert r.status_code == 200
    still_hashing = passwords.running()
    pending = sum(not t.done() for t in logins)
    codes = [r.status_code for r in await asyncio.gather(*logins)]
    assert codes == [401] * 16
    assert still_hashing >= 1
    assert pending >= 8, pending  # 16 hashes on at most SLOTS threads: most are still to come
    assert passwords.running() == 0


async def test_hashing_is_bounded_to_one_slot_per_cpu() -> None:
    seen = []

    async def one() -> None:
        await passwords.make_password_hash("x" * 12)
        seen.append(passwords.running())

    await asyncio.gather(*(one() for _ in range(3 * passwords.SLOTS)))
    assert max(seen) <= passwords.SLOTS
    assert await passwords.check_password(await passwords.make_password_hash("abc"), "abc") is True
    assert await passwords.check_password(None, "abc") is False
