"""The layers of docs/architecture.md hold: `lint-imports` runs the contracts in pyproject.toml
([tool.importlinter]), so `pytest` alone catches a violation too. The second test shows the same contracts
break on a package that violates them with imports inside functions (which a look at sys.modules after
import would miss)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = str(Path(sys.executable).with_name("lint-imports"))


def lint_imports(*args: str, cwd: Path = ROOT, pythonpath: str | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = pythonpath
    return subprocess.run(
        [LINT_IMPORTS, "--no-cache", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def contracts() -> dict[str, Any]:
    config: dict[str, Any] = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    return config


def test_kefus_imports_keep_every_contract() -> None:
    config = contracts()
    ids = {c["id"] for c in config["contracts"]}
    assert ids >= {"nlp-standalone", "nlp-no-web-or-database", "core-plumbing", "layers"}
    done = lint_imports()
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"Contracts: {len(config['contracts'])} kept, 0 broken." in done.stdout


def _toy_config(config: dict[str, Any]) -> str:
    """kefu's contracts with `kefu` renamed `toy`, as TOML."""

    def rename(value: Any) -> Any:
        if isinstance(value, str):
            return value.replace("kefu", "toy")
        if isinstance(value, list):
            return [rename(v) for v in value]
        return value

    top = {k: v for k, v in config.items() if k != "contracts"}
    lines = ["[tool.importlinter]", *(f"{k} = {json.dumps(rename(v))}" for k, v in top.items()), ""]
    for contract in config["contracts"]:
        lines.append("[[tool.importlinter.contracts]]")
        lines += [f"{key} = {json.dumps(rename(value), ensure_ascii=False)}" for key, value in contract.items()]
        lines.append("")
    return "\n".join(lines)


def _toy_package(root: Path, config: dict[str, Any], violations: dict[str, str]) -> None:
    """A package `toy` with a module for every layer of the contracts, core importing settings and nlp as
    kefu's does, and `violations`: module → an import made inside a function."""
    modules = {"toy.settings", "toy.nlp.embed", "toy.core.state", "toy.core.clock", *violations}
    for contract in config["contracts"]:
        for layer in contract.get("layers", []):
            modules |= {m.strip().replace("kefu", "toy") for part in layer.split("|") for m in part.split(":")}
    body = {
        "toy.core.state": "from toy.settings import X\nfrom toy.nlp.embed import Y\n",
        "toy.settings": "X = 1\n",
        "toy.nlp.embed": "Y = 1\n",
    }
    for name, target in violations.items():
        body[name] = f"def later():\n    import {target}\n"
    for name in sorted(modules):
        parts = name.split(".")
        for i in range(1, len(parts) + 1):
            package = root.joinpath(*parts[:i])
            package.mkdir(exist_ok=True)
            (package / "__init__.py").touch()
        (root.joinpath(*parts) / "__init__.py").write_text(body.get(name, ""))


def test_the_contracts_catch_imports_inside_functions(tmp_path: Path) -> None:
    config = contracts()
    violations = {
        "toy.nlp.entities": "toy.core.clock",  # nlp reading kefu's clock
        "toy.nlp.store": "sqlalchemy",  # nlp reaching for the database
        "toy.core.jobs": "toy.bot.tasks",  # core registering a domain's jobs
        "toy.knowledge.suggestions": "toy.bot.policy",  # knowledge importing the bot above it
    }
    (tmp_path / "pyproject.toml").write_text(_toy_config(config))
    _toy_package(tmp_path, config, violations)
    broken = lint_imports(cwd=tmp_path, pythonpath=str(tmp_path))
    assert broken.returncode == 1, broken.stdout + broken.stderr
    out = broken.stdout
    assert f"Contracts: 0 kept, {len(config['contracts'])} broken." in out, out
    for importer, imported in violations.items():
        # "-   a -> b (l.2)"; the layers contract names the package of `imported`
        assert re.search(rf"-\s+{re.escape(importer)} -> {re.escape(imported.rsplit('.', 1)[0])}", out), out

    allowed = {  # the same imports inside functions, in directions the layers allow
        "toy.nlp.entities": "toy.nlp.embed",
        "toy.nlp.store": "numpy",
        "toy.core.jobs": "toy.settings",
        "toy.knowledge.suggestions": "toy.core.clock",
    }
    _toy_package(tmp_path, config, allowed)
    kept = lint_imports(cwd=tmp_path, pythonpath=str(tmp_path))
    assert kept.returncode == 0, kept.stdout + kept.stderr
