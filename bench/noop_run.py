"""Row "no-op run": the overhead of `specc run` when every stage is up to date (the stage cache).

A temporary project holds a copy of `specs/`; the quickstart runs once for real with `--max-steps 2`
(outside the timing). Then, back to back in a rotating order, each round times as fresh processes:
`specc run specs/quickstart.toml --max-steps 2` (check, compile, fingerprint every stage, skip all four,
print the summary, write a run record), `specc check` of the same spec, and `python -c pass` (the floor).
Target (issue 7): the no-op run under 1 second. Noise: the min..max of the timed runs of each command.

    python -m bench noop [--quick] [--repeats N]
    python -m bench.noop_run [--repeats 7] [--quick] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
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

RERUN = "python -m bench noop"


def measure(repeats: int, log=print) -> dict:
    specc, how = specc_command()
    with tempfile.TemporaryDirectory(prefix="specc-bench-noop-") as tmp:
        root = Path(tmp) / "root"
        shutil.copytree(ROOT / "specs", root / "specs")
        # The venv's own byte-code caches, as a user has them (a PYTHONPYCACHEPREFIX triples start-up here).
        env = dict(os.environ, HF_HUB_OFFLINE="1", NO_COLOR="1")
        env.pop("PYTHONPYCACHEPREFIX", None)
        run = [*specc, "run", "specs/quickstart.toml", "--max-steps", "2"]
        seconds, proc = timed_run(run, cwd=root, env=env, timeout=1800)
        if proc.returncode not in (0, 3):
            raise RuntimeError(f"the first run failed (exit {proc.returncode}): {proc.stdout[-800:]}")
        first = seconds
        log(f"[noop] first (real) run: {fmt_s(seconds)}")
        commands = {
            "python_startup": [sys.executable, "-c", "pass"],
            "specc_check": [*specc, "check", "specs/quickstart.toml"],
            "noop_run": run,
        }
        times: dict[str, list[float]] = {name: [] for name in commands}
        names = list(commands)
        for round_no in range(repeats + 1):
            for name in names[round_no % len(names):] + names[:round_no % len(names)]:
                seconds, proc = timed_run(commands[name], cwd=root, env=env, timeout=300)
                if name == "noop_run" and proc.stdout.count("up to date") != 4:
                    raise RuntimeError(f"the no-op run ran something: {proc.stdout[-800:]}")
                if round_no > 0:
                    times[name].append(seconds)
            if round_no:
                log(f"[noop] round {round_no}/{repeats}: " + ", ".join(f"{n} {fmt_s(times[n][-1])}" for n in names))
    return {"times": times, "specc_via": how, "repeats": repeats, "first_run_s": first}


def run(quick: bool = False, repeats: int | None = None, log=print) -> list[Row]:
    repeats = repeats or (3 if quick else 7)
    before = load_average()
    try:
        raw = measure(repeats, log=log)
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        return [Row(name="no-op run", measured="`specc run` with every stage cached", verdict="failed",
                    rerun=RERUN, notes=[f"failed: {exc}"])]
    s = {name: summary(v) for name, v in raw["times"].items()}
    noop, check = s["noop_run"], s["specc_check"]
    row = Row(
        name="no-op run",
        measured=f"`specc run specs/quickstart.toml` with all 4 stages up to date, wall time of a fresh process, "
                 f"median of {raw['repeats']} interleaved runs",
        baseline=f"`specc check` {fmt_s(check['median'])}",
        specc=f"{fmt_s(noop['median'])} (min {fmt_s(noop['min'])}, max {fmt_s(noop['max'])})",
        ratio=f"{fmt_ratio(noop['median'] / check['median'])} of `specc check`",
        target="< 1 s",
        verdict="met" if noop["median"] < 1.0 else "missed",
        noise=f"no-op run min {fmt_s(noop['min'])} / max {fmt_s(noop['max'])}; `specc check` min "
              f"{fmt_s(check['min'])} / max {fmt_s(check['max'])} ({raw['repeats']} runs each)",
        rerun=RERUN,
        raw=s,
    )
    row.notes.append(f"interpreter start-up alone (`python -c pass`) {fmt_s(s['python_startup']['median'])} median; "
                     f"first (real) run with --max-steps 2, outside the timing: {fmt_s(raw['first_run_s'])}; "
                     f"the venv's own byte-code caches (no PYTHONPYCACHEPREFIX)")
    row.notes.append(f"load average before {before}, after {load_average()}; specc via {raw['specc_via']}")
    return [row]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Benchmark row: no-op specc run.")
    p.add_argument("--repeats", type=int, default=None)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args(argv)
    rows = run(quick=args.quick, repeats=args.repeats)
    print_rows(rows)
    if args.json:
        args.json.write_text(json.dumps([r.as_dict() for r in rows], indent=2) + "\n", encoding="utf-8")
    return 1 if any(r.verdict == "failed" for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
