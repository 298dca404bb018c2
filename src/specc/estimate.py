"""Parameter counts and a peak-memory estimate for a plan, before anything runs.

Pure Python: nothing here imports torch, transformers or peft. The numbers come from the model's
`config.json` (and the header of its `model.safetensors`) when the model is on disk, otherwise from
specc's table of known models (`families.KNOWN_MODELS`).

- `architecture(model_info)`: the shape numbers of the base model (None where unknown).
- `parameter_counts(plan, arch)`: parameters of the base checkpoint, of the sequence-classification
  model that is trained, of the LoRA adapters and of what the optimizer updates.
- `memory_estimate(plan, arch, stage_index, seq_len)`: the peak memory of one training stage, by part
  (weights, adapters, gradients, optimizer states, activations), in bytes.

How the activation term is counted: for each transformer block, the tensors autograd keeps for the
backward pass, tensor by tensor (the inputs of every linear layer whose weight trains, norm inputs,
attention tensors, MLP activations, dropout masks, LoRA dropout copies), as the transformers 5 / peft
implementations of these families keep them. `bench/memory_estimate.py` checks the total against the
peak resident memory of real CPU trainings; `tests/test_estimate.py` checks the counts against
torch's own accounting of saved tensors and against real models.
"""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path

from .families import FAMILIES

DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2}
_SAFETENSORS_DTYPES = {"F64": "float64", "F32": "float32", "F16": "float16", "BF16": "bfloat16"}

ENCODERS = ("bert", "roberta", "electra", "distilbert", "deberta-v2")
LLAMA_LIKE = ("llama", "mistral", "gemma", "gemma2", "qwen2", "phi3")

# Defaults of the transformers config classes, used when a config.json leaves a key out.
_TIE_DEFAULT = {"gemma": True, "gemma2": True, "gpt2": True}
_DROPOUT_DEFAULTS = {  # (attention dropout, hidden dropout)
    "bert": (0.1, 0.1), "roberta": (0.1, 0.1), "electra": (0.1, 0.1), "distilbert": (0.1, 0.1),
    "deberta-v2": (0.1, 0.1), "gpt2": (0.1, 0.1),
}
_ATTENTION = {  # how the block runs attention in transformers 5 by default
    "deberta-v2": "eager",  # disentangled attention, no sdpa
    "gemma2": "eager",  # logit soft-capping: eager by default
}

# CPU only: glibc's malloc keeps the heap pages of freed temporaries resident, so a CPU training's
# peak RSS exceeds its live tensors. Measured on all-MiniLM-L6-v2 and SmolLM2-135M trainings
# (bench/memory_estimate.py), the excess was 0.23-0.66 x the activations kept without checkpointing,
# and did not shrink with gradient checkpointing (0.4-0.9 x). Allowances fitted to those runs, not a
# model of the allocator: (without checkpointing, with checkpointing).
CPU_HEAP_SLACK = (0.5, 0.65)

MIB = 1024 * 1024
GIB = 1024 * MIB


# ---- architecture ---------------------------------------------------------------------------------


def _first(cfg: dict, *keys: str):
    for key in keys:
        value = cfg.get(key)
        if value is not None:
            return value
    return None


def safetensors_summary(model_dir: Path) -> dict | None:
    """Parameter count and dtype of the checkpoint in `model_dir`, read from the safetensors headers
    (the first few kilobytes of each file: no weights are read). None when there is no safetensors file."""
    try:
        index = model_dir / "model.safetensors.index.json"
        if index.is_file():
            files = sorted(set(json.loads(index.read_text(encoding="utf-8"))["weight_map"].values()))
        elif (model_dir / "model.safetensors").is_file():
            files = ["model.safetensors"]
        else:
            return None
        count = 0
        by_dtype: dict[str, int] = {}
        for name in files:
            with open(model_dir / name, "rb") as fh:
                (length,) = struct.unpack("<Q", fh.read(8))
                if length > 100 * MIB:
                    return None
                header = json.loads(fh.read(length))
            for key, entry in header.items():
                if key == "__metadata__" or entry.get("dtype") not in _SAFETENSORS_DTYPES:
                    continue  # integer buffers (position_ids) are not parameters
                n = math.prod(entry.get("shape") or [1])
                count += n
                dtype = _SAFETENSORS_DTYPES[entry["dtype"]]
                by_dtype[dtype] = by_dtype.get(dtype, 0) + n
    except (OSError, ValueError, KeyError, TypeError, struct.error):
        return None
    if not count:
        return None
    return {"parameters": count, "dtype": max(sorted(by_dtype), key=lambda d: by_dtype[d])}


