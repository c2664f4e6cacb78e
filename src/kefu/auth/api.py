"""/api/v1/auth, /api/v1/me, /api/v1/users, /api/v1/api_tokens."""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import APIRouter, Request, Response

from kefu.auth import service
from kefu.auth.deps import SESSION_COOKIE, CanManageTokens, CanManageUsers, CanViewTeam, PrincipalDep
from kefu.auth.schemas import (
    ApiTokenCreate,
    ApiTokenCreated,
    ApiTokenRead,
    LoginIn,
    MeRead,
    UserCreate,
    UserRead,
    UserUpdate,
)
from kefu.core.deps import SessionDep, StateDep
from kefu.core.errors import CsrfFailed
from kefu.core.openapi import errors
from kefu.core.schemas import Id

router = APIRouter(prefix="/api/v1", tags=["auth"])


def client_ip(request: Request) -> str:
    """The client's address (from X-Forwarded-For only behind a trusted proxy: core/guards.py)."""
    return request.client.host if request.client else "unknown"


def check_same_origin(request: Request, base_url: str) -> None:
    """Login CSRF: a browser posting a login form from another site sends that site as Origin (or at
    least Referer). A login is accepted from kefu's own pages, or from clients that send neither header
    (scripts, curl)."""
    sent = request.headers.get("origin") or request.headers.get("referer")
    if sent is None:
        return
    parts = urlsplit(sent)
    ours = {urlsplit(base_url).netloc.lower(), (request.headers.get("host") or "").lower()}
    if sent == "null" or parts.scheme not in ("http", "https") or parts.netloc.lower() not in ours:
        raise CsrfFailed("log in from kefu's own login page (this request came from another site)")


@router.post("/auth/login", response_model=MeRead, responses=errors(401, 403, 429))
async def login(data: LoginIn, request: Request, response: Response, session: SessionDep, state: StateDep) -> MeRead:
    s = state.settings
    check_same_origin(request, s.base_url)
    user = await service.check_login(
        session,
        state.limiter,
        email=data.email,
        password=data.password,
        client_ip=client_ip(request),
        limits=service.LoginLimits.from_settings(s),
    )
    token, row = await service.do_start_session(session, user, s.session_max_age_s)
    set_session_cookie(response, token, s.session_max_age_s, s.secure_cookies)
    return MeRead.model_validate(user).model_copy(update={"csrf_token": row.csrf_token})


def set_session_cookie(response: Response, token: str, max_age: int, secure: bool) -> None:
    response.set_cookie(SESSION_COOKIE, token, max_age=max_age, httponly=True, samesite="lax", secure=secure)


@router.post("/auth/logout", status_code=204)
async def logout(request: Request, response: Response, session: SessionDep, principal: PrincipalDep) -> None:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        await service.do_end_session(session, token)
    response.delete_cookie(SESSION_COOKIE)


@router.get("/me", response_model=MeRead)
async def me(principal: PrincipalDep) -> MeRead:
    return MeRead.model_validate(principal.user).model_copy(update={"csrf_token": principal.csrf_token})


@router.get("/users", response_model=list[UserRead])
async def list_users(session: SessionDep, principal: CanViewTeam) -> list[UserRead]:
    return [UserRead.model_validate(u) for u in await service.list_users(session, principal.account_id)]


@router.post("/users", response_model=UserRead, status_code=201)
async def create_user(data: UserCreate, session: SessionDep, principal: CanManageUsers) -> UserRead:
    return UserRead.model_validate(
        await service.check_create_user(session, principal.account_id, data, principal.actor)
    )


@router.get("/users/{user_id}", response_model=UserRead)
async def get_user(user_id: Id, session: SessionDep, principal: CanViewTeam) -> UserRead:
    return UserRead.model_validate(await service.get_user(session, principal.account_id, user_id))


@router.patch("/users/{user_id}", response_model=UserRead)
async def update_user(user_id: Id, data: UserUpdate, session: SessionDep, principal: CanManageUsers) -> UserRead:
    user = await service.get_user(session, principal.account_id, user_id)
    keep = principal.session_id if user.id == principal.user.id else None  # changing one's own password
    return UserRead.model_validate(
        await service.do_update_user(session, user, data, principal.actor, keep_session=keep)
    )


@router.get("/api_tokens", response_model=list[ApiTokenRead])
async def list_tokens(session: SessionDep, principal: CanManageTokens) -> list[ApiTokenRead]:
    return [ApiTokenRead.model_validate(t) for t in await service.list_api_tokens(session, principal.account_id)]


@router.post("/api_tokens", response_model=ApiTokenCreated, status_code=201)
async def create_token(data: ApiTokenCreate, session: SessionDep, principal: CanManageTokens) -> ApiTokenCreated:
    row, token = await service.do_create_api_token(session, principal, data.name)
    return ApiTokenCreated(**ApiTokenRead.model_validate(row).model_dump(), token=token)


@router.delete("/api_tokens/{token_id}", response_model=ApiTokenRead)
async def revoke_token(token_id: Id, session: SessionDep, principal: CanManageTokens) -> ApiTokenRead:
    return ApiTokenRead.model_validate(await service.do_revoke_api_token(session, principal, token_id))
