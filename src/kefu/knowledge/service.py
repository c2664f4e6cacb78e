"""Knowledge base writes and reads: FAQ entries and articles, versions, publish, import.

Every write bumps the entry's version, stores a snapshot in `knowledge_versions`, emits a
`knowledge.*` event and bumps the account's knowledge version (`search.bump_version`) in the same
transaction; after the commit the node's search backend reflects the change before the request returns
and the other nodes follow (`search_node.after_write`). See docs/knowledge.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.auth.access import get_scoped, restrict
from kefu.channels.models import Inbox
from kefu.core import clock
from kefu.core.constants import ActorType
from kefu.core.errors import Conflict, ErrorCode, KefuError, NotFound, RateLimited
from kefu.core.events import Actor, commit, emit
from kefu.core.pagination import Cursor, page_by_id
from kefu.core.state import AppState
from kefu.knowledge import search_node
from kefu.knowledge.events import KnowledgeEvent
from kefu.knowledge.importing import ImportRow
from kefu.knowledge.models import Article, FaqEntry, KnowledgeVersion
from kefu.knowledge.schemas import ArticleCreate, ArticleUpdate, EntryKind, EntryStatus, FaqCreate, FaqUpdate
from kefu.knowledge.search import KnowledgeHit, bump_version

Entry = FaqEntry | Article
MODELS: dict[EntryKind, type[FaqEntry] | type[Article]] = {EntryKind.FAQ: FaqEntry, EntryKind.ARTICLE: Article}
SNAPSHOT_FIELDS = {
    EntryKind.FAQ: ("question", "variants", "answer", "category", "tags", "language", "status"),
    EntryKind.ARTICLE: ("title", "body", "body_format", "category", "tags", "language", "status"),
}
WHAT = {EntryKind.FAQ: "FAQ entry", EntryKind.ARTICLE: "article"}
HELP_SEARCH_PER_MINUTE = 60


class ImportInvalid(KefuError):
    status_code = 422
    code = ErrorCode.VALIDATION


@dataclass(frozen=True)
class EntryFilters:
    status: EntryStatus | None = None
    category: str | None = None
    language: str | None = None
    q: str | None = None


def kind_of(entry: Entry) -> EntryKind:
    return EntryKind.FAQ if isinstance(entry, FaqEntry) else EntryKind.ARTICLE


def title_of(entry: Entry) -> str:
    return entry.question if isinstance(entry, FaqEntry) else entry.title


# -- reads -----------------------------------------------------------------------------------------


async def get_entry(session: AsyncSession, account_id: int, kind: EntryKind, entry_id: int) -> Entry:
    return await get_scoped(session, MODELS[kind], entry_id, account_id, WHAT[kind])


async def get_faq(session: AsyncSession, account_id: int, faq_id: int) -> FaqEntry:
    return await get_scoped(session, FaqEntry, faq_id, account_id, WHAT[EntryKind.FAQ])


async def get_article(session: AsyncSession, account_id: int, article_id: int) -> Article:
    return await get_scoped(session, Article, article_id, account_id, WHAT[EntryKind.ARTICLE])


async def list_entries(
    session: AsyncSession, account_id: int, kind: EntryKind, filters: EntryFilters, cursor: Cursor | None, limit: int
) -> tuple[list[Any], Cursor | None]:
    """Newest first, filtered; `q` is a case-insensitive substring of the title/question or body/answer."""
    model = MODELS[kind]
    query = restrict(select(model), model, account_id)
    if filters.status is not None:
        query = query.where(model.status == str(filters.status))
    if filters.category:
        query = query.where(model.category == filters.category)
    if filters.language:
        query = query.where(model.language == filters.language)
    if filters.q and filters.q.strip():
        pattern = "%" + _escape_like(filters.q.strip()) + "%"
        text_cols = (FaqEntry.question, FaqEntry.answer) if model is FaqEntry else (Article.title, Article.body)
        query = query.where(or_(*(col.ilike(pattern, escape="\\") for col in text_cols)))
    return await page_by_id(session, query, model, cursor, limit)


async def list_categories(session: AsyncSession, account_id: int) -> list[str]:
    names: set[str] = set()
    for model in MODELS.values():
        q = restrict(select(model.category).distinct(), model, account_id).where(model.category != "")
        names.update((await session.execute(q)).scalars())
    return sorted(names)


async def get_history(session: AsyncSession, account_id: int, kind: EntryKind, entry_id: int) -> list[KnowledgeVersion]:
    """Every stored version of an entry, newest first."""
    await get_entry(session, account_id, kind, entry_id)
    q = (
        restrict(select(KnowledgeVersion), KnowledgeVersion, account_id)
        .where(KnowledgeVersion.entry_kind == str(kind), KnowledgeVersion.entry_id == entry_id)
        .order_by(KnowledgeVersion.version.desc())
    )
    return list((await session.execute(q)).scalars())


# -- writes ----------------------------------------------------------------------------------------


async def check_create_faq(session: AsyncSession, account_id: int, data: FaqCreate, actor: Actor) -> FaqEntry:
    entry = _new_faq(account_id, data, actor)
    await _insert(session, [entry], actor)
    await _commit(session, account_id, EntryKind.FAQ, entry.id)
    return entry


async def check_create_article(session: AsyncSession, account_id: int, data: ArticleCreate, actor: Actor) -> Article:
    fields = data.model_dump()
    entry = Article(account_id=account_id, author_id=_user_id(actor), version=1, **_as_stored(fields))
    await _insert(session, [entry], actor)
    await _commit(session, account_id, EntryKind.ARTICLE, entry.id)
    return entry


async def check_update_faq(
    session: AsyncSession, account_id: int, faq_id: int, data: FaqUpdate, actor: Actor
) -> FaqEntry:
    entry = await get_faq(session, account_id, faq_id)
    return await _update(session, entry, data.model_dump(exclude_unset=True), actor)  # type: ignore[return-value]


async def check_update_article(
    session: AsyncSession, account_id: int, article_id: int, data: ArticleUpdate, actor: Actor
) -> Article:
    entry = await get_article(session, account_id, article_id)
    return await _update(session, entry, data.model_dump(exclude_unset=True), actor)  # type: ignore[return-value]


async def check_restore_version(
    session: AsyncSession, account_id: int, kind: EntryKind, entry_id: int, version: int, actor: Actor
) -> Entry:
    """Bring back an earlier version's content as a new version. The publish status stays as it is
    (publishing is its own decision); restoring content equal to the current one changes nothing."""
    entry = await get_entry(session, account_id, kind, entry_id)
    q = restrict(select(KnowledgeVersion), KnowledgeVersion, account_id).where(
        KnowledgeVersion.entry_kind == str(kind),
        KnowledgeVersion.entry_id == entry_id,
        KnowledgeVersion.version == version,
    )
    old = (await session.execute(q)).scalar_one_or_none()
    if old is None:
        raise NotFound(f"version {version} of {WHAT[kind]}", entry_id)
    content = {k: v for k, v in old.snapshot.items() if k != "status"}
    return await _update(session, entry, content, actor, restored_from=version)


async def do_set_status(
    session: AsyncSession, account_id: int, kind: EntryKind, entry_id: int, status: EntryStatus, actor: Actor
) -> Entry:
    """Publish or unpublish; a no-op (same status) changes nothing and keeps the version."""
    entry = await get_entry(session, account_id, kind, entry_id)
    if entry.status == str(status):
        return entry
    entry.status = str(status)
    _bump(session, entry, actor)
    verb = KnowledgeEvent.ENTRY_PUBLISHED if status == EntryStatus.PUBLISHED else KnowledgeEvent.ENTRY_UNPUBLISHED
    _emit(session, entry, verb, actor)
    await _commit(session, account_id, kind, entry.id)
    return entry


async def do_delete_entry(session: AsyncSession, account_id: int, kind: EntryKind, entry_id: int, actor: Actor) -> None:
    entry = await get_entry(session, account_id, kind, entry_id)
    _emit(session, entry, KnowledgeEvent.ENTRY_DELETED, actor)
    await session.execute(
        delete(KnowledgeVersion).where(
            KnowledgeVersion.account_id == account_id,
            KnowledgeVersion.entry_kind == str(kind),
            KnowledgeVersion.entry_id == entry_id,
        )
    )
    await session.delete(entry)
    await _commit(session, account_id, kind, entry_id)


async def check_import_faqs(
    session: AsyncSession,
    account_id: int,
    rows: list[ImportRow],
    actor: Actor,
    *,
    default_status: EntryStatus = EntryStatus.DRAFT,
) -> list[FaqEntry]:
    """All or nothing: every row is validated first; any bad row → 422 naming each bad line."""
    valid, errors = [], []
    for row in rows:
        try:
            valid.append(FaqCreate.model_validate({"status": default_status, **row.data}))
        except ValidationError as exc:
            errors.extend(_row_errors(row.line, exc))
    if errors:
        first = errors[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise ImportInvalid(f"line {first['line']}: {first['field']}: {first['message']}{more}", details=errors)
    entries = [_new_faq(account_id, data, actor) for data in valid]
    await _insert(session, entries, actor)
    await _commit(session, account_id)
    return entries


# -- search ----------------------------------------------------------------------------------------


async def search(
    state: AppState, account_id: int, query: str, k: int = 5, language: str | None = None
) -> list[KnowledgeHit]:
    return await search_node.search_knowledge(state, account_id, query, k, language=language)


async def search_help(
    session: AsyncSession,
    state: AppState,
    public_key: str,
    query: str,
    k: int = 5,
    language: str | None = None,
    *,
    client: str,
) -> list[KnowledgeHit]:
    """The public help centre's search: rate-limited per client, published entries only."""
    account_id = await get_help_account_id(session, public_key)
    key = f"help-search:{public_key}:{client}"
    retry = await state.limiter.retry_after(key, HELP_SEARCH_PER_MINUTE)
    if retry:
        raise RateLimited(f"too many searches; try again in {retry} s", retry)
    await state.limiter.hit(key, 60)
    await session.commit()  # end the read: on SQLite the index build reads through its own session
    return await search_node.search_knowledge(state, account_id, query, k, language=language)


