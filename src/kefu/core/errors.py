"""Domain errors: services raise these, the app turns them into precise 4xx JSON."""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    BAD_REQUEST = "bad_request"
    INVALID_JSON = "invalid_json"
    VALIDATION = "validation_error"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    CONFLICT = "conflict"
    TOO_LARGE = "too_large"
    UNSUPPORTED_TYPE = "unsupported_media_type"
    RATE_LIMITED = "rate_limited"
    CSRF = "csrf_failed"
    UNAVAILABLE = "unavailable"


class KefuError(Exception):
    status_code = 400
    code = ErrorCode.BAD_REQUEST

    def __init__(self, message: str, *, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": {"code": str(self.code), "message": self.message}}
        if self.details is not None:
            body["error"]["details"] = self.details
        return body


class BadRequest(KefuError):
    pass


class NotFound(KefuError):
    status_code = 404
    code = ErrorCode.NOT_FOUND

    def __init__(self, what: str, ident: object | None = None) -> None:
        msg = f"{what} not found" if ident is None else f"{what} {ident} not found"
        super().__init__(msg)


class Unauthorized(KefuError):
    status_code = 401
    code = ErrorCode.UNAUTHORIZED


class Forbidden(KefuError):
    status_code = 403
    code = ErrorCode.FORBIDDEN


class Conflict(KefuError):
    status_code = 409
    code = ErrorCode.CONFLICT


class TooLarge(KefuError):
    status_code = 413
    code = ErrorCode.TOO_LARGE


class UnsupportedType(KefuError):
    status_code = 415
    code = ErrorCode.UNSUPPORTED_TYPE


class Unprocessable(KefuError):
    """A well-formed request whose content cannot be accepted (e.g. an empty file)."""

    status_code = 422
    code = ErrorCode.VALIDATION


class RateLimited(KefuError):
    status_code = 429
    code = ErrorCode.RATE_LIMITED

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Unavailable(KefuError):
    """The server cannot finish the request in time (e.g. the database is stuck); safe to retry."""

    status_code = 503
    code = ErrorCode.UNAVAILABLE

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class CsrfFailed(KefuError):
    status_code = 403
    code = ErrorCode.CSRF
