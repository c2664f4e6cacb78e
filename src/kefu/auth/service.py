"""Users, logins, sessions and API tokens. The only place that writes them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.auth.access import get_scoped, restrict
from kefu.auth.models import ApiToken, User, UserSession
from kefu.auth.passwords import check_password, make_password_hash
from kefu.auth.principal import Principal
from kefu.auth.schemas import UserCreate, UserRead, UserUpdate
from kefu.auth.tokens import API_TOKEN_PREFIX, new_token, token_hash
from kefu.core import clock
from kefu.core.constants import ActorType, EventType
from kefu.core.errors import Conflict, RateLimited, Unauthorized
from kefu.core.events import Actor, commit, emit, rollback
from kefu.core.ratelimit import RateLimiter, Window


@dataclass(frozen=True)
class LoginLimits:
    """How many login attempts may fail in `window_s`: per (account email, client address) — the main
    guard, so one attacker locks out neither the owner elsewhere nor the rest of an office — and per client
    address over every account (high enough for an office behind one address). Past a limit every further
    attempt doubles the wait, up to `max_lock_s`."""

    per_account_ip: int = 5
    per_ip: int = 100
    window_s: int = 300
    max_lock_s: int = 3600

    @classmethod
    def from_settings(cls, settings: Any) -> LoginLimits:
        return cls(
            settings.login_max_attempts,
            settings.login_ip_max_attempts,
            settings.login_window_s,
            settings.login_max_lock_s,
        )

    def back_off(self, window: Window, limit: int) -> int:
        """Seconds to wait after `window` went over `limit`: the window, doubled for each attempt past it."""
        excess = window.count - limit
        return max(window.reset_s, min(self.window_s * 2 ** min(excess - 1, 20), self.max_lock_s))


async def check_login(
    session: AsyncSession, limiter: RateLimiter, *, email: str, password: str, client_ip: str, limits: LoginLimits
) -> User:
    """Verify credentials. Every attempt is counted *before* the password is checked (atomically, so a
    burst of parallel attempts cannot slip past the limit), per (email, client address) and per client
    address; over either limit the attempt — even with the right password — gets RateLimited. A right
    password gives its attempt back."""
    email = email.strip().lower()
    pair, ip = f"login:pair:{email}:{client_ip}", f"login:ip:{client_ip}"
    for key, limit in ((pair, limits.per_account_ip), (ip, limits.per_ip)):
        window = await limiter.hit(key, limits.window_s)
        if window.over(limit):
            retry = limits.back_off(window, limit)
            await limiter.lock(key, retry)
            raise RateLimited(f"too many failed logins; try again in {retry} s", retry_after=retry)
    user = (await session.execute(select(User).where(func.lower(User.email) == email))).scalar_one_or_none()
    await session.commit()  # end the read: the connection is not held while the hash is computed
    if not await check_password(user.password_hash if user else None, password) or user is None:
        raise Unauthorized("wrong email or password")
    await limiter.reset(pair)
    await limiter.undo(ip)
    if not user.is_active:
        raise Unauthorized("this user is deactivated")
    return user


async def do_start_session(session: AsyncSession, user: User, max_age_s: int) -> tuple[str, UserSession]:
    token = new_token()
    row = UserSession(
        token_hash=token_hash(token),
        user_id=user.id,
        account_id=user.account_id,
        csrf_token=new_token(),
        expires_at=clock.now() + timedelta(seconds=max_age_s),
    )
    session.add(row)
    emit(session, user.account_id, EventType.USER_LOGGED_IN, {"user_id": user.id}, actor=Actor(ActorType.USER, user.id))
    await commit(session)
    return token, row


async def do_end_session(session: AsyncSession, token: str) -> None:
    row = await session.execute(select(UserSession).where(UserSession.token_hash == token_hash(token)))
    found = row.scalar_one_or_none()
    if found is not None:
        await session.delete(found)
        await commit(session)


async def get_principal_by_session(session: AsyncSession, token: str, idle_s: int) -> Principal | None:
    """The session's user, unless the session ended: past its absolute end (`expires_at`), idle for more
    than `idle_s` (the last request is remembered to the minute), or the user is deactivated."""
    q = (
        select(UserSession, User)
        .join(User, User.id == UserSession.user_id)
        .where(UserSession.token_hash == token_hash(token))
    )
    found = (await session.execute(q)).first()
    if found is None:
        return None
    sess, user = found
    now = clock.now()
    idle = now - (sess.last_seen_at or sess.created_at)
    if sess.expires_at <= now or idle > timedelta(seconds=idle_s) or not user.is_active:
        return None
    if sess.last_seen_at is None or idle > timedelta(minutes=1):
        sess.last_seen_at = now
        await session.commit()
    return Principal(user=user, via="session", csrf_token=sess.csrf_token, session_id=sess.id)


async def get_principal_by_api_token(session: AsyncSession, token: str) -> Principal:
    q = select(ApiToken, User).join(User, User.id == ApiToken.user_id).where(ApiToken.token_hash == token_hash(token))
    found = (await session.execute(q)).first()
    if found is None or found[0].revoked_at is not None or not found[1].is_active:
        raise Unauthorized("invalid or revoked API token")
    tok, user = found
    now = clock.now()
    if tok.last_used_at is None or now - tok.last_used_at > timedelta(minutes=1):
        tok.last_used_at = now
        await session.commit()
    return Principal(user=user, via="token")


async def list_users(session: AsyncSession, account_id: int) -> list[User]:
    q = restrict(select(User), User, account_id).order_by(User.id)
    return list((await session.execute(q)).scalars())


async def get_user(session: AsyncSession, account_id: int, user_id: int) -> User:
    return await get_scoped(session, User, user_id, account_id, "user")


async def check_create_user(session: AsyncSession, account_id: int, data: UserCreate, actor: Actor) -> User:
    email = str(data.email).lower()
    taken = await session.execute(select(User.id).where(func.lower(User.email) == email))
    if taken.first() is not None:
        raise Conflict(f"a user with email {email} already exists")
    user = User(
        account_id=account_id,
        email=email,
        name=data.name,
        password_hash=await make_password_hash(data.password),
        role=str(data.role),
        locale=data.locale,
        is_active=True,
    )
    try:
        session.add(user)
        await session.flush()
        emit(session, account_id, EventType.USER_CREATED, _user_payload(user), actor=actor)
        await commit(session)
    except IntegrityError as exc:  # the same email, created by a concurrent request since the check
        await rollback(session)
        raise Conflict(f"a user with email {email} already exists") from exc
    return user


async def do_update_user(
    session: AsyncSession, user: User, data: UserUpdate, actor: Actor, *, keep_session: int | None = None
) -> User:
    """Apply the changes. A new password ends every login session of the user (except `keep_session`,
    the one the user changed it from); deactivation ends them all and revokes the user's API tokens —
    reactivating brings neither back."""
    changes = data.model_dump(exclude_unset=True)
    new_password = "password" in changes
    deactivated = changes.get("is_active") is False and user.is_active
    if new_password:
        user.password_hash = await make_password_hash(changes.pop("password"))
    for field, value in changes.items():
        if value is None and field != "locale":
            continue
        setattr(user, field, str(value) if field == "role" else value)
    if new_password or deactivated:
        ended = delete(UserSession).where(UserSession.user_id == user.id)
        if keep_session is not None and not deactivated:
            ended = ended.where(UserSession.id != keep_session)
        await session.execute(ended)
    if deactivated:
        await _revoke_tokens_of(session, user, actor)
    emit(session, user.account_id, EventType.USER_UPDATED, _user_payload(user), actor=actor)
    await commit(session)
    return user


async def _revoke_tokens_of(session: AsyncSession, user: User, actor: Actor) -> None:
    revoked = await session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=clock.now())
        .returning(ApiToken.id)
    )
    for token_id in sorted(revoked.scalars()):
        emit(session, user.account_id, EventType.API_TOKEN_REVOKED, {"id": token_id}, actor=actor)


def _user_payload(user: User) -> dict[str, object]:
    return UserRead.model_validate(user).model_dump(mode="json")


async def do_create_api_token(session: AsyncSession, principal: Principal, name: str) -> tuple[ApiToken, str]:
    token = new_token(API_TOKEN_PREFIX)
    row = ApiToken(
        account_id=principal.account_id,
        user_id=principal.user.id,
        name=name,
        prefix=token[: len(API_TOKEN_PREFIX) + 6],
        token_hash=token_hash(token),
    )
    session.add(row)
    await session.flush()
    emit(
        session, principal.account_id, EventType.API_TOKEN_CREATED, {"id": row.id, "name": name}, actor=principal.actor
    )
    await commit(session)
    return row, token


async def list_api_tokens(session: AsyncSession, account_id: int) -> list[ApiToken]:
    q = restrict(select(ApiToken), ApiToken, account_id).order_by(ApiToken.id)
    return list((await session.execute(q)).scalars())


async def do_revoke_api_token(session: AsyncSession, principal: Principal, token_id: int) -> ApiToken:
    """Revoke once: of concurrent revocations one sets revoked_at (and emits the event); all answer it."""
    row = await get_scoped(session, ApiToken, token_id, principal.account_id, "API token")
    if row.revoked_at is None:
        done = await session.execute(
            update(ApiToken)
            .where(ApiToken.id == row.id, ApiToken.revoked_at.is_(None))
            .values(revoked_at=clock.now())
            .returning(ApiToken.id)
        )
        if done.scalar_one_or_none() is not None:
            emit(session, principal.account_id, EventType.API_TOKEN_REVOKED, {"id": row.id}, actor=principal.actor)
        await commit(session)
        await session.refresh(row)
    return row
