"""/login, /logout, / and the locale switch."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from kefu.auth import service
from kefu.auth.api import check_same_origin, client_ip, set_session_cookie
from kefu.auth.deps import SESSION_COOKIE, resolve_principal
from kefu.core.deps import SessionDep, StateDep
from kefu.core.errors import CsrfFailed, RateLimited, Unauthorized
from kefu.web.rendering import PagePrincipal, PageRoute, page, t

router = APIRouter(route_class=PageRoute, include_in_schema=False)


def safe_next(target: str | None) -> str:
    """Only local paths: never redirect a login to another site."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/app"
    return target


@router.get("/")
async def home(request: Request, session: SessionDep) -> Response:
    principal = await resolve_principal(request, session)
    return RedirectResponse("/app" if principal else "/login", status_code=303)


@router.get("/login")
async def login_form(request: Request, session: SessionDep, next: str | None = None) -> Response:
    if await resolve_principal(request, session) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return page(request, "login.html", {"next": safe_next(next), "email": "", "error": None})


@router.post("/login")
async def login(
    request: Request,
    session: SessionDep,
    state: StateDep,
    email: Annotated[str, Form(max_length=254)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form()] = "/app",
) -> Response:
    s = state.settings
    context = {"next": safe_next(next), "email": email}
    if not email.strip() or not password:
        return page(
            request, "login.html", {**context, "error": t(request, "Enter your email and password.")}, status_code=400
        )
    try:
        check_same_origin(request, s.base_url)
    except CsrfFailed:
        error = t(request, "Log in from this page: the form was sent from another site.")
        return page(request, "login.html", {**context, "error": error}, status_code=403)
    try:
        user = await service.check_login(
            session,
            state.limiter,
            email=email,
            password=password,
            client_ip=client_ip(request),
            limits=service.LoginLimits.from_settings(s),
        )
    except RateLimited as exc:
        error = t(request, "Too many login attempts. Try again in %(seconds)s seconds.", seconds=exc.retry_after)
        response = page(request, "login.html", {**context, "error": error}, status_code=429)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    except Unauthorized as exc:
        error = (
            t(request, "This user is deactivated.")
            if "deactivated" in exc.message
            else t(request, "Wrong email or password.")
        )
        return page(request, "login.html", {**context, "error": error}, status_code=401)
    token, _ = await service.do_start_session(session, user, s.session_max_age_s)
    redirect = RedirectResponse(safe_next(next), status_code=303)
    set_session_cookie(redirect, token, s.session_max_age_s, s.secure_cookies)
    return redirect


@router.post("/logout")
async def logout(request: Request, session: SessionDep, principal: PagePrincipal) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        await service.do_end_session(session, token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response
