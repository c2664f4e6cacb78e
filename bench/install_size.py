"""The size of the environment `make install` builds (what `make run` needs), from a fresh copy of the repository.

    python3 bench/install_size.py [--finetune] [--json]

Exports HEAD (`git archive`) into a temporary folder, runs `make install` there (with `FINETUNE=1` when
--finetune is given) and reports the size of the new `.venv`, the time it took, and which heavy or test-only
packages it holds (PyTorch, NVIDIA libraries, Playwright, pytest). Packages come from the machine's pip
configuration, as for any install; the folder is removed afterwards.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WATCH = ("torch", "nvidia", "playwright", "pytest")


def _size(path: Path) -> int:
    return sum(p.lstat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--finetune", action="store_true", help="make install FINETUNE=1")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="kefu-install-"))
    try:
        archive = subprocess.run(["git", "archive", "HEAD"], cwd=ROOT, check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(work)], input=archive, check=True)
        start = time.perf_counter()
        target = ["make", "install", *(["FINETUNE=1"] if args.finetune else [])]
        subprocess.run(target, cwd=work, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        seconds = time.perf_counter() - start
        venv = work / ".venv"
        site = next((venv / "lib").glob("python3*/site-packages"))
        names = sorted(p.name.lower() for p in site.iterdir())
        out = {
            "finetune": args.finetune,
            "venv_mb": round(_size(venv) / 2**20, 1),
            "torch_mb": round(_size(site / "torch") / 2**20, 1) if (site / "torch").is_dir() else 0.0,
            "install_seconds": round(seconds, 1),
            **{f"has_{w}": any(n.startswith(w) for n in names) for w in WATCH},
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for key, value in out.items():
        print(f"{key}: {value}", file=sys.stderr)
    print(json.dumps(out) if args.json else out)


if __name__ == "__main__":
    main()
