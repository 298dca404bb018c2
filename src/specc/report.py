"""`specc plan`'s estimates and risk flags: parameters, memory, tokens per epoch, time on a named device
class, and what a reviewer should look at twice. Pure Python: no torch, no transformers."""

from __future__ import annotations

import csv
import json
from functools import lru_cache
from pathlib import Path

from .estimate import architecture, memory_estimate, parameter_counts
from .locate_model import locate_model
from .plan import data_files
from .spec import Model

REPORT_VERSION = 1

# Dense peak FLOP/s by precision and the share of it that fine-tuning typically reaches (MFU).
# "cpu-2core" is this project's CI machine class; its number is measured by `python -m bench`.
DEVICES: dict[str, dict] = {
    "cpu-2core": {"flops": {"fp32": 2.0e11, "bf16": 1.0e11, "fp16": 0.4e11}, "mfu": 0.5,
                  "memory": 24 * 2**30, "bf16": True, "fp16": False, "bnb": True, "kind": "cpu"},
    "t4": {"flops": {"fp32": 8.1e12, "bf16": 8.1e12, "fp16": 65e12}, "mfu": 0.3,
           "memory": 16 * 2**30, "bf16": False, "fp16": True, "bnb": True, "kind": "cuda"},
    "a10g": {"flops": {"fp32": 31e12, "bf16": 125e12, "fp16": 125e12}, "mfu": 0.35,
             "memory": 24 * 2**30, "bf16": True, "fp16": True, "bnb": True, "kind": "cuda"},
    "a100": {"flops": {"fp32": 19.5e12, "bf16": 312e12, "fp16": 312e12}, "mfu": 0.4,
             "memory": 80 * 2**30, "bf16": True, "fp16": True, "bnb": True, "kind": "cuda"},
    "h100": {"flops": {"fp32": 67e12, "bf16": 989e12, "fp16": 989e12}, "mfu": 0.4,
             "memory": 80 * 2**30, "bf16": True, "fp16": True, "bnb": True, "kind": "cuda"},
    "apple-m2": {"flops": {"fp32": 3.6e12, "bf16": 3.6e12, "fp16": 7.2e12}, "mfu": 0.25,
                 "memory": 16 * 2**30, "bf16": True, "fp16": True, "bnb": False, "kind": "mps"},
}
_COUNT_ROWS = 200_000


def _token_counts(plan: dict, root: Path, tokenizer_dir: Path | None) -> dict | None:
    """Tokens in the training split (exact with the model's tokenizer.json, else about chars / 4)."""
    data = plan["data"]
    if not data:
        return None
    entry = data["splits"]["train"]
    path = root / entry["path"]
    if not path.is_file() or entry["format"] == "parquet":
        return None
    if plan["spec"]["task"] == "chat":
        columns = tuple(c for c in (data["user_column"], data["assistant_column"], data["messages_column"]) if c)
    else:
        columns = (data["text_column"],)
    max_length = plan["stages"][0]["max_length"]  # what training reads of each example
    rows = (entry["rows"]["column"], entry["rows"]["value"]) if entry.get("rows") else None
    stat = path.stat()
    return _count_tokens(str(path.resolve()), stat.st_mtime_ns, stat.st_size, entry["format"], columns, rows,
                         max_length, str(tokenizer_dir) if tokenizer_dir else None)


