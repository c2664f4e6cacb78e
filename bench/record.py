"""Run a benchmark or eval command and record its result for docs/benchmarks.md and its charts.

    .venv/bin/python bench/record.py NAME -- COMMAND [ARGS…]

COMMAND must print one JSON object as its last line (`kefu bench ingest --json`, `kefu eval … --json`,
`bench/nlu_latency.py --json`, `bench/bot_e2e.py --json`). The record — the command line, when it ran, the
machine (cores, memory, load average before the run) and the JSON — is written to docs/results/NAME.json;
`kefu bench charts` draws the charts from those records. Nothing is typed in by hand: a number in a chart is
a number a command printed.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

RESULTS = Path(__file__).resolve().parents[1] / "docs" / "results"


def _machine() -> dict[str, object]:
    mem_kib = 0
    with open("/proc/meminfo", encoding="ascii") as fp:
        for line in fp:
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    return {"cpus": os.cpu_count(), "memory_gib": round(mem_kib / 2**20, 1), "load_before": os.getloadavg()[0]}


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] != "--":
        print(__doc__, file=sys.stderr)
        return 2
    name, command = argv[0], argv[2:]
    machine = _machine()
    started = datetime.now(UTC)
    proc = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=False)
    sys.stdout.write(proc.stdout)
    if proc.returncode != 0:
        print(f"record: the command exited with {proc.returncode}; nothing recorded", file=sys.stderr)
        return proc.returncode
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    try:
        result = json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        print("record: the command's last line is not a JSON object; nothing recorded", file=sys.stderr)
        return 1
    record = {
        "name": name,
        "command": shlex.join(command),
        "started_at": started.isoformat(timespec="seconds"),
        "seconds": round((datetime.now(UTC) - started).total_seconds(), 1),
        "machine": machine,
        "result": result,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"{name}.json"
    out.write_text(json.dumps(record, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"record: {out.relative_to(RESULTS.parents[1])}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