def architecture(model_info) -> dict:
    """The numbers the estimates need, from the local config.json or the table of known models.

    Keys: family, kind, source ("config.json", "table" or None), hidden_size, num_layers,
    intermediate_size, vocab_size, num_heads, num_kv_heads, head_dim, max_position, type_vocab_size,
    embedding_size, position_buckets, tie_embeddings, attention_bias, dtype, attention_dropout,
    hidden_dropout, parameters (the checkpoint's total when known: table or safetensors header) and
    parameters_source. Values that cannot be known are None.
    """
    family = model_info.family.name if model_info.family else (
        model_info.known.family if model_info.known else None)
    known = model_info.known
    cfg = model_info.config
    arch: dict = {
        "family": family,
        "kind": FAMILIES[family].kind if family in FAMILIES else None,
        "source": None,
        "hidden_size": None, "num_layers": None, "intermediate_size": None, "vocab_size": None,
        "num_heads": None, "num_kv_heads": None, "head_dim": None, "max_position": None,
        "type_vocab_size": None, "embedding_size": None, "position_buckets": None,
        "tie_embeddings": None, "attention_bias": None, "dtype": None,
        "attention_dropout": None, "hidden_dropout": None,
        "parameters": None, "parameters_source": None,
    }
    if cfg is not None:
        arch["source"] = "config.json"
        if family == "distilbert":
            arch.update(hidden_size=cfg.get("dim"), num_layers=cfg.get("n_layers"),
                        intermediate_size=cfg.get("hidden_dim"), num_heads=cfg.get("n_heads"),
                        max_position=cfg.get("max_position_embeddings"), type_vocab_size=0,
                        attention_dropout=cfg.get("attention_dropout"), hidden_dropout=cfg.get("dropout"))
        elif family == "gpt2":
            h = cfg.get("n_embd")
            arch.update(hidden_size=h, num_layers=cfg.get("n_layer"),
                        intermediate_size=cfg.get("n_inner") or (4 * h if h else None),
                        num_heads=cfg.get("n_head"), max_position=cfg.get("n_positions"),
                        attention_dropout=cfg.get("attn_pdrop"), hidden_dropout=cfg.get("resid_pdrop"))
        else:
            arch.update(hidden_size=cfg.get("hidden_size"), num_layers=cfg.get("num_hidden_layers"),
                        intermediate_size=cfg.get("intermediate_size"),
                        num_heads=cfg.get("num_attention_heads"),
                        max_position=cfg.get("max_position_embeddings"),
                        attention_dropout=_first(cfg, "attention_probs_dropout_prob", "attention_dropout"),
                        hidden_dropout=_first(cfg, "hidden_dropout_prob", "resid_pdrop"))
            if family in ENCODERS:
                arch["type_vocab_size"] = cfg.get("type_vocab_size", 2)
                arch["embedding_size"] = cfg.get("embedding_size")
            if family == "deberta-v2":
                arch["position_buckets"] = _deberta_rel_size(cfg)
                if not cfg.get("position_biased_input", True):
                    arch["max_position"] = 0
            if family in LLAMA_LIKE:
                arch["num_kv_heads"] = cfg.get("num_key_value_heads") or arch["num_heads"]
                arch["head_dim"] = cfg.get("head_dim")
                arch["attention_bias"] = True if family == "qwen2" else bool(cfg.get("attention_bias", False))
        arch["vocab_size"] = cfg.get("vocab_size")
        arch["tie_embeddings"] = cfg.get("tie_word_embeddings", _TIE_DEFAULT.get(family, family in ENCODERS))
        arch["dtype"] = _first(cfg, "dtype", "torch_dtype")
        local = getattr(model_info, "local_dir", None)
        summary = safetensors_summary(Path(local)) if local else None
        if summary:
            arch["parameters"] = summary["parameters"]
            arch["parameters_source"] = "safetensors"
            arch["dtype"] = arch["dtype"] or summary["dtype"]
    elif known is not None:
        arch["source"] = "table"
        arch.update(hidden_size=known.hidden_size, num_layers=known.num_layers,
                    intermediate_size=known.intermediate_size, vocab_size=known.vocab_size,
                    num_heads=known.num_attention_heads, num_kv_heads=known.num_key_value_heads,
                    head_dim=known.head_dim, max_position=known.max_position_embeddings,
                    type_vocab_size=known.type_vocab_size, position_buckets=known.position_buckets,
                    tie_embeddings=known.tie_word_embeddings, dtype=known.dtype,
                    parameters=known.parameters, parameters_source="table")
        if family == "qwen2":
            arch["attention_bias"] = True
        elif family in LLAMA_LIKE:
            arch["attention_bias"] = False
    if family in LLAMA_LIKE and arch["num_heads"]:
        arch["num_kv_heads"] = arch["num_kv_heads"] or arch["num_heads"]
        if not arch["head_dim"] and arch["hidden_size"]:
            arch["head_dim"] = arch["hidden_size"] // arch["num_heads"]
    if arch["dtype"] is not None:
        arch["dtype"] = str(arch["dtype"]).removeprefix("torch.")
    if arch["source"] is not None:
        if arch["dtype"] not in DTYPE_BYTES:
            arch["dtype"] = "float32"  # transformers' default when a checkpoint states none
        default_attn, default_hidden = _DROPOUT_DEFAULTS.get(family, (0.0, 0.0))
        if arch["attention_dropout"] is None:
            arch["attention_dropout"] = default_attn
        if arch["hidden_dropout"] is None:
            arch["hidden_dropout"] = default_hidden
    return arch


