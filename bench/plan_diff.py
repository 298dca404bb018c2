"""Plan and diff time across 50 specs.

Makes a temporary git repository with 50 classifier specs (variants of specs/quickstart.toml with the
demo data), commits them, changes every one (learning rate, LoRA rank, a gate), then times, as fresh
processes: `specc plan` of one spec (median over the 50), `specc plan --format json` of all 50 one after
another, and one `specc diff` that explains all 50 changes. The floor is `python -c "import pydantic"`.

Run alone: `python -m bench.plan_diff [--quick]`.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SPECC = [sys.executable, "-m", "specc"]


def _timed(cmd: list[str], cwd: Path) -> tuple[float, int]:
    start = time.perf_counter()
    result = subprocess.run(cmd, cwd=cwd, capture_output=True, check=False)
    return time.perf_counter() - start, result.returncode


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def make_repo(root: Path, count: int) -> list[str]:
    shutil.copytree(REPO / "specs" / "data", root / "specs" / "data")
    (root / "schema").mkdir()
    template = (REPO / "specs" / "quickstart.toml").read_text()
    names = []
    for i in range(count):
        name = f"variant-{i:02d}"
        text = template.replace('name = "quickstart"', f'name = "{name}"')
        (root / "specs" / f"{name}.toml").write_text(text)
        names.append(f"specs/{name}.toml")
    _git(root, "init", "-q", "-b", "main")
    _git(root, "config", "user.email", "bench@example.com")
    _git(root, "config", "user.name", "bench")
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "base")
    for i, rel in enumerate(names):
        path = root / rel
        path.write_text(path.read_text().replace("learning_rate = 1e-3", f"learning_rate = {1 + i}e-4")
                        .replace("r = 8", "r = 16").replace("min = 0.85", "min = 0.8", 1))
    return names


def run(quick: bool = False) -> dict:
    count = 10 if quick else 50
    with tempfile.TemporaryDirectory(prefix="specc-bench-diff-") as tmp:
        root = Path(tmp)
        names = make_repo(root, count)
        floor = statistics.median(_timed([sys.executable, "-c", "import pydantic"], root)[0] for _ in range(5))
        plan_times = []
        for rel in names:
            seconds, code = _timed([*SPECC, "plan", rel, "--format", "json"], root)
            assert code == 0, f"specc plan {rel} failed"
            plan_times.append(seconds)
        diff_times = []
        for _ in range(1 if quick else 3):
            seconds, code = _timed([*SPECC, "diff"], root)
            assert code == 1, f"specc diff exited {code}, expected 1 (changes)"
            diff_times.append(seconds)
    return {
        "specs": count,
        "floor_import_pydantic_s": floor,
        "plan_one_median_s": statistics.median(plan_times),
        "plan_one_min_s": min(plan_times),
        "plan_one_max_s": max(plan_times),
        "plan_all_total_s": sum(plan_times),
        "diff_all_median_s": statistics.median(diff_times),
        "diff_all_runs_s": diff_times,
        "diff_per_spec_ms": 1000 * statistics.median(diff_times) / count,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 specs instead of 50")
    args = parser.parse_args()
    print(json.dumps(run(args.quick), indent=2))


if __name__ == "__main__":
    main()
