"""Run records: one JSON file per `specc run` beside the artifacts (`runs/<spec>/records/`), and the
listing `specc runs` prints. Pure Python: library versions come from package metadata, not imports."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from . import __version__
from .fingerprint import library_versions
from .plan import RUNS_DIR


def _git_commit(root: Path) -> dict | None:
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10)
        if commit.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=10)
        return {"commit": commit.stdout.strip(), "dirty": bool(dirty.stdout.strip())}
    except (OSError, subprocess.SubprocessError):
        return None


def records_dir(root: Path, spec_name: str) -> Path:
    return root / RUNS_DIR / spec_name / "records"


def write_run_record(compiled, root: Path, started_at: float, stages: list[dict], exit_code: int,
                     max_steps: int | None) -> Path:
    """Write the record of one run (temporary file, then rename) and return its path."""
    plan = compiled.plan
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(started_at))
    folder = records_dir(root, plan["spec"]["name"])
    folder.mkdir(parents=True, exist_ok=True)
    payload = {
        "spec": plan["spec"]["name"],
        "spec_hash": plan["spec"]["hash"],
        "specc_version": __version__,
        "libraries": library_versions(),
        "python": sys.version.split()[0],
        "git": _git_commit(root),
        "hardware": {"platform": platform.platform(), "machine": platform.machine(), "cpus": os.cpu_count()},
        "seeds": {s["name"]: s["seed"] for s in plan["stages"]},
        "max_steps": max_steps,
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started_at)),
        "seconds": round(time.time() - started_at, 2),
        "stages": stages,
        "exit_code": exit_code,
    }
    path = folder / f"{stamp}-{os.getpid()}.json"
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def list_records(root: Path, spec_name: str) -> list[dict]:
    """Every finished run record of a spec, oldest first (half-written `.tmp` files are never read)."""
    out = []
    for path in sorted(records_dir(root, spec_name).glob("*.json")):
        try:
            out.append({"file": path.name, **json.loads(path.read_text(encoding="utf-8"))})
        except (OSError, ValueError):
            continue
    return out