def _deberta_rel_size(cfg: dict) -> int | None:
    """Rows of DeBERTa-v2's relative position table, halved (the table holds 2 x this)."""
    if not cfg.get("relative_attention", False):
        return None
    buckets = cfg.get("position_buckets", -1)
    if buckets and buckets > 0:
        return buckets
    max_rel = cfg.get("max_relative_positions", -1)
    return max_rel if max_rel and max_rel > 0 else cfg.get("max_position_embeddings", 512)


# ---- module inventory -------------------------------------------------------------------------------


def _complete(arch: dict) -> bool:
    needed = ["hidden_size", "num_layers", "intermediate_size", "vocab_size", "num_heads"]
    if arch.get("family") in LLAMA_LIKE:
        needed += ["num_kv_heads", "head_dim"]
    return arch.get("family") in FAMILIES and all(arch.get(k) for k in needed)


def _widths(arch: dict) -> dict:
    h, i = arch["hidden_size"], arch["intermediate_size"]
    heads = arch["num_heads"]
    if arch["family"] in LLAMA_LIKE:
        q = heads * arch["head_dim"]
        kv = arch["num_kv_heads"] * arch["head_dim"]
    else:
        q = kv = h
    return {"h": h, "i": i, "q": q, "kv": kv, "2i": 2 * i, "qkv": q + 2 * kv, "3h": 3 * h}


# Linear layers of one transformer block: (leaf name, in width, out width, bias, input tensor).
# The input tensor names which activation the layer reads, so that layers reading the same one
# (query/key/value) keep it once.
_BERT_LINEARS = [("query", "h", "h", True, "x"), ("key", "h", "h", True, "x"),
                 ("value", "h", "h", True, "x"), ("dense", "h", "h", True, "ctx"),
                 ("dense", "h", "i", True, "mlp_in"), ("dense", "i", "h", True, "act")]
_LINEARS = {
    "bert": _BERT_LINEARS, "roberta": _BERT_LINEARS, "electra": _BERT_LINEARS,
    "distilbert": [("q_lin", "h", "h", True, "x"), ("k_lin", "h", "h", True, "x"),
                   ("v_lin", "h", "h", True, "x"), ("out_lin", "h", "h", True, "ctx"),
                   ("lin1", "h", "i", True, "mlp_in"), ("lin2", "i", "h", True, "act")],
    "deberta-v2": [("query_proj", "h", "h", True, "x"), ("key_proj", "h", "h", True, "x"),
                   ("value_proj", "h", "h", True, "x"), ("dense", "h", "h", True, "ctx"),
                   ("dense", "h", "i", True, "mlp_in"), ("dense", "i", "h", True, "act")],
    "gpt2": [("c_attn", "h", "3h", True, "x"), ("c_proj", "h", "h", True, "ctx"),
             ("c_fc", "h", "i", True, "mlp_in"), ("c_proj", "i", "h", True, "act")],
    "phi3": [("qkv_proj", "h", "qkv", False, "x"), ("o_proj", "q", "h", False, "ctx"),
             ("gate_up_proj", "h", "2i", False, "mlp_in"), ("down_proj", "i", "h", False, "act")],
}
for _fam in ("llama", "mistral", "gemma", "gemma2", "qwen2"):
    _LINEARS[_fam] = [("q_proj", "h", "q", "qkv_bias", "x"), ("k_proj", "h", "kv", "qkv_bias", "x"),
                      ("v_proj", "h", "kv", "qkv_bias", "x"), ("o_proj", "q", "h", False, "ctx"),
                      ("gate_proj", "h", "i", False, "mlp_in"), ("up_proj", "h", "i", False, "mlp_in"),
                      ("down_proj", "i", "h", False, "act")]

# Norms per block (each with weight, and bias for LayerNorm).
_NORMS_PER_LAYER = {"gemma2": 4}
_LAYER_NORM = ENCODERS + ("gpt2",)  # LayerNorm (weight + bias); the decoders use RMSNorm (weight)


def _layer_linears(arch: dict) -> list[dict]:
    w = _widths(arch)
    out = []
    for leaf, fan_in, fan_out, bias, source in _LINEARS[arch["family"]]:
        if bias == "qkv_bias":
            bias = bool(arch.get("attention_bias"))
        out.append({"leaf": leaf, "in": w[fan_in], "out": w[fan_out], "bias": bool(bias), "input": source})
    return out


