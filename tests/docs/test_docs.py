"""The documentation describes the product, not the work that made it: no work-log wording ("session 4",
"issue 3 status", "this session") in the docs, the README or the source; and docs/benchmarks.md stays tied
to its records — every run it names has a record in docs/results whose command it shows, and its links
resolve."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
BENCHMARKS = DOCS / "benchmarks.md"
DATA = "/work/shared/data"  # the records' data folder, written `$D` in benchmarks.md

# wording of a work log; compiled case-insensitively
DIARY = [r"\bsessions? \d", r"\bissue \d+ status", r"this session"]


def checked_files() -> list[Path]:
    files = [ROOT / "README.md", *DOCS.rglob("*.md"), *(ROOT / "src").rglob("*.py"), *(ROOT / "src").rglob("*.md")]
    files += (ROOT / "bench").rglob("*.py")
    return sorted(files)


def diary_lines(text: str) -> list[str]:
    pattern = re.compile("|".join(DIARY), re.IGNORECASE)
    return [f"{n}: {line.strip()}" for n, line in enumerate(text.splitlines(), 1) if pattern.search(line)]


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("## Session 5 (2026-12-01) — what still misses", True),
        ("same kind of machine as sessions 2–3", True),
        ("fine-tuned upper layers; issue 3 status", True),
        ("bot end to end on this session's (slower) machine", True),
        ("Issue 12 Status: done", True),
        ("the session cookie authenticates it; `do_start_session`", False),
        ("async with state.sessionmaker() as session:", False),
        ("a session of 3 requests", False),
    ],
)
def test_the_diary_patterns_catch_work_log_wording_only(text: str, found: bool) -> None:
    assert bool(diary_lines(text)) is found


def test_the_checked_files_include_docs_readme_source_and_bench() -> None:
    names = {p.relative_to(ROOT).as_posix() for p in checked_files()}
    assert {"README.md", "docs/benchmarks.md", "docs/results/history.md", "src/kefu/main.py"} <= names
    assert "bench/bot_e2e.py" in names
    assert "docs/openapi.json" not in names


def test_no_work_log_wording_in_docs_readme_or_source() -> None:
    found = {
        p.relative_to(ROOT).as_posix(): lines
        for p in checked_files()
        if (lines := diary_lines(p.read_text(encoding="utf-8")))
    }
    assert found == {}, "describe the product (figure, command, machine, date), not the work: " + json.dumps(
        found, ensure_ascii=False, indent=1
    )


def _run_rows() -> dict[str, str]:
    """Rows of benchmarks.md's run tables (`| run | command | machine | date (UTC) |`), by run name."""
    rows: dict[str, str] = {}
    in_runs = False
    for line in BENCHMARKS.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")] if line.startswith("|") else []
        if not cells:
            in_runs = False
        elif cells[:2] == ["run", "command"]:
            in_runs = True
        elif in_runs and not set(cells[0]) <= {"-"}:
            rows[cells[0]] = line
    return rows


def test_every_run_in_benchmarks_md_has_its_record_and_shows_its_command() -> None:
    rows = _run_rows()
    assert len(rows) >= 15  # one per record shown
    for name, row in rows.items():
        record = json.loads((DOCS / "results" / f"{name}.json").read_text(encoding="utf-8"))
        assert record["name"] == name
        command = record["command"].replace(DATA, "$D")
        assert f"{command}`" in row, f"{name}: benchmarks.md does not show the recorded command {command!r}"
        assert record["started_at"][:16].replace("T", " ") in row, f"{name}: date differs from the record"


@pytest.mark.parametrize("page", ["benchmarks.md", "results/history.md"])
def test_relative_links_resolve(page: str) -> None:
    path = DOCS / page
    for target in re.findall(r"\]\(([^)\s]+)\)", path.read_text(encoding="utf-8")):
        if "://" in target:
            continue
        file = target.partition("#")[0]
        assert (path.parent / file).resolve().exists(), f"{page}: broken link {target}"
