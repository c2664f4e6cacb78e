"""Every operation of the OpenAPI document declares the error answers it really gives (core/openapi.py);
tests/api/test_fuzz.py holds the running server to them."""

from __future__ import annotations

from typing import Any

import pytest

from kefu.main import create_app
from kefu.settings import Settings

ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return create_app(Settings(database_url="sqlite+aiosqlite:///./var/never-opened.db")).openapi()


def codes(spec: dict[str, Any], path: str, method: str) -> list[str]:
    return sorted(spec["paths"][path][method]["responses"])


def test_error_answers_follow_from_the_routes_dependencies(spec: dict[str, Any]) -> None:
    assert codes(spec, "/api/v1/teams", "get") == ["200", "401", "403"]
    assert codes(spec, "/api/v1/teams", "post") == ["201", "400", "401", "403", "404", "409", "422"]
    assert codes(spec, "/api/v1/me", "get") == ["200", "401"]
    assert codes(spec, "/api/v1/users/{user_id}", "patch") == ["200", "400", "401", "403", "404", "409", "422"]
    assert codes(spec, "/api/v1/auth/login", "post") == ["200", "400", "401", "403", "409", "422", "429"]
    assert codes(spec, "/api/v1/attachments", "post") == ["201", "400", "401", "403", "409", "413", "415", "422"]
    assert codes(spec, "/api/v1/widget/{inbox_key}/messages", "post") == [
        "200", "201", "400", "401", "404", "409", "413", "422", "503",
    ]  # fmt: skip
    assert codes(spec, "/healthz", "get") == ["200"]


def test_every_error_answer_carries_the_error_body(spec: dict[str, Any]) -> None:
    for path, item in spec["paths"].items():
        for method, op in item.items():
            for code, answer in op["responses"].items():
                if int(code) >= 400:
                    assert answer["content"] == ERROR, (method, path, code)
                    assert answer["description"], (method, path, code)
    schemas = spec["components"]["schemas"]
    assert "HTTPValidationError" not in schemas and "ValidationError" not in schemas
    assert schemas["ErrorBody"]["required"] == ["error"]
    assert schemas["ErrorInfo"]["required"] == ["code", "message"]
    retry = spec["paths"]["/api/v1/conversations/{conv_id}/messages"]["post"]["responses"]["200"]
    assert retry["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/MessageRead"}


def test_ids_and_cursors_are_bounded_in_the_document(spec: dict[str, Any]) -> None:
    params = {p["name"]: p["schema"] for p in spec["paths"]["/api/v1/conversations"]["get"]["parameters"]}
    assert params["inbox_id"]["anyOf"][0] == {"type": "integer", "minimum": 1, "exclusiveMaximum": 2**63}
    assert params["cursor"]["anyOf"][0]["pattern"] == r"^[0-9]{1,16}_[1-9][0-9]{0,17}$"
    params = {p["name"]: p["schema"] for p in spec["paths"]["/api/v1/contacts"]["get"]["parameters"]}
    assert params["cursor"]["anyOf"][0]["pattern"] == r"^[1-9][0-9]{0,17}$"
