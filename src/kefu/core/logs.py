"""Logging: the request id, the JSON line format, and the logging configuration of `kefu serve` / `kefu worker`
(docs/operations.md "Logs").

- Every HTTP request gets a request id (the client's `X-Request-Id` when it is a plain token of at most 64
  characters, else a new one); the response returns it in `X-Request-Id`, and work started on the request's
  behalf carries it: tasks inherit the context variable, queued jobs take it along (core/jobs.py).
- With `KEFU_LOG_FORMAT=json` every log line is one JSON object (`LINE_FIELDS` first, then the record's
  own fields): one `kefu.request` line per request, one `kefu.job` line per job, and whatever else logs.
- Secrets never reach a line: no query strings, headers or job arguments are logged, and every message
  passes `redact` (tokens in query strings, `Bearer …`, passwords in URLs, `secret=`/`password=` pairs).
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import traceback
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from kefu.core.accesslog import scrub

REQUEST_ID_HEADER = "X-Request-Id"
REQUEST_ID: ContextVar[str | None] = ContextVar("kefu_request_id", default=None)
_CLIENT_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
# The fields every JSON line starts with; request lines add method, path, route, status, duration_ms, client;
# job lines add job, job_id, status, duration_ms.
LINE_FIELDS = ("ts", "level", "logger", "msg", "request_id")
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+")
_URL_PASSWORD = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^:/@\s]*):[^@/\s]+@")
_PAIRS = re.compile(r"(?i)\b(password|passwd|secret|secret_key|api_key|token|metrics_token)=([^&\s,;\"']+)")
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}


def new_request_id(offered: str | None = None) -> str:
    """The client's id when it is a plain token (so a proxy's id joins the two logs), else a new one."""
    if offered and _CLIENT_ID.match(offered):
        return offered
    return secrets.token_hex(8)


def redact(text: str) -> str:
    text = scrub(text)
    text = _BEARER.sub(r"\1 ***", text)
    text = _URL_PASSWORD.sub(r"\1:***@", text)
    return _PAIRS.sub(r"\1=***", text)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts (UTC, ISO 8601), level, logger, msg, request_id, then the record's extra
    fields (`log.info("request", extra={...})`), then `exc` with the traceback when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": redact(record.getMessage()),
            "request_id": getattr(record, "request_id", None) or REQUEST_ID.get(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in line:
                line[key] = redact(value) if isinstance(value, str) else value
        if record.exc_info:
            line["exc"] = redact("".join(traceback.format_exception(*record.exc_info)))
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """The plain format, with the same redaction."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def logging_config(log_format: str, level: str = "INFO") -> dict[str, Any]:
    """A `logging.config.dictConfig` for kefu's processes (uvicorn applies it in every worker process).

    json: every logger writes JSON lines to stderr, uvicorn's access log is off (kefu.request replaces it).
    text: the familiar `LEVEL: logger: message` lines with uvicorn's access log; request and job lines are
    not written (they are what the JSON format is for)."""
    json_mode = log_format == "json"
    formatter = (
        {"()": "kefu.core.logs.JsonFormatter"}
        if json_mode
        else {"()": "kefu.core.logs.TextFormatter", "format": "%(levelname)s:     %(name)s: %(message)s"}
    )
    quiet = "INFO" if json_mode else "WARNING"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"kefu": formatter},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "kefu", "stream": "ext://sys.stderr"}},
        "root": {"handlers": ["stderr"], "level": level.upper()},
        "loggers": {
            "uvicorn": {"handlers": [], "propagate": True, "level": level.upper()},
            "uvicorn.error": {"handlers": [], "propagate": True, "level": level.upper()},
            "uvicorn.access": {"handlers": [], "propagate": not json_mode, "level": level.upper()},
            "kefu.request": {"level": quiet},
            "kefu.job": {"level": quiet},
        },
    }
