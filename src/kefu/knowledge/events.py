"""Knowledge events (`knowledge.<past_verb>`), written to the event log after each change."""

from __future__ import annotations

from enum import StrEnum
from typing import cast

from kefu.core.constants import EventType


class KnowledgeEvent(StrEnum):
    ENTRY_CREATED = "knowledge.entry_created"
    ENTRY_UPDATED = "knowledge.entry_updated"
    ENTRY_PUBLISHED = "knowledge.entry_published"
    ENTRY_UNPUBLISHED = "knowledge.entry_unpublished"
    ENTRY_DELETED = "knowledge.entry_deleted"

    @property
    def as_event_type(self) -> EventType:
        # core.events.emit is typed for core's EventType; the stored value is just the string.
        return cast(EventType, self)
