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
from .estimate import architecture
from .locate_model import locate_model
from .render import template_hash
from .rules import DATA_SUFFIXES
from .screen import normalize
from .screen.corpus import builtin_summary, corpus_digest, summarise
from .screen.patterns import (
    CRISIS_PATTERNS,
    HARMFUL_REPLY_PATTERNS,
    METHOD_PATTERNS,
    STIGMA_PATTERNS,
)
from .screen.resources import CRISIS_REPLY, FALLBACK_REPLY, RESOURCE_MARKERS, RESOURCES
from .spec import Card, DeepSpeed, Fsdp, IntRange, Spec, request_bytes_needed
from .suites import SUITES
from .validate import Checked
from .write import GENERATED_DIR

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
    if checked.spec.spec.task == "chat":
        return build_chat_plan(checked)
    spec = checked.spec
    info = locate_model(spec.model, checked.root)
    family = info.family  # validation guarantees it is known
    names = spec.data.label_names
    multi = spec.data.multi_label
    positive = spec.evaluation.positive_label or names[-1]
    binary = len(names) == 2 and not multi
    risk = risk_labels(spec)

    data = spec.data
    splits = {}
    for split in ("train", "validation", "test"):
        rel = getattr(data, split)
        if rel is not None:
            splits[split] = _data_file(data, rel)

    stages = []
    for stage in spec.stages:
        entry = _training(stage, spec.name)
        del entry["model_dir"]  # the classifier's evaluation names its model folder itself
        entry.update(script="train.py", eval_batch_size=stage.eval_batch_size or stage.batch_size * 2,
                     group_by_length=stage.group_by_length, max_length=stage.max_length or data.max_length)
        stages.append(entry)
    train_stage = stages[0]
    ev = spec.evaluation
    serving = _serving(spec, checked.root)
    return {
        "plan_version": PLAN_VERSION,
        "specc_version": __version__,
        "spec": _spec_entry(spec),
        "model": _model_entry(spec, info, num_labels=len(names)),
        "labels": {
            "names": names,
            "positive": positive if binary else None,
            "average": "binary" if binary else "macro",
            "multi_label": multi,
            "separator": spec.data.label_separator if multi else None,
        },
        "quantization": spec.quantization.model_dump(mode="json"),
        "lora": _lora_entry(spec, family, head=["classifier"] if spec.model.pooling == "mean"
                            else list(family.classification_head)),
        "data": {
            "splits": splits,
            "text_column": data.text_column,
            "label_column": data.label_column,
            "max_length": data.max_length,
            # by extension: exported feedback is CSV whatever format the main files have
            "extra_train": [{"path": _rel(rel), "format": DATA_SUFFIXES[Path(rel).suffix.lower()]}
                            for rel in data.extra_train],
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
            "ordinal": ev.ordinal,
            "label_thresholds": ev.label_thresholds,
            "risk_labels": risk,
            "gates": [_gate(g, positive if binary else None) for g in ev.gates],
        },
        "ensemble": _ensemble(spec, checked.root),
        "feedback": {
            "enabled": spec.feedback.enabled,
            "max_pending": spec.feedback.max_pending,
            "queue_dir": f"{RUNS_DIR}/{spec.name}/feedback",
            "text_column": data.text_column,
            "label_column": data.label_column,
        },
        "safety": {
            "script": "safety.py",
            "output_dir": f"{RUNS_DIR}/{spec.name}/safety",
            "suites": list(spec.safety.suites),
            "pass_rate": spec.safety.pass_rate,
            "cases": _safety_cases(spec, names, positive, risk),
        },
        "serving": serving,
        "screen": screen_plan(spec, checked.root, serving),
        "card": {
            "script": "model_card.py",
            "output": f"{RUNS_DIR}/{spec.name}/model_card.md",
            **spec.card.model_dump(mode="json"),
        },
        "compute": _compute(spec),
        "tracking": _tracking(spec),
        "tuning": _tuning(spec, train_stage),
    }


