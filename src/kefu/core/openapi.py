"""The error answers of every operation in the OpenAPI document.

Each operation's 4xx answers are derived from what its route depends on, so they are declared once here and
not by hand on ~90 routes:

- a login (the `login` dependency given to `install`: kefu.auth.deps.get_principal) → 401; a permission
  (`require(...)`) or a session's CSRF token on a write → 403;
- a path parameter → 404 (the thing it names may not exist, or belong to another account) and 422;
- any parameter or body → 422; a JSON body → 400 (malformed JSON); a write → 409 (it may conflict);
- a body that names other rows by id (`Id`) → 404.

Answers that depend on what a service does are named on the route with `errors(...)` (e.g. 413, 415, 429,
503). All of them carry the one error body, `{"error": {"code", "message", "details"?}}` (ErrorBody)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field

from kefu.core.deps import SAFE_METHODS
from kefu.core.errorhandlers import routes
from kefu.core.errors import ErrorCode
from kefu.core.schemas import MAX_ID

ERROR_REF = "#/components/schemas/ErrorBody"
CONTACT_TOKEN = "X-Contact-Token"

DESCRIPTIONS = {
    400: "Bad request: malformed JSON, or a request the service refuses (the message says why)",
    401: "Not logged in: no session, or a missing, invalid or revoked token",
    403: "Forbidden: the role lacks the permission, or a session's CSRF token is missing",
    404: "Not found: no such id in this account",
    409: "Conflict with existing data (a duplicate name, an outdated expected_version)",
    413: "Too large (a message, file or import over its limit)",
    415: "Unsupported media type (a file type that is not accepted)",
    422: "Validation error: `details` lists each field and what is wrong with it",
    429: "Rate limited: try again after `Retry-After` seconds",
    503: "Unavailable: could not finish in time; safe to retry after `Retry-After` seconds",
}


class FieldError(BaseModel):
    field: str = Field(description="dotted path of the field (empty for the whole body)")
    message: str
    type: str | None = None


class ErrorInfo(BaseModel):
    code: str = Field(description="one of: " + ", ".join(c.value for c in ErrorCode))
    message: str = Field(description="what is wrong, for people")
    details: list[FieldError] | dict[str, Any] | None = Field(
        None, description="for validation_error, one entry per field"
    )


class ErrorBody(BaseModel):
    """Every error answer of the API."""

    error: ErrorInfo


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route's answers that depend on its service (413, 415, 429, …)."""
    return {code: {"description": DESCRIPTIONS[code]} for code in codes}


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for dep in dependant.dependencies:
        if dep.call is not None:
            yield dep.call
        yield from _calls(dep)


def _params(dependant: Dependant) -> Iterator[tuple[str, str]]:
    for kind in ("path", "query", "header", "cookie", "body"):
        for field in getattr(dependant, f"{kind}_params"):
            yield kind, field.name
    for dep in dependant.dependencies:
        yield from _params(dep)


def error_codes(route: Any, method: str, login: Callable[..., Any]) -> set[int]:
    """`route`: an APIRoute (or FastAPI's view of one inside an included router); `login`: the dependency
    that authenticates a request (a route depending on it may answer 401)."""
    calls = set(_calls(route.dependant))
    params = set(_params(route.dependant))
    kinds = {kind for kind, _ in params}
    codes: set[int] = set()
    if login in calls:
        codes.add(401)
        if method not in SAFE_METHODS or any(c.__qualname__.startswith("require.") for c in calls):
            codes.add(403)
    if "path" in kinds:
        codes |= {404, 422}
    if kinds or route.body_field is not None:
        codes.add(422)
    if route.body_field is not None or "body" in kinds:
        codes.add(400)
    if method not in SAFE_METHODS:
        codes.add(409)
    return codes


def names_ids(schema: Any, doc: dict[str, Any]) -> bool:
    """Does this (part of a) request body hold a row id (`Id`: an integer up to 2^63)?"""
    stack, seen = [schema], set()
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            if item.get("type") == "integer" and item.get("exclusiveMaximum") == MAX_ID + 1:
                return True
            ref = item.get("$ref")
            if isinstance(ref, str) and ref not in seen:
                seen.add(ref)
                stack.append(doc["components"]["schemas"].get(ref.rsplit("/", 1)[-1], {}))
            stack.extend(v for k, v in item.items() if k != "$ref")
    return False


def _error_response(existing: dict[str, Any] | None, code: int) -> dict[str, Any]:
    description = (existing or {}).get("description") or DESCRIPTIONS.get(code, "Error")
    if existing and existing.get("description") == "Validation Error":  # FastAPI's default 422
        description = DESCRIPTIONS[422]
    return {"description": description, "content": {"application/json": {"schema": {"$ref": ERROR_REF}}}}


def add_error_responses(app: FastAPI, doc: dict[str, Any], login: Callable[..., Any]) -> None:
    for route in routes(app):
        if not isinstance(getattr(route, "original_route", route), APIRoute) or not route.include_in_schema:
            continue
        for method in route.methods:
            op = doc["paths"].get(route.path_format, {}).get(method.lower())
            if op is None:
                continue
            responses = op.setdefault("responses", {})
            declared = {int(c) for c in responses if str(c).isdigit() and int(c) >= 400}
            if any(p.get("name") == CONTACT_TOKEN for p in op.get("parameters", [])):
                declared.add(401)  # the widget's visitor token
            if names_ids(op.get("requestBody", {}), doc):
                declared.add(404)
            for code in sorted(error_codes(route, method, login) | declared):
                responses[str(code)] = _error_response(responses.get(str(code)), code)
            op["responses"] = dict(sorted(responses.items()))
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    body = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(body.pop("$defs", {}))
    schemas["ErrorBody"] = body
    doc["components"]["schemas"] = dict(sorted(schemas.items()))


def install(app: FastAPI, *, login: Callable[..., Any]) -> None:
    """Generate the document as FastAPI does, then declare every operation's error answers in it. `login`:
    the dependency that authenticates (core does not know auth: create_app passes it)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            add_error_responses(app, generate(), login)
        assert app.openapi_schema is not None
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
