"""Model families: specc's own table, refined by a local config.json; no torch needed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from specc.families import FAMILIES, KNOWN_MODELS

SPEC = """\
[spec]
name = "fam"
task = "classification"

[model]
base = "{base}"
{extra}

[lora]
targets = {targets}

[data]
train = "specs/data/quickstart/train.csv"
label_column = "class"
labels = ["non-suicide", "suicide"]

[[stages]]
kind = "sft"
eval_strategy = "no"
"""


def _write(project: Path, base: str, targets: str, extra: str = "") -> None:
    (project / "s.toml").write_text(SPEC.format(base=base, targets=targets, extra=extra))


def _local_model(project: Path, model_type: str) -> None:
    folder = project / "models" / "local"
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"model_type": model_type}))


def test_table_covers_the_families_the_issue_names():
    required = {"bert", "roberta", "distilbert", "deberta-v2", "electra", "llama", "mistral", "gemma", "gemma2",
                "qwen2", "phi3", "gpt2"}
    assert required <= set(FAMILIES)
    assert KNOWN_MODELS["emilyalsentzer/bio_clinicalbert"].family == "bert"


@pytest.mark.parametrize("model_type, good, bad, suggestion", [
    ("distilbert", '["q_lin", "v_lin"]', '["q_lin", "query"]', ""),
    ("llama", '["q_proj", "o_proj", "gate_proj"]', '["q_proj", "qproj"]', 'did you mean "q_proj"?'),
    ("phi3", '["qkv_proj"]', '["q_proj"]', 'did you mean "qkv_proj"?'),
    ("gpt2", '["c_attn"]', '["c_atn"]', 'did you mean "c_attn"?'),
])
def test_local_config_json_decides_the_family(model_type, good, bad, suggestion, project: Path, specc):
    _local_model(project, model_type)
    _write(project, "./models/local", good)
    result = specc("check", "s.toml", cwd=project)
    assert result.returncode == 0, result.stderr
    _write(project, "./models/local", bad)
    result = specc("check", "s.toml", cwd=project)
    assert result.returncode == 2
    assert f"is not a module of {FAMILIES[model_type].name} models" in result.stderr
    assert suggestion in result.stderr


def test_unknown_model_type_in_config_json(project: Path, specc):
    _local_model(project, "mamba")
    _write(project, "./models/local", '"all-linear"')
    result = specc("check", "s.toml", cwd=project)
    assert result.returncode == 2
    assert 'error[model-family-unknown]: config.json says model_type = "mamba"' in result.stderr


def test_family_given_in_spec_must_agree_with_config_json(project: Path, specc):
    _local_model(project, "roberta")
    _write(project, "./models/local", '"all-linear"', 'family = "llama"')
    result = specc("check", "s.toml", cwd=project)
    assert result.returncode == 2
    assert "error[model-family-mismatch]" in result.stderr


def test_unknown_hub_model_needs_a_family(project: Path, specc):
    _write(project, "someone/new-encoder", '["query"]')
    result = specc("check", "s.toml", cwd=project)
    assert result.returncode == 2 and "error[model-family-unknown]" in result.stderr
    _write(project, "someone/new-encoder", '["query"]', 'family = "bert"')
    assert specc("check", "s.toml", cwd=project).returncode == 0


def test_all_linear_resolves_to_the_family_modules(project: Path, specc):
    _write(project, "meta-llama/Meta-Llama-3-8B", '"all-linear"')
    result = specc("plan", "s.toml", "--format", "json", cwd=project)
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    assert plan["model"]["family"] == "llama"
    assert plan["lora"]["targets"] == list(FAMILIES["llama"].linear_modules)
    assert plan["lora"]["modules_to_save"] == ["score"]
