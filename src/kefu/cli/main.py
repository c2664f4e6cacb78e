"""Entry point of the `kefu` console script."""

from __future__ import annotations

import asyncio
import getpass
from typing import TYPE_CHECKING

import typer

from kefu.cli.bench import bench_app
from kefu.cli.check import check_command
from kefu.cli.eval import eval_app
from kefu.cli.ops import backup_command, migrate_command, restore_command
from kefu.cli.simulate import simulate_command, staffing_command
from kefu.settings import Settings
from kefu.settings import get_settings as _load_settings

if TYPE_CHECKING:
    from kefu.nlp.embed import Embedder

app = typer.Typer(help="kefu (客服) — AI customer-service platform.", no_args_is_help=True)


def get_settings() -> Settings:
    """The settings, or one line on stderr and exit code 2 when the environment is not acceptable (e.g. a
    weak KEFU_SECRET_KEY in production) — not a validation traceback."""
    from pydantic import ValidationError

    try:
        return _load_settings()
    except ValidationError as exc:
        problems = "; ".join(_problem(e) for e in exc.errors())
        typer.echo(f"error: {problems}", err=True)
        raise typer.Exit(2) from None


def _problem(error: object) -> str:
    err = dict(error)  # type: ignore[call-overload]
    msg = str(err.get("msg", "")).removeprefix("Value error, ")
    loc = ".".join(str(p) for p in err.get("loc", ()))
    return f"KEFU_{loc.upper()}: {msg}" if loc else msg


app.add_typer(eval_app, name="eval")
app.add_typer(bench_app, name="bench")
app.command("simulate")(simulate_command)
app.command("staffing")(staffing_command)
app.command("check")(check_command)
app.command("migrate")(migrate_command)
app.command("backup")(backup_command)
app.command("restore")(restore_command)


@app.command()
def serve(
    host: str = typer.Option(None, help="bind address"),
    port: int = typer.Option(None, help="port"),
    workers: int = typer.Option(1, help="uvicorn worker processes (scale-out mode only)"),
    log_level: str = typer.Option("info", help="uvicorn log level"),
) -> None:
    """Serve the web app, REST API and WebSockets."""
    import uvicorn

    from kefu.cli.process import configure_logging, prepare_metrics_dir

    settings = get_settings()
    log_config = configure_logging(settings, log_level)
    if workers > 1 and settings.embedded:
        raise typer.BadParameter("several workers need KEFU_REDIS_URL (embedded mode is one process)")
    if workers > 1:
        prepare_metrics_dir()
    uvicorn.run(
        "kefu.main:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        log_level=log_level,
        proxy_headers=False,  # kefu reads X-Forwarded-For itself, from KEFU_TRUSTED_PROXIES only
        ws="websockets-sansio",
        log_config=log_config,  # applied in every worker process (KEFU_LOG_FORMAT)
        # The one keep-alive: protocol pings (the widget sends none of its own), KEFU_WS_PING_S apart.
        ws_ping_interval=settings.ws_ping_s or None,
        ws_ping_timeout=settings.ws_ping_timeout_s,
        ws_per_message_deflate=settings.ws_deflate,
    )


@app.command()
def worker() -> None:
    """Run background jobs from Redis (scale-out mode)."""
    from kefu.cli.process import configure_logging
    from kefu.core.worker import run_worker
    from kefu.main import register_channels, register_jobs

    settings = get_settings()
    configure_logging(settings, "info")
    register_jobs()
    register_channels()
    run_worker(settings)


def settings_embedder() -> Embedder:
    """The embedder KEFU_EMBEDDER & co. configure (built on first use), as `kefu serve` would use."""
    from kefu.core.embedding import embedder_from_settings

    return embedder_from_settings(get_settings())


@app.command("seed-demo")
def seed_demo() -> None:
    """Create the demo account (idempotent) and print its logins."""
    from kefu.demo.seed import seed_demo as seed

    async def run() -> None:
        from kefu.bot import nlu
        from kefu.core.db import make_engine, make_sessionmaker
        from kefu.core.embedding import embedder_from_settings

        settings = get_settings()
        nlu.use_embedder(embedder_from_settings(settings), fine_tune=settings.finetune)  # it trains intents
        engine = make_engine(settings.database_url)
        async with make_sessionmaker(engine)() as session:
            info = await seed(session, max_chars=settings.max_message_chars, base_url=settings.base_url)
        await engine.dispose()
        typer.echo("demo account " + ("created" if info.created else "already there"))
        base = settings.base_url.rstrip("/")
        typer.echo(f"  workspace:  {base}/login")
        typer.echo(f"  demo page with the chat widget:  {base}/demo?inbox={info.widget_key}")
        for email, password, role in info.users:
            typer.echo(f"  {role:<11} {email:<24} password: {password}")

    asyncio.run(run())


@app.command("create-admin")
def create_admin(
    email: str = typer.Option(..., prompt=True),
    name: str = typer.Option("Admin", prompt=True),
    account: str = typer.Option("My company", help="name of the new account"),
    password: str = typer.Option(None, help="omit to be asked"),
) -> None:
    """Create a new account with its first admin (one transaction: both or neither)."""
    from pydantic import ValidationError

    from kefu.accounts.service import do_create_account
    from kefu.auth.schemas import UserCreate
    from kefu.auth.service import check_create_user
    from kefu.core.constants import ActorType, Role
    from kefu.core.db import make_engine, make_sessionmaker
    from kefu.core.errors import KefuError
    from kefu.core.events import Actor

    try:
        data = UserCreate(
            email=email, name=name, password=password or getpass.getpass("password (8+ characters): "), role=Role.ADMIN
        )
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        typer.echo(f"error: {problems}", err=True)
        raise typer.Exit(1) from None

    async def run() -> None:
        settings = get_settings()
        engine = make_engine(settings.database_url)
        try:
            async with make_sessionmaker(engine)() as session:
                acc = await do_create_account(session, account)  # flushed, committed with the user
                user = await check_create_user(session, acc.id, data, Actor(ActorType.SYSTEM))
                typer.echo(f"created account {acc.id} with admin {user.email}")
        finally:
            await engine.dispose()

    try:
        asyncio.run(run())
    except KefuError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from None


@app.command()
def openapi(out: str = typer.Option("-", help="file to write, or - for stdout")) -> None:
    """Print the OpenAPI document (docs/openapi.json is this output, checked for drift by the tests)."""
    import json

    from kefu.main import create_app

    text = json.dumps(create_app().openapi(), ensure_ascii=False, indent=1, sort_keys=True) + "\n"
    if out == "-":
        typer.echo(text, nl=False)
    else:
        with open(out, "w", encoding="utf-8") as fh:
            fh.write(text)


def _safe_url(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return scheme + "://…@" + rest.split("@", 1)[1]
    return url
