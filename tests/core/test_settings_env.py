"""Every KEFU_* variable is read through Settings (src/kefu/settings.py), and every Settings field is listed
in the README's configuration table."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kefu.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "kefu"
# an environment read naming a KEFU_ variable: os.environ["KEFU_X"], os.environ.get("KEFU_X"), os.getenv(…)
ENV_READ = re.compile(r"""(?:environ(?:\.get)?|getenv)\s*[\[(]\s*(?:f?["'])KEFU_""")


def env_reads(text: str) -> list[str]:
    return [f"{n}: {line.strip()}" for n, line in enumerate(text.splitlines(), 1) if ENV_READ.search(line)]


@pytest.mark.parametrize(
    ("line", "found"),
    [
        ('key = os.environ.get("KEFU_EMBEDDER_API_KEY") or None', True),
        ("n = os.environ['KEFU_EMBEDDER_THREADS']", True),
        ('on = os.getenv("KEFU_FINETUNE", "1")', True),
        ('env = {"KEFU_DATABASE_URL": settings.database_url}', False),  # setting a child's environment
        ('os.environ.setdefault("OMP_NUM_THREADS", "2")', False),
    ],
)
def test_the_check_spots_an_environment_read(line: str, found: bool) -> None:
    assert bool(env_reads(line)) is found


def test_only_settings_reads_kefu_variables_from_the_environment() -> None:
    offenders = {
        str(path.relative_to(ROOT)): lines
        for path in sorted(SRC.rglob("*.py"))
        if path != SRC / "settings.py" and (lines := env_reads(path.read_text(encoding="utf-8")))
    }
    assert offenders == {}


def configuration_section() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index("## Configuration")
    end = readme.index("\n## ", start + 1)
    return readme[start:end]


def test_every_setting_is_in_the_readme_table() -> None:
    table = configuration_section()
    missing = [name for name in Settings.model_fields if f"`KEFU_{name.upper()}`" not in table]
    assert missing == []


def test_the_readme_table_names_only_real_settings() -> None:
    named = set(re.findall(r"`KEFU_([A-Z0-9_]+)`", configuration_section()))
    assert sorted(n for n in named if n.lower() not in Settings.model_fields) == []