def _linear_params(m: dict) -> int:
    return m["in"] * m["out"] + (m["out"] if m["bias"] else 0)


def _embedding_params(arch: dict) -> int:
    fam, h, vocab = arch["family"], arch["hidden_size"], arch["vocab_size"]
    if fam in LLAMA_LIKE:
        return vocab * h
    if fam == "gpt2":
        return vocab * h + (arch["max_position"] or 0) * h
    e = arch.get("embedding_size") or h
    n = vocab * e + (arch.get("max_position") or 0) * e + (arch.get("type_vocab_size") or 0) * e + 2 * e
    if e != h:  # ELECTRA-small style: embeddings projected up to the hidden size
        n += e * h + h
    return n


def _norm_params(arch: dict) -> tuple[int, int]:
    """(norm parameters per block, norm parameters after the last block)."""
    h, fam = arch["hidden_size"], arch["family"]
    if fam in _LAYER_NORM:
        per_layer = 2 * 2 * h
        final = 2 * h if fam == "gpt2" else 0
    else:
        per_layer = _NORMS_PER_LAYER.get(fam, 2) * h
        final = h
    if fam == "deberta-v2" and arch.get("position_buckets"):
        final += 2 * arch["position_buckets"] * h + 2 * h  # relative position table + its LayerNorm
    return per_layer, final


def _num_labels(plan: dict) -> int:
    """Size of the classification head; 0 for a chat model (it keeps its LM head)."""
    return len(plan["labels"]["names"]) if plan.get("labels") else 0


def _head_modules(arch: dict, num_labels: int) -> dict[str, list[dict]]:
    """The fresh classification head of AutoModelForSequenceClassification, by peft module name (none
    for a chat model)."""
    if num_labels == 0:
        return {}
    h, n, fam = arch["hidden_size"], num_labels, arch["family"]
    dense = {"in": h, "out": h, "bias": True}
    if fam == "bert":
        return {"classifier": [{"in": h, "out": n, "bias": True}]}
    if fam in ("roberta", "electra"):
        return {"classifier": [dense, {"in": h, "out": n, "bias": True}]}
    if fam == "distilbert":
        return {"pre_classifier": [dense], "classifier": [{"in": h, "out": n, "bias": True}]}
    if fam == "deberta-v2":
        return {"pooler": [dense], "classifier": [{"in": h, "out": n, "bias": True}]}
    return {"score": [{"in": h, "out": n, "bias": False}]}


def _pooler(arch: dict) -> list[dict]:
    """Linear layers outside the blocks that the checkpoint holds and the classifier keeps."""
    if arch["family"] == "bert":
        h = arch["hidden_size"]
        return [{"leaf": "dense", "in": h, "out": h, "bias": True, "input": "cls"}]
    return []


def _checkpoint_only(arch: dict) -> int:
    """Parameters of the checkpoint that the sequence classifier drops (pooler, untied LM head)."""
    h, fam = arch["hidden_size"], arch["family"]
    if fam == "roberta":
        return h * h + h  # RobertaModel's pooler; the classifier is built without it
    if arch["kind"] == "decoder" and fam != "gpt2" and arch.get("tie_embeddings") is False:
        return arch["vocab_size"] * h
    return 0


def _targets(plan: dict) -> tuple[set[str], list[str], dict]:
    lora = plan.get("lora")
    if not lora:
        return set(), [], {}
    return set(lora.get("targets") or []), list(lora.get("modules_to_save") or []), lora


# ---- parameter counts -------------------------------------------------------------------------------


def _trainable_tensors(plan: dict, arch: dict) -> list[tuple[int, ...]]:
    """Shapes of the tensors the optimizer updates (for the 8-bit and factored optimizer states)."""
    targets, to_save, lora = _targets(plan)
    num_labels = _num_labels(plan)
    heads = _head_modules(arch, num_labels)
    shapes: list[tuple[int, ...]] = []
    L = arch["num_layers"]
    if lora:
        r = lora["r"]
        for m in _layer_linears(arch):
            if m["leaf"] in targets:
                shapes += [(r, m["in"]), (m["out"], r)] * L
        for m in _pooler(arch):
            if m["leaf"] in targets:
                shapes += [(r, m["in"]), (m["out"], r)]
        for name in to_save:
            for m in heads.get(name, []):
                shapes.append((m["out"], m["in"]))
                if m["bias"]:
                    shapes.append((m["out"],))
        if lora.get("bias") in ("all", "lora_only"):
            for m in _layer_linears(arch):
                if m["bias"] and (lora["bias"] == "all" or m["leaf"] in targets):
                    shapes += [(m["out"],)] * L
        return shapes
    shapes.append((_embedding_params(arch),))
    for m in _layer_linears(arch) + [dict(p) for p in _pooler(arch)]:
        count = 1 if m.get("input") == "cls" else L
        shapes += [(m["out"], m["in"])] * count
        if m["bias"]:
            shapes += [(m["out"],)] * count
    per_layer_norm, final_norm = _norm_params(arch)
    shapes += [(per_layer_norm,)] * L
    if final_norm:
        shapes.append((final_norm,))
    for modules in heads.values():
        for m in modules:
            shapes.append((m["out"], m["in"]))
            if m["bias"]:
                shapes.append((m["out"],))
    return shapes