# -- public help centre ----------------------------------------------------------------------------


async def get_help_account_id(session: AsyncSession, public_key: str) -> int:
    account_id = (
        await session.execute(select(Inbox.account_id).where(Inbox.public_key == public_key))
    ).scalar_one_or_none()
    if account_id is None:
        raise NotFound("help centre", public_key)
    return int(account_id)


# -- helpers ---------------------------------------------------------------------------------------


def _new_faq(account_id: int, data: FaqCreate, actor: Actor) -> FaqEntry:
    return FaqEntry(account_id=account_id, author_id=_user_id(actor), version=1, **_as_stored(data.model_dump()))


def _as_stored(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: str(v) if k in ("status", "body_format") and v is not None else v for k, v in fields.items()}


async def _insert(session: AsyncSession, entries: Sequence[Entry], actor: Actor) -> None:
    now = clock.now()
    for entry in entries:
        entry.created_at = entry.updated_at = now
    session.add_all(entries)
    await session.flush()
    for entry in entries:
        _record_version(session, entry, actor)
        _emit(session, entry, KnowledgeEvent.ENTRY_CREATED, actor)
        if entry.status == EntryStatus.PUBLISHED:
            _emit(session, entry, KnowledgeEvent.ENTRY_PUBLISHED, actor)


async def _update(
    session: AsyncSession, entry: Entry, changes: dict[str, Any], actor: Actor, **event_extra: Any
) -> Entry:
    expected = changes.pop("expected_version", None)
    if expected is not None and expected != entry.version:
        raise Conflict(f"{WHAT[kind_of(entry)]} {entry.id} is at version {entry.version}, not {expected}; reload it")
    changes = {k: v for k, v in _as_stored(changes).items() if v is not None and getattr(entry, k) != v}
    if not changes:
        return entry
    for field, value in changes.items():
        setattr(entry, field, value)
    _bump(session, entry, actor)
    _emit(session, entry, KnowledgeEvent.ENTRY_UPDATED, actor, changed=sorted(changes), **event_extra)
    await _commit(session, entry.account_id, kind_of(entry), entry.id)
    return entry