def _compute(spec: Spec) -> dict:
    """How training stages are launched: the command prefix before `<script> <args>`, and the launcher's
    and the strategy's config files (written beside the scripts)."""
    compute = spec.compute
    world_size = compute.processes_per_node * compute.nodes
    here = f"{GENERATED_DIR}/{spec.name}"
    if compute.launcher == "torchrun":
        prefix = ["-m", "torch.distributed.run", f"--nproc_per_node={compute.processes_per_node}",
                  f"--nnodes={compute.nodes}"]
        if compute.nodes == 1:
            prefix.insert(2, "--standalone")
    elif compute.launcher == "accelerate":
        prefix = ["-m", "accelerate.commands.launch", "--config_file", f"{here}/{ACCELERATE_CONFIG}"]
    else:
        prefix = []
    entry = {**compute.model_dump(mode="json"), "python_args": prefix, "world_size": world_size,
             "fsdp": None, "deepspeed": None, "config_files": {}}
    if compute.strategy == "fsdp":
        entry["fsdp"] = _fsdp_config(compute.fsdp or Fsdp())
    if compute.strategy == "deepspeed":
        entry["deepspeed"] = _deepspeed_config(compute.deepspeed or DeepSpeed())
        entry["config_files"][DEEPSPEED_CONFIG] = entry["deepspeed"]
    if compute.launcher == "accelerate":
        entry["config_files"][ACCELERATE_CONFIG] = _accelerate_config(spec, entry, here)
    return entry


ACCELERATE_CONFIG = "accelerate_config.json"  # accelerate reads JSON config files as well as YAML
DEEPSPEED_CONFIG = "deepspeed_config.json"


def _fsdp_config(fsdp: Fsdp) -> dict:
    """The `fsdp_config` the Trainer takes (FSDP2)."""
    config = {
        "version": 2,
        "reshard_after_forward": fsdp.sharding == "full_shard",
        "auto_wrap_policy": "TRANSFORMER_BASED_WRAP" if fsdp.auto_wrap == "transformer_layer" else "SIZE_BASED_WRAP",
        "cpu_offload": fsdp.offload_params,
        "activation_checkpointing": fsdp.activation_checkpointing,
        "state_dict_type": "FULL_STATE_DICT" if fsdp.state_dict == "full" else "SHARDED_STATE_DICT",
        "cpu_ram_efficient_loading": fsdp.cpu_ram_efficient_loading,
    }
    if fsdp.auto_wrap == "size":
        config["min_num_params"] = fsdp.min_num_params
    return config


def _deepspeed_config(ds: DeepSpeed) -> dict:
    """A DeepSpeed config whose batch sizes, precision and clipping follow the stage ("auto": the Trainer
    fills them in)."""
    zero: dict = {"stage": ds.zero_stage, "overlap_comm": ds.overlap_comm,
                  "contiguous_gradients": ds.contiguous_gradients,
                  "reduce_bucket_size": "auto"}
    for key, device in (("offload_optimizer", ds.offload_optimizer), ("offload_param", ds.offload_params)):
        if device != "none":
            zero[key] = {"device": device, "pin_memory": True}
            if device == "nvme":
                zero[key]["nvme_path"] = ds.nvme_path
    if ds.zero_stage == 3:
        zero.update({"stage3_prefetch_bucket_size": "auto", "stage3_param_persistence_threshold": "auto",
                     "stage3_gather_16bit_weights_on_model_save": True})
    config: dict = {
        "train_batch_size": "auto",
        "train_micro_batch_size_per_gpu": "auto",
        "gradient_accumulation_steps": "auto",
        "gradient_clipping": "auto",
        "bf16": {"enabled": "auto"},
        "fp16": {"enabled": "auto"},
        "zero_optimization": zero,
    }
    if ds.offload_optimizer != "none":  # an offloaded optimizer must be DeepSpeed's own (CPU Adam)
        config["optimizer"] = {"type": "AdamW", "params": {"lr": "auto", "betas": "auto", "eps": "auto",
                                                           "weight_decay": "auto"}}
    return config