def parameter_counts(plan: dict, arch: dict) -> dict:
    """Parameters of the base checkpoint, the classifier trained from it, the adapters, and what trains.

    - base: the pretrained checkpoint (the table's or safetensors header's number when known, else
      computed); base_computed: the same from the architecture numbers;
    - model: AutoModelForSequenceClassification built from it (backbone + fresh head);
    - lora: adapter parameters, r x (in + out) per targeted linear layer;
    - head: the fresh classification head (trained in full: peft `modules_to_save`);
    - trainable: what the optimizer updates; total: every parameter of the trained model as peft
      counts it (with LoRA: model + adapters + the trainable copy of the head);
    - trainable_percent: 100 x trainable / total.
    """
    family = plan["model"]["family"]
    num_labels = _num_labels(plan)
    result: dict = {
        "base": arch.get("parameters"), "base_source": arch.get("parameters_source"),
        "base_computed": None, "model": None, "head": None, "lora": 0, "lora_modules": [],
        "trainable": None, "total": None, "trainable_percent": None,
    }
    if not _complete(arch) or arch["family"] != family:
        result["problem"] = "the architecture of this model is not known (no config.json, not in the table)"
        return result
    L = arch["num_layers"]
    linears = _layer_linears(arch)
    per_layer_norm, final_norm = _norm_params(arch)
    backbone = (_embedding_params(arch) + L * (sum(_linear_params(m) for m in linears) + per_layer_norm)
                + final_norm + sum(_linear_params(m) for m in _pooler(arch)))
    heads = _head_modules(arch, num_labels)
    head = sum(_linear_params(m) for modules in heads.values() for m in modules)
    base_computed = backbone + _checkpoint_only(arch)
    model = base_computed if num_labels == 0 else backbone + head  # a chat model keeps its LM head
    result.update(base_computed=base_computed, model=model, head=head)
    if result["base"] is None:
        result.update(base=base_computed, base_source="architecture")

    targets, to_save, lora = _targets(plan)
    if not lora:
        result.update(trainable=model, total=model, trainable_percent=100.0)
        return result
    r = lora["r"]
    lora_total = 0
    modules: dict[tuple, dict] = {}
    for m, count in [(m, L) for m in linears] + [(m, 1) for m in _pooler(arch)]:
        if m["leaf"] not in targets:
            continue
        key = (m["leaf"], m["in"], m["out"])
        entry = modules.setdefault(key, {"module": m["leaf"], "in": m["in"], "out": m["out"], "count": 0,
                                         "parameters": 0})
        entry["count"] += count
        entry["parameters"] += count * r * (m["in"] + m["out"])
        lora_total += count * r * (m["in"] + m["out"])
    saved_head = sum(_linear_params(m) for name in to_save for m in heads.get(name, []))
    bias_trainable = 0
    if lora.get("bias") in ("all", "lora_only"):
        for m in linears:
            if m["bias"] and (lora["bias"] == "all" or m["leaf"] in targets):
                bias_trainable += L * m["out"]
    trainable = lora_total + saved_head + bias_trainable
    total = model + lora_total + saved_head
    result.update(lora=lora_total, lora_modules=list(modules.values()), trainable=trainable, total=total,
                  trainable_percent=round(100.0 * trainable / total, 4))
    return result


# ---- memory -----------------------------------------------------------------------------------------


def _quant_bytes_per_weight(quant: dict) -> float:
    mode = quant.get("mode", "none")
    if mode == "8bit":
        return 1.0  # int8 (+ one fp32 scale per output row, counted apart)
    if mode == "4bit":
        # 4-bit codes + one absmax per 64 weights: fp32, or 8-bit with fp32 second-level constants
        # per 256 blocks when double_quant is on.
        return 0.5 + (1 / 64 + 4 / (64 * 256) if quant.get("double_quant") else 4 / 64)
    return 0.0


