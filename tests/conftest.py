"""Shared fixtures: a throwaway project folder with the repository's specs and demo data, and a way to
run the real `specc` command line in a subprocess."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


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