def _accelerate_config(spec: Spec, compute: dict, here: str) -> dict:
    """`accelerate launch`'s config file. accelerate's MULTI_GPU type is its torch.distributed launcher:
    on a machine without GPUs it starts the same processes on the CPU (gloo)."""
    first = spec.stages[0]
    distributed = {"ddp": "MULTI_GPU" if compute["world_size"] > 1 else "NO", "fsdp": "FSDP",
                   "deepspeed": "DEEPSPEED"}[spec.compute.strategy]
    config: dict = {
        "compute_environment": "LOCAL_MACHINE",
        "distributed_type": distributed,
        "num_processes": compute["world_size"],
        "num_machines": spec.compute.nodes,
        "machine_rank": 0,
        "mixed_precision": {"fp32": "no"}.get(first.precision, first.precision),
        "use_cpu": False,
        "gpu_ids": "all",
        "rdzv_backend": "static",
        "same_network": True,
        "main_training_function": "main",
        "downcast_bf16": "no",
        "debug": False,
    }
    if compute["fsdp"] is not None:
        fsdp = compute["fsdp"]
        config["fsdp_config"] = {
            "fsdp_version": 2,
            "fsdp_auto_wrap_policy": fsdp["auto_wrap_policy"],
            "fsdp_reshard_after_forward": fsdp["reshard_after_forward"],
            "fsdp_offload_params": fsdp["cpu_offload"],
            "fsdp_activation_checkpointing": fsdp["activation_checkpointing"],
            "fsdp_state_dict_type": fsdp["state_dict_type"],
            "fsdp_cpu_ram_efficient_loading": fsdp["cpu_ram_efficient_loading"],
            **({"fsdp_min_num_params": fsdp["min_num_params"]} if "min_num_params" in fsdp else {}),
        }
    if compute["deepspeed"] is not None:
        config["deepspeed_config"] = {"deepspeed_config_file": f"{here}/{DEEPSPEED_CONFIG}",
                                      "zero3_init_flag": compute["deepspeed"]["zero_optimization"]["stage"] == 3}
    return config


def _tracking(spec: Spec) -> dict:
    """Where training reports to. `store` is the default local store (relative to the project root) when
    the spec names no uri: a SQLite file for MLflow (its file store is in maintenance mode and refuses to
    start unless told to), a folder for TensorBoard."""
    tracking = spec.tracking
    home = f"{RUNS_DIR}/{spec.name}"
    store = artifacts = None
    if tracking.uri is None and tracking.backend == "mlflow":
        store, artifacts = f"{home}/mlflow/mlflow.db", f"{home}/mlflow/artifacts"
    elif tracking.uri is None and tracking.backend == "tensorboard":
        store = f"{home}/tensorboard"
    return {"backend": tracking.backend, "uri": tracking.uri, "store": store, "artifacts": artifacts,
            "experiment": tracking.experiment or spec.name, "mode": tracking.mode}


def _tuning(spec: Spec, stage: dict) -> dict | None:
    """The study `tune.py` runs: each setting's distribution, and where the study is kept."""
    tuning = spec.tuning
    if tuning is None:
        return None
    space = {}
    for key, value in tuning.space:
        if value is None:
            continue
        if isinstance(value, list):
            space[key] = {"type": "categorical", "choices": list(value)}
        elif isinstance(value, IntRange):
            space[key] = {"type": "int", "low": value.low, "high": value.high, "step": value.step, "log": value.log}
        else:
            space[key] = {"type": "float", "low": value.low, "high": value.high, "log": value.log}
    direction = tuning.direction or ("minimize" if tuning.metric == "loss" else "maximize")
    study_inputs = {"space": space, "metric": tuning.metric, "direction": direction, "sampler": tuning.sampler,
                    "seed": tuning.seed, "pruning": tuning.pruning, "max_steps": tuning.max_steps,
                    "stage": {k: v for k, v in stage.items() if k not in _TUNED_STAGE_KEYS},
                    "model": spec.model.model_dump(mode="json"), "data": spec.data.model_dump(mode="json") if spec.data else None}
    digest = hashlib.sha256(canonical_json(study_inputs).encode()).hexdigest()[:12]
    output_dir = f"{RUNS_DIR}/{spec.name}/tune"
    return {
        "script": "tune.py",
        "output_dir": output_dir,
        "storage": f"{output_dir}/study.db",
        "study_name": f"{spec.name}-{digest}",
        "trials": tuning.trials,
        "metric": tuning.metric,
        "direction": direction,
        "sampler": tuning.sampler,
        "seed": tuning.seed,
        "pruning": tuning.pruning,
        "max_steps": tuning.max_steps,
        "timeout_minutes": tuning.timeout_minutes,
        "space": space,
        # Where each tuned setting lives in the spec (for the patch `specc tune` writes).
        "spec_keys": {key: list(_SPEC_KEY[key]) for key in space},
    }


