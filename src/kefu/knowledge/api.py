"""/api/v1/knowledge (agents read and search, admins and supervisors edit) and the public
/api/v1/help/{inbox_public_key} help-centre API (published entries only, no login)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from starlette.datastructures import UploadFile

from kefu.auth.deps import CanHandle, CanManageKnowledge
from kefu.core.deps import SessionDep, StateDep
from kefu.core.errors import BadRequest
from kefu.core.openapi import errors
from kefu.core.pagination import MAX_LIMIT, Cursor, CursorParam
from kefu.core.schemas import Id, Version
from kefu.knowledge import service, suggestions
from kefu.knowledge.importing import parse_import
from kefu.knowledge.index import KnowledgeHit
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

router = APIRouter(prefix="/api/v1", tags=["knowledge"])

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
SearchText = Annotated[str, Query(min_length=1, max_length=500, description="what the customer asked")]
TopK = Annotated[int, Query(ge=1, le=20)]
Lang = Annotated[str | None, Query(max_length=16, pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8}){0,2}$")]


def _filters(
    status: EntryStatus | None, category: str | None, language: str | None, q: str | None
) -> service.EntryFilters:
    return service.EntryFilters(status=status, category=category, language=language, q=q)


def _hits(hits: list[KnowledgeHit]) -> list[KnowledgeHitRead]:
    return [KnowledgeHitRead.model_validate(h) for h in hits]


# -- FAQ entries -------------------------------------------------------------------------------------


@router.get("/knowledge/faqs", response_model=FaqPage)
async def list_faqs(
    session: SessionDep,
    principal: CanHandle,
    status: EntryStatus | None = None,
    category: Annotated[str | None, Query(max_length=100)] = None,
    language: Lang = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    cursor: CursorParam = None,
    limit: Limit = 50,
) -> FaqPage:
    rows, nxt = await service.list_entries(
        session,
        principal.account_id,
        EntryKind.FAQ,
        _filters(status, category, language, q),
        Cursor.decode(cursor),
        limit,
    )
    return FaqPage(items=[FaqRead.model_validate(r) for r in rows], next_cursor=nxt.encode() if nxt else None)


@router.post("/knowledge/faqs", response_model=FaqRead, status_code=201)
async def create_faq(data: FaqCreate, session: SessionDep, principal: CanManageKnowledge) -> FaqRead:
    return FaqRead.model_validate(await service.check_create_faq(session, principal.account_id, data, principal.actor))


@router.get("/knowledge/faqs/{faq_id}", response_model=FaqRead)
async def get_faq(faq_id: Id, session: SessionDep, principal: CanHandle) -> FaqRead:
    return FaqRead.model_validate(await service.get_faq(session, principal.account_id, faq_id))


@router.patch("/knowledge/faqs/{faq_id}", response_model=FaqRead)
async def update_faq(faq_id: Id, data: FaqUpdate, session: SessionDep, principal: CanManageKnowledge) -> FaqRead:
    entry = await service.check_update_faq(session, principal.account_id, faq_id, data, principal.actor)
    return FaqRead.model_validate(entry)


@router.delete("/knowledge/faqs/{faq_id}", status_code=204)
async def delete_faq(faq_id: Id, session: SessionDep, principal: CanManageKnowledge) -> Response:
    await service.do_delete_entry(session, principal.account_id, EntryKind.FAQ, faq_id, principal.actor)
    return Response(status_code=204)


@router.post("/knowledge/faqs/{faq_id}/publish", response_model=FaqRead)
async def publish_faq(faq_id: Id, session: SessionDep, principal: CanManageKnowledge) -> FaqRead:
    entry = await service.do_set_status(
        session, principal.account_id, EntryKind.FAQ, faq_id, EntryStatus.PUBLISHED, principal.actor
    )
    return FaqRead.model_validate(entry)


@router.post("/knowledge/faqs/{faq_id}/unpublish", response_model=FaqRead)
async def unpublish_faq(faq_id: Id, session: SessionDep, principal: CanManageKnowledge) -> FaqRead:
    entry = await service.do_set_status(
        session, principal.account_id, EntryKind.FAQ, faq_id, EntryStatus.DRAFT, principal.actor
    )
    return FaqRead.model_validate(entry)


@router.get("/knowledge/faqs/{faq_id}/history", response_model=list[VersionRead])
async def faq_history(faq_id: Id, session: SessionDep, principal: CanHandle) -> list[VersionRead]:
    versions = await service.get_history(session, principal.account_id, EntryKind.FAQ, faq_id)
    return [VersionRead.model_validate(v) for v in versions]


@router.post("/knowledge/faqs/{faq_id}/history/{version}/restore", response_model=FaqRead)
async def restore_faq(faq_id: Id, version: Version, session: SessionDep, principal: CanManageKnowledge) -> FaqRead:
    """Bring back version `version`'s question, variants, answer, category, tags and language as a new
    version; the publish status is kept."""
    entry = await service.check_restore_version(
        session, principal.account_id, EntryKind.FAQ, faq_id, version, principal.actor
    )
    return FaqRead.model_validate(entry)


# -- articles ----------------------------------------------------------------------------------------


@router.get("/knowledge/articles", response_model=ArticlePage)
async def list_articles(
    session: SessionDep,
    principal: CanHandle,
    status: EntryStatus | None = None,
    category: Annotated[str | None, Query(max_length=100)] = None,
    language: Lang = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    cursor: CursorParam = None,
    limit: Limit = 50,
) -> ArticlePage:
    rows, nxt = await service.list_entries(
        session,
        principal.account_id,
        EntryKind.ARTICLE,
        _filters(status, category, language, q),
        Cursor.decode(cursor),
        limit,
    )
    return ArticlePage(items=[ArticleRead.model_validate(r) for r in rows], next_cursor=nxt.encode() if nxt else None)


@router.post("/knowledge/articles", response_model=ArticleRead, status_code=201)
async def create_article(data: ArticleCreate, session: SessionDep, principal: CanManageKnowledge) -> ArticleRead:
    entry = await service.check_create_article(session, principal.account_id, data, principal.actor)
    return ArticleRead.model_validate(entry)


@router.get("/knowledge/articles/{article_id}", response_model=ArticleRead)
async def get_article(article_id: Id, session: SessionDep, principal: CanHandle) -> ArticleRead:
    return ArticleRead.model_validate(await service.get_article(session, principal.account_id, article_id))


@router.patch("/knowledge/articles/{article_id}", response_model=ArticleRead)
async def update_article(
    article_id: Id, data: ArticleUpdate, session: SessionDep, principal: CanManageKnowledge
) -> ArticleRead:
    entry = await service.check_update_article(session, principal.account_id, article_id, data, principal.actor)
    return ArticleRead.model_validate(entry)


@router.delete("/knowledge/articles/{article_id}", status_code=204)
async def delete_article(article_id: Id, session: SessionDep, principal: CanManageKnowledge) -> Response:
    await service.do_delete_entry(session, principal.account_id, EntryKind.ARTICLE, article_id, principal.actor)
    return Response(status_code=204)


@router.post("/knowledge/articles/{article_id}/publish", response_model=ArticleRead)
async def publish_article(article_id: Id, session: SessionDep, principal: CanManageKnowledge) -> ArticleRead:
    entry = await service.do_set_status(
        session, principal.account_id, EntryKind.ARTICLE, article_id, EntryStatus.PUBLISHED, principal.actor
    )
    return ArticleRead.model_validate(entry)


@router.post("/knowledge/articles/{article_id}/unpublish", response_model=ArticleRead)
async def unpublish_article(article_id: Id, session: SessionDep, principal: CanManageKnowledge) -> ArticleRead:
    entry = await service.do_set_status(
        session, principal.account_id, EntryKind.ARTICLE, article_id, EntryStatus.DRAFT, principal.actor
    )
    return ArticleRead.model_validate(entry)


@router.get("/knowledge/articles/{article_id}/history", response_model=list[VersionRead])
async def article_history(article_id: Id, session: SessionDep, principal: CanHandle) -> list[VersionRead]:
    versions = await service.get_history(session, principal.account_id, EntryKind.ARTICLE, article_id)
    return [VersionRead.model_validate(v) for v in versions]


@router.post("/knowledge/articles/{article_id}/history/{version}/restore", response_model=ArticleRead)
async def restore_article(
    article_id: Id, version: Version, session: SessionDep, principal: CanManageKnowledge
) -> ArticleRead:
    """Bring back version `version`'s title, body, category, tags and language as a new version; the
    publish status is kept."""
    entry = await service.check_restore_version(
        session, principal.account_id, EntryKind.ARTICLE, article_id, version, principal.actor
    )
    return ArticleRead.model_validate(entry)


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
    filters = _filters(EntryStatus.PUBLISHED, category, language, q)
    rows, nxt = await service.list_entries(session, account_id, EntryKind.FAQ, filters, Cursor.decode(cursor), limit)
    items = [PublicFaqRead.model_validate(r) for r in rows]
    return PublicFaqPage(items=items, next_cursor=nxt.encode() if nxt else None)
