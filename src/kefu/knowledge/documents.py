"""Knowledge entries as search documents, and the database reads the index manager needs.

A FAQ entry is one `Document` whose rows are the question, each variant and the answer; an article's
rows are its title and its body cut into paragraphs of ~CHUNK_CHARS (so a hit names the paragraph).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.knowledge.models import Article, FaqEntry
from kefu.knowledge.schemas import EntryKind, EntryStatus
from kefu.nlp.retrieval import Document

SNIPPET_CHARS = 300
CHUNK_CHARS = 400
MIN_CHUNK_CHARS = 120
MAX_CHUNKS = 20
_LOAD_BATCH = 500

Entry = FaqEntry | Article
MODELS: dict[EntryKind, type[FaqEntry] | type[Article]] = {EntryKind.FAQ: FaqEntry, EntryKind.ARTICLE: Article}


@dataclass(frozen=True)
class EntryMeta:
    """What a search hit shows about its entry, kept beside the index."""

    kind: EntryKind
    id: int
    version: int
    title: str
    answer: str
    language: str
    category: str


Indexed = tuple[Document, EntryMeta]


def doc_id(kind: EntryKind | str, entry_id: int) -> str:
    return f"{kind}:{entry_id}"


def to_document(entry: Entry) -> Indexed:
    if isinstance(entry, FaqEntry):
        texts = [entry.question, *entry.variants]
        doc = Document(doc_id(EntryKind.FAQ, entry.id), texts, entry.answer, entry.language)
        answer = entry.answer
        kind = EntryKind.FAQ
        title = entry.question
    else:
        doc = Document(doc_id(EntryKind.ARTICLE, entry.id), [entry.title, *chunks(entry.body)], None, entry.language)
        answer = snippet(entry.body)
        kind = EntryKind.ARTICLE
        title = entry.title
    return doc, EntryMeta(kind, entry.id, entry.version, title, answer, entry.language, entry.category)


def chunks(body: str, size: int = CHUNK_CHARS, limit: int = MAX_CHUNKS) -> list[str]:
    """An article body as search rows: one per paragraph; a markdown heading starts a new row, and
    rows shorter than MIN_CHUNK_CHARS take the next paragraph; long paragraphs are cut at `size`."""
    out: list[str] = []
    current = ""
    for para in (p.strip() for p in body.replace("\r\n", "\n").split("\n\n")):
        for piece in (para[i : i + size] for i in range(0, len(para), size)):
            if current and (piece.startswith("#") or len(current) >= MIN_CHUNK_CHARS):
                out.append(current)
                current = ""
            current = f"{current}\n{piece}" if current else piece
    if current:
        out.append(current)
    return out[:limit]


def texts_of(doc: Document) -> list[str]:
    """The rows HybridIndex embeds for `doc` (its texts, then the body)."""
    texts = [t for t in doc.texts if t.strip()]
    if doc.body and doc.body.strip():
        texts.append(doc.body)
    return texts


def snippet(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= SNIPPET_CHARS else text[: SNIPPET_CHARS - 1] + "…"


def language_matches(entry_language: str, wanted: str | None) -> bool:
    """ "zh" matches "zh", "zh-CN" and "zh-TW": entries are compared on the primary subtag."""
    if not wanted:
        return True
    return entry_language.split("-")[0].lower() == wanted.split("-")[0].lower()


async def load_published(session: AsyncSession, account_id: int, kind: EntryKind, entry_id: int) -> Indexed | None:
    """The entry as a document if it exists in this account and is published, else None."""
    entry: Entry | None = await session.get(MODELS[kind], entry_id)
    if entry is None or entry.account_id != account_id or entry.status != EntryStatus.PUBLISHED:
        return None
    return to_document(entry)


async def diff_published(
    session: AsyncSession, account_id: int, held: Mapping[str, EntryMeta]
) -> tuple[list[Indexed], list[str]]:
    """(documents to upsert, doc ids to remove) so that `held` matches the published entries."""
    current = await _published_versions(session, account_id)
    stale = [d for d, v in current.items() if d not in held or held[d].version != v]
    return await _load_documents(session, account_id, stale), [d for d in held if d not in current]


async def _published_versions(session: AsyncSession, account_id: int) -> dict[str, int]:
    out: dict[str, int] = {}
    for kind, model in MODELS.items():
        q = select(model.id, model.version).where(
            model.account_id == account_id, model.status == str(EntryStatus.PUBLISHED)
        )
        out.update((doc_id(kind, row.id), row.version) for row in await session.execute(q))
    return out


async def _load_documents(session: AsyncSession, account_id: int, doc_ids: Iterable[str]) -> list[Indexed]:
    wanted: dict[EntryKind, list[int]] = {EntryKind.FAQ: [], EntryKind.ARTICLE: []}
    for ident in doc_ids:
        kind, _, number = ident.partition(":")
        wanted[EntryKind(kind)].append(int(number))
    docs: list[Indexed] = []
    for kind, ids in wanted.items():
        model = MODELS[kind]
        for start in range(0, len(ids), _LOAD_BATCH):
            q = select(model).where(
                model.account_id == account_id,
                model.status == str(EntryStatus.PUBLISHED),
                model.id.in_(ids[start : start + _LOAD_BATCH]),
            )
            entries: list[Entry] = list((await session.execute(q)).scalars())  # type: ignore[arg-type]
            docs.extend(to_document(e) for e in entries)
    return docs
