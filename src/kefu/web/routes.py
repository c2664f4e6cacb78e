"""Server-rendered UI routes (thin: they call services and render templates)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
