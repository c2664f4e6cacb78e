from __future__ import annotations

from pydantic import BaseModel


class AttachmentRead(BaseModel):
    id: int
    name: str
    content_type: str
    size: int
    url: str
