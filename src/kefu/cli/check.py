"""`kefu check`: the effective configuration with its secrets masked, then every problem found — settings
that are refused (a weak secret in production, a malformed value), a database that does not answer or is
not at the migration head, a Redis that does not answer — exiting 1 when there is one (docs/operations.md
"kefu check"). It changes nothing: a missing SQLite file is reported, never created."""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from pydantic import ValidationError

from kefu.core.logs import redact
from kefu.settings import Settings, weak_secret

if TYPE_CHECKING:
    from kefu.core.readiness import Check

REFUSED = "(refused: see the problems below)"
SECRET_FIELDS = frozenset({"secret_key", "embedder_api_key", "metrics_token"})
URL_FIELDS = frozenset({"database_url", "redis_url"})


def check_command() -> None:
    """Print the effective configuration (secrets masked) and every problem found; exit 1 on a problem."""
    problems: list[str] = []
    settings = _load(problems)
    if settings is None:
        _finish(problems)
        return
    typer.echo("configuration (KEFU_* environment variables; secrets masked):")
    for line in describe(settings):
        typer.echo("  " + line)
    problems.extend(policy_problems(settings))
    typer.echo("checks:")
    db = settings.sqlite_path()
    missing = db if db is not None and not db.exists() else None
    for check in asyncio.run(_dependencies(settings, missing)):
        typer.echo(f"  {'ok  ' if check.ok else 'FAIL'}  {check.name}: {check.detail}")
        if not check.ok and not check.detail.startswith("not checked"):
            problems.append(f"{check.name}: {check.detail}")
    _finish(problems)


def _finish(problems: list[str]) -> None:
    if not problems:
        typer.echo("no problems found")
        return
    typer.echo(f"{len(problems)} problem{'s' if len(problems) > 1 else ''}:", err=True)
    for problem in problems:
        typer.echo(f"  - {problem}", err=True)
    raise typer.Exit(1)


def _load(problems: list[str]) -> Settings | None:
    """The settings; when they are refused, the reasons go to `problems` and the rest is still checked with
    a throw-away secret in place of the refused one (None when even that is refused)."""
    try:
        return Settings()
    except ValidationError as exc:
        problems.extend(_messages(exc))
    try:
        settings = Settings(secret_key=secrets.token_urlsafe(32))
    except ValidationError as exc:
        problems.extend(m for m in _messages(exc) if m not in problems)
        return None
    settings.secret_key = REFUSED
    return settings


def _messages(exc: ValidationError) -> list[str]:
    out = []
    for error in exc.errors():
        msg = str(error.get("msg", "")).removeprefix("Value error, ")
        loc = ".".join(str(p) for p in error.get("loc", ()))
        out.append(redact(f"KEFU_{loc.upper()}: {msg}" if loc else msg))
    return out


def describe(settings: Settings) -> list[str]:
    """One `KEFU_NAME  value` line per setting, secrets masked, `(default)` after a default value."""
    lines = []
    for name, info in sorted(Settings.model_fields.items()):
        value = getattr(settings, name)
        if value == REFUSED:
            shown = value
        elif name in SECRET_FIELDS:
            shown = "*** (set)" if value else "(unset)"
        elif name in URL_FIELDS:
            shown = redact(str(value)) if value else "(unset)"
        else:
            shown = "(unset)" if value is None else "(empty)" if value == "" else str(value)
        default = "  (default)" if value == info.default else ""
        lines.append(f"KEFU_{name.upper():<30} {shown}{default}")
    return lines


def policy_problems(settings: Settings) -> list[str]:
    """What the settings allow but production must not have."""
    problems = []
    if settings.env == "prod" and settings.metrics_token and (why := weak_secret(settings.metrics_token)):
        problems.append(f"KEFU_METRICS_TOKEN {why}")
    if settings.env not in ("dev", "test", "prod"):
        problems.append(f"KEFU_ENV must be dev, test or prod (it is {settings.env!r})")
    return problems


async def _dependencies(settings: Settings, missing_sqlite: Path | None) -> list[Check]:
    from kefu.core.db import make_engine
    from kefu.core.readiness import Check, check_database, check_redis

    checks: list[Check] = []
    if missing_sqlite is not None:
        msg = f"the SQLite file {missing_sqlite} does not exist: run `kefu migrate`"
        checks.append(Check("database", False, msg))
    else:
        engine = make_engine(settings.database_url, pool_size=1)
        try:
            checks.extend(await check_database(engine))
        finally:
            await engine.dispose()
    checks.append(await check_redis(settings.redis_url))
    return checks