async def _commit(
    session: AsyncSession, account_id: int, kind: EntryKind | None = None, entry_id: int | None = None
) -> None:
    """Bump the account's knowledge version with the change, commit, then refresh search (one entry, or
    everything when `kind` is None)."""
    version = await bump_version(session, account_id)
    await commit(session)
    await search_node.after_write(session, account_id, version, kind, entry_id)


def _bump(session: AsyncSession, entry: Entry, actor: Actor) -> None:
    entry.version += 1
    entry.updated_at = clock.now()
    _record_version(session, entry, actor)


def _record_version(session: AsyncSession, entry: Entry, actor: Actor) -> None:
    kind = kind_of(entry)
    snapshot = {field: getattr(entry, field) for field in SNAPSHOT_FIELDS[kind]}
    session.add(
        KnowledgeVersion(
            account_id=entry.account_id,
            entry_kind=str(kind),
            entry_id=entry.id,
            version=entry.version,
            snapshot=snapshot,
            editor_id=_user_id(actor),
            created_at=entry.updated_at,
        )
    )


def _emit(session: AsyncSession, entry: Entry, verb: KnowledgeEvent, actor: Actor, **extra: Any) -> None:
    payload = {
        "kind": str(kind_of(entry)),
        "id": entry.id,
        "version": entry.version,
        "status": entry.status,
        "title": title_of(entry),
        **extra,
    }
    emit(session, entry.account_id, verb.as_event_type, payload, actor=actor)


def _user_id(actor: Actor) -> int | None:
    return actor.id if actor.type == ActorType.USER else None


def _row_errors(line: int, exc: ValidationError) -> list[dict[str, Any]]:
    """One {line, field, message, code, params} per problem: `code` is pydantic's error type (or
    `unknown_column`) and `params` its numbers and words (max_length, expected…) for pages to translate."""
    out = []
    for err in exc.errors():
        field = ".".join(str(p) for p in err.get("loc", ())) or "entry"
        unknown = err.get("type") == "extra_forbidden"
        params = {k: v for k, v in (err.get("ctx") or {}).items() if isinstance(v, int | str) and k != "pattern"}
        out.append(
            {
                "line": line,
                "field": field,
                "message": "unknown column" if unknown else err.get("msg", "invalid"),
                "code": "unknown_column" if unknown else err.get("type", "invalid"),
                "params": params,
            }
        )
    return out


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
