"""Knowledge UI: /admin/knowledge (list, filter, edit with variants, publish, history, import), the public
help centre /help/{inbox_public_key}, and the workspace's knowledge-search fragment /app/knowledge/search.

Thin like every UI route: parse the form, call kefu.knowledge.service, render. Forms post with the
session's CSRF token and redirect after success; a rejected form is shown again with the reason."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from kefu.auth.deps import CanHandle, CanManageKnowledge
from kefu.auth.principal import Principal
from kefu.core.deps import SessionDep, StateDep
from kefu.core.errors import BadRequest, KefuError
from kefu.core.pagination import Cursor
from kefu.knowledge import service, suggestions
from kefu.knowledge.display import shown_as
from kefu.knowledge.import_text import import_problem
from kefu.knowledge.importing import parse_import
from kefu.knowledge.schemas import (
    ArticleCreate,
    ArticleUpdate,
    EntryKind,
    EntryStatus,
    FaqCreate,
    FaqUpdate,
)
from kefu.web.rendering import PageRoute, page, request_locale, t

router = APIRouter(route_class=PageRoute, include_in_schema=False)

KINDS = {"faqs": EntryKind.FAQ, "articles": EntryKind.ARTICLE}
KindP = Annotated[str, Path(pattern="^(faqs|articles)$")]
EntryIdP = Annotated[int, Path(ge=1, le=2**63 - 1)]
PAGE_SIZE = 50
HELP_LANG = {"zh_CN": "zh", "zh_TW": "zh", "en": "en"}


def _redirect(url: str) -> Response:
    return RedirectResponse(url, status_code=303)


def _problem(request: Request, exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        parts = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
        return t(request, "Please correct the form: %(details)s", details="; ".join(parts))
    assert isinstance(exc, KefuError)
    return exc.message


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _tags(text: str) -> list[str]:
    return [tag.strip() for tag in text.replace("，", ",").split(",") if tag.strip()]


# ---- list, filter, import ------------------------------------------------------------------------------


async def _list_context(
    request: Request, session: SessionDep, principal: Principal, kind: EntryKind, params: dict[str, str]
) -> dict[str, Any]:
    status = params.get("status") or None
    filters = service.EntryFilters(
        status=EntryStatus(status) if status in ("draft", "published") else None,
        category=params.get("category") or None,
        language=params.get("language") or None,
        q=params.get("q") or None,
    )
    rows, nxt = await service.list_entries(
        session, principal.account_id, kind, filters, Cursor.decode(params.get("cursor")), PAGE_SIZE
    )
    return {
        "section": "knowledge",
        "kind": "faqs" if kind == EntryKind.FAQ else "articles",
        "entries": rows,
        "next_cursor": nxt.encode() if nxt else None,
        "filters": params,
        "categories": await service.list_categories(session, principal.account_id),
        "error": None,
        "error_details": [],
        "imported": params.get("imported"),
    }


@router.get("/admin/knowledge")
async def knowledge_list(
    request: Request,
    session: SessionDep,
    principal: CanManageKnowledge,
    kind: Annotated[str, Query(pattern="^(faqs|articles)$")] = "faqs",
    status: Annotated[str, Query(pattern="^(draft|published)?$")] = "",
    category: Annotated[str, Query(max_length=100)] = "",
    language: Annotated[str, Query(max_length=16)] = "",
    q: Annotated[str, Query(max_length=200)] = "",
    cursor: str = "",
    imported: str = "",
) -> Response:
    params = {
        "status": status,
        "category": category,
        "language": language,
        "q": q,
        "cursor": cursor,
        "imported": imported,
    }
    context = await _list_context(request, session, principal, KINDS[kind], params)
    return page(request, "knowledge/list.html", context)


@router.post("/admin/knowledge/import")
async def knowledge_import(
    request: Request,
    session: SessionDep,
    principal: CanManageKnowledge,
    file: UploadFile,
    publish: Annotated[bool, Form()] = False,
) -> Response:
    try:
        name = (file.filename or "").lower()
        rows = parse_import(await file.read(), "json" if name.endswith(".json") else "csv")
        status = EntryStatus.PUBLISHED if publish else EntryStatus.DRAFT
        entries = await service.check_import_faqs(
            session, principal.account_id, rows, principal.actor, default_status=status
        )
    except KefuError as exc:  # raised before anything is written
        context = await _list_context(request, session, principal, EntryKind.FAQ, {})
        headline, bad_rows = import_problem(request_locale(request), exc)
        context.update(error=headline, error_details=bad_rows[:20])
        return page(request, "knowledge/list.html", context, status_code=exc.status_code)
    finally:
        await file.close()
    return _redirect(f"/admin/knowledge?imported={len(entries)}")


# ---- suggestions: unanswered questions → new FAQ entries --------------------------------------------------


@router.get("/admin/knowledge/suggestions")
async def suggestions_page(
    request: Request,
    session: SessionDep,
    state: StateDep,
    principal: CanManageKnowledge,
    days: Annotated[int, Query(ge=1, le=365)] = 30,
    min_count: Annotated[int, Query(ge=1, le=100)] = 2,
) -> Response:
    found = await suggestions.list_suggestions(session, state, principal.account_id, days=days, min_count=min_count)
    context = {
        "section": "knowledge",
        "kind": "suggestions",
        "suggestions": found,
        "days": days,
        "min_count": min_count,
    }
    return page(request, "knowledge/suggestions.html", context)


@router.post("/admin/knowledge/suggestions/dismiss")
async def dismiss_suggestion(
    message_ids: Annotated[str, Form(max_length=10_000)], session: SessionDep, principal: CanManageKnowledge
) -> Response:
    try:
        ids = [int(x) for x in message_ids.split(",") if x.strip()]
    except ValueError:
        raise BadRequest("message_ids must be comma-separated message ids") from None
    if not ids:
        raise BadRequest("message_ids must name at least one message")
    await suggestions.do_dismiss(session, principal.account_id, ids, principal.actor)
    return _redirect("/admin/knowledge/suggestions")


# ---- create / edit / publish / delete --------------------------------------------------------------------


def _empty_form(kind: EntryKind) -> dict[str, Any]:
    return {"language": "zh", "body_format": "markdown"} if kind == EntryKind.ARTICLE else {"language": "zh"}


async def _edit_context(
    session: SessionDep, principal: Principal, kind: EntryKind, entry_id: int | None, form: dict[str, Any]
) -> dict[str, Any]:
    entry = await service.get_entry(session, principal.account_id, kind, entry_id) if entry_id else None
    history = await service.get_history(session, principal.account_id, kind, entry_id) if entry_id else []
    return {
        "section": "knowledge",
        "kind": "faqs" if kind == EntryKind.FAQ else "articles",
        "entry": entry,
        "history": history,
        "form": form,
        "error": None,
    }


def _form_of(entry: Any) -> dict[str, Any]:
    form = {k: getattr(entry, k) for k in ("category", "language", "version")}
    form["tags"] = ", ".join(entry.tags)
    if hasattr(entry, "question"):
        form.update(question=entry.question, answer=entry.answer, variants="\n".join(entry.variants))
    else:
        form.update(title=entry.title, body=entry.body, body_format=entry.body_format)
    return form


@router.get("/admin/knowledge/{kind}/new")
async def new_entry(
    request: Request,
    kind: KindP,
    session: SessionDep,
    principal: CanManageKnowledge,
    question: Annotated[str, Query(max_length=500)] = "",
    variants: Annotated[str, Query(max_length=5000)] = "",
    answer: Annotated[str, Query(max_length=10_000)] = "",
) -> Response:
    """The new-entry form; an FAQ form can come prefilled (from a suggestion)."""
    form = _empty_form(KINDS[kind])
    if KINDS[kind] == EntryKind.FAQ:
        form.update({k: v for k, v in (("question", question), ("variants", variants), ("answer", answer)) if v})
    context = await _edit_context(session, principal, KINDS[kind], None, form)
    return page(request, "knowledge/edit.html", context)


@router.get("/admin/knowledge/{kind}/{entry_id}")
async def edit_entry(
    request: Request, kind: KindP, entry_id: EntryIdP, session: SessionDep, principal: CanManageKnowledge
) -> Response:
    entry = await service.get_entry(session, principal.account_id, KINDS[kind], entry_id)
    context = await _edit_context(session, principal, KINDS[kind], entry_id, _form_of(entry))
    return page(request, "knowledge/edit.html", context)


@router.post("/admin/knowledge/{kind}")
async def create_entry(request: Request, kind: KindP, session: SessionDep, principal: CanManageKnowledge) -> Response:
    return await _save(request, KINDS[kind], None, session, principal)


@router.post("/admin/knowledge/{kind}/{entry_id}")
async def update_entry(
    request: Request, kind: KindP, entry_id: EntryIdP, session: SessionDep, principal: CanManageKnowledge
) -> Response:
    return await _save(request, KINDS[kind], entry_id, session, principal)


async def _save(
    request: Request, kind: EntryKind, entry_id: int | None, session: SessionDep, principal: Principal
) -> Response:
    raw = await request.form()
    form = {k: v for k, v in raw.items() if k != "csrf_token" and isinstance(v, str)}
    fields: dict[str, Any] = {
        "category": form.get("category", ""),
        "tags": _tags(form.get("tags", "")),
        "language": form.get("language", "zh"),
    }
    if kind == EntryKind.FAQ:
        fields.update(
            question=form.get("question", ""), answer=form.get("answer", ""), variants=_lines(form.get("variants", ""))
        )
    else:
        fields.update(
            title=form.get("title", ""), body=form.get("body", ""), body_format=form.get("body_format", "markdown")
        )
    try:
        if entry_id is None:
            status = EntryStatus.PUBLISHED if form.get("publish") else EntryStatus.DRAFT
            if kind == EntryKind.FAQ:
                entry: Any = await service.check_create_faq(
                    session, principal.account_id, FaqCreate(**fields, status=status), principal.actor
                )
            else:
                entry = await service.check_create_article(
                    session, principal.account_id, ArticleCreate(**fields, status=status), principal.actor
                )
        else:
            expected = int(form["version"]) if form.get("version", "").isdigit() else None
            if kind == EntryKind.FAQ:
                entry = await service.check_update_faq(
                    session,
                    principal.account_id,
                    entry_id,
                    FaqUpdate(**fields, expected_version=expected),
                    principal.actor,
                )
            else:
                entry = await service.check_update_article(
                    session,
                    principal.account_id,
                    entry_id,
                    ArticleUpdate(**fields, expected_version=expected),
                    principal.actor,
                )
    except (ValidationError, KefuError) as exc:  # raised before anything is written
        status_code = 422 if isinstance(exc, ValidationError) else getattr(exc, "status_code", 400)
        context = await _edit_context(session, principal, kind, entry_id, form)
        context["error"] = _problem(request, exc)
        return page(request, "knowledge/edit.html", context, status_code=status_code)
    return _redirect(f"/admin/knowledge/{'faqs' if kind == EntryKind.FAQ else 'articles'}/{entry.id}")


@router.post("/admin/knowledge/{kind}/{entry_id}/{action}")
async def entry_action(
    request: Request,
    kind: KindP,
    entry_id: EntryIdP,
    action: Annotated[str, Path(pattern="^(publish|unpublish|delete)$")],
    session: SessionDep,
    principal: CanManageKnowledge,
) -> Response:
    if action == "delete":
        await service.do_delete_entry(session, principal.account_id, KINDS[kind], entry_id, principal.actor)
        return _redirect(f"/admin/knowledge?kind={kind}")
    status = EntryStatus.PUBLISHED if action == "publish" else EntryStatus.DRAFT
    await service.do_set_status(session, principal.account_id, KINDS[kind], entry_id, status, principal.actor)
    back = request.headers.get("referer", "")
    same_site = back.startswith(str(request.base_url)) and "/admin/knowledge" in back
    return _redirect(back if same_site else f"/admin/knowledge/{kind}/{entry_id}")


@router.post("/admin/knowledge/{kind}/{entry_id}/restore/{version}")
async def restore_version(
    kind: KindP,
    entry_id: EntryIdP,
    version: Annotated[int, Path(ge=1, le=2**31 - 1)],
    session: SessionDep,
    principal: CanManageKnowledge,
) -> Response:
    await service.check_restore_version(session, principal.account_id, KINDS[kind], entry_id, version, principal.actor)
    return _redirect(f"/admin/knowledge/{kind}/{entry_id}")


# ---- workspace fragment and public help centre -------------------------------------------------------------


@router.get("/app/knowledge/search")
async def workspace_search(
    request: Request,
    state: StateDep,
    principal: CanHandle,
    q: Annotated[str, Query(max_length=500)] = "",
) -> Response:
    hits = await service.search(state, principal.account_id, q, 5) if q.strip() else []
    return page(request, "knowledge/_results.html", {"hits": hits, "q": q})


@router.get("/help/{inbox_public_key}")
async def help_centre(
    request: Request,
    inbox_public_key: Annotated[str, Path(max_length=40)],
    session: SessionDep,
    state: StateDep,
    q: Annotated[str, Query(max_length=500)] = "",
) -> Response:
    account_id = await service.get_help_account_id(session, inbox_public_key)
    locale = request_locale(request)
    language, show = HELP_LANG.get(locale), shown_as(locale)
    hits = []
    if q.strip():
        client = request.client.host if request.client else "?"
        found = await service.search_help(session, state, inbox_public_key, q, 5, None, client=client)
        hits = [{"title": show(h.title, h.language), "answer": show(h.answer, h.language)} for h in found]
    filters = service.EntryFilters(status=EntryStatus.PUBLISHED, language=None)
    faqs, _ = await service.list_entries(session, account_id, EntryKind.FAQ, filters, None, 100)
    preferred = [f for f in faqs if (f.language.split("-")[0] == language)] or faqs
    groups: dict[str, list[dict[str, str]]] = {}
    for faq in preferred:
        shown = {"question": show(faq.question, faq.language), "answer": show(faq.answer, faq.language)}
        groups.setdefault(show(faq.category, faq.language), []).append(shown)
    context = {"key": inbox_public_key, "q": q, "hits": hits, "groups": groups}
    return page(request, "knowledge/help.html", context)
