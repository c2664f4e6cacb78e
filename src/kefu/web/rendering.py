"""How UI routes answer: HTML pages in the negotiated locale, and errors as HTML (never JSON).

`PageRoute` wraps every UI handler: a domain error becomes an error page (or, for an HTMX request, a
small fragment the client shows as a toast); a missing login becomes a redirect to /login."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute

from kefu.auth.deps import get_principal
from kefu.auth.permissions import Perm, has_perm
from kefu.auth.principal import Principal
from kefu.core.errors import KefuError, RateLimited, Unauthorized
from kefu.web.i18n import LOCALE_COOKIE, LOCALES, negotiate
from kefu.web.templating import render, translate

LOCALE_MAX_AGE = 365 * 24 * 3600


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def request_locale(request: Request) -> str:
    forced = getattr(request.state, "locale", None)
    if forced in LOCALES:
        return str(forced)
    principal: Principal | None = getattr(request.state, "principal", None)
    return negotiate(
        query=request.query_params.get("lang"),
        cookie=request.cookies.get(LOCALE_COOKIE),
        user_locale=principal.user.locale if principal else None,
        accept_language=request.headers.get("accept-language"),
    )


def lang_url(request: Request, locale: str) -> str:
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    params.append(("lang", locale))
    return f"{request.url.path}?{urlencode(params)}"


def remember_locale(request: Request, response: Response) -> None:
    lang = request.query_params.get("lang")
    if lang in LOCALES:
        response.set_cookie(LOCALE_COOKIE, lang, max_age=LOCALE_MAX_AGE, samesite="lax", httponly=False)


def page(
    request: Request, template: str, context: dict[str, Any] | None = None, *, status_code: int = 200
) -> HTMLResponse:
    """Render `template` for this request: its locale, the logged-in principal, the CSRF token."""
    locale = request_locale(request)
    principal: Principal | None = getattr(request.state, "principal", None)
    ctx: dict[str, Any] = {
        "request": request,
        "principal": principal,
        "me": principal.user if principal else None,
        "csrf_token": (principal.csrf_token or "") if principal else "",
        "lang_url": lambda loc: lang_url(request, loc),
        "path": request.url.path,
        "can": lambda perm: principal is not None and has_perm(principal.user.role, Perm(perm)),
    }
    ctx.update(context or {})
    response = HTMLResponse(render(template, locale, ctx), status_code=status_code)
    remember_locale(request, response)
    return response


def t(request: Request, message: str, **variables: Any) -> str:
    """Translate a message in a route handler (for flash-style messages)."""
    return translate(request_locale(request), message, **variables)


async def page_principal(request: Request, principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
    request.state.principal = principal
    return principal


PagePrincipal = Annotated[Principal, Depends(page_principal)]


def login_redirect(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    url = "/login?next=" + quote(target if request.method == "GET" else "/app", safe="")
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def error_page(request: Request, status_code: int, message: str) -> Response:
    if is_htmx(request):
        return HTMLResponse(render("_error_fragment.html", request_locale(request), {"message": message}), status_code)
    titles = {
        403: t(request, "You do not have permission to see this page"),
        404: t(request, "Not found"),
        429: t(request, "Too many requests"),
    }
    title = titles.get(status_code) or t(request, "The request could not be completed")
    context = {"status": status_code, "title": title, "message": message}
    response = page(request, "error.html", context, status_code=status_code)
    if status_code == 403:
        response.headers["X-Kefu-Error"] = "forbidden"
    return response


def _validation_message(request: Request, exc: RequestValidationError) -> str:
    fields = [".".join(str(p) for p in e.get("loc", ()) if p != "body") for e in exc.errors()]
    return t(request, "Please check these fields: %(fields)s", fields=", ".join(fields))


class PageRoute(APIRoute):
    """An APIRoute whose errors are rendered as HTML for people instead of JSON for programs."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def run(request: Request) -> Response:
            try:
                return await handler(request)
            except Unauthorized:
                return login_redirect(request)
            except RateLimited as exc:
                response = error_page(request, 429, t(request, "Too many attempts. Please try again later."))
                response.headers["Retry-After"] = str(exc.retry_after)
                return response
            except KefuError as exc:
                return error_page(request, exc.status_code, exc.message)
            except RequestValidationError as exc:
                return error_page(request, 422, _validation_message(request, exc))

        return run
