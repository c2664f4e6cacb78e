"""deploy/Dockerfile and deploy/compose.yaml cannot be built here (no container registry is reachable), so
this checks what can drift without a build: every `kefu` command line they run parses against kefu's own
command line, every KEFU_* variable they set is a setting, the services are the ones documented, and nginx's
upstreams and trusted address match the compose services (docs/operations.md#containers)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml

from kefu.cli.main import app
from kefu.settings import Settings
from tests.ops.support import ROOT

DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
DOCKERFILE = DEPLOY / "Dockerfile"


def _compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def _dockerfile_commands() -> list[list[str]]:
    """The exec-form CMD and HEALTHCHECK CMD arrays of the Dockerfile."""
    text = DOCKERFILE.read_text(encoding="utf-8")
    return [json.loads(m) for m in re.findall(r"^(?:HEALTHCHECK .*?)?CMD (\[.*\])$", text, flags=re.M)]


def _kefu_command_lines() -> list[list[str]]:
    lines = [s["command"] for s in _compose()["services"].values() if isinstance(s.get("command"), list)]
    lines += _dockerfile_commands()
    return [line for line in lines if line[0] == "kefu"]


def _commands() -> dict[str, Any]:
    """kefu's command-line commands by name (Typer's click objects)."""
    return typer.main.get_command(app).commands  # type: ignore[attr-defined,no-any-return]


def test_every_kefu_command_line_parses_against_kefu() -> None:
    commands = _commands()
    lines = _kefu_command_lines()
    assert sorted({line[1] for line in lines}) == ["migrate", "serve", "worker"]
    for line in lines:
        command = commands.get(line[1])
        assert command is not None, f"kefu has no command {line[1]!r} ({' '.join(line)})"
        ctx = command.make_context(line[1], list(line[2:]), resilient_parsing=False)  # raises on unknown options
        assert ctx.params is not None


def test_an_unknown_option_would_be_caught() -> None:
    with pytest.raises(Exception, match=r"^No such option: --listen$"):
        _commands()["serve"].make_context("serve", ["--listen", "0.0.0.0"])


def test_every_kefu_variable_is_a_setting() -> None:
    for path in (COMPOSE, DOCKERFILE, DEPLOY / "nginx.conf"):
        names = set(re.findall(r"\bKEFU_[A-Z0-9_]+", path.read_text(encoding="utf-8")))
        unknown = {n for n in names if n.removeprefix("KEFU_").lower() not in Settings.model_fields}
        assert not unknown, f"{path.name} uses variables kefu does not read: {sorted(unknown)}"
    env = _compose()["services"]["app1"]["environment"]
    assert set(env) == {
        "KEFU_ENV",
        "KEFU_DATABASE_URL",
        "KEFU_REDIS_URL",
        "KEFU_SECRET_KEY",
        "KEFU_BASE_URL",
        "KEFU_TRUSTED_PROXIES",
    }


def test_services_mirror_scale_out_mode_and_the_readme() -> None:
    services = _compose()["services"]
    assert set(services) == {"postgres", "redis", "migrate", "app1", "app2", "worker", "nginx"}
    kefu = {name for name, s in services.items() if s.get("command", [""])[0] == "kefu"}
    assert kefu == {"migrate", "app1", "app2", "worker"}
    assert all(services[n]["environment"] == services["app1"]["environment"] for n in kefu)  # one configuration
    for n in ("app1", "app2", "worker"):
        assert services[n]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
    assert services["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for line in _kefu_command_lines():
        assert f"`kefu {line[1]}" in readme, f"README.md does not document kefu {line[1]}"
    assert "CI does not build" in readme
    for source in re.findall(r"^COPY (?!--from)(\S+)", DOCKERFILE.read_text(encoding="utf-8"), flags=re.M):
        assert (ROOT / source).exists(), f"the Dockerfile copies {source}, which is not in the repository"


def test_nginx_fronts_the_app_services_and_is_the_one_trusted_proxy() -> None:
    compose = _compose()
    services = compose["services"]
    nginx = services["nginx"]
    assert nginx["volumes"] == ["./nginx.conf:/etc/nginx/conf.d/default.conf:ro"]  # the file test_nginx.py runs
    conf = (DEPLOY / "nginx.conf").read_text(encoding="utf-8")
    upstreams = re.findall(r"^ +server (\w+):(\d+) ", conf, flags=re.M)
    serving = {n: s["command"] for n, s in services.items() if s.get("command", [None, None])[1] == "serve"}
    assert sorted(upstreams) == sorted((n, cmd[cmd.index("--port") + 1]) for n, cmd in serving.items())
    address = nginx["networks"]["kefu"]["ipv4_address"]
    assert services["app1"]["environment"]["KEFU_TRUSTED_PROXIES"] == address
    subnet = compose["networks"]["kefu"]["ipam"]["config"][0]["subnet"]
    assert address.rsplit(".", 1)[0] == subnet.split("/")[0].rsplit(".", 1)[0]


def test_the_compose_file_names_files_that_exist() -> None:
    build = _compose()["services"]["app1"]["build"]
    assert (COMPOSE.parent / build["context"] / build["dockerfile"]).resolve() == DOCKERFILE.resolve()
    assert Path(COMPOSE.parent / "nginx.conf").is_file()
