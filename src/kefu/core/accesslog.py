"""Secrets never reach the access log: query parameters that may carry one (an API token, a contact token,
a socket ticket) are replaced by `***` in uvicorn's request and WebSocket log lines. kefu itself takes no
secret from a URL any more; this covers clients that still send one (and the logs of those requests)."""

from __future__ import annotations

import logging
import re

SECRET_PARAMS = ("token", "access_token", "ticket", "api_key", "key_secret")
_SECRET = re.compile(r"(?i)([?&](?:" + "|".join(SECRET_PARAMS) + r")=)[^&\s\"]*")
LOGGERS = ("uvicorn.access", "uvicorn.error")


def scrub(text: str) -> str:
    return _SECRET.sub(r"\1***", text) if "?" in text else text


class ScrubSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(scrub(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.msg, str):
            record.msg = scrub(record.msg)
        return True


def install_access_log_filter() -> None:
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, ScrubSecrets) for f in logger.filters):
            logger.addFilter(ScrubSecrets())
