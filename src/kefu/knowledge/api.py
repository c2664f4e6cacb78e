"""/api/v1/knowledge (agents read and search, admins and supervisors edit) and the public
/api/v1/help/{inbox_public_key} help-centre API (published entries only, no login)."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import UploadFile

from kefu.auth.deps import CanHandle, CanManageKnowledge
from kefu.auth.principal import Principal
from kefu.core.deps import SessionDep, StateDep
from kefu.core.errors import BadRequest
from kefu.core.openapi import errors
from kefu.core.pagination import MAX_LIMIT, Cursor, CursorParam
from kefu.core.schemas import Id, Version
from kefu.knowledge import service, suggestions
from kefu.knowledge.importing import parse_import
from kefu.knowledge.schemas import (
    ArticleCreate,
    ArticlePage,
    ArticleRead,
    ArticleUpdate,
    DismissIn,
    DismissResult,
    EntryKind,
    EntryStatus,
    FaqCreate,
    FaqPage,
    FaqRead,
    FaqUpdate,
    ImportResult,
    KnowledgeHitRead,
    PublicFaqPage,
    PublicFaqRead,
    SuggestionRead,
    VersionRead,
)
from kefu.knowledge.search import KnowledgeHit

router = APIRouter(prefix="/api/v1", tags=["knowledge"])

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
SearchText = Annotated[str, Query(min_length=1, max_length=500, description="what the customer asked")]
TopK = Annotated[int, Query(ge=1, le=20)]
Lang = Annotated[str | None, Query(max_length=16, pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8}){0,2}$")]


def _hits(hits: list[KnowledgeHit]) -> list[KnowledgeHitRead]:
    return [KnowledgeHitRead.model_validate(h) for h in hits]


# -- FAQ entries and articles: the same routes, built once per kind ----------------------------------


@dataclass(frozen=True)
class _EntryApi:
    """What differs between /knowledge/faqs and /knowledge/articles: names, schemas, two service calls."""

    kind: EntryKind
    one: str  # "faq" | "article": route names, the path parameter `{one}_id`
    many: str  # "faqs" | "articles": the path, the list route's name
    read: type[FaqRead] | type[ArticleRead]
    page: type[FaqPage] | type[ArticlePage]
    create_model: type[FaqCreate] | type[ArticleCreate]
    update_model: type[FaqUpdate] | type[ArticleUpdate]
    create: Callable[..., Awaitable[Any]]  # service.check_create_<kind>(session, account_id, data, actor)
    update: Callable[..., Awaitable[Any]]  # service.check_update_<kind>(session, account_id, id, data, actor)
    restore_doc: str


def _param(name: str, annotation: Any, default: Any = inspect.Parameter.empty) -> inspect.Parameter:
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default)


def _route(
    method: str,
    path: str,
    name: str,
    params: list[inspect.Parameter],
    handler: Callable[..., Awaitable[Any]],
    doc: str | None = None,
    **options: Any,
) -> None:
    """Register `handler` under `name` with the signature `params` (what FastAPI reads for parameters,
    dependencies and the OpenAPI document); a path parameter named `<kind>_id` reaches it as `entry_id`."""

    async def endpoint(**kwargs: Any) -> Any:
        ids = [k for k in kwargs if k.endswith("_id")]
        for key in ids:
            kwargs["entry_id"] = kwargs.pop(key)
        return await handler(**kwargs)

    endpoint.__name__ = endpoint.__qualname__ = name
    endpoint.__doc__ = doc
    endpoint.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    router.add_api_route(path, endpoint, methods=[method], name=name, **options)


def _entry_routes(api: _EntryApi) -> None:
    kind, read = api.kind, api.read
    base, one_path = f"/knowledge/{api.many}", f"/knowledge/{api.many}/{{{api.one}_id}}"
    entry_id = _param(f"{api.one}_id", Id)
    session, reader, editor = (
        _param("session", SessionDep),
        _param("principal", CanHandle),
        _param("principal", CanManageKnowledge),
    )

    async def list_(session: AsyncSession, principal: Principal, cursor: str | None, limit: int, **f: Any) -> Any:
        filters = service.EntryFilters(**f)
        rows, nxt = await service.list_entries(
            session, principal.account_id, kind, filters, Cursor.decode(cursor), limit
        )
        return api.page(items=[read.model_validate(r) for r in rows], next_cursor=nxt.encode() if nxt else None)

    async def create(data: Any, session: AsyncSession, principal: Principal) -> Any:
        return read.model_validate(await api.create(session, principal.account_id, data, principal.actor))

    async def get(entry_id: int, session: AsyncSession, principal: Principal) -> Any:
        return read.model_validate(await service.get_entry(session, principal.account_id, kind, entry_id))

    async def update(entry_id: int, data: Any, session: AsyncSession, principal: Principal) -> Any:
        return read.model_validate(await api.update(session, principal.account_id, entry_id, data, principal.actor))

    async def delete(entry_id: int, session: AsyncSession, principal: Principal) -> Response:
        await service.do_delete_entry(session, principal.account_id, kind, entry_id, principal.actor)
        return Response(status_code=204)

    def set_status(status: EntryStatus) -> Callable[..., Awaitable[Any]]:
        async def handler(entry_id: int, session: AsyncSession, principal: Principal) -> Any:
            entry = await service.do_set_status(session, principal.account_id, kind, entry_id, status, principal.actor)
            return read.model_validate(entry)

        return handler

    async def history(entry_id: int, session: AsyncSession, principal: Principal) -> list[VersionRead]:
        versions = await service.get_history(session, principal.account_id, kind, entry_id)
        return [VersionRead.model_validate(v) for v in versions]

    async def restore(entry_id: int, version: int, session: AsyncSession, principal: Principal) -> Any:
        entry = await service.check_restore_version(
            session, principal.account_id, kind, entry_id, version, principal.actor
        )
        return read.model_validate(entry)

    list_params = [
        session,
        reader,
        _param("status", EntryStatus | None, None),
        _param("category", Annotated[str | None, Query(max_length=100)], None),
        _param("language", Lang, None),
        _param("q", Annotated[str | None, Query(max_length=200)], None),
        _param("cursor", CursorParam, None),
        _param("limit", Limit, 50),
    ]
    _route("GET", base, f"list_{api.many}", list_params, list_, response_model=api.page)
    create_params = [_param("data", api.create_model), session, editor]
    _route("POST", base, f"create_{api.one}", create_params, create, response_model=read, status_code=201)
    _route("GET", one_path, f"get_{api.one}", [entry_id, session, reader], get, response_model=read)
    update_params = [entry_id, _param("data", api.update_model), session, editor]
    _route("PATCH", one_path, f"update_{api.one}", update_params, update, response_model=read)
    _route("DELETE", one_path, f"delete_{api.one}", [entry_id, session, editor], delete, status_code=204)
    for verb, status in (("publish", EntryStatus.PUBLISHED), ("unpublish", EntryStatus.DRAFT)):
        path, name = f"{one_path}/{verb}", f"{verb}_{api.one}"
        _route("POST", path, name, [entry_id, session, editor], set_status(status), response_model=read)
    history_path = f"{one_path}/history"
    history_params = [entry_id, session, reader]
    _route("GET", history_path, f"{api.one}_history", history_params, history, response_model=list[VersionRead])
    restore_params = [entry_id, _param("version", Version), session, editor]
    restore_path = f"{history_path}/{{version}}/restore"
    _route("POST", restore_path, f"restore_{api.one}", restore_params, restore, api.restore_doc, response_model=read)


_entry_routes(
    _EntryApi(
        EntryKind.FAQ,
        "faq",
        "faqs",
        FaqRead,
        FaqPage,
        FaqCreate,
        FaqUpdate,
        service.check_create_faq,
        service.check_update_faq,
        """Bring back version `version`'s question, variants, answer, category, tags and language as a new
    version; the publish status is kept.""",
    )
)
_entry_routes(
    _EntryApi(
        EntryKind.ARTICLE,
        "article",
        "articles",
        ArticleRead,
        ArticlePage,
        ArticleCreate,
        ArticleUpdate,
        service.check_create_article,
        service.check_update_article,
        """Bring back version `version`'s title, body, category, tags and language as a new version; the
    publish status is kept.""",
    )
)


# -- suggestions: unanswered questions → candidate FAQ entries ---------------------------------------


@router.get("/knowledge/suggestions", response_model=list[SuggestionRead])
async def list_suggestions(
    session: SessionDep,
    state: StateDep,
    principal: CanManageKnowledge,
    days: Annotated[int, Query(ge=1, le=365)] = 30,
    min_count: Annotated[int, Query(ge=1, le=100)] = 2,
) -> list[SuggestionRead]:
    """Customers' questions of the last `days` the bot could not answer (fallbacks, handoffs for low
    confidence or out of scope twice), grouped by meaning, biggest group first; each with the agent's
    first reply as a suggested answer. Groups the knowledge base now answers are left out."""
    return await suggestions.list_suggestions(session, state, principal.account_id, days=days, min_count=min_count)


@router.post("/knowledge/suggestions/dismiss", response_model=DismissResult)
async def dismiss_suggestions(data: DismissIn, session: SessionDep, principal: CanManageKnowledge) -> DismissResult:
    """Leave these customer messages out of future suggestions."""
    n = await suggestions.do_dismiss(session, principal.account_id, data.message_ids, principal.actor)
    return DismissResult(dismissed=n)


# -- import and search -------------------------------------------------------------------------------

_IMPORT_DOC: dict[str, Any] = {
    "requestBody": {
        "content": {
            "multipart/form-data": {
                "schema": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}}
            },
            "application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/FaqCreate"}}},
            "text/csv": {"schema": {"type": "string"}},
        }
    }
}


@router.post(
    "/knowledge/import",
    response_model=ImportResult,
    status_code=201,
    openapi_extra=_IMPORT_DOC,
    responses=errors(400, 413),
)
async def import_faqs(
    request: Request,
    session: SessionDep,
    principal: CanManageKnowledge,
    status: EntryStatus = EntryStatus.DRAFT,
    format: Literal["csv", "json"] | None = None,
) -> ImportResult:
    """FAQ entries from a CSV or JSON file (multipart field `file`), a JSON body (a list of entries)
    or a text/csv body. All or nothing: a bad row → 422 naming its line, nothing written. `status`
    applies to rows that do not name one."""
    rows = await _read_import(request, format)
    entries = await service.check_import_faqs(
        session, principal.account_id, rows, principal.actor, default_status=status
    )
    return ImportResult(created=len(entries), ids=[e.id for e in entries])


async def _read_import(request: Request, fmt: str | None) -> Any:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "multipart/form-data":
        form = await request.form()
        try:
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                raise BadRequest("send the import file in the multipart field 'file'")
            name = (upload.filename or "").lower()
            fmt = fmt or ("json" if name.endswith(".json") or upload.content_type == "application/json" else "csv")
            return parse_import(await upload.read(), fmt)
        finally:
            await form.close()
    if content_type == "application/json" and fmt != "csv":
        body = await request.body()
        if not body.strip():
            raise BadRequest("the request body is empty; send a JSON list of entries")
        return parse_import(body, "json")
    if content_type in ("text/csv", "text/plain", "application/csv"):
        return parse_import(await request.body(), fmt or "csv")
    raise BadRequest("send a file (multipart/form-data, field 'file'), a JSON list or a text/csv body")


@router.get("/knowledge/search", response_model=list[KnowledgeHitRead])
async def search(
    state: StateDep, principal: CanHandle, q: SearchText, k: TopK = 5, language: Lang = None
) -> list[KnowledgeHitRead]:
    return _hits(await service.search(state, principal.account_id, q, k, language))


@router.get("/knowledge/categories", response_model=list[str])
async def categories(session: SessionDep, principal: CanHandle) -> list[str]:
    return await service.list_categories(session, principal.account_id)


# -- public help centre ------------------------------------------------------------------------------


@router.get(
    "/help/{inbox_public_key}/search",
    response_model=list[KnowledgeHitRead],
    tags=["help centre"],
    responses=errors(429),
)
async def help_search(
    inbox_public_key: Annotated[str, Path(max_length=40)],
    request: Request,
    session: SessionDep,
    state: StateDep,
    q: SearchText,
    k: TopK = 5,
    language: Lang = None,
) -> list[KnowledgeHitRead]:
    client = request.client.host if request.client else "?"
    hits = await service.search_help(session, state, inbox_public_key, q, k, language, client=client)
    return _hits(hits)


@router.get("/help/{inbox_public_key}/faqs", response_model=PublicFaqPage, tags=["help centre"])
async def help_faqs(
    inbox_public_key: Annotated[str, Path(max_length=40)],
    session: SessionDep,
    category: Annotated[str | None, Query(max_length=100)] = None,
    language: Lang = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    cursor: CursorParam = None,
    limit: Limit = 50,
) -> PublicFaqPage:
    account_id = await service.get_help_account_id(session, inbox_public_key)
    filters = service.EntryFilters(EntryStatus.PUBLISHED, category, language, q)
    rows, nxt = await service.list_entries(session, account_id, EntryKind.FAQ, filters, Cursor.decode(cursor), limit)
    items = [PublicFaqRead.model_validate(r) for r in rows]
    return PublicFaqPage(items=items, next_cursor=nxt.encode() if nxt else None)
