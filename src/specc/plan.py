"""Step 3, plan: resolve defaults and derived values into one JSON-serialisable plan.

The plan is what templates render from, what `specc plan` shows and what `manifest.json` hashes. It holds
only validated primitives (str, int, float, bool, None, lists and dicts of them), never paths of this
machine: the same spec gives the same plan everywhere.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path, PurePosixPath

from . import __version__
from .crisis import BUILTIN_PATTERNS, RESOURCES
from .estimate import architecture
from .locate_model import locate_model
from .rules import DATA_SUFFIXES
from .spec import Spec
from .suites import SUITES
from .validate import Checked

PLAN_VERSION = 1
RUNS_DIR = "runs"


def canonical_json(value: object) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=True, separators=(",", ":"))


def spec_hash(spec: Spec) -> str:
    """sha256 of the validated spec (not of the file): a TOML spec and its Python twin hash alike."""
    return hashlib.sha256(canonical_json(spec.model_dump(mode="json")).encode()).hexdigest()


def _rel(path: str) -> str:
    """A spec path as written, normalised to forward slashes (relative paths stay relative)."""
    return PurePosixPath(Path(path).as_posix()).as_posix()


def build_plan(checked: Checked) -> dict:
    """The fully resolved plan of a checked spec."""
    spec = checked.spec
    info = locate_model(spec.model, checked.root)
    family = info.family  # validation guarantees it is known
    names = spec.data.label_names
    positive = spec.evaluation.positive_label or names[-1]
    binary = len(names) == 2
    lora = spec.lora
    targets = list(family.linear_modules) if lora and lora.targets == "all-linear" else (
        list(lora.targets) if lora else None)
    params = (info.config or {}) if info.config else {}

    data = spec.data
    splits = {}
    for split in ("train", "validation", "test"):
        rel = getattr(data, split)
        if rel is not None:
            fmt = data.format if data.format != "auto" else DATA_SUFFIXES[Path(rel).suffix.lower()]
            splits[split] = {"path": _rel(rel), "format": fmt}

    stages = []
    for stage in spec.stages:
        warmup: int | float = stage.warmup_steps or 0
        if stage.warmup_ratio is not None:
            warmup = float(stage.warmup_ratio)  # transformers 5: a float < 1 in warmup_steps is a ratio
        stages.append({
            "name": stage.name,
            "kind": stage.kind,
            "script": "train.py",
            "output_dir": f"{RUNS_DIR}/{spec.name}/{stage.name}",
            "epochs": stage.epochs,
            "max_steps": stage.max_steps,
            "batch_size": stage.batch_size,
            "eval_batch_size": stage.eval_batch_size or stage.batch_size * 2,
            "gradient_accumulation_steps": stage.gradient_accumulation_steps,
            "effective_batch_size": stage.batch_size * stage.gradient_accumulation_steps,
            "learning_rate": stage.learning_rate,
            "weight_decay": stage.weight_decay,
            "warmup_steps": warmup,
            "lr_scheduler": stage.lr_scheduler,
            "optimizer": stage.optimizer,
            "max_grad_norm": stage.max_grad_norm,
            "precision": stage.precision,
            "gradient_checkpointing": stage.gradient_checkpointing,
            "group_by_length": stage.group_by_length,
            "eval_strategy": stage.eval_strategy,
            "eval_steps": stage.eval_steps,
            "logging_steps": stage.logging_steps,
            "save_total_limit": stage.save_total_limit,
            "seed": stage.seed,
        })
    train_stage = stages[0]
    ev = spec.evaluation
    return {
        "plan_version": PLAN_VERSION,
        "specc_version": __version__,
        "spec": {
            "name": spec.name,
            "description": spec.spec.description,
            "task": spec.spec.task,
            "hash": spec_hash(spec),
        },
        "model": {
            "base": spec.model.base,
            "source": info.source,
            "ref": info.ref,
            "revision": spec.model.revision,
            "family": family.name,
            "architecture": family.kind,
            "trust_remote_code": spec.model.trust_remote_code,
            "num_labels": len(names),
            "parameters": architecture(info)["parameters"],
            "hidden_size": params.get("hidden_size") or (info.known.hidden_size if info.known else None),
            "num_layers": params.get("num_hidden_layers") or (info.known.num_layers if info.known else None),
        },
        "labels": {
            "names": names,
            "positive": positive if binary else None,
            "average": "binary" if binary else "macro",
        },
        "quantization": spec.quantization.model_dump(mode="json"),
        "lora": None if lora is None else {
            "r": lora.r,
            "alpha": lora.alpha,
            "dropout": lora.dropout,
            "targets": targets,
            "targets_as_written": lora.targets,
            "bias": lora.bias,
            "modules_to_save": list(family.classification_head),
        },
        "data": {
            "splits": splits,
            "text_column": data.text_column,
            "label_column": data.label_column,
            "max_length": data.max_length,
        },
        "stages": stages,
        "evaluation": {
            "script": "evaluate.py",
            "output_dir": f"{RUNS_DIR}/{spec.name}/evaluate",
            "model_dir": f"{train_stage['output_dir']}/model",
            "split": "test" if "test" in splits else "validation" if "validation" in splits else "train",
            "metrics": list(ev.metrics),
            "best_metric": ev.best_metric,
            "threshold": None if ev.threshold is None else {
                "target_recall": ev.threshold.target_recall, "chosen_on": "validation"},
            "group_column": ev.group_column,
            "calibration_bins": ev.calibration_bins,
            "gates": [_gate(g, positive if binary else None) for g in ev.gates],
        },
        "safety": {
            "script": "safety.py",
            "output_dir": f"{RUNS_DIR}/{spec.name}/safety",
            "suites": list(spec.safety.suites),
            "pass_rate": spec.safety.pass_rate,
            "cases": _safety_cases(spec, names, positive),
        },
        "serving": _serving(spec),
        "card": {
            "script": "model_card.py",
            "output": f"{RUNS_DIR}/{spec.name}/model_card.md",
            **spec.card.model_dump(mode="json"),
        },
    }


def _serving(spec: Spec) -> dict:
    serving = spec.serving
    patterns = (list(BUILTIN_PATTERNS) if serving.builtin_crisis_patterns else []) + list(serving.crisis_patterns)
    return {
        "script": "serve.py",
        **serving.model_dump(mode="json", exclude={"crisis_patterns"}),
        "crisis_patterns": patterns,
        "custom_crisis_patterns": list(serving.crisis_patterns),
        "resources": RESOURCES[serving.locale],
    }


def _gate(gate, positive: str | None) -> dict:
    per_label = gate.metric in ("precision", "recall", "f1")
    label = gate.label if gate.label is not None else (positive if per_label else None)
    op, bound = (">=", gate.min) if gate.min is not None else ("<=", gate.max)
    name = f"{gate.metric}[{label}]" if label else gate.metric
    return {"name": name, "metric": gate.metric, "label": label, "op": op, "bound": bound}


def _safety_cases(spec: Spec, names: list[str], positive: str) -> list[dict]:
    """Spec cases and built-in suite cases, with what each expects, in one list."""
    cases = []
    for i, case in enumerate(spec.safety.cases):
        cases.append({
            "id": case.id or f"case-{i + 1}", "source": "spec", "text": case.text, "expect": case.expect,
            "min_score": case.min_score, "max_score": case.max_score, "critical": case.critical,
        })
    negative = next((n for n in names if n != positive), None)
    for suite in spec.safety.suites:
        for case in SUITES[suite]:
            cases.append({
                "id": case["id"], "source": f"suite:{suite}", "text": case["text"],
                "expect": positive if case["role"] == "risk" else negative,
                "min_score": None, "max_score": None, "critical": case["critical"],
            })
    return cases