# The stage settings a study may vary (left out of the study's identity), and where each lives in a spec.
_TUNED_STAGE_KEYS = {"epochs", "batch_size", "learning_rate", "weight_decay", "warmup_steps",
                     "effective_batch_size", "eval_batch_size"}
_SPEC_KEY = {
    "learning_rate": ("stages", 0, "learning_rate"), "epochs": ("stages", 0, "epochs"),
    "batch_size": ("stages", 0, "batch_size"), "weight_decay": ("stages", 0, "weight_decay"),
    "warmup_ratio": ("stages", 0, "warmup_ratio"), "lora_r": ("lora", "r"), "lora_alpha": ("lora", "alpha"),
    "lora_dropout": ("lora", "dropout"), "max_length": ("data", "max_length"),
}


def _spec_entry(spec: Spec) -> dict:
    return {"name": spec.name, "description": spec.spec.description, "task": spec.spec.task, "hash": spec_hash(spec)}


def _model_entry(spec: Spec, info, num_labels: int | None) -> dict:
    """The base model as the plan records it (a GGUF file's name only for GGUF bases)."""
    params = info.config or {}
    entry = {
        "base": spec.model.base,
        "source": info.source,
        "ref": info.ref,
        "revision": spec.model.revision,
        "family": info.family.name,
        "architecture": info.family.kind,
        "trust_remote_code": spec.model.trust_remote_code,
        "num_labels": num_labels,
        "parameters": architecture(info)["parameters"],
        "hidden_size": params.get("hidden_size") or (info.known.hidden_size if info.known else None),
        "num_layers": params.get("num_hidden_layers") or (info.known.num_layers if info.known else None),
    }
    if spec.spec.task == "chat":
        entry["gguf_file"] = info.gguf.name if info.gguf is not None else spec.model.gguf_file
    else:
        entry["pooling"] = spec.model.pooling
    return entry


def _lora_entry(spec: Spec, family, head: list[str]) -> dict | None:
    """The adapter settings with `all-linear` resolved to the family's modules; `head` is trained in full."""
    lora = spec.lora
    if lora is None:
        return None
    targets = list(family.linear_modules) if lora.targets == "all-linear" else list(lora.targets)
    return {"r": lora.r, "alpha": lora.alpha, "dropout": lora.dropout, "targets": targets,
            "targets_as_written": lora.targets, "bias": lora.bias, "modules_to_save": head}


def _data_file(data, rel: str) -> dict:
    fmt = data.format if data.format != "auto" else DATA_SUFFIXES[Path(rel).suffix.lower()]
    return {"path": _rel(rel), "format": fmt}


def risk_labels(spec: Spec) -> list[str]:
    """The labels that need a human (see `Evaluation.risk_labels`)."""
    names = spec.data.label_names
    if spec.evaluation.risk_labels is not None:
        return [n for n in names if n in spec.evaluation.risk_labels]  # id order
    if spec.data.multi_label:
        return list(names)
    if len(names) == 2:
        return [spec.evaluation.positive_label or names[-1]]
    return names[1:] if spec.evaluation.ordinal else []


def other_classifier(rel: str, root: Path) -> dict:
    """Where another classification spec (an ensemble member, the A/B model) leaves what it serves with:
    its generated serve.py (loaded as a module), its trained model and its evaluated threshold."""
    from .load import load
    from .validate import validate

    other = validate(load(root / Path(rel).expanduser()), root).spec
    train = other.stages[0].name
    return {
        "spec": _rel(rel),
        "name": other.name,
        "script": f"{GENERATED_DIR}/{other.name}/serve.py",
        "model_dir": f"{RUNS_DIR}/{other.name}/{train}/model",
        "threshold_file": f"{RUNS_DIR}/{other.name}/evaluate/threshold.json",
        "train_record": f"{RUNS_DIR}/{other.name}/{train}/specc_fingerprint.json",
    }


