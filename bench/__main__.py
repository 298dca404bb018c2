"""`python -m bench`: run the benchmark suite and write BENCHMARKS.md.

    python -m bench                 # every row, default sizes; writes BENCHMARKS.md (atomically)
    python -m bench check           # only the check/build latency row (prints; writes nothing)
    python -m bench noop            # only the no-op `specc run` row (every stage cached)
    python -m bench flops           # only the training-FLOP/s-vs-matmul-peak row (one process)
    python -m bench serve           # only the serving throughput / p99 row (generated app vs baseline)
    python -m bench train           # only the generated-trainer-vs-seed-recipe row (prints; writes nothing)
    python -m bench screen          # only the crisis-screen row (held-out quality, benchmarks, latency)
    python -m bench --quick         # every row, smaller: fewer repeats, rows, steps, requests (writes nothing)
    python -m bench ... --output F  # also write the markdown report to F (any selection, any size)

Run it from the repository root with the project's venv. Benchmarks are not tests: they never fail a
build; the exit code is 1 only when a row could not be measured at all (a crash, not a missed target).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from . import check_latency, noop_run, screen_quality, serve_load, train_flops, train_throughput
from .common import (
    ROOT,
    Row,
    busy_processes,
    git_commit,
    load_average,
    machine_info,
    now,
    print_rows,
    render_markdown,
    write_atomic,
)

ROWS = ("check", "noop", "flops", "serve", "train", "screen")
ROW_HELP = {
    "check": "`specc check` / `specc build` latency vs `import pydantic` and `import torch, transformers`",
    "noop": "`specc run` with every stage cached vs `specc check` (target < 1 s)",
    "flops": "achieved training FLOP/s of the generated trainer vs torch matmul FLOP/s, same process",
    "serve": "generated serve.py vs a hand-written FastAPI + pipeline app: requests/s and p99, 16 clients",
    "train": "generated trainer vs the seed recipe on real data: samples/s and F1 (needs ../shared)",
    "screen": "crisis screen vs the old keyword screen: held-out recall / flag rates, benchmarks, latency",
}
DEFAULT_OUTPUT = ROOT / "BENCHMARKS.md"


def log(message: str) -> None:
    print(message, flush=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m bench", description="specc benchmark suite.",
        epilog="rows:\n" + "\n".join(f"  {k:6s} {v}" for k, v in ROW_HELP.items()),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("rows", nargs="*", metavar="ROW",
                   help=f"rows to run: {', '.join(ROWS)} (default: all, in this order)")
    p.add_argument("--quick", action="store_true",
                   help="every row smaller (fewer repeats, data rows, training steps and requests; a few minutes)")
    p.add_argument("--output", type=Path, default=None,
                   help="where to write the markdown report (default: BENCHMARKS.md, only for a full default run)")
    p.add_argument("--no-write", action="store_true", help="print only; write no report")
    p.add_argument("--json", type=Path, default=None, help="also write every row as JSON here")
    g = p.add_argument_group("check and noop rows")
    g.add_argument("--repeats", type=int, default=None, help="counted rounds (default 7, 3 with --quick)")
    g = p.add_argument_group("flops row")
    g.add_argument("--flops-steps", type=int, default=None,
                   help=f"training steps per variant (LoRA, full) (default {train_flops.DEFAULTS['steps']}, "
                        f"{train_flops.QUICK['steps']} with --quick)")
    g.add_argument("--no-full", action="store_true", help="LoRA only: skip the full fine-tuning run")
    g = p.add_argument_group("serve row")
    g.add_argument("--requests", type=int, default=None,
                   help=f"timed requests per server (default {serve_load.DEFAULTS['requests']}, "
                        f"{serve_load.QUICK['requests']} with --quick)")
    g.add_argument("--rounds", type=int, default=None,
                   help=f"rounds the timed requests are split into (default {serve_load.DEFAULTS['rounds']}, "
                        f"{serve_load.QUICK['rounds']} with --quick)")
    g = p.add_argument_group("train row")
    g.add_argument("--train-rows", type=int, default=None,
                   help=f"first N rows of train.csv (default {train_throughput.DEFAULTS['train_rows']}, "
                        f"{train_throughput.QUICK['train_rows']} with --quick)")
    g.add_argument("--val-rows", type=int, default=None,
                   help=f"first M rows of validation.csv (default {train_throughput.DEFAULTS['val_rows']}, "
                        f"{train_throughput.QUICK['val_rows']} with --quick)")
    g.add_argument("--epochs", type=float, default=None, help="training epochs (default 1)")
    g.add_argument("--pairs", type=int, default=1, help="seed/specc pairs; 2 runs seed, specc, specc, seed")
    g.add_argument("--data-dir", type=Path, default=None,
                   help="folder with the real train.csv / validation.csv (default ../shared/data/suicide_detection)")
    args = p.parse_args(argv)
    unknown = [r for r in args.rows if r not in ROWS]
    if unknown:
        p.error(f"unknown row {unknown[0]!r}; choose from {', '.join(ROWS)}")

    selected = list(dict.fromkeys(args.rows)) or list(ROWS)
    custom = (args.quick or args.repeats or args.train_rows or args.val_rows or args.epochs
              or args.pairs != 1 or args.flops_steps or args.no_full or args.requests or args.rounds
              or selected != list(ROWS))
    output = None if args.no_write else (args.output or (None if custom else DEFAULT_OUTPUT))

    started, start_clock = now(), time.perf_counter()
    load_before, busy = load_average(), busy_processes()
    info = machine_info()  # taken at the start: the commit the rows ran against
    rows: list[Row] = []
    timings: dict[str, float] = {}
    for name in selected:
        log(f"=== row: {name} ===")
        t0 = time.perf_counter()
        if name == "check":
            rows += check_latency.run(quick=args.quick, repeats=args.repeats, log=log)
        elif name == "noop":
            rows += noop_run.run(quick=args.quick, repeats=args.repeats, log=log)
        elif name == "flops":
            rows += train_flops.run(quick=args.quick, steps=args.flops_steps, full=False if args.no_full else None,
                                    log=log)
        elif name == "serve":
            rows += serve_load.run(quick=args.quick, requests=args.requests, rounds=args.rounds, log=log)
        elif name == "screen":
            rows += screen_quality.run(quick=args.quick, log=log)
        else:
            rows += train_throughput.run(quick=args.quick, train_rows=args.train_rows, val_rows=args.val_rows,
                                         epochs=args.epochs, pairs=args.pairs, data_dir=args.data_dir, log=log)
        timings[name] = time.perf_counter() - t0
    total = time.perf_counter() - start_clock

    print_rows(rows)
    given = sys.argv[1:] if argv is None else argv
    command = " ".join(["python -m bench", *given])
    meta = {
        "date": f"{started} (took {total / 60:.1f} min: "
                + ", ".join(f"{k} {v / 60:.1f} min" for k, v in timings.items()) + ")",
        "command": f"`{command}`" + (" (quick: smaller than the default run)" if args.quick else ""),
        "rows": ", ".join(selected),
        "load average (1/5/15 min)": f"{load_before} at the start, {load_average()} at the end"
                                     + (f"; other busy processes at the start: {', '.join(busy)}" if busy else ""),
    }
    commit_after = git_commit()
    if not info["specc"].endswith(f"commit {commit_after}"):
        meta["source changed during the run"] = (f"{info['specc']} at the start, commit {commit_after} at the end; "
                                                 "rows that ran later may have used newer code")
    print(f"\nsuite took {total:.0f} s ({total / 60:.1f} min)")
    if output is not None:
        write_atomic(output, render_markdown(rows, info, meta))
        print(f"wrote {output}")
    elif not args.no_write:
        print("(not a full default run: no report written; pass --output FILE to write one)")
    if args.json:
        payload = {"meta": meta, "machine": info, "rows": [r.as_dict() for r in rows]}
        write_atomic(args.json, json.dumps(payload, indent=2) + "\n")
    return 1 if any(r.verdict == "failed" for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
