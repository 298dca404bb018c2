"""The command line: init, plan, and exit codes."""

from __future__ import annotations

import json
from pathlib import Path


def test_init_writes_a_starter_spec_that_checks(project: Path, specc):
    result = specc("init", "specs/mine.toml", cwd=project)
    assert result.returncode == 0, result.stderr
    assert specc("check", "specs/mine.toml", cwd=project).returncode == 0
    again = specc("init", "specs/mine.toml", cwd=project)
    assert again.returncode == 2 and "exists" in again.stderr
    assert specc("init", "specs/mine.toml", "--force", cwd=project).returncode == 0


def test_plan_shows_resolved_defaults(project: Path, specc):
    result = specc("plan", "specs/clinical_bert.toml", cwd=project)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "emilyalsentzer/Bio_ClinicalBERT" in out and "family bert" in out
    assert "base checkpoint 108,310,272" in out  # Bio_ClinicalBERT, from specc's table of known models
    assert "targets query, key, value, dense" in out
    assert "optimizer" in out and "adamw_torch" in out  # a default made visible
    assert "warning[data-file-missing]" in result.stderr


def test_plan_json_is_versioned_and_stable(project: Path, specc):
    first = specc("plan", "specs/quickstart.toml", "--format", "json", cwd=project)
    second = specc("plan", "specs/quickstart.py", "--format", "json", cwd=project)
    assert first.returncode == 0 and first.stdout == second.stdout
    plan = json.loads(first.stdout)
    assert plan["plan_version"] == 1
    assert plan["stages"][0]["warmup_steps"] == 0.1  # warmup_ratio becomes transformers 5's float warmup_steps
    assert plan["stages"][0]["effective_batch_size"] == 16
    assert plan["labels"] == {"names": ["non-suicide", "suicide"], "positive": "suicide", "average": "binary",
                              "multi_label": False, "separator": None}


def test_run_rejects_an_unknown_stage(project: Path, specc):
    result = specc("run", "specs/quickstart.toml", "--stage", "evaluat", cwd=project)
    assert result.returncode == 2
    assert 'no stage named "evaluat"' in result.stderr and 'did you mean "evaluate"?' in result.stderr


def test_help_lists_the_commands(specc, tmp_path: Path):
    result = specc("--help", cwd=tmp_path)
    assert result.returncode == 0
    for command in ("check", "build", "plan", "run", "init"):
        assert command in result.stdout
