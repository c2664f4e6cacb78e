"""Admin → Webhooks: /admin/webhooks (the list and a form for a new one), /admin/webhooks/{id} (edit,
delete, the delivery log with a replay button per delivery). Thin: parse the form, call
kefu.webhooks.service, render; a refused form is shown again with the reason and nothing is saved.
The signing secret is shown once, on the page that answers the form that created the webhook."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.auth.deps import CanManageWebhooks
from kefu.auth.principal import Principal
from kefu.core.deps import SessionDep, StateDep
from kefu.core.errors import KefuError
from kefu.web.rendering import PageRoute, page, t
from kefu.webhooks import service
from kefu.webhooks.api import delivery_read
from kefu.webhooks.schemas import SECRET_MASK, SUBSCRIBABLE, WebhookCreate, WebhookUpdate
from kefu.webhooks.sending import attempt

router = APIRouter(route_class=PageRoute, include_in_schema=False)
IdP = Annotated[int, Path(ge=1, le=2**63 - 1)]
DELIVERIES_SHOWN = 50


def _redirect(url: str) -> Response:
    return RedirectResponse(url, status_code=303)


def _problem(request: Request, exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        parts = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
        return t(request, "Please correct the form: %(details)s", details="; ".join(parts))
    assert isinstance(exc, KefuError)
    return exc.message


async def _form(request: Request) -> dict[str, Any]:
    form = await request.form()
    body: dict[str, Any] = {"url": str(form.get("url") or ""), "events": [str(e) for e in form.getlist("events")]}
    body["active"] = form.get("active") == "on"
    secret = str(form.get("secret") or "").strip()
    if secret:
        body["secret"] = secret
    return body


async def _list_context(session: AsyncSession, principal: Principal, **extra: Any) -> dict[str, Any]:
    hooks = await service.list_webhooks(session, principal.account_id)
    form = {"url": "", "events": [], "active": True}
    context = {"section": "webhooks", "webhooks": hooks, "subscribable": SUBSCRIBABLE, "form": form}
    return {**context, "error": None, "created": None, "created_secret": None, **extra}


@router.get("/admin/webhooks")
async def webhooks(request: Request, session: SessionDep, principal: CanManageWebhooks) -> Response:
    return page(request, "admin/webhooks.html", await _list_context(session, principal))


@router.post("/admin/webhooks")
async def create_webhook(request: Request, session: SessionDep, principal: CanManageWebhooks) -> Response:
    body = await _form(request)
    try:
        data = WebhookCreate.model_validate(body)
        webhook, secret = await service.check_create_webhook(session, principal.account_id, data)
    except (ValidationError, KefuError) as exc:
        status = exc.status_code if isinstance(exc, KefuError) else 422
        context = await _list_context(session, principal, form=body, error=_problem(request, exc))
        return page(request, "admin/webhooks.html", context, status_code=status)
    context = await _list_context(session, principal, created=webhook.id, created_secret=secret)
    return page(request, "admin/webhooks.html", context, status_code=201)


async def _detail_context(session: AsyncSession, principal: Principal, webhook_id: int, **extra: Any) -> dict[str, Any]:
    webhook = await service.get_webhook(session, principal.account_id, webhook_id)
    rows, logs, _ = await service.list_deliveries(
        session, principal.account_id, webhook_id, cursor=None, limit=DELIVERIES_SHOWN
    )
    form = {"url": webhook.url, "events": list(webhook.events), "active": webhook.active}
    return {
        "section": "webhooks",
        "webhook": webhook,
        "deliveries": [delivery_read(d, logs.get(d.id, [])) for d in rows],
        "subscribable": SUBSCRIBABLE,
        "form": form,
        "mask": SECRET_MASK,
        "error": None,
        **extra,
    }


@router.get("/admin/webhooks/{webhook_id}")
async def webhook(request: Request, webhook_id: IdP, session: SessionDep, principal: CanManageWebhooks) -> Response:
    return page(request, "admin/webhook.html", await _detail_context(session, principal, webhook_id))


@router.post("/admin/webhooks/{webhook_id}")
async def update_webhook(
    request: Request, webhook_id: IdP, session: SessionDep, principal: CanManageWebhooks
) -> Response:
    await service.get_webhook(session, principal.account_id, webhook_id)
    body = await _form(request)
    try:
        data = WebhookUpdate.model_validate(body)
        await service.check_update_webhook(session, principal.account_id, webhook_id, data)
    except (ValidationError, KefuError) as exc:
        status = exc.status_code if isinstance(exc, KefuError) else 422
        context = await _detail_context(session, principal, webhook_id, form=body, error=_problem(request, exc))
        return page(request, "admin/webhook.html", context, status_code=status)
    return _redirect(f"/admin/webhooks/{webhook_id}?saved=1")


@router.post("/admin/webhooks/{webhook_id}/delete")
async def delete_webhook(webhook_id: IdP, session: SessionDep, principal: CanManageWebhooks) -> Response:
    await service.do_delete_webhook(session, principal.account_id, webhook_id)
    return _redirect("/admin/webhooks")


@router.post("/admin/webhooks/{webhook_id}/deliveries/{delivery_id}/replay")
async def replay(
    webhook_id: IdP, delivery_id: IdP, session: SessionDep, state: StateDep, principal: CanManageWebhooks
) -> Response:
    await service.get_delivery(session, principal.account_id, webhook_id, delivery_id)
    await session.close()  # no connection held while the receiver answers (objects stay loaded)
    await attempt(state.sessionmaker, state.settings, delivery_id, replay=True)
    return _redirect(f"/admin/webhooks/{webhook_id}?replayed={delivery_id}#delivery-{delivery_id}")