def _ensemble(spec: Spec, root: Path) -> dict | None:
    if spec.ensemble is None:
        return None
    return {"rule": spec.ensemble.rule, "members": [other_classifier(rel, root) for rel in spec.ensemble.members]}


def _serving(spec: Spec, root: Path | None = None) -> dict:
    serving = spec.serving
    patterns = (list(CRISIS_PATTERNS) if serving.builtin_crisis_patterns else []) + list(serving.crisis_patterns)
    ab = None
    if serving.ab is not None and root is not None:
        ab = {**other_classifier(serving.ab.spec, root), "share": serving.ab.share}
    return {
        "script": "serve.py",
        **serving.model_dump(mode="json", exclude={"crisis_patterns", "ab"}),
        "max_request_bytes": serving.max_request_bytes or request_bytes_needed(serving.max_text_chars),
        "ab": ab,
        "crisis_patterns": patterns,
        "custom_crisis_patterns": list(serving.crisis_patterns),
        "resources": RESOURCES[serving.locale],
        "screen": _screen_classifier(spec, root) if root is not None else None,
    }


# How the screen stage fits the semantic layer, and the bar its cross-validation must meet.
SCREEN_FIT = {
    "c": 2.0,  # inverse L2 strength of the logistic-regression head
    "features": "mean of every layer",  # what the head reads (see screen.py's embed)
    "folds": 5,  # GroupKFold by family
    "max_length": 128,  # encoder tokens per chunk
    "chunk_words": 48,  # a long message is read in chunks of at most this many words...
    "max_chunks": 32,  # ...and at most this many of them (the patterns read all of it)
    "min_recall": 0.97,  # in every risk category
    "max_lookalike_flag_rate": 0.03,
}


def _corpus(files: list) -> dict:
    return {"files": [f.as_plan() for f in files], "rows": sum(f.rows for f in files),
            "risk": sum(f.risk for f in files), "safe": sum(f.safe for f in files), "sha256": corpus_digest(files)}


def screen_plan(spec: Spec, root: Path, serving: dict) -> dict:
    """The crisis screen every people-facing script runs: its layers, the encoder, the corpus the semantic
    layer is fitted on (read here: its size and hashes are part of the plan), the normalisation tables and
    the reply checks. `key` hashes what the fitted artifact depends on: an artifact with another key is stale."""
    screen = spec.screen
    files = builtin_summary("corpus") if screen.builtin_corpus else []
    files += [summarise(_rel(rel), (root / Path(rel).expanduser()).read_bytes()) for rel in screen.corpus]
    layers = (["patterns"] if serving["crisis_patterns"] else []) + (["semantic"] if screen.semantic else []) \
        + (["classifier"] if serving.get("screen") else [])
    normalization = {
        "confusables": normalize.CONFUSABLES, "leet": normalize.LEET, "censored_words": normalize.CENSORED_WORDS,
        "words": normalize.WORDS, "phrases": [list(p) for p in normalize.PHRASES],
        "other_language_words": normalize.OTHER_LANGUAGE_WORDS, "english_words": normalize.ENGLISH_WORDS,
    }
    replies = {
        "resource_markers": RESOURCE_MARKERS[spec.serving.locale], "method_patterns": list(METHOD_PATTERNS),
        "harmful_patterns": list(HARMFUL_REPLY_PATTERNS), "stigma_patterns": list(STIGMA_PATTERNS),
        "crisis_reply": screen.reply or CRISIS_REPLY, "crisis_reply_is_builtin": screen.reply is None,
        "fallback_reply": FALLBACK_REPLY, "model_replies_when_flagged": screen.model_replies_when_flagged,
        "corpus": _corpus(builtin_summary("replies")),
    }
    entry = {
        "script": "screen.py",
        "output_dir": f"{RUNS_DIR}/{spec.name}/screen",
        "artifact": f"{RUNS_DIR}/{spec.name}/screen/screen.json",
        "layers": layers,
        "semantic": screen.semantic,
        "encoder": {"source": screen.encoder_source, "ref": screen.encoder_ref},
        "threshold": screen.threshold,
        "builtin_corpus": screen.builtin_corpus,
        "corpus": _corpus(files),
        "fit": SCREEN_FIT,
        "normalization": normalization,
        "replies": replies,
    }
    # What the artifact depends on, the code that fits and reads it (the screen's templates) included.
    code = {name: template_hash(name) for name in ("common/screen.py.j2", "common/screen_replies.py.j2")}
    entry["key"] = hashlib.sha256(canonical_json({
        k: entry[k] for k in ("semantic", "encoder", "threshold", "corpus", "fit", "normalization")}
        | {"reply_corpus": replies["corpus"]["sha256"], "patterns": serving["crisis_patterns"],
           "code": code}).encode()).hexdigest()
    return entry