def _optimizer_bytes(optimizer: str, shapes: list[tuple[int, ...]], param_bytes: int) -> tuple[int, str]:
    total = 0
    if optimizer in ("adamw_torch", "adamw_torch_fused"):
        total = sum(2 * math.prod(s) * param_bytes for s in shapes)
        note = f"{optimizer}: 2 states per trainable parameter in the parameter's dtype"
    elif optimizer == "paged_adamw_32bit":
        total = sum(8 * math.prod(s) for s in shapes)
        note = "paged_adamw_32bit: 2 fp32 states per trainable parameter (paged to host memory under pressure)"
    elif optimizer == "paged_adamw_8bit":
        for s in shapes:
            n = math.prod(s)
            # bitsandbytes keeps tensors under 4096 elements in 32 bits; 8-bit states carry an fp32
            # absmax per 256 values.
            total += 8 * n if n < 4096 else 2 * n + math.ceil(n / 256) * 8
        note = "paged_adamw_8bit: 2 one-byte states per parameter (tensors under 4096 elements: fp32)"
    elif optimizer == "adafactor":
        for s in shapes:
            total += 4 * (s[0] + math.prod(s[1:]) if len(s) >= 2 else math.prod(s))
        note = "adafactor: factored second moment (rows + columns per matrix), no first moment"
    elif optimizer == "sgd":
        note = "sgd: no optimizer state (momentum 0)"
    else:
        total = sum(8 * math.prod(s) for s in shapes)
        note = f"{optimizer}: unknown optimizer, counted as 2 fp32 states per parameter"
    return int(total), note


def _activation_bytes(plan: dict, arch: dict, stage: dict, seq: int, device: str) -> dict:
    """Bytes autograd keeps for backward at the end of the forward pass, with and without
    gradient checkpointing, plus the transient working memory at the peak."""
    fam = arch["family"]
    b, s = stage["batch_size"], seq
    T = b * s
    w = _widths(arch)
    L = arch["num_layers"]
    heads = arch["num_heads"]
    targets, _to_save, lora = _targets(plan)
    full = not lora
    quantized = plan["quantization"]["mode"] != "none"
    mixed = stage["precision"] in ("bf16", "fp16")
    weight_bytes = DTYPE_BYTES[arch["dtype"]] if not quantized else 4  # kbit prep upcasts to fp32
    act = 2 if mixed or weight_bytes == 2 else 4  # matmul outputs
    res = 4 if (mixed and weight_bytes == 4) else weight_bytes  # residual stream / norm inputs
    lin_in = act  # inputs saved by a trainable linear: autocast keeps its half-precision copy
    mask = 1 if device == "cuda" else None  # CPU dropout keeps a float mask of the input dtype
    attn_p = arch.get("attention_dropout") or 0.0
    hid_p = arch.get("hidden_dropout") or 0.0
    lora_p = (lora or {}).get("dropout") or 0.0

    saved: dict[str, float] = {}

    def add(name: str, elements: float, nbytes: float) -> None:
        saved[name] = saved.get(name, 0) + elements * nbytes

    def mask_bytes(dtype_bytes: int) -> int:
        return mask if mask is not None else dtype_bytes

    # attention
    if _ATTENTION.get(fam) == "eager" or (device == "cpu" and attn_p > 0 and fam not in LLAMA_LIKE):
        attention = "materialized"
    else:
        attention = "fused"
    if attention == "fused":
        # sdpa (flash / memory-efficient): q, k, v and the output (whose memory the output
        # projection then reads) plus the log-sum-exp.
        add("attention", T * (w["q"] + 2 * w["kv"] + w["q"]), act)
        add("attention", b * heads * s, 4)
        ctx_free = True
    else:
        kv_width = w["kv"]
        add("attention", T * (w["q"] + 2 * kv_width), act)  # q, k, v (contiguous copies)
        scores = b * heads * s * s
        n_scores = 1.0
        if fam == "gemma2":
            n_scores = 3.0  # soft-capping: tanh input and output besides the softmax
        if fam == "deberta-v2":
            n_scores = 4.0  # content-to-position and position-to-content terms
        add("attention_scores", scores * n_scores, act)
        if attn_p > 0:
            add("attention_scores", scores, act + mask_bytes(act))  # dropout output and mask
        ctx_free = False

    # norms, MLP internals, dropout masks
    h, i = w["h"], w["i"]
    if fam in LLAMA_LIKE:
        n_norms = _NORMS_PER_LAYER.get(fam, 2)
        add("norms", T * h * 2, res)  # norm inputs (residual stream)
        if full:
            add("norms", T * h * 2, res)  # normalised tensors, for the norm weights' gradient
        if fam == "gemma2":
            add("norms", T * h * (n_norms - 2) * (2 if full else 1), res)
        if fam == "phi3":
            add("mlp", T * (2 * i + i), act)  # gate_up output (gate and up are views) + silu output
        else:
            add("mlp", T * 3 * i, act)  # gate output, silu output, up output
    else:
        add("norms", T * h * 2, res)  # LayerNorm inputs
        if fam == "gpt2":
            add("mlp", T * i * 4, act)  # gelu_new in Python: input, tanh, 0.5x, 1 + tanh
        else:
            add("mlp", T * i, act)  # gelu input
        if hid_p > 0:
            add("dropout_masks", T * h * 2, mask_bytes(act))

    # inputs of linear layers whose weight trains, and LoRA's own tensors
    inputs_saved: set[str] = set()
    lora_extra = 0.0
    for m in _layer_linears(arch):
        source = m["input"]
        if full:
            inputs_saved.add(source)
        elif m["leaf"] in targets:
            if lora_p > 0:
                lora_extra += T * m["in"] * (act + mask_bytes(act))  # dropout output + mask
            else:
                inputs_saved.add(source)
            lora_extra += T * lora["r"] * act  # lora_A output
    width_of = {m["input"]: m["in"] for m in _layer_linears(arch)}
    for source in sorted(inputs_saved):
        if source == "ctx" and ctx_free:
            continue
        add("linear_inputs", T * width_of[source], lin_in)
    if lora_extra:
        add("lora", lora_extra, 1)

    per_layer = sum(saved.values())
    # The first block's input needs no gradient when the embeddings are frozen: its LoRA dropouts
    # keep no mask, and a pre-norm decoder's first norm keeps nothing.
    first_layer_savings = 0.0
    if not full:
        if lora_p > 0:
            n_x = sum(1 for m in _layer_linears(arch) if m["leaf"] in targets and m["input"] == "x")
            first_layer_savings += n_x * T * h * mask_bytes(act)
        if fam in LLAMA_LIKE:
            first_layer_savings += T * h * res
    # Outside the blocks: the embeddings' LayerNorm/dropout (full fine-tuning only: with frozen
    # embeddings nothing upstream needs a gradient) and the head's input.
    outside = 0.0
    if full and fam in ENCODERS:
        outside += T * h * (res + (mask_bytes(res) if hid_p > 0 else 0))
    if arch["kind"] == "decoder":
        outside += T * h * 2 * res  # final norm input + score input (the score runs on every token)
    # Largest single tensors alive at once while the backward pass runs (their gradients).
    largest = max(T * i * act, (b * heads * s * s * act) if attention == "materialized" else 0)
    transient = 2 * largest
    without_ckpt = L * per_layer + outside - first_layer_savings
    with_ckpt = L * T * h * res + per_layer + outside  # block inputs + one block recomputed
    return {
        "per_layer": {k: int(v) for k, v in sorted(saved.items())},
        "per_layer_total": int(per_layer),
        "attention": attention,
        "without_checkpointing": int(without_ckpt),
        "with_checkpointing": int(with_ckpt),
        "transient": int(transient),
        "activation_dtype_bytes": act,
    }


