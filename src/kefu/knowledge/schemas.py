"""Request / response shapes of the knowledge base."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, Field, StringConstraints

from kefu.core.schemas import VISIBLE, Id, Label, Page, PatchModel, ReadModel, StrictModel, Version


class EntryKind(StrEnum):
    FAQ = "faq"
    ARTICLE = "article"


class EntryStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"


class BodyFormat(StrEnum):
    MARKDOWN = "markdown"
    PLAIN = "plain"


MAX_VARIANTS = 50
MAX_TAGS = 20

# "zh", "en", "zh-TW", "pt-BR": a BCP 47 primary language subtag with optional region/script subtags.
Language = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8}){0,2}$", max_length=16)
]
Question = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500), VISIBLE]
Answer = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000), VISIBLE]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300), VISIBLE]
Body = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200_000), VISIBLE]
Category = Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)]


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


Variants = Annotated[list[Question], Field(max_length=MAX_VARIANTS), AfterValidator(_unique)]
Tags = Annotated[list[Label], Field(max_length=MAX_TAGS), AfterValidator(_unique)]


class FaqCreate(StrictModel):
    question: Question
    variants: Variants = Field(default_factory=list)
    answer: Answer
    category: Category = ""
    tags: Tags = Field(default_factory=list)
    language: Language = "zh"
    status: EntryStatus = EntryStatus.DRAFT


class FaqUpdate(PatchModel):
    NULLABLE = frozenset({"expected_version"})  # null: no check
    question: Question | None = None
    variants: Variants | None = None
    answer: Answer | None = None
    category: Category | None = None
    tags: Tags | None = None
    language: Language | None = None
    expected_version: Version | None = Field(None, description="refuse the edit (409) if the entry moved on")


class ArticleCreate(StrictModel):
    title: Title
    body: Body
    body_format: BodyFormat = BodyFormat.MARKDOWN
    category: Category = ""
    tags: Tags = Field(default_factory=list)
    language: Language = "zh"
    status: EntryStatus = EntryStatus.DRAFT


class ArticleUpdate(PatchModel):
    NULLABLE = frozenset({"expected_version"})  # null: no check
    title: Title | None = None
    body: Body | None = None
    body_format: BodyFormat | None = None
    category: Category | None = None
    tags: Tags | None = None
    language: Language | None = None
    expected_version: Version | None = Field(None, description="refuse the edit (409) if the entry moved on")


class _EntryRead(ReadModel):
    id: int
    category: str
    tags: list[str]
    language: str
    status: EntryStatus
    version: int
    author_id: int | None
    created_at: datetime
    updated_at: datetime


class FaqRead(_EntryRead):
    question: str
    variants: list[str]
    answer: str


class ArticleRead(_EntryRead):
    title: str
    body: str
    body_format: BodyFormat


class VersionRead(ReadModel):
    version: int
    snapshot: dict[str, Any]
    editor_id: int | None
    created_at: datetime


class ImportResult(ReadModel):
    created: int
    ids: list[int]


class KnowledgeHitRead(ReadModel):
    entry_kind: EntryKind
    entry_id: int
    title: str
    answer: str
    score: float
    bm25_score: float
    dense_score: float
    matched_text: str
    language: str
    category: str
    relative_score: float = Field(description="dense_score minus the query's mean cosine to the other entries")
    answer_floor: float | None = Field(
        None, description="the relative score this knowledge base's own question variants reach (the bot's floor)"
    )


class PublicFaqRead(ReadModel):
    id: int
    question: str
    answer: str
    category: str
    language: str
    updated_at: datetime


FaqPage = Page[FaqRead]
ArticlePage = Page[ArticleRead]
PublicFaqPage = Page[PublicFaqRead]


class SuggestionRead(ReadModel):
    """A group of similar customer questions the bot could not answer: a candidate FAQ entry."""

    question: str
    variants: list[str]
    count: int
    message_ids: list[int]
    conversation_ids: list[int]
    last_asked_at: datetime
    suggested_answer: str | None


class DismissIn(StrictModel):
    message_ids: list[Id] = Field(min_length=1, max_length=500)


class DismissResult(ReadModel):
    dismissed: int