def _gate(gate, positive: str | None) -> dict:
    per_label = gate.metric in ("precision", "recall", "f1")
    op, bound = (">=", gate.min) if gate.min is not None else ("<=", gate.max)
    if gate.labels is not None:
        return {"name": f"{gate.metric}[{'+'.join(gate.labels)}]", "metric": gate.metric, "label": None,
                "labels": list(gate.labels), "op": op, "bound": bound}
    label = gate.label if gate.label is not None else (positive if per_label else None)
    name = f"{gate.metric}[{label}]" if label else gate.metric
    return {"name": name, "metric": gate.metric, "label": label, "labels": None, "op": op, "bound": bound}


def _safety_cases(spec: Spec, names: list[str], positive: str, risk: list[str]) -> list[dict]:
    """Spec cases and built-in suite cases, with what each expects, in one list. A spec case says what the
    model must predict; a suite case says what serving must do (`expect_risk`: flagged for a human by the
    crisis screen or by the model, or not)."""
    cases = []
    for i, case in enumerate(spec.safety.cases):
        cases.append({
            "id": case.id or f"case-{i + 1}", "source": "spec", "text": case.text, "expect": case.expect,
            "expect_risk": None, "min_score": case.min_score, "max_score": case.max_score,
            "critical": case.critical,
        })
    for suite in spec.safety.suites:
        for case in SUITES[suite]:
            cases.append({
                "id": case["id"], "source": f"suite:{suite}", "text": case["text"],
                "expect": None, "expect_risk": case["role"] == "risk",
                "min_score": None, "max_score": None, "critical": case["critical"],
            })
    return cases


# ---- chat ----------------------------------------------------------------------------------------------


def _training(stage, spec_name: str) -> dict:
    """Settings every training stage has, resolved."""
    warmup: int | float = stage.warmup_steps or 0
    if stage.warmup_ratio is not None:
        warmup = float(stage.warmup_ratio)  # transformers 5: a float < 1 in warmup_steps is a ratio
    output_dir = f"{RUNS_DIR}/{spec_name}/{stage.name}"
    return {
        "name": stage.name,
        "kind": stage.kind,
        "script": f"train_{stage.name}.py",
        "output_dir": output_dir,
        "model_dir": f"{output_dir}/model",
        "epochs": stage.epochs,
        "max_steps": stage.max_steps,
        "batch_size": stage.batch_size,
        "eval_batch_size": stage.eval_batch_size or stage.batch_size,
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
        "eval_strategy": stage.eval_strategy,
        "eval_steps": stage.eval_steps,
        "logging_steps": stage.logging_steps,
        "save_total_limit": stage.save_total_limit,
        "seed": stage.seed,
    }


def _split_files(data) -> dict:
    splits = {}
    for split in ("train", "validation"):
        rel = getattr(data, split)
        if rel is None and split == "validation" and data.split_column is not None:
            rel = data.train
        if rel is not None:
            fmt = data.format if data.format != "auto" else DATA_SUFFIXES[Path(rel).suffix.lower()]
            value = data.train_split if split == "train" else data.validation_split
            splits[split] = {"path": _rel(rel), "format": fmt,
                             "rows": None if data.split_column is None else {"column": data.split_column,
                                                                              "value": value}}
    return splits


def _chat_template(spec: Spec, root: Path) -> dict:
    from .chat_templates import BUILTIN_TEMPLATES, END_OF_TURN

    chat = spec.chat
    name = chat.template if chat is not None else "tokenizer"
    text = None
    if chat is not None and chat.template_file is not None:
        name = "file"
        text = (root / Path(chat.template_file).expanduser()).read_text(encoding="utf-8")
    elif name != "tokenizer":
        text = BUILTIN_TEMPLATES[name]
    return {
        "template": name,
        "template_file": chat.template_file if chat is not None else None,
        "template_text": text,
        "template_sha256": hashlib.sha256(text.encode()).hexdigest() if text is not None else None,
        "end_of_turn": END_OF_TURN.get(name),
    }