def memory_estimate(plan: dict, arch: dict, stage_index: int = 0, seq_len: int | None = None, *,
                    device: str = "cuda") -> dict:
    """Estimated peak memory of training stage `stage_index`, in bytes, by part.

    seq_len: tokens per example; defaults to the stage's max_length (every batch padded to the limit: the
    worst case). Pass the mean token length of the data for a typical step.
    device: "cuda" (default; fused attention kernels, 1-byte dropout masks) or "cpu" (what PyTorch's
    CPU kernels keep: float dropout masks, attention scores materialised when attention dropout is on;
    plus glibc's heap slack).

    Keys (bytes unless named otherwise): weights, lora_weights, head_copy (peft's trainable copy of the
    head), gradients, optimizer_states, activations (the one the stage uses) with
    activations_without_checkpointing / activations_with_checkpointing / activations_per_layer,
    transient (gradient buffers alive at the peak), autocast_weight_copies, host_allocator_slack (CPU
    only), total_live (tensors alone: what a GPU allocator holds), total (= total_live + slack),
    total_gib, assumptions (strings), parameters (`parameter_counts`), and stage / seq_len /
    batch_size / device. With an unknown architecture: total is None and problem says why.
    """
    if device not in ("cuda", "cpu"):
        raise ValueError(f"device must be 'cuda' or 'cpu', not {device!r}")
    stage = plan["stages"][stage_index]
    if stage.get("kind") == "dpo":  # every step runs the chosen and the rejected reply
        stage = {**stage, "batch_size": 2 * stage["batch_size"]}
    seq = int(seq_len or stage.get("max_length") or plan["data"]["max_length"])
    counts = parameter_counts(plan, arch)
    result: dict = {"stage": stage["name"], "seq_len": seq, "batch_size": stage["batch_size"],
                    "device": device, "parameters": counts}
    if counts["model"] is None:
        result["problem"] = counts.get("problem")
        result["total"] = None
        return result
    quant = plan["quantization"]
    quantized = quant.get("mode", "none") != "none"
    targets, to_save, lora = _targets(plan)
    dtype_bytes = DTYPE_BYTES[arch["dtype"]]
    L = arch["num_layers"]
    assumptions = [
        f"weights in {arch['dtype']} (the checkpoint's dtype: transformers 5 loads dtype='auto')"
        if not quantized else
        f"{quant['mode']} weights for the linear layers of the blocks; the rest upcast to fp32 by "
        f"peft's prepare_model_for_kbit_training",
        f"every batch {stage['batch_size']} x {seq} tokens"
        + (" (the stage's max length: the worst case)" if seq_len is None else ""),
    ]

    # weights
    if quantized:
        qbytes = _quant_bytes_per_weight(quant)
        linear_weights = L * sum(m["in"] * m["out"] for m in _layer_linears(arch)) + sum(
            m["in"] * m["out"] for m in _pooler(arch))
        rows = L * sum(m["out"] for m in _layer_linears(arch))
        scale_bytes = 4 * rows if quant["mode"] == "8bit" else 0
        weights = int(linear_weights * qbytes + scale_bytes + (counts["model"] - linear_weights) * 4)
        head_bytes = 4
    else:
        weights = counts["model"] * dtype_bytes
        head_bytes = dtype_bytes
    lora_weights = counts["lora"] * 4  # peft keeps adapter weights in fp32
    saved_head = 0
    if lora:
        heads = _head_modules(arch, _num_labels(plan))
        saved_head = sum(_linear_params(m) for n in to_save for m in heads.get(n, [])) * head_bytes

    # gradients and optimizer states
    shapes = _trainable_tensors(plan, arch)
    if lora:
        grad_bytes = counts["lora"] * 4 + (counts["trainable"] - counts["lora"]) * head_bytes
        param_bytes = 4
    else:
        grad_bytes = counts["trainable"] * dtype_bytes
        param_bytes = dtype_bytes
    optimizer_bytes, opt_note = _optimizer_bytes(stage["optimizer"], shapes, param_bytes)
    assumptions.append(opt_note)

    acts = _activation_bytes(plan, arch, stage, seq, device)
    if _num_labels(plan) == 0:
        # A chat model's LM head: fp32 logits over the vocabulary for every token, and their log-softmax
        # for the loss, live into the backward pass.
        logits = 2 * stage["batch_size"] * seq * arch["vocab_size"] * 4
        acts = {**acts, "without_checkpointing": acts["without_checkpointing"] + logits,
                "with_checkpointing": acts["with_checkpointing"] + logits}
        assumptions.append("LM head: fp32 logits and their log-softmax over the vocabulary for every token")
    ckpt = bool(stage.get("gradient_checkpointing"))
    activations = acts["with_checkpointing"] if ckpt else acts["without_checkpointing"]
    # Autocast keeps a half-precision copy of each fp32 linear weight from the forward to the backward.
    autocast_copies = 0
    if stage["precision"] in ("bf16", "fp16") and not quantized and dtype_bytes == 4:
        autocast_copies = 2 * (L * sum(m["in"] * m["out"] for m in _layer_linears(arch)))
        assumptions.append(f"{stage['precision']} autocast: a 2-byte copy of every linear weight "
                           f"lives from the forward to the backward pass")
    assumptions.append(
        f"activations: {'fused (sdpa) attention' if acts['attention'] == 'fused' else 'attention scores materialised (b x heads x s x s)'}"
        + (", gradient checkpointing (block inputs + one block)" if ckpt else ""))
    if device == "cuda":
        assumptions.append("CUDA context and allocator fragmentation are not counted (add ~0.5-1 GiB)")

    live = (weights + lora_weights + saved_head + grad_bytes + optimizer_bytes + activations
            + acts["transient"] + autocast_copies)
    slack = 0
    if device == "cpu":
        factor = CPU_HEAP_SLACK[1 if ckpt else 0]
        slack = int(factor * acts["without_checkpointing"])
        assumptions.append(f"CPU: glibc's heap keeps freed pages resident; allowance {factor} x the "
                           f"activations without checkpointing (host_allocator_slack, fitted to measured "
                           f"runs); total_live is the tensors alone")
    total = live + slack
    result.update({
        "weights": int(weights),
        "lora_weights": int(lora_weights),
        "head_copy": int(saved_head),
        "gradients": int(grad_bytes),
        "optimizer_states": int(optimizer_bytes),
        "activations": int(activations),
        "activations_without_checkpointing": acts["without_checkpointing"],
        "activations_with_checkpointing": acts["with_checkpointing"],
        "activations_per_layer": acts["per_layer"],
        "transient": acts["transient"],
        "autocast_weight_copies": int(autocast_copies),
        "host_allocator_slack": int(slack),
        "total_live": int(live),
        "total": int(total),
        "total_gib": round(total / GIB, 3),
        "assumptions": assumptions,
    })
    return result
