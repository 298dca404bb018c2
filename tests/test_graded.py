"""Graded risk levels: the five-level demo spec (C-SSRS level names) trains and evaluates for real on
all-MiniLM-L6-v2; the ordinal summary and the label-group gates are computed by the generated script; a
model whose highest level's recall is too low fails its gate."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from tests.conftest import REPO, import_script

SPEC = "specs/graded_cssrs.toml"
LEVELS = ["supportive", "indicator", "ideation", "behavior", "attempt"]


@pytest.fixture(scope="module")
def graded_run(tmp_path_factory):
    """One `specc run` of the graded spec in a copy of the project, at 4 epochs instead of 6 to keep the
    default test run short (validation F1 0.93 at epoch 4 against 0.96 at 6)."""
    import shutil

    from tests.conftest import run_specc

    root = tmp_path_factory.mktemp("graded")
    shutil.copytree(REPO / "specs", root / "specs")
    spec = root / SPEC
    spec.write_text(spec.read_text().replace("epochs = 6", "epochs = 4"))
    result = run_specc("run", SPEC, cwd=root, timeout=1200)
    return root, result


def test_check_rejects_ordinal_gates_without_ordinal(project, specc):
    path = project / "specs" / "graded_cssrs.toml"
    path.write_text(path.read_text().replace("ordinal = true", "ordinal = false"))
    result = specc("check", "specs/graded_cssrs.toml", cwd=project)
    assert result.returncode == 2
    assert "gate-needs-ordinal" in result.stderr
    assert re.search(r"graded_cssrs\.toml:\d+:\d+: error\[gate-needs-ordinal\]", result.stderr)


def test_check_rejects_unknown_label_in_group(project, specc):
    path = project / "specs" / "graded_cssrs.toml"
    path.write_text(path.read_text().replace('labels = ["behavior", "attempt"]', 'labels = ["behaviour", "attempt"]'))
    result = specc("check", "specs/graded_cssrs.toml", cwd=project)
    assert result.returncode == 2
    assert "label-unknown" in result.stderr and "behaviour" in result.stderr and "behavior" in result.stderr


def test_multiclass_without_risk_labels_warns(project, specc):
    path = project / "specs" / "graded_cssrs.toml"
    text = path.read_text().replace("ordinal = true", "ordinal = false")
    text = re.sub(r"risk_labels = \[.*\]\n", "", text)
    text = re.sub(r"\[\[evaluation\.gates\]\]\nmetric = \"severe_under_triage\"\nmax = 0\.1\n", "", text)
    path.write_text(text)
    result = specc("check", "specs/graded_cssrs.toml", cwd=project)
    assert result.returncode == 0, result.stderr
    assert "warning[risk-labels-missing]" in result.stderr


def test_ordinal_summary_and_group_scores_are_exact(tmp_path):
    """The generated evaluate.py's own functions on hand-made predictions."""
    from specc.compiler import check, compile_spec, write

    compiled = compile_spec(check(REPO / SPEC, REPO))
    write(compiled)
    evaluate = import_script(REPO / "generated" / "graded-cssrs" / "evaluate.py", "graded_evaluate")
    # true levels and predictions (ids 0..4)
    labels = np.array([0, 1, 2, 3, 4, 4, 3, 2])
    preds = np.array([1, 1, 0, 3, 2, 4, 3, 2])
    summary = evaluate.ordinal_summary(labels, preds)
    # above the lowest level: 7 examples; predicted lower: the ideation (2->0) and an attempt (4->2)
    assert summary["under_triage"] == pytest.approx(2 / 7)
    assert summary["severe_under_triage"] == pytest.approx(2 / 7)  # both are two levels lower
    assert summary["over_triage"] == pytest.approx(1 / 6)  # the supportive one predicted as indicator
    assert summary["per_level"]["attempt"]["recall"] == pytest.approx(0.5)
    assert summary["per_level"]["attempt"]["under_triage"] == pytest.approx(0.5)
    assert summary["mean_abs_level_error"] == pytest.approx(5 / 8)
    group = evaluate.group_scores(labels, preds, ["behavior", "attempt"])
    # 4 examples of the group, 3 predicted inside it (3->3, 4->4, 3->3); nothing outside predicted in it
    assert group["recall"] == pytest.approx(3 / 4)
    assert group["precision"] == pytest.approx(1.0)
    at_risk = evaluate.group_scores(labels, preds, LEVELS[1:])
    assert at_risk["recall"] == pytest.approx(6 / 7)  # only the ideation predicted as supportive is lost
    gates = evaluate.check_gates({"ordinal": summary, "label_groups": {"behavior+attempt": group,
                                                                       "+".join(LEVELS[1:]): at_risk},
                                  "per_class": {"attempt": {"recall": 0.5}}, "calibration": {"ece": 0.0}})
    by_name = {g["name"]: g for g in gates}
    assert by_name["recall[behavior+attempt]"]["passed"] is False
    assert by_name["recall[attempt]"]["passed"] is False
    assert by_name["severe_under_triage"]["passed"] is False


def test_graded_spec_trains_evaluates_and_gates(graded_run):
    root, result = graded_run
    out = result.stdout + result.stderr
    assert result.returncode in (0, 3), out[-3000:]
    metrics = json.loads((root / "runs" / "graded-cssrs" / "evaluate" / "metrics.json").read_text())
    assert metrics["split"] == "test" and metrics["examples"] == 125
    assert set(metrics["per_class"]) == set(LEVELS)
    ordinal = metrics["ordinal"]
    assert set(ordinal["per_level"]) == set(LEVELS)
    assert 0.0 <= ordinal["under_triage"] <= 1.0
    assert ordinal["severe_under_triage"] <= ordinal["under_triage"]
    # a real model learned the levels (TF-IDF reaches macro-F1 0.87 on this demo data)
    assert metrics["f1"] > 0.6, metrics["f1"]
    gates = {g["name"]: g for g in metrics["gates"]}
    assert set(gates) == {"recall[behavior+attempt]", "recall[attempt]", "severe_under_triage",
                          "recall[indicator+ideation+behavior+attempt]"}
    group = metrics["label_groups"]["behavior+attempt"]
    assert gates["recall[behavior+attempt]"]["value"] == pytest.approx(group["recall"])
    assert group["support"] == 50
    assert metrics["attention"]["labels"] == LEVELS[1:]
    report = (root / "runs" / "graded-cssrs" / "evaluate" / "report.md").read_text()
    assert "## Risk levels (ordinal)" in report and "| attempt |" in report
    # exit 3 exactly when a gate failed
    assert (result.returncode == 3) == any(not g["passed"] for g in metrics["gates"])
    safety = json.loads((root / "runs" / "graded-cssrs" / "safety" / "safety.json").read_text())
    assert {r["id"] for r in safety["results"]} == {"attempt-recent", "hyperbole"}


def test_undertrained_model_fails_the_highest_level_gate(graded_run):
    """Two optimizer steps leave a model that cannot find "attempt": its recall gate fails, exit 3, and the
    summary names the gate."""
    from tests.conftest import run_specc

    root, _ = graded_run
    result = run_specc("run", SPEC, "--max-steps", "2", cwd=root, timeout=900)
    out = result.stdout + result.stderr
    assert result.returncode == 3, out[-3000:]
    metrics = json.loads((root / "runs" / "graded-cssrs" / "evaluate" / "metrics.json").read_text())
    gate = next(g for g in metrics["gates"] if g["name"] == "recall[attempt]")
    assert gate["passed"] is False and gate["value"] < 0.7
    assert "GATE FAILED recall[attempt] >= 0.7" in out
