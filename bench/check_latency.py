"""Row "check latency": how long `specc check` and `specc build` take on the seed spec, as fresh processes.

Measured (wall time of a whole subprocess, as a user or CI sees it):

- `specc check specs/clinical_bert.toml` (run from the repo root, `--root` the repo);
- `specc build specs/clinical_bert.toml --root TMP`, where TMP holds a copy of `specs/` and its
  `generated/` folder is removed before every run (outside the timing), so each run really compiles and
  writes; the repository itself is never touched;
- baselines: `python -c "import pydantic"` (target: check <= 2x of it) and
  `python -c "import torch, transformers"` (target: check <= 0.1x of it);
- reference only: `python -c "pass"` (interpreter start-up, the floor under every number here).

One warm-up round is not counted; then every round runs each command once, in a rotating order, so the
commands are interleaved back to back and see the same machine load. Byte-code caches go to a temporary
PYTHONPYCACHEPREFIX (written in the warm-up round), so every command runs with warm .pyc files and
nothing is written into the repository or the venv.

    python -m bench.check_latency [--repeats 7] [--quick] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from .common import (
    ROOT,
    Row,
    fmt_ratio,
    fmt_s,
    load_average,
    print_rows,
    specc_command,
    summary,
    timed_run,
)

SPEC = "specs/clinical_bert.toml"
RERUN = "python -m bench check"


def _env(pycache: Path) -> dict:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(pycache)
    env["HF_HUB_OFFLINE"] = "1"
    env.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    return env


def measure(repeats: int = 7, log=print) -> dict:
    """Run the interleaved rounds; return the raw times (seconds) per command."""
    specc, how = specc_command()
    with tempfile.TemporaryDirectory(prefix="specc-bench-latency-") as tmp:
        tmp = Path(tmp)
        build_root = tmp / "root"
        build_root.mkdir()
        (build_root / "specs").mkdir()
        for toml in (ROOT / "specs").glob("*.toml"):  # data is not needed: check/build only warn about it
            shutil.copy2(toml, build_root / "specs" / toml.name)
        env = _env(tmp / "pycache")
        py = sys.executable
        commands = {
            "python_startup": ([py, "-c", "pass"], ROOT, None),
            "import_pydantic": ([py, "-c", "import pydantic"], ROOT, None),
            "import_torch_transformers": ([py, "-c", "import torch, transformers"], ROOT, None),
            "specc_check": ([*specc, "check", SPEC, "--root", str(ROOT)], ROOT, "ok: "),
            "specc_build": ([*specc, "build", SPEC, "--root", str(build_root)], build_root, "built: "),
        }
        times: dict[str, list[float]] = {name: [] for name in commands}
        names = list(commands)
        for round_no in range(repeats + 1):  # round 0 is the warm-up
            order = names[round_no % len(names):] + names[:round_no % len(names)]
            for name in order:
                cmd, cwd, expect = commands[name]
                if name == "specc_build":
                    shutil.rmtree(build_root / "generated", ignore_errors=True)
                seconds, proc = timed_run(cmd, cwd=cwd, env=env, timeout=300)
                if proc.returncode != 0 or (expect and expect not in proc.stdout):
                    raise RuntimeError(f"{name} failed (exit {proc.returncode}): "
                                       f"{(proc.stderr or proc.stdout).strip()[-800:]}")
                if round_no > 0:
                    times[name].append(seconds)
            if round_no == 0:
                log(f"[check] warm-up round done (specc via {how})")
            else:
                log(f"[check] round {round_no}/{repeats}: " + ", ".join(
                    f"{n} {fmt_s(times[n][-1])}" for n in names))
    return {"times": times, "specc_via": how, "repeats": repeats}


def rows_from(raw: dict) -> list[Row]:
    t = raw["times"]
    s = {name: summary(values) for name, values in t.items()}
    n = raw["repeats"]

    def noise(name: str) -> str:
        return f"min {fmt_s(s[name]['min'])} / median {fmt_s(s[name]['median'])} / max {fmt_s(s[name]['max'])}"

    def row(cmd: str, label: str, base: str, base_label: str, limit: float | None) -> Row:
        med = s[cmd]["median"] / s[base]["median"]
        best = s[cmd]["min"] / s[base]["min"]
        target = f"<= {limit:g}x" if limit is not None else "none (informational)"
        verdict = "" if limit is None else ("met" if med <= limit else "missed")
        return Row(
            name="check latency",
            measured=f"{label} vs `{base_label}`: wall time of a fresh process, median of {n} interleaved runs",
            baseline=f"{fmt_s(s[base]['median'])} (min {fmt_s(s[base]['min'])})",
            specc=f"{fmt_s(s[cmd]['median'])} (min {fmt_s(s[cmd]['min'])})",
            ratio=f"{fmt_ratio(med)} median/median ({fmt_ratio(best)} min/min)",
            target=target,
            verdict=verdict,
            noise=f"specc {noise(cmd)}; baseline {noise(base)}",
            rerun=RERUN,
            raw={"specc": s[cmd], "baseline": s[base], "ratio_median": med, "ratio_min": best},
        )

    check = f"`specc check {SPEC}`"
    build = f"`specc build {SPEC}` (fresh write into a temp root)"
    rows = [
        row("specc_check", check, "import_pydantic", 'python -c "import pydantic"', 2.0),
        row("specc_check", check, "import_torch_transformers", 'python -c "import torch, transformers"', 0.1),
        row("specc_build", build, "import_pydantic", 'python -c "import pydantic"', None),
        row("specc_build", build, "import_torch_transformers", 'python -c "import torch, transformers"', None),
    ]
    rows[0].notes.append(
        f"interpreter start-up alone (`python -c pass`) takes {fmt_s(s['python_startup']['median'])} median; "
        f"specc ran as {raw['specc_via']}; .pyc caches warm for every command (temp PYTHONPYCACHEPREFIX)")
    return rows


def run(quick: bool = False, repeats: int | None = None, log=print) -> list[Row]:
    repeats = repeats or (3 if quick else 7)
    before = load_average()
    try:
        raw = measure(repeats, log=log)
    except (RuntimeError, OSError) as exc:
        return [Row(name="check latency", measured="`specc check` / `specc build` wall time", verdict="failed",
                    rerun=RERUN, notes=[f"failed: {exc}"])]
    rows = rows_from(raw)
    rows[0].notes.append(f"load average (1/5/15 min) before {before}, after {load_average()}")
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Benchmark row: specc check / build latency.")
    p.add_argument("--repeats", type=int, default=None, help="counted rounds (default 7, 3 with --quick)")
    p.add_argument("--quick", action="store_true", help="fewer rounds")
    p.add_argument("--json", type=Path, default=None, help="also write the rows as JSON here")
    args = p.parse_args(argv)
    rows = run(quick=args.quick, repeats=args.repeats)
    print_rows(rows)
    if args.json:
        args.json.write_text(json.dumps([r.as_dict() for r in rows], indent=2) + "\n", encoding="utf-8")
    return 1 if any(r.verdict == "failed" for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
