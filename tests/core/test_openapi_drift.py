"""The committed OpenAPI document (docs/openapi.json) matches the app. Regenerate with
`kefu openapi --out docs/openapi.json` after changing the API."""

from __future__ import annotations

import json
from pathlib import Path

from kefu.main import create_app
from kefu.settings import Settings

DOC = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def test_committed_openapi_matches_the_app() -> None:
    app = create_app(Settings(database_url="sqlite+aiosqlite:///./var/never-opened.db"))
    live = json.loads(json.dumps(app.openapi(), ensure_ascii=False, sort_keys=True))
    committed = json.loads(DOC.read_text(encoding="utf-8"))
    assert live == committed, "the API changed: run `kefu openapi --out docs/openapi.json` and commit it"