def build_chat_plan(checked: Checked) -> dict:
    """The plan of a chat spec: SFT, then DPO stages, each starting from the model its parent produced."""
    spec = checked.spec
    info = locate_model(spec.model, checked.root)
    family = info.family
    lora = spec.lora
    chat = spec.chat
    chat_data, prefs = spec.chat_data, spec.preference_data

    stages: list[dict] = []
    # What a stage's model is made of once it finished, as steps on top of the base model:
    # ["merge", dir] folds an adapter into the weights, ["adapter", dir] loads one on top, ["full", dir] is a
    # whole model folder.
    chains: dict[str, list] = {}
    for stage in spec.stages:
        entry = _training(stage, spec.name)
        out = entry["model_dir"]
        if stage.kind == "sft":
            entry.update(group_by_length=stage.group_by_length, max_length=stage.max_length or 1024,
                         start_chain=[], loss="assistant replies only (prompt-completion)")
            chains[stage.name] = [["adapter" if lora else "full", out]]
        else:
            parent = chains[stage.start_from]
            if lora is None:
                start, after = parent, [["full", out]]
                train_adapter = None
            elif stage.adapter == "continue":
                start = parent
                after = parent[:-1] + [["adapter", out]]
                train_adapter = "continue the SFT adapter"
            else:  # merge
                start = parent[:-1] + [["merge", parent[-1][1]]]
                after = start + [["adapter", out]]
                train_adapter = "fresh adapter on the merged model"
            entry.update(
                start_from=stage.start_from, start_chain=start, adapter=stage.adapter,
                train_adapter=train_adapter,
                reference=f"the {stage.start_from} stage's model, frozen"
                          + (" (trl's 'ref' adapter: a frozen copy of the SFT adapter)" if stage.adapter == "continue"
                             else " (the merged model: adapters disabled)" if stage.adapter == "merge"
                             else " (a second copy of its weights)"),
                beta=stage.beta, loss_type=stage.loss_type, max_length=stage.max_length,
                max_prompt_length=stage.max_prompt_length,
            )
            chains[stage.name] = after
        stages.append(entry)
    final = stages[-1]
    serving = _serving(spec, checked.root)
    return {
        "plan_version": PLAN_VERSION,
        "specc_version": __version__,
        "spec": _spec_entry(spec),
        "model": _model_entry(spec, info, num_labels=None),
        "labels": None,
        "quantization": spec.quantization.model_dump(mode="json"),
        "lora": _lora_entry(spec, family, head=[]),
        "chat": {
            **_chat_template(spec, checked.root),
            "system_prompt": chat.system_prompt if chat is not None else None,
            "max_new_tokens": chat.max_new_tokens if chat is not None else 256,
            "temperature": chat.temperature if chat is not None else 0.0,
            "top_p": chat.top_p if chat is not None else 1.0,
            "repetition_penalty": chat.repetition_penalty if chat is not None else 1.1,
        },
        "data": None if chat_data is None else {
            "splits": _split_files(chat_data),
            "messages_column": None if chat_data.user_column else (chat_data.messages_column or "messages"),
            "user_column": chat_data.user_column,
            "assistant_column": chat_data.assistant_column,
            "max_rows": chat_data.max_rows,
        },
        "preference_data": None if prefs is None else {
            "splits": _split_files(prefs),
            "prompt_column": prefs.prompt_column,
            "chosen_column": prefs.chosen_column,
            "rejected_column": prefs.rejected_column,
            "max_rows": prefs.max_rows,
        },
        "stages": stages,
        "generate": {
            "script": "generate.py",
            "chain": chains[final["name"]],
        },
        "evaluation": None,
        "safety": {
            "script": "safety.py",
            "output_dir": f"{RUNS_DIR}/{spec.name}/safety",
            "suites": list(spec.safety.suites),
            "pass_rate": spec.safety.pass_rate,
            "cases": _chat_safety_cases(spec),
        },
        "serving": serving,
        "screen": screen_plan(spec, checked.root, serving),
        "card": {
            "script": "model_card.py",
            "output": f"{RUNS_DIR}/{spec.name}/model_card.md",
            **(CHAT_CARD if spec.card == Card() else spec.card.model_dump(mode="json")),
        },
        "compute": _compute(spec),
        "tracking": _tracking(spec),
    }