@lru_cache(maxsize=64)
def _count_tokens(file: str, _mtime: int, _size: int, fmt: str, columns: tuple, rows_filter: tuple | None,
                  max_length: int, tokenizer_dir: str | None) -> dict | None:
    """Cached by file identity: `specc diff` plans both sides of many specs over the same data."""
    path = Path(file)
    texts = []
    with path.open(encoding="utf-8", errors="replace", newline="") as fh:
        rows = csv.DictReader(fh) if fmt == "csv" else (json.loads(line) for line in fh if line.strip())
        for i, row in enumerate(rows):
            if i >= _COUNT_ROWS:
                break
            if rows_filter and str(row.get(rows_filter[0])) != rows_filter[1]:
                continue
            texts.append("\n".join(str(row.get(c) or "") for c in columns))
    if not texts:
        return None
    method = "about 4 characters per token"
    lengths = [max(1, len(t) // 4) for t in texts]
    if tokenizer_dir is not None and (Path(tokenizer_dir) / "tokenizer.json").is_file():
        try:
            from tokenizers import Tokenizer

            tokenizer = Tokenizer.from_file(str(Path(tokenizer_dir) / "tokenizer.json"))
            tokenizer.no_truncation()
            tokenizer.no_padding()
            lengths = [len(e.ids) for e in tokenizer.encode_batch(texts)]
            method = "the model's tokenizer"
        except Exception:
            pass
    truncated = [min(n, max_length) for n in lengths]
    return {"examples": len(texts), "tokens_per_epoch": sum(truncated), "mean_tokens": sum(truncated) / len(texts),
            "truncated_examples": sum(n > max_length for n in lengths), "method": method,
            "sampled": len(texts) >= _COUNT_ROWS}


def estimates(plan: dict, root: Path, device: str) -> dict:
    """Parameters, memory, tokens and time for each stage of a plan."""
    info = locate_model(Model(base=plan["model"]["base"], family=plan["model"]["family"],
                              gguf_file=plan["model"].get("gguf_file")), root)
    arch = architecture(info)
    counts = parameter_counts(plan, arch)
    tokens = _token_counts(plan, root, info.local_dir)
    kind = DEVICES[device]["kind"]
    out = {"device": device, "parameters": counts, "tokens": tokens, "stages": []}
    for i, stage in enumerate(plan["stages"]):
        worst = memory_estimate(plan, arch, i, device="cpu" if kind == "cpu" else "cuda")
        typical = memory_estimate(plan, arch, i, seq_len=round(tokens["mean_tokens"]) if tokens else None,
                                  device="cpu" if kind == "cpu" else "cuda")
        entry = {"name": stage["name"], "memory_worst": worst, "memory_typical": typical}
        if tokens and counts.get("model"):
            epochs = stage["epochs"]
            lora = plan["lora"] is not None
            flops = (4 if lora else 6) * counts["model"] * tokens["tokens_per_epoch"] * epochs
            rate = DEVICES[device]["flops"][stage["precision"]] * DEVICES[device]["mfu"]
            entry["time"] = {"flops": flops, "seconds": flops / rate,
                             "assumes": f"{4 if lora else 6} x parameters x tokens per epoch x {epochs:g} epochs, "
                                        f"{DEVICES[device]['mfu']:.0%} of {device}'s {stage['precision']} peak"}
        out["stages"].append(entry)
    return out


def risks(plan: dict, root: Path, device: str) -> list[dict]:
    """Risk flags of a plan: each {"code", "message"}."""
    out = []

    def flag(code: str, message: str) -> None:
        out.append({"code": code, "message": message})

    if plan["model"]["trust_remote_code"]:
        flag("trust-remote-code", "trust_remote_code is on: code shipped with the model will run")
    if not plan["safety"]["cases"]:
        flag("no-safety-tests", "no safety tests: the safety stage tests nothing and fails; nothing checks what "
             "people in crisis meet")
    if plan["spec"]["task"] != "chat" and not plan["evaluation"]["gates"]:
        flag("no-gates", "no evaluation gates: nothing stops a worse model from shipping")
    screen, serving = plan["screen"], plan["serving"]
    if not screen["semantic"]:
        flag("screen-weakened", "the crisis screen's semantic layer is off: only patterns screen messages")
    elif not screen["builtin_corpus"]:
        flag("screen-weakened", "the crisis screen is fitted without specc's built-in corpus")
    if not serving["builtin_crisis_patterns"]:
        flag("screen-weakened", "the built-in crisis patterns are off")
    if screen["replies"]["model_replies_when_flagged"]:
        flag("model-replies-to-crisis", "the model answers flagged (crisis) messages itself, behind the "
             "supportive-reply check, instead of the vetted reply")
    elif not screen["replies"]["crisis_reply_is_builtin"] and plan["spec"]["task"] == "chat":
        flag("crisis-reply-custom", "flagged messages get the spec's own reply instead of specc's vetted one: "
             "have a clinician read it")
    dev = DEVICES[device]
    if plan["quantization"]["mode"] != "none" and not dev["bnb"]:
        flag("quantization-unsupported", f"{plan['quantization']['mode']} quantization (bitsandbytes) does not "
             f"run on {device}")
    for stage in plan["stages"]:
        if stage["precision"] != "fp32" and not dev[stage["precision"]]:
            flag("precision-unsupported", f"stage {stage['name']}: {stage['precision']} training does not run on "
                 f"{device}")
    for where, entry in data_files(plan):
        path = (root / entry["path"]).resolve()
        if not path.is_relative_to(root.resolve()):
            flag("data-outside-repo", f"{where} is outside the repository: {entry['path']} (reviewers cannot "
                 "see it; its hash is in the plan)")
        if not path.is_file():
            flag("data-missing", f"{where} file {entry['path']} does not exist here")
    for stage in plan["stages"]:
        if stage["optimizer"].startswith("paged_") and dev["kind"] != "cuda":
            flag("optimizer-unpaged", f"stage {stage['name']}: {stage['optimizer']} pages only on a CUDA GPU; "
                 f"on {device} bitsandbytes runs it unpaged")
    if plan["model"]["source"] == "hub":
        flag("hub-download", f"the base model {plan['model']['ref']} downloads from the hub at run time")
    return out


def plan_numbers(plan: dict, root: Path, device: str = "a100") -> dict:
    """The headline numbers of a plan, flat, for `specc diff`."""
    est = estimates(plan, root, device)
    counts = est["parameters"]
    numbers = {"total parameters": counts.get("total"), "trainable parameters": counts.get("trainable")}
    if est["tokens"]:
        numbers["tokens per epoch"] = est["tokens"]["tokens_per_epoch"]
    for stage in est["stages"]:
        numbers[f"{stage['name']}: peak memory at max length (GiB)"] = (
            round(stage["memory_worst"]["total"] / 2**30, 2) if stage["memory_worst"].get("total") else None)
    return numbers


def full_report(plan: dict, root: Path, device: str) -> dict:
    """What `specc plan --format json` prints: the plan, its estimates and its risks."""
    return {**plan, "report_version": REPORT_VERSION, "estimates": estimates(plan, root, device),
            "risks": risks(plan, root, device)}