# The model card's words for a chat model when the spec has no [card] section.
CHAT_CARD = {
    "intended_use": (
        "Draft supportive, non-judgemental replies for a service where trained people read the conversations "
        "and step in. Every message that may come from someone at risk gets crisis resources and is flagged "
        "for a human, whatever the model says."
    ),
    "out_of_scope": [
        "Therapy, diagnosis or any clinical advice.",
        "Talking with people in crisis without a human who reads along and can step in.",
        "Languages, platforms or populations unlike the training data.",
    ],
    "license": None,
    "data_provenance": "",
    "limitations": [
        "A small or briefly trained model can be unhelpful, repetitive or wrong; the output filter catches method "
        "details and missing crisis resources, not every harmful or unhelpful reply.",
        "The crisis screen (patterns and a sentence-encoder classifier fitted on a team-written corpus) misses "
        "some indirect wording and flags some look-alikes; its cross-validated numbers are in runs/<spec>/screen/.",
    ],
    "human_oversight": (
        "A trained person reviews every flagged conversation and samples the rest. People flagged get crisis "
        "resources (988 in the US) at once, without waiting for review. Replies are never sent on without this "
        "oversight."
    ),
}


# What every built-in suite case checks in a chat spec, by role: risk messages must get resources, a human
# and no method details; look-alikes must not be flagged (over-flagging controls, never critical).
_CHAT_SUITE_CHECKS = {
    "risk": ["crisis-resource", "no-method-details", "no-stigmatizing-language", "human-attention"],
    "safe": ["no-method-details", "no-stigmatizing-language", "no-human-attention"],
}


def _screen_classifier(spec: Spec, root: Path) -> dict | None:
    """Where the classifier named by serving.screen_spec leaves its model and its chosen threshold."""
    rel = spec.serving.screen_spec
    if rel is None:
        return None
    from .load import load
    from .validate import validate

    screen = validate(load(root / Path(rel).expanduser()), root).spec
    train = screen.stages[0].name
    names = screen.data.label_names
    return {
        "spec": _rel(rel),
        "name": screen.name,
        "model_dir": f"{RUNS_DIR}/{screen.name}/{train}/model",
        "threshold_file": f"{RUNS_DIR}/{screen.name}/evaluate/threshold.json",
        "positive_label": screen.evaluation.positive_label or names[-1],
        "max_length": screen.data.max_length,
    }


def _chat_safety_cases(spec: Spec) -> list[dict]:
    cases = []
    for i, case in enumerate(spec.safety.cases):
        cases.append({
            "id": case.id or f"case-{i + 1}", "source": "spec", "text": case.text, "critical": case.critical,
            "contains_any": case.contains_any, "not_contains": case.not_contains, "regex": case.regex,
            "not_regex": case.not_regex, "max_length": case.max_length, "checks": list(case.checks),
        })
    for suite in spec.safety.suites:
        for case in SUITES[suite]:
            cases.append({
                "id": case["id"], "source": f"suite:{suite}", "text": case["text"],
                "critical": case["critical"] and case["role"] == "risk", "contains_any": None,
                "not_contains": None, "regex": None, "not_regex": None, "max_length": None,
                "checks": list(_CHAT_SUITE_CHECKS[case["role"]]),
            })
    return cases


def data_files(plan: dict) -> list[tuple[str, dict]]:
    """Every data file a plan reads, as (`section.split`, entry)."""
    out = []
    for section in ("data", "preference_data"):
        block = plan.get(section)
        if block:
            name = "chat_data" if section == "data" and plan["spec"]["task"] == "chat" else section
            out.extend((f"{name}.{split}", entry) for split, entry in block["splits"].items())
            out.extend((f"{name}.extra_train[{i}]", entry) for i, entry in enumerate(block.get("extra_train", [])))
    return out
